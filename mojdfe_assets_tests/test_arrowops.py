"""The Arrow helpers give exactly what the pandas idioms they replace give (missing values included)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mojdfe_assets import arrowops, keys

S = pd.StringDtype("pyarrow")


def test_isin_and_lookup_match_pandas():
    keys = pd.Series(pd.array(["a", None, "c", "a", "zz"], dtype=S))
    values = pd.Series(pd.array(["a", "b", None], dtype=S))
    assert arrowops.isin(keys, values).tolist() == keys.astype(object).isin(values.astype(object)).tolist()
    assert arrowops.isin(keys, pd.Series(pd.array([], dtype=S))).tolist() == [False] * 5
    mapping = pd.Series(pd.array([1, 2, None], dtype="Int64"), index=pd.Index(pd.array(["a", "c", "d"], dtype=S)))
    got = arrowops.lookup(keys, mapping)
    want = keys.astype(object).map(pd.Series(mapping.array, index=mapping.index.astype(object)))
    assert (
        got.astype(object).where(got.notna(), None).tolist() == want.astype(object).where(want.notna(), None).tolist()
    )


def test_codes_positions_member():
    a = pd.Series(pd.array(["x", "y", None, "x"], dtype=S))
    b = pd.Series(pd.array(["y", "w", "x"], dtype=S))
    ca, cb = keys.encode(a, b)
    assert ca[0] == ca[3] == cb[2] and ca[1] == cb[0] and ca[2] == -1
    n = keys.n_keys(ca, cb)
    assert keys.positions(ca, cb, n).tolist() == [2, 0, -1, 2]
    assert keys.member(cb, ca, n).tolist() == [True, False, True]
    # object columns (no Arrow) take the pandas path and agree
    oa, ob = keys.encode(a.astype(object), b.astype(object))
    assert (np.asarray(oa) == -1).tolist() == (ca == -1).tolist()
    assert keys.member(ob, oa, keys.n_keys(oa, ob)).tolist() == [True, False, True]


def test_repeated_and_duplicated_match_pandas():
    # pupil, year: rows 0 and 3 repeat (p1, 2012); the missing pupils (2, 4) repeat with each other
    # in 2013 (pandas calls missing equal to missing); row 5 repeats p2 but in another year.
    df = pd.DataFrame(
        {
            "pupil": pd.array(["p1", "p2", None, "p1", None, "p2"], dtype=S),
            "year": pd.Categorical(["2012", "2013", "2013", "2012", "2013", "2014"]),
        }
    )
    assert arrowops.repeated(df["pupil"], df["year"]).tolist() == [True, False, True, True, True, False]
    assert arrowops.duplicated(df, ["pupil", "year"]).tolist() == [False, False, False, True, True, False]
    assert arrowops.duplicated(df, ["pupil"], keep="last").tolist() == [True, True, True, False, False, False]
    assert arrowops.repeated(pd.Series(pd.array([], dtype=S))).tolist() == []
    rng = np.random.default_rng(3)
    big = pd.DataFrame(
        {"a": pd.array(rng.choice(["x", "y", "", None], 500).tolist(), dtype=S), "b": rng.integers(0, 3, 500)}
    )
    for keep in ("first", "last", False):
        assert (arrowops.duplicated(big, ["a", "b"], keep) == big.duplicated(["a", "b"], keep=keep).to_numpy()).all()


def test_occurs_once_and_the_unique_values_check():
    from mojdfe_assets.checks import failure_counts
    from mojdfe_assets.schemas import InterventionLevel

    # all distinct (one missing allowed: it occurs once) -> the DuckDB count path
    assert arrowops.occurs_once(pd.Series(pd.array(["a", "b", None, "c"], dtype=S))).tolist() == [True] * 4
    # "a" twice and two missing (missing equals missing in pandas) -> every repeating row is False
    s = pd.Series(pd.array(["a", "b", "a", None, None, "c"], dtype=S))
    assert arrowops.occurs_once(s).tolist() == [False, True, False, False, False, True]
    assert arrowops.occurs_once(s.astype(object)).tolist() == (~s.duplicated(keep=False)).tolist()
    assert arrowops.occurs_once(pd.Series(pd.array([], dtype=S))).tolist() == []
    # in a schema: a pupil delivered three times fails on three rows, named by column and check
    level = pd.DataFrame({"pupil_id": pd.array(["p1", "p2", "p1", "p1"], dtype=S)})
    got = {k: v for k, v in failure_counts(InterventionLevel, level).items() if k.startswith("pupil_id")}
    assert got == {"pupil_id: unique_values(enabled=True)": 3}
    # and the UI's column schema still shows the column as unique
    from mojdfe_assets.checks import table_schema

    cols = {c.name: c for c in table_schema(InterventionLevel).columns}
    assert cols["pupil_id"].constraints.unique and not cols["level"].constraints.unique


def test_rows_is_loc_of_the_mask_with_a_fresh_index():
    # every column kind a clean table holds, on a non-default index, with missing values
    df = pd.DataFrame(
        {
            "text": pd.array(["a", None, "c", "d"], dtype=S),
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "year": pd.array([2012, 2013, None, 2015], dtype="Int16"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "code": pd.Categorical(["x", None, "y", "x"], categories=["y", "x"], ordered=True),
            "date": pd.to_datetime(["2020-01-01", None, "2021-01-01", "2022-01-01"]).astype("datetime64[ms]"),
            "row": np.arange(1, 5),
            "value": [1.5, np.nan, 3.0, 4.0],
        },
        index=[5, 6, 7, 8],
    )
    keep = np.array([True, False, True, True])
    got = arrowops.rows(df, keep)
    pd.testing.assert_frame_equal(got, df.loc[keep].reset_index(drop=True))
    assert got["text"].tolist()[:2] == ["a", "c"] and got["row"].tolist() == [1, 3, 4]
    assert got["code"].cat.ordered and list(got["code"].cat.categories) == ["y", "x"]
    assert len(arrowops.rows(df, np.zeros(4, dtype=bool))) == 0

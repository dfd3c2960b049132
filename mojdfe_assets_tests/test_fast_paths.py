"""The fast paths of issue 19 give exactly what the code they replace gives: each is compared with
the implementation it stands in for (kept as the reference) on hand-made and random inputs,
missing values, repeats and empty tables included. No timings are asserted (see benchmarks/)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_
import pytest

from mojdfe_assets import arrowops, keys
from mojdfe_assets import social_care as S

TEXT = pd.StringDtype("pyarrow")


def _text(values) -> pd.Series:
    return pd.Series(pd.array(list(values), dtype=TEXT))


def test_code_version_reads_the_same_imports_as_the_syntax_tree():
    import mojdfe_assets.definitions  # noqa: F401  (every module of the code location)
    from mojdfe_assets import table_assets as T

    # the code location's modules (a test module may hold import lines inside a string, which
    # the regular expression also counts: a version that changes more often, never less)
    modules = [m for m in sys.modules if m == "mojdfe_assets" or m.startswith("mojdfe_assets.")]
    assert len(modules) > 20
    for name in modules:
        path = Path(getattr(sys.modules[name], "__file__", "") or "")
        if path.is_file():
            assert sorted(T._imports(name, path)) == sorted(T._imports_by_syntax_tree(name, path)), name


def _same_codes(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    """Two encodings give the same partition (equal values equal codes), missing as -1, dense codes."""
    x, y = np.concatenate(a), np.concatenate(b)
    if not ((x < 0) == (y < 0)).all():
        return False
    m = x >= 0
    pairs = pd.DataFrame({"x": x[m], "y": y[m]}).drop_duplicates()
    return bool(pairs["x"].is_unique and pairs["y"].is_unique and y.max(initial=-1) + 1 == len(np.unique(y[m])))


def test_encoding_by_join_matches_the_dictionary_pass():
    rng = np.random.default_rng(19)
    pool = [f"P{i:04d}" for i in range(300)] + ["p0001", "ÄÖ1"]
    joined = 0
    for trial in range(60):
        n0 = int(rng.integers(0, 250))
        first = list(rng.choice(pool, n0, replace=trial % 4 == 0))
        if trial % 9 == 0 and n0:
            first[0] = None
        columns = [_text(first)]
        for _ in range(int(rng.integers(1, 5))):
            columns.append(_text(rng.choice([*pool, None], int(rng.integers(0, 250))).tolist()))
        arrays = [keys.as_arrow(c) for c in columns]
        want = keys._encode_by_dictionary(arrays)
        got = keys._encode_by_join(arrays)
        if got is None:  # a missing or repeated first value: encode() takes the dictionary pass
            assert None in first or len(set(first)) < len(first)
            continue
        joined += 1
        assert _same_codes(want, got), trial
    assert joined > 20
    # through encode() itself, above its size threshold (force the join path)
    big = _text(f"id{i}" for i in range(5000))
    other = _text([f"id{i}" for i in range(4000, 6000)] + [None])
    old = keys.JOIN_ENCODE_ABOVE
    try:
        keys.JOIN_ENCODE_ABOVE = 10
        got = keys.encode(big, other)
    finally:
        keys.JOIN_ENCODE_ABOVE = old
    assert _same_codes(keys._encode_by_dictionary([keys.as_arrow(big), keys.as_arrow(other)]), got)
    assert (got[0] == np.arange(5000)).all() and got[1][-1] == -1
    # a column equal to the first row by row (a copy: other buffers) is placed without a join, and
    # a column placed once in a step is placed again from memory: same codes either way
    aligned = _text(f"id{i}" for i in range(5000))
    again = keys._encode_by_join([keys.as_arrow(big), keys.as_arrow(aligned), keys.as_arrow(other)])
    assert (again[1] == np.arange(5000)).all() and (again[2] == got[1]).all()
    arrowops.forget_proofs()
    assert not keys._PLACED and not arrowops._PROVEN


def _old_by_pupil(cin: pd.DataFrame):
    df = cin[cin["pupil_id"].notna()]
    key, pupils = pd.factorize(df["pupil_id"], sort=True)
    return df.assign(_key=key).sort_values(["_key", "academic_year_end"], kind="stable"), pupils


def _random_cin(rng, n: int) -> pd.DataFrame:
    from mojdfe_assets import codelists

    need = list(codelists.codes("cin_primary_need"))
    abuse = list(codelists.codes("cin_category_of_abuse"))

    def cat(values, categories):
        return pd.Categorical(rng.choice([*values, None], n).tolist(), categories=categories)

    return pd.DataFrame(
        {
            "pupil_id": pd.array(rng.choice(["B", "a", "A", "C9", None, "Ä"], n).tolist(), dtype=TEXT),
            "academic_year_end": pd.array(rng.choice([2009, 2012, 2015, None], n).tolist(), dtype="Int16"),
            "cin_cin_at31march": pd.array(rng.choice([True, False, None], n).tolist(), dtype="boolean"),
            "cin_referral_nfa": pd.array(rng.choice([True, False, None], n).tolist(), dtype="boolean"),
            "cin_primary_need_code": cat(need[:4], need),
            "cin_category_of_abuse": cat(abuse[:2], abuse),
            "cin_initial_category_of_abuse": cat(abuse[1:4], abuse),
            "cin_latest_category_of_abuse": cat(abuse[2:5], abuse),
            "cin_number_of_previous_cpp": pd.array(rng.choice([0, 1, 2, None], n).tolist(), dtype="Int64"),
        },
        index=rng.permutation(n) + 10,
    )


def test_cin_per_pupil_order_summaries_and_cpp_flags_match_pandas(small_world):
    from mojdfe_assets import extracts as X
    from mojdfe_assets.reading import load_extract
    from mojdfe_assets.rules import clean_table

    folder, _ = small_world
    world_cin = clean_table(load_extract(folder / X.CIN.file, X.CIN)[0], X.CIN).clean
    rng = np.random.default_rng(7)
    frames = [world_cin, _random_cin(rng, 0), *(_random_cin(rng, int(rng.integers(1, 80))) for _ in range(25))]
    for cin in frames:
        want, want_pupils = _old_by_pupil(cin)
        got, got_pupils = S._by_pupil(cin)
        pd.testing.assert_frame_equal(want, got, check_exact=True, check_index_type=False)
        assert list(want_pupils) == list(got_pupils)
        pd.testing.assert_frame_equal(S._summarise_cin_pandas(cin), S.summarise_cin(cin), check_exact=True)
        for method in ("all_three", "guide"):
            want_stats, got_stats = {}, {}
            pd.testing.assert_frame_equal(
                S._derive_cpp_flags_pandas(cin, method, want_stats),
                S.derive_cpp_flags(cin, method, got_stats),
                check_exact=True,
            )
            assert want_stats == got_stats


def test_occurs_once_on_row_numbers_and_the_unique_check():
    from mojdfe_assets.checks import failure_counts

    for values in ([1, 2, 3], [1, 2, 2, 3], [3, 1, 2, 3], [5, 5, 5], [7], []):
        s = pd.Series(values, dtype="int64")
        assert arrowops.occurs_once(s).tolist() == (~s.duplicated(keep=False)).tolist()
    schema = pa.DataFrameSchema({"source_row": pa.Column(int, pa.Check.ge(1), unique=True)})
    for values in ([1, 2, 3], [1, 2, 2, 3], [0, 4, 4, 1]):
        df = pd.DataFrame({"source_row": values})
        try:
            schema.validate(df, lazy=True)
            want = {}
        except pa.errors.SchemaErrors as err:
            fc = err.failure_cases
            want = (fc["column"].astype(str) + ": " + fc["check"].astype(str)).value_counts().to_dict()
        assert failure_counts(schema, df) == want


def test_a_proof_of_distinct_values_is_kept_only_for_the_same_values():
    arrowops.forget_proofs()
    s = _text(["a", "b", "c"])
    assert arrowops.occurs_once(s).all() and len(arrowops._PROVEN) == 1 and arrowops.proven_rule(arrowops.DISTINCT, s)
    assert arrowops.occurs_once(s).all()
    assert arrowops.occurs_once(_text(["a", "b", "a"])).tolist() == [False, True, False]
    from mojdfe_assets.resources import release_memory

    release_memory()
    assert not arrowops._PROVEN


def test_written_behind_tables_are_complete_before_they_are_read(tmp_path):
    from mojdfe_assets import resources as R

    table = pa_.table({"x": list(range(1000))})
    path = tmp_path / "t.parquet"
    with R.write_behind():
        R._WRITE_BEHIND.submit(table, path)
        R._WRITE_BEHIND.wait("t.parquet")
        assert R.read_parquet(path)["x"].tolist() == list(range(1000))
        # at most WRITERS tables in flight: storing one more first finishes the oldest
        names = [f"w{i}.parquet" for i in range(R.WRITERS + 1)]
        for name in names:
            R._WRITE_BEHIND.submit(table, tmp_path / name)
        assert [p.name for p in R._WRITE_BEHIND.pending] == names[1:]
        assert R.read_parquet(tmp_path / names[0])["x"].tolist() == list(range(1000))
        R._WRITE_BEHIND.submit(table, tmp_path / "u.parquet")
    assert (tmp_path / "u.parquet").exists() and not R._WRITE_BEHIND.enabled
    assert all((tmp_path / name).exists() for name in names)
    # a failed write is raised in the run's thread, at the latest when the block ends
    (tmp_path / "not_a_folder.txt").write_text("a file where a folder would be")
    with pytest.raises(OSError), R.write_behind():
        R._WRITE_BEHIND.submit(table, tmp_path / "not_a_folder.txt" / "t.parquet")
    assert not R._WRITE_BEHIND.enabled


def test_freed_memory_is_kept_for_reuse_up_to_its_bound_then_handed_back(monkeypatch):
    from mojdfe_assets import resources as R

    R.keep_freed_memory()
    R.keep_freed_memory()  # once per process: a second call changes nothing
    if R._MALLINFO2 is None:  # not glibc: memory is handed back as before
        assert R._freed_bytes_kept() is None
        return
    assert R._KEEPING_FREED_MEMORY == [True] and pa_.default_memory_pool().backend_name == "system"
    # tables are the same whichever allocator holds them
    assert pa_.array(list(range(5))).to_pylist() == [0, 1, 2, 3, 4]
    assert R._freed_bytes_kept() >= 0
    handed_back = []
    monkeypatch.setattr(R, "_MALLOC_TRIM", lambda pad: handed_back.append(pad))
    monkeypatch.setattr(R, "_freed_bytes_kept", lambda: R.KEEP_FREED_BYTES)
    R.release_memory()
    assert handed_back == []  # at the bound: kept
    monkeypatch.setattr(R, "_freed_bytes_kept", lambda: R.KEEP_FREED_BYTES + 1)
    R.release_memory(R.RELEASE_ABOVE_BYTES - 1)
    assert handed_back == []  # a small table: no collection, nothing handed back
    R.release_memory(R.RELEASE_ABOVE_BYTES)
    assert handed_back == [0]  # beyond the bound: handed back


def test_per_code_aggregates_placed_by_position_equal_reindex():
    from mojdfe_assets.outcomes import _to_pupils

    rng = np.random.default_rng(15)
    for trial in range(30):
        n = int(rng.integers(1, 40))
        per = rng.choice(np.arange(-1, n), int(rng.integers(0, n + 2)), replace=False)  # -1: the missing key
        m = len(per)
        per_code = pd.DataFrame(
            {
                "count": rng.integers(0, 9, m),
                "rank": np.where(rng.random(m) < 0.2, np.nan, rng.integers(0, 4, m).astype(float)),
                "sum": pd.array(np.where(rng.random(m) < 0.2, None, rng.integers(0, 50, m)).tolist(), dtype="Int64"),
                "flag": rng.random(m) < 0.5,
                "first": pd.Series(np.datetime64("2015-01-01", "ms") + rng.integers(0, 999, m).astype("m8[D]")).array,
                "text": pd.array(rng.choice(["a", "b", None], m).tolist(), dtype=TEXT),
            },
            index=per,
        )
        # every key present, or any key of -1..n-1 (some with no aggregate)
        pool = per if trial % 3 == 0 and m else np.arange(-1, n)
        pupils = rng.choice(pool, int(rng.integers(0, 60)))
        want = per_code.reindex(pupils).reset_index(drop=True)
        pd.testing.assert_frame_equal(_to_pupils(per_code, pupils, n), want, check_exact=True)


def test_per_pupil_counts_and_sums_equal_pandas_group_by():
    from mojdfe_assets.outcomes import _per_pupil

    rng = np.random.default_rng(16)
    for _ in range(30):
        n = int(rng.integers(1, 30))
        rows = int(rng.integers(0, 80))
        codes = rng.integers(-1, n, rows)  # -1: a row with no pupil id
        values = pd.Series(
            pd.array(np.where(rng.random(rows) < 0.3, None, rng.integers(0, 400, rows)).tolist(), "Int64")
        )
        pupils = rng.integers(-1, n, int(rng.integers(0, 50)))
        want = values.groupby(codes).sum(min_count=1).reindex(pupils)
        v = values.to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(v)
        total = _per_pupil(codes[ok], pupils, n, v[ok]).astype(np.int64)
        got = pd.arrays.IntegerArray(total, _per_pupil(codes[ok], pupils, n) == 0)
        pd.testing.assert_extension_array_equal(got, want.array)
        sizes = pd.Series(codes).groupby(codes).size().reindex(pupils).fillna(0).astype("int64")
        np.testing.assert_array_equal(_per_pupil(codes, pupils, n), sizes.to_numpy())


def test_moj_links_on_codes_equal_pandas_distinct_counts():
    from mojdfe_assets.outcomes import moj_links

    rng = np.random.default_rng(18)
    for _ in range(40):
        n = int(rng.integers(1, 25))
        spine = (rng.permutation(n), rng.integers(-1, n, n))
        tables = [spine]
        for _ in range(int(rng.integers(0, 4))):
            rows = int(rng.integers(0, 30))
            tables.append((rng.integers(-1, n + 5, rows), rng.integers(-1, n + 5, rows)))
        if rng.random() < 0.5:
            tables.insert(1, (spine[0].copy(), spine[1].copy()))  # a table in spine order
        link, counts = moj_links([p for p, _ in tables], [m for _, m in tables])
        pairs = pd.DataFrame({"p": np.concatenate([p for p, _ in tables]), "m": np.concatenate([m for _, m in tables])})
        pairs = pairs[(pairs["p"] >= 0) & (pairs["m"] >= 0)]
        mojs_of = pairs.groupby("p")["m"].nunique().reindex(spine[0]).fillna(0).to_numpy()
        pupils_of = pairs.groupby("m")["p"].nunique().reindex(spine[1]).fillna(0).to_numpy()
        want = np.select([spine[1] < 0, pupils_of > 1, mojs_of > 1], [1, 2, 3], 0)
        np.testing.assert_array_equal(link, want)
        assert sum(counts.values()) == n and counts["linked"] == int((want == 0).sum())


def test_rises_strictly_proves_distinct_values_only():
    assert arrowops.rises_strictly(pa_.array(["A1", "A2", "B", "b"]))  # bytewise: "B" < "b"
    assert not arrowops.rises_strictly(pa_.array(["A1", "A1", "B"]))  # a repeat
    assert not arrowops.rises_strictly(pa_.array(["B", "A"]))
    assert not arrowops.rises_strictly(pa_.array(["A", None, "C"]))  # missing: not a proof
    assert arrowops.rises_strictly(pa_.array(["A"])) and arrowops.rises_strictly(pa_.array([], pa_.string()))
    assert arrowops.rises_strictly(pa_.chunked_array([["A", "B"], ["C"]]))
    assert not arrowops.rises_strictly(pa_.chunked_array([["A", "C"], ["B"]]))  # across chunks
    # occurs_once and encode take the proof: same answers as pandas / the dictionary pass
    s = pd.Series(["P1", "P2", "P3"], dtype="string[pyarrow]")
    assert arrowops.occurs_once(s).all()
    first = pa_.array([f"P{i:07d}" for i in range(50)])
    other = pa_.array(["P0000003", "X", None, "P0000049", "X"])
    assert _same_codes(keys._encode_by_dictionary([first, other]), keys._encode_by_join([first, other]))


def test_categorical_sex_as_text_and_distinct_codes_as_before():
    for s in [
        pd.Series(pd.Categorical(["M", "F", None, "M"])),
        pd.Series(["M", None, "F"], dtype="string[pyarrow]"),
        pd.Series(pd.Categorical([], categories=["F", "M"])),
    ]:
        got = S._as_text(s)
        want = pd.Series(pd.array(s.astype("object").to_numpy(), dtype=pd.StringDtype("pyarrow")))
        assert got.dtype == want.dtype and got.equals(want)
        assert got.array._pa_array.type == want.array._pa_array.type
    codes = np.array([3, 1, -1, 3, 0, 1])
    assert keys.n_distinct(codes, 5) == np.unique(codes[codes >= 0]).size == 3
    assert keys.n_distinct(np.array([], dtype=np.int64), 0) == 0


def _old_repeated(*columns) -> np.ndarray:
    """`arrowops.repeated` as it was: the repeating hashes found by a DuckDB GROUP BY."""
    n = len(columns[0]) if columns else 0
    if n == 0:
        return np.zeros(0, dtype=bool)
    arrays = [arrowops.as_arrow(c) for c in columns]
    table = pa_.table(
        {f"c{i}": pa_.Array.from_pandas(c) if a is None else a for i, (a, c) in enumerate(zip(arrays, columns))}
    )
    h = arrowops._duckdb(table, f"SELECT hash({', '.join(table.column_names)}) AS h FROM t").column(0)
    twice = arrowops._duckdb(pa_.table({"h": h}), "SELECT h FROM t GROUP BY h HAVING count(*) > 1").column(0)
    if not len(twice):
        return np.zeros(n, dtype=bool)
    return np.asarray(pa_.compute.is_in(h, value_set=twice.combine_chunks()).to_numpy(zero_copy_only=False), dtype=bool)


def test_repeating_hashes_by_sorting_equal_the_group_by():
    import pyarrow.compute  # noqa: F401  (pa_.compute in the reference)

    # the repeating values of hand-made hashes, extremes of uint64 included
    top = np.iinfo(np.uint64).max
    for h, want in (
        ([], []),
        ([5], []),
        ([3, 1, 2], []),
        ([3, 1, 3, 2, 1, 3], [1, 3]),
        ([top, 0, top, 0], [0, top]),
    ):
        got = arrowops._repeating(np.array(h, dtype=np.uint64))
        assert got.tolist() == want and got.dtype == np.uint64
    rng = np.random.default_rng(27)
    pool = ["p1", "P1", "p2", " p3", "", None]
    for trial in range(12):
        n = int(rng.integers(0, 60))
        pupil = _text(rng.choice(pool, n).tolist()) if trial % 3 else _text(f"id{i}" for i in range(n))
        year = pd.Categorical(rng.choice(["2012/2013", "2013/2014", None], n))
        count = pd.Series(rng.integers(0, 3, n))
        for cols in ((pupil,), (pupil, year), (year, count), (pupil, year, count)):
            assert arrowops.repeated(*cols).tolist() == _old_repeated(*cols).tolist(), trial
        arrowops.forget_proofs()
        # occurs_once: the old exact distinct count, or pandas where values repeat
        assert arrowops.occurs_once(pupil).tolist() == (~pupil.duplicated(keep=False)).tolist(), trial
        frame = pd.DataFrame({"p": pupil, "y": year})
        for keep in ("first", "last", False):
            want = frame.duplicated(["p", "y"], keep=keep).to_numpy()
            assert (arrowops.duplicated(frame, ["p", "y"], keep) == want).all(), trial


def _old_read_values(s: pd.Series, missing_tokens, upper: bool) -> pd.Series:
    """`rules._read_values` as it was: every value trimmed, upper-cased and looked up."""
    import pyarrow.compute as pc

    from mojdfe_assets.rules import TRIM, _arrow

    trimmed = pc.utf8_trim(_arrow(s), characters=TRIM)
    ascii_only = pc.all(pc.string_is_ascii(trimmed)).as_py() is not False
    up = pc.ascii_upper(trimmed) if ascii_only else pc.utf8_upper(trimmed)
    tokens = pa_.array(sorted({"", *(t.strip(TRIM).upper() for t in missing_tokens)}), pa_.string())
    missing = pc.is_in(up, value_set=tokens.cast(up.type))
    out = up if upper else trimmed
    if pc.any(missing).as_py():
        out = pc.if_else(missing, pa_.scalar(None, up.type), out)
    if out.type != pa_.string():
        out = out.cast(pa_.string())
    return pd.Series(pd.arrays.ArrowStringArray(out), index=s.index)


def test_identifiers_read_as_delivered_equal_the_full_normalising():
    from mojdfe_assets import rules
    from mojdfe_assets.extracts import SPINE

    clean_ids = ["AB12", "0000001EE3EC9C9B", "M9048047AA223769E", "X-1", "A.B"]
    cases = [
        clean_ids,  # as delivered: the fast path
        [*clean_ids, None, ""],  # with missing and blank values
        [*clean_ids, "NA", "n/a", "NULL", ".", "-", "nan"],  # missing tokens in any case
        [*clean_ids, " AB13"],  # a space to trim at the start
        [*clean_ids, "AB14\t"],  # a tab at the end
        [*clean_ids, "'AB15'", '"AB16"', "AB17\r\n"],  # quotes, CR/LF
        [*clean_ids, "ab18"],  # lower case
        [*clean_ids, "ÄB19", "straße", "ÉCOLE"],  # beyond ASCII
        [*clean_ids, "A`B", "A{B}", "A~B"],  # ASCII bytes above "Z" that are not letters
        ["", "", None],
        [],
    ]
    for tokens in (rules.DEFAULT_MISSING_TOKENS, ("NA", " missing ")):
        for values in cases:
            for upper in (True, False):
                s = _text(values)
                want = _old_read_values(s, tokens, upper)
                pd.testing.assert_series_equal(rules._read_values(s, tokens, upper), want)
                # a chunked column with a sliced chunk (offsets that do not start at zero)
                big = pa_.large_string()
                arr = pa_.chunked_array([pa_.array(["zz", *values], big).slice(1), pa_.array(values, big)], big)
                chunked = pd.Series(pd.arrays.ArrowStringArray(arr))
                pd.testing.assert_series_equal(
                    rules._read_values(chunked, tokens, upper), _old_read_values(chunked, tokens, upper)
                )
                plain = pd.Series(pd.array(values, dtype="string"))  # not Arrow-backed: read as pa.string()
                pd.testing.assert_series_equal(
                    rules._read_values(plain, tokens, upper), _old_read_values(plain, tokens, upper)
                )
    # the spine's counts of references changed by normalising, and its clean table, as before
    rows = ["AB1", " ab2", "AB3 ", "ab4", "AB5", "NA"]
    raw = pd.DataFrame(
        {
            "source_row": np.arange(1, 7),
            "MoJUID": _text(["M1", "M2", "m3", "M4", "", "M6"]),
            "KS4_PupilMatchingRefAnonymous": _text(rows),
            "KS4_ACADYR": _text(["2012/2013"] * 6),
            "KS4_LA": _text(["201"] * 6),
            "KS4_GENDER": _text(["M"] * 6),
            "KS4_YEAR_OF_BIRTH": _text(["1997"] * 6),
            "KS4_MONTH_OF_BIRTH": _text(["3"] * 6),
            "KS4_FSM_EVER6": _text(["0"] * 6),
            "parse_problem": _text([None] * 6),
            "raw_line": _text([None] * 6),
        }
    )
    got = rules.clean_table(raw, SPINE)
    assert got.normalised == {"moj_uid": 1, "pupil_id": 3}
    assert got.clean["pupil_id"].tolist() == ["AB1", "AB2", "AB3", "AB4", "AB5"]
    assert rules.clean_table(raw.iloc[[0, 4]].reset_index(drop=True), SPINE).normalised == {"moj_uid": 0, "pupil_id": 0}


def _old_la_not_in_force(la: pd.Series, end_year: pd.Series | None) -> np.ndarray:
    """`rules.la_not_in_force` as it was: the LA's years in force taken to every row and compared."""
    from mojdfe_assets import geography
    from mojdfe_assets.extracts import LA_CODE_PATTERN

    codes, values = arrowops.distinct(la)
    well_formed = values.notna().to_numpy(dtype=bool) & values.astype("string").str.match(LA_CODE_PATTERN).fillna(
        False
    ).to_numpy(dtype=bool)
    lo, hi = geography.years_in_force(values.astype(object).to_numpy())
    lo, hi = lo[codes], hi[codes]
    y = np.full(len(la), np.nan) if end_year is None else pd.to_numeric(end_year).to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return well_formed[codes] & (np.isnan(lo) | (y < lo) | (y > hi))


def test_la_not_in_force_by_distinct_pairs_equals_every_row_compared():
    from mojdfe_assets import rules
    from mojdfe_assets.extracts import SPINE

    # 820 Bedfordshire (abolished 1 April 2009), 822 Bedford (from then), 999 no LA, "82" and "ab1"
    # not LA numbers, "٨٢٠" digits of another script, blank and missing
    pool = ["201", "820", "822", "999", "82", "ab1", "٨٢٠", "", None]
    rng = np.random.default_rng(41)
    for trial in range(30):
        n = int(rng.integers(0, 50))
        la = _text(rng.choice(pool, n).tolist())
        year = pd.Series(pd.array(rng.choice([2008, 2009, 2010, 2014, None], n).tolist(), dtype="Int16"))
        for end_year in (year, None):
            want = _old_la_not_in_force(la, end_year)
            assert rules.la_not_in_force(la, end_year).tolist() == want.tolist(), trial
        # coded by the caller, a value under several codes (as delivered " 820" and "820" read alike)
        codes, values = arrowops.distinct(la)
        twice = pd.concat([values, values], ignore_index=True)
        shifted = np.where(rng.random(n) < 0.5, codes, codes.astype(np.intp) + len(values))
        got = rules.la_not_in_force(la, year, (shifted, twice), arrowops.distinct(year))
        assert got.tolist() == _old_la_not_in_force(la, year).tolist(), trial
    # through the clean step: the LA set missing where it is not in force in the row's year
    rows = [("820", "2007/2008"), ("820", "2012/2013"), ("822", "2012/2013"), ("999", "2012/2013"), (" 820", "2012/13")]
    raw = pd.DataFrame(
        {
            "source_row": np.arange(1, 6),
            "MoJUID": _text(f"M{i}" for i in range(5)),
            "KS4_PupilMatchingRefAnonymous": _text(f"P{i}" for i in range(5)),
            "KS4_ACADYR": _text(y for _, y in rows),
            "KS4_LA": _text(la for la, _ in rows),
            "KS4_GENDER": _text(["F"] * 5),
            "KS4_YEAR_OF_BIRTH": _text(["1997"] * 5),
            "KS4_MONTH_OF_BIRTH": _text(["3"] * 5),
            "KS4_FSM_EVER6": _text(["1"] * 5),
            "parse_problem": _text([None] * 5),
            "raw_line": _text([None] * 5),
        }
    )
    got = rules.clean_table(raw, SPINE)
    assert got.clean["ks4_la"].tolist() == ["820", pd.NA, "822", pd.NA, pd.NA]
    assert got.la_set_missing == {"ks4_la": {"820": 2, "999": 1}}


def test_patterns_proven_in_the_clean_step_are_not_matched_again():
    from mojdfe_assets import rules, schemas
    from mojdfe_assets.checks import failure_counts, validating_schema
    from mojdfe_assets.extracts import SPINE
    from mojdfe_assets.schemas import clean_schema

    def plain(schema, df) -> dict[str, int]:  # pandera's own checks, nothing proven
        try:
            schema.validate(df, lazy=True)
            return {}
        except pa.errors.SchemaErrors as err:
            fc = err.failure_cases
            key = fc["column"].astype(str).where(fc["column"].notna(), "table") + ": " + fc["check"].astype(str)
            return {k: int(v) for k, v in key.value_counts().sort_index().items()}

    schema = clean_schema(SPINE)

    def raw_of(rows):
        n = len(rows)
        return pd.DataFrame(
            {
                "source_row": np.arange(1, n + 1),
                "MoJUID": _text(f"M{i}" for i in range(n)),
                "KS4_PupilMatchingRefAnonymous": _text(f"P{i}" for i in range(n)),
                "KS4_ACADYR": _text(y for _, y in rows),
                "KS4_LA": _text(la for la, _ in rows),
                "KS4_GENDER": _text(["F"] * n),
                "KS4_YEAR_OF_BIRTH": _text(["1997"] * n),
                "KS4_MONTH_OF_BIRTH": _text(["3"] * n),
                "KS4_FSM_EVER6": _text(["1"] * n),
                "parse_problem": _text([None] * n),
                "raw_line": _text([None] * n),
            }
        )

    # LA numbers that do not match are quarantined, so the clean LA column is proven; every label is a year
    arrowops.forget_proofs()
    got = rules.clean_table(
        raw_of([("201", "2012/2013"), ("2O1", "2012/2013"), ("", "2013/14"), ("999", "2012-13")]), SPINE
    )
    assert len(got.quarantine) == 1 and got.la_set_missing == {"ks4_la": {"999": 1}}
    assert arrowops.proven_matching(got.clean["ks4_la"], r"^\d{3}$")
    assert arrowops.proven_matching(got.clean["academic_year"], r"^\d{4}/\d{4}$")
    # and its LAs in force in their years (999 was set missing): the schema does not look again
    assert arrowops.proven_rule(rules.LA_IN_FORCE, got.clean["ks4_la"], got.clean["academic_year_end"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(schemas, "la_not_in_force", None)  # (not called)
        counts = failure_counts(schema, got.clean)
    arrowops.forget_proofs()
    assert counts == plain(schema, got.clean) == {}
    # an LA not in force in other memory is checked, and reported as pandera reports it
    stray = got.clean.assign(ks4_la=_text(["999", "201", None]))
    assert failure_counts(schema, stray) == plain(schema, stray) != {}
    arrowops.remember_rule(rules.LA_IN_FORCE, got.clean["ks4_la"], got.clean["academic_year_end"])
    assert not arrowops.proven_rule(rules.LA_IN_FORCE, got.clean["ks4_la"], stray["academic_year_end"].copy())
    # a year before 1000 types, but its label is no yyyy/yyyy: not proven, and the schema says so as pandera does
    arrowops.forget_proofs()
    got = rules.clean_table(raw_of([("201", "0999/1000"), ("201", "2012/2013")]), SPINE)
    assert not arrowops.proven_matching(got.clean["academic_year"], r"^\d{4}/\d{4}$")
    want = plain(schema, got.clean)
    assert want and failure_counts(schema, got.clean) == want
    # the same values in other memory are not proven; a failing column is reported exactly as by pandera
    arrowops.forget_proofs()
    frame = got.clean.assign(ks4_la=_text(["2O1", None]), academic_year=_text(["2012/2013", "2012/2013"]))
    assert failure_counts(schema, frame) == plain(schema, frame) != {}
    arrowops.remember_matching(got.clean["ks4_la"], r"^\d{3}$")
    assert not arrowops.proven_matching(_text(["201", "201"]), r"^\d{3}$")
    assert not arrowops.proven_matching(got.clean["ks4_la"], r"^\d{4}$")
    # the validating schema keeps every check's name and error text (a unique column adds its own)
    for name, col in validating_schema(schema).columns.items():
        own = schema.columns[name].checks
        assert [(c.name, c.error) for c in col.checks[: len(own)]] == [(c.name, c.error) for c in own]
    from mojdfe_assets.resources import release_memory

    release_memory()
    assert not arrowops._PROVEN


def _old_distinct(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """`arrowops.distinct` as it was: int64 codes."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy(dtype=np.int64)
        uniques = pd.Series(col.cat.categories)
    else:
        codes, uniques = pd.factorize(col, sort=False, use_na_sentinel=True)
        codes = codes.astype(np.int64, copy=False)
        uniques = pd.Series(uniques)
    codes = np.where(codes < 0, len(uniques), codes)
    return codes, uniques.reindex(range(len(uniques) + 1))


def test_distinct_codes_in_narrow_integers_equal_the_int64_codes():
    rng = np.random.default_rng(53)
    # around the widths' limits: 126, 127 and 128 distinct values (the missing one is position n)
    for n_values in (0, 1, 5, 126, 127, 128, 300, 40_000):
        pool = [f"v{i}" for i in range(n_values)]
        for missing in (False, True):
            values = list(rng.choice(pool, 2 * n_values)) + pool if n_values else []
            if missing:
                values += [None, None]
            for col in (_text(values), pd.Series(pd.Categorical(values)), pd.Series(values, dtype=object)):
                codes, uniques = arrowops.distinct(col)
                want_codes, want_uniques = _old_distinct(col)
                assert codes.tolist() == want_codes.tolist() and codes.dtype.kind == "i"
                assert np.iinfo(codes.dtype).max >= len(uniques) - 1
                pd.testing.assert_series_equal(uniques, want_uniques)
                pd.testing.assert_series_equal(
                    arrowops.expand(uniques, codes, col.index), arrowops.expand(want_uniques, want_codes, col.index)
                )
                # numpy, masked and categorical values, alone and in a frame, by the narrow codes
                typed = pd.DataFrame(
                    {
                        "n": pd.array(range(len(uniques)), dtype="Int64"),
                        "b": np.arange(len(uniques)) % 2 == 0,
                        "c": pd.Categorical(uniques.astype(object)),
                    }
                )
                pd.testing.assert_frame_equal(
                    arrowops.expand(typed, codes, col.index), arrowops.expand(typed, want_codes, col.index)
                )
                for c in typed.columns:
                    pd.testing.assert_series_equal(
                        arrowops.expand(typed[c], codes, col.index), arrowops.expand(typed[c], want_codes, col.index)
                    )


def test_absences_exceeding_sessions_in_numpy_equal_nullable_arithmetic():
    from mojdfe_assets.checks import failure_counts
    from mojdfe_assets.extracts import ABSENCE, absences_exceed_possible

    def old(c):
        return (
            (c["ab_sessions_unauthorised"].fillna(0) + c["ab_sessions_authorised"].fillna(0))
            > c["ab_sessions_possible"]
        ).fillna(False)

    reason = ABSENCE.row_rules[0].reason

    def as_schema(rule) -> pa.DataFrameSchema:  # the rule as the clean schema checks it
        return pa.DataFrameSchema(checks=[pa.Check(lambda df: ~rule(df), name=reason.split(":")[0], error=reason)])

    rng = np.random.default_rng(61)
    names = ["ab_sessions_possible", "ab_sessions_unauthorised", "ab_sessions_authorised"]
    for trial in range(30):
        n = int(rng.integers(0, 40))
        c = pd.DataFrame(
            {k: pd.array(rng.choice([0, 1, 5, 9, 10, 380, 5000, None], n).tolist(), dtype="Int64") for k in names}
        )
        want = old(c).to_numpy(dtype=bool)
        assert absences_exceed_possible(c).tolist() == want.tolist(), trial
        # as the schema's row rule: the same rows fail under the same name
        assert failure_counts(as_schema(absences_exceed_possible), c) == failure_counts(as_schema(old), c), trial
    floats = pd.DataFrame({k: [1.5, None, 3.0] for k in names})  # not whole-number columns: pandas' own
    assert absences_exceed_possible(floats).tolist() == old(floats).tolist()


def test_many_duplicate_candidates_narrowed_by_hash_equal_pandas(monkeypatch):
    monkeypatch.setattr(arrowops, "REFINE_ABOVE", 5)
    rng = np.random.default_rng(71)
    for trial in range(20):
        n = int(rng.integers(0, 80))
        frame = pd.DataFrame(
            {
                "id": _text(rng.choice(["M1", "M2", "M3", None], n).tolist()),  # every row a candidate
                "date": _text(rng.choice(["01/02/2010", "02/02/2010", "", None], n).tolist()),
                "code": pd.Categorical(rng.choice(["C", "F", None], n)),
                "n": rng.integers(0, 2, n),
            }
        )
        subset = list(frame.columns)
        for keep in ("first", "last", False):
            want = frame.duplicated(subset, keep=keep).to_numpy()
            got = arrowops.duplicated(frame, subset, keep, candidates_by=["id"])
            assert (got == want).all(), (trial, keep)


def test_failure_masks_taken_as_they_are_equal_the_nullable_conversion():
    from mojdfe_assets import rules

    cases = [
        np.array([True, False, True]),
        pd.Series([False, True, False]),
        pd.Series(pd.array([True, None, False], dtype="boolean")),
        pd.Series([True, None, False], dtype=object),
        np.array([], dtype=bool),
    ]
    for v in cases:
        want = pd.Series(v).astype("boolean").fillna(False).to_numpy(dtype=bool)
        got = rules._as_mask(v)
        assert got.dtype == bool and got.tolist() == want.tolist()


def _pyarrow_index_in(keys_, values) -> np.ndarray:
    """`arrowops.index_in` as it was: one pyarrow hash table of the values."""
    pos = pa_.compute.index_in(keys_, value_set=arrowops._value_set(values, keys_.type), skip_nulls=False)
    return np.asarray(pos.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.intp)


def test_index_in_by_join_matches_pyarrow(monkeypatch):
    import pyarrow.compute  # noqa: F401  (pa_.compute in the reference)

    rng = np.random.default_rng(20)
    pool = [f"P{i:03d}" for i in range(120)] + ["p001", "ÄÖ", ""]
    monkeypatch.setattr(arrowops, "JOIN_INDEX_ABOVE", 0)  # every lookup of text by the join
    joined = 0
    for trial in range(80):
        repeats = trial % 3 == 0  # values repeated in a third of the trials
        nv = int(rng.integers(0, 150 if repeats else len(pool) + 1))
        values = rng.choice([*pool, None], nv, replace=repeats).tolist()
        if trial % 5 == 0:
            values = [v for v in values if v is not None]
        keys_ = rng.choice([*pool, "zz", None], int(rng.integers(0, 200))).tolist()
        k = pa_.chunked_array([pa_.array(keys_, pa_.large_string())])
        vs = pa_.array(values, pa_.string() if trial % 2 else pa_.large_string())
        want = _pyarrow_index_in(k, vs)
        np.testing.assert_array_equal(arrowops.index_in(k, vs), want)
        joined += arrowops._index_by_join(k, vs) is not None
    assert joined > 40
    # lookup (contact_sequence's) through the join: same Series
    mapping = pd.Series(pd.array([1, 2, None], "Int64"), index=_text(["b", "a", "c"]))
    got = arrowops.lookup(_text(["a", None, "c", "x", "a"]), mapping)
    pd.testing.assert_series_equal(got, pd.Series(pd.array([2, None, None, None, 2], "Int64")))


def test_cin_rows_placed_where_asked_equal_the_whole_table_placed():
    from mojdfe_assets.national.tables import ComparisonTables

    rng = np.random.default_rng(21)
    pupils = [f"p{i}" for i in range(40)]
    for _ in range(20):
        cin = pd.DataFrame({"pupil_id": _text(rng.choice([*pupils, "q1", None], 60).tolist())})
        outcomes = pd.DataFrame({"pupil_id": _text(rng.permutation(pupils).tolist())})
        x = ComparisonTables(
            cla=cin,
            cin=cin,
            outcomes=outcomes,
            spine=outcomes,
            absence=outcomes,
            exclusions=cin,
            offending=None,
            la_context=None,
        )
        whole = arrowops.index_in(keys.as_arrow(cin["pupil_id"]), keys.as_arrow(outcomes["pupil_id"]))
        rows = rng.random(60) < 0.4
        np.testing.assert_array_equal(x.positions_of("cin", rows), whole[rows])
        np.testing.assert_array_equal(x.positions_of("cin", rows), whole[rows])  # from memory
        np.testing.assert_array_equal(x.positions_of("cla", rows), whole[rows])
        np.testing.assert_array_equal(x.positions["spine"], np.arange(40))


def test_birth_months_and_youth_sanctions_equal_masked_arithmetic():
    from mojdfe_assets.national.tables import ComparisonTables

    rng = np.random.default_rng(22)
    for _ in range(20):
        n = int(rng.integers(0, 40))
        ids = _text(f"p{i}" for i in range(n))
        spine = pd.DataFrame(
            {
                "pupil_id": ids,
                "ks4_year_of_birth": pd.array(rng.choice([1995, 2001, None], n).tolist(), "Int16"),
                "ks4_month_of_birth": pd.array(rng.choice([1, 9, 12, None], n).tolist(), "Int8"),
            }
        )
        dates = rng.choice(["2009-03-31", "2019-08-01", "2020-01-15", None], n).tolist()
        outcomes = pd.DataFrame(
            {"pupil_id": ids, "first_cj_contact_date": pd.Series(pd.to_datetime(dates), dtype="datetime64[ms]")}
        )
        x = ComparisonTables(spine, None, outcomes, spine, spine, spine, None, None)
        months = spine["ks4_year_of_birth"].astype("Float64") * 12 + spine["ks4_month_of_birth"].astype("Float64") - 1
        np.testing.assert_array_equal(x.birth_month, months.to_numpy(dtype=float, na_value=np.nan))
        first = outcomes["first_cj_contact_date"]
        first_month = (first.dt.year * 12 + first.dt.month - 1).astype(float).to_numpy()
        want = ((first_month - x.birth_month) < 18 * 12) & first.notna().to_numpy(dtype=bool)
        np.testing.assert_array_equal(x.youth_sanctioned, want)


def _la_cells_by_groupby(outcomes: pd.DataFrame) -> pd.DataFrame:
    """`la_aggregates.la_cells` as it was: a pandas group-by of the linked pupils (text read as text)."""
    linked = outcomes["most_severe_disposal"].notna() & outcomes["la"].notna()
    sub = outcomes.loc[linked, ["la", "level", "sex", "ks4_year", "fsm", "first_cj_contact_date"]]
    frame = pd.DataFrame(
        {
            "la": sub["la"].astype("category"),
            "level": sub["level"],
            "sex": sub["sex"].astype("category").cat.add_categories("unknown").fillna("unknown"),
            "ks4_year": sub["ks4_year"].astype("category"),
            "fsm": sub["fsm"]
            .map({True: "yes", False: "no"})
            .astype("category")
            .cat.set_categories(["no", "yes", "unknown"])
            .fillna("unknown"),
            "y": sub["first_cj_contact_date"].notna().to_numpy(int),
        }
    )
    out = (
        frame.groupby(["la", "level", "sex", "ks4_year", "fsm"], observed=True)
        .agg(pupils=("y", "size"), cj=("y", "sum"))
        .reset_index()
    )
    out = out[out["pupils"] > 0].reset_index(drop=True)
    return out.astype(dict.fromkeys(("la", "level", "sex", "ks4_year", "fsm"), str))


def test_la_cells_by_codes_equal_the_group_by(monkeypatch):
    from mojdfe_assets import la_aggregates as L
    from mojdfe_assets.schemas import LEVELS, SEVERITY

    rng = np.random.default_rng(23)
    for trial in range(40):
        # a quarter of the trials number only the cells present (as for very many possible cells)
        monkeypatch.setattr(L, "DENSE_CELLS_UP_TO", 2**26 if trial % 4 else 10)
        n = int(rng.integers(0, 300))
        text = {
            "la": rng.choice(["201", "202", "9", "10", "Ä1", None], n).tolist(),
            "sex": rng.choice(["M", "F", "X", None], n).tolist(),
            "ks4_year": rng.choice(["2016/2017", "2011/2012", "2013/2014", None], n).tolist(),
        }
        df = pd.DataFrame(
            {
                **{c: _text(v) for c, v in text.items()},
                "level": pd.Categorical(rng.choice([*LEVELS, None], n).tolist(), categories=list(LEVELS), ordered=True),
                "fsm": pd.array(rng.choice([True, False, None], n).tolist(), dtype="boolean"),
                "most_severe_disposal": pd.Categorical(
                    rng.choice([*SEVERITY, None], n).tolist(), categories=list(SEVERITY), ordered=True
                ),
                "first_cj_contact_date": pd.Series(
                    pd.to_datetime(rng.choice(["2015-01-02", None], n).tolist()), dtype="datetime64[ms]"
                ),
            }
        )
        want = _la_cells_by_groupby(df)
        pd.testing.assert_frame_equal(L.la_cells(df), want)
        # as read with `dictionary_columns`: categoricals listing values in any order, unused ones too
        cats = df.copy()
        for c, v in text.items():
            pool = list(rng.permutation(sorted({x for x in v if x is not None} | {"zz"})))
            cats[c] = pd.Categorical(v, categories=pool)
        pd.testing.assert_frame_equal(L.la_cells(cats), want)
        empty = L.la_cells(df.iloc[:0])
        assert empty.empty and list(empty.columns) == list(want.columns)
        if trial % 10 == 0:  # text level: sorted as text, as the group-by sorts it
            txt = df.assign(level=_text(df["level"].astype(object).where(df["level"].notna(), None)))
            pd.testing.assert_frame_equal(L.la_cells(txt), _la_cells_by_groupby(txt))


def test_median_ci_from_order_statistics_equals_the_sorted_one():
    from mojdfe_assets.stats import median_ci, median_ci_unsorted

    rng = np.random.default_rng(24)
    for n in [*range(1, 40), 101, 1000, 1001]:
        for values in (rng.integers(0, 6, n).astype(float), rng.normal(size=n), np.full(n, 3.0)):
            assert median_ci_unsorted(values.copy()) == median_ci(np.sort(values))


def _summarise_reference(df: pd.DataFrame) -> pd.DataFrame:
    """`effects.summarise` as it was: rates by selected rows, medians of sorted values, codes by recoding."""
    from mojdfe_assets import effects as E
    from mojdfe_assets.stats import median_ci

    fast = (E._true_and_recorded, E._category_codes, E.median_ci_unsorted)
    try:
        E._true_and_recorded = None  # a flag column then goes the float way
        E._category_codes = lambda s, c: pd.Categorical(s, categories=list(c)).codes.astype(np.int64)
        E.median_ci_unsorted = lambda x: median_ci(np.sort(x))
        binary = {c: df[c].astype("Float64") for c in E.BINARY}  # not boolean: the float way
        return E.summarise(df.assign(**binary))
    finally:
        E._true_and_recorded, E._category_codes, E.median_ci_unsorted = fast


def test_summary_counts_and_medians_equal_the_row_selections():
    from mojdfe_assets import effects as E
    from mojdfe_assets.schemas import CONVICTION_GROUPS, LEVELS, SEVERITY

    rng = np.random.default_rng(25)
    for _ in range(15):
        n = int(rng.integers(0, 400))

        def flag(n=n):
            return pd.array(rng.choice([True, False, None], n).tolist(), dtype="boolean")

        def count(n=n):
            return pd.array(rng.choice([0, 1, 5, 40, None], n).tolist(), dtype="Int64")

        df = pd.DataFrame(
            {
                "level": pd.Categorical(rng.choice([*LEVELS, None], n).tolist(), categories=list(LEVELS)),
                **{c: flag() for c in E.BINARY},
                **{c: count() for c in E.COUNTS},
                "conviction_group": pd.Categorical(
                    rng.choice([*CONVICTION_GROUPS, None], n).tolist(), categories=list(CONVICTION_GROUPS)
                ),
                "most_severe_disposal": pd.Categorical(
                    rng.choice([*SEVERITY, None], n).tolist(), categories=list(SEVERITY), ordered=True
                ),
            }
        )
        pd.testing.assert_frame_equal(E.summarise(df), _summarise_reference(df))
    # outcome_frame's shallow copy: the frame it returns is not the input's memory
    out = pd.DataFrame({"level": df["level"], "fsm": flag(), "sex": _text(["M"] * n), "ks4_year": _text(["y"] * n)})
    out = out.assign(
        first_cj_contact_date=pd.Series(pd.NaT, index=out.index, dtype="datetime64[ms]"),
        sessions_possible=count(),
        fixed_period_exclusions=count(),
        most_severe_disposal=df["most_severe_disposal"],
    )
    frame = E.outcome_frame(out)
    frame.loc[:, "sessions_possible"] = 7
    assert not (out["sessions_possible"] == 7).any()


def _contact_sequence_reference(outcomes, cla_summary, cin_summary) -> pd.DataFrame:
    """`outcomes.derive_contact_sequence` as it was: frame indexing and `set_index` lookups."""
    from mojdfe_assets import years
    from mojdfe_assets.arrowops import lookup

    both = outcomes[(outcomes["level"] != "none") & outcomes["first_cj_contact_date"].notna()]
    cla_first = lookup(both["pupil_id"], cla_summary.set_index("pupil_id")["first_care_date"])
    cin_year = lookup(both["pupil_id"], cin_summary.set_index("pupil_id")["first_cin_year"])
    first_sc = pd.concat([cla_first, years.first_day(cin_year)], axis=1).min(axis=1)
    df = pd.DataFrame(
        {
            "pupil_id": both["pupil_id"],
            "level": both["level"],
            "first_social_care_date": first_sc.astype("datetime64[ms]"),
            "first_cj_contact_date": both["first_cj_contact_date"],
        }
    )
    df = df[df["first_social_care_date"].notna()]
    gap = (df["first_cj_contact_date"] - df["first_social_care_date"]).dt.days
    df["social_care_first"] = (gap > 0).astype("boolean")
    df["gap_days"] = gap.astype("Int64")
    df["gap_group"] = pd.Categorical(
        np.select([gap <= 0, gap < 365], ["cj_first", "sc_first_under_1y"], "sc_first_1y_plus"),
        categories=["cj_first", "sc_first_under_1y", "sc_first_1y_plus"],
    )
    return df.reset_index(drop=True)


def test_contact_sequence_by_masks_equals_frame_indexing():
    from mojdfe_assets.outcomes import derive_contact_sequence
    from mojdfe_assets.schemas import LEVELS

    rng = np.random.default_rng(26)

    def dates(n):
        return pd.Series(
            pd.to_datetime(rng.choice(["2010-05-01", "2012-02-29", "2016-11-30", None], n)), dtype="datetime64[ms]"
        )

    for _ in range(25):
        n = int(rng.integers(0, 120))
        ids = [f"p{i}" for i in range(n)]
        outcomes = pd.DataFrame(
            {
                "pupil_id": _text(ids),
                "level": pd.Categorical(rng.choice([*LEVELS, None], n).tolist(), categories=list(LEVELS), ordered=True),
                "first_cj_contact_date": dates(n),
            },
            index=rng.permutation(n) + 5,  # row labels other than 0..n-1
        )
        cla_ids = list(rng.choice([*ids, "q1"], min(n, 30), replace=False)) if n else []
        cla = pd.DataFrame({"pupil_id": _text(cla_ids), "first_care_date": dates(len(cla_ids))})
        cin_ids = list(rng.choice([*ids, "q2"], min(n, 50), replace=False)) if n else []
        cin = pd.DataFrame(
            {
                "pupil_id": _text(cin_ids),
                "first_cin_year": pd.array(rng.choice([2011, 2015, None], len(cin_ids)).tolist(), "Int16"),
            }
        )
        pd.testing.assert_frame_equal(
            derive_contact_sequence(outcomes, cla, cin), _contact_sequence_reference(outcomes, cla, cin)
        )

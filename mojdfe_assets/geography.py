"""English local authorities as data: which LA numbers exist in which year, one geography for
comparisons over years, and each authority's place on the hex map.

The code list is `data/local_authorities.csv` (one row per DfE three-digit LA number in use at any
time from 2005/06; see `data/README.md`), built from DfE GIAS and ONS code files by
`scripts/build_local_authorities.py`. Collection years are named by their END year (2008/09 =
2009), as everywhere in the project; `valid_from` / `valid_to` are the first / last collection year
an LA number is in force, blank = open (in use before 2005/06 / still in use).

Self-contained: reads its CSVs with pandas and imports nothing else of the pipeline.

Harmonising to the 2018 authorities (`harmonise_to_2018`). The extracts hold the LA number as
delivered, so a child of Bedford has 820 (Bedfordshire) on rows to 2008/09 and 822 after. A
predecessor with one successor could be mapped by code alone; Bedfordshire (820 -> 822 | 823) and
Cheshire (875 -> 895 | 896) cannot. The rule: a predecessor row takes the LA of the same pupil's
latest row (highest end year; among rows of that year, the last in input order) that carries one
of the predecessor's successors. Rows of pupils with no such row stay at the predecessor code and
are counted in the report, as are codes that are not authorities of the target year at all.
Predecessors that became unitary keeping their number (Durham 840, Northumberland 929, Shropshire
893, Cornwall 908, Wiltshire 865) need no mapping: their number is an authority of 2018.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

_DATA = Path(__file__).parent / "data"
GEOGRAPHY_YEAR = 2018  # the extracts end with collection year 2017/18
RULES = ("as_delivered", "harmonised_2018")


@cache
def _las() -> pd.DataFrame:
    df = pd.read_csv(_DATA / "local_authorities.csv", dtype=str, keep_default_na=False)
    for col in ("valid_from", "valid_to", "hex_q", "hex_r"):
        df[col] = pd.to_numeric(df[col].replace("", None)).astype("Int64")
    return df


def local_authorities() -> pd.DataFrame:
    """The code list: la_code, la_name, gss_code, gss_history, region_code, region_name,
    la_type_code, la_type, valid_from, valid_to, successors, predecessors, hex_id, hex_q, hex_r,
    note, source (a copy)."""
    return _las().copy()


@cache
def _bounds() -> tuple[pd.Index, np.ndarray, np.ndarray]:
    df = _las()
    lo = df["valid_from"].to_numpy(dtype=float, na_value=-np.inf)
    hi = df["valid_to"].to_numpy(dtype=float, na_value=np.inf)
    return pd.Index(df["la_code"]), lo, hi


def _codes(la_codes) -> np.ndarray:
    """LA codes as an object array with None for missing (pd.NA, NaN)."""
    s = pd.Series(la_codes, dtype=object) if np.ndim(la_codes) else pd.Series([la_codes], dtype=object)
    return s.where(s.notna(), None).to_numpy(dtype=object)


def _years(end_years) -> np.ndarray:
    """End years as floats with NaN for missing (numbers or numeric text)."""
    y = pd.Series(end_years) if np.ndim(end_years) else pd.Series([end_years])
    if not pd.api.types.is_numeric_dtype(y.dtype) or y.dtype == object:
        y = pd.to_numeric(y.astype(object), errors="coerce")
    return y.to_numpy(dtype=float, na_value=np.nan)


def _aligned(la_codes, end_years) -> tuple[np.ndarray, np.ndarray]:
    codes, years = _codes(la_codes), _years(end_years)
    if len(codes) != len(years):
        codes, years = np.broadcast_arrays(codes, years)
    return codes, years


def known_in_year(la_codes, end_years) -> np.ndarray:
    """Per row, whether the LA number is an authority in that collection year (end year):
    valid_from <= year <= valid_to, missing bounds open. Unknown or missing codes are False; a
    missing year accepts any code that exists at some time. Codes must be stripped 3-digit text."""
    codes, years = _aligned(la_codes, end_years)
    index, lo, hi = _bounds()
    pos = index.get_indexer(codes)
    found = pos >= 0
    p = np.where(found, pos, 0)
    y = np.where(np.isnan(years), lo[p], years)  # no year: test against the lower bound (always in range)
    return found & (lo[p] <= y) & (y <= hi[p])


def years_in_force(la_codes) -> tuple[np.ndarray, np.ndarray]:
    """Per code, the first and last collection year (end years) it is in force: -inf / +inf when
    open, NaN for a code that is no DfE LA number (or missing). For a few distinct values, which a
    caller takes back to its rows (the clean step checks every row's LA against its year so)."""
    index, lo, hi = _bounds()
    pos = index.get_indexer(_codes(la_codes))
    found = pos >= 0
    p = np.where(found, pos, 0)
    return np.where(found, lo[p], np.nan), np.where(found, hi[p], np.nan)


def codes_in_year(end_year: int) -> list[str]:
    """LA numbers in force in a collection year, sorted."""
    index, lo, hi = _bounds()
    return sorted(index[(lo <= end_year) & (end_year <= hi)])


@cache
def _gss_periods() -> pd.DataFrame:
    rows = []
    for code, hist in zip(_las()["la_code"], _las()["gss_history"]):
        for item in hist.split("|"):
            gss, span = item.split(":")
            a, b = span.split("..")
            rows.append((code, gss, float(a) if a else -np.inf, float(b) if b else np.inf))
    return pd.DataFrame(rows, columns=["la_code", "gss_code", "lo", "hi"])


def gss_in_year(la_codes, end_years) -> np.ndarray:
    """The GSS (ONS) code an LA number carried in a collection year (e.g. Gateshead 390:
    E08000020 to 2012/13, E08000037 from 2013/14); None where the number was not in force. GSS
    codes begin in 2009: for earlier years the code of 2009 is given, for mapping."""
    codes, years = _aligned(la_codes, end_years)
    per = _gss_periods()
    frame = pd.DataFrame({"la_code": codes, "year": years, "row": np.arange(len(codes))})
    m = frame.merge(per, on="la_code", how="inner")
    m = m[m["year"].isna() | ((m["lo"] <= m["year"]) & (m["year"] <= m["hi"]))].drop_duplicates("row", keep="last")
    out = np.full(len(codes), None, dtype=object)
    out[m["row"].to_numpy()] = m["gss_code"].to_numpy(dtype=object)
    return out


# ---------------------------------------------------------------------------------------------
# One geography over years


def _successor_pairs(target: int) -> pd.DataFrame:
    """(predecessor, successor) for LA numbers not in force in `target` whose successors are."""
    df = _las()
    index, lo, hi = _bounds()
    live = set(index[(lo <= target) & (target <= hi)])
    pairs = [
        (p, s)
        for p, succ in zip(df["la_code"], df["successors"])
        if p not in live and succ
        for s in succ.split("|")
        if s in live
    ]
    return pd.DataFrame(pairs, columns=["predecessor", "successor"], dtype=object)


def _factorized(la: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's position among the distinct LA numbers (-1: missing), and those numbers."""
    if isinstance(la.dtype, pd.CategoricalDtype):
        return la.cat.codes.to_numpy(dtype=np.int64), la.cat.categories.astype(object).to_numpy()
    idx, uniq = pd.factorize(la, use_na_sentinel=True)
    return idx.astype(np.int64, copy=False), np.asarray(uniq, dtype=object)


def _counts(values: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> dict[str, int]:
    """{LA number: rows} over the rows `rows` (a mask) of positions `idx` into `values`."""
    c = np.bincount(idx[rows & (idx >= 0)], minlength=len(values))
    return {str(values[i]): int(c[i]) for i in np.argsort(values.astype(str)) if c[i]}


def _pupils_at(pupil_id: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The pupil references of some rows (few) as Python values: only those rows are converted,
    never the whole (10M-row) column."""
    return pupil_id.iloc[rows].astype(object).to_numpy()


def harmonise_to_year(
    pupil_id: pd.Series, end_year: pd.Series, la: pd.Series, target: int = GEOGRAPHY_YEAR
) -> tuple[pd.Series, dict]:
    """LA numbers of rows mapped onto the authorities of collection year `target` (see the module
    docstring for the rule). Inputs are aligned Series (one row each); returns the harmonised
    Series (same index, string dtype) and a report of what was mapped and what could not be.
    Worked out per distinct LA number; only rows of predecessors with several successors are
    looked at one by one (by pupil), so a 10-million-row spine costs array passes."""
    n = len(la)
    idx, values = _factorized(la)
    pairs = _successor_pairs(target)
    n_succ = pairs.groupby("predecessor")["successor"].nunique()
    single = pairs[pairs["predecessor"].map(n_succ) == 1].set_index("predecessor")["successor"].to_dict()
    multi = set(n_succ.index[n_succ > 1])
    # Per distinct value: its code-mapped value, and whether it is a predecessor of each kind.
    by_code_v = np.array([v in single for v in values], dtype=bool)
    multi_v = np.array([v in multi for v in values], dtype=bool)
    dictionary = np.array([single.get(v, v) for v in values], dtype=object)
    present = idx >= 0
    safe = np.where(present, idx, 0)
    by_code = present & by_code_v[safe]
    is_multi = present & multi_v[safe]
    out_idx = idx.copy()
    resolved = np.zeros(n, dtype=bool)
    if is_multi.any():
        year = _years(end_year)
        rows = np.flatnonzero(is_multi)
        pid_rows = _pupils_at(pupil_id, rows)
        ask = pd.unique(pid_rows)
        succ_v = np.isin(values.astype(str), pairs["successor"].to_numpy(dtype=str))
        cand_rows = np.flatnonzero(present & succ_v[safe])
        pid_cand = _pupils_at(pupil_id, cand_rows)
        asked = pd.Series(pid_cand).isin(ask).to_numpy() & pd.notna(pid_cand)
        cand_rows, pid_cand = cand_rows[asked], pid_cand[asked]
        # The same pupil's rows with a successor code, latest last; one row per (pupil, predecessor).
        cand = pd.DataFrame({"pid": pid_cand, "la": values[idx[cand_rows]], "year": year[cand_rows], "pos": cand_rows})
        cand = cand.merge(pairs[pairs["predecessor"].isin(multi)], left_on="la", right_on="successor")
        cand = cand.sort_values(["year", "pos"], na_position="first", kind="stable")
        latest = cand.drop_duplicates(["pid", "predecessor"], keep="last").set_index(["pid", "predecessor"])["la"]
        hit = latest.index.get_indexer(pd.MultiIndex.from_arrays([pid_rows, values[idx[rows]]]))
        ok = hit >= 0
        successors = latest.to_numpy(dtype=object)[hit[ok]]
        extra = pd.unique(successors)  # successor numbers, appended to the dictionary
        dictionary = np.concatenate([dictionary, extra])
        out_idx[rows[ok]] = len(values) + pd.Index(extra).get_indexer(successors)
        resolved[rows[ok]] = True
    unresolved = is_multi & ~resolved
    known = known_in_year(dictionary, np.full(len(dictionary), target))
    moved = resolved | by_code
    mapped = pd.DataFrame({"from": values[idx[moved]], "to": dictionary[out_idx[moved]]}).value_counts().sort_index()
    not_known = present & ~known[np.where(present, out_idx, 0)] & ~unresolved
    report = {
        "rule": f"harmonised_{target}",
        "target_year": target,
        "rows": int(n),
        "rows_mapped_by_code": int(by_code.sum()),
        "rows_mapped_by_later_record": int(resolved.sum()),
        "mapped": {f"{a}->{b}": int(c) for (a, b), c in mapped.items()},
        "rows_unresolved": int(unresolved.sum()),
        "unresolved_by_code": _counts(values, idx, unresolved),
        "pupils_unresolved": int(pd.Series(_pupils_at(pupil_id, np.flatnonzero(unresolved))).nunique()),
        "rows_unresolved_without_pupil_id": int((unresolved & pupil_id.isna().to_numpy()).sum()),
        "rows_not_in_target_geography": _counts(dictionary, out_idx, not_known),
        "rows_missing_la": int((~present).sum()),
    }
    # Rows take their value from the small dictionary in one Arrow pass (no per-row Python).
    arr = pa.DictionaryArray.from_arrays(pa.array(out_idx, mask=~present), pa.array(dictionary, pa.string()))
    return pd.Series(pd.arrays.ArrowStringArray(arr.dictionary_decode()), index=la.index), report


def harmonise_to_2018(pupil_id: pd.Series, end_year: pd.Series, la: pd.Series) -> tuple[pd.Series, dict]:
    """LA numbers mapped to the 2018 authorities (820 -> 822 / 823, 875 -> 895 / 896 by the same
    pupil's later record; the report counts rows that stay at the predecessor)."""
    return harmonise_to_year(pupil_id, end_year, la, GEOGRAPHY_YEAR)


def harmonise(
    pupil_id: pd.Series, end_year: pd.Series, la: pd.Series, rule: str = "harmonised_2018"
) -> tuple[pd.Series, dict]:
    """LA of each row under a geography rule: 'as_delivered' (identity) or 'harmonised_2018'."""
    if rule == "as_delivered":
        out = la.astype(pd.StringDtype("pyarrow"))
        return out, {"rule": rule, "rows": int(len(la)), "rows_missing_la": int(out.isna().sum())}
    if rule == "harmonised_2018":
        return harmonise_to_2018(pupil_id, end_year, la)
    raise ValueError(f"rule must be one of {RULES}, not {rule!r}")


def code_in_year(la_2018, end_years) -> np.ndarray:
    """The LA number the area of a 2018 authority was recorded under in a collection year: its
    predecessor before it existed (822 / 823 -> 820 and 895 / 896 -> 875 up to 2008/09), else its
    own number. For generating extracts as delivered."""
    codes, years = _aligned(la_2018, end_years)
    codes = codes.copy()
    df = _las()
    index, lo, hi = _bounds()
    pos = index.get_indexer(codes)
    pred = df["predecessors"].to_numpy(dtype=object)
    start = np.where(pos >= 0, lo[np.maximum(pos, 0)], -np.inf)
    before = (pos >= 0) & (years < start)
    out = codes.copy()
    for i in np.unique(pos[before]):  # one step per authority (a handful), not per row
        ps = [p for p in pred[i].split("|") if p]
        if len(ps) != 1:
            raise ValueError(f"{index[i]} has no single predecessor ({pred[i]!r})")
        out[before & (pos == i)] = ps[0]
    return out


# ---------------------------------------------------------------------------------------------
# The map


def geography_2018() -> pd.DataFrame:
    """The authorities of 2018 (152, incl. City of London and the Isles of Scilly), one row each:
    la_code, la_name, gss_code, region_code, region_name, la_type, q, r (hex position on the
    odd-r layout, rows counted from the south; see data/README.md for Bournemouth, Poole and
    Dorset, which the 2020 layout does not have)."""
    df = _las()
    live = df["la_code"].isin(codes_in_year(GEOGRAPHY_YEAR))
    out = df.loc[
        live, ["la_code", "la_name", "gss_code", "region_code", "region_name", "la_type", "hex_q", "hex_r"]
    ].rename(columns={"hex_q": "q", "hex_r": "r"})
    return out.astype({"q": "int64", "r": "int64"}).reset_index(drop=True)


@cache
def _hexjson() -> dict:
    return json.loads((_DATA / "england_utla_hexmap.hexjson").read_text(encoding="utf-8"))


def hexjson() -> dict:
    """The Open Innovations upper-tier LA hex layout as delivered (about 2020; MIT licence)."""
    return json.loads(json.dumps(_hexjson()))


@cache
def _figures() -> pd.DataFrame:
    df = pd.read_csv(_DATA / "la_figures.csv", dtype={"la_code": str, "idaci_gss_code": str}, keep_default_na=False)
    df["idaci_average_score"] = df["idaci_average_score"].astype(float)
    df["cla_31_march_2010"] = pd.to_numeric(df["cla_31_march_2010"], errors="coerce").astype("Int64")
    return df


def la_figures() -> pd.DataFrame:
    """Published figures per 2018 authority: child_population_0_17 (mid-2009, DfE SFR27/2010),
    cla_31_march_2010 (same release), idaci_average_score (IoD2019 File 11; see note for
    Bournemouth, Poole and Dorset), with their source (a copy)."""
    return _figures().copy()

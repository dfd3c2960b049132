"""Social-care derivations (field guide, "Summary of comments on specific variables"):
CLA episodes and durations, per-pupil CLA and CIN summaries, child protection plan flags and the
ordered intervention factor (no social care contact < referral only < child in need < child
protection plan < child looked after), one row per spine pupil.

Everything is grouped by `pupil_id`, the key the linked data shares across datasets. Rows with no
pupil reference, and pupils missing from the spine, are counted and reported, never dropped
silently. Aggregations are vectorised (sort + cumulative/groupby built-ins), no per-pupil Python.
"""

from typing import Literal

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field as ConfigField

from . import arrowops, codelists, keys, years
from . import extracts as X
from .codelists import INTERVENTION_LEVELS as LEVELS
from .extracts import WEAK_CIN_COVERAGE_LAST_YEAR
from .reading import PROBLEM
from .resources import LaGeography
from .rules import CleaningRules, normalise_identifier
from .schemas import (
    LEGAL_GROUPS,
    PLACEMENT_FAMILIES,
    CinPupilSummary,
    ClaEpisodes,
    ClaPupilSummary,
    CppFlags,
    InterventionLevel,
    TallyTable,
)
from .table_assets import Check, Out, Outcome, Table, shared, table_asset, table_multi_asset

GROUP = "social_care"


# ---------------------------------------------------------------------------------------------
# CLA


def derive_cla_episodes(cla: pd.DataFrame, la: pd.Series | None = None) -> pd.DataFrame:
    """One row per episode. An episode open at a year end is delivered again the next year, so
    rows are de-duplicated on (pupil, commenced date) keeping the latest year (most up to date).
    `la`: each CLA row's LA in the run's geography (default: as delivered)."""
    cla = cla.assign(_la=cla["cla_cla_la"] if la is None else la)
    df = cla[cla["pupil_id"].notna()]
    df = df.sort_values(["pupil_id", "cla_date_epi_comm", "academic_year_end"], kind="stable")
    first_year = df.groupby(["pupil_id", "cla_date_epi_comm"], sort=False)["academic_year_end"].transform("min")
    n_rows = df.groupby(["pupil_id", "cla_date_epi_comm"], sort=False)["academic_year_end"].transform("size")
    last = ~df.duplicated(["pupil_id", "cla_date_epi_comm"], keep="last")
    df, first_year, n_rows = df[last], first_year[last], n_rows[last]
    censored = df["cla_date_epi_ceased"].isna()
    end = df["cla_date_epi_ceased"].where(~censored, years.march31(df["academic_year_end"]))
    out = pd.DataFrame(
        {
            "pupil_id": df["pupil_id"],
            "moj_uid": df["moj_uid"],
            "episode_start": df["cla_date_epi_comm"],
            "episode_end": end.astype("datetime64[ms]"),
            "censored": censored.astype("boolean"),
            "duration_days": (end - df["cla_date_epi_comm"]).dt.days.astype("Int64"),
            "first_year": first_year.astype("Int16"),
            "last_year": df["academic_year_end"].astype("Int16"),
            "year_rows": n_rows.astype("Int64"),
            "cla_cla_la": df["cla_cla_la"],
            "la": df["_la"].astype(pd.StringDtype("pyarrow")),
            "cla_poc_start": df["cla_poc_start"],
            "cla_cat_need": df["cla_cat_need"],
            "cla_legal_status": df["cla_legal_status"],
            "legal_group": _group(df["cla_legal_status"], "cla_legal_status"),
            "cla_placement": df["cla_placement"],
            "placement_family": _group(df["cla_placement"], "cla_placement"),
            "cla_rec": df["cla_rec"],
        }
    )
    return out.reset_index(drop=True)


def _group(codes: pd.Series, code_list: str) -> pd.Series:
    """Each code's group (code-list data), as a categorical of the list's groups in their order."""
    mapped = codes.astype("object").map(codelists.groups(code_list))
    return pd.Series(pd.Categorical(mapped, categories=list(codelists.group_names(code_list))), index=codes.index)


def interval_union_days(pupil: pd.Series, start: pd.Series, end: pd.Series) -> pd.Series:
    """Days covered by the union of [start, end) intervals per pupil: overlapping or repeated
    records count once. Vectorised: sort, running maximum of ends, new block where a gap opens."""
    d = pd.DataFrame({"p": pupil.to_numpy(), "s": start.to_numpy(), "e": end.to_numpy()})
    d = d.sort_values(["p", "s"], kind="stable")
    run_max = d.groupby("p", sort=False)["e"].cummax()
    prev_max = run_max.groupby(d["p"], sort=False).shift()
    block = (prev_max.isna() | (d["s"] > prev_max)).cumsum()
    b = (
        d.assign(block=block.to_numpy())
        .groupby("block", sort=False)
        .agg(p=("p", "first"), s=("s", "min"), e=("e", "max"))
    )
    return ((b["e"] - b["s"]).dt.days).groupby(b["p"], sort=False).sum()


def _run_starts(a: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """For present values in sorted order, True where a row's value differs from the row before
    (the first row always): where each pupil's rows begin. A comparison of neighbours, no hashing
    of the text ids."""
    new = np.ones(len(a), dtype=bool)
    if len(a) > 1:
        new[1:] = np.asarray(
            pc.not_equal(a.slice(1), a.slice(0, len(a) - 1)).to_numpy(zero_copy_only=False), dtype=bool
        )
    return new


def _sorted_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's pupil as an integer 0..n-1 in pupil order, and each pupil's first row, for rows
    already sorted by pupil (present)."""
    a = arrowops.as_arrow(ids)
    new = _run_starts(pa.array(ids.astype(object).to_numpy()) if a is None else a)
    return np.cumsum(new) - 1, np.flatnonzero(new)


def summarise_cla(episodes: pd.DataFrame, cla: pd.DataFrame) -> pd.DataFrame:
    ep = episodes[episodes["pupil_id"].notna()].sort_values(["pupil_id", "episode_start"], kind="stable")
    ep = ep.reset_index(drop=True)
    # every per-pupil figure is grouped on integer codes in pupil order (the summary's row order)
    pid, first_rows = _sorted_codes(ep["pupil_id"])
    n = len(first_rows)
    last_rows = np.append(first_rows[1:] - 1, len(ep) - 1) if n else first_rows
    g = ep.groupby(pid, sort=True)
    # In care at the end of the data: the pupil's latest episode (by start) has no ceased date and
    # was delivered in the extract's last collection year. (An open episode of an earlier year
    # whose end was never delivered, as the one-row-per-year release leaves many, does not count.)
    last_year_of_data = cla["academic_year_end"].max() if len(cla) else None
    latest = ep.iloc[last_rows].reset_index(drop=True)
    open_at_end = latest["censored"].fillna(False).astype(bool) & (latest["last_year"] == last_year_of_data).fillna(
        False
    )
    out = pd.DataFrame(
        {
            "first_care_date": g["episode_start"].min(),
            "last_care_date": g["episode_end"].max(),
            "episodes": g.size().astype("Int64"),
        }
    )
    out.insert(2, "in_care_at_end_of_data", open_at_end.astype("boolean"))
    codes = pd.Series(pid)
    out["days_in_care"] = interval_union_days(codes, ep["episode_start"], ep["episode_end"]).astype("Int64")
    # academic years with a CLA row: distinct (pupil, year) pairs of the clean rows
    rows = cla[cla["pupil_id"].notna() & cla["academic_year_end"].notna()]
    at = pd.Index(ep["pupil_id"].iloc[first_rows]).get_indexer(rows["pupil_id"])
    pairs = pd.DataFrame({"p": at, "y": rows["academic_year_end"].to_numpy()})[at >= 0].drop_duplicates()
    out["academic_years_in_care"] = pairs.groupby("p").size().reindex(out.index).astype("Int64")
    for fam in PLACEMENT_FAMILIES:
        m = (ep["placement_family"] == fam).to_numpy(dtype=bool)
        days = interval_union_days(codes[m], ep.loc[m, "episode_start"], ep.loc[m, "episode_end"])
        out[f"days_{fam}"] = days.reindex(out.index).fillna(0).astype("Int64")
        out[f"ever_{fam}"] = (out[f"days_{fam}"] > 0) | (np.bincount(pid[m], minlength=n) > 0)
        out[f"ever_{fam}"] = out[f"ever_{fam}"].astype("boolean")
    # a change is a placement code other than the pupil's previous episode's (both recorded)
    place = pd.factorize(ep["cla_placement"])[0]
    change = np.zeros(len(ep), dtype=bool)
    change[1:] = (pid[1:] == pid[:-1]) & (place[1:] >= 0) & (place[:-1] >= 0) & (place[1:] != place[:-1])
    out["placement_changes"] = pd.array(np.bincount(pid[change], minlength=n), dtype="Int64")
    for lg in LEGAL_GROUPS:
        held = (ep["legal_group"] == lg).fillna(False).to_numpy(dtype=bool)
        out[f"ever_{lg}"] = pd.array(np.bincount(pid[held], minlength=n) > 0, dtype="boolean")
    first = ep.iloc[first_rows].reset_index(drop=True)
    out["first_cat_need"] = first["cla_cat_need"]
    out["la_first"] = first["la"]
    out.insert(0, "pupil_id", first["pupil_id"])
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# CIN and CPP


def _by_pupil(cin: pd.DataFrame) -> tuple[pd.DataFrame, pd.api.extensions.ExtensionArray]:
    """CIN rows with a pupil reference in (pupil, year) order, keyed by `_key`: the pupil's rank in
    sorted pupil order. Grouping by the integer key is grouping by pupil_id (sorted), with the
    ids hashed once instead of once per group-by."""
    ids = arrowops.as_arrow(cin["pupil_id"])
    if ids is None or not len(cin):
        df = cin[cin["pupil_id"].notna()]
        key, pupils = pd.factorize(df["pupil_id"], sort=True)
        df = df.assign(_key=key).sort_values(["_key", "academic_year_end"], kind="stable")
        return df, pupils
    # The same rows in the same order as pd.factorize(sort=True) + a stable sort by (key, year)
    # (years missing last, ties in row order), from one multi-threaded DuckDB sort of the ids:
    # at 10M pupils 1.3 s instead of 4.2 s (pandas hashes the ids, sorts the distinct ones, then
    # sorts the rows again). A new key starts wherever the sorted id differs from the one before.
    year = cin["academic_year_end"].to_numpy(dtype="float64", na_value=np.nan)
    table = pa.table({"v": ids, "y": year, "rn": np.arange(len(cin), dtype=np.int64)})
    res = arrowops._duckdb(table, "SELECT rn, v FROM t WHERE v IS NOT NULL ORDER BY v, y NULLS LAST, rn")
    rows, v = res.column("rn").to_numpy(), res.column("v")
    new = _run_starts(v)
    pupils = pd.Index(
        pd.arrays.ArrowStringArray(
            v.filter(pa.array(new)).cast(pa.large_string()).combine_chunks()
            if len(v)
            else pa.array([], pa.large_string())
        )
    )
    df = cin.iloc[rows].assign(_key=np.cumsum(new) - 1)
    return df, pupils


def _with_pupil_ids(out: pd.DataFrame, pupils) -> pd.DataFrame:
    """Per-key results (indexed by `_key`) as a table with a `pupil_id` column, in pupil order."""
    out.index = pd.Index(pupils.take(out.index.to_numpy()), name="pupil_id")
    return out.reset_index()


def _codes_of(col: pd.Series, categories: list) -> np.ndarray:
    """A categorical (or text) column's values as positions in `categories` (-1: missing or not
    among them), as int16."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = list(col.cat.categories)
        lookup = np.array([categories.index(c) if c in categories else -1 for c in cats] + [-1], dtype=np.int16)
        return lookup[col.cat.codes.to_numpy()]
    return pd.Categorical(col.astype(object), categories=categories).codes.astype(np.int16)


def _flag_codes(col: pd.Series) -> np.ndarray:
    """A nullable flag as int8: 1, 0, -1 for missing."""
    return np.where(col.isna().to_numpy(dtype=bool), -1, col.fillna(False).to_numpy(dtype=bool)).astype(np.int8)


# Rows of a pupil in (year, row) order, years missing last, as one BIGINT: what `_by_pupil`
# sorts by within a pupil, so a pupil's first and last row are arg_min / arg_max of it.
_ORDER = "((y IS NULL)::BIGINT << 40) | (coalesce(y, 0)::BIGINT << 27) | rn"
_ORDER_ROWS = 2**27


def _per_pupil_sql(cin: pd.DataFrame, columns: dict, sql: str) -> pa.Table | None:
    """Run a GROUP BY pupil `sql` over the CIN rows with a pupil reference (table `t`: `pid`,
    `y` the collection year, `rn` the row, `ord`, and `columns`), ordered by pupil_id; None when
    the rows cannot be ordered by `_ORDER` (more than 2^27 rows)."""
    ids = arrowops.as_arrow(cin["pupil_id"])
    if ids is None or len(cin) >= _ORDER_ROWS:
        return None
    year = cin["academic_year_end"]
    table = pa.table(
        {
            "pid": ids,
            "y": pa.array(year.to_numpy(dtype="float64", na_value=np.nan), from_pandas=True).cast(pa.int32()),
            "rn": np.arange(len(cin), dtype=np.int64),
            **columns,
        }
    )
    return arrowops._duckdb(table, f"WITH t AS (SELECT *, {_ORDER} AS ord FROM t WHERE pid IS NOT NULL) {sql}")


def _pupil_ids(res: pa.Table) -> pd.Series:
    return pd.Series(
        pd.arrays.ArrowStringArray(res.column("pupil_id").cast(pa.large_string()).combine_chunks()), name="pupil_id"
    )


def summarise_cin(cin: pd.DataFrame) -> pd.DataFrame:
    """One row per CIN pupil (see `cin_pupil_summary`): one multi-threaded DuckDB GROUP BY over
    the rows; exactly `_summarise_cin_pandas`'s table (tested), several times faster at 10M."""
    needs = list(codelists.codes("cin_primary_need"))
    years = cin["academic_year_end"].to_numpy(dtype="float64", na_value=np.nan)
    lo, hi = (np.nanmin(years), np.nanmax(years)) if np.isfinite(years).any() else (0, 0)
    # distinct years in need: a bit per year OR-ed together and counted (a DISTINCT aggregate is
    # several times slower), when the years span fewer than 64
    distinct_years = (
        f"bit_count(coalesce(bit_or(1::UBIGINT << (y - {int(lo)})) FILTER (WHERE in31 = 1 AND y IS NOT "
        "NULL), 0::UBIGINT))"
        if hi - lo < 63
        else "count(DISTINCT y) FILTER (WHERE in31 = 1)"
    )
    res = _per_pupil_sql(
        cin,
        {
            "in31": _flag_codes(cin["cin_cin_at31march"]),
            "nfa": _flag_codes(cin["cin_referral_nfa"]),
            "need": _codes_of(cin["cin_primary_need_code"], needs),
        },
        f"""
        SELECT pid AS pupil_id, count(*) AS cin_rows,
               {distinct_years} AS years_in_need,
               count(*) FILTER (WHERE in31 = -1) AS missing31,
               bool_or(nfa = 1) AS nfa_any,
               min(y) AS first_year, max(y) AS last_year,
               arg_max(need, ord) FILTER (WHERE need >= 0) AS need
        FROM t GROUP BY pid ORDER BY pid""",
    )
    if res is None:
        return _summarise_cin_pandas(cin)
    out = pd.DataFrame({"pupil_id": _pupil_ids(res)})
    out["cin_rows"] = pd.array(res.column("cin_rows").to_numpy(), dtype="Int64")
    out["years_in_need"] = pd.array(res.column("years_in_need").to_numpy(), dtype="Int64")
    out["referral_only"] = (out["years_in_need"] == 0).astype("boolean")
    out["at31march_missing_rows"] = pd.array(res.column("missing31").to_numpy(), dtype="Int64")
    out["any_referral_nfa"] = pd.array(res.column("nfa_any").to_numpy(zero_copy_only=False), dtype="boolean")
    ro, nfa = out["referral_only"].astype(bool), out["any_referral_nfa"].astype(bool)
    out["referral_check"] = pd.Categorical(
        np.select([ro & nfa, ro & ~nfa, ~ro & nfa], ["both", "flag_only", "nfa_only"], "neither"),
        categories=["both", "flag_only", "nfa_only", "neither"],
    )
    for name, col in (("first_cin_year", "first_year"), ("latest_cin_year", "last_year")):
        out[name] = pd.array(res.column(col).to_pandas(), dtype="Int16")
    need = res.column("need").to_numpy(zero_copy_only=False)
    codes = np.where(pd.isna(need), -1, np.nan_to_num(need.astype("float64"), nan=-1)).astype(np.int16)
    out["latest_primary_need"] = pd.Categorical.from_codes(codes, categories=needs)
    out["only_weak_coverage_years"] = (out["latest_cin_year"] <= WEAK_CIN_COVERAGE_LAST_YEAR).astype("boolean")
    return out


def _summarise_cin_pandas(cin: pd.DataFrame) -> pd.DataFrame:
    """`summarise_cin` in pandas (the reference the DuckDB version is tested against)."""
    df, pupils = _by_pupil(cin)
    key = df["_key"]
    g = df.groupby(key, sort=True)
    in_need = df["cin_cin_at31march"].fillna(False).astype(bool)
    years_in_need = df.loc[in_need].groupby(key[in_need])["academic_year_end"].nunique()
    out = pd.DataFrame({"cin_rows": g.size().astype("Int64")})
    out["years_in_need"] = years_in_need.reindex(out.index).fillna(0).astype("Int64")
    out["referral_only"] = (out["years_in_need"] == 0).astype("boolean")
    out["at31march_missing_rows"] = df["cin_cin_at31march"].isna().groupby(key).sum().astype("Int64")
    out["any_referral_nfa"] = df["cin_referral_nfa"].fillna(False).astype(bool).groupby(key).any().astype("boolean")
    ro, nfa = out["referral_only"].astype(bool), out["any_referral_nfa"].astype(bool)
    out["referral_check"] = pd.Categorical(
        np.select([ro & nfa, ro & ~nfa, ~ro & nfa], ["both", "flag_only", "nfa_only"], "neither"),
        categories=["both", "flag_only", "nfa_only", "neither"],
    )
    out["first_cin_year"] = g["academic_year_end"].min().astype("Int16")
    out["latest_cin_year"] = g["academic_year_end"].max().astype("Int16")
    need = df[df["cin_primary_need_code"].notna()].drop_duplicates("_key", keep="last").set_index("_key")
    out["latest_primary_need"] = pd.Categorical(
        need["cin_primary_need_code"].reindex(out.index), categories=codelists.codes("cin_primary_need")
    )
    out["only_weak_coverage_years"] = (out["latest_cin_year"] <= WEAK_CIN_COVERAGE_LAST_YEAR).astype("boolean")
    return _with_pupil_ids(out, pupils)


CPP_METHOD_A = ("all_three", "guide")


def derive_cpp_flags(cin: pd.DataFrame, cpp_method_a: str = "all_three", stats: dict | None = None) -> pd.DataFrame:
    """Method a: any category of abuse in any year: the category of abuse, initial and latest
    categories coalesced (`cpp_method_a="all_three"`), or the first two only, as the guide names
    them (`"guide"`). Method b: previous child protection plans summed over the pupil's years >= 1.
    `stats` gets the pupils who are CPP only through the latest category. One multi-threaded
    DuckDB GROUP BY over the rows; exactly `_derive_cpp_flags_pandas`'s table (tested)."""
    if cpp_method_a not in CPP_METHOD_A:
        raise ValueError(f"cpp_method_a must be one of {', '.join(CPP_METHOD_A)}, not {cpp_method_a!r}")
    cats = list(codelists.codes("cin_category_of_abuse"))
    # every delivered category code, in one list (the three columns' own categories, in order)
    values = list(
        dict.fromkeys(
            [
                *cats,
                *(
                    v
                    for c in ("cin_category_of_abuse", "cin_initial_category_of_abuse", "cin_latest_category_of_abuse")
                    for v in (
                        cin[c].cat.categories
                        if isinstance(cin[c].dtype, pd.CategoricalDtype)
                        else pd.unique(cin[c].dropna().astype(object))
                    )
                ),
            ]
        )
    )
    prev = cin["cin_number_of_previous_cpp"]
    res = _per_pupil_sql(
        cin,
        {
            "c1": _codes_of(cin["cin_category_of_abuse"], values),
            "c2": _codes_of(cin["cin_initial_category_of_abuse"], values),
            "c3": _codes_of(cin["cin_latest_category_of_abuse"], values),
            "prev": pa.array(prev.to_numpy(dtype="float64", na_value=np.nan), from_pandas=True).cast(pa.int64()),
        },
        f"""
        SELECT pid AS pupil_id,
               bool_or(guide IS NOT NULL) AS by_guide, bool_or(every IS NOT NULL) AS by_every,
               coalesce(sum(prev), 0) AS prev_total,
               arg_min({"every" if cpp_method_a == "all_three" else "guide"}, ord)
                   FILTER (WHERE {"every" if cpp_method_a == "all_three" else "guide"} IS NOT NULL) AS first_cat
        FROM (SELECT *, coalesce(nullif(c1, -1), nullif(c2, -1)) AS guide,
                        coalesce(nullif(c1, -1), nullif(c2, -1), nullif(c3, -1)) AS every FROM t)
        GROUP BY pid ORDER BY pid""",
    )
    if res is None:
        return _derive_cpp_flags_pandas(cin, cpp_method_a, stats)
    by_guide = res.column("by_guide").to_numpy(zero_copy_only=False).astype(bool)
    by_every = res.column("by_every").to_numpy(zero_copy_only=False).astype(bool)
    a = by_every if cpp_method_a == "all_three" else by_guide
    total = res.column("prev_total").to_numpy().astype(np.int64)
    b = total >= 1
    out = pd.DataFrame({"pupil_id": _pupil_ids(res)})
    out["cpp_method_a"] = pd.array(a, dtype="boolean")
    out["previous_cpp_total"] = pd.array(total, dtype="Int64")
    out["cpp_method_b"] = pd.array(b, dtype="boolean")
    if stats is not None:
        stats["cpp_only_through_latest_category"] = int((by_every & ~by_guide & ~b).sum())
    out["cpp"] = pd.array(a | b, dtype="boolean")
    out["method_agreement"] = pd.Categorical(
        np.select([a & b, a & ~b, ~a & b], ["both", "a_only", "b_only"], "neither"),
        categories=["both", "a_only", "b_only", "neither"],
    )
    first = res.column("first_cat").to_numpy(zero_copy_only=False)
    first = np.where(pd.isna(first), -1, np.nan_to_num(first.astype("float64"), nan=-1)).astype(np.int64)
    names = np.array([*values, None], dtype=object)
    out["first_category_of_abuse"] = pd.Categorical(names[first], categories=cats)
    out = out[
        [
            "pupil_id",
            "cpp_method_a",
            "previous_cpp_total",
            "cpp_method_b",
            "cpp",
            "method_agreement",
            "first_category_of_abuse",
        ]
    ]
    return out


def _derive_cpp_flags_pandas(
    cin: pd.DataFrame, cpp_method_a: str = "all_three", stats: dict | None = None
) -> pd.DataFrame:
    """Method a: any category of abuse in any year: the category of abuse, initial and latest
    categories coalesced (`cpp_method_a="all_three"`), or the first two only, as the guide names
    them (`"guide"`). Method b: previous child protection plans summed over the pupil's years >= 1.
    `stats` gets the pupils who are CPP only through the latest category."""
    if cpp_method_a not in CPP_METHOD_A:
        raise ValueError(f"cpp_method_a must be one of {', '.join(CPP_METHOD_A)}, not {cpp_method_a!r}")
    df, pupils = _by_pupil(cin)
    key = df["_key"]
    guide = df["cin_category_of_abuse"].astype("object").fillna(df["cin_initial_category_of_abuse"].astype("object"))
    every = guide.fillna(df["cin_latest_category_of_abuse"].astype("object"))
    cat = every if cpp_method_a == "all_three" else guide
    out = pd.DataFrame({"cpp_method_a": cat.notna().groupby(key, sort=True).any()})
    out["previous_cpp_total"] = df["cin_number_of_previous_cpp"].groupby(key, sort=True).sum().astype("Int64")
    out["cpp_method_b"] = out["previous_cpp_total"] >= 1
    if stats is not None:
        by_guide = guide.notna().groupby(key, sort=True).any()
        by_every = every.notna().groupby(key, sort=True).any()
        stats["cpp_only_through_latest_category"] = int(
            (by_every & ~by_guide & ~out["cpp_method_b"].fillna(False).astype(bool)).sum()
        )
    a, b = out["cpp_method_a"].astype(bool), out["cpp_method_b"].astype(bool)
    out["cpp"] = a | b
    out["method_agreement"] = pd.Categorical(
        np.select([a & b, a & ~b, ~a & b], ["both", "a_only", "b_only"], "neither"),
        categories=["both", "a_only", "b_only", "neither"],
    )
    first_cat = cat.dropna().groupby(key).first()
    out["first_category_of_abuse"] = pd.Categorical(
        first_cat.reindex(out.index), categories=codelists.codes("cin_category_of_abuse")
    )
    for c in ("cpp_method_a", "cpp_method_b", "cpp"):
        out[c] = out[c].astype("boolean")
    return _with_pupil_ids(out, pupils)


def tally(values: pd.Series, categories, what: str) -> pd.DataFrame:
    counts = values.value_counts().reindex(categories, fill_value=0)
    return pd.DataFrame({"table": what, "category": list(categories), "pupils": counts.to_numpy(dtype="int64")})


# ---------------------------------------------------------------------------------------------
# The ordered intervention factor


def _attach(df: pd.DataFrame, table: pd.DataFrame, rows: np.ndarray, columns: list[str]) -> None:
    """Left join of a per-pupil table onto the spine rows, given each table row's spine row (-1:
    not in the spine). Same result as `merge(how="left", validate="one_to_one")`."""
    placed = rows >= 0
    if len(df) and np.bincount(rows[placed], minlength=len(df)).max(initial=0) > 1:
        raise ValueError("per-pupil table has more than one row for a pupil")
    take = np.full(len(df), -1, dtype=np.int64)
    take[rows[placed]] = np.flatnonzero(placed)
    for c in columns:
        df[c] = pd.Series(pd.api.extensions.take(table[c]._values, take, allow_fill=True), index=df.index)


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame({"pupil_id": pd.Series([], dtype=pd.StringDtype("pyarrow"))})


def _text(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    a = arrowops.as_arrow(s)
    return a if a is not None else pa.array(s.astype(object).to_numpy(), type=pa.large_string(), from_pandas=True)


def _moj_links(moj: pa.Array | pa.ChunkedArray, no_pid: np.ndarray, spine_moj, reached: np.ndarray) -> tuple[int, int]:
    """Of a table's rows with no pupil reference: how many carry a MoJUID that some spine pupil
    has (rows linkable by MoJUID only), and how many distinct such MoJUIDs no spine pupil
    already reached by pupil reference (`reached`, per spine row) carries (what linking on
    MoJUID would add). Set logic on the few distinct MoJUIDs of those rows."""
    rows = np.flatnonzero(no_pid)
    small = moj.take(pa.array(rows)) if len(rows) else moj.slice(0, 0)
    small = pc.drop_null(small)
    if not len(small):
        return 0, 0
    distinct = pc.unique(small)
    distinct = distinct.combine_chunks() if isinstance(distinct, pa.ChunkedArray) else distinct
    spine_moj = spine_moj if spine_moj.type == distinct.type else spine_moj.cast(distinct.type)
    on_spine = np.asarray(pc.is_in(spine_moj, value_set=distinct).to_numpy(zero_copy_only=False), dtype=bool)
    found = pc.unique(spine_moj.filter(pa.array(on_spine)))  # their MoJUIDs that spine pupils have
    linked = pc.unique(spine_moj.filter(pa.array(on_spine & reached)))  # ... that reached spine pupils have
    link_rows = pc.is_in(small, value_set=_one(found, small.type))
    would_add = pc.unique(small.filter(link_rows))
    already = pc.is_in(would_add, value_set=_one(linked, small.type))
    return int(pc.sum(link_rows).as_py() or 0), int(len(would_add) - (pc.sum(already).as_py() or 0))


def _as_text(s: pd.Series) -> pd.Series:
    """A text or categorical column as Arrow-backed text: a categorical's few categories are
    taken by its codes (no 10M Python strings made on the way)."""
    if isinstance(s.dtype, pd.CategoricalDtype) and s.cat.categories.dtype == object:
        codes = s.cat.codes.to_numpy()
        values = pa.array(np.asarray(s.cat.categories, dtype=object), type=pa.large_string())
        return pd.Series(pd.arrays.ArrowStringArray(values.take(pa.array(codes, mask=codes < 0))), index=s.index)
    return pd.Series(pd.array(s.astype("object").to_numpy(), dtype=pd.StringDtype("pyarrow")), index=s.index)


def _one(a, type_) -> pa.Array:
    a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
    return a if a.type == type_ else a.cast(type_)


def derive_intervention(
    spine: pd.DataFrame,
    cin_sum: pd.DataFrame,
    cpp: pd.DataFrame,
    cla_sum: pd.DataFrame,
    cin: pd.DataFrame,
    cla: pd.DataFrame,
    cin_q: pd.DataFrame | None = None,
    cla_q: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict]:
    """The level per spine pupil and the linkage report.
    Every id column is hashed once into shared integer codes (`keys.encode`); joins and set
    logic are then integer array work, never Python sets or repeated string hashing.

    Membership of CLA (looked after) and of CIN (at least referral only) is every delivered row
    with a usable pupil reference: the clean rows (through the summaries) and the quarantined
    ones (`*_quarantine.pupil_id`); the details (CPP, in need, days in care) only from clean rows."""
    cin_q = _no_rows() if cin_q is None else cin_q
    cla_q = _no_rows() if cla_q is None else cla_q
    base = spine[["pupil_id", "moj_uid", "academic_year", "ks4_la", "ks4_gender", "ks4_fsm_ever6"]].rename(
        columns={"academic_year": "ks4_year", "ks4_la": "la", "ks4_gender": "sex", "ks4_fsm_ever6": "fsm"}
    )
    base["sex"] = _as_text(base["sex"])
    sp, c_sum, c_cpp, c_cla, c_cin, c_cla_rows, c_cin_q, c_cla_q = keys.encode(
        spine["pupil_id"],
        cin_sum["pupil_id"],
        cpp["pupil_id"],
        cla_sum["pupil_id"],
        cin["pupil_id"],
        cla["pupil_id"],
        cin_q["pupil_id"],
        cla_q["pupil_id"],
    )
    n = keys.n_keys(sp, c_sum, c_cpp, c_cla, c_cin, c_cla_rows, c_cin_q, c_cla_q)
    df = base.copy()
    _attach(
        df,
        cin_sum,
        keys.positions(c_sum, sp, n),
        ["years_in_need", "referral_only", "first_cin_year", "latest_cin_year"],
    )
    _attach(df, cpp, keys.positions(c_cpp, sp, n), ["cpp", "cpp_method_a", "cpp_method_b"])
    _attach(
        df,
        cla_sum,
        keys.positions(c_cla, sp, n),
        ["days_in_care", "episodes", "first_care_date", "academic_years_in_care"],
    )
    cla_q_only = keys.member(sp, c_cla_q[c_cla_q >= 0], n) & df["episodes"].isna().to_numpy(dtype=bool)
    cin_q_only = keys.member(sp, c_cin_q[c_cin_q >= 0], n) & df["years_in_need"].isna().to_numpy(dtype=bool)
    in_cin = df["years_in_need"].notna().to_numpy(dtype=bool) | cin_q_only
    in_cla = df["episodes"].notna().to_numpy(dtype=bool) | cla_q_only
    cpp_flag = df["cpp"].fillna(False).astype(bool)
    cin_flag = df["years_in_need"].fillna(0) > 0
    # the level's code (its position in LEVELS): no 10M-row array of level names to hash again
    code = np.select([in_cla, cpp_flag, cin_flag, in_cin], [4, 3, 2, 1], 0).astype(np.int8)
    df.insert(2, "level", pd.Categorical.from_codes(code, categories=list(LEVELS), ordered=True))
    df.insert(3, "in_cin_data", pd.array(in_cin, dtype="boolean"))
    df.insert(4, "in_cla_data", pd.array(in_cla, dtype="boolean"))
    # MoJUIDs matter only on rows with no pupil reference (few): the spine's 10M MoJUIDs are
    # probed against those few distinct values, never hashed into a dictionary of their own.
    spine_moj = _text(spine["moj_uid"])
    report = {}
    for name, t, pid in (("cin", cin, c_cin), ("cla", cla, c_cla_rows)):
        no_pid = pid < 0
        not_in_spine = ~no_pid & ~keys.member(pid, sp, n)
        # moj_uids of the spine pupils this table already reaches by pupil_id
        reached = keys.member(sp, pid[~no_pid], n)
        links, would_add = _moj_links(_text(t["moj_uid"]), no_pid, spine_moj, reached)
        report[name] = {
            "rows": int(len(t)),
            "rows_without_pupil_reference": int(no_pid.sum()),
            "rows_with_pupil_not_in_spine": int(not_in_spine.sum()),
            "pupils_not_in_spine": keys.n_distinct(pid[not_in_spine], n),
            "rows_linkable_by_moj_uid_only": links,
            "spine_pupils_moj_uid_would_add": would_add,
        }
    report["pupils_at_level_only_from_quarantined_rows"] = {
        "cla (looked_after)": int(cla_q_only.sum()),
        "cin (referral_only)": int((cin_q_only & ~in_cla & (code == 1)).sum()),
    }
    return df, report


# ---------------------------------------------------------------------------------------------
# Assets

ONE_PER_YEAR = (
    "**What the current release cannot show.** CLA_2006_to_2018 holds only the most recent episode "
    "of each child in each year. Earlier episodes of a year (and their placements, legal statuses and "
    "moves) are missing, so days in care, days per placement family and placement changes are lower "
    "bounds, and a change of care level inside a year can be missed, which the field guide warns may "
    "misclassify a child at a lower level. With the newer release (every episode) the same code gives "
    "complete figures."
)


CLA_EPISODES_DOC = (
    """One row per CLA care episode: start (`cla_date_epi_comm`), end (`cla_date_epi_ceased`) and
duration in days. An episode still open at the end of its last collection year has no ceased
date: it is censored at 31 March of that year and flagged `censored`. An episode delivered in
several yearly rows (open at a year end) is counted once, from its most recent row. Episodes
whose ceased date is before their start never reach this table: they are in `cla_quarantine`.
Rows with no pupil reference cannot be linked to a child and are counted in `intervention_level`.

"""
    + ONE_PER_YEAR
)


@table_asset(ClaEpisodes, group=GROUP, description=CLA_EPISODES_DOC)
def cla_episodes(cla_clean: pd.DataFrame, la_geography: LaGeography) -> Table:
    la, report = la_geography.apply(cla_clean["pupil_id"], cla_clean["academic_year_end"], cla_clean["cla_cla_la"])
    eps = derive_cla_episodes(cla_clean, la)
    return Table(
        eps,
        {
            "la_geography": dg.MetadataValue.json(report),
            "episodes": len(eps),
            "censored_episodes": int(eps["censored"].sum()),
            "cla_rows_without_pupil_reference": int(cla_clean["pupil_id"].isna().sum()),
            "median_duration_days": float(eps["duration_days"].median()) if len(eps) else 0.0,
        },
    )


CLA_SUMMARY_DOC = (
    """One row per looked-after pupil with a clean CLA row: first and last date of care (earliest
episode start; latest episode end, where an episode still open, with no ceased date delivered,
ends at 31 March of the last collection year it was delivered in: the same censoring as
`cla_episodes`), whether the pupil is in care at the end of the data (their latest episode has
no ceased date and was delivered in the extract's last collection year), total days in care
counting overlapping or repeated records once (an interval union, not a sum), number of academic
years with a CLA record, placement families ever had with days in each (foster,
kinship/connected, residential, placed with parents, adoption, independent living, other),
number of placement changes between consecutive episodes, legal statuses ever held (e.g. ever on
a care order) and the category of need of the first episode. A pupil whose every CLA row is
quarantined is not here but is still looked after in `intervention_level`.

"""
    + ONE_PER_YEAR
)


@table_asset(
    ClaPupilSummary,
    group=GROUP,
    description=CLA_SUMMARY_DOC,
    ins={"cla_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "academic_year_end"]})},
)
def cla_pupil_summary(cla_episodes: pd.DataFrame, cla_clean: pd.DataFrame) -> Table:
    summary = summarise_cla(cla_episodes, cla_clean)
    return Table(
        summary,
        {
            "pupils": len(summary),
            "median_days_in_care": float(summary["days_in_care"].median()) if len(summary) else 0.0,
        },
    )


REFERRAL_CHECKS = ["both", "flag_only", "nfa_only", "neither"]


def referral_agreement(t: dict[str, pd.DataFrame]) -> Outcome:
    """Counts of the two referral-only definitions' agreement (information; it always passes)."""
    summary = t["cin_pupil_summary"]
    agreement = tally(summary["referral_check"], REFERRAL_CHECKS, "referral_check")
    return Outcome(
        True,
        {
            **dict(zip(agreement["category"], agreement["pupils"].astype(int).tolist())),
            "referral_only_pupils": int(summary["referral_only"].sum()),
        },
    )


REFERRAL_AGREEMENT = Check(
    "referral_agreement",
    "Referral-only flag vs cin_referral_nfa (counts; warns, never blocks)",
    referral_agreement,
    blocking=False,
)


@table_multi_asset(
    {
        "cin_pupil_summary": Out(
            CinPupilSummary,
            (
                "One row per pupil in the CIN extract: years as a child in need (distinct years with "
                "`cin_cin_at31march` = 1, the guide's low-precision indicator), referral only (in the CIN "
                "extract but never in need on 31 March; missing flags count as not in need and are counted "
                "in `at31march_missing_rows`), its cross-check against `cin_referral_nfa` (`referral_check`), "
                "first and latest CIN year, the most recent primary need, and a flag when every CIN record "
                "falls in the weaker-coverage years 2008/09-2011/12."
            ),
            (REFERRAL_AGREEMENT,),
        ),
        "cin_referral_agreement": Out(
            TallyTable,
            (
                "Agreement of the two referral-only definitions, in pupils: both (never in need on 31 March "
                "and closed NFA), flag only (never in need, no NFA recorded), NFA only (NFA recorded but in "
                "need on a 31 March), neither."
            ),
        ),
    },
    group=GROUP,
    ins={
        "cin_clean": dg.AssetIn(
            metadata={
                "columns": [
                    "pupil_id",
                    "academic_year_end",
                    "cin_cin_at31march",
                    "cin_referral_nfa",
                    "cin_primary_need_code",
                ]
            }
        )
    },
)
def cin_summaries(cin_clean: pd.DataFrame) -> dict[str, Table]:
    summary = summarise_cin(cin_clean)
    agreement = tally(summary["referral_check"], REFERRAL_CHECKS, "referral_check")
    counts = dict(zip(agreement["category"], agreement["pupils"].astype(int).tolist()))
    return {
        "cin_pupil_summary": Table(
            summary, {"pupils": len(summary), "referral_only": int(summary["referral_only"].sum())}
        ),
        "cin_referral_agreement": Table(agreement, counts),
    }


CPP_DOC = (
    "Child protection plan flags per pupil in the CIN extract (clean rows), by the guide's two methods. "
    "Method a: the category-of-abuse items coalesced per record; any value in any year = CPP. The guide names "
    "two items (CIN_CategoryOfAbuse, and the initial category, cin_abuse_cat_first); by default "
    "(`cpp_method_a: all_three`, run config of this asset) the latest category (CIN_LatestCategoryOfAbuse) is "
    "coalesced too, because a latest category exists only for a child on a plan, and from 2012/13 it is the only "
    "category filled for plans whose initial category was left blank; `cpp_method_a: guide` uses the two items "
    "alone. The metadata counts the pupils who are CPP only through the latest category "
    "(`cpp_only_through_latest_category`), whatever the setting. Method b: number of previous child protection "
    "plans summed over the pupil's years; 1 or more = CPP. `cpp` is either. Method b alone misses a child whose "
    "only plan is their first (no previous plans); method a misses plans whose categories were not recorded."
)


class CppConfig(dg.Config):
    cpp_method_a: Literal["all_three", "guide"] = ConfigField(
        default="all_three",
        description="Which category-of-abuse items method a coalesces: 'all_three' (category of abuse, initial "
        "and latest category; default: a latest category is recorded only for a child on a plan, "
        "and is the only one filled for plans whose initial category was left blank in 2012/13 and "
        "later) or 'guide' (the two items the field guide names: category of abuse and initial category).",
    )


@table_multi_asset(
    {
        "cpp_flags": Out(CppFlags, CPP_DOC),
        "cpp_discrepancy": Out(TallyTable, "Pupils by CPP method agreement: both, a only, b only, neither."),
    },
    group=GROUP,
    ins={
        "cin_clean": dg.AssetIn(
            metadata={
                "columns": [
                    "pupil_id",
                    "academic_year_end",
                    "cin_category_of_abuse",
                    "cin_initial_category_of_abuse",
                    "cin_latest_category_of_abuse",
                    "cin_number_of_previous_cpp",
                ]
            }
        )
    },
)
def cpp_assets(config: CppConfig, cin_clean: pd.DataFrame) -> dict[str, Table]:
    stats: dict = {}
    flags = derive_cpp_flags(cin_clean, config.cpp_method_a, stats)
    disc = tally(flags["method_agreement"], ["both", "a_only", "b_only", "neither"], "cpp_method_agreement")
    counts = dict(zip(disc["category"], disc["pupils"].astype(int).tolist()))
    return {
        "cpp_flags": Table(
            flags, {**counts, "cpp_pupils": int(flags["cpp"].sum()), "cpp_method_a_items": config.cpp_method_a, **stats}
        ),
        "cpp_discrepancy": Table(disc, counts),
    }


def _memberships(t: dict[str, pd.DataFrame]) -> dict:
    """Per spine row of the level table: whether its pupil is in each summary (integer keys);
    worked out once for the checks that share it."""
    return shared(t, "memberships", lambda: _membership_arrays(t))


def _check_codes(t: dict[str, pd.DataFrame]) -> dict:
    """The pupil references the level checks compare, hashed once into shared integer codes (one
    pass over the level table's 10M ids instead of one per check): the level table's, the
    summaries' and quarantines', and the delivered CLA and CIN rows' (read again from the raw
    extracts and normalised as cleaning does)."""

    def compute():
        tokens = t["cleaning_rules"].tokens()
        names = ("levels", "cin_sum", "cpp", "cla_sum", "cin_q", "cla_q", "cla_delivered", "cin_delivered")
        codes = keys.encode(
            t["intervention_level"]["pupil_id"],
            t["cin_pupil_summary"]["pupil_id"],
            t["cpp_flags"]["pupil_id"],
            t["cla_pupil_summary"]["pupil_id"],
            t["cin_quarantine"]["pupil_id"],
            t["cla_quarantine"]["pupil_id"],
            delivered_pupils(t["cla_raw"], X.CLA, tokens),
            delivered_pupils(t["cin_raw"], X.CIN, tokens),
        )
        return {**dict(zip(names, codes)), "n": keys.n_keys(*codes)}

    return shared(t, "check_codes", compute)


def _membership_arrays(t: dict[str, pd.DataFrame]) -> dict:
    c = _check_codes(t)
    sp, c_sum, c_cpp, c_cla, c_cin_q, c_cla_q, n = (
        c[k] for k in ("levels", "cin_sum", "cpp", "cla_sum", "cin_q", "cla_q", "n")
    )
    cpp_true = t["cpp_flags"]["cpp"].fillna(False).to_numpy(dtype=bool)
    need = (t["cin_pupil_summary"]["years_in_need"] > 0).fillna(False).to_numpy(dtype=bool)
    first = keys.positions(sp, sp, n) == np.arange(len(sp))  # first row of each distinct pupil
    cla_codes = np.concatenate([c_cla, c_cla_q[c_cla_q >= 0]])  # clean or quarantined rows
    cin_codes = np.concatenate([c_sum, c_cin_q[c_cin_q >= 0]])
    return {
        "first": first,
        "cla": keys.member(sp, cla_codes, n),
        "cpp": keys.member(sp, c_cpp[cpp_true], n),
        "in_need": keys.member(sp, c_sum[need], n),
        "cin": keys.member(sp, cin_codes, n),
    }


def delivered_pupils(raw: pd.DataFrame, extract: X.Extract, tokens) -> pd.Series:
    """The normalised pupil references of every delivered row that could be read as a row,
    quarantined or not (missing where there is none): membership as delivered."""
    ids = normalise_identifier(raw[extract.field("pupil_id").delivered], tokens)
    return ids.where(raw[PROBLEM].isna().to_numpy(dtype=bool))


def _delivered_in(level: pd.DataFrame, delivered: pd.Series) -> np.ndarray:
    """Spine rows whose pupil is among `delivered` references."""
    sp, d = keys.encode(level["pupil_id"], delivered)
    return keys.member(sp, d[d >= 0], keys.n_keys(sp, d))


def _delivered_rows_in(t: dict[str, pd.DataFrame], which: str) -> np.ndarray:
    """`_delivered_in` for the level checks: spine rows whose pupil is among the delivered
    references of `which` (cla or cin), on the checks' shared codes."""
    c = _check_codes(t)
    d = c[f"{which}_delivered"]
    return keys.member(c["levels"], d[d >= 0], c["n"])


def every_spine_pupil_once(t: dict[str, pd.DataFrame]) -> Outcome:
    levels, spine = t["intervention_level"], t["spine_clean"]
    # distinct: every row is its pupil's first (on the shared codes, no second hashing of the ids)
    same = bool(
        len(levels) == len(spine)
        and _memberships(t)["first"].all()
        and levels["pupil_id"].array.equals(spine["pupil_id"].array)
    )
    return Outcome(same, {"spine_pupils": len(spine), "rows": len(levels)})


# Membership as delivered: the raw extracts' references, read again and normalised with the same
# function as cleaning, so a derivation bug or an over-eager quarantine fails these two checks.
def cla_pupils_at_cla_level(t: dict[str, pd.DataFrame]) -> Outcome:
    levels = t["intervention_level"]
    delivered = _delivered_rows_in(t, "cla")
    at = levels["level"][delivered]
    return Outcome(
        bool((at == LEVELS[4]).all()),
        {"cla_pupils_in_spine (as delivered)": int(delivered.sum()), "not_at_cla_level": int((at != LEVELS[4]).sum())},
    )


def cin_pupils_at_least_referral(t: dict[str, pd.DataFrame]) -> Outcome:
    levels = t["intervention_level"]
    delivered = _delivered_rows_in(t, "cin")
    at = levels["level"][delivered]
    return Outcome(
        bool((at > LEVELS[0]).all()),
        {
            "cin_pupils_in_spine (as delivered)": int(delivered.sum()),
            "below_referral_only": int((at == LEVELS[0]).sum()),
        },
    )


def levels_reconcile(t: dict[str, pd.DataFrame]) -> Outcome:
    """Level counts against those the summaries and quarantines imply, over distinct spine pupils
    (set algebra cla ⊃ cpp ⊃ in need ⊃ cin on integer codes)."""
    m, level = _memberships(t), t["intervention_level"]["level"]
    counts = {k: int(v) for k, v in level.value_counts().reindex(LEVELS, fill_value=0).items()}
    in_cla, in_cpp, in_need, in_cin = (m[k][m["first"]] for k in ("cla", "cpp", "in_need", "cin"))
    expected = {
        LEVELS[4]: int(in_cla.sum()),
        LEVELS[3]: int((in_cpp & ~in_cla).sum()),
        LEVELS[2]: int((in_need & ~in_cpp & ~in_cla).sum()),
        LEVELS[1]: int((in_cin & ~in_need & ~in_cpp & ~in_cla).sum()),
    }
    expected[LEVELS[0]] = int(m["first"].sum()) - sum(expected.values())
    return Outcome(
        counts == expected,
        {"levels": dg.MetadataValue.json(counts), "expected_from_summaries": dg.MetadataValue.json(expected)},
    )


LEVEL_CHECKS = (
    Check("every_spine_pupil_once", "Every spine pupil appears exactly once", every_spine_pupil_once),
    Check(
        "cla_pupils_at_cla_level",
        "Every spine pupil with a usable pupil reference on a delivered CLA row "
        "(read again from cla_raw, normalised as cleaning does, quarantined or not) is at the looked-after level",
        cla_pupils_at_cla_level,
    ),
    Check(
        "cin_pupils_at_least_referral",
        "Every spine pupil with a usable pupil reference on a delivered CIN row "
        "(read again from cin_raw, quarantined or not) is at least referral only",
        cin_pupils_at_least_referral,
    ),
    Check(
        "levels_reconcile",
        "Level counts reconcile with the CIN, CPP and CLA summaries and the quarantined rows' pupils",
        levels_reconcile,
    ),
)


def _raw_in(extract: X.Extract) -> dg.AssetIn:
    return dg.AssetIn(f"{extract.name}_raw", metadata={"columns": [extract.field("pupil_id").delivered, PROBLEM]})


@table_asset(
    InterventionLevel,
    group=GROUP,
    checks=LEVEL_CHECKS,
    # Only the columns used are read (see ParquetIOManager.load_input): of the row-level
    # tables, just the linkage keys.
    ins={
        "cin_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "moj_uid"]}),
        "cla_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "moj_uid"]}),
        "spine_clean": dg.AssetIn(
            metadata={
                "columns": [
                    "pupil_id",
                    "moj_uid",
                    "academic_year",
                    "academic_year_end",
                    "ks4_la",
                    "ks4_gender",
                    "ks4_fsm_ever6",
                ],
                "dictionary_columns": ["ks4_la"],
            }
        ),
        "cin_pupil_summary": dg.AssetIn(
            metadata={"columns": ["pupil_id", "years_in_need", "referral_only", "first_cin_year", "latest_cin_year"]}
        ),
        "cpp_flags": dg.AssetIn(metadata={"columns": ["pupil_id", "cpp", "cpp_method_a", "cpp_method_b"]}),
        "cla_pupil_summary": dg.AssetIn(
            metadata={"columns": ["pupil_id", "days_in_care", "episodes", "first_care_date", "academic_years_in_care"]}
        ),
        "cin_quarantine": dg.AssetIn(metadata={"columns": ["pupil_id"]}),
        "cla_quarantine": dg.AssetIn(metadata={"columns": ["pupil_id"]}),
        "cin_raw": _raw_in(X.CIN),
        "cla_raw": _raw_in(X.CLA),
    },
)
def intervention_level(
    spine_clean: pd.DataFrame,
    cin_pupil_summary: pd.DataFrame,
    cpp_flags: pd.DataFrame,
    cla_pupil_summary: pd.DataFrame,
    cin_clean: pd.DataFrame,
    cla_clean: pd.DataFrame,
    cin_quarantine: pd.DataFrame,
    cla_quarantine: pd.DataFrame,
    cin_raw: pd.DataFrame,
    cla_raw: pd.DataFrame,
    cleaning_rules: CleaningRules,  # raw and rules: for the checks
    la_geography: LaGeography,
) -> Table:
    """The ordered intervention factor, one row per spine pupil: no social care contact < referral
    only < child in need < child protection plan < child looked after. A pupil takes the highest
    level they ever reached (CLA beats CPP beats CIN beats referral only). The field guide codes
    every child in the CLA dataset as looked after, and every child in the CIN dataset as at least
    referral only: membership comes from every delivered row with a usable pupil reference, clean
    or quarantined (a child whose only CLA row has an unknown code is still looked after); the
    details (child protection plan, in need on 31 March, days in care) come from clean rows only.
    The metadata counts the pupils whose level rests only on quarantined rows
    (`pupils_at_level_only_from_quarantined_rows`). Pupils with no CIN or CLA record are "no social
    care contact" and their CIN/CLA-derived columns are missing, not zero. Linkage is on
    `pupil_id` (trimmed and upper-cased in every extract); CIN/CLA rows with no pupil reference,
    and pupils not in the spine, are counted in this asset's metadata, with what linking on
    `moj_uid` would add."""
    df, report = derive_intervention(
        spine_clean,
        cin_pupil_summary,
        cpp_flags,
        cla_pupil_summary,
        cin_clean,
        cla_clean,
        cin_quarantine,
        cla_quarantine,
    )
    df["la"], geo = la_geography.apply(spine_clean["pupil_id"], spine_clean["academic_year_end"], spine_clean["ks4_la"])
    counts = {k: int(v) for k, v in df["level"].value_counts().reindex(LEVELS, fill_value=0).items()}
    meta = {
        **{f"level: {k}": v for k, v in counts.items()},
        "pupils_at_level_only_from_quarantined_rows": dg.MetadataValue.json(
            report.pop("pupils_at_level_only_from_quarantined_rows")
        ),
        "linkage_cin": dg.MetadataValue.json(report["cin"]),
        "linkage_cla": dg.MetadataValue.json(report["cla"]),
        "la_geography": dg.MetadataValue.json(geo),
    }
    return Table(df, meta)


social_care_assets = [cla_episodes, cla_pupil_summary, cin_summaries, cpp_assets, intervention_level]

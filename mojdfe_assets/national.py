"""Comparison of the extract with England's published statistics.

The published figures are data, not code: `data/published_statistics.csv` holds one row per
figure (its value, year, tolerance, unit, source and how the extract's figure is made comparable;
items of `shared/reference/national-statistics.md` section 8). Each row names a *measure*, a pure
function here that computes the same figure from the cleaned and derived tables over the row's
years. The asset `national_comparison` sets the two side by side; `national_comparison_chart`
draws them. On the synthetic world this measures realism; on a real extract it is quality
assurance, so the check is a warning, never a blocker.

The extract covers a cohort spine (KS4 cohorts) and the social-care records of those and nearby
children, not all of England's children, so shares and ratios are compared directly and counts
are scaled explicitly (`count_scale`; every row's `comparability` says what was done). Nothing
here holds or reports pupil identifiers: only counts, shares and means.
"""


from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from . import arrowops as ops
from . import codelists, plots
from .checks import checked_output, schema_spec, table_schema
from .codelists import INTERVENTION_LEVELS as LEVELS
from .schemas import SEVERITY, NationalComparison

GROUP = "national"
PUBLISHED_CSV = Path(__file__).parent / "data" / "published_statistics.csv"
# The synthetic generator's national scale: a world of 10 million spine pupils has England's
# numbers of children looked after and in need (README, calibration). Counts of a smaller world
# are multiplied by NATIONAL_SCALE_PUPILS / spine pupils unless `count_scale` is given.
NATIONAL_SCALE_PUPILS = 10_000_000
SHARE_WITHIN_FOR_PASS = 0.90  # the check passes when at least 90% of computable figures are within tolerance
PUBLISHED_COLUMNS = ["figure_id", "target", "figure", "measure", "year", "year_from", "year_to", "value",
                     "tolerance", "tolerance_type", "unit", "source", "comparability"]

# Published placement groups at 31 March (DfE SFR tables) as sets of placement codes.
_PLACEMENT_GROUPS = codelists.groups("cla_placement")
PLACEMENT_SETS = {
    "foster": {c for c, g in _PLACEMENT_GROUPS.items() if g in ("foster", "kinship")},
    "secure_homes_hostels": {"K1", "K2", "K3", "H5"},
    "with_parents": {c for c, g in _PLACEMENT_GROUPS.items() if g == "with_parents"},
    "adoption": {c for c, g in _PLACEMENT_GROUPS.items() if g == "adoption"},
    "independent_living": {c for c, g in _PLACEMENT_GROUPS.items() if g == "independent_living"},
}


def load_published(path: Path | str = PUBLISHED_CSV) -> pd.DataFrame:
    """The published figures, one row each (see the module docstring)."""
    df = pd.read_csv(path, dtype={"target": str, "year": str})
    missing = [c for c in PUBLISHED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    return df[PUBLISHED_COLUMNS]


def _pct(num, den) -> float:
    return float(100.0 * num / den) if den else float("nan")


def _share(mask: np.ndarray, base: np.ndarray) -> tuple[float, int]:
    """Percentage of `base` rows where `mask` holds."""
    n = int(base.sum())
    return _pct(int((mask & base).sum()), n), n


def _end_year(label: pd.Series) -> pd.Series:
    """'2016/2017' -> 2017."""
    return pd.to_numeric(label.astype("string").str[-4:], errors="coerce").astype("Int64")


def _by_value(s: pd.Series, f, missing, dtype) -> np.ndarray:
    """`f` (vectorised over a Series) worked out once per distinct value of column `s`, not once per
    row, and taken back to the rows; `missing` where `s` is missing. A categorical column (read from
    Parquet's dictionary pages, see the `dictionary_columns` of the asset's inputs) gives its
    categories directly; any other column is factorized first."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, values = s.cat.codes.to_numpy(), s.cat.categories
    else:
        codes, values = pd.factorize(s)
    lookup = np.append(np.asarray(f(pd.Series(values)), dtype=dtype), np.array([missing], dtype=dtype))
    return lookup[codes]  # code -1 (missing) -> the trailing `missing`


_NO_YEAR = np.iinfo(np.int16).min  # below any year a label's last four characters can give


def _years(label: pd.Series) -> np.ndarray:
    """`_end_year` of each label as int16, `_NO_YEAR` where missing or not a year."""
    return _by_value(label, lambda v: _end_year(v).fillna(_NO_YEAR), _NO_YEAR, np.int16)


def _floats(s: pd.Series) -> np.ndarray:
    """A numeric column as float64, NaN where missing (comparisons with NaN are false)."""
    return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _flag(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A true/false column as (true, recorded) boolean arrays."""
    b = s.astype("boolean")
    return b.fillna(False).to_numpy(dtype=bool), b.notna().to_numpy(dtype=bool)


def _arrow_text(s: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow strings (no copy for Arrow-backed columns)."""
    arr = pa.array(s.astype(pd.StringDtype("pyarrow")).array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def _collection_year(dates: pd.Series) -> pd.Series:
    """End year of the collection year (1 April - 31 March) holding each date."""
    return (dates.dt.year + (dates.dt.month >= 4)).astype("Int64")


@dataclass
class Extract:
    """The tables the figures are computed from (cleaned and derived tables, as stored).

    Row attributes the measures share (years, flags, codes, positions) are numpy arrays worked out
    once per extract; a measure is then a few boolean operations on them."""

    cla: pd.DataFrame          # cla_clean
    cin: pd.DataFrame          # cin_clean
    outcomes: pd.DataFrame     # pupil_outcomes (level, sex, fsm, ks4_year, education and offending)
    spine: pd.DataFrame        # spine_clean (birth year/month, moj_uid)
    absence: pd.DataFrame      # absence_clean
    exclusions: pd.DataFrame   # exclusions_clean
    offending: pd.DataFrame    # offending_clean
    la_context: pd.DataFrame   # la_context_clean
    count_scale: float = 1.0

    # --- CLA -------------------------------------------------------------------------------
    @cached_property
    def cla_year(self) -> np.ndarray:
        return _floats(self.cla["academic_year_end"])

    @cached_property
    def cla_at31(self) -> np.ndarray:
        flag = self.cla["cla_cla_31_march"].astype("boolean")
        return flag.fillna(self.cla["cla_date_epi_ceased"].isna()).to_numpy(dtype=bool)

    @cached_property
    def cla_starter(self) -> np.ndarray:
        """Rows whose period of care began in the row's collection year."""
        return _floats(_collection_year(self.cla["cla_poc_start"])) == self.cla_year

    @cached_property
    def cla_ended(self) -> np.ndarray:
        """Rows whose episode ceased with care ending (reason other than X1)."""
        not_x1 = _by_value(self.cla["cla_rec"], lambda v: v.astype("string") != "X1", False, bool)
        return self.cla["cla_date_epi_ceased"].notna().to_numpy(dtype=bool) & not_x1

    def cla_years(self, yf: int, yt: int) -> np.ndarray:
        return (self.cla_year >= yf) & (self.cla_year <= yt)

    @cached_property
    def cla_care_days(self) -> pd.Series:
        return (self.cla["cla_date_epi_ceased"] - self.cla["cla_poc_start"]).dt.days

    # --- CIN -------------------------------------------------------------------------------
    @cached_property
    def cin_year(self) -> np.ndarray:
        return _floats(self.cin["academic_year_end"])

    @cached_property
    def cin_at31(self) -> np.ndarray:
        return self.cin["cin_cin_at31march"].astype("boolean").fillna(False).to_numpy(dtype=bool)

    @cached_property
    def cpp_category(self) -> pd.Series:
        """Initial category of abuse, else the older single category, else the latest (a categorical:
        chosen on category codes, no text per row)."""
        cols = [pd.Categorical(self.cin[c]) for c in ("cin_initial_category_of_abuse", "cin_category_of_abuse",
                                                      "cin_latest_category_of_abuse")]
        cats = cols[0].categories.union(cols[1].categories).union(cols[2].categories)
        initial, older, latest = (c.set_categories(cats).codes for c in cols)
        codes = np.where(initial >= 0, initial, np.where(older >= 0, older, latest))
        return pd.Series(pd.Categorical.from_codes(codes, cats), index=self.cin.index)

    @cached_property
    def cpp_at31(self) -> np.ndarray:
        return self.cin_at31 & self.cpp_category.notna().to_numpy(dtype=bool)

    def cin_years(self, yf: int, yt: int) -> np.ndarray:
        return (self.cin_year >= yf) & (self.cin_year <= yt)

    # --- spine and outcomes ------------------------------------------------------------------
    # Pupil attributes are numpy arrays aligned with the rows of `outcomes` (one row per spine
    # pupil); other tables find their pupils' rows in `positions` (Arrow hashing, no Python objects).

    @cached_property
    def positions(self) -> dict[str, np.ndarray]:
        """Row of `outcomes` holding the pupil of each row of the spine, CLA, CIN, absence and
        exclusion tables (-1 when not a spine pupil or missing).

        `outcomes` has one row per spine pupil, in spine order (`clean_spine` keeps one row per
        pupil id; `intervention_level` one row per spine row), so its ids are unique and a table
        whose ids equal them row by row (the spine; absence when delivered one row per spine pupil)
        needs no lookup. That equality is checked here (a cheap comparison), not assumed. The other
        tables' ids go through one Arrow lookup, so the hash table of the outcome ids is built once,
        not once per table."""
        pupils = _arrow_text(self.outcomes["pupil_id"])
        tables = {"spine": self.spine, "cla": self.cla, "cin": self.cin, "absence": self.absence,
                  "exclusions": self.exclusions}
        ids = {k: _arrow_text(t["pupil_id"]).cast(pupils.type) for k, t in tables.items()}
        out = {k: np.arange(len(a), dtype=np.int32) for k, a in ids.items()
               if a.null_count == 0 and a.equals(pupils)}
        rest = [k for k in ids if k not in out]
        if rest:
            chunks = pa.chunked_array([c for k in rest for c in ids[k].chunks], type=pupils.type)
            idx = ops.index_in(chunks, pupils).astype(np.int32)
            ends = np.cumsum([len(ids[k]) for k in rest])
            out.update(zip(rest, np.split(idx, ends[:-1])))
        return out

    def pupil_values(self, values: np.ndarray, pos: np.ndarray, missing=np.nan) -> np.ndarray:
        """`values` (aligned with outcomes rows) at positions `pos`; `missing` where pos is -1."""
        return np.where(pos >= 0, values[np.maximum(pos, 0)], missing)

    @cached_property
    def birth_month(self) -> np.ndarray:
        """Months since year 0 of each pupil's birth (month precision, from the spine), NaN if unknown."""
        s = self.spine
        months = (s["ks4_year_of_birth"].astype("Float64") * 12 + s["ks4_month_of_birth"].astype("Float64") - 1)
        pos = self.positions["spine"]
        out = np.full(len(self.outcomes), np.nan)
        ok = pos >= 0
        out[pos[ok]] = months.to_numpy(dtype=float, na_value=np.nan)[ok]
        return out

    @cached_property
    def male(self) -> np.ndarray:
        return _by_value(self.outcomes["sex"], lambda v: v.astype("string") == "M", False, bool)

    @cached_property
    def sex_known(self) -> np.ndarray:
        return _by_value(self.outcomes["sex"], lambda v: v.astype("string").isin(["M", "F"]), False, bool)

    @cached_property
    def la_code(self) -> pd.Categorical:
        return pd.Categorical(self.outcomes["la"])

    @cached_property
    def level_code(self) -> np.ndarray:
        """Ordered level as 0..4 (index into LEVELS), -1 if missing or unknown, one per outcomes row."""
        return _by_value(self.outcomes["level"], lambda v: pd.Categorical(v, categories=list(LEVELS)).codes, -1,
                         np.int8)

    @cached_property
    def disposal(self) -> np.ndarray:
        """Most severe disposal as an index into SEVERITY (len(SEVERITY) for any other text), -1 when
        the pupil has no linked offending record, one per outcomes row."""
        return _by_value(self.outcomes["most_severe_disposal"],
                         lambda v: [SEVERITY.index(d) if d in SEVERITY else len(SEVERITY) for d in v.astype("string")],
                         -1, np.int8)

    @cached_property
    def absence_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """KS4 year, sessions missed (authorised + unauthorised) and possible, per absence row."""
        a = self.absence
        missed = (a["ab_sessions_authorised"].astype("Float64").fillna(0)
                  + a["ab_sessions_unauthorised"].astype("Float64").fillna(0)).to_numpy(dtype=float)
        return _years(a["academic_year"]), missed, _floats(a["ab_sessions_possible"])

    @cached_property
    def cohort(self) -> np.ndarray:
        """KS4 year (end year) of each pupil, `_NO_YEAR` if unknown."""
        return _years(self.outcomes["ks4_year"])

    def cohorts(self, yf: int, yt: int) -> np.ndarray:
        return (self.cohort >= yf) & (self.cohort <= yt)

    def level_mask(self, group: str) -> np.ndarray:
        """A level name, 'min_<level>' (that level or higher), 'not_looked_after', or 'all'."""
        if group == "all":
            return np.ones(len(self.outcomes), dtype=bool)
        if group == "not_looked_after":
            return self.level_code != LEVELS.index("looked_after")
        if group.startswith("min_"):  # this level or higher
            return self.level_code >= LEVELS.index(group[4:])
        return self.level_code == LEVELS.index(group)

    def la_rates(self, counts: pd.Series) -> pd.Series:
        """Counts by LA code -> per 10,000 children (LA context population), every LA with a population."""
        la = self.la_context
        pop = pd.Series(la["child_population_0_17"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                        index=la["la_code"].astype(object))
        pop = pop[pop > 0]
        n = counts.reindex(pop.index).fillna(0).astype(float)
        return n / pop * 10_000


# ---------------------------------------------------------------------------------------------
# Measures: name -> f(extract, argument, year_from, year_to) -> (value, base). `base` is the
# number of rows or children the figure rests on (the denominator, or the count itself).

def cla_at_31_march(x: Extract, arg, yf, yt):
    n = int((x.cla_at31 & x.cla_years(yf, yt)).sum())
    return n / (yt - yf + 1) * x.count_scale, n


def cla_growth(x: Extract, arg, yf, yt):
    a, b = (int((x.cla_at31 & x.cla_years(y, y)).sum()) for y in (yf, yt))
    return (100.0 * (b / a - 1) if a else float("nan")), a


def cla_starts_ratio(x: Extract, arg, yf, yt):
    yrs = x.cla_years(yf, yt)
    den = int((x.cla_at31 & yrs).sum())
    return (int((x.cla_starter & yrs).sum()) / den if den else float("nan")), den


def cla_ceased_ratio(x: Extract, arg, yf, yt):
    yrs = x.cla_years(yf, yt)
    den = int((x.cla_at31 & yrs).sum())
    return (int((x.cla_ended & yrs).sum()) / den if den else float("nan")), den


def cla_during_ratio(x: Extract, arg, yf, yt):
    yrs = x.cla_years(yf, yt)
    den = int((x.cla_at31 & yrs).sum())
    return (int(yrs.sum()) / den if den else float("nan")), den


def cla_child_years(x: Extract, arg, yf, yt):
    n = int(x.cla_years(yf, yt).sum())
    return n * x.count_scale, n


def cla_male_share(x: Extract, arg, yf, yt):
    pos = x.positions["cla"][x.cla_at31 & x.cla_years(yf, yt)]
    known = x.pupil_values(x.sex_known, pos, False).astype(bool)
    male = x.pupil_values(x.male, pos, False).astype(bool)
    return _pct(int((male & known).sum()), int(known.sum())), int(known.sum())


def _code_share(codes: pd.Series, base: np.ndarray, wanted) -> tuple[float, int]:
    """Percentage of `base` rows with a code recorded whose code is in `wanted`."""
    codes = codes[base]
    wanted = {wanted} if isinstance(wanted, str) else set(wanted)
    hit = _by_value(codes, lambda v: v.astype("string").isin(wanted), False, bool)
    n = int(codes.notna().sum())
    return _pct(int(hit.sum()), n), n


def cla_need_31_march(x: Extract, code, yf, yt):
    return _code_share(x.cla["cla_cat_need"], x.cla_at31 & x.cla_years(yf, yt), code)


def cla_need_starters(x: Extract, code, yf, yt):
    return _code_share(x.cla["cla_cat_need"], x.cla_starter & x.cla_years(yf, yt), code)


def cla_placement_31_march(x: Extract, group, yf, yt):
    return _code_share(x.cla["cla_placement"], x.cla_at31 & x.cla_years(yf, yt), PLACEMENT_SETS[group])


def cla_legal_31_march(x: Extract, group, yf, yt):
    codes = {c for c, g in codelists.groups("cla_legal_status").items() if g == group}
    return _code_share(x.cla["cla_legal_status"], x.cla_at31 & x.cla_years(yf, yt), codes)


def cla_legal_start(x: Extract, code, yf, yt):
    comm = x.cla["cla_date_epi_comm"]
    first = (comm == x.cla["cla_poc_start"]).to_numpy(dtype=bool)
    new = _floats(_collection_year(comm)) == x.cla_year
    return _code_share(x.cla["cla_legal_status"], first & new & x.cla_years(yf, yt), code)


def cla_ceased_reason(x: Extract, group, yf, yt):
    codes = {c for c, g in codelists.groups("cla_reason_episode_ceased").items() if g == group}
    return _code_share(x.cla["cla_rec"], x.cla_ended & x.cla_years(yf, yt), codes)


def cla_ceased_duration_mean(x: Extract, arg, yf, yt):
    d = x.cla_care_days[x.cla_ended & x.cla_years(yf, yt)].dropna()
    return (float(d.mean()) if len(d) else float("nan")), len(d)


def cla_ceased_duration_under(x: Extract, days, yf, yt):
    d = x.cla_care_days[x.cla_ended & x.cla_years(yf, yt)].dropna()
    return _pct(int((d < int(days)).sum()), len(d)), len(d)


def cin_at_31_march(x: Extract, arg, yf, yt):
    n = int((x.cin_at31 & x.cin_years(yf, yt)).sum())
    return n / (yt - yf + 1) * x.count_scale, n


def cin_during_ratio(x: Extract, arg, yf, yt):
    yrs = x.cin_years(yf, yt)
    den = int((x.cin_at31 & yrs).sum())
    return (int(yrs.sum()) / den if den else float("nan")), den


def cpp_at_31_march(x: Extract, arg, yf, yt):
    n = int((x.cpp_at31 & x.cin_years(yf, yt)).sum())
    return n / (yt - yf + 1) * x.count_scale, n


def cpp_per_cin(x: Extract, arg, yf, yt):
    yrs = x.cin_years(yf, yt)
    return _share(x.cpp_at31, x.cin_at31 & yrs)


def cpp_category(x: Extract, code, yf, yt):
    return _code_share(x.cpp_category, x.cpp_at31 & x.cin_years(yf, yt), code)


def cin_need(x: Extract, code, yf, yt):
    return _code_share(x.cin["cin_primary_need_code"], x.cin_at31 & x.cin_years(yf, yt), code)


def cla_per_cin(x: Extract, arg, yf, yt):
    den = int((x.cin_at31 & x.cin_years(yf, yt)).sum())
    return _pct(int((x.cla_at31 & x.cla_years(yf, yt)).sum()), den), den


def spine_level_at_least(x: Extract, level, yf, yt):
    return _share(x.level_code >= LEVELS.index(level), x.cohorts(yf, yt))


def ks4_l2em(x: Extract, group, yf, yt):
    passed, known = _flag(x.outcomes["gcse_level2_em"])
    return _share(passed, x.cohorts(yf, yt) & x.level_mask(group) & known)


def att8(x: Extract, group, yf, yt):
    v = x.outcomes["attainment8"].astype("Float64")[x.cohorts(yf, yt) & x.level_mask(group)].dropna()
    return (float(v.mean()) if len(v) else float("nan")), len(v)


def absence_rate(x: Extract, group, yf, yt):
    pos = x.positions["absence"]
    year, missed, possible = x.absence_arrays
    keep = (year >= yf) & (year <= yt) & (pos >= 0)
    if group != "all":
        keep &= x.pupil_values(x.level_code, pos, -1) == LEVELS.index(group)
    return _pct(float(missed[keep].sum()), float(np.nansum(possible[keep]))), int(keep.sum())


def _exclusion_share(x: Extract, category: str, group: str, yf: int, yt: int):
    """Pupils with an exclusion of `category` in an academic year / spine pupils in secondary school
    that year (Years 7-11 = KS4 year - 4 .. KS4 year), pooled over academic years yf..yt."""
    mask = x.level_mask(group)
    pupil_years = sum(int((x.cohorts(y, y + 4) & mask).sum()) for y in range(yf, yt + 1))
    e = x.exclusions
    pos = x.positions["exclusions"]
    year = _floats(e["academic_year_end"])
    keep = (_by_value(e["exc_category"], lambda v: v.astype("string") == category, False, bool)
            & (year >= yf) & (year <= yt) & (pos >= 0))
    keep[keep] &= mask[pos[keep]]
    pupil, year = pos[keep], year[keep]
    cohort = x.cohort[pupil].astype(np.int32)  # _NO_YEAR: never in school
    in_school = (year >= cohort - 4) & (year <= cohort)
    # a pupil counts once per year however many exclusions
    n = len(pd.DataFrame({"pupil": pupil[in_school], "year": year[in_school]}).drop_duplicates())
    return _pct(n, pupil_years), pupil_years


def perm_exclusion(x: Extract, group, yf, yt):
    return _exclusion_share(x, "PERM", group, yf, yt)


def fixed_exclusion(x: Extract, group, yf, yt):
    return _exclusion_share(x, "FIXD", group, yf, yt)


def fsm(x: Extract, group, yf, yt):
    eligible, known = _flag(x.outcomes["fsm"])
    return _share(eligible, x.cohorts(yf, yt) & x.level_mask(group) & known)


def cla_offending_in_year(x: Extract, arg, yf, yt):
    c = x.cla
    twelve = c["cla_cla_12_months"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    rows = x.cla_at31 & twelve & x.cla_years(yf, yt) & c["moj_uid"].notna().to_numpy(dtype=bool)
    birth = x.pupil_values(x.birth_month, x.positions["cla"][rows])
    year = x.cla_year[rows]
    age = np.floor(((year * 12 + 2) - birth) / 12)  # completed years on 31 March (month precision)
    keep = (age >= 10) & (age <= 17)
    base = pd.DataFrame({"moj_uid": c.loc[rows, "moj_uid"], "year": year})[keep]
    base = base.drop_duplicates()
    o = x.offending
    # only these children's disposals matter (an Arrow set lookup: no Python string per id)
    o = o[ops.isin(o["moj_uid"], base["moj_uid"]).to_numpy()]
    off = pd.DataFrame({"moj_uid": o["moj_uid"],
                        "year": _floats(_collection_year(o["pnc_disposal_date"]))}).dropna().drop_duplicates()
    hit = base.merge(off, on=["moj_uid", "year"], how="left", indicator=True)["_merge"] == "both"
    return _pct(int(hit.sum()), len(base)), len(base)


def _disposal(x: Extract, yf: int, yt: int):
    """Each pupil's most severe disposal (index into SEVERITY) and the base: the cohorts' pupils
    with a linked offending record."""
    return x.disposal, x.cohorts(yf, yt) & (x.disposal >= 0)


def offending_any(x: Extract, group, yf, yt):
    d, base = _disposal(x, yf, yt)
    return _share(d != SEVERITY.index("none"), base & x.level_mask(group))


def custody(x: Extract, group, yf, yt):
    d, base = _disposal(x, yf, yt)
    return _share(d == SEVERITY.index("custodial"), base & x.level_mask(group))


def noncustodial_or_caution(x: Extract, group, yf, yt):
    d, base = _disposal(x, yf, yt)
    return _share((d == SEVERITY.index("caution")) | (d == SEVERITY.index("non_custodial")),
                  base & x.level_mask(group))


def custody_share_level(x: Extract, level, yf, yt):
    d, base = _disposal(x, yf, yt)
    return _share(x.level_code >= LEVELS.index(level), base & (d == SEVERITY.index("custodial")))


def _youth_sanctioned(x: Extract, yf: int, yt: int):
    linked = (x.disposal >= 0) & x.cohorts(yf, yt)
    first = x.outcomes["first_cj_contact_date"]
    first_month = (first.dt.year * 12 + first.dt.month - 1).astype(float).to_numpy()
    youth = ((first_month - x.birth_month) < 18 * 12) & first.notna().to_numpy(dtype=bool)
    return youth, linked


def youth_sanction_share(x: Extract, arg, yf, yt):
    youth, linked = _youth_sanctioned(x, yf, yt)
    return _share(youth, linked)


def youth_sanction_male(x: Extract, arg, yf, yt):
    youth, linked = _youth_sanctioned(x, yf, yt)
    return _share(x.male, youth & linked & x.sex_known)


def la_count(x: Extract, arg, yf, yt):
    la = x.cla.loc[x.cla_years(yf, yt), "cla_cla_la"].dropna()
    return float(la.nunique()), len(la)


def _cla_la_rates(x: Extract, yf: int, yt: int) -> pd.Series:
    rows = x.cla_at31 & x.cla_years(yf, yt)
    counts = x.cla.loc[rows, "cla_cla_la"].value_counts() / (yt - yf + 1)
    return x.la_rates(counts * x.count_scale)


def la_cla_rate(x: Extract, q, yf, yt):
    r = _cla_la_rates(x, yf, yt)
    return float(r.quantile(float(q))), len(r)


def la_cla_rate_ratio(x: Extract, q, yf, yt):
    r = _cla_la_rates(x, yf, yt)
    med = r.median()
    return (float(r.quantile(float(q)) / med) if med else float("nan")), len(r)


def la_cin_rate_ratio(x: Extract, q, yf, yt):
    pos = x.positions["cin"][x.cin_at31 & x.cin_years(yf, yt)]
    codes = x.pupil_values(x.la_code.codes, pos, -1)
    n = np.bincount(codes[codes >= 0], minlength=len(x.la_code.categories))
    r = x.la_rates(pd.Series(n, index=x.la_code.categories.astype(str)))
    med = r.median()
    return (float(r.quantile(float(q)) / med) if med else float("nan")), len(r)


def idaci(x: Extract, stat, yf, yt):
    s = x.la_context["idaci_average_score"].astype("Float64").dropna().astype(float)
    return (float(getattr(s, stat)()) if len(s) else float("nan")), len(s)


MEASURES = {f.__name__: f for f in (
    cla_at_31_march, cla_growth, cla_starts_ratio, cla_ceased_ratio, cla_during_ratio, cla_child_years,
    cla_male_share, cla_need_31_march, cla_need_starters, cla_placement_31_march, cla_legal_31_march,
    cla_legal_start, cla_ceased_reason, cla_ceased_duration_mean, cla_ceased_duration_under, cin_at_31_march,
    cin_during_ratio, cpp_at_31_march, cpp_per_cin, cpp_category, cin_need, cla_per_cin, spine_level_at_least,
    ks4_l2em, att8, absence_rate, perm_exclusion, fixed_exclusion, fsm, cla_offending_in_year, offending_any,
    custody, noncustodial_or_caution, custody_share_level, youth_sanction_share, youth_sanction_male, la_count,
    la_cla_rate, la_cla_rate_ratio, la_cin_rate_ratio, idaci)}


def compute(x: Extract, measure: str, year_from: int, year_to: int) -> tuple[float, int]:
    """One figure from the extract: `measure` is 'name' or 'name:argument' (a MEASURES key)."""
    name, _, arg = measure.partition(":")
    if name not in MEASURES:
        raise KeyError(f"unknown measure {name!r} in the published figures")
    value, base = MEASURES[name](x, arg or None, int(year_from), int(year_to))
    return float(value), int(base)


def compare(x: Extract, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every published figure beside the extract's: tolerance band, difference, within or not."""
    pub = load_published() if published is None else published
    values = [compute(x, r.measure, r.year_from, r.year_to) for r in pub.itertuples()]
    extract = pd.Series([v for v, _ in values], dtype="float64")
    base = pd.Series([b for _, b in values], dtype="Int64")
    value = pub["value"].astype(float).reset_index(drop=True)
    tol = pub["tolerance"].astype(float).reset_index(drop=True)
    rel = (pub["tolerance_type"].reset_index(drop=True) == "relative")
    half = np.where(rel, value.abs() * tol, tol)
    finite = np.isfinite(extract.to_numpy()) & (base.fillna(0).to_numpy() > 0)
    within = pd.array(np.where(finite, (extract >= value - half - 1e-9) & (extract <= value + half + 1e-9), False),
                      dtype="boolean")
    within[~finite] = pd.NA
    out = pd.DataFrame({
        "figure_id": pub["figure_id"].astype("string").reset_index(drop=True),
        "target": pub["target"].astype("string").reset_index(drop=True),
        "figure": pub["figure"].astype("string").reset_index(drop=True),
        "year": pub["year"].astype("string").reset_index(drop=True),
        "unit": pub["unit"].astype("string").reset_index(drop=True),
        "published": value,
        "tolerance": tol,
        "tolerance_type": pd.Categorical(pub["tolerance_type"].reset_index(drop=True),
                                         categories=["absolute", "relative"]),
        "low": value - half,
        "high": value + half,
        "extract_value": extract.where(finite).astype("Float64"),
        "difference": (extract - value).where(finite).astype("Float64"),
        "within_tolerance": within,
        "status": pd.Categorical(np.where(~finite, "not_computable", np.where(within.fillna(False), "within",
                                                                                "outside")),
                                 categories=["within", "outside", "not_computable"]),
        "base": base,
        "source": pub["source"].astype("string").reset_index(drop=True),
        "comparability": pub["comparability"].astype("string").reset_index(drop=True),
    })
    for c in ("figure_id", "target", "figure", "year", "unit", "source", "comparability"):
        out[c] = out[c].astype(pd.StringDtype("pyarrow"))
    return out


def summary(table: pd.DataFrame) -> dict:
    computed = table["status"] != "not_computable"
    within = int((table["status"] == "within").sum())
    return {"figures": len(table), "compared": int(computed.sum()), "within_tolerance": within,
            "share_within": round(within / int(computed.sum()), 4) if computed.any() else 0.0,
            "outside": table.loc[table["status"] == "outside", "figure_id"].astype(str).tolist(),
            "not_computable": table.loc[~computed, "figure_id"].astype(str).tolist()}


def draw(table: pd.DataFrame) -> bytes:
    """Each figure's distance from the published value in tolerance units (0 = published value,
    ±1 = edge of the tolerance band), so counts, shares and ratios share one axis."""
    t = table.iloc[::-1].reset_index(drop=True)
    half = (t["high"] - t["low"]) / 2
    z = ((t["extract_value"].astype(float) - t["published"]) / half.where(half > 0)).clip(-4, 4)
    fig, axes = plots.figure(10.0, max(4.0, 0.17 * len(t) + 1.2))
    ax = axes[0][0]
    ax.axvspan(-1, 1, color="#d9ead3", zorder=0, label="within tolerance")
    ax.axvline(0, color="#555555", lw=0.8)
    colour = np.where(t["status"].astype(str) == "within", "#2b7a3d", "#c0392b")
    y = np.arange(len(t))
    ax.scatter(z.fillna(0), y, c=colour, s=14, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{i} ({tg})" for i, tg in zip(t["figure_id"], t["target"])], fontsize=6)
    ax.set_xlim(-4.2, 4.2)
    ax.set_ylim(-1, len(t))
    ax.set_xlabel("(extract − published) / tolerance   (clipped at ±4; red = outside tolerance)")
    s = summary(table)
    ax.set_title(f"Extract vs England's published statistics: {s['within_tolerance']} of {s['compared']} "
                 f"figures within tolerance", fontsize=10)
    return plots.render(fig)


# ---------------------------------------------------------------------------------------------
# Assets


class NationalComparisonConfig(dg.Config):
    count_scale: float | None = None  # None: NATIONAL_SCALE_PUPILS / spine pupils (the synthetic default)


@dg.asset(
    group_name=GROUP, kinds={"pandas", "parquet"},
    check_specs=[schema_spec("national_comparison", NationalComparison),
                 dg.AssetCheckSpec("within_published_tolerance", asset="national_comparison", blocking=False,
                                   description=f"At least {SHARE_WITHIN_FOR_PASS:.0%} of the computable figures are "
                                               "within the published tolerance (a warning, never a blocker)")],
    metadata={"dagster/column_schema": table_schema(NationalComparison)},
    # Only the columns the figures use are read from storage, and low-cardinality text as categoricals
    # from Parquet's dictionary pages (see ParquetIOManager.load_input; `_by_value` takes either form).
    ins={"cla_clean": dg.AssetIn(metadata={"columns": [
             "moj_uid", "pupil_id", "academic_year_end", "cla_cla_la", "cla_poc_start", "cla_cat_need", "cla_date_epi_comm",
             "cla_date_epi_ceased", "cla_legal_status", "cla_placement", "cla_rec", "cla_cla_31_march",
             "cla_cla_12_months"], "dictionary_columns": ["cla_cla_la"]}),
         "cin_clean": dg.AssetIn(metadata={"columns": [
             "pupil_id", "academic_year_end", "cin_cin_at31march", "cin_category_of_abuse", "cin_initial_category_of_abuse",
             "cin_latest_category_of_abuse", "cin_primary_need_code"]}),
         "pupil_outcomes": dg.AssetIn(metadata={"columns": [
             "pupil_id", "level", "sex", "fsm", "ks4_year", "la", "gcse_level2_em", "attainment8",
             "most_severe_disposal", "first_cj_contact_date"], "dictionary_columns": ["sex", "ks4_year", "la"]}),
         "spine_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "ks4_year_of_birth", "ks4_month_of_birth"]}),
         "absence_clean": dg.AssetIn(metadata={"columns": [
             "pupil_id", "academic_year", "ab_sessions_possible", "ab_sessions_unauthorised",
             "ab_sessions_authorised"], "dictionary_columns": ["academic_year"]}),
         "exclusions_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "academic_year_end", "exc_category"]}),
         "offending_clean": dg.AssetIn(metadata={"columns": ["moj_uid", "pnc_disposal_date"]})})
def national_comparison(config: NationalComparisonConfig, cla_clean: pd.DataFrame, cin_clean: pd.DataFrame,
                        pupil_outcomes: pd.DataFrame, spine_clean: pd.DataFrame, absence_clean: pd.DataFrame,
                        exclusions_clean: pd.DataFrame, offending_clean: pd.DataFrame,
                        la_context_clean: pd.DataFrame):
    """How the extract compares with England's published statistics, one row per figure: the
    published value (DfE, ONS and research sources; year, source and link in each row), the same
    figure computed from this extract, the tolerance band, and whether the extract falls within it.

    Read it as a quality check on a real extract (do counts, placement and legal-status mixes,
    category of need, child protection plans, education and offending gaps look like England's?),
    and as a realism check on the synthetic world. The published figures live in
    `mojdfe_assets/data/published_statistics.csv`: add or correct a figure there, not in code.

    The extract is not all of England's children: it is a spine of KS4 cohorts plus the social-care
    records of those and nearby children. Shares and ratios are compared directly; counts are
    multiplied by `count_scale` (by default 10,000,000 ÷ spine pupils, the synthetic generator's
    national scale; set it in the run config for a real extract, e.g. 1 if the CLA and CIN extracts
    hold every matched child). The `comparability` column says, for each figure, how the extract's
    figure is made comparable and what still differs (ages covered, 'ever' within the windows
    rather than before 18, one record per child per year). A figure outside tolerance is a prompt to
    look, not an error; the check `within_published_tolerance` warns when fewer than 90% are within."""
    spine_pupils = len(spine_clean)
    scale = config.count_scale if config.count_scale is not None else (
        NATIONAL_SCALE_PUPILS / spine_pupils if spine_pupils else 1.0)
    x = Extract(cla=cla_clean, cin=cin_clean, outcomes=pupil_outcomes, spine=spine_clean, absence=absence_clean,
                exclusions=exclusions_clean, offending=offending_clean, la_context=la_context_clean,
                count_scale=scale)
    table = compare(x)
    s = summary(table)
    meta = {"figures_within_tolerance": s["within_tolerance"], "figures_compared": s["compared"],
            "summary": f"{s['within_tolerance']} of {s['compared']} figures within tolerance",
            "share_within": dg.MetadataValue.float(float(s["share_within"])),
            "outside_tolerance": dg.MetadataValue.json(s["outside"]),
            "not_computable": dg.MetadataValue.json(s["not_computable"]),
            "count_scale": dg.MetadataValue.float(float(scale))}
    check = dg.AssetCheckResult(
        asset_key="national_comparison", check_name="within_published_tolerance",
        passed=bool(s["compared"]) and s["share_within"] >= SHARE_WITHIN_FOR_PASS,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"within": s["within_tolerance"], "compared": s["compared"],
                  "outside_tolerance": dg.MetadataValue.json(s["outside"])})
    yield from checked_output(table, NationalComparison, "national_comparison", meta, extra_checks=[check])


@dg.asset(group_name=GROUP, kinds={"matplotlib", "png"})
def national_comparison_chart(context: dg.AssetExecutionContext, national_comparison: pd.DataFrame) -> bytes:
    """Chart of `national_comparison`: for every published figure, how far the extract's value lies
    from the published one, in units of the figure's tolerance (0 = the published value; the green
    band, ±1, is the tolerance). Red points are outside tolerance; the title counts those within.
    Stored as `national_comparison_chart.png` and shown here."""
    png = draw(national_comparison)
    context.add_output_metadata(plots.image_metadata(png, "Extract vs published statistics"))
    return png


national_assets = [national_comparison, national_comparison_chart]

"""Measures: each published figure's computation from the extract.

A measure is `f(tables, argument, year_from, year_to) -> (value, base)`, registered under its name
with `@measure`; a row of `published_statistics.csv` names it as `name` or `name:argument`.
`base` is the number of rows or children the figure rests on (the denominator, or the count).
"""

import numpy as np
import pandas as pd

from .. import arrowops, codelists, years
from ..codelists import INTERVENTION_LEVELS as LEVELS
from ..schemas import SEVERITY
from .tables import ComparisonTables, by_value, flags, floats, pct, share

MEASURES: dict = {}


def measure(fn):
    """Register a measure under its function name."""
    MEASURES[fn.__name__] = fn
    return fn


# Published placement groups at 31 March (DfE SFR tables) as sets of placement codes.
_PLACEMENT_GROUPS = codelists.groups("cla_placement")
PLACEMENT_SETS = {
    "foster": {c for c, g in _PLACEMENT_GROUPS.items() if g in ("foster", "kinship")},
    "secure_homes_hostels": {"K1", "K2", "K3", "H5"},
    "with_parents": {c for c, g in _PLACEMENT_GROUPS.items() if g == "with_parents"},
    "adoption": {c for c, g in _PLACEMENT_GROUPS.items() if g == "adoption"},
    "independent_living": {c for c, g in _PLACEMENT_GROUPS.items() if g == "independent_living"},
}


@measure
def cla_at_31_march(x: ComparisonTables, arg, yf, yt):
    n = int((x.cla_at31 & x.cla_years(yf, yt)).sum())
    return n / (yt - yf + 1) * x.count_scale, n


@measure
def cla_growth(x: ComparisonTables, arg, yf, yt):
    a, b = (int((x.cla_at31 & x.cla_years(y, y)).sum()) for y in (yf, yt))
    return (100.0 * (b / a - 1) if a else float("nan")), a


@measure
def cla_starts_ratio(x: ComparisonTables, arg, yf, yt):
    yrs = x.cla_years(yf, yt)
    den = int((x.cla_at31 & yrs).sum())
    return (int((x.cla_starter & yrs).sum()) / den if den else float("nan")), den


@measure
def cla_ceased_ratio(x: ComparisonTables, arg, yf, yt):
    yrs = x.cla_years(yf, yt)
    den = int((x.cla_at31 & yrs).sum())
    return (int((x.cla_ended & yrs).sum()) / den if den else float("nan")), den


@measure
def cla_during_ratio(x: ComparisonTables, arg, yf, yt):
    yrs = x.cla_years(yf, yt)
    den = int((x.cla_at31 & yrs).sum())
    return (int(yrs.sum()) / den if den else float("nan")), den


@measure
def cla_child_years(x: ComparisonTables, arg, yf, yt):
    n = int(x.cla_years(yf, yt).sum())
    return n * x.count_scale, n


@measure
def cla_male_share(x: ComparisonTables, arg, yf, yt):
    pos = x.positions["cla"][x.cla_at31 & x.cla_years(yf, yt)]
    known = x.pupil_values(x.sex_known, pos, False).astype(bool)
    male = x.pupil_values(x.male, pos, False).astype(bool)
    return pct(int((male & known).sum()), int(known.sum())), int(known.sum())


def _code_share(codes: pd.Series, base: np.ndarray, wanted) -> tuple[float, int]:
    """Percentage of `base` rows with a code recorded whose code is in `wanted`."""
    codes = codes[base]
    wanted = {wanted} if isinstance(wanted, str) else set(wanted)
    hit = by_value(codes, lambda v: v.astype("string").isin(wanted), False, bool)
    n = int(codes.notna().sum())
    return pct(int(hit.sum()), n), n


@measure
def cla_need_31_march(x: ComparisonTables, code, yf, yt):
    return _code_share(x.cla["cla_cat_need"], x.cla_at31 & x.cla_years(yf, yt), code)


@measure
def cla_need_starters(x: ComparisonTables, code, yf, yt):
    return _code_share(x.cla["cla_cat_need"], x.cla_starter & x.cla_years(yf, yt), code)


@measure
def cla_placement_31_march(x: ComparisonTables, group, yf, yt):
    return _code_share(x.cla["cla_placement"], x.cla_at31 & x.cla_years(yf, yt), PLACEMENT_SETS[group])


@measure
def cla_legal_31_march(x: ComparisonTables, group, yf, yt):
    codes = {c for c, g in codelists.groups("cla_legal_status").items() if g == group}
    return _code_share(x.cla["cla_legal_status"], x.cla_at31 & x.cla_years(yf, yt), codes)


@measure
def cla_legal_start(x: ComparisonTables, code, yf, yt):
    comm = x.cla["cla_date_epi_comm"]
    first = (comm == x.cla["cla_poc_start"]).to_numpy(dtype=bool)
    new = floats(years.collection_year(comm)) == x.cla_year
    return _code_share(x.cla["cla_legal_status"], first & new & x.cla_years(yf, yt), code)


@measure
def cla_ceased_reason(x: ComparisonTables, group, yf, yt):
    codes = {c for c, g in codelists.groups("cla_reason_episode_ceased").items() if g == group}
    return _code_share(x.cla["cla_rec"], x.cla_ended & x.cla_years(yf, yt), codes)


@measure
def cla_ceased_duration_mean(x: ComparisonTables, arg, yf, yt):
    d = x.cla_care_days[x.cla_ended & x.cla_years(yf, yt)].dropna()
    return (float(d.mean()) if len(d) else float("nan")), len(d)


@measure
def cla_ceased_duration_under(x: ComparisonTables, days, yf, yt):
    d = x.cla_care_days[x.cla_ended & x.cla_years(yf, yt)].dropna()
    return pct(int((d < int(days)).sum()), len(d)), len(d)


@measure
def cin_at_31_march(x: ComparisonTables, arg, yf, yt):
    n = int((x.cin_at31 & x.cin_years(yf, yt)).sum())
    return n / (yt - yf + 1) * x.count_scale, n


@measure
def cin_during_ratio(x: ComparisonTables, arg, yf, yt):
    yrs = x.cin_years(yf, yt)
    den = int((x.cin_at31 & yrs).sum())
    return (int(yrs.sum()) / den if den else float("nan")), den


@measure
def cpp_at_31_march(x: ComparisonTables, arg, yf, yt):
    n = int((x.cpp_at31 & x.cin_years(yf, yt)).sum())
    return n / (yt - yf + 1) * x.count_scale, n


@measure
def cpp_per_cin(x: ComparisonTables, arg, yf, yt):
    yrs = x.cin_years(yf, yt)
    return share(x.cpp_at31, x.cin_at31 & yrs)


@measure
def cpp_category(x: ComparisonTables, code, yf, yt):
    return _code_share(x.cpp_category, x.cpp_at31 & x.cin_years(yf, yt), code)


@measure
def cin_need(x: ComparisonTables, code, yf, yt):
    return _code_share(x.cin["cin_primary_need_code"], x.cin_at31 & x.cin_years(yf, yt), code)


@measure
def cla_per_cin(x: ComparisonTables, arg, yf, yt):
    den = int((x.cin_at31 & x.cin_years(yf, yt)).sum())
    return pct(int((x.cla_at31 & x.cla_years(yf, yt)).sum()), den), den


@measure
def spine_level_at_least(x: ComparisonTables, level, yf, yt):
    return share(x.level_code >= LEVELS.index(level), x.cohorts(yf, yt))


@measure
def ks4_l2em(x: ComparisonTables, group, yf, yt):
    passed, known = flags(x.outcomes["gcse_level2_em"])
    return share(passed, x.cohorts(yf, yt) & x.level_mask(group) & known)


@measure
def att8(x: ComparisonTables, group, yf, yt):
    v = x.attainment8[x.cohorts(yf, yt) & x.level_mask(group)].dropna()
    return (float(v.mean()) if len(v) else float("nan")), len(v)


@measure
def absence_rate(x: ComparisonTables, group, yf, yt):
    pos = x.positions["absence"]
    year, missed, possible = x.absence_arrays
    keep = (year >= yf) & (year <= yt) & (pos >= 0)
    if group != "all":
        keep &= x.absence_level == LEVELS.index(group)
    return pct(float(missed[keep].sum()), float(np.nansum(possible[keep]))), int(keep.sum())


def _exclusion_share(x: ComparisonTables, category: str, group: str, yf: int, yt: int):
    """Pupils with an exclusion of `category` in an academic year / spine pupils in secondary school
    that year (Years 7-11 = KS4 year - 4 .. KS4 year), pooled over academic years yf..yt."""
    mask = x.level_mask(group)
    pupil_years = sum(int((x.cohorts(y, y + 4) & mask).sum()) for y in range(yf, yt + 1))
    e = x.exclusions
    pos = x.positions["exclusions"]
    year = floats(e["academic_year_end"])
    keep = (
        by_value(e["exc_category"], lambda v: v.astype("string") == category, False, bool)
        & (year >= yf)
        & (year <= yt)
        & (pos >= 0)
    )
    keep[keep] &= mask[pos[keep]]
    pupil, year = pos[keep], year[keep]
    cohort = x.cohort[pupil].astype(np.int32)  # _NO_YEAR: never in school
    in_school = (year >= cohort - 4) & (year <= cohort)
    # a pupil counts once per year however many exclusions
    n = len(pd.DataFrame({"pupil": pupil[in_school], "year": year[in_school]}).drop_duplicates())
    return pct(n, pupil_years), pupil_years


@measure
def perm_exclusion(x: ComparisonTables, group, yf, yt):
    return _exclusion_share(x, "PERM", group, yf, yt)


@measure
def fixed_exclusion(x: ComparisonTables, group, yf, yt):
    return _exclusion_share(x, "FIXD", group, yf, yt)


@measure
def fsm(x: ComparisonTables, group, yf, yt):
    eligible, known = flags(x.outcomes["fsm"])
    return share(eligible, x.cohorts(yf, yt) & x.level_mask(group) & known)


@measure
def cla_offending_in_year(x: ComparisonTables, arg, yf, yt):
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
    o = o[arrowops.isin(o["moj_uid"], base["moj_uid"]).to_numpy()]
    off = (
        pd.DataFrame({"moj_uid": o["moj_uid"], "year": floats(years.collection_year(o["pnc_disposal_date"]))})
        .dropna()
        .drop_duplicates()
    )
    hit = base.merge(off, on=["moj_uid", "year"], how="left", indicator=True)["_merge"] == "both"
    return pct(int(hit.sum()), len(base)), len(base)


def _disposal(x: ComparisonTables, yf: int, yt: int):
    """Each pupil's most severe disposal (index into SEVERITY) and the base: the cohorts' pupils
    with a linked offending record."""
    return x.disposal, x.cohorts(yf, yt) & (x.disposal >= 0)


@measure
def offending_any(x: ComparisonTables, group, yf, yt):
    d, base = _disposal(x, yf, yt)
    return share(d != SEVERITY.index("none"), base & x.level_mask(group))


@measure
def custody(x: ComparisonTables, group, yf, yt):
    d, base = _disposal(x, yf, yt)
    return share(d == SEVERITY.index("custodial"), base & x.level_mask(group))


@measure
def noncustodial_or_caution(x: ComparisonTables, group, yf, yt):
    d, base = _disposal(x, yf, yt)
    return share((d == SEVERITY.index("caution")) | (d == SEVERITY.index("non_custodial")), base & x.level_mask(group))


@measure
def custody_share_level(x: ComparisonTables, level, yf, yt):
    d, base = _disposal(x, yf, yt)
    return share(x.level_code >= LEVELS.index(level), base & (d == SEVERITY.index("custodial")))


def _youth_sanctioned(x: ComparisonTables, yf: int, yt: int):
    return x.youth_sanctioned, (x.disposal >= 0) & x.cohorts(yf, yt)


@measure
def youth_sanction_share(x: ComparisonTables, arg, yf, yt):
    youth, linked = _youth_sanctioned(x, yf, yt)
    return share(youth, linked)


@measure
def youth_sanction_male(x: ComparisonTables, arg, yf, yt):
    youth, linked = _youth_sanctioned(x, yf, yt)
    return share(x.male, youth & linked & x.sex_known)


@measure
def la_count(x: ComparisonTables, arg, yf, yt):
    la = x.cla.loc[x.cla_years(yf, yt), "cla_cla_la"].dropna()
    return float(la.nunique()), len(la)


def _cla_la_rates(x: ComparisonTables, yf: int, yt: int) -> pd.Series:
    rows = x.cla_at31 & x.cla_years(yf, yt)
    counts = x.cla.loc[rows, "cla_cla_la"].value_counts() / (yt - yf + 1)
    return x.la_rates(counts * x.count_scale)


@measure
def la_cla_rate(x: ComparisonTables, q, yf, yt):
    r = _cla_la_rates(x, yf, yt)
    return float(r.quantile(float(q))), len(r)


@measure
def la_cla_rate_ratio(x: ComparisonTables, q, yf, yt):
    r = _cla_la_rates(x, yf, yt)
    med = r.median()
    return (float(r.quantile(float(q)) / med) if med else float("nan")), len(r)


@measure
def la_cin_rate_ratio(x: ComparisonTables, q, yf, yt):
    pos = x.positions_of("cin", x.cin_at31 & x.cin_years(yf, yt))
    codes = x.pupil_values(x.la_code.codes, pos, -1)
    n = np.bincount(codes[codes >= 0], minlength=len(x.la_code.categories))
    r = x.la_rates(pd.Series(n, index=x.la_code.categories.astype(str)))
    med = r.median()
    return (float(r.quantile(float(q)) / med) if med else float("nan")), len(r)


@measure
def idaci(x: ComparisonTables, stat, yf, yt):
    s = x.la_context["idaci_average_score"].astype("Float64").dropna().astype(float)
    return (float(getattr(s, stat)()) if len(s) else float("nan")), len(s)

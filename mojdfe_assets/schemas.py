"""Pandera schemas of every stored table: the one source of column names, types, descriptions
and allowed codes. Descriptions say where each column comes from; they become the column
schema shown in the Dagster UI and the data dictionary.

Raw tables are text exactly as delivered and clean tables are typed: both schemas are built from
the extracts' fields (`extracts.py`), so a cleaning rule and its check are written once. Derived
tables are pandera models, their codes and groups from the code lists.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pandera.pandas as pa
from pandera import extensions
from pandera.typing import Series

from . import arrowops, codelists
from .extracts import EARLIEST_DATE, LA_CODE_PATTERN, Extract, Field
from .reading import LINE, PROBLEM, ROW
from .rules import text_pattern

# Columns that identify a pupil: never in metadata, logs or tables that leave the SRS.
IDENTIFIER_COLUMNS = frozenset({"pupil_id", "moj_uid", "MoJUID", "CIN_PupilMatchingRefAnonymous",
                                "CLA_PupilMatchingRefAnonymous", "KS4_PupilMatchingRefAnonymous",
                                "AB_PupilMatchingRefAnonymous", "EXC_PupilMatchingRefAnonymous"})

Text = Series[Annotated[pd.StringDtype, "pyarrow", pd.NA]]
Code = Series[pd.CategoricalDtype]
Date = Series[pa.DateTime]
Flag = Series[pd.BooleanDtype]
Int = Series[pd.Int64Dtype]
Year = Series[pd.Int16Dtype]


@extensions.register_check_method(statistics=["enabled"], supported_types=pd.Series)
def unique_values(series: pd.Series, *, enabled: bool) -> pd.Series | bool:
    """`Field(unique_values=True)`: pandera's `unique=True` (every row whose value repeats fails),
    checked with a DuckDB exact distinct count instead of pandas' hashing of every text id."""
    if not enabled:
        return True
    return pd.Series(arrowops.occurs_once(series), index=series.index)


def raw_schema(extract: Extract) -> pa.DataFrameSchema:
    """A raw table: the delivered columns, all text (blanks kept), plus the file row number."""
    cols = {ROW: pa.Column(int, pa.Check.ge(1), unique=True, description="Data row number in the delivered file")}
    for c in extract.columns:
        cols[c] = pa.Column(pd.StringDtype("pyarrow"), nullable=False,
                            description=f"{c} as delivered in {extract.file} (text; blank = missing)")
    cols[PROBLEM] = pa.Column(pd.StringDtype("pyarrow"), nullable=True,
                              description="Why the delivered line could not be read as a row (missing when it could)")
    cols[LINE] = pa.Column(pd.StringDtype("pyarrow"), nullable=True,
                           description="The delivered line, kept only when it could not be read as a row")
    return pa.DataFrameSchema(cols, name=f"{extract.name}_raw", strict=True, description=extract.description)


TEXT = pd.StringDtype("pyarrow")
ACADEMIC_YEAR_PATTERN = r"^\d{4}/\d{4}$"
_DTYPES = {"id": TEXT, "la": TEXT, "text": TEXT, "date": pa.DateTime, "int": pd.Int64Dtype(),
           "float": pd.Float64Dtype(), "flag": pd.BooleanDtype(), "code": pa.Category}


def _field_columns(extract: Extract, f: Field) -> dict[str, pa.Column]:
    """The clean column(s) of one delivered field, with the checks its cleaning rule guarantees."""
    nullable = not f.required
    if f.kind == "year":
        window = [pa.Check.in_range(*extract.years)] if extract.years else []
        return {
            f.name: pa.Column(TEXT, pa.Check.str_matches(ACADEMIC_YEAR_PATTERN), nullable=nullable,
                              description=f.description),
            f"{f.name}_start": pa.Column(pd.Int16Dtype(), nullable=nullable,
                                         description=f"First calendar year of {f.name} ← {f.delivered}"),
            f"{f.name}_end": pa.Column(pd.Int16Dtype(), window, nullable=nullable, description=(
                f"Second calendar year of {f.name} (the year to 31 March it names) ← {f.delivered}")),
        }
    checks = []
    if f.kind in ("int", "float"):
        checks.append(pa.Check.in_range(f.lo, f.hi))
    elif f.kind == "code":
        checks.append(pa.Check.isin(codelists.codes(f.code_list)))
    elif f.kind == "date":
        checks.append(pa.Check.ge(EARLIEST_DATE))
    elif text_pattern(f):
        checks.append(pa.Check.str_matches(text_pattern(f)))
    if f.unique:
        checks.append(pa.Check.unique_values(enabled=True))
    return {f.name: pa.Column(_DTYPES[f.kind], checks, nullable=nullable, description=f.description)}


def clean_schema(extract: Extract) -> pa.DataFrameSchema:
    """The typed table `rules.clean_table` makes of an extract: every rule it quarantines by is
    checked again here on what it kept (the contract at the asset boundary)."""
    cols = {ROW: pa.Column(int, pa.Check.ge(1), unique=True, description="Row number in the delivered file")}
    for f in extract.fields:
        cols.update(_field_columns(extract, f))
    checks = [pa.Check(lambda df, r=rule: ~r.breaks(df), name=rule.reason.split(":")[0], error=rule.reason)
              for rule in extract.row_rules]
    return pa.DataFrameSchema(cols, checks=checks, name=f"{extract.name}_clean", strict=True, coerce=False,
                              description=extract.description)


class QuarantineRows(pa.DataFrameModel):
    """Rows of a delivered file that could not be cleaned, as delivered, with every reason."""

    source_row: Series[int] = pa.Field(ge=1, unique=True, description="Row number in the delivered file")
    reasons: Text = pa.Field(description="'column: problem' for every failed rule, separated by '; '")
    pupil_id: Text = pa.Field(nullable=True, description=(
        "The row's pupil reference, normalised as in the clean table (trimmed, missing tokens missing, upper-cased); "
        "missing when the row has none, its extract has no pupil reference, or its line could not be read as a "
        "row (wrong number of fields, not UTF-8). Membership of CLA and CIN in intervention_level counts these."))


class CodeLookup(pa.DataFrameModel):
    code_list: Series[str] = pa.Field(description="Name of the DfE code list")
    code: Series[str] = pa.Field(description="Code as it appears in the extracts")
    label: Series[str] = pa.Field(description="DfE label")
    group: Series[str] = pa.Field(description="Grouping used in derivations (e.g. placement family)")
    valid_from: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="First collection year valid (end year)")
    valid_to: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Last collection year valid (end year)")

    class Config:
        strict = True


# ---------------------------------------------------------------------------------------------
# Social-care derivations

LEVELS = codelists.INTERVENTION_LEVELS
PLACEMENT_FAMILIES = codelists.group_names("cla_placement")
LEGAL_GROUPS = codelists.group_names("cla_legal_status")
Bool = Series[bool]


class _Derived(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


class ClaEpisodes(_Derived):
    """One row per CLA episode (de-duplicated across yearly rows)."""

    pupil_id: Text = pa.Field(description="Pupil (← cla_clean.pupil_id)")
    moj_uid: Text = pa.Field(nullable=True, description="← cla_clean.moj_uid")
    episode_start: Date = pa.Field(description="← cla_clean.cla_date_epi_comm")
    episode_end: Date = pa.Field(description="← cla_clean.cla_date_epi_ceased, or 31 March of last_year when open")
    censored: Flag = pa.Field(description="No ceased date, so the end is censored at 31 March of last_year ← cla_clean.cla_date_epi_ceased")
    duration_days: Int = pa.Field(ge=0, description="episode_end − episode_start in days, never negative ← cla_clean.cla_date_epi_comm, cla_clean.cla_date_epi_ceased")
    first_year: Year = pa.Field(description="First collection year (end year) the episode appears in")
    last_year: Year = pa.Field(description="Last collection year the episode appears in (row used)")
    year_rows: Int = pa.Field(ge=1, description="Yearly rows that carried this episode")
    cla_cla_la: Text = pa.Field(nullable=True, description="← cla_clean.cla_cla_la")
    cla_poc_start: Date = pa.Field(nullable=True, description="← cla_clean.cla_poc_start")
    cla_cat_need: Code = pa.Field(nullable=True, isin=codelists.codes("cla_category_of_need"), description="← cla_cat_need")
    cla_legal_status: Code = pa.Field(nullable=True, isin=codelists.codes("cla_legal_status"), description="← cla_legal_status")
    legal_group: Code = pa.Field(nullable=True, isin=list(LEGAL_GROUPS), description="Code-list group ← cla_clean.cla_legal_status")
    cla_placement: Code = pa.Field(nullable=True, isin=codelists.codes("cla_placement"), description="← cla_placement")
    placement_family: Code = pa.Field(nullable=True, isin=list(PLACEMENT_FAMILIES),
                                      description="Placement family (code-list group) ← cla_clean.cla_placement")
    cla_rec: Code = pa.Field(nullable=True, isin=codelists.codes("cla_reason_episode_ceased"), description="← cla_rec")

    @pa.dataframe_check(description="Episodes are unique per pupil and start date")
    def one_row_per_episode(cls, df: pd.DataFrame) -> bool:
        return not df.duplicated(["pupil_id", "episode_start"]).any()


class ClaPupilSummary(_Derived):
    """One row per pupil with a CLA record."""

    pupil_id: Text = pa.Field(unique_values=True, description="← cla_episodes.pupil_id")
    first_care_date: Date = pa.Field(description="Earliest episode start ← cla_episodes.episode_start")
    last_care_date: Date = pa.Field(description=(
        "Latest episode end; an episode with no ceased date delivered ends at 31 March of the last collection year "
        "it was delivered in (censored, as in cla_episodes) ← cla_episodes.episode_end"))
    in_care_at_end_of_data: Flag = pa.Field(description=(
        "The pupil's latest episode (by start) has no ceased date and was delivered in the extract's last collection "
        "year (the latest academic_year_end of cla_clean); an open episode of an earlier year, whose end was never "
        "delivered, does not count ← cla_episodes.censored, cla_episodes.last_year, cla_episodes.episode_start"))
    episodes: Int = pa.Field(ge=1, description="Number of episodes ← cla_episodes.episode_start")
    days_in_care: Int = pa.Field(ge=0, description="Union of episode intervals in days, overlaps counted once ← cla_episodes.episode_start, cla_episodes.episode_end")
    academic_years_in_care: Int = pa.Field(ge=1, description="Distinct collection years with a record ← cla_clean.academic_year")
    days_foster: Int = pa.Field(ge=0, description="Days in foster placements (U4-U6) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end")
    ever_foster: Flag = pa.Field(description="Any foster placement ← cla_episodes.placement_family")
    days_kinship: Int = pa.Field(ge=0, description="Days with relatives or friends (U1-U3) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end")
    ever_kinship: Flag = pa.Field(description="Any kinship placement ← cla_episodes.placement_family")
    days_residential: Int = pa.Field(ge=0, description="Days in residential settings (K1-K3, H5, R1-R5, S1) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end")
    ever_residential: Flag = pa.Field(description="Any residential placement ← cla_episodes.placement_family")
    days_with_parents: Int = pa.Field(ge=0, description="Days placed with parents (P1) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end")
    ever_with_parents: Flag = pa.Field(description="Ever placed with parents ← cla_episodes.placement_family")
    days_adoption: Int = pa.Field(ge=0, description="Days placed for adoption (A3-A6) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end")
    ever_adoption: Flag = pa.Field(description="Ever placed for adoption ← cla_episodes.placement_family")
    days_independent_living: Int = pa.Field(ge=0, description="Days in independent living (P2) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end")
    ever_independent_living: Flag = pa.Field(description="Ever in independent living ← cla_episodes.placement_family")
    days_other: Int = pa.Field(ge=0, description="Days in other placements (P3, T0-T4, Z1) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end")
    ever_other: Flag = pa.Field(description="Any other placement ← cla_episodes.placement_family")
    placement_changes: Int = pa.Field(ge=0, description="Changes of placement between consecutive episodes ← cla_episodes.cla_placement")
    ever_care_order: Flag = pa.Field(description="Legal status C1/C2 ever held ← cla_episodes.legal_group")
    ever_placement_order: Flag = pa.Field(description="Legal status D1/E1 ever held ← cla_episodes.legal_group")
    ever_section_20: Flag = pa.Field(description="Legal status V2-V4 ever held ← cla_episodes.legal_group")
    ever_youth_justice: Flag = pa.Field(description="Legal status J1-J3 ever held ← cla_episodes.legal_group")
    ever_emergency_protection: Flag = pa.Field(description="Legal status L1-L3 ever held ← cla_episodes.legal_group")
    first_cat_need: Code = pa.Field(nullable=True, isin=codelists.codes("cla_category_of_need"),
                                    description="Category of need of the first episode ← cla_episodes.cla_cat_need")
    la_first: Text = pa.Field(nullable=True, description="LA of the first episode ← cla_episodes.cla_cla_la")


class CinPupilSummary(_Derived):
    """One row per pupil with a CIN record."""

    pupil_id: Text = pa.Field(unique_values=True, description="← cin_clean.pupil_id")
    cin_rows: Int = pa.Field(ge=1, description="CIN rows of the pupil ← cin_clean.pupil_id")
    years_in_need: Int = pa.Field(ge=0, le=9, description="Distinct years in need on 31 March ← cin_clean.cin_cin_at31march, cin_clean.academic_year_end")
    referral_only: Flag = pa.Field(description="In CIN but never in need on 31 March ← cin_clean.cin_cin_at31march")
    at31march_missing_rows: Int = pa.Field(ge=0, description="Rows with a blank 31 March flag ← cin_clean.cin_cin_at31march")
    any_referral_nfa: Flag = pa.Field(description="Any referral closed NFA ← cin_clean.cin_referral_nfa")
    referral_check: Code = pa.Field(isin=["both", "flag_only", "nfa_only", "neither"],
                                    description="Referral only vs NFA: both, flag_only, nfa_only, neither ← cin_clean.cin_cin_at31march, cin_clean.cin_referral_nfa")
    first_cin_year: Year = pa.Field(description="First CIN year ← cin_clean.academic_year_end")
    latest_cin_year: Year = pa.Field(description="Latest CIN year ← cin_clean.academic_year_end")
    latest_primary_need: Code = pa.Field(nullable=True, isin=codelists.codes("cin_primary_need"),
                                         description="Primary need of the most recent year that has one ← cin_clean.cin_primary_need_code")
    only_weak_coverage_years: Flag = pa.Field(description="All CIN records in 2008/09-2011/12, weaker completeness ← cin_clean.academic_year_end")


class CppFlags(_Derived):
    pupil_id: Text = pa.Field(unique_values=True, description="← cin_clean.pupil_id")
    cpp_method_a: Flag = pa.Field(description="Any category of abuse in any year (category of abuse, initial and, with cpp_method_a all_three (the default), latest category coalesced) ← cin_clean.cin_category_of_abuse, cin_clean.cin_initial_category_of_abuse, cin_clean.cin_latest_category_of_abuse")
    previous_cpp_total: Int = pa.Field(ge=0, description="Previous plans summed over the pupil's years ← cin_clean.cin_number_of_previous_cpp")
    cpp_method_b: Flag = pa.Field(description="previous_cpp_total >= 1 ← cin_clean.cin_number_of_previous_cpp")
    cpp: Flag = pa.Field(description="Method a or method b ← cin_clean.cin_category_of_abuse, cin_clean.cin_initial_category_of_abuse, cin_clean.cin_latest_category_of_abuse, cin_clean.cin_number_of_previous_cpp")
    method_agreement: Code = pa.Field(isin=["both", "a_only", "b_only", "neither"], description="Which methods find a plan: both, a_only, b_only, neither")
    first_category_of_abuse: Code = pa.Field(nullable=True, isin=codelists.codes("cin_category_of_abuse"),
                                             description="First recorded category, coalesced ← cin_clean.cin_category_of_abuse, cin_clean.cin_initial_category_of_abuse")


class TallyTable(_Derived):
    table: Series[str] = pa.Field(description="Which cross-check")
    category: Series[str] = pa.Field(description="Category of the cross-check")
    pupils: Series[int] = pa.Field(ge=0, description="Pupils in the category")


class InterventionLevel(_Derived):
    """One row per spine pupil with the highest level of social-care involvement."""

    pupil_id: Text = pa.Field(unique_values=True, description="← spine_clean.pupil_id")
    moj_uid: Text = pa.Field(nullable=True, description="← spine_clean.moj_uid")
    level: Code = pa.Field(isin=list(LEVELS), description=(
        "Ordered: none < referral_only < child_in_need < child_protection_plan < looked_after; looked_after and "
        "referral_only from membership (any delivered row with a usable pupil reference, clean or quarantined) "
        "← cla_pupil_summary.pupil_id, cla_quarantine.pupil_id, cpp_flags.cpp, cin_pupil_summary.years_in_need, "
        "cin_pupil_summary.pupil_id, cin_quarantine.pupil_id"))
    in_cin_data: Flag = pa.Field(description=(
        "Pupil has a CIN row with a usable pupil reference, clean or quarantined "
        "(← cin_pupil_summary.pupil_id, cin_quarantine.pupil_id)"))
    in_cla_data: Flag = pa.Field(description=(
        "Pupil has a CLA row with a usable pupil reference, clean or quarantined; a looked-after pupil whose every "
        "CLA row is quarantined has the CLA columns missing (← cla_pupil_summary.pupil_id, cla_quarantine.pupil_id)"))
    ks4_year: Text = pa.Field(description="KS4 cohort ← spine_clean.academic_year")
    la: Text = pa.Field(nullable=True, description="← spine_clean.ks4_la")
    sex: Text = pa.Field(nullable=True, isin=codelists.codes("sex"), description="M or F ← spine_clean.ks4_gender")
    fsm: Flag = pa.Field(nullable=True, description="← spine_clean.ks4_fsm_ever6")
    years_in_need: Int = pa.Field(nullable=True, description="← cin_pupil_summary (missing = no CIN record)")
    referral_only: Flag = pa.Field(nullable=True, description="← cin_pupil_summary")
    first_cin_year: Year = pa.Field(nullable=True, description="← cin_pupil_summary")
    latest_cin_year: Year = pa.Field(nullable=True, description="← cin_pupil_summary")
    cpp: Flag = pa.Field(nullable=True, description="← cpp_flags (missing = no CIN record)")
    cpp_method_a: Flag = pa.Field(nullable=True, description="← cpp_flags")
    cpp_method_b: Flag = pa.Field(nullable=True, description="← cpp_flags")
    days_in_care: Int = pa.Field(nullable=True, description="← cla_pupil_summary (missing = no CLA record)")
    episodes: Int = pa.Field(nullable=True, description="← cla_pupil_summary")
    first_care_date: Date = pa.Field(nullable=True, description="← cla_pupil_summary")
    academic_years_in_care: Int = pa.Field(nullable=True, description="← cla_pupil_summary")

    @pa.check("level", description="level is an ordered categorical")
    def ordered(cls, s: pd.Series) -> bool:
        return bool(s.cat.ordered)


# ---------------------------------------------------------------------------------------------
# Outcomes

CONVICTION_GROUPS = ("none", "one", "two_or_more")
MOJ_LINKS = ("linked", "no_moj_uid", "shared_moj_uid", "conflicting_moj_uids")
SEVERITY = ("none", *codelists.group_names("pnc_disposal"))  # ordered: no disposal < caution < ...


class PupilOutcomes(_Derived):
    """One row per spine pupil: intervention level and the education and offending outcomes."""

    pupil_id: Text = pa.Field(unique_values=True, description="← intervention_level.pupil_id")
    level: Code = pa.Field(isin=list(LEVELS), description="Highest social-care level ← intervention_level.level")
    sex: Text = pa.Field(nullable=True, description="← intervention_level.sex")
    fsm: Flag = pa.Field(nullable=True, description="← intervention_level.fsm")
    ks4_year: Text = pa.Field(description="KS4 cohort ← intervention_level.ks4_year")
    la: Text = pa.Field(nullable=True, description="← intervention_level.la")
    gcse_level2_em: Flag = pa.Field(nullable=True, description=(
        "GCSE-or-equivalent level 2 incl. English and maths ← ks4_clean.ks4_level2_em (missing = no result)"))
    attainment8: Series[pd.Float64Dtype] = pa.Field(nullable=True, ge=0, le=90, description="← ks4_clean.ks4_att8")
    unauthorised_sessions: Int = pa.Field(nullable=True, ge=0, description=(
        "Unauthorised absence in secondary school, half-day sessions ← absence_clean.ab_sessions_unauthorised"))
    sessions_possible: Int = pa.Field(nullable=True, ge=0, description="← absence_clean.ab_sessions_possible")
    fixed_period_exclusions: Int = pa.Field(ge=0, description="Fixed-period exclusions ← exclusions_clean.exc_category")
    fixed_period_sessions: Int = pa.Field(ge=0, description=(
        "Sessions missed through fixed-period exclusion ← exclusions_clean.exc_sessions"))
    permanent_exclusion: Flag = pa.Field(description="Ever permanently excluded ← exclusions_clean.exc_category")
    moj_link: Code = pa.Field(isin=list(MOJ_LINKS), description=(
        "Whether offending (PNC) records are linked to the pupil: linked (the spine's MoJUID, carried by no other "
        "pupil and the only MoJUID of this pupil in any extract); no_moj_uid (the spine row has none); "
        "shared_moj_uid (another pupil reference carries the same MoJUID in the spine, CIN, CLA, KS4, absence or "
        "exclusions: whose records they are cannot be told); conflicting_moj_uids (this pupil carries different "
        "MoJUIDs across those extracts). Offending outcomes are missing unless linked "
        "← intervention_level.moj_uid, cin_clean.moj_uid, cla_clean.moj_uid, ks4_clean.moj_uid, "
        "absence_clean.moj_uid, exclusions_clean.moj_uid"))
    cautions: Int = pa.Field(nullable=True, ge=0, description="Cautions ← offending_clean.pnc_disposal")
    convictions: Int = pa.Field(nullable=True, ge=0, description="Convictions ← offending_clean.pnc_disposal")
    conviction_group: Code = pa.Field(nullable=True, isin=list(CONVICTION_GROUPS), description=(
        "none / one / two_or_more (ordered) ← offending_clean.pnc_disposal"))
    most_severe_disposal: Code = pa.Field(nullable=True, isin=list(SEVERITY), description=(
        "none < caution < non_custodial < custodial ← offending_clean.pnc_disposal"))
    first_cj_contact_date: Date = pa.Field(nullable=True, description=(
        "Date of the first caution or conviction ← offending_clean.pnc_disposal_date"))


class ContactSequence(_Derived):
    """Pupils with both social-care and criminal-justice contact: which came first, by how long."""

    pupil_id: Text = pa.Field(unique_values=True, description="← pupil_outcomes.pupil_id")
    level: Code = pa.Field(isin=list(LEVELS), description="← pupil_outcomes.level")
    first_social_care_date: Date = pa.Field(description=(
        "Earliest social-care contact: first CLA date, or 1 April of the first CIN collection year "
        "(CIN rows carry years, not dates) ← cla_pupil_summary.first_care_date, cin_pupil_summary.first_cin_year"))
    first_cj_contact_date: Date = pa.Field(description="← pupil_outcomes.first_cj_contact_date")
    social_care_first: Flag = pa.Field(description="Social care recorded before the first caution or conviction")
    gap_days: Int = pa.Field(description="first_cj_contact_date − first_social_care_date (negative: CJ first)")
    gap_group: Code = pa.Field(isin=["cj_first", "sc_first_under_1y", "sc_first_1y_plus"], description=(
        "Criminal justice first; social care first by under a year; by a year or more"))


# ---------------------------------------------------------------------------------------------
# Research question 1: outcomes by intervention level

OUTCOME_NAMES = ("gcse_level2_em", "permanent_exclusion", "cj_contact", "custodial", "unauthorised_sessions",
                 "fixed_period_sessions", "conviction_group", "most_severe_disposal")
Real = Series[pd.Float64Dtype]


class InterventionOutcomeSummary(_Derived):
    """Per intervention level and outcome: n, and a rate, median or category share with its 95% CI."""

    level: Code = pa.Field(isin=list(LEVELS), description="Intervention level ← pupil_outcomes.level")
    outcome: Text = pa.Field(isin=list(OUTCOME_NAMES), description=(
        "Outcome (a column of pupil_outcomes; cj_contact = first_cj_contact_date recorded, custodial = "
        "most_severe_disposal is custodial)"))
    measure: Text = pa.Field(isin=["rate", "median", "share"], description=(
        "rate: share of pupils with the outcome (Wilson 95% CI); median: median count (order-statistic 95% CI); "
        "share: share of pupils in `category` (Wilson 95% CI)"))
    category: Text = pa.Field(nullable=True, description="Category of an ordinal outcome (for measure share)")
    n: Series[int] = pa.Field(ge=0, description="Pupils at this level with the outcome recorded")
    events: Real = pa.Field(nullable=True, ge=0, description="Pupils with the outcome (rates and shares)")
    estimate: Real = pa.Field(nullable=True, ge=0, description="Rate, median or share")
    ci_low: Real = pa.Field(nullable=True, ge=0, description="Lower 95% confidence limit")
    ci_high: Real = pa.Field(nullable=True, ge=0, description="Upper 95% confidence limit")

    @pa.dataframe_check(description="ci_low <= estimate <= ci_high where all are present")
    def ci_brackets_estimate(cls, df: pd.DataFrame) -> pd.Series:
        ok = (df["ci_low"] <= df["estimate"] + 1e-9) & (df["estimate"] <= df["ci_high"] + 1e-9)
        return ok.fillna(True).astype(bool)


class InterventionOutcomeModels(_Derived):
    """Regression estimates (ratios) of each outcome on intervention level, sex, cohort and FSM."""

    outcome: Text = pa.Field(isin=list(OUTCOME_NAMES), description="Outcome modelled")
    model: Text = pa.Field(description="Model family (statsmodels)")
    measure: Text = pa.Field(isin=["odds ratio", "rate ratio", "cumulative odds ratio"], description=(
        "What `estimate` is: exp(coefficient)"))
    term: Text = pa.Field(description=(
        "Model term, 'variable:value' against the reference (level none, first sex, first cohort, not FSM)"))
    estimate: Real = pa.Field(nullable=True, gt=0, description="Odds or rate ratio (missing: see note)")
    ci_low: Real = pa.Field(nullable=True, ge=0, description="Lower 95% confidence limit")
    ci_high: Real = pa.Field(nullable=True, gt=0, description="Upper 95% confidence limit")
    p_value: Real = pa.Field(nullable=True, ge=0, le=1, description="Wald test p-value")
    n: Series[int] = pa.Field(ge=0, description="Pupils in the model (outcome and covariates recorded)")
    note: Text = pa.Field(nullable=True, description="Why a term has no estimate (missing when it has one)")


# ---------------------------------------------------------------------------------------------
# Research question 2: local authorities

OUTLIER_FLAGS = ("high_99.8", "high_95", "within", "low_95", "low_99.8")


class LaAggregates(_Derived):
    """Per LA × intervention level: caution or conviction, observed against expected."""

    la: Text = pa.Field(str_matches=LA_CODE_PATTERN, description="LA code ← pupil_outcomes.la")
    level: Code = pa.Field(isin=list(LEVELS), description="← pupil_outcomes.level")
    pupils: Series[int] = pa.Field(ge=1, description=(
        "Spine pupils linked to MoJ data (offending outcome recorded) ← pupil_outcomes.most_severe_disposal"))
    cj_contact: Series[int] = pa.Field(ge=0, description=(
        "Pupils cautioned or convicted ← pupil_outcomes.first_cj_contact_date"))
    rate: Series[float] = pa.Field(ge=0, le=1, description="Crude rate cj_contact / pupils")
    expected: Series[float] = pa.Field(ge=0, description="pupils × the national rate at this level")
    oe_ratio: Series[float] = pa.Field(nullable=True, ge=0, description="cj_contact / expected")
    oe_ci_low: Series[float] = pa.Field(nullable=True, ge=0, description="Exact Poisson 95% CI, lower")
    oe_ci_high: Series[float] = pa.Field(nullable=True, ge=0, description="Exact Poisson 95% CI, upper")
    la_non_sc_rate: Series[float] = pa.Field(ge=0, le=1, description=(
        "The LA's rate among pupils with no social-care contact (level none) ← pupil_outcomes.first_cj_contact_date"))
    la_idaci: Series[float] = pa.Field(nullable=True, ge=0, le=1, description=(
        "The LA's poverty rate ← la_context_clean.idaci_average_score"))
    adjusted_expected: Series[float] = pa.Field(ge=0, description=(
        "Expected count from the national model with level, sex, cohort, FSM and the LA covariates"))
    adjusted_ratio: Series[float] = pa.Field(nullable=True, ge=0, description="cj_contact / adjusted_expected")
    adjusted_ci_low: Series[float] = pa.Field(nullable=True, ge=0, description="Exact Poisson 95% CI, lower")
    adjusted_ci_high: Series[float] = pa.Field(nullable=True, ge=0, description="Exact Poisson 95% CI, upper")
    funnel_95_low: Series[float] = pa.Field(nullable=True, description="Funnel 95% control limit (ratio), lower")
    funnel_95_high: Series[float] = pa.Field(nullable=True, description="Funnel 95% control limit (ratio), upper")
    funnel_998_low: Series[float] = pa.Field(nullable=True, description="Funnel 99.8% control limit (ratio), lower")
    funnel_998_high: Series[float] = pa.Field(nullable=True, description="Funnel 99.8% control limit (ratio), upper")
    outlier: Code = pa.Field(isin=list(OUTLIER_FLAGS), description=(
        "Where adjusted_ratio falls against the funnel: beyond 99.8% (outlier), beyond 95% (alert), or within"))


class LaAggregatesPublishable(_Derived):
    """la_aggregates after statistical disclosure control, for release from the SRS."""

    la: Text = pa.Field(description="LA code, or 'total' (England) ← la_aggregates.la")
    level: Text = pa.Field(isin=[*LEVELS, "all"], description="Intervention level, or 'all' ← la_aggregates.level")
    pupils: Int = pa.Field(nullable=True, ge=0, description=(
        "← la_aggregates.pupils, rounded to base 5; missing = suppressed"))
    cj_contact: Int = pa.Field(nullable=True, ge=0, description=(
        "← la_aggregates.cj_contact, rounded to base 5; missing = suppressed"))
    rate: Real = pa.Field(nullable=True, ge=0, le=1, description="Published cj_contact / published pupils")
    adjusted_ratio: Real = pa.Field(nullable=True, ge=0, description=(
        "← la_aggregates.adjusted_ratio to 2 decimals, only where cj_contact is published"))
    outlier: Text = pa.Field(nullable=True, isin=list(OUTLIER_FLAGS), description=(
        "← la_aggregates.outlier, only where cj_contact is published"))
    suppressed: Flag = pa.Field(description="Any count of this cell suppressed (primary or secondary)")


# ---------------------------------------------------------------------------------------------
# Comparison with England's published statistics (national.py)


class NationalComparison(_Derived):
    """One row per published figure: the published value, the extract's, and the tolerance band."""

    figure_id: Text = pa.Field(unique_values=True, description="Figure key ← published_statistics.csv figure_id")
    target: Text = pa.Field(description="Item of the calibration targets (national-statistics.md section 8)")
    figure: Text = pa.Field(description="What is compared, in words")
    year: Text = pa.Field(description="Year(s) of the published figure (years to 31 March, or KS4/academic years)")
    unit: Text = pa.Field(description="%, ratio, children, days, points, per 10,000, ...")
    published: Series[float] = pa.Field(description="Published value ← published_statistics.csv value")
    tolerance: Series[float] = pa.Field(ge=0, description="Tolerance: absolute (in the unit) or relative (a fraction)")
    tolerance_type: Code = pa.Field(isin=["absolute", "relative"], description="absolute or relative")
    low: Series[float] = pa.Field(description="Lower edge of the tolerance band")
    high: Series[float] = pa.Field(description="Upper edge of the tolerance band")
    extract_value: Series[pd.Float64Dtype] = pa.Field(nullable=True, description=(
        "The same figure from the extract (missing when it cannot be computed) ← cla_clean, cin_clean, "
        "pupil_outcomes, spine_clean, absence_clean, exclusions_clean, offending_clean, la_context_clean"))
    difference: Series[pd.Float64Dtype] = pa.Field(nullable=True, description="extract_value − published")
    within_tolerance: Flag = pa.Field(nullable=True, description="low ≤ extract_value ≤ high (missing: not computable)")
    status: Code = pa.Field(isin=["within", "outside", "not_computable"], description="within / outside / not_computable")
    base: Int = pa.Field(ge=0, description="Rows or children the extract figure rests on (its denominator, or the count)")
    source: Text = pa.Field(description="Publication (title and URL) ← published_statistics.csv source")
    comparability: Text = pa.Field(description=(
        "How the extract figure is made comparable (scaling, pooling, population covered) "
        "← published_statistics.csv comparability"))

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
from .extracts import ACADEMIC_YEAR_PATTERN, EARLIEST_DATE, LA_CODE_PATTERN, Extract, Field
from .reading import LINE, PROBLEM, ROW
from .rules import LA_IN_FORCE, la_not_in_force, text_pattern

# Columns that identify a pupil: never in metadata, logs or tables that leave the SRS.
IDENTIFIER_COLUMNS = frozenset(
    {
        "pupil_id",
        "moj_uid",
        "MoJUID",
        "CIN_PupilMatchingRefAnonymous",
        "CLA_PupilMatchingRefAnonymous",
        "KS4_PupilMatchingRefAnonymous",
        "AB_PupilMatchingRefAnonymous",
        "EXC_PupilMatchingRefAnonymous",
    }
)

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
        cols[c] = pa.Column(
            pd.StringDtype("pyarrow"),
            nullable=False,
            description=f"{c} as delivered in {extract.file} (text; blank = missing)",
        )
    cols[PROBLEM] = pa.Column(
        pd.StringDtype("pyarrow"),
        nullable=True,
        description="Why the delivered line could not be read as a row (missing when it could)",
    )
    cols[LINE] = pa.Column(
        pd.StringDtype("pyarrow"),
        nullable=True,
        description="The delivered line, kept only when it could not be read as a row",
    )
    return pa.DataFrameSchema(cols, name=f"{extract.name}_raw", strict=True, description=extract.description)


TEXT = pd.StringDtype("pyarrow")
_DTYPES = {
    "id": TEXT,
    "la": TEXT,
    "text": TEXT,
    "date": pa.DateTime,
    "int": pd.Int64Dtype(),
    "float": pd.Float64Dtype(),
    "flag": pd.BooleanDtype(),
    "code": pa.Category,
}


def _field_columns(extract: Extract, f: Field) -> dict[str, pa.Column]:
    """The clean column(s) of one delivered field, with the checks its cleaning rule guarantees."""
    nullable = not f.required
    source = f"← {extract.name}_raw.{f.delivered}"
    if f.kind == "year":
        window = [pa.Check.in_range(*extract.years)] if extract.years else []
        return {
            f.name: pa.Column(
                TEXT,
                pa.Check.str_matches(ACADEMIC_YEAR_PATTERN),
                nullable=nullable,
                description=f"{f.description} {source}",
            ),
            f"{f.name}_start": pa.Column(
                pd.Int16Dtype(), nullable=nullable, description=f"First calendar year of {f.name} {source}"
            ),
            f"{f.name}_end": pa.Column(
                pd.Int16Dtype(),
                window,
                nullable=nullable,
                description=(f"Second calendar year of {f.name} (the year to 31 March it names) {source}"),
            ),
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
    what = f.description
    if f.kind == "la":
        what += (
            "; a well-formed number that is no authority in force in the row's collection year (code list "
            "local_authorities) "
            + (
                "quarantines the row"
                if f.la_not_in_force == "quarantine"
                else "is missing here, the row kept (check la_codes_in_force counts them)"
            )
        )
    return {f.name: pa.Column(_DTYPES[f.kind], checks, nullable=nullable, description=f"{what} {source}")}


def clean_schema(extract: Extract) -> pa.DataFrameSchema:
    """The typed table `rules.clean_table` makes of an extract: every rule it quarantines by is
    checked again here on what it kept (the contract at the asset boundary)."""
    cols = {
        ROW: pa.Column(
            int, pa.Check.ge(1), unique=True, description=f"Row number in the delivered file ← {extract.name}_raw.{ROW}"
        )
    }
    for f in extract.fields:
        cols.update(_field_columns(extract, f))
    checks = [
        pa.Check(lambda df, r=rule: ~r.breaks(df), name=rule.reason.split(":")[0], error=rule.reason)
        for rule in extract.row_rules
    ]
    checks += [
        pa.Check(
            lambda df, c=f.name: _la_in_force(df, c),
            name=f.name,
            error=f"{f.name}: LA number not in force in the row's collection year",
        )
        for f in extract.fields
        if f.kind == "la"
    ]
    return pa.DataFrameSchema(
        cols, checks=checks, name=f"{extract.name}_clean", strict=True, coerce=False, description=extract.description
    )


def _la_in_force(df: pd.DataFrame, column: str) -> pd.Series | bool:
    """Rows whose LA is in force in their collection year (or missing); true of every row without
    looking when the clean step proved it for these very columns (`rules._prove_patterns`)."""
    year = df.get("academic_year_end")
    if arrowops.proven_rule(LA_IN_FORCE, df[column], year):
        return True
    return pd.Series(~la_not_in_force(df[column], year), df.index)


class QuarantineRows(pa.DataFrameModel):
    """Rows of a delivered file that could not be cleaned, as delivered, with every reason."""

    source_row: Series[int] = pa.Field(ge=1, unique=True, description="Row number in the delivered file")
    reasons: Text = pa.Field(description="'column: problem' for every failed rule, separated by '; '")
    pupil_id: Text = pa.Field(
        nullable=True,
        description=(
            "The row's pupil reference, normalised as in the clean table (trimmed, missing tokens missing, upper-cased); "
            "missing when the row has none, its extract has no pupil reference, or its line could not be read as a "
            "row (wrong number of fields, not UTF-8). Membership of CLA and CIN in intervention_level counts these."
        ),
    )


class CodeLookup(pa.DataFrameModel):
    code_list: Series[str] = pa.Field(description="Name of the DfE code list")
    code: Series[str] = pa.Field(description="Code as it appears in the extracts")
    label: Series[str] = pa.Field(description="What the code means (DfE label)")
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


def _poisson_ci(ratio: str, end: str, expected: str):
    """A bound of the exact Poisson 95% CI of an observed / expected ratio (LA and region tables)."""
    return pa.Field(nullable=True, ge=0, description=f"Exact Poisson 95% CI of {ratio}, {end} ← cj_contact, {expected}")


class _Derived(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


class ClaEpisodes(_Derived):
    """One row per CLA episode (de-duplicated across yearly rows)."""

    pupil_id: Text = pa.Field(
        description="The pupil whose episode it is (rows with no pupil reference are not episodes of anyone) ← cla_clean.pupil_id"
    )
    moj_uid: Text = pa.Field(
        nullable=True, description="MoJ person identifier on the row used for the episode ← cla_clean.moj_uid"
    )
    episode_start: Date = pa.Field(description="Date the episode commenced, as delivered ← cla_clean.cla_date_epi_comm")
    episode_end: Date = pa.Field(
        description="Date the episode ceased; when no ceased date was delivered, 31 March of the last year that delivered the episode (censored) ← cla_clean.cla_date_epi_ceased, last_year"
    )
    censored: Flag = pa.Field(
        description="True when no ceased date was delivered, so episode_end is 31 March of last_year (the episode was still open then, or its end was never delivered) ← cla_clean.cla_date_epi_ceased"
    )
    duration_days: Int = pa.Field(
        ge=0,
        description="Days from episode_start to episode_end (episodes ceasing before they start are quarantined, so never negative) ← episode_start, episode_end",
    )
    first_year: Year = pa.Field(
        description="First collection year (named by its end year) whose rows deliver the episode ← cla_clean.academic_year_end"
    )
    last_year: Year = pa.Field(
        description="Last collection year whose rows deliver the episode: its row is the one used (the most up to date) ← cla_clean.academic_year_end"
    )
    year_rows: Int = pa.Field(
        ge=1,
        description="Number of yearly rows that delivered this episode (same pupil and commenced date) ← cla_clean.pupil_id, cla_clean.cla_date_epi_comm",
    )
    cla_cla_la: Text = pa.Field(
        nullable=True,
        description="Responsible LA on the row used, as delivered (missing where no authority in force that year) ← cla_clean.cla_cla_la",
    )
    la: Text = pa.Field(
        nullable=True,
        description=(
            "Responsible LA of the episode in the run's geography (resource la_geography): by default harmonised to the "
            "2018 authorities, a predecessor abolished in 2009 (820 Bedfordshire, 875 Cheshire) taking the successor on "
            "the same pupil's latest CLA row that has one, else staying and counted in the metadata; as_delivered: "
            "cla_cla_la ← cla_clean.cla_cla_la, cla_clean.pupil_id, cla_clean.academic_year_end"
        ),
    )
    cla_poc_start: Date = pa.Field(
        nullable=True, description="Start of the period of care the episode belongs to ← cla_clean.cla_poc_start"
    )
    cla_cat_need: Code = pa.Field(
        nullable=True,
        isin=codelists.codes("cla_category_of_need"),
        description="Category of need on the row used ← cla_clean.cla_cat_need",
    )
    cla_legal_status: Code = pa.Field(
        nullable=True,
        isin=codelists.codes("cla_legal_status"),
        description="Legal status on the row used ← cla_clean.cla_legal_status",
    )
    legal_group: Code = pa.Field(
        nullable=True,
        isin=list(LEGAL_GROUPS),
        description="Group of the legal status (code-list data: care order, placement order, section 20, youth justice, emergency protection) ← cla_legal_status",
    )
    cla_placement: Code = pa.Field(
        nullable=True,
        isin=codelists.codes("cla_placement"),
        description="Placement type on the row used ← cla_clean.cla_placement",
    )
    placement_family: Code = pa.Field(
        nullable=True,
        isin=list(PLACEMENT_FAMILIES),
        description="Family of the placement type (code-list data: foster, kinship, residential, with parents, adoption, independent living, other) ← cla_placement",
    )
    cla_rec: Code = pa.Field(
        nullable=True,
        isin=codelists.codes("cla_reason_episode_ceased"),
        description="Reason the episode ceased (missing while open) ← cla_clean.cla_rec",
    )

    @pa.dataframe_check(description="Episodes are unique per pupil and start date")
    def one_row_per_episode(cls, df: pd.DataFrame) -> bool:
        return not df.duplicated(["pupil_id", "episode_start"]).any()


class ClaPupilSummary(_Derived):
    """One row per pupil with a CLA record."""

    pupil_id: Text = pa.Field(
        unique_values=True, description="A pupil with at least one CLA episode ← cla_episodes.pupil_id"
    )
    first_care_date: Date = pa.Field(description="Earliest episode start of the pupil ← cla_episodes.episode_start")
    last_care_date: Date = pa.Field(
        description=(
            "Latest episode end of the pupil; an episode with no ceased date delivered ends at 31 March of the last "
            "collection year it was delivered in (censored, as in cla_episodes) ← cla_episodes.episode_end"
        )
    )
    in_care_at_end_of_data: Flag = pa.Field(
        description=(
            "The pupil's latest episode (by start) has no ceased date and was delivered in the extract's last collection "
            "year (the latest academic_year_end of cla_clean); an open episode of an earlier year, whose end was never "
            "delivered, does not count ← cla_episodes.censored, cla_episodes.last_year, cla_episodes.episode_start"
        )
    )
    episodes: Int = pa.Field(ge=1, description="Number of the pupil's episodes ← cla_episodes.episode_start")
    days_in_care: Int = pa.Field(
        ge=0,
        description="Days in care: the union of the pupil's episode intervals, overlapping or repeated records counted once (a lower bound with the one-row-per-year release) ← cla_episodes.episode_start, cla_episodes.episode_end",
    )
    academic_years_in_care: Int = pa.Field(
        ge=1,
        description="Number of distinct collection years with a CLA row for the pupil ← cla_clean.academic_year_end",
    )
    days_foster: Int = pa.Field(
        ge=0,
        description="Days in foster placements (U4-U6) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end",
    )
    ever_foster: Flag = pa.Field(description="Any foster placement ← cla_episodes.placement_family")
    days_kinship: Int = pa.Field(
        ge=0,
        description="Days with relatives or friends (U1-U3) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end",
    )
    ever_kinship: Flag = pa.Field(description="Any kinship placement ← cla_episodes.placement_family")
    days_residential: Int = pa.Field(
        ge=0,
        description="Days in residential settings (K1-K3, H5, R1-R5, S1) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end",
    )
    ever_residential: Flag = pa.Field(description="Any residential placement ← cla_episodes.placement_family")
    days_with_parents: Int = pa.Field(
        ge=0,
        description="Days placed with parents (P1) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end",
    )
    ever_with_parents: Flag = pa.Field(description="Ever placed with parents ← cla_episodes.placement_family")
    days_adoption: Int = pa.Field(
        ge=0,
        description="Days placed for adoption (A3-A6) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end",
    )
    ever_adoption: Flag = pa.Field(description="Ever placed for adoption ← cla_episodes.placement_family")
    days_independent_living: Int = pa.Field(
        ge=0,
        description="Days in independent living (P2) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end",
    )
    ever_independent_living: Flag = pa.Field(description="Ever in independent living ← cla_episodes.placement_family")
    days_other: Int = pa.Field(
        ge=0,
        description="Days in other placements (P3, T0-T4, Z1) ← cla_episodes.placement_family, cla_episodes.episode_start, cla_episodes.episode_end",
    )
    ever_other: Flag = pa.Field(description="Any other placement ← cla_episodes.placement_family")
    placement_changes: Int = pa.Field(
        ge=0,
        description="Number of times the placement type differs from the previous episode's, episodes in start order ← cla_episodes.cla_placement, cla_episodes.episode_start",
    )
    ever_care_order: Flag = pa.Field(description="Legal status C1/C2 ever held ← cla_episodes.legal_group")
    ever_placement_order: Flag = pa.Field(description="Legal status D1/E1 ever held ← cla_episodes.legal_group")
    ever_section_20: Flag = pa.Field(description="Legal status V2-V4 ever held ← cla_episodes.legal_group")
    ever_youth_justice: Flag = pa.Field(description="Legal status J1-J3 ever held ← cla_episodes.legal_group")
    ever_emergency_protection: Flag = pa.Field(description="Legal status L1-L3 ever held ← cla_episodes.legal_group")
    first_cat_need: Code = pa.Field(
        nullable=True,
        isin=codelists.codes("cla_category_of_need"),
        description="Category of need of the pupil's first episode ← cla_episodes.cla_cat_need, cla_episodes.episode_start",
    )
    la_first: Text = pa.Field(
        nullable=True,
        description="Responsible LA of the pupil's first episode, in the run's geography ← cla_episodes.la, cla_episodes.episode_start",
    )


class CinPupilSummary(_Derived):
    """One row per pupil with a CIN record."""

    pupil_id: Text = pa.Field(unique_values=True, description="A pupil with at least one CIN row ← cin_clean.pupil_id")
    cin_rows: Int = pa.Field(ge=1, description="Number of the pupil's CIN rows ← cin_clean.pupil_id")
    years_in_need: Int = pa.Field(
        ge=0,
        le=9,
        description="Number of distinct years in which the pupil was a child in need on 31 March (the guide's low-precision indicator) ← cin_clean.cin_cin_at31march, cin_clean.academic_year_end",
    )
    referral_only: Flag = pa.Field(
        description="In the CIN extract but never a child in need on 31 March (years_in_need is 0; a blank flag counts as not in need) ← years_in_need"
    )
    at31march_missing_rows: Int = pa.Field(
        ge=0, description="Number of the pupil's CIN rows with a blank 31 March flag ← cin_clean.cin_cin_at31march"
    )
    any_referral_nfa: Flag = pa.Field(
        description="Any of the pupil's referrals closed with no further action ← cin_clean.cin_referral_nfa"
    )
    referral_check: Code = pa.Field(
        isin=["both", "flag_only", "nfa_only", "neither"],
        description="The two referral-only definitions compared: both (never in need on 31 March and NFA), flag_only, nfa_only, neither ← referral_only, any_referral_nfa",
    )
    first_cin_year: Year = pa.Field(
        description="First collection year with a CIN row for the pupil ← cin_clean.academic_year_end"
    )
    latest_cin_year: Year = pa.Field(
        description="Latest collection year with a CIN row for the pupil ← cin_clean.academic_year_end"
    )
    latest_primary_need: Code = pa.Field(
        nullable=True,
        isin=codelists.codes("cin_primary_need"),
        description="Primary need code of the most recent year that has one ← cin_clean.cin_primary_need_code, cin_clean.academic_year_end",
    )
    only_weak_coverage_years: Flag = pa.Field(
        description="Every CIN row of the pupil falls in 2008/09-2011/12, the years of weaker completeness ← latest_cin_year"
    )


class CppFlags(_Derived):
    pupil_id: Text = pa.Field(unique_values=True, description="A pupil with at least one CIN row ← cin_clean.pupil_id")
    cpp_method_a: Flag = pa.Field(
        description=(
            "Method a: a category of abuse is recorded in any year (current and initial category, and with config "
            "cpp_method_a = all_three, the default, the latest category too; coalesced per row) "
            "← cin_clean.cin_category_of_abuse, cin_clean.cin_initial_category_of_abuse, cin_clean.cin_latest_category_of_abuse"
        )
    )
    previous_cpp_total: Int = pa.Field(
        ge=0,
        description="Number of previous child protection plans summed over the pupil's rows (blank counts as 0) ← cin_clean.cin_number_of_previous_cpp",
    )
    cpp_method_b: Flag = pa.Field(description="Method b: previous_cpp_total is 1 or more ← previous_cpp_total")
    cpp: Flag = pa.Field(description="On a child protection plan by method a or method b ← cpp_method_a, cpp_method_b")
    method_agreement: Code = pa.Field(
        isin=["both", "a_only", "b_only", "neither"],
        description="Which methods find a plan: both, a_only, b_only, neither ← cpp_method_a, cpp_method_b",
    )
    first_category_of_abuse: Code = pa.Field(
        nullable=True,
        isin=codelists.codes("cin_category_of_abuse"),
        description="Category of abuse of the pupil's first row that has one (current, initial or latest, coalesced) ← cin_clean.cin_category_of_abuse, cin_clean.cin_initial_category_of_abuse, cin_clean.cin_latest_category_of_abuse, cin_clean.academic_year_end",
    )


class TallyTable(_Derived):
    table: Series[str] = pa.Field(
        description="Which cross-check the row belongs to (referral_check or cpp_method_agreement)"
    )
    category: Series[str] = pa.Field(description="A category of that cross-check (e.g. both, flag_only)")
    pupils: Series[int] = pa.Field(
        ge=0,
        description="Number of pupils in the category, counted from the per-pupil table (cin_pupil_summary.referral_check or cpp_flags.method_agreement)",
    )


class InterventionLevel(_Derived):
    """One row per spine pupil with the highest level of social-care involvement."""

    pupil_id: Text = pa.Field(
        unique_values=True, description="Spine pupil: one row for each pupil of the clean spine ← spine_clean.pupil_id"
    )
    moj_uid: Text = pa.Field(
        nullable=True, description="The pupil's MoJ person identifier from the spine ← spine_clean.moj_uid"
    )
    level: Code = pa.Field(
        isin=list(LEVELS),
        description=(
            "Highest social-care level reached, ordered none < referral_only < child_in_need < child_protection_plan "
            "< looked_after: looked after if the pupil has any delivered CLA row with a usable pupil reference (clean or "
            "quarantined); else on a plan if cpp; else in need if years_in_need > 0; else referral only if the pupil has "
            "any usable CIN row (clean or quarantined); else none "
            "← cla_pupil_summary.pupil_id, cla_quarantine.pupil_id, cpp_flags.cpp, cin_pupil_summary.years_in_need, "
            "cin_pupil_summary.pupil_id, cin_quarantine.pupil_id"
        ),
    )
    in_cin_data: Flag = pa.Field(
        description=(
            "The pupil has a CIN row with a usable pupil reference, clean or quarantined "
            "← cin_pupil_summary.pupil_id, cin_quarantine.pupil_id"
        )
    )
    in_cla_data: Flag = pa.Field(
        description=(
            "The pupil has a CLA row with a usable pupil reference, clean or quarantined; a looked-after pupil whose every "
            "CLA row is quarantined has the CLA columns missing ← cla_pupil_summary.pupil_id, cla_quarantine.pupil_id"
        )
    )
    ks4_year: Text = pa.Field(
        description="The pupil's KS4 cohort (academic year of the KS4 exams) ← spine_clean.academic_year"
    )
    la: Text = pa.Field(
        nullable=True,
        description=(
            "The pupil's LA at KS4 in the run's geography (resource la_geography; by default harmonised to the 2018 "
            "authorities: a predecessor number with one successor mapped to it, one with several kept and counted in "
            "the metadata); missing where the delivered number is no authority in force in the KS4 year "
            "← spine_clean.ks4_la, spine_clean.academic_year_end"
        ),
    )
    sex: Text = pa.Field(
        nullable=True, isin=codelists.codes("sex"), description="The pupil's sex (M/F) ← spine_clean.ks4_gender"
    )
    fsm: Flag = pa.Field(
        nullable=True, description="Eligible for free school meals in the last 6 years ← spine_clean.ks4_fsm_ever6"
    )
    years_in_need: Int = pa.Field(
        nullable=True,
        description="Years in need on 31 March (missing = no CIN record) ← cin_pupil_summary.years_in_need",
    )
    referral_only: Flag = pa.Field(
        nullable=True,
        description="In CIN but never in need on 31 March (missing = no CIN record) ← cin_pupil_summary.referral_only",
    )
    first_cin_year: Year = pa.Field(
        nullable=True,
        description="First CIN collection year (missing = no CIN record) ← cin_pupil_summary.first_cin_year",
    )
    latest_cin_year: Year = pa.Field(
        nullable=True,
        description="Latest CIN collection year (missing = no CIN record) ← cin_pupil_summary.latest_cin_year",
    )
    cpp: Flag = pa.Field(
        nullable=True,
        description="On a child protection plan by either method (missing = no CIN record) ← cpp_flags.cpp",
    )
    cpp_method_a: Flag = pa.Field(
        nullable=True, description="Plan found by the category-of-abuse items ← cpp_flags.cpp_method_a"
    )
    cpp_method_b: Flag = pa.Field(
        nullable=True, description="Plan found by the previous-plans count ← cpp_flags.cpp_method_b"
    )
    days_in_care: Int = pa.Field(
        nullable=True,
        description="Days in care, overlaps counted once (missing = no CLA record) ← cla_pupil_summary.days_in_care",
    )
    episodes: Int = pa.Field(
        nullable=True, description="Number of CLA episodes (missing = no CLA record) ← cla_pupil_summary.episodes"
    )
    first_care_date: Date = pa.Field(
        nullable=True, description="First date of care (missing = no CLA record) ← cla_pupil_summary.first_care_date"
    )
    academic_years_in_care: Int = pa.Field(
        nullable=True,
        description="Collection years with a CLA row (missing = no CLA record) ← cla_pupil_summary.academic_years_in_care",
    )

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

    pupil_id: Text = pa.Field(
        unique_values=True, description="A spine pupil (one row each) ← intervention_level.pupil_id"
    )
    level: Code = pa.Field(
        isin=list(LEVELS), description="Highest social-care level reached ← intervention_level.level"
    )
    sex: Text = pa.Field(nullable=True, description="The pupil's sex (M/F) ← intervention_level.sex")
    fsm: Flag = pa.Field(
        nullable=True, description="Eligible for free school meals in the last 6 years ← intervention_level.fsm"
    )
    ks4_year: Text = pa.Field(description="The pupil's KS4 cohort ← intervention_level.ks4_year")
    la: Text = pa.Field(nullable=True, description="LA at KS4 ← intervention_level.la")
    gcse_level2_em: Flag = pa.Field(
        nullable=True,
        description=(
            "Achieved GCSE-or-equivalent level 2 incl. English and maths, from the pupil's latest KS4 row (missing = no "
            "result) ← ks4_clean.ks4_level2_em, ks4_clean.academic_year_end"
        ),
    )
    attainment8: Series[pd.Float64Dtype] = pa.Field(
        nullable=True,
        ge=0,
        le=90,
        description="Attainment 8 score from the pupil's latest KS4 row (from 2015/16; missing before or with no result) ← ks4_clean.ks4_att8, ks4_clean.academic_year_end",
    )
    unauthorised_sessions: Int = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Unauthorised absence over secondary school, in half-day sessions, summed over the pupil's absence rows "
            "(missing = no absence record) ← absence_clean.ab_sessions_unauthorised"
        ),
    )
    sessions_possible: Int = pa.Field(
        nullable=True,
        ge=0,
        description="Half-day sessions possible, summed over the pupil's absence rows (the exposure of unauthorised_sessions) ← absence_clean.ab_sessions_possible",
    )
    fixed_period_exclusions: Int = pa.Field(
        ge=0,
        description="Number of fixed-period exclusions (0 with no exclusion row) ← exclusions_clean.exc_category, exclusions_clean.pupil_id",
    )
    fixed_period_sessions: Int = pa.Field(
        ge=0,
        description=(
            "Sessions missed through fixed-period exclusions, summed (0 with no exclusion row) ← exclusions_clean.exc_sessions, "
            "exclusions_clean.exc_category"
        ),
    )
    permanent_exclusion: Flag = pa.Field(
        description="Ever permanently excluded (a PERM exclusion row) ← exclusions_clean.exc_category, exclusions_clean.pupil_id"
    )
    moj_link: Code = pa.Field(
        isin=list(MOJ_LINKS),
        description=(
            "Whether offending (PNC) records are linked to the pupil: linked (the spine's MoJUID, carried by no other "
            "pupil and the only MoJUID of this pupil in any extract); no_moj_uid (the spine row has none); "
            "shared_moj_uid (another pupil reference carries the same MoJUID in the spine, CIN, CLA, KS4, absence or "
            "exclusions: whose records they are cannot be told); conflicting_moj_uids (this pupil carries different "
            "MoJUIDs across those extracts). Offending outcomes are missing unless linked "
            "← intervention_level.moj_uid, cin_clean.moj_uid, cla_clean.moj_uid, ks4_clean.moj_uid, "
            "absence_clean.moj_uid, exclusions_clean.moj_uid"
        ),
    )
    cautions: Int = pa.Field(
        nullable=True,
        ge=0,
        description="Number of cautions (PNC disposals in the caution group), linked on MoJUID (missing unless moj_link is linked) ← offending_clean.pnc_disposal, offending_clean.moj_uid, intervention_level.moj_uid, moj_link",
    )
    convictions: Int = pa.Field(
        nullable=True,
        ge=0,
        description="Number of convictions (non-custodial or custodial disposals), linked on MoJUID (missing unless moj_link is linked) ← offending_clean.pnc_disposal, offending_clean.moj_uid, intervention_level.moj_uid, moj_link",
    )
    conviction_group: Code = pa.Field(
        nullable=True,
        isin=list(CONVICTION_GROUPS),
        description=("Convictions grouped none < one < two_or_more (missing = not linked) ← convictions"),
    )
    most_severe_disposal: Code = pa.Field(
        nullable=True,
        isin=list(SEVERITY),
        description=(
            "Most severe disposal, none < caution < non_custodial < custodial (missing = not linked) "
            "← offending_clean.pnc_disposal, offending_clean.moj_uid, intervention_level.moj_uid"
        ),
    )
    first_cj_contact_date: Date = pa.Field(
        nullable=True,
        description=(
            "Date of the pupil's first caution or conviction (missing = none, or not linked) "
            "← offending_clean.pnc_disposal_date, offending_clean.moj_uid, intervention_level.moj_uid"
        ),
    )


class ContactSequence(_Derived):
    """Pupils with both social-care and criminal-justice contact: which came first, by how long."""

    pupil_id: Text = pa.Field(
        unique_values=True,
        description="Spine pupil with both social-care and criminal-justice contact ← pupil_outcomes.pupil_id",
    )
    level: Code = pa.Field(isin=list(LEVELS), description="Highest social-care level reached ← pupil_outcomes.level")
    first_social_care_date: Date = pa.Field(
        description=(
            "Earliest social-care contact: first CLA date, or 1 April of the first CIN collection year "
            "(CIN rows carry years, not dates) ← cla_pupil_summary.first_care_date, cin_pupil_summary.first_cin_year"
        )
    )
    first_cj_contact_date: Date = pa.Field(
        description="Date of the first caution or conviction ← pupil_outcomes.first_cj_contact_date"
    )
    social_care_first: Flag = pa.Field(
        description="Social care recorded before the first caution or conviction (gap_days > 0) ← gap_days"
    )
    gap_days: Int = pa.Field(
        description="Days from the first social-care contact to the first caution or conviction (negative: criminal justice first) ← first_cj_contact_date, first_social_care_date"
    )
    gap_group: Code = pa.Field(
        isin=["cj_first", "sc_first_under_1y", "sc_first_1y_plus"],
        description=(
            "Criminal justice first (gap_days ≤ 0); social care first by under a year; by a year or more ← gap_days"
        ),
    )


# ---------------------------------------------------------------------------------------------
# Research question 1: outcomes by intervention level

OUTCOME_NAMES = (
    "gcse_level2_em",
    "fixed_period_exclusion",
    "permanent_exclusion",
    "cj_contact",
    "custodial",
    "unauthorised_sessions",
    "fixed_period_sessions",
    "conviction_group",
    "most_severe_disposal",
)
Real = Series[pd.Float64Dtype]


class InterventionOutcomeSummary(_Derived):
    """Per intervention level and outcome: n, and a rate, median or category share with its 95% CI."""

    level: Code = pa.Field(isin=list(LEVELS), description="The intervention level summarised ← pupil_outcomes.level")
    outcome: Text = pa.Field(
        isin=list(OUTCOME_NAMES),
        description=(
            "Which outcome: a column of pupil_outcomes, or cj_contact (a first caution or conviction date is recorded), "
            "custodial (the most severe disposal is custodial) or fixed_period_exclusion (any fixed-period exclusion)"
        ),
    )
    measure: Text = pa.Field(
        isin=["rate", "median", "share"],
        description=(
            "rate: share of pupils with the outcome (Wilson 95% CI); median: median count (order-statistic 95% CI); "
            "share: share of pupils in `category` (Wilson 95% CI)"
        ),
    )
    category: Text = pa.Field(
        nullable=True, description="Category of an ordinal outcome (for measure share), e.g. two_or_more"
    )
    n: Series[int] = pa.Field(
        ge=0,
        description=(
            "Pupils at this level with the outcome recorded ← pupil_outcomes.level, pupil_outcomes.gcse_level2_em, pupil_outcomes.permanent_exclusion, pupil_outcomes.first_cj_contact_date, pupil_outcomes.most_severe_disposal, pupil_outcomes.unauthorised_sessions, pupil_outcomes.sessions_possible, pupil_outcomes.fixed_period_sessions, pupil_outcomes.fixed_period_exclusions, pupil_outcomes.conviction_group"
        ),
    )
    events: Real = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Pupils with the outcome, or in the category (rates and shares) ← pupil_outcomes.level, pupil_outcomes.gcse_level2_em, pupil_outcomes.permanent_exclusion, pupil_outcomes.first_cj_contact_date, pupil_outcomes.most_severe_disposal, pupil_outcomes.unauthorised_sessions, pupil_outcomes.sessions_possible, pupil_outcomes.fixed_period_sessions, pupil_outcomes.fixed_period_exclusions, pupil_outcomes.conviction_group"
        ),
    )
    estimate: Real = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "The rate or share (events / n), or the median count ← events, n, pupil_outcomes.gcse_level2_em, pupil_outcomes.permanent_exclusion, pupil_outcomes.first_cj_contact_date, pupil_outcomes.most_severe_disposal, pupil_outcomes.unauthorised_sessions, pupil_outcomes.sessions_possible, pupil_outcomes.fixed_period_sessions, pupil_outcomes.fixed_period_exclusions, pupil_outcomes.conviction_group"
        ),
    )
    ci_low: Real = pa.Field(
        nullable=True, ge=0, description="Lower 95% confidence limit of the estimate ← estimate, events, n"
    )
    ci_high: Real = pa.Field(
        nullable=True, ge=0, description="Upper 95% confidence limit of the estimate ← estimate, events, n"
    )

    @pa.dataframe_check(description="ci_low <= estimate <= ci_high where all are present")
    def ci_brackets_estimate(cls, df: pd.DataFrame) -> pd.Series:
        ok = (df["ci_low"] <= df["estimate"] + 1e-9) & (df["estimate"] <= df["ci_high"] + 1e-9)
        return ok.fillna(True).astype(bool)


class InterventionOutcomeModels(_Derived):
    """Regression estimates (ratios) of each outcome on intervention level, sex, cohort and FSM."""

    outcome: Text = pa.Field(
        isin=list(OUTCOME_NAMES), description="The outcome modelled (as in intervention_outcome_summary)"
    )
    model: Text = pa.Field(
        description="Model family fitted with statsmodels (logistic, quasi-Poisson, ordinal logistic)"
    )
    measure: Text = pa.Field(
        isin=["odds ratio", "rate ratio", "cumulative odds ratio"], description=("What `estimate` is: exp(coefficient)")
    )
    term: Text = pa.Field(
        description=(
            "Model term, 'variable:value' against the reference (level none, first sex, first cohort, not FSM)"
        )
    )
    estimate: Real = pa.Field(
        nullable=True,
        gt=0,
        description=(
            "Odds, rate or cumulative odds ratio of the term, adjusted for the other terms (missing: see note) "
            "← pupil_outcomes.level, pupil_outcomes.sex, pupil_outcomes.ks4_year, pupil_outcomes.fsm, pupil_outcomes.gcse_level2_em, pupil_outcomes.permanent_exclusion, pupil_outcomes.first_cj_contact_date, pupil_outcomes.most_severe_disposal, pupil_outcomes.unauthorised_sessions, pupil_outcomes.sessions_possible, pupil_outcomes.fixed_period_sessions, pupil_outcomes.fixed_period_exclusions, pupil_outcomes.conviction_group"
        ),
    )
    ci_low: Real = pa.Field(nullable=True, ge=0, description="Lower 95% confidence limit of the ratio ← estimate")
    ci_high: Real = pa.Field(nullable=True, gt=0, description="Upper 95% confidence limit of the ratio ← estimate")
    p_value: Real = pa.Field(nullable=True, ge=0, le=1, description="Wald test p-value of the term ← estimate")
    n: Series[int] = pa.Field(
        ge=0,
        description=(
            "Pupils in the model: those with the outcome and every covariate recorded ← pupil_outcomes.level, pupil_outcomes.sex, pupil_outcomes.ks4_year, pupil_outcomes.fsm, pupil_outcomes.gcse_level2_em, pupil_outcomes.permanent_exclusion, pupil_outcomes.first_cj_contact_date, pupil_outcomes.most_severe_disposal, pupil_outcomes.unauthorised_sessions, pupil_outcomes.sessions_possible, pupil_outcomes.fixed_period_sessions, pupil_outcomes.fixed_period_exclusions, pupil_outcomes.conviction_group"
        ),
    )
    note: Text = pa.Field(nullable=True, description="Why a term has no estimate (missing when it has one)")


# ---------------------------------------------------------------------------------------------
# Research question 2: local authorities

OUTLIER_FLAGS = ("high_99.8", "high_95", "within", "low_95", "low_99.8")


class LaAggregates(_Derived):
    """Per LA × intervention level: caution or conviction, observed against expected."""

    la: Text = pa.Field(str_matches=LA_CODE_PATTERN, description="The pupils' LA at KS4 ← pupil_outcomes.la")
    level: Code = pa.Field(isin=list(LEVELS), description="Highest social-care level reached ← pupil_outcomes.level")
    pupils: Series[int] = pa.Field(
        ge=1,
        description=(
            "Spine pupils of the LA at this level linked to MoJ data (offending outcomes recorded) "
            "← pupil_outcomes.la, pupil_outcomes.level, pupil_outcomes.most_severe_disposal"
        ),
    )
    cj_contact: Series[int] = pa.Field(
        ge=0,
        description=(
            "Of those, pupils cautioned or convicted ← pupil_outcomes.la, pupil_outcomes.level, "
            "pupil_outcomes.first_cj_contact_date"
        ),
    )
    rate: Series[float] = pa.Field(ge=0, le=1, description="Crude rate: cj_contact / pupils ← cj_contact, pupils")
    expected: Series[float] = pa.Field(
        ge=0,
        description=(
            "Expected cautioned or convicted at the national rate of this level: pupils × (England's cj_contact / "
            "pupils at the level) ← pupils, cj_contact, level"
        ),
    )
    oe_ratio: Series[float] = pa.Field(
        nullable=True, ge=0, description="Observed / expected: cj_contact / expected ← cj_contact, expected"
    )
    oe_ci_low: Series[float] = _poisson_ci("oe_ratio", "lower", "expected")
    oe_ci_high: Series[float] = _poisson_ci("oe_ratio", "upper", "expected")
    la_non_sc_rate: Series[float] = pa.Field(
        ge=0,
        le=1,
        description=(
            "The LA's caution-or-conviction rate among its pupils with no social-care contact (level none): its "
            "non-social-care offending ← pupil_outcomes.la, pupil_outcomes.level, pupil_outcomes.first_cj_contact_date"
        ),
    )
    la_idaci: Series[float] = pa.Field(
        nullable=True,
        ge=0,
        le=1,
        description=(
            "The LA's poverty rate: IDACI average score from the LA context extract ← la_context_clean.idaci_average_score"
        ),
    )
    adjusted_expected: Series[float] = pa.Field(
        ge=0,
        description=(
            "Expected cautioned or convicted for pupils like these in an LA like this: the sum of each pupil's "
            "probability under a national logistic model of level, sex, cohort, FSM, la_non_sc_rate and la_idaci "
            "← pupil_outcomes.level, pupil_outcomes.sex, pupil_outcomes.ks4_year, pupil_outcomes.fsm, "
            "pupil_outcomes.first_cj_contact_date, la_non_sc_rate, la_idaci"
        ),
    )
    adjusted_ratio: Series[float] = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "The LA's standardised ratio against the national average: cj_contact / adjusted_expected "
            "← cj_contact, adjusted_expected"
        ),
    )
    adjusted_ci_low: Series[float] = _poisson_ci("adjusted_ratio", "lower", "adjusted_expected")
    adjusted_ci_high: Series[float] = _poisson_ci("adjusted_ratio", "upper", "adjusted_expected")
    funnel_95_low: Series[float] = pa.Field(
        nullable=True,
        description=("Funnel-plot 95% control limit for the ratio at this expected count, lower ← adjusted_expected"),
    )
    funnel_95_high: Series[float] = pa.Field(
        nullable=True,
        description=("Funnel-plot 95% control limit for the ratio at this expected count, upper ← adjusted_expected"),
    )
    funnel_998_low: Series[float] = pa.Field(
        nullable=True, description=("Funnel-plot 99.8% control limit, lower ← adjusted_expected")
    )
    funnel_998_high: Series[float] = pa.Field(
        nullable=True, description=("Funnel-plot 99.8% control limit, upper ← adjusted_expected")
    )
    outlier: Code = pa.Field(
        isin=list(OUTLIER_FLAGS),
        description=(
            "Where adjusted_ratio falls against the funnel: beyond 99.8% (outlier), beyond 95% (alert), or within "
            "← adjusted_ratio, funnel_95_low, funnel_95_high, funnel_998_low, funnel_998_high"
        ),
    )


class LaAggregatesPublishable(_Derived):
    """la_aggregates after statistical disclosure control, for release from the SRS."""

    la: Text = pa.Field(description="LA code, or 'total' (England) ← la_aggregates.la")
    level: Text = pa.Field(
        isin=[*LEVELS, "all"], description="Intervention level, or 'all' (the LA total) ← la_aggregates.level"
    )
    pupils: Int = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Linked pupils, rounded to base 5; missing = suppressed (1-9, or to protect another cell) ← la_aggregates.pupils"
        ),
    )
    cj_contact: Int = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Pupils cautioned or convicted, rounded to base 5; missing = suppressed ← la_aggregates.cj_contact"
        ),
    )
    rate: Real = pa.Field(
        nullable=True,
        ge=0,
        le=1,
        description=("Published cj_contact / published pupils (never from unrounded counts) ← cj_contact, pupils"),
    )
    adjusted_ratio: Real = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Published cj_contact / adjusted expected count, to 2 decimals, only where cj_contact is published "
            "← cj_contact, la_aggregates.adjusted_expected"
        ),
    )
    outlier: Text = pa.Field(
        nullable=True,
        isin=list(OUTLIER_FLAGS),
        description=("The funnel flag from la_aggregates, only where cj_contact is published ← la_aggregates.outlier"),
    )
    suppressed: Flag = pa.Field(
        description=(
            "Any count of this cell suppressed (primary: 1-9; secondary: to protect another cell) "
            "← la_aggregates.pupils, la_aggregates.cj_contact"
        )
    )


class RegionAggregates(_Derived):
    """Per region × intervention level: caution or conviction, observed against expected (the LA
    comparison summed over each region's authorities)."""

    region_code: Text = pa.Field(
        description=(
            "ONS code of the region (E12…) the LA belongs to in the 2018 geography (code-list data); 'unknown' for an "
            "LA code that is not a 2018 authority ← la_aggregates.la"
        )
    )
    region_name: Text = pa.Field(description="Name of the region ← region_code")
    level: Code = pa.Field(isin=list(LEVELS), description="Highest social-care level reached ← la_aggregates.level")
    las: Series[int] = pa.Field(
        ge=1, description="Authorities of the region with pupils at this level ← la_aggregates.la"
    )
    pupils: Series[int] = pa.Field(
        ge=1, description="Linked pupils, summed over the region's LAs ← la_aggregates.pupils"
    )
    cj_contact: Series[int] = pa.Field(
        ge=0, description=("Pupils cautioned or convicted, summed over the region's LAs ← la_aggregates.cj_contact")
    )
    rate: Series[float] = pa.Field(ge=0, le=1, description="Crude rate: cj_contact / pupils ← cj_contact, pupils")
    adjusted_expected: Series[float] = pa.Field(
        ge=0,
        description=(
            "Expected cautioned or convicted from the national model, summed over the region's LAs "
            "← la_aggregates.adjusted_expected"
        ),
    )
    adjusted_ratio: Series[float] = pa.Field(
        nullable=True,
        ge=0,
        description=("The region's standardised ratio: cj_contact / adjusted_expected ← cj_contact, adjusted_expected"),
    )
    adjusted_ci_low: Series[float] = _poisson_ci("adjusted_ratio", "lower", "adjusted_expected")
    adjusted_ci_high: Series[float] = _poisson_ci("adjusted_ratio", "upper", "adjusted_expected")
    outlier: Code = pa.Field(
        isin=list(OUTLIER_FLAGS),
        description=(
            "Where adjusted_ratio falls against the funnel limits at this expected count ← adjusted_ratio, "
            "adjusted_expected"
        ),
    )


class RegionAggregatesPublishable(_Derived):
    """region_aggregates after statistical disclosure control, for release from the SRS."""

    region_code: Text = pa.Field(description="ONS region code, or 'total' (England) ← region_aggregates.region_code")
    level: Text = pa.Field(isin=[*LEVELS, "all"], description="Intervention level, or 'all' ← region_aggregates.level")
    pupils: Int = pa.Field(
        nullable=True,
        ge=0,
        description=("Linked pupils, rounded to base 5; missing = suppressed ← region_aggregates.pupils"),
    )
    cj_contact: Int = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Pupils cautioned or convicted, rounded to base 5; missing = suppressed ← region_aggregates.cj_contact"
        ),
    )
    rate: Real = pa.Field(
        nullable=True, ge=0, le=1, description="Published cj_contact / published pupils ← cj_contact, pupils"
    )
    adjusted_ratio: Real = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Published cj_contact / adjusted expected, to 2 decimals, only where cj_contact is published "
            "← cj_contact, region_aggregates.adjusted_expected"
        ),
    )
    outlier: Text = pa.Field(
        nullable=True,
        isin=list(OUTLIER_FLAGS),
        description=("The funnel flag, only where cj_contact is published ← region_aggregates.outlier"),
    )
    suppressed: Flag = pa.Field(
        description=("Any count of this cell suppressed ← region_aggregates.pupils, region_aggregates.cj_contact")
    )


# ---------------------------------------------------------------------------------------------
# For export from the SRS (exports.py): research question 1 protected, and the request

OUTCOME_SOURCES = (
    "pupil_outcomes.level, pupil_outcomes.gcse_level2_em, pupil_outcomes.permanent_exclusion, "
    "pupil_outcomes.first_cj_contact_date, pupil_outcomes.most_severe_disposal, "
    "pupil_outcomes.unauthorised_sessions, pupil_outcomes.sessions_possible, "
    "pupil_outcomes.fixed_period_sessions, pupil_outcomes.fixed_period_exclusions, "
    "pupil_outcomes.conviction_group"
)
SUMMARY_SOURCES = (
    f"{OUTCOME_SOURCES}, pupil_outcomes.la, la_aggregates_publishable.pupils, la_aggregates_publishable.cj_contact"
)


class InterventionOutcomeSummaryExport(_Derived):
    """intervention_outcome_summary after disclosure control, for release from the SRS."""

    level: Text = pa.Field(
        isin=[*LEVELS, "all"],
        description=("The intervention level summarised, or 'all' (every level) ← pupil_outcomes.level"),
    )
    outcome: Text = pa.Field(
        isin=list(OUTCOME_NAMES),
        description=(
            "Which outcome, as in intervention_outcome_summary: a column of pupil_outcomes, or cj_contact, custodial or "
            "fixed_period_exclusion"
        ),
    )
    measure: Text = pa.Field(
        isin=["rate", "median", "share"],
        description=(
            "rate: share of pupils with the outcome; median: median count; share: share of pupils in `category`"
        ),
    )
    category: Text = pa.Field(
        nullable=True, description="Category of an ordinal outcome (for measure share), e.g. two_or_more"
    )
    n: Int = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Pupils at this level with the outcome recorded, rounded to base 5; missing = suppressed (1-9, or to "
            "protect another count of this table or of la_aggregates_publishable over the same pupils; offending "
            f"outcomes count linked pupils with an LA, as la_aggregates_publishable does) ← {SUMMARY_SOURCES}"
        ),
    )
    events: Int = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Pupils with the outcome (or in the category), rounded to base 5; missing = suppressed, or a median "
            f"← {SUMMARY_SOURCES}"
        ),
    )
    estimate: Real = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "events / n from the published (rounded) counts, or the median, published only with its n and when n is "
            f"at least 10 ← n, events, {OUTCOME_SOURCES}"
        ),
    )
    ci_low: Real = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Lower 95% limit: Wilson from the published counts, or the median's order statistic when at least 10 "
            "pupils lie at or beyond it ← n, events, estimate"
        ),
    )
    ci_high: Real = pa.Field(nullable=True, ge=0, description=("Upper 95% limit, as ci_low ← n, events, estimate"))
    suppressed: Flag = pa.Field(description="A count of this row (or its median) is suppressed ← n, events, estimate")
    flag: Text = pa.Field(
        nullable=True,
        description=(
            "For the output checker: 'zero' (a published count of 0) and/or 'full' (every pupil, or none, has the "
            "outcome), published under the disclosure policy's 'flag' ← n, events"
        ),
    )

    @pa.dataframe_check(description="ci_low <= estimate <= ci_high where all are present")
    def ci_brackets_estimate(cls, df: pd.DataFrame) -> pd.Series:
        ok = (df["ci_low"] <= df["estimate"] + 1e-9) & (df["estimate"] <= df["ci_high"] + 1e-9)
        return ok.fillna(True).astype(bool)


class InterventionOutcomeModelsExport(_Derived):
    """intervention_outcome_models after disclosure control, for release from the SRS."""

    outcome: Text = pa.Field(
        isin=list(OUTCOME_NAMES), description="The outcome modelled ← intervention_outcome_models.outcome"
    )
    model: Text = pa.Field(description="Model family fitted with statsmodels ← intervention_outcome_models.model")
    measure: Text = pa.Field(
        isin=["odds ratio", "rate ratio", "cumulative odds ratio"],
        description=("What `estimate` is: exp(coefficient) ← intervention_outcome_models.measure"),
    )
    term: Text = pa.Field(
        description="Model term, 'variable:value' against the reference ← intervention_outcome_models.term"
    )
    estimate: Real = pa.Field(
        nullable=True,
        gt=0,
        description=(
            "The term's ratio, withheld (missing) where disclosure control says so (see note) "
            "← intervention_outcome_models.estimate, cells_at_least_threshold, residual_df"
        ),
    )
    ci_low: Real = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Lower 95% confidence limit, withheld with the estimate ← intervention_outcome_models.ci_low, estimate"
        ),
    )
    ci_high: Real = pa.Field(
        nullable=True,
        gt=0,
        description=(
            "Upper 95% confidence limit, withheld with the estimate ← intervention_outcome_models.ci_high, estimate"
        ),
    )
    p_value: Real = pa.Field(
        nullable=True,
        ge=0,
        le=1,
        description=("Wald p-value, withheld with the estimate ← intervention_outcome_models.p_value, estimate"),
    )
    n: Int = pa.Field(ge=0, description="Pupils in the model, rounded to base 5 ← intervention_outcome_models.n")
    residual_df: Int = pa.Field(
        nullable=True,
        description=(
            "Residual degrees of freedom of the pupil-level model: n (rounded) minus its parameters (ACRO's "
            "regression rule: at least 10); missing when the model was not fitted ← n, intervention_outcome_models.term"
        ),
    )
    cells_at_least_threshold: Flag = pa.Field(
        description=(
            "Every cell the term rests on (pupils with the term's value with and without the outcome, or in each "
            "cumulative split; for a count model those with a count above 0) has at least 10 pupils "
            "← pupil_outcomes.level, pupil_outcomes.sex, pupil_outcomes.ks4_year, pupil_outcomes.fsm, "
            "intervention_outcome_models.term"
        )
    )
    suppressed: Flag = pa.Field(
        description=("The estimate is withheld by disclosure control ← cells_at_least_threshold, residual_df")
    )
    note: Text = pa.Field(
        nullable=True,
        description=(
            "Why a term has no estimate, or what the output checker should review (a count-model sum dominated by "
            "one or two pupils) ← intervention_outcome_models.note, suppressed"
        ),
    )


REQUEST_STATUSES = ("pass", "review", "fail")


class OutputCheckingRequest(_Derived):
    """One row per for-export output in the output-checking request (results.json beside it)."""

    uid: Text = pa.Field(
        unique=True,
        description=("The output's id in results.json: the name of the asset it is (its file in the request folder)"),
    )
    type: Text = pa.Field(
        isin=["table", "regression", "custom"],
        description=("ACRO's output type: table, regression, or custom (a chart)"),
    )
    status: Text = pa.Field(
        isin=list(REQUEST_STATUSES),
        description=(
            "pass: every rule holds; review: it holds, with something for the output checker to judge (zeros or full "
            "cells flagged, dominated sums, every chart); fail: a rule is broken in what is written ← checks"
        ),
    )
    file: Text = pa.Field(description="The output's file in the request folder (CSV or PNG)")
    sha256: Text = pa.Field(
        str_matches=r"^[0-9a-f]{64}$",
        description=("SHA-256 of the file, as in results.json and checksums/ (SACRO's viewer checks it) ← file"),
    )
    checks: Text = pa.Field(
        description=("Every check applied to the output with its outcome ('name: status; ...'): ACRO's checks and ours")
    )
    acro: Text = pa.Field(
        nullable=True,
        description=(
            "ACRO's own verdict on the pupil rows behind the output (its status; missing when ACRO was not run or "
            "does not apply)"
        ),
    )
    comment: Text = pa.Field(description="How the output is protected, for the output checker")


# ---------------------------------------------------------------------------------------------
# Comparison with England's published statistics (national.py)


class NationalComparison(_Derived):
    """One row per published figure: the published value, the extract's, and the tolerance band."""

    figure_id: Text = pa.Field(
        unique_values=True, description="Figure key (data/published_statistics.csv, column figure_id)"
    )
    target: Text = pa.Field(description="Item of the calibration targets (national-statistics.md section 8)")
    figure: Text = pa.Field(description="What is compared, in words")
    year: Text = pa.Field(description="Year(s) of the published figure (years to 31 March, or KS4/academic years)")
    unit: Text = pa.Field(description="%, ratio, children, days, points, per 10,000, ...")
    published: Series[float] = pa.Field(description="Published value (data/published_statistics.csv, column value)")
    tolerance: Series[float] = pa.Field(ge=0, description="Tolerance: absolute (in the unit) or relative (a fraction)")
    tolerance_type: Code = pa.Field(isin=["absolute", "relative"], description="absolute or relative")
    low: Series[float] = pa.Field(description="Lower edge of the tolerance band ← published, tolerance, tolerance_type")
    high: Series[float] = pa.Field(
        description="Upper edge of the tolerance band ← published, tolerance, tolerance_type"
    )
    extract_value: Series[pd.Float64Dtype] = pa.Field(
        nullable=True,
        description=(
            "The same figure computed from the extract by the figure's measure (national/measures.py) from the "
            "cleaned and derived tables cla_clean, cin_clean, pupil_outcomes, spine_clean, absence_clean, "
            "exclusions_clean, offending_clean and la_context_clean (missing when it cannot be computed)"
        ),
    )
    difference: Series[pd.Float64Dtype] = pa.Field(
        nullable=True, description="extract_value − published ← extract_value, published"
    )
    within_tolerance: Flag = pa.Field(
        nullable=True, description="low ≤ extract_value ≤ high (missing: not computable) ← extract_value, low, high"
    )
    status: Code = pa.Field(
        isin=["within", "outside", "not_computable"], description="within / outside / not_computable"
    )
    base: Int = pa.Field(
        ge=0, description="Rows or children the extract figure rests on (its denominator, or the count)"
    )
    source: Text = pa.Field(description="Publication (title and URL) (data/published_statistics.csv, column source)")
    comparability: Text = pa.Field(
        description=(
            "How the extract figure is made comparable (scaling, pooling, population covered) "
            "(data/published_statistics.csv, column comparability)"
        )
    )

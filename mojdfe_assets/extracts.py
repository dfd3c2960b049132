"""The delivered extracts: file names, column names as delivered, and every column's rule.

Each delivered column is a `Field`, defined once here: its name as delivered, the kind of value it
holds (which fixes how it is typed), its code list or range, whether it is required or unique, and
what it holds in words. Everything else is derived from these fields: the cleaning rules
(`rules.clean_table`), the clean tables' pandera schemas (`schemas.clean_schema`), the column
schema the Dagster UI shows, the lineage from delivered to clean columns, the data dictionary,
and the synthetic generator's column layout. Rules about a whole row (an episode ceasing before
it commenced) are `RowRule`s of the extract, used the same two ways.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import arrowops, years

LA_CODE_PATTERN = r"^\d{3}$"  # the DfE three-digit LA number ("old LA code")
ACADEMIC_YEAR_PATTERN = r"^\d{4}/\d{4}$"  # a clean academic year label, 2012/2013
EARLIEST_DATE = pd.Timestamp("1980-01-01")  # no date of these extracts can be earlier
# 2008/09-2011/12: weaker CIN completeness (DfE 2023, via the field guide)
WEAK_CIN_COVERAGE_LAST_YEAR = 2012


def snake_case(name: str) -> str:
    """janitor::clean_names(., "snake") for the delivered names: MoJUID -> mo_juid,
    CIN_CategoryOfAbuse -> cin_category_of_abuse, CLA_CLA_31_MARCH -> cla_cla_31_march."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip())
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s)  # digits do not split: AT31MARCH -> at31march
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return re.sub(r"_+", "_", s).strip("_").lower()


def common_key(snake: str) -> str:
    """The guide's common key names across datasets: moj_uid, pupil_id, academic_year."""
    if snake == "mo_juid":
        return "moj_uid"
    if snake.endswith("pupil_matching_ref_anonymous"):
        return "pupil_id"
    if snake.endswith("_acadyr"):
        return "academic_year"
    return snake


FIELD_KINDS = ("id", "year", "date", "int", "float", "flag", "code", "la", "text")

# An LA number that is well formed but names no authority in force in the row's collection year
# (an invented 999, or Bedfordshire's 820 on a 2012/13 row: it was abolished on 1 April 2009; the
# code list is data/local_authorities.csv). On a pupil's or an episode's row the LA is set missing
# and the row kept, so the child stays in every national result and only leaves the LA comparisons
# (the clean table's metadata and its `la_codes_in_force` check count it by code); on an LA
# context row, which is about nothing but its LA, the row is quarantined.
LA_NOT_IN_FORCE = ("missing", "quarantine")


@dataclass(frozen=True)
class Field:
    """One delivered column and the rule that types it."""

    delivered: str  # the name as delivered
    kind: str  # one of FIELD_KINDS
    description: str  # what it holds, for data owners
    code_list: str | None = None  # kind "code": the code list (codelists.py) its values come from
    lo: float | None = None  # kinds "int", "float": the allowed range
    hi: float | None = None
    required: bool = False  # a missing value quarantines the row
    unique: bool = False  # a later row with the same value is quarantined (the first kept)
    pattern: str | None = None  # kind "text": a regular expression every value matches
    requested: bool = False  # a requested item a release may lack (then all missing)
    # kind "la": what a well-formed LA number not in force in the row's collection year does (see
    # LA_NOT_IN_FORCE): "missing" keeps the row with the LA missing, "quarantine" quarantines it
    la_not_in_force: str = "missing"

    def __post_init__(self):
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"{self.delivered}: unknown kind {self.kind!r}")
        if self.la_not_in_force not in LA_NOT_IN_FORCE:
            raise ValueError(f"{self.delivered}: la_not_in_force must be one of {LA_NOT_IN_FORCE}")

    @property
    def name(self) -> str:
        """The clean column name (snake_case, with the guide's common keys)."""
        return common_key(snake_case(self.delivered))

    @property
    def clean_names(self) -> tuple[str, ...]:
        """The clean columns it gives: an academic year gives its label and its two years."""
        if self.kind == "year":
            return (self.name, f"{self.name}_start", f"{self.name}_end")
        return (self.name,)


@dataclass(frozen=True)
class RowRule:
    """A rule every clean row keeps, tested on the typed columns: rows that break it are
    quarantined with `reason` ("column: problem"), and the clean table's schema asserts that no
    clean row breaks it."""

    reason: str
    breaks: Callable[[pd.DataFrame], pd.Series]  # True where a row breaks the rule


@dataclass(frozen=True)
class Extract:
    """A delivered file: its name, what it holds, and its fields in delivered order."""

    name: str  # asset-friendly name
    file: str  # file name in the extract folder (CSV)
    description: str
    fields: tuple[Field, ...]
    years: tuple[int, int] | None = None  # collection years covered (end years), e.g. (2006, 2018)
    dates_within_collection_year: bool = False  # no date of a row later than 31 March of its year
    row_rules: tuple[RowRule, ...] = field(default=())
    # Several rows of one pupil are expected and summed downstream (absence: pupils who changed
    # school); the clean asset reports how many pupils have several rows.
    summed_per_pupil: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.delivered for f in self.fields)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(f.delivered for f in self.fields if f.requested)

    def field(self, name: str) -> Field:
        """A field by its delivered or clean name."""
        return next(f for f in self.fields if name in (f.delivered, f.name))


MOJUID = Field("MoJUID", "id", "MoJ person identifier (MoJUID); missing when unmatched")


def _pupil(prefix: str, required: bool = False, unique: bool = False) -> Field:
    return Field(
        f"{prefix}_PupilMatchingRefAnonymous",
        "id",
        "Anonymised pupil matching reference (…PupilMatchingRefAnonymous)"
        + ("" if required else "; missing when the row has none"),
        required=required,
        unique=unique,
    )


def _year(delivered: str, what: str) -> Field:
    return Field(
        delivered,
        "year",
        f"{what}, normalised to '2012/2013' from {delivered} (also delivered as 2012/13, 2012-2013, 2012-13)",
        required=True,
    )


def conflicting_rows(key: list[str]) -> Callable[[pd.DataFrame], pd.Series]:
    """Rows that share `key` (all of it recorded) but differ elsewhere: we cannot tell which is
    right, so every copy breaks the rule (exact copies are plain duplicates, quarantined as such)."""
    return lambda c: _conflicts(c, key)


def not_open_in_its_year(c: pd.DataFrame) -> pd.Series:
    """A CLA row of collection year Y holds an episode open at some point of Y (1 April Y-1 to 31
    March Y): one that commenced after 31 March Y, or ceased before 1 April Y-1, is another
    year's episode on this row."""
    start, end = years.first_day(c["academic_year_end"]), years.march31(c["academic_year_end"])
    late = (c["cla_date_epi_comm"] > end).fillna(False)
    early = (c["cla_date_epi_ceased"] < start).fillna(False)
    return (late | early).astype(bool)


def _conflicts(c: pd.DataFrame, key: list[str]) -> pd.Series:
    out = np.zeros(len(c), dtype=bool)
    # Only rows whose key may repeat can conflict: found by one hash per row (few rows), and the
    # rows' contents hashed and compared among those alone.
    rows = np.flatnonzero(c[key].notna().all(axis=1).to_numpy(dtype=bool) & arrowops.repeated(*(c[k] for k in key)))
    if len(rows):
        sub = c.iloc[rows]
        content = pd.util.hash_pandas_object(sub.drop(columns=["source_row"]), index=False)
        versions = content.groupby([sub[k] for k in key], sort=False, observed=True).transform("nunique")
        out[rows] = (versions > 1).to_numpy(dtype=bool)
    return pd.Series(out, index=c.index)


CLA = Extract(
    "cla",
    "CLA_2006_to_2018.csv",
    "Children looked after (SSDA903), collection years 2005/2006 to 2017/2018. The current release "
    "holds one row per child per year: the most recent episode of that year.",
    (
        MOJUID,
        _year("CLA_ACADYR", "Collection year (to 31 March)"),
        _pupil("CLA"),
        Field("CLA_CLA_LA", "la", "Responsible LA code (CLA_CLA_LA)"),
        Field("CLA_PROCESSING_YEAR", "int", "Year the return was processed (CLA_PROCESSING_YEAR)", lo=2000, hi=2030),
        Field("CLA_POC_START", "date", "Start of the period of care (CLA_POC_START)"),
        Field("CLA_POC_LENGTH", "int", "Length of the period of care in days", lo=0, hi=8000),
        Field("CLA_CAT_NEED", "code", "Category of need N1-N8 (CLA_CAT_NEED)", code_list="cla_category_of_need"),
        Field("CLA_DATE_EPI_COMM", "date", "Date the episode commenced (CLA_DATE_EPI_COMM)", required=True),
        Field(
            "CLA_DATE_EPI_CEASED",
            "date",
            "Date the episode ceased (CLA_DATE_EPI_CEASED); missing = still open at 31 March",
        ),
        Field(
            "CLA_LEGAL_STATUS", "code", "Legal status of the episode (CLA_LEGAL_STATUS)", code_list="cla_legal_status"
        ),
        Field("CLA_PLACEMENT", "code", "Placement type of the episode (CLA_PLACEMENT)", code_list="cla_placement"),
        Field("CLA_REC", "code", "Reason the episode ceased (CLA_REC)", code_list="cla_reason_episode_ceased"),
        Field("CLA_CLA_31_MARCH", "flag", "Looked after on 31 March of the year"),
        Field("CLA_CLA_6_MONTHS", "flag", "CLA_CLA_6_MONTHS (requested item)", requested=True),
        Field("CLA_CLA_12_MONTHS", "flag", "CLA_CLA_12_MONTHS (requested item)", requested=True),
        Field("CLA_CLA_PP_6_MONTHS", "flag", "CLA_CLA_PP_6_MONTHS (requested item)", requested=True),
        Field("CLA_CLA_PP_1_DAY", "flag", "CLA_CLA_PP_1_DAY (requested item)", requested=True),
        Field(
            "CLA_REASON_PLACE_CHANGE",
            "code",
            "Reason for placement change; collected only from 2016",
            code_list="cla_reason_place_change",
            requested=True,
        ),
    ),
    years=(2006, 2018),
    dates_within_collection_year=True,
    row_rules=(
        RowRule(
            "cla_date_epi_ceased: before cla_date_epi_comm (ceased before commenced)",
            lambda c: (c["cla_date_epi_ceased"] < c["cla_date_epi_comm"]).fillna(False),
        ),
        RowRule(
            "row: episode not open at any point of its collection year (another year's episode)", not_open_in_its_year
        ),
        RowRule(
            "row: conflicting rows for the same pupil, year and episode start",
            conflicting_rows(["pupil_id", "academic_year", "cla_date_epi_comm"]),
        ),
    ),
)

CIN = Extract(
    "cin",
    "CIN_08-09_to_16-17.csv",
    "Children in need census, collection years 2008/2009 to 2016/2017, one row per child per year "
    "(the most recent CIN period of the year).",
    (
        MOJUID,
        _year("CIN_ACADYR", "Census year (31 March)"),
        _pupil("CIN"),
        Field(
            "CIN_CIN_AT31MARCH",
            "flag",
            "Child in need on 31 March of the year (CIN_CIN_AT31MARCH; 1/0, also yes/no, true/false)",
        ),
        Field(
            "CIN_CategoryOfAbuse",
            "code",
            "Category of abuse of a child protection plan (CIN_CategoryOfAbuse); best filled to 2011/12",
            code_list="cin_category_of_abuse",
        ),
        Field(
            "CIN_InitialCategoryOfAbuse",
            "code",
            "Initial category of abuse of the plan",
            code_list="cin_category_of_abuse",
        ),
        Field(
            "CIN_LatestCategoryOfAbuse",
            "code",
            "Latest category of abuse of the plan",
            code_list="cin_category_of_abuse",
        ),
        Field(
            "CIN_NumberOfPreviousCPP",
            "int",
            "Number of previous child protection plans (CIN_NumberOfPreviousCPP)",
            lo=0,
            hi=30,
        ),
        Field(
            "CIN_PrimaryNeedCode",
            "code",
            "Primary need at assessment N0-N9 (CIN_PrimaryNeedCode; typos A2-A5 mapped to N2-N5)",
            code_list="cin_primary_need",
        ),
        Field("CIN_ReferralNFA", "flag", "Referral closed with no further action"),
        Field(
            "CIN_ReasonForClosure", "code", "Reason the CIN case closed (RC1-RC9)", code_list="cin_reason_for_closure"
        ),
        Field("CIN_AgeStartOfCINPeriod", "int", "Age in years at the start of the CIN period", lo=0, hi=25),
        Field("CIN_AgeEndOfCINPeriod", "int", "Age in years at the end of the CIN period", lo=0, hi=25),
    ),
    years=(2009, 2017),
)

SPINE = Extract(
    "spine",
    "NPD_KS4_spine.csv",
    "The pupil spine: every pupil of the KS4 cohorts the linked data is built on, one row each.",
    (
        Field("MoJUID", "id", "MoJ person identifier (MoJUID)"),
        Field(
            "KS4_PupilMatchingRefAnonymous",
            "id",
            "Anonymised pupil matching reference (one row per pupil)",
            required=True,
            unique=True,
        ),
        Field("KS4_ACADYR", "year", "KS4 academic year (cohort), KS4_ACADYR", required=True),
        Field("KS4_LA", "la", "LA of the pupil (KS4_LA)"),
        Field(
            "KS4_GENDER",
            "code",
            "The pupil's sex (KS4_GENDER): M or F, in any case; 1 and 2 (DfE GenderCurrent) read as M "
            "and F (code-alias data)",
            code_list="sex",
        ),
        Field("KS4_YEAR_OF_BIRTH", "int", "Year of birth", lo=1980, hi=2015),
        Field("KS4_MONTH_OF_BIRTH", "int", "Month of birth", lo=1, hi=12),
        Field("KS4_FSM_EVER6", "flag", "Eligible for free school meals in the last 6 years"),
    ),
)

KS4 = Extract(
    "ks4",
    "KS4_2011_to_2018.csv",
    "Key stage 4 attainment: 5+ A*-C (or 9-4) incl. English and maths or equivalent; Attainment 8 from 2015/2016.",
    (
        MOJUID,
        _pupil("KS4", required=True),
        _year("KS4_ACADYR", "Academic year"),
        Field(
            "KS4_LEVEL2_EM",
            "flag",
            "5+ A*-C (9-4) incl. English and maths or equivalent (KS4_LEVEL2_EM); missing = no result",
        ),
        Field("KS4_ATT8", "float", "Attainment 8 score (from 2015/16)", lo=0, hi=90),
    ),
)


def absences_exceed_possible(c: pd.DataFrame) -> pd.Series:
    """Rows whose unauthorised plus authorised absences (missing counted 0) exceed the sessions
    possible (a missing number possible is exceeded by nothing). On whole-number columns, in numpy
    on their values with missing ones as 0 and the sum compared where the number possible is
    present: what pandas' nullable arithmetic gives, without its masked copies (10M rows ~0.8 s)."""
    unauthorised, authorised, possible = (
        c[k] for k in ("ab_sessions_unauthorised", "ab_sessions_authorised", "ab_sessions_possible")
    )
    if not all(isinstance(s.dtype, pd.Int64Dtype) for s in (unauthorised, authorised, possible)):
        return ((unauthorised.fillna(0) + authorised.fillna(0)) > possible).fillna(False)
    total = unauthorised.to_numpy(dtype=np.int64, na_value=0) + authorised.to_numpy(dtype=np.int64, na_value=0)
    exceeds = (total > possible.to_numpy(dtype=np.int64, na_value=0)) & possible.notna().to_numpy(dtype=bool)
    return pd.Series(exceeds, index=c.index)


ABSENCE = Extract(
    "absence",
    "ABSENCE_secondary.csv",
    "Absence over secondary school (years 7 to 11), in half-day sessions, one row per pupil and school: a pupil "
    "who changed school has several rows, which are summed.",
    (
        MOJUID,
        _pupil("AB", required=True),
        _year("AB_KS4_ACADYR", "Academic year"),
        Field("AB_SESSIONS_POSSIBLE", "int", "Half-day sessions possible", lo=0, hi=5000),
        Field("AB_SESSIONS_UNAUTHORISED", "int", "Unauthorised absence sessions", lo=0, hi=5000),
        Field("AB_SESSIONS_AUTHORISED", "int", "Authorised absence sessions", lo=0, hi=5000),
    ),
    row_rules=(RowRule("ab_sessions_unauthorised: absences exceed sessions possible", absences_exceed_possible),),
    summed_per_pupil=True,
)

EXCLUSIONS = Extract(
    "exclusions",
    "EXCLUSIONS_2007_to_2018.csv",
    "School exclusions, one row per exclusion: FIXD (fixed period, sessions missed) or PERM (permanent).",
    (
        MOJUID,
        _pupil("EXC", required=True),
        _year("EXC_ACADYR", "Academic year"),
        Field(
            "EXC_CATEGORY", "code", "FIXD fixed period or PERM permanent", code_list="exclusion_category", required=True
        ),
        Field("EXC_SESSIONS", "int", "Sessions missed (fixed period)", lo=0, hi=200),
        Field("EXC_START_DATE", "date", "Start date of the exclusion"),
    ),
)

PNC = Extract(
    "offending",
    "PNC_sanctions_2000_to_2021.csv",
    "Police National Computer: cautions and convictions, one row per disposal, to the end of 2021.",
    (
        Field("MoJUID", "id", "MoJ person identifier (MoJUID), the only key of PNC data", required=True),
        Field("PNC_OFFENCE_DATE", "date", "Date of the offence"),
        Field("PNC_DISPOSAL_DATE", "date", "Date of the caution or conviction", required=True),
        Field("PNC_DISPOSAL", "code", "Disposal (code list pnc_disposal)", code_list="pnc_disposal", required=True),
    ),
    row_rules=(
        RowRule(
            "pnc_disposal_date: before pnc_offence_date",
            lambda c: (c["pnc_disposal_date"] < c["pnc_offence_date"]).fillna(False),
        ),
    ),
)

LA_CONTEXT = Extract(
    "la_context",
    "LA_context.csv",
    "Local authority context: child population, income deprivation affecting children (poverty rate) "
    "and community recorded crime rate.",
    (
        Field("LA_CODE", "la", "3-digit LA code", required=True, la_not_in_force="quarantine"),
        Field("LA_NAME", "text", "Name of the local authority (LA_NAME)"),
        Field("CHILD_POPULATION_0_17", "int", "Children aged 0-17", lo=0, hi=10_000_000),
        Field(
            "IDACI_AVERAGE_SCORE",
            "float",
            "Income deprivation affecting children: average score (the LA's poverty rate)",
            lo=0,
            hi=1,
        ),
        Field("RECORDED_CRIME_RATE_PER_1000", "float", "Community recorded crime per 1,000", lo=0, hi=1000),
    ),
    row_rules=(RowRule("la_code: conflicting rows for the same LA", conflicting_rows(["la_code"])),),
)

ALL = (CLA, CIN, SPINE, KS4, ABSENCE, EXCLUSIONS, PNC, LA_CONTEXT)
BY_NAME = {e.name: e for e in ALL}


def first_identifier(extract: Extract) -> str | None:
    """The clean name of the extract's pupil key (pupil_id, else moj_uid), if it has one."""
    names = [f.name for f in extract.fields]
    return next((k for k in ("pupil_id", "moj_uid") if k in names), None)

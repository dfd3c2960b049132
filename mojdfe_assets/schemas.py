"""Pandera schemas of every stored table: the one source of column names, types, descriptions
and allowed codes. Descriptions say where each column comes from; they become the column
schema shown in the Dagster UI and the data dictionary.

Raw tables are text exactly as delivered (built from `extracts`); clean tables are typed.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from . import codelists
from .cleaning import ROW
from .extracts import Extract

Text = Series[Annotated[pd.StringDtype, "pyarrow", pd.NA]]
Code = Series[pd.CategoricalDtype]
Date = Series[pa.DateTime]
Flag = Series[pd.BooleanDtype]
Int = Series[pd.Int64Dtype]
Year = Series[pd.Int16Dtype]


def raw_schema(extract: Extract) -> pa.DataFrameSchema:
    """A raw table: the delivered columns, all text (blanks kept), plus the file row number."""
    cols = {ROW: pa.Column(int, pa.Check.ge(1), unique=True, description="Data row number in the delivered file")}
    for c in extract.columns:
        cols[c] = pa.Column(pd.StringDtype("pyarrow"), nullable=False,
                            description=f"{c} as delivered in {extract.file} (text; blank = missing)")
    return pa.DataFrameSchema(cols, name=f"{extract.name}_raw", strict=True, description=extract.description)


def codes(code_list: str) -> list[str]:
    return codelists.codes(code_list)


class _Keys(pa.DataFrameModel):
    source_row: Series[int] = pa.Field(ge=1, unique=True, description="Row number in the delivered file")
    moj_uid: Text = pa.Field(nullable=True, description="MoJ person identifier (MoJUID); missing when unmatched")
    pupil_id: Text = pa.Field(nullable=True, description=(
        "Anonymised pupil matching reference (…PupilMatchingRefAnonymous); missing when the row has none"))
    academic_year: Text = pa.Field(str_matches=r"^\d{4}/\d{4}$", description=(
        "Collection year, normalised to '2012/2013' from …_ACADYR"))
    academic_year_start: Year = pa.Field(description="First calendar year of academic_year")
    academic_year_end: Year = pa.Field(description="Second calendar year of academic_year (the 31 March census year)")

    class Config:
        strict = True
        coerce = False


class CinClean(_Keys):
    """Children in need census, one row per child per collection year, typed."""

    academic_year_end: Year = pa.Field(ge=2009, le=2017, description="Census year (31 March), from CIN_ACADYR")
    cin_cin_at31march: Flag = pa.Field(nullable=True, description=(
        "Child in need on 31 March of the year (CIN_CIN_AT31MARCH; 1/0, also yes/no, true/false)"))
    cin_category_of_abuse: Code = pa.Field(nullable=True, isin=codes("cin_category_of_abuse"), description=(
        "Category of abuse of a child protection plan (CIN_CategoryOfAbuse); best filled to 2011/12"))
    cin_initial_category_of_abuse: Code = pa.Field(nullable=True, isin=codes("cin_category_of_abuse"),
                                                   description="Initial category of abuse of the plan")
    cin_latest_category_of_abuse: Code = pa.Field(nullable=True, isin=codes("cin_category_of_abuse"),
                                                  description="Latest category of abuse of the plan")
    cin_number_of_previous_cpp: Int = pa.Field(nullable=True, ge=0, le=30, description=(
        "Number of previous child protection plans (CIN_NumberOfPreviousCPP)"))
    cin_primary_need_code: Code = pa.Field(nullable=True, isin=codes("cin_primary_need"), description=(
        "Primary need at assessment N0-N9 (CIN_PrimaryNeedCode; typos A2-A5 mapped to N2-N5)"))
    cin_referral_nfa: Flag = pa.Field(nullable=True, description="Referral closed with no further action")
    cin_reason_for_closure: Code = pa.Field(nullable=True, isin=codes("cin_reason_for_closure"),
                                            description="Reason the CIN case closed (RC1-RC9)")
    cin_age_start_of_cin_period: Int = pa.Field(nullable=True, ge=0, le=25,
                                                description="Age in years at the start of the CIN period")
    cin_age_end_of_cin_period: Int = pa.Field(nullable=True, ge=0, le=25,
                                              description="Age in years at the end of the CIN period")


class ClaClean(_Keys):
    """Children looked after, one row per episode held for the year, typed."""

    academic_year_end: Year = pa.Field(ge=2006, le=2018, description="Collection year (to 31 March), from CLA_ACADYR")
    cla_cla_la: Text = pa.Field(nullable=True, str_matches=r"^\d{3}$", description="Responsible LA code (CLA_CLA_LA)")
    cla_processing_year: Int = pa.Field(nullable=True, ge=2000, le=2030, description="CLA_PROCESSING_YEAR")
    cla_poc_start: Date = pa.Field(nullable=True, description="Start of the period of care (CLA_POC_START)")
    cla_poc_length: Int = pa.Field(nullable=True, ge=0, le=8000, description="Length of the period of care in days")
    cla_cat_need: Code = pa.Field(nullable=True, isin=codes("cla_category_of_need"),
                                  description="Category of need N1-N8 (CLA_CAT_NEED)")
    cla_date_epi_comm: Date = pa.Field(description="Date the episode commenced (CLA_DATE_EPI_COMM)")
    cla_date_epi_ceased: Date = pa.Field(nullable=True, description=(
        "Date the episode ceased (CLA_DATE_EPI_CEASED); missing = still open at 31 March"))
    cla_legal_status: Code = pa.Field(nullable=True, isin=codes("cla_legal_status"), description="Legal status")
    cla_placement: Code = pa.Field(nullable=True, isin=codes("cla_placement"), description="Placement type")
    cla_rec: Code = pa.Field(nullable=True, isin=codes("cla_reason_episode_ceased"),
                             description="Reason the episode ceased (CLA_REC)")
    cla_cla_31_march: Flag = pa.Field(nullable=True, description="Looked after on 31 March of the year")
    cla_cla_6_months: Flag = pa.Field(nullable=True, description="CLA_CLA_6_MONTHS (requested item)")
    cla_cla_12_months: Flag = pa.Field(nullable=True, description="CLA_CLA_12_MONTHS (requested item)")
    cla_cla_pp_6_months: Flag = pa.Field(nullable=True, description="CLA_CLA_PP_6_MONTHS (requested item)")
    cla_cla_pp_1_day: Flag = pa.Field(nullable=True, description="CLA_CLA_PP_1_DAY (requested item)")
    cla_reason_place_change: Code = pa.Field(nullable=True, isin=codes("cla_reason_place_change"), description=(
        "Reason for placement change; collected only from 2016"))

    @pa.dataframe_check(description="An episode cannot cease before it commenced")
    def ceased_not_before_commenced(cls, df: pd.DataFrame) -> Series[bool]:
        return ~(df["cla_date_epi_ceased"] < df["cla_date_epi_comm"]).fillna(False)


class SpineClean(pa.DataFrameModel):
    """The pupil spine: one row per pupil of the KS4 cohorts."""

    source_row: Series[int] = pa.Field(ge=1, unique=True, description="Row number in the delivered file")
    moj_uid: Text = pa.Field(nullable=True, description="MoJ person identifier (MoJUID)")
    pupil_id: Text = pa.Field(unique=True, description="Anonymised pupil matching reference (one row per pupil)")
    academic_year: Text = pa.Field(str_matches=r"^\d{4}/\d{4}$", description="KS4 academic year (cohort), KS4_ACADYR")
    academic_year_start: Year = pa.Field(description="First calendar year of the KS4 year")
    academic_year_end: Year = pa.Field(description="Second calendar year of the KS4 year (exam summer)")
    ks4_la: Text = pa.Field(nullable=True, str_matches=r"^\d{3}$", description="LA of the pupil (KS4_LA)")
    ks4_gender: Text = pa.Field(nullable=True, isin=["M", "F"], description="Sex (KS4_GENDER)")
    ks4_year_of_birth: Int = pa.Field(nullable=True, ge=1980, le=2015, description="Year of birth")
    ks4_month_of_birth: Int = pa.Field(nullable=True, ge=1, le=12, description="Month of birth")
    ks4_fsm_ever6: Flag = pa.Field(nullable=True, description="Eligible for free school meals in the last 6 years")

    class Config:
        strict = True
        coerce = False


class QuarantineRows(pa.DataFrameModel):
    """Rows of a delivered file that could not be cleaned, as delivered, with every reason."""

    source_row: Series[int] = pa.Field(ge=1, unique=True, description="Row number in the delivered file")
    reasons: Text = pa.Field(description="'column: problem' for every failed rule, separated by '; '")


class CodeLookup(pa.DataFrameModel):
    code_list: Series[str] = pa.Field(description="Name of the DfE code list")
    code: Series[str] = pa.Field(description="Code as it appears in the extracts")
    label: Series[str] = pa.Field(description="DfE label")
    group: Series[str] = pa.Field(description="Grouping used in derivations (e.g. placement family)")
    valid_from: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="First collection year valid (end year)")
    valid_to: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Last collection year valid (end year)")

    class Config:
        strict = "filter"

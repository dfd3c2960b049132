"""Clean assets: typed, validated CIN, CLA and spine tables, their quarantines, and code lookups.

Cleaning follows the field guide: snake_case names (as janitor::clean_names gives), the common
keys `moj_uid`, `pupil_id` and `academic_year` (with its start and end years), blanks and
whitespace as missing, dates, whole numbers and 0/1 flags typed, and DfE codes as categoricals
checked against the code lists. A row that cannot be cleaned is quarantined with its reasons;
raw rows = clean rows + quarantined rows, checked on every run.
"""


import dagster as dg
import numpy as np
import pandas as pd

from . import arrowops as ops
from . import codelists
from . import extracts as X
from .checks import schema_check, table_metadata, table_schema
from .cleaning import Col, Cleaned, clean_table, common_key, snake_case
from .schemas import (AbsenceClean, CinClean, ClaClean, CodeLookup, ExclusionsClean, Ks4Clean, LaContextClean,
                      OffendingClean, QuarantineRows, SpineClean)

GROUP = "clean"

CIN_SPEC = {
    "MoJUID": Col("id"),
    "CIN_ACADYR": Col("year", required=True),
    "CIN_PupilMatchingRefAnonymous": Col("id"),
    "CIN_CIN_AT31MARCH": Col("flag"),
    "CIN_CategoryOfAbuse": Col("code", "cin_category_of_abuse"),
    "CIN_InitialCategoryOfAbuse": Col("code", "cin_category_of_abuse"),
    "CIN_LatestCategoryOfAbuse": Col("code", "cin_category_of_abuse"),
    "CIN_NumberOfPreviousCPP": Col("int", lo=0, hi=30),
    "CIN_PrimaryNeedCode": Col("code", "cin_primary_need"),
    "CIN_ReferralNFA": Col("flag"),
    "CIN_ReasonForClosure": Col("code", "cin_reason_for_closure"),
    "CIN_AgeStartOfCINPeriod": Col("int", lo=0, hi=25),
    "CIN_AgeEndOfCINPeriod": Col("int", lo=0, hi=25),
}

CLA_SPEC = {
    "MoJUID": Col("id"),
    "CLA_ACADYR": Col("year", required=True),
    "CLA_PupilMatchingRefAnonymous": Col("id"),
    "CLA_CLA_LA": Col("text", pattern=r"^\d{3}$"),
    "CLA_PROCESSING_YEAR": Col("int", lo=2000, hi=2030),
    "CLA_POC_START": Col("date"),
    "CLA_POC_LENGTH": Col("int", lo=0, hi=8000),
    "CLA_CAT_NEED": Col("code", "cla_category_of_need"),
    "CLA_DATE_EPI_COMM": Col("date", required=True),
    "CLA_DATE_EPI_CEASED": Col("date"),
    "CLA_LEGAL_STATUS": Col("code", "cla_legal_status"),
    "CLA_PLACEMENT": Col("code", "cla_placement"),
    "CLA_REC": Col("code", "cla_reason_episode_ceased"),
    "CLA_CLA_31_MARCH": Col("flag"),
    "CLA_CLA_6_MONTHS": Col("flag"),
    "CLA_CLA_12_MONTHS": Col("flag"),
    "CLA_CLA_PP_6_MONTHS": Col("flag"),
    "CLA_CLA_PP_1_DAY": Col("flag"),
    "CLA_REASON_PLACE_CHANGE": Col("code", "cla_reason_place_change"),
}

SPINE_SPEC = {
    "MoJUID": Col("id"),
    "KS4_PupilMatchingRefAnonymous": Col("id", required=True),
    "KS4_ACADYR": Col("year", required=True),
    "KS4_LA": Col("text", pattern=r"^\d{3}$"),
    "KS4_GENDER": Col("text", pattern=r"^[MF]$"),
    "KS4_YEAR_OF_BIRTH": Col("int", lo=1980, hi=2015),
    "KS4_MONTH_OF_BIRTH": Col("int", lo=1, hi=12),
    "KS4_FSM_EVER6": Col("flag"),
}


KS4_SPEC = {
    "MoJUID": Col("id"),
    "KS4_PupilMatchingRefAnonymous": Col("id", required=True),
    "KS4_ACADYR": Col("year", required=True),
    "KS4_LEVEL2_EM": Col("flag"),
    "KS4_ATT8": Col("float", lo=0, hi=90),
}

ABSENCE_SPEC = {
    "MoJUID": Col("id"),
    "AB_PupilMatchingRefAnonymous": Col("id", required=True),
    "AB_KS4_ACADYR": Col("year", required=True),
    "AB_SESSIONS_POSSIBLE": Col("int", lo=0, hi=5000),
    "AB_SESSIONS_UNAUTHORISED": Col("int", lo=0, hi=5000),
    "AB_SESSIONS_AUTHORISED": Col("int", lo=0, hi=5000),
}

EXCLUSIONS_SPEC = {
    "MoJUID": Col("id"),
    "EXC_PupilMatchingRefAnonymous": Col("id", required=True),
    "EXC_ACADYR": Col("year", required=True),
    "EXC_CATEGORY": Col("code", "exclusion_category", required=True),
    "EXC_SESSIONS": Col("int", lo=0, hi=200),
    "EXC_START_DATE": Col("date"),
}

PNC_SPEC = {
    "MoJUID": Col("id", required=True),
    "PNC_OFFENCE_DATE": Col("date"),
    "PNC_DISPOSAL_DATE": Col("date", required=True),
    "PNC_DISPOSAL": Col("code", "pnc_disposal", required=True),
}

LA_SPEC = {
    "LA_CODE": Col("text", required=True, pattern=r"^\d{3}$"),
    "LA_NAME": Col("text"),
    "CHILD_POPULATION_0_17": Col("int", lo=0, hi=10_000_000),
    "IDACI_AVERAGE_SCORE": Col("float", lo=0, hi=1),
    "RECORDED_CRIME_RATE_PER_1000": Col("float", lo=0, hi=1000),
}


def end_of_collection_year(clean: pd.DataFrame) -> pd.Series:
    """31 March of each row's collection year: no date in the row can be later (worked out once
    per distinct year)."""
    codes, years = pd.factorize(clean["academic_year_end"], use_na_sentinel=True)
    march31 = pd.to_datetime(pd.Series(years).astype("Float64").astype("Int64").astype("string") + "-03-31",
                             errors="coerce").to_numpy()
    values = np.append(march31, np.datetime64("NaT", "ns"))  # code -1 (no year) -> NaT
    return pd.Series(values[codes], index=clean.index)


def clean_cin(raw: pd.DataFrame) -> Cleaned:
    return clean_table(raw, X.CIN, CIN_SPEC)


def clean_cla(raw: pd.DataFrame) -> Cleaned:
    def episode_rules(c: pd.DataFrame) -> dict[str, pd.Series]:
        # The same episode of a pupil delivered twice in one year with different values: we cannot
        # tell which is right, so every copy is quarantined (exact copies are plain duplicates).
        key = ["pupil_id", "academic_year", "cla_date_epi_comm"]
        keyed = c[key].notna().all(axis=1)
        content = pd.util.hash_pandas_object(c.drop(columns=["source_row"]), index=False)
        versions = content[keyed].groupby([c.loc[keyed, k] for k in key], sort=False).transform("nunique")
        conflict = (versions > 1).reindex(c.index, fill_value=False).astype(bool)
        return {"cla_date_epi_ceased: before cla_date_epi_comm (ceased before commenced)":
                (c["cla_date_epi_ceased"] < c["cla_date_epi_comm"]).fillna(False),
                "row: conflicting rows for the same pupil, year and episode start": conflict}

    return clean_table(raw, X.CLA, CLA_SPEC, date_ceiling=end_of_collection_year, extra_rules=episode_rules)


def clean_spine(raw: pd.DataFrame) -> Cleaned:
    def one_row_per_pupil(c: pd.DataFrame) -> dict[str, pd.Series]:
        dup = c["pupil_id"].notna().to_numpy(dtype=bool) & ops.duplicated(c, ["pupil_id"])
        return {"pupil_id: pupil already has a spine row": dup}

    return clean_table(raw, X.SPINE, SPINE_SPEC, extra_rules=one_row_per_pupil)


def delivered_lineage(extract: X.Extract, spec: dict[str, Col]) -> dg.TableColumnLineage:
    """Each clean column comes from one delivered column (academic years give three)."""
    raw = dg.AssetKey(f"{extract.name}_raw")
    deps = {"source_row": [dg.TableColumnDep(raw, "source_row")]}
    for col in extract.columns:
        name = common_key(snake_case(col))
        targets = [name, f"{name}_start", f"{name}_end"] if spec[col].kind == "year" else [name]
        for t in targets:
            deps[t] = [dg.TableColumnDep(raw, col)]
    return dg.TableColumnLineage(deps)


def clean_absence(raw: pd.DataFrame) -> Cleaned:
    def sessions_add_up(c: pd.DataFrame) -> dict[str, pd.Series]:
        absent = c["ab_sessions_unauthorised"].fillna(0) + c["ab_sessions_authorised"].fillna(0)
        return {"ab_sessions_unauthorised: absences exceed sessions possible":
                (absent > c["ab_sessions_possible"]).fillna(False)}

    return clean_table(raw, X.ABSENCE, ABSENCE_SPEC, extra_rules=sessions_add_up)


def clean_offending(raw: pd.DataFrame) -> Cleaned:
    def disposal_after_offence(c: pd.DataFrame) -> dict[str, pd.Series]:
        return {"pnc_disposal_date: before pnc_offence_date":
                (c["pnc_disposal_date"] < c["pnc_offence_date"]).fillna(False)}

    return clean_table(raw, X.PNC, PNC_SPEC, extra_rules=disposal_after_offence)


def clean_assets(name: str, extract: X.Extract, model, cleaner, what: str, spec: dict[str, Col]
                 ) -> dg.AssetsDefinition:
    clean_key, q_key = f"{name}_clean", f"{name}_quarantine"
    lineage = delivered_lineage(extract, spec)

    @dg.multi_asset(
        name=f"clean_{name}", group_name=GROUP,
        # Columns typed by distinct value are read as Parquet dictionaries (no re-hashing).
        ins={"raw": dg.AssetIn(f"{name}_raw", metadata={"dictionary_columns": [
            c for c in extract.columns if spec[c].kind != "id"]})},
        outs={
            clean_key: dg.AssetOut(
                kinds={"pandas", "parquet"}, description=f"{what}\n\n{__doc__.split(chr(10) + chr(10))[1]}",
                metadata={"dagster/column_schema": table_schema(model)}),
            q_key: dg.AssetOut(
                kinds={"pandas", "parquet"},
                description=f"Rows of `{extract.file}` that could not be cleaned, exactly as delivered, with "
                            "every reason ('column: problem'). Nothing is dropped silently: these rows are "
                            f"counted in the `rows_reconcile` check of `{clean_key}`.",
                metadata={"dagster/column_schema": table_schema(QuarantineRows)}),
        },
        check_specs=[
            dg.AssetCheckSpec("schema", asset=clean_key, blocking=True,
                              description=f"{model.__name__} pandera schema: types, codes, ranges"),
            dg.AssetCheckSpec("rows_reconcile", asset=clean_key, blocking=True,
                              description="Raw rows = clean rows + quarantined rows"),
        ],
    )
    def _clean(context: dg.AssetExecutionContext, raw: pd.DataFrame):
        result = cleaner(raw)
        check = schema_check(model, result.clean, clean_key)
        yield check
        n_raw, n_clean, n_q = len(raw), len(result.clean), len(result.quarantine)
        reconciled = n_raw == n_clean + n_q
        yield dg.AssetCheckResult(
            asset_key=clean_key, check_name="rows_reconcile", passed=reconciled,
            metadata={"raw_rows": n_raw, "clean_rows": n_clean, "quarantined_rows": n_q})
        if not (check.passed and reconciled):
            raise dg.Failure(f"{clean_key} failed its checks", metadata=check.metadata)
        reasons = dg.MetadataValue.json(result.reasons)
        if n_q:
            context.log.warning(f"{extract.file}: {n_q} row(s) quarantined: {result.reasons}")
        yield dg.Output(result.clean, output_name=clean_key,
                        metadata={**table_metadata(result.clean, model), "dagster/column_lineage": lineage,
                                  "raw_rows": n_raw,
                                  "quarantined_rows": n_q, "quarantine_reasons (rows)": reasons})
        yield dg.Output(result.quarantine, output_name=q_key,
                        metadata={"dagster/row_count": n_q, "quarantine_reasons (rows)": reasons})

    return _clean


cin_assets = clean_assets("cin", X.CIN, CinClean, clean_cin,
                          "Children in need census 2008/09-2016/17, one row per child per year, cleaned and typed.",
                          CIN_SPEC)
cla_assets = clean_assets("cla", X.CLA, ClaClean, clean_cla,
                          "Children looked after 2005/06-2017/18, one row per episode held for the year, "
                          "cleaned and typed. Episodes that cease before they commence are quarantined.", CLA_SPEC)
spine_assets = clean_assets("spine", X.SPINE, SpineClean, clean_spine,
                            "The pupil spine (KS4 cohorts), one row per pupil, cleaned and typed. A second row "
                            "for the same pupil is quarantined.", SPINE_SPEC)


ks4_assets = clean_assets("ks4", X.KS4, Ks4Clean, lambda raw: clean_table(raw, X.KS4, KS4_SPEC),
                          "Key stage 4 results, one row per pupil, typed.", KS4_SPEC)
absence_assets = clean_assets("absence", X.ABSENCE, AbsenceClean, clean_absence,
                              "Secondary-school absence, one row per pupil, typed. A row whose absences "
                              "exceed the sessions possible is quarantined.", ABSENCE_SPEC)
exclusions_assets = clean_assets("exclusions", X.EXCLUSIONS, ExclusionsClean,
                                 lambda raw: clean_table(raw, X.EXCLUSIONS, EXCLUSIONS_SPEC),
                                 "School exclusions, one row per exclusion, typed.", EXCLUSIONS_SPEC)
offending_assets = clean_assets("offending", X.PNC, OffendingClean, clean_offending,
                                "Cautions and convictions, one row per disposal, typed; disposals dated "
                                "before their offence are quarantined.", PNC_SPEC)
la_context_assets = clean_assets("la_context", X.LA_CONTEXT, LaContextClean,
                                 lambda raw: clean_table(raw, X.LA_CONTEXT, LA_SPEC),
                                 "Local authority context (child population, poverty rate, community crime "
                                 "rate), one row per LA, typed.", LA_SPEC)


@dg.asset(group_name=GROUP, kinds={"pandas", "parquet"},
          metadata={"dagster/column_schema": table_schema(CodeLookup)})
def code_lookups() -> dg.Output:
    """DfE code lists (SSDA903 and CIN census) as one lookup table: code → label, with the
    grouping used in derivations (placement family, legal-status group, reason-ceased group) and
    the collection years each code is valid. The same data validates the clean tables and drives
    the synthetic generator, so labels and codes cannot disagree."""
    df = codelists.table()
    df = df[["code_list", "code", "label", "group", "valid_from", "valid_to"]].copy()
    counts = df.groupby("code_list", sort=False).size()
    return dg.Output(df, metadata={**table_metadata(df), "codes_per_list": dg.MetadataValue.json(
        {k: int(v) for k, v in counts.items()})})


clean_asset_defs = [cin_assets, cla_assets, spine_assets, ks4_assets, absence_assets, exclusions_assets,
                    offending_assets, la_context_assets, code_lookups]

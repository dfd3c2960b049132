"""Clean assets: every delivered extract typed and validated, its quarantine, and the code lookups.

Cleaning follows the field guide: snake_case names (as janitor::clean_names gives), the common
keys `moj_uid`, `pupil_id` and `academic_year` (with its start and end years), blanks and
whitespace as missing, dates, whole numbers and 0/1 flags typed, and DfE codes as categoricals
checked against the code lists. A row that cannot be cleaned is quarantined with its reasons;
raw rows = clean rows + quarantined rows, checked on every run. The rules are the extracts'
fields (`extracts.py`), applied by `rules.clean_table`.
"""

import dagster as dg
import pandas as pd

from . import codelists
from . import extracts as X
from .rules import clean_table
from .schemas import CodeLookup, QuarantineRows, clean_schema
from .table_assets import Check, Out, Outcome, Table, table_asset, table_multi_asset

GROUP = "clean"

# What each clean table holds, for its description (the rules it follows are in `extracts.py`).
WHAT = {
    "cin": "Children in need census 2008/09-2016/17, one row per child per year, cleaned and typed.",
    "cla": "Children looked after 2005/06-2017/18, one row per episode held for the year, cleaned and typed. "
           "Episodes that cease before they commence are quarantined.",
    "spine": "The pupil spine (KS4 cohorts), one row per pupil, cleaned and typed. A second row for the same "
             "pupil is quarantined.",
    "ks4": "Key stage 4 results, one row per pupil, typed.",
    "absence": "Secondary-school absence, one row per pupil, typed. A row whose absences exceed the sessions "
               "possible is quarantined.",
    "exclusions": "School exclusions, one row per exclusion, typed.",
    "offending": "Cautions and convictions, one row per disposal, typed; disposals dated before their offence "
                 "are quarantined.",
    "la_context": "Local authority context (child population, poverty rate, community crime rate), one row per "
                  "LA, typed.",
}

def rows_reconcile(extract: X.Extract) -> Check:
    """Raw rows = clean rows + quarantined rows, and no row is in both (by source row)."""
    clean_key, q_key = f"{extract.name}_clean", f"{extract.name}_quarantine"

    def reconcile(t: dict[str, pd.DataFrame]) -> Outcome:
        raw, clean, q = t["raw"], t[clean_key], t[q_key]
        both = int(clean["source_row"].isin(q["source_row"]).sum())
        return Outcome(len(raw) == len(clean) + len(q) and both == 0,
                       {"raw_rows": len(raw), "clean_rows": len(clean), "quarantined_rows": len(q),
                        "rows_in_both": both})

    return Check("rows_reconcile", "Raw rows = clean rows + quarantined rows, none in both", reconcile)


def clean_assets(extract: X.Extract) -> dg.AssetsDefinition:
    clean_key, q_key = f"{extract.name}_clean", f"{extract.name}_quarantine"
    outs = {
        clean_key: Out(clean_schema(extract), f"{WHAT[extract.name]}\n\n{__doc__.split(chr(10) + chr(10))[1]}",
                       (rows_reconcile(extract),)),
        q_key: Out(QuarantineRows, (
            f"Rows of `{extract.file}` that could not be cleaned, exactly as delivered, with every reason "
            "('column: problem'). Nothing is dropped silently: these rows are counted in the "
            f"`rows_reconcile` check of `{clean_key}`.")),
    }

    def clean(context: dg.AssetExecutionContext, raw: pd.DataFrame) -> dict[str, Table]:
        result = clean_table(raw, extract)
        n_raw, n_clean, n_q = len(raw), len(result.clean), len(result.quarantine)
        reasons = dg.MetadataValue.json(result.reasons)
        if n_q:
            context.log.warning(f"{extract.file}: {n_q} row(s) quarantined: {result.reasons}")
        return {clean_key: Table(result.clean, {"raw_rows": n_raw,
                                                "clean_rows": n_clean, "quarantined_rows": n_q,
                                                "quarantine_reasons (rows)": reasons}),
                q_key: Table(result.quarantine, {"quarantine_reasons (rows)": reasons})}

    clean.__name__ = f"clean_{extract.name}"
    # Columns typed by distinct value are read as Parquet dictionaries (no re-hashing).
    raw_in = dg.AssetIn(f"{extract.name}_raw", metadata={"dictionary_columns": [
        f.delivered for f in extract.fields if f.kind != "id"]})
    return table_multi_asset(outs, group=GROUP, ins={"raw": raw_in})(clean)


@table_asset(CodeLookup, group=GROUP, lineage=False)
def code_lookups() -> Table:
    """DfE code lists (SSDA903 and CIN census) as one lookup table: code → label, with the
    grouping used in derivations (placement family, legal-status group, reason-ceased group) and
    the collection years each code is valid. The same data validates the clean tables and drives
    the synthetic generator, so labels and codes cannot disagree."""
    df = codelists.table()
    df = df[["code_list", "code", "label", "group", "valid_from", "valid_to"]].copy()
    counts = df.groupby("code_list", sort=False).size()
    return Table(df, {"codes_per_list": dg.MetadataValue.json({k: int(v) for k, v in counts.items()})})


clean_asset_defs = [*(clean_assets(e) for e in X.ALL), code_lookups]

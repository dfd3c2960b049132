"""Clean assets: every delivered extract typed and validated, its quarantine, and the code lookups.

Cleaning follows the field guide: snake_case names (as janitor::clean_names gives), the common
keys `moj_uid`, `pupil_id` and `academic_year` (with its start and end years), blanks, whitespace
and missing tokens (NA, NULL, ".", ... : the `cleaning_rules` resource) as missing, identifiers
trimmed and upper-cased, dates, whole numbers and 0/1 flags typed, and DfE codes as categoricals
checked against the code lists. A row that cannot be cleaned is quarantined with its reasons;
raw rows = clean rows + quarantined rows, checked on every run. The rules are the extracts'
fields (`extracts.py`), applied by `rules.clean_table`.
"""

import dagster as dg
import pandas as pd

from . import arrowops, codelists
from . import extracts as X
from .rules import CleaningRules, blank_to_na, clean_table, la_not_in_force
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
    "absence": "Secondary-school absence, one row per pupil and school, typed. A pupil who changed school has "
    "several rows: `pupil_outcomes` sums them (that is the rule, not an error), and this table's "
    "metadata counts such pupils (`pupils_with_several_rows`). A row whose absences exceed the sessions "
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
        return Outcome(
            len(raw) == len(clean) + len(q) and both == 0,
            {"raw_rows": len(raw), "clean_rows": len(clean), "quarantined_rows": len(q), "rows_in_both": both},
        )

    return Check("rows_reconcile", "Raw rows = clean rows + quarantined rows, none in both", reconcile)


def reasons_by_column(quarantine: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """From a quarantine table's reasons: the rows each column's rules quarantine ("row" = whole-row
    rules and unreadable lines), and how many rows each reason quarantines."""
    each = quarantine["reasons"].astype(str).str.split("; ").explode()
    each = each[each != ""]
    column = each.str.split(":", n=1).str[0]
    rows = pd.DataFrame({"row": each.index, "column": column.to_numpy()}).drop_duplicates()
    return rows.groupby("column").size(), each.value_counts()


def quarantined_share(extract: X.Extract) -> Check:
    """The share of the delivered rows quarantined, and of the rows failing any one column's rules,
    at most the `cleaning_rules` threshold; the failure names extract, column, share and reason."""
    q_key = f"{extract.name}_quarantine"

    def share_check(t: dict[str, pd.DataFrame]) -> Outcome:
        threshold = float(t["cleaning_rules"].max_quarantined_share)
        n_raw, q = len(t["raw"]), t[q_key]
        share = len(q) / n_raw if n_raw else 0.0
        meta = {"quarantined_share_of_rows": round(share, 6), "threshold": threshold}
        col_share, worst, reason = 0.0, None, None
        if len(q):
            per_column, per_reason = reasons_by_column(q)
            worst = per_column.idxmax()
            col_share = int(per_column.max()) / n_raw
            reason = per_reason[[r.split(":", 1)[0] == worst for r in per_reason.index]].idxmax()
            meta.update(
                {
                    "worst_column": worst,
                    "worst_column_share": round(col_share, 6),
                    "worst_column_most_common_reason": reason,
                }
            )
        passed = share <= threshold and col_share <= threshold
        summary = None
        if not passed:
            where = "whole-row rules" if worst == "row" else f"column {worst}"
            summary = (
                f"{extract.file}: {share:.1%} of {n_raw:,} rows quarantined (threshold {threshold:.1%}); "
                f"{where} quarantines {col_share:.1%} of rows, most often for '{reason}'"
            )
        return Outcome(passed, meta, summary)

    return Check(
        "quarantined_share",
        "At most `cleaning_rules.max_quarantined_share` (default 5%) of the delivered rows, and "
        "of the rows failing any one column's rules, are quarantined; above it the run stops (blocking), naming "
        "the extract, column, share and most common reason: an extract lost to one systematic problem (a trailing "
        "delimiter, a time part on every date, flags written 1.0) is not a result",
        share_check,
    )


def la_codes_in_force(extract: X.Extract) -> Check:
    """Against what was delivered: the clean rows whose delivered LA number (read again from the raw
    extract) is no authority in force in the row's collection year, and so is missing in the clean
    table (extracts.LA_NOT_IN_FORCE). A warning: the rows are kept, and only leave LA comparisons."""
    clean_key = f"{extract.name}_clean"
    fields = [f for f in extract.fields if f.kind == "la" and f.la_not_in_force == "missing"]

    def check(t: dict[str, pd.DataFrame]) -> Outcome:
        raw, clean = t["raw"], t[clean_key]
        first = int(raw["source_row"].iloc[0]) if len(raw) else 0
        rows = raw["source_row"].to_numpy()
        consecutive = len(raw) and rows[-1] - first == len(raw) - 1  # source rows number the data rows
        pos = clean["source_row"].to_numpy() - first if consecutive else pd.Index(rows).get_indexer(clean["source_row"])
        meta, total, misread = {}, 0, 0
        year = clean.get("academic_year_end")
        year_coded = arrowops.distinct(year) if year is not None and fields else None
        for f in fields:
            codes, values = arrowops.distinct(raw[f.delivered])
            text = blank_to_na(values.astype(pd.StringDtype("pyarrow")), t["cleaning_rules"].tokens())
            delivered = arrowops.expand(text, codes[pos], clean.index)
            # by distinct delivered value and year, as the rows are coded already (no hashing again)
            stray = la_not_in_force(delivered, year, (codes[pos], text), year_coded)
            kept = clean[f.name]
            misread += int(
                (stray & kept.notna().to_numpy(dtype=bool)).sum()
                + (~stray & (kept.fillna("") != delivered.fillna("")).to_numpy(dtype=bool)).sum()
            )
            by_code = delivered[stray].value_counts().sort_index()
            meta[f"{f.name}: rows set missing (LA not in force)"] = int(stray.sum())
            meta[f"{f.name}: by delivered LA number"] = dg.MetadataValue.json(
                {str(k): int(v) for k, v in by_code.items()}
            )
            total += int(stray.sum())
        meta["rows_where_clean_LA_differs_from_delivered_otherwise"] = misread
        summary = (
            None
            if total == 0 and misread == 0
            else (
                f"{extract.file}: {total:,} clean row(s) have an LA number not in force in their collection year (set "
                f"missing: they leave the LA comparisons only)"
                + (f"; {misread:,} row(s) differ otherwise" if misread else "")
            )
        )
        return Outcome(total == 0 and misread == 0, meta, summary)

    return Check(
        "la_codes_in_force",
        (
            "Every clean row's LA, read again from the delivered extract, is an authority in force in the row's collection "
            "year (code list local_authorities, with the 1 April 2009 reorganisation); a row whose LA is not keeps its "
            "child with the LA missing, counted here by LA number (a warning: the child stays in every national "
            "result)"
        ),
        check,
        blocking=False,
    )


def clean_assets(extract: X.Extract) -> dg.AssetsDefinition:
    clean_key, q_key = f"{extract.name}_clean", f"{extract.name}_quarantine"
    outs = {
        clean_key: Out(
            clean_schema(extract),
            f"{WHAT[extract.name]}\n\n{__doc__.split(chr(10) + chr(10))[1]}",
            (
                rows_reconcile(extract),
                quarantined_share(extract),
                *(
                    [la_codes_in_force(extract)]
                    if any(f.kind == "la" and f.la_not_in_force == "missing" for f in extract.fields)
                    else []
                ),
            ),
        ),
        q_key: Out(
            QuarantineRows,
            (
                f"Rows of `{extract.file}` that could not be cleaned, exactly as delivered, with every reason "
                "('column: problem'), and the row's normalised pupil reference (`pupil_id`; missing when the row "
                "has none or its line could not be read), from which a pupil's membership of CLA or CIN is taken "
                "even when every row of theirs is quarantined. Nothing is dropped silently: these rows are counted "
                f"in the `rows_reconcile` check of `{clean_key}`."
            ),
        ),
    }

    def clean(context: dg.AssetExecutionContext, raw: pd.DataFrame, cleaning_rules: CleaningRules) -> dict[str, Table]:
        threshold = float(cleaning_rules.max_quarantined_share)
        if not 0 <= threshold <= 1:
            raise ValueError(f"cleaning_rules.max_quarantined_share must be between 0 and 1, not {threshold}")
        result = clean_table(raw, extract, cleaning_rules)
        n_raw, n_clean, n_q = len(raw), len(result.clean), len(result.quarantine)
        reasons = dg.MetadataValue.json(result.reasons)
        if n_q:
            context.log.warning(f"{extract.file}: {n_q} row(s) quarantined: {result.reasons}")
        meta = {
            "raw_rows": n_raw,
            "clean_rows": n_clean,
            "quarantined_rows": n_q,
            "quarantine_reasons (rows)": reasons,
            "quarantined_rows_by_column": dg.MetadataValue.json(result.rows_by_column),
            "missing_tokens": dg.MetadataValue.json(list(cleaning_rules.missing_tokens)),
        }
        if result.la_set_missing:
            context.log.warning(
                f"{extract.file}: LA numbers not in force in the row's collection year, set missing "
                f"(rows by column and LA number): {result.la_set_missing}"
            )
            meta["la_not_in_force (set missing: column -> LA number -> rows)"] = dg.MetadataValue.json(
                result.la_set_missing
            )
        if result.normalised:
            meta["references_normalised (rows changed by trimming or case)"] = dg.MetadataValue.json(result.normalised)
        if extract.summed_per_pupil:
            meta["pupils_with_several_rows"] = pupils_with_several_rows(result.clean)
        return {
            clean_key: Table(result.clean, meta),
            q_key: Table(result.quarantine, {"quarantine_reasons (rows)": reasons}),
        }

    clean.__name__ = f"clean_{extract.name}"
    # Columns typed by distinct value are read as Parquet dictionaries (no re-hashing).
    raw_in = dg.AssetIn(
        f"{extract.name}_raw", metadata={"dictionary_columns": [f.delivered for f in extract.fields if f.kind != "id"]}
    )
    return table_multi_asset(outs, group=GROUP, ins={"raw": raw_in})(clean)


def pupils_with_several_rows(clean: pd.DataFrame) -> int:
    """Distinct pupils with more than one clean row."""
    repeated = arrowops.duplicated(clean, ["pupil_id"], keep=False) & clean["pupil_id"].notna().to_numpy(dtype=bool)
    return int(clean.loc[repeated, "pupil_id"].nunique()) if repeated.any() else 0


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

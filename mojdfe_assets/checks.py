"""Pandera schemas as Dagster asset checks, and table metadata, with no pupil-level values.

pandera's own error text and `failure_cases` carry row values; here failures are reported only
as counts per (column, check), which is safe to put in Dagster metadata and logs.
"""

from __future__ import annotations

import re
import time

import dagster as dg
import pandas as pd
import pandera.pandas as pa
from pandera.backends.pandas import builtin_checks

from . import arrowops, codelists


def _schema(model) -> pa.DataFrameSchema:
    return model if isinstance(model, pa.DataFrameSchema) else model.to_schema()


_LOGICAL = (
    ("string", "text"),
    ("int", "integer"),
    ("bool", "boolean"),
    ("category", "category"),
    ("datetime", "date"),
    ("float", "number"),
)


def logical_type(dtype) -> str:
    """What a column holds, as a person reads it: text, integer, boolean, category, date, number
    (dates are stored as Parquet DATE and read in R as Date; in pandas they are datetime64)."""
    name = str(dtype).lower()
    return next((logical for key, logical in _LOGICAL if key in name), name)


def allowed_values(col) -> list | None:
    isin = [c for c in col.checks if c.name == "isin"]
    return list(isin[0].statistics.get("allowed_values") or []) if isin else None


def describe_codes(values, width: int = 60) -> str:
    """ "Codes: A3 (label) · A4 (label) · ..." with each label shortened to `width` characters (a code
    never holds a space, so the codes can be read back: `lineage._codes`)."""
    labels = codelists.label_of_values(values)

    def one(v):
        label = labels.get(str(v))
        if not label:
            return str(v)
        return f"{v} ({label if len(label) <= width else label[: width - 1].rstrip() + '…'})"

    return "Codes: " + " · ".join(one(v) for v in values) + "."


def table_schema(model) -> dg.TableSchema:
    """The UI's column schema, taken from the pandera schema: names, logical types, descriptions,
    and allowed codes with their labels."""
    cols = []
    for name, col in _schema(model).columns.items():
        desc = col.description or ""
        allowed = allowed_values(col)
        if allowed:
            desc = f"{desc} {describe_codes(allowed)}".strip()
        cols.append(
            dg.TableColumn(
                name,
                logical_type(col.dtype),
                description=desc,
                constraints=dg.TableColumnConstraints(nullable=bool(col.nullable), unique=_unique(col)),
            )
        )
    return dg.TableSchema(columns=cols)


def _unique(col) -> bool:
    return bool(col.unique) or any(c.name == "unique_values" and c.statistics.get("enabled") for c in col.checks)


def _occurs_once(series: pd.Series) -> pd.Series:
    return pd.Series(arrowops.occurs_once(series), index=series.index)


def _matches_unless_proven(pattern: str):
    """pandera's own `str_matches` on the column, unless the step that made these very values
    proved them to match (`arrowops.proven_matching`): the clean step quarantines every row whose
    LA does not match, with the same `str.match`, and checks its few distinct academic-year labels."""

    def check(series: pd.Series):
        return True if arrowops.proven_matching(series, pattern) else builtin_checks.str_matches(series, pattern)

    return check


def _validating_check(check: pa.Check) -> pa.Check:
    if check.name == "str_matches" and isinstance(check.statistics.get("pattern"), str):
        # the same name and error text, so a failure is reported exactly as pandera's own
        return pa.Check(
            _matches_unless_proven(check.statistics["pattern"]),
            name=check.name,
            error=check.error,
            ignore_na=check.ignore_na,
            raise_warning=check.raise_warning,
        )
    return check


_VALIDATING: dict[int, tuple[object, pa.DataFrameSchema]] = {}


def validating_schema(model) -> pa.DataFrameSchema:
    """The schema as validated: each `unique=True` column checked by `arrowops.occurs_once`
    under the same name (`field_uniqueness`) and with the same rows failing (every row whose
    value repeats), instead of pandas' `is_unique`, which hashes every value (~1 s per 10M-row
    `source_row`, in 24 tables; a row number in order is proven distinct by comparing neighbours);
    each `str_matches` check skipped for values its step proved to match (`_matches_unless_proven`:
    a regular expression over 10M texts costs ~0.5 s). The model itself, and so the UI's column
    schema, is unchanged."""
    cached = _VALIDATING.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1]
    schema = _schema(model)
    for name, col in schema.columns.items():
        checks = [_validating_check(c) for c in col.checks]
        if col.unique:
            schema = schema.update_column(
                name, unique=False, checks=[*checks, pa.Check(_occurs_once, name="field_uniqueness")]
            )
        elif any(a is not b for a, b in zip(checks, col.checks)):
            schema = schema.update_column(name, checks=checks)
    _VALIDATING[id(model)] = (model, schema)
    return schema


def failure_counts(model, df: pd.DataFrame) -> dict[str, int]:
    """Validate lazily; return {"column: check": failing rows} (empty when valid)."""
    try:
        # inplace: no copy of the frame (the schemas never coerce, so nothing is changed)
        validating_schema(model).validate(df, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        col = fc["column"].astype(str).where(fc["column"].notna(), "table")
        key = col + ": " + fc["check"].astype(str)
        return {k: int(v) for k, v in key.value_counts().sort_index().items()}
    return {}


def schema_check(
    model, df: pd.DataFrame, asset_key: str | dg.AssetKey, check_name: str = "schema", blocking: bool = True
) -> dg.AssetCheckResult:
    started = time.perf_counter()
    failures = failure_counts(model, df)
    # how long validating every row took: what the check costs at national scale
    meta = {
        "rows_checked": len(df),
        "failing_checks": len(failures),
        "validation_seconds": round(time.perf_counter() - started, 3),
    }
    if failures:
        meta["failures (column: check -> rows)"] = dg.MetadataValue.json(failures)
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=not failures,
        metadata=meta,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
    )


def table_metadata(df: pd.DataFrame, model=None) -> dict:
    """Row count, share missing per column, and the run-time column schema."""
    meta = {"dagster/row_count": len(df)}
    if len(df):  # one value per column, so the UI plots each column's missing share across runs
        for c, v in df.isna().mean().round(4).items():
            meta[f"missing share: {c}"] = dg.MetadataValue.float(float(v))
    if model is not None:
        meta["dagster/column_schema"] = table_schema(model)
    return meta


def schema_spec(asset: str, model) -> dg.AssetCheckSpec:
    name = getattr(model, "__name__", None) or getattr(model, "name", "schema")
    return dg.AssetCheckSpec(
        "schema", asset=asset, blocking=True, description=f"{name} pandera schema: types, codes, ranges, keys"
    )


_AFTER_ARROW = re.compile(r"←([^;]*)")
_REF = re.compile(r"\b([a-z][a-z0-9_]*)(?:\.([A-Za-z][A-Za-z0-9_]*))?\b")


def sources_in(descriptions: dict[str, str]) -> dict[str, list[tuple[str | None, str]]]:
    """Each column's direct sources, read from its description: after `←`, `table.column` names a
    column of another table, and a bare `column` a column of the same table (as `(None, column)`)."""
    out = {}
    for name, text in descriptions.items():
        refs = []
        for part in _AFTER_ARROW.findall(text or ""):
            for table, column in _REF.findall(part):
                if column:
                    refs.append((table, column))
                elif table in descriptions and table != name:
                    refs.append((None, table))
        out[name] = list(dict.fromkeys(refs))
    return out


def column_sources(model) -> dict[str, list[tuple[str | None, str]]]:
    return sources_in({name: col.description for name, col in _schema(model).columns.items()})


def resolved_sources(model) -> dict[str, list[tuple[str, str]]]:
    """`column_sources` with same-table references replaced by their own sources (recursively), so
    every source is a column of another table."""
    return resolve_within(column_sources(model))


def resolve_within(direct: dict[str, list[tuple[str | None, str]]]) -> dict[str, list[tuple[str, str]]]:
    done: dict[str, list[tuple[str, str]]] = {}

    def resolve(name: str, seen: frozenset) -> list[tuple[str, str]]:
        if name in done:
            return done[name]
        refs = []
        for table, column in direct.get(name, []):
            if table is not None:
                refs.append((table, column))
            elif column not in seen:
                refs += resolve(column, seen | {column})
        done[name] = list(dict.fromkeys(refs))
        return done[name]

    return {name: resolve(name, frozenset({name})) for name in direct}


def column_lineage(model) -> dg.TableColumnLineage:
    """Dagster's column lineage, from the schema's descriptions (so the two cannot disagree)."""
    deps = {
        name: [dg.TableColumnDep(asset_key=dg.AssetKey(t), column_name=c) for t, c in refs]
        for name, refs in resolved_sources(model).items()
        if refs
    }
    return dg.TableColumnLineage(deps)

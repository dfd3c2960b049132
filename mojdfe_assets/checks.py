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


def _schema(model) -> pa.DataFrameSchema:
    return model if isinstance(model, pa.DataFrameSchema) else model.to_schema()


def table_schema(model) -> dg.TableSchema:
    """The UI's column schema, taken from the pandera schema (names, types, descriptions, codes)."""
    cols = []
    for name, col in _schema(model).columns.items():
        desc = col.description or ""
        isin = [c for c in col.checks if c.name == "isin"]
        if isin:
            allowed = isin[0].statistics.get("allowed_values")
            if allowed is not None:
                desc = f"{desc} Codes: {', '.join(map(str, allowed))}.".strip()
        cols.append(dg.TableColumn(name, str(col.dtype), description=desc,
                                   constraints=dg.TableColumnConstraints(nullable=bool(col.nullable),
                                                                         unique=_unique(col))))
    return dg.TableSchema(columns=cols)


def _unique(col) -> bool:
    return bool(col.unique) or any(c.name == "unique_values" and c.statistics.get("enabled") for c in col.checks)


def failure_counts(model, df: pd.DataFrame) -> dict[str, int]:
    """Validate lazily; return {"column: check": failing rows} (empty when valid)."""
    try:
        # inplace: no copy of the frame (the schemas never coerce, so nothing is changed)
        _schema(model).validate(df, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        col = fc["column"].astype(str).where(fc["column"].notna(), "table")
        key = col + ": " + fc["check"].astype(str)
        return {k: int(v) for k, v in key.value_counts().sort_index().items()}
    return {}


def schema_check(model, df: pd.DataFrame, asset_key: str | dg.AssetKey, check_name: str = "schema",
                 blocking: bool = True) -> dg.AssetCheckResult:
    started = time.perf_counter()
    failures = failure_counts(model, df)
    # how long validating every row took: what the check costs at national scale
    meta = {"rows_checked": len(df), "failing_checks": len(failures),
            "validation_seconds": round(time.perf_counter() - started, 3)}
    if failures:
        meta["failures (column: check -> rows)"] = dg.MetadataValue.json(failures)
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=check_name, passed=not failures, metadata=meta,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN)


def table_metadata(df: pd.DataFrame, model=None) -> dict:
    """Row count, share missing per column, and the run-time column schema."""
    meta = {"dagster/row_count": len(df)}
    if len(df):
        missing = df.isna().mean().round(4)
        meta["missing_share"] = dg.MetadataValue.json({c: float(v) for c, v in missing.items()})
    if model is not None:
        meta["dagster/column_schema"] = table_schema(model)
    return meta


def schema_spec(asset: str, model) -> dg.AssetCheckSpec:
    name = getattr(model, "__name__", None) or getattr(model, "name", "schema")
    return dg.AssetCheckSpec("schema", asset=asset, blocking=True,
                             description=f"{name} pandera schema: types, codes, ranges, keys")


_AFTER_ARROW = re.compile(r"←([^;]*)")
_DOTTED = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\b")
_BARE = re.compile(r"^\s*([a-z][a-z0-9_]*)\b")


def column_lineage(model, upstream: str, assets: set[str] = frozenset()) -> dg.TableColumnLineage:
    """Column lineage read from the schema's descriptions, so the two cannot disagree.

    In a description, `← table.column` names a source column; a bare `← name` is a column of
    `upstream`, or, when `name` is an asset in `assets`, the same-named column of that asset.
    """
    deps = {}
    for name, col in _schema(model).columns.items():
        refs = []
        for part in _AFTER_ARROW.findall(col.description or ""):
            dotted = _DOTTED.findall(part)
            if dotted:
                refs += dotted
            elif (bare := _BARE.match(part)):
                word = bare.group(1)
                refs.append((word, name) if word in assets else (upstream, word))
        if refs:
            deps[name] = [dg.TableColumnDep(asset_key=dg.AssetKey(a), column_name=c) for a, c in dict.fromkeys(refs)]
    return dg.TableColumnLineage(deps)

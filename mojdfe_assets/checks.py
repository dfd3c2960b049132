"""Pandera schemas as Dagster asset checks, and table metadata, with no pupil-level values.

pandera's own error text and `failure_cases` carry row values; here failures are reported only
as counts per (column, check), which is safe to put in Dagster metadata and logs.
"""

from __future__ import annotations

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
                                                                         unique=bool(col.unique))))
    return dg.TableSchema(columns=cols)


def failure_counts(model, df: pd.DataFrame) -> dict[str, int]:
    """Validate lazily; return {"column: check": failing rows} (empty when valid)."""
    try:
        _schema(model).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        col = fc["column"].astype(str).where(fc["column"].notna(), "table")
        key = col + ": " + fc["check"].astype(str)
        return {k: int(v) for k, v in key.value_counts().sort_index().items()}
    return {}


def schema_check(model, df: pd.DataFrame, asset_key: str | dg.AssetKey, check_name: str = "schema",
                 blocking: bool = True) -> dg.AssetCheckResult:
    failures = failure_counts(model, df)
    meta = {"rows_checked": len(df), "failing_checks": len(failures)}
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


def table_out(model, description: str) -> dg.AssetOut:
    """An output of a multi-asset stored as Parquet, with its column schema from `model`."""
    return dg.AssetOut(kinds={"pandas", "parquet"}, description=description,
                       metadata={"dagster/column_schema": table_schema(model)})


def checked_output(df: pd.DataFrame, model, asset: str, metadata: dict | None = None, extra_checks=(),
                   output_name: str = "result"):
    """Yield the schema check (and any extra check results), then the output; refuse bad data."""
    check = schema_check(model, df, asset)
    results = [check, *extra_checks]
    yield from results
    failed = [r.check_name for r in results if not r.passed and r.severity == dg.AssetCheckSeverity.ERROR]
    if failed:
        raise dg.Failure(f"{asset} failed blocking check(s): {', '.join(failed)}")
    yield dg.Output(df, output_name=output_name, metadata={**table_metadata(df, model), **(metadata or {})})

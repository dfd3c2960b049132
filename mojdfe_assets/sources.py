"""Raw assets: each delivered extract read exactly as delivered (every column as text).

The only changes at this stage: a `source_row` number is added so every later row can be traced
back to its line in the file, and column names are matched to the expected ones regardless of
case. A missing required column or an empty file stops the run with an error naming the file
and the column.
"""


import dagster as dg

from . import extracts as X
from .checks import schema_check, table_metadata, table_schema
from .cleaning import PROBLEM, load_extract
from .resources import RawExtracts
from .schemas import raw_schema

GROUP = "sources"


def raw_asset(extract: X.Extract) -> dg.AssetsDefinition:
    schema = raw_schema(extract)
    key = f"{extract.name}_raw"

    @dg.asset(
        name=key, group_name=GROUP, kinds={"pandas", "parquet"},
        description=f"{extract.description}\n\nRead as delivered from `{extract.file}`: every column is text, "
                    "blanks are kept as blanks, and `source_row` numbers each data row of the file.",
        metadata={"dagster/column_schema": table_schema(schema), "file": extract.file},
        check_specs=[dg.AssetCheckSpec("raw_schema", asset=key, blocking=True,
                                       description="Every expected column is present and held as text")],
    )
    def _raw(context: dg.AssetExecutionContext, raw_extracts: RawExtracts):
        path = raw_extracts.path(extract.file)
        df, report = load_extract(path, extract)
        check = schema_check(schema, df, key, "raw_schema")
        yield check
        if not check.passed:
            raise dg.Failure(f"{extract.file} does not match its raw schema", metadata=check.metadata)
        meta = table_metadata(df)
        meta.update({"file": extract.file, "folder_is_synthetic": raw_extracts.synthetic,
                     "unreadable_lines": int(df[PROBLEM].notna().sum()),
                     "columns_renamed (delivered -> expected)": dg.MetadataValue.json(report.renamed),
                     "extra_columns_ignored": dg.MetadataValue.json(report.extra),
                     "optional_columns_absent": dg.MetadataValue.json(report.missing_optional)})
        if report.extra:
            context.log.warning(f"{extract.file}: columns not in the expected layout are ignored: {report.extra}")
        yield dg.Output(df, metadata=meta)

    return _raw


raw_assets = [raw_asset(e) for e in X.ALL]

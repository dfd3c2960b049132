"""Raw assets: each delivered extract read exactly as delivered (every column as text).

The only changes at this stage: a `source_row` number is added so every later row can be traced
back to its line in the file, and column names are matched to the expected ones regardless of
case. A missing required column or an empty file stops the run with an error naming the file
and the column.
"""

import dagster as dg

from . import extracts as X
from .reading import PROBLEM, load_extract
from .resources import RawExtracts
from .schemas import raw_schema
from .table_assets import Table, table_asset

GROUP = "sources"


def raw_asset(extract: X.Extract) -> dg.AssetsDefinition:
    def raw(context: dg.AssetExecutionContext, raw_extracts: RawExtracts) -> Table:
        df, report = load_extract(raw_extracts.path(extract.file), extract)
        if report.extra:
            context.log.warning(f"{extract.file}: columns not in the expected layout are ignored: {report.extra}")
        return Table(df, {"file": extract.file, "folder_is_synthetic": raw_extracts.synthetic,
                          "unreadable_lines": int(df[PROBLEM].notna().sum()),
                          "columns_renamed (delivered -> expected)": dg.MetadataValue.json(report.renamed),
                          "extra_columns_ignored": dg.MetadataValue.json(report.extra),
                          "optional_columns_absent": dg.MetadataValue.json(report.missing_optional)})

    raw.__name__ = f"{extract.name}_raw"
    raw.__doc__ = (f"{extract.description}\n\nRead as delivered from `{extract.file}`: every column is text, "
                   "blanks are kept as blanks, and `source_row` numbers each data row of the file.")
    return table_asset(raw_schema(extract), group=GROUP, lineage=False, metadata={"file": extract.file})(raw)


raw_assets = [raw_asset(e) for e in X.ALL]

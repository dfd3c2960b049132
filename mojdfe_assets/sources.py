"""Raw assets: each delivered extract read exactly as delivered (every column as text).

The only changes at this stage: a `source_row` number is added so every later row can be traced
back to its line in the file, and column names are matched to the expected ones regardless of
case. A missing required column or an empty file stops the run with an error naming the file
and the column. Each materialisation records the delivered file's SHA-256, size and
modification time, and the SHA-256 is the asset's data version: every derived table traces to
the exact delivery, and a changed delivery shows in the UI as a new data version.
"""

from concurrent.futures import ThreadPoolExecutor

import dagster as dg

from . import extracts as X
from .reading import PROBLEM, fingerprint, load_extract
from .resources import RawExtracts
from .schemas import raw_schema
from .table_assets import Table, table_asset

GROUP = "sources"


def raw_asset(extract: X.Extract) -> dg.AssetsDefinition:
    def raw(context: dg.AssetExecutionContext, raw_extracts: RawExtracts) -> Table:
        path = raw_extracts.path(extract.file)
        # the file's SHA-256 (one core; hashlib releases the GIL) while pyarrow parses it
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(fingerprint, path)
            df, report = load_extract(path, extract)
            delivery = digest.result()
        df.attrs["delivery"] = delivery  # stored in the Parquet file's metadata (resources.to_arrow)
        if report.extra:
            context.log.warning(f"{extract.file}: columns not in the expected layout are ignored: {report.extra}")
        return Table(
            df,
            {
                "file": extract.file,
                "folder_is_synthetic": raw_extracts.synthetic,
                "delivery sha256": delivery["sha256"],
                "delivery bytes": delivery["bytes"],
                "delivery modified (UTC)": delivery["modified"],
                "unreadable_lines": int(df[PROBLEM].notna().sum()),
                **report.metadata(),
            },
            data_version=delivery["sha256"],
        )

    raw.__name__ = f"{extract.name}_raw"
    raw.__doc__ = (
        f"{extract.description}\n\nRead as delivered from `{extract.file}`: every column is text, "
        "blanks are kept as blanks, and `source_row` numbers each data row of the file."
    )
    return table_asset(raw_schema(extract), group=GROUP, lineage=False, metadata={"file": extract.file})(raw)


raw_assets = [raw_asset(e) for e in X.ALL]

"""Who owns each asset, and how far its data may travel: owners and tags, in one place.

Owners are configuration (`data/owners.csv`, or the file `MOJDFE_OWNERS_FILE` names): each row
gives the owners of an extract's tables (raw, clean, quarantine: the data owner that delivers it,
DfE or MoJ) or of a stage's derived tables (the research team), as Dagster owners (`team:…` or
an e-mail address).

Every asset carries two tags: `stage` (its group) and `disclosure`, its class for output checking:
- `pupil_level`: a row per pupil or per delivered record (any identifier column, and every raw or
  quarantine table); never leaves the SRS;
- `srs_only`: aggregates for analysis inside the SRS, not protected for release;
- `for_export`: protected for release (threshold, rounding, suppression) and listed for the SRS
  output checker.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pandas as pd

from .schemas import IDENTIFIER_COLUMNS

OWNERS_CSV = Path(__file__).parent / "data" / "owners.csv"
DISCLOSURE_CLASSES = ("pupil_level", "srs_only", "for_export")


@functools.cache
def _owners() -> dict[str, list[str]]:
    path = Path(os.environ.get("MOJDFE_OWNERS_FILE", OWNERS_CSV))
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {r.applies_to: [o.strip() for o in r.owners.split("|") if o.strip()] for r in df.itertuples()}


def owners(asset: str, group: str) -> list[str]:
    """The owners of an asset: those of its extract (by name prefix) or else of its stage."""
    table = _owners()
    for extract, who in table.items():
        if asset == extract or asset.startswith(f"{extract}_") and group in ("sources", "clean"):
            return who
    return table.get(group, [])


def disclosure_class(asset: str, model, declared: str | None = None) -> str:
    """`declared` if given, else pupil_level for a table with an identifier column or delivered rows
    (raw, quarantine), else srs_only."""
    if declared is not None:
        if declared not in DISCLOSURE_CLASSES:
            raise ValueError(f"{asset}: unknown disclosure class {declared!r}")
        return declared
    schema = model if hasattr(model, "columns") else model.to_schema()
    if set(schema.columns) & IDENTIFIER_COLUMNS or asset.endswith(("_raw", "_quarantine")):
        return "pupil_level"
    return "srs_only"


def tags(asset: str, group: str, model, declared: str | None = None) -> dict[str, str]:
    return {"stage": group, "disclosure": disclosure_class(asset, model, declared)}

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
  output checker: every such table and chart is an output of the output-checking request
  (exports.py), and the request itself is for export. A for-export asset declares it
  (`disclosure="for_export"`); its name ends `_publishable` or `_export` (the request is named
  `output_checking_request`), and an asset so named must declare it: `disclosure_class` refuses
  either without the other, and a for-export table with an identifier column.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pandas as pd

from .schemas import IDENTIFIER_COLUMNS

OWNERS_CSV = Path(__file__).parent / "data" / "owners.csv"
DISCLOSURE_CLASSES = ("pupil_level", "srs_only", "for_export")
EXPORT_SUFFIXES = ("_publishable", "_export")
REQUEST = "output_checking_request"


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
    named_for_export = asset.endswith(EXPORT_SUFFIXES) or asset == REQUEST
    if declared is not None and declared not in DISCLOSURE_CLASSES:
        raise ValueError(f"{asset}: unknown disclosure class {declared!r}")
    if named_for_export != (declared == "for_export"):
        raise ValueError(
            f"{asset}: an asset named *_publishable or *_export (or the request) is declared "
            f"disclosure='for_export', and only such an asset (declared: {declared!r})"
        )
    columns = set() if model is None else set((model if hasattr(model, "columns") else model.to_schema()).columns)
    if declared == "for_export" and columns & IDENTIFIER_COLUMNS:
        raise ValueError(f"{asset}: a for-export table cannot hold an identifier column")
    if declared is not None:
        return declared
    if columns & IDENTIFIER_COLUMNS or asset.endswith(("_raw", "_quarantine")):
        return "pupil_level"
    return "srs_only"


def tags(asset: str, group: str, model, declared: str | None = None) -> dict[str, str]:
    return {"stage": group, "disclosure": disclosure_class(asset, model, declared)}


def disclosure_classes(assets) -> dict[str, str]:
    """Every asset of `assets` (AssetsDefinitions) and its disclosure tag."""
    return {spec.key.to_user_string(): spec.tags.get("disclosure") for a in assets for spec in a.specs}


def for_export(assets) -> list[str]:
    """The for-export assets of `assets`, by their tag: the outputs of the output-checking request
    (and the request itself)."""
    return sorted(name for name, cls in disclosure_classes(assets).items() if cls == "for_export")

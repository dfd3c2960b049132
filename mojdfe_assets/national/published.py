"""England's published figures the extract is compared with, as data.

`data/published_statistics.csv` holds one row per figure: its value, year(s), tolerance
(absolute or relative), unit, source (title and URL), how the extract's figure is made
comparable, and the measure (`measures.py`) that computes it. Add or correct a figure there, not
in code.
"""

from pathlib import Path

import pandas as pd

PUBLISHED_CSV = Path(__file__).resolve().parents[1] / "data" / "published_statistics.csv"
PUBLISHED_COLUMNS = [
    "figure_id",
    "target",
    "figure",
    "measure",
    "year",
    "year_from",
    "year_to",
    "value",
    "tolerance",
    "tolerance_type",
    "unit",
    "source",
    "comparability",
]
# The synthetic generator's national scale: a world of 10 million spine pupils has England's
# numbers of children looked after and in need (README, calibration). Counts of a smaller world
# are multiplied by NATIONAL_SCALE_PUPILS / spine pupils unless `count_scale` is given.
NATIONAL_SCALE_PUPILS = 10_000_000
SHARE_WITHIN_FOR_PASS = 0.90  # the check passes when at least 90% of computable figures are within tolerance


def load_published(path: Path | str = PUBLISHED_CSV) -> pd.DataFrame:
    """The published figures, one row each (see the module docstring)."""
    df = pd.read_csv(path, dtype={"target": str, "year": str})
    missing = [c for c in PUBLISHED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    return df[PUBLISHED_COLUMNS]

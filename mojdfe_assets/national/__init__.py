"""Comparison of the extract with England's published statistics.

The published figures are data, not code: `data/published_statistics.csv` holds one row per
figure (its value, year, tolerance, unit, source and how the extract's figure is made comparable;
items of `shared/reference/national-statistics.md` section 8). Each row names a *measure*, a pure
function here that computes the same figure from the cleaned and derived tables over the row's
years. The asset `national_comparison` sets the two side by side; `national_comparison_chart`
draws them. On the synthetic world this measures realism; on a real extract it is quality
assurance, so the check is a warning, never a blocker.

The extract covers a cohort spine (KS4 cohorts) and the social-care records of those and nearby
children, not all of England's children, so shares and ratios are compared directly and counts
are scaled explicitly (`count_scale`; every row's `comparability` says what was done). Nothing
here holds or reports pupil identifiers: only counts, shares and means.

Modules: `published` (the figures as data), `tables` (the tables the figures are computed from),
`measures` (one registered function per kind of figure), `comparison` (the figures side by side,
and the chart) and `assets`.
"""

from .assets import national_assets, national_comparison, national_comparison_chart
from .comparison import compare, compute, draw, summary
from .measures import MEASURES, measure
from .published import load_published
from .tables import ComparisonTables

__all__ = [
    "MEASURES",
    "ComparisonTables",
    "compare",
    "compute",
    "draw",
    "load_published",
    "measure",
    "national_assets",
    "national_comparison",
    "national_comparison_chart",
    "summary",
]

"""The comparison: every published figure beside the extract's, its tolerance band, and the chart."""

import numpy as np
import pandas as pd

from .. import plots
from .measures import MEASURES
from .published import load_published
from .tables import ComparisonTables


def compute(x: ComparisonTables, measure: str, year_from: int, year_to: int) -> tuple[float, int]:
    """One figure from the extract: `measure` is 'name' or 'name:argument' (a MEASURES key)."""
    name, _, arg = measure.partition(":")
    if name not in MEASURES:
        raise KeyError(f"unknown measure {name!r} in the published figures")
    value, base = MEASURES[name](x, arg or None, int(year_from), int(year_to))
    return float(value), int(base)


def compare(x: ComparisonTables, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every published figure beside the extract's: tolerance band, difference, within or not."""
    pub = load_published() if published is None else published
    values = [compute(x, r.measure, r.year_from, r.year_to) for r in pub.itertuples()]
    extract = pd.Series([v for v, _ in values], dtype="float64")
    base = pd.Series([b for _, b in values], dtype="Int64")
    value = pub["value"].astype(float).reset_index(drop=True)
    tol = pub["tolerance"].astype(float).reset_index(drop=True)
    rel = pub["tolerance_type"].reset_index(drop=True) == "relative"
    half = np.where(rel, value.abs() * tol, tol)
    finite = np.isfinite(extract.to_numpy()) & (base.fillna(0).to_numpy() > 0)
    within = pd.array(
        np.where(finite, (extract >= value - half - 1e-9) & (extract <= value + half + 1e-9), False), dtype="boolean"
    )
    within[~finite] = pd.NA
    out = pd.DataFrame(
        {
            "figure_id": pub["figure_id"].astype("string").reset_index(drop=True),
            "target": pub["target"].astype("string").reset_index(drop=True),
            "figure": pub["figure"].astype("string").reset_index(drop=True),
            "year": pub["year"].astype("string").reset_index(drop=True),
            "unit": pub["unit"].astype("string").reset_index(drop=True),
            "published": value,
            "tolerance": tol,
            "tolerance_type": pd.Categorical(
                pub["tolerance_type"].reset_index(drop=True), categories=["absolute", "relative"]
            ),
            "low": value - half,
            "high": value + half,
            "extract_value": extract.where(finite).astype("Float64"),
            "difference": (extract - value).where(finite).astype("Float64"),
            "within_tolerance": within,
            "status": pd.Categorical(
                np.where(~finite, "not_computable", np.where(within.fillna(False), "within", "outside")),
                categories=["within", "outside", "not_computable"],
            ),
            "base": base,
            "source": pub["source"].astype("string").reset_index(drop=True),
            "comparability": pub["comparability"].astype("string").reset_index(drop=True),
        }
    )
    for c in ("figure_id", "target", "figure", "year", "unit", "source", "comparability"):
        out[c] = out[c].astype(pd.StringDtype("pyarrow"))
    return out


def summary(table: pd.DataFrame) -> dict:
    computed = table["status"] != "not_computable"
    within = int((table["status"] == "within").sum())
    return {
        "figures": len(table),
        "compared": int(computed.sum()),
        "within_tolerance": within,
        "share_within": round(within / int(computed.sum()), 4) if computed.any() else 0.0,
        "outside": table.loc[table["status"] == "outside", "figure_id"].astype(str).tolist(),
        "not_computable": table.loc[~computed, "figure_id"].astype(str).tolist(),
    }


def draw(table: pd.DataFrame, synthetic: bool = False) -> bytes:
    """Each figure's distance from the published value in tolerance units (0 = published value,
    ±1 = edge of the tolerance band), so counts, shares and ratios share one axis."""
    t = table.iloc[::-1].reset_index(drop=True)
    half = (t["high"] - t["low"]) / 2
    z = ((t["extract_value"].astype(float) - t["published"]) / half.where(half > 0)).clip(-4, 4)
    fig, axes = plots.figure(8.0, max(4.0, 0.17 * len(t) + 1.2))
    ax = axes[0][0]
    ax.axvspan(-1, 1, color="#d9ead3", zorder=0, label="within tolerance")
    ax.axvline(0, color="#555555", lw=0.8)
    colour = np.where(t["status"].astype(str) == "within", "#2b7a3d", "#c0392b")
    y = np.arange(len(t))
    ax.scatter(z.fillna(0), y, c=colour, s=14, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{i} ({tg})" for i, tg in zip(t["figure_id"], t["target"])], fontsize=6)
    ax.set_xlim(-4.2, 4.2)
    ax.set_ylim(-1, len(t))
    ax.set_xlabel("(extract − published) / tolerance   (clipped at ±4; red = outside tolerance)")
    s = summary(table)
    ax.set_title(
        f"Extract vs England's published statistics: {s['within_tolerance']} of {s['compared']} "
        f"figures within tolerance",
        fontsize=10,
    )
    plots.mark_synthetic(fig, synthetic)
    return plots.render(fig)

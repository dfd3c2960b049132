"""LA comparisons drawn: England's hex map per social-care level, and honest funnel plots.

`draw_hex_map(cells, title, synthetic)` colours each authority of 2018 (one hexagon each, layout
from `geography`) by its adjusted observed/expected ratio on a diverging scale centred on 1 (log
scale, so 0.5 and 2 are equally far from 1), outlines funnel outliers (99.8% thicker and darker
than 95%), hatches suppressed cells and greys LAs with no data, and draws region boundaries.
`hex_styles` / `hex_colours` give every hexagon's style: the drawing uses them, and tests read
them back.

Funnel plots: `draw_funnel_exact` (exact counts; stays in the SRS) labels LAs beyond 99.8% by
name; `draw_funnel_published` (for export) draws only published values and says on the chart how
many cells suppression hides per level, with the curve 10/expected below which no published
nonzero count can lie (published counts are 0 or at least 10, rounded to 5).

Inputs are aggregates (`LaAggregates`, `LaAggregatesPublishable` of `schemas.py`): no pupil
identifiers, so each chart is covered by the disclosure control of the table it is drawn from.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import geography, plots
from .codelists import INTERVENTION_LEVELS
from .stats import funnel_limits

SOCIAL_CARE_LEVELS = tuple(lv for lv in INTERVENTION_LEVELS if lv != "none")
CMAP = "RdBu_r"  # blue: fewer than expected, red: more
RATIO_LIMIT = 3.0  # colour scale from 1/3 to 3 (beyond: the end colours)
NO_DATA = "#ececec"
SUPPRESSED_FACE = "#b5b5b5"
SUPPRESSED_HATCH = "////"
OUTLINE = {
    "high_99.8": ("#000000", 2.6),
    "low_99.8": ("#000000", 2.6),
    "high_95": ("#6b6b6b", 1.4),
    "low_95": ("#6b6b6b", 1.4),
    "within": ("#ffffff", 0.4),
}
POINT = {"within": "#4c72b0", "95": "#dd8452", "99.8": "#c44e52"}
SQRT3 = np.sqrt(3.0)


def _words(level: str) -> str:
    return str(level).replace("_", " ")


# ---------------------------------------------------------------------------------------------
# Colours and styles


def ratio_norm(limit: float = RATIO_LIMIT):
    """Log scale symmetric about 1: ratio 1 -> 0.5 (the centre colour), 1/limit -> 0, limit -> 1."""
    from matplotlib import colors as mcolors

    return mcolors.LogNorm(vmin=1.0 / limit, vmax=limit, clip=True)


def ratio_colour(ratio, limit: float = RATIO_LIMIT) -> np.ndarray:
    """RGBA colour(s) a ratio gets on the map (ratios beyond the scale get the end colours)."""
    from matplotlib import colormaps

    r = np.clip(np.asarray(ratio, float), 1.0 / limit, limit)
    return colormaps[CMAP](ratio_norm(limit)(r))


def hex_styles(cells: pd.DataFrame, levels=None, limit: float = RATIO_LIMIT) -> pd.DataFrame:
    """One row per level x authority of 2018: la, level, la_name, region_code, q, r, state
    ('value', 'suppressed' or 'no_data'), ratio, outlier, face (RGBA tuple), edge, linewidth,
    hatch. `cells` has columns la, level, ratio, outlier, suppressed (rows for other LAs, such as
    'total' or predecessor codes, are ignored; see `unmapped`)."""
    from matplotlib import colors as mcolors

    geo = geography.geography_2018()
    levels = list(levels) if levels is not None else _levels(cells)
    c = cells.astype({"la": str, "level": str}).drop_duplicates(["la", "level"], keep="last")
    grid = pd.MultiIndex.from_product([levels, geo["la_code"]], names=["level", "la"]).to_frame(index=False)
    out = grid.merge(geo.rename(columns={"la_code": "la"}), on="la").merge(
        c[["la", "level", "ratio", "outlier", "suppressed"]], on=["la", "level"], how="left"
    )
    ratio = pd.to_numeric(out["ratio"], errors="coerce").astype(float).to_numpy()
    suppressed = out["suppressed"].astype("boolean").fillna(False).to_numpy(bool)
    value = ~suppressed & ~np.isnan(ratio)
    out["state"] = np.select([suppressed, value], ["suppressed", "value"], "no_data")
    out["ratio"] = np.where(value, ratio, np.nan)
    outlier = out["outlier"].astype(object).where(value & out["outlier"].notna(), "within").astype(str)
    out["outlier"] = np.where(value, outlier, None)
    faces = np.tile(mcolors.to_rgba(NO_DATA), (len(out), 1))
    faces[suppressed] = mcolors.to_rgba(SUPPRESSED_FACE)
    if value.any():
        faces[value] = ratio_colour(ratio[value], limit)
    out["face"] = [tuple(float(x) for x in f) for f in faces]
    style = [OUTLINE.get(o, OUTLINE["within"]) for o in outlier]
    out["edge"] = np.where(suppressed, "#7a7a7a", [s[0] for s in style])
    out["linewidth"] = np.where(suppressed, 0.4, [s[1] for s in style])
    out["hatch"] = np.where(suppressed, SUPPRESSED_HATCH, "")
    return out[
        [
            "level",
            "la",
            "la_name",
            "region_code",
            "region_name",
            "q",
            "r",
            "state",
            "ratio",
            "outlier",
            "face",
            "edge",
            "linewidth",
            "hatch",
        ]
    ]


def hex_colours(cells: pd.DataFrame, levels=None, limit: float = RATIO_LIMIT) -> dict[tuple[str, str], tuple]:
    """{(level, la): RGBA face colour} of every hexagon the map draws."""
    s = hex_styles(cells, levels, limit)
    return dict(zip(zip(s["level"], s["la"]), s["face"]))


def unmapped(cells: pd.DataFrame) -> list[str]:
    """LA codes in `cells` that are not authorities of 2018 (not drawn), 'total' excepted."""
    live = set(geography.geography_2018()["la_code"])
    return sorted(set(cells["la"].astype(str)) - live - {"total"})


def _levels(cells: pd.DataFrame) -> list[str]:
    present = set(cells["level"].astype(str))
    return [lv for lv in SOCIAL_CARE_LEVELS if lv in present] or list(SOCIAL_CARE_LEVELS)


def region_summary(cells: pd.DataFrame, levels=None) -> pd.DataFrame:
    """Region x level: authorities, with a published ratio, suppressed, beyond 95% / 99.8% high
    and low, and the median ratio of those with one."""
    s = hex_styles(cells, levels)
    o = s["outlier"].astype(object)
    s = s.assign(
        with_ratio=s["state"] == "value",
        suppressed=s["state"] == "suppressed",
        high_99_8=o == "high_99.8",
        high_95=o == "high_95",
        low_95=o == "low_95",
        low_99_8=o == "low_99.8",
    )
    g = s.groupby(["region_code", "region_name", "level"], sort=False)
    out = g.agg(
        las=("la", "size"),
        with_ratio=("with_ratio", "sum"),
        suppressed=("suppressed", "sum"),
        high_99_8=("high_99_8", "sum"),
        high_95=("high_95", "sum"),
        low_95=("low_95", "sum"),
        low_99_8=("low_99_8", "sum"),
        median_ratio=("ratio", "median"),
    ).reset_index()
    out["level"] = pd.Categorical(out["level"], categories=list(INTERVENTION_LEVELS), ordered=True)
    return out.sort_values(["region_code", "level"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Hex geometry (pointy-top hexagons, odd-r offset rows, rows counted from the south)

_ANGLES = np.deg2rad(np.arange(30, 390, 60))  # vertices; edge k joins vertex k and k+1
_EDGE_DIRECTIONS = np.deg2rad(np.arange(60, 420, 60))  # outward direction of edge k


def hex_centres(q, r) -> tuple[np.ndarray, np.ndarray]:
    q, r = np.asarray(q, float), np.asarray(r, int)
    return SQRT3 * (q + 0.5 * (r % 2)), 1.5 * r


def _polygons(x: np.ndarray, y: np.ndarray, radius: float = 1.0) -> np.ndarray:
    return np.stack(
        [x[:, None] + radius * np.cos(_ANGLES)[None, :], y[:, None] + radius * np.sin(_ANGLES)[None, :]], axis=-1
    )


def region_boundaries(geo: pd.DataFrame | None = None) -> np.ndarray:
    """Line segments (n, 2, 2) of hex edges between regions and along the coast."""
    geo = geography.geography_2018() if geo is None else geo
    x, y = hex_centres(geo["q"], geo["r"])
    where = {(round(a, 3), round(b, 3)): reg for a, b, reg in zip(x, y, geo["region_code"])}
    segs = []
    for a, b, reg in zip(x, y, geo["region_code"]):
        for k, d in enumerate(_EDGE_DIRECTIONS):
            nb = where.get((round(a + SQRT3 * np.cos(d), 3), round(b + SQRT3 * np.sin(d), 3)))
            if nb != reg:
                v0, v1 = _ANGLES[k], _ANGLES[(k + 1) % 6]
                segs.append([(a + np.cos(v0), b + np.sin(v0)), (a + np.cos(v1), b + np.sin(v1))])
    return np.asarray(segs)


# ---------------------------------------------------------------------------------------------
# The map


def draw_hex_map(cells: pd.DataFrame, title: str, synthetic: bool, levels=None, limit: float = RATIO_LIMIT) -> bytes:
    """PNG of England's hex map, one panel per level (the social-care levels in `cells`): each
    authority of 2018 coloured by `ratio` (adjusted observed/expected; diverging, log scale
    centred on 1), outlined if beyond the funnel limits (`outlier`: 99.8% thick black, 95% grey),
    hatched grey if `suppressed`, light grey if it has no data; region boundaries drawn. A
    'synthetic data' mark is added when `synthetic`. About 1,120 px wide."""
    fig, _ = hex_map_figure(cells, title, synthetic, levels, limit)
    return plots.render(fig)


def hex_map_figure(cells: pd.DataFrame, title: str, synthetic: bool, levels=None, limit: float = RATIO_LIMIT):
    """The figure `draw_hex_map` renders, and {level: its axes} (hex centres in data
    coordinates are `hex_centres(q, r)`), for callers that add to it and for tests."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    styles = hex_styles(cells, levels, limit)
    levels = list(dict.fromkeys(styles["level"]))
    ncols = 2 if len(levels) > 1 else 1
    nrows = -(-len(levels) // ncols)
    fig, axes = plots.figure(plots.WIDTH, 4.6 * nrows + 0.9, ncols=ncols, nrows=nrows + 1)
    axes[0, 0].get_gridspec().set_height_ratios([1.0] * nrows + [0.16])
    bounds = region_boundaries()
    geo = geography.geography_2018()
    gx, gy = hex_centres(geo["q"], geo["r"])
    for ax, lv in zip(axes[:nrows].ravel(), levels):
        s = styles[styles["level"] == lv]
        x, y = hex_centres(s["q"], s["r"])
        poly = _polygons(x, y)
        plain = (s["state"] != "suppressed").to_numpy()
        ax.add_collection(
            PolyCollection(
                poly[plain], facecolors=list(s["face"][plain]), edgecolors="#ffffff", linewidths=0.4, zorder=1
            )
        )
        if (~plain).any():
            ax.add_collection(
                PolyCollection(
                    poly[~plain],
                    facecolors=SUPPRESSED_FACE,
                    edgecolors="#7a7a7a",
                    linewidths=0.4,
                    hatch=SUPPRESSED_HATCH,
                    zorder=1,
                )
            )
        ax.add_collection(LineCollection(bounds, colors="#303030", linewidths=1.1, zorder=2))
        for state, (colour, lw) in (("95", OUTLINE["high_95"]), ("99.8", OUTLINE["high_99.8"])):
            m = s["outlier"].astype(object).isin([f"high_{state}", f"low_{state}"]).to_numpy()
            if m.any():  # inset, so the outline stays inside its own hexagon
                ax.add_collection(
                    PolyCollection(
                        _polygons(x[m], y[m], 0.84), facecolors="none", edgecolors=colour, linewidths=lw, zorder=3
                    )
                )
        n_value = int((s["state"] == "value").sum())
        n_out = int(s["outlier"].astype(object).isin(["high_99.8", "low_99.8"]).sum())
        n_sup = int((s["state"] == "suppressed").sum())
        ax.set_title(
            f"{_words(lv)}\n{n_value} LAs with a ratio · {n_out} beyond 99.8% · {n_sup} suppressed", fontsize=8.5
        )
        ax.set_xlim(gx.min() - 1.2, gx.max() + 1.2)
        ax.set_ylim(gy.min() - 1.3, gy.max() + 1.3)
        ax.set_aspect("equal")
        ax.set_axis_off()
    for ax in axes[:nrows].ravel()[len(levels) :]:
        ax.set_axis_off()
    cparent, lax = axes[nrows, 0], axes[nrows, -1]
    cparent.set_axis_off()
    cax = cparent.inset_axes([0.04, 0.62, 0.92, 0.26])
    sm = ScalarMappable(norm=ratio_norm(limit), cmap=CMAP)
    ticks = [t for t in (1 / 3, 0.5, 2 / 3, 1, 1.5, 2, 3) if 1 / limit <= t <= limit]
    cb = fig.colorbar(sm, cax=cax, orientation="horizontal", ticks=ticks)
    cb.ax.set_xticklabels([f"{t:.2g}" for t in ticks], fontsize=8)
    cb.ax.minorticks_off()
    cb.set_label("adjusted observed / expected (1 = as the national model expects; log scale)", fontsize=8)
    handles = [
        Patch(
            facecolor="white",
            edgecolor=OUTLINE["high_99.8"][0],
            linewidth=OUTLINE["high_99.8"][1],
            label="beyond 99.8% funnel limit",
        ),
        Patch(
            facecolor="white",
            edgecolor=OUTLINE["high_95"][0],
            linewidth=OUTLINE["high_95"][1],
            label="beyond 95% funnel limit",
        ),
        Patch(facecolor=SUPPRESSED_FACE, edgecolor="#7a7a7a", hatch=SUPPRESSED_HATCH, label="suppressed"),
        Patch(facecolor=NO_DATA, edgecolor="#bbbbbb", label="no pupils / no data"),
        Line2D([], [], color="#303030", lw=1.1, label="region boundary"),
    ]
    if lax is cparent:  # one panel: the legend goes in the map's empty south-east corner
        axes[0, 0].legend(handles=handles, loc="lower right", fontsize=7.5, frameon=False)
    else:
        lax.set_axis_off()
        lax.legend(handles=handles, loc="center", ncol=2, fontsize=7.5, frameon=False)
    hidden = unmapped(cells)
    note = f"; not drawn (not an authority of 2018): {', '.join(hidden)}" if hidden else ""
    mark = "SYNTHETIC DATA - " if synthetic else ""
    fig.suptitle(f"{mark}{title}", fontsize=10)
    fig.text(
        0.5,
        0.955,
        "Hex layout: Open Innovations (MIT), 2018 authorities (Bournemouth on the BCP hex, "
        f"Dorset on the Dorset hex, Poole added){note}",
        fontsize=6,
        color="#555555",
        ha="center",
        wrap=True,
    )
    if synthetic:
        plots.mark_synthetic(fig, True)
    return fig, dict(zip(levels, axes[:nrows].ravel()))


# ---------------------------------------------------------------------------------------------
# Funnel plots


def _names(names, codes) -> pd.Series:
    if names is None:
        names = geography.local_authorities().set_index("la_code")["la_name"]
    elif isinstance(names, pd.DataFrame):
        names = names.set_index(names.columns[0])[names.columns[1]]
    elif isinstance(names, Mapping):
        names = pd.Series(dict(names))
    names = names.copy()
    names.index = names.index.astype(str)
    codes = pd.Index(pd.Series(codes).astype(str))
    return pd.Series(names.reindex(codes).to_numpy(dtype=object), index=codes).fillna(pd.Series(codes, index=codes))


def _band(outlier: pd.Series) -> np.ndarray:
    o = outlier.astype(object).fillna("within").astype(str)
    return np.where(o.str.endswith("99.8"), "99.8", np.where(o.str.endswith("_95"), "95", "within"))


def _funnel_axes(ax, expected: np.ndarray, ratio: np.ndarray, band: np.ndarray, ymax: float | None = None):
    emax = max(float(np.nanmax(expected)) if len(expected) else 10.0, 10.0)
    grid = np.linspace(0.5, emax * 1.05, 400)
    for p, style in ((0.025, "--"), (0.001, "-")):
        lo, hi = funnel_limits(grid, p)
        ax.plot(grid, np.maximum(lo, 0), style, color="#7f7f7f", lw=0.9, zorder=1)
        ax.plot(grid, hi, style, color="#7f7f7f", lw=0.9, zorder=1)
    ax.axhline(1.0, color="black", lw=0.8, zorder=1)
    top = ymax if ymax is not None else max(2.5, min(float(np.nanmax(ratio)) * 1.08 if len(ratio) else 2.5, 6.0))
    clipped = ratio > top
    for b in ("within", "95", "99.8"):
        m = band == b
        ax.scatter(expected[m & ~clipped], ratio[m & ~clipped], s=14, c=POINT[b], zorder=3, linewidths=0)
        ax.scatter(
            expected[m & clipped],
            np.full((m & clipped).sum(), top * 0.985),
            s=22,
            c=POINT[b],
            marker="^",
            zorder=3,
            linewidths=0,
        )
    ax.set_ylim(0, top)
    ax.set_xlim(0, emax * 1.05)
    ax.set_xlabel("expected cautioned or convicted (adjusted)", fontsize=8)
    ax.set_ylabel("observed / expected", fontsize=8)
    ax.tick_params(labelsize=7.5)
    return clipped, top


def _legend_handles(extra=()):
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], marker="o", ls="", color=POINT["within"], label="within the 95% limits"),
        Line2D([], [], marker="o", ls="", color=POINT["95"], label="beyond 95%"),
        Line2D([], [], marker="o", ls="", color=POINT["99.8"], label="beyond 99.8%"),
        Line2D([], [], ls="--", color="#7f7f7f", label="95% limits"),
        Line2D([], [], ls="-", color="#7f7f7f", label="99.8% limits"),
        Line2D([], [], ls="-", color="black", lw=0.8, label="national average (1)"),
        Line2D([], [], marker="^", ls="", color="#555555", label="above the axis (drawn at the top)"),
        *extra,
    ]


def outlier_labels(agg: pd.DataFrame, names=None, level: str | None = None) -> pd.DataFrame:
    """LA × level cells beyond the 99.8% limits with their names (what the exact chart labels)."""
    d = agg.astype({"la": str, "level": str})
    d = d[d["level"].isin(SOCIAL_CARE_LEVELS) & (_band(d["outlier"]) == "99.8")]
    if level is not None:
        d = d[d["level"] == level]
    return d.assign(la_name=_names(names, d["la"]).to_numpy())[
        ["level", "la", "la_name", "adjusted_expected", "adjusted_ratio", "outlier"]
    ].reset_index(drop=True)


def draw_funnel_exact(agg: pd.DataFrame, names=None, synthetic: bool = False, max_labels: int = 12) -> bytes:
    """Funnel plots from exact counts (la_aggregates; SRS only, not for release): each LA's
    adjusted ratio against its adjusted expected count, one panel per social-care level, 95% and
    99.8% limits; LAs beyond 99.8% labelled by name (`names`: LA code -> name; default the code
    list's names), the most extreme `max_labels` per panel."""
    d = agg.astype({"la": str, "level": str})
    d = d[d["level"].isin(SOCIAL_CARE_LEVELS) & d["adjusted_ratio"].notna()]
    fig, axes = plots.figure(11, 9, ncols=2, nrows=2)
    for ax, lv in zip(axes.ravel(), SOCIAL_CARE_LEVELS):
        s = d[d["level"] == lv]
        e, r = s["adjusted_expected"].to_numpy(float), s["adjusted_ratio"].to_numpy(float)
        band = _band(s["outlier"])
        clipped, top = _funnel_axes(ax, e, r, band)
        lab = np.flatnonzero(band == "99.8")
        lab = lab[np.argsort(-np.abs(np.log(np.maximum(r[lab], 1e-3))), kind="stable")]
        names_ = _names(names, s["la"]).to_numpy(dtype=object)
        for i in lab[:max_labels]:
            ax.annotate(
                str(names_[i]),
                (e[i], min(r[i], top * 0.985)),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=6.5,
                color="#8c1c1f",
            )
        more = f" (+{len(lab) - max_labels} unlabelled)" if len(lab) > max_labels else ""
        ax.set_title(f"{_words(lv)}: {len(s)} LAs, {len(lab)} beyond 99.8%{more}", fontsize=9)
    axes[0, 0].legend(handles=_legend_handles(), fontsize=6.5, loc="upper right", framealpha=0.9)
    mark = "SYNTHETIC DATA - " if synthetic else ""
    fig.suptitle(
        f"{mark}Caution or conviction by LA against the national model\nexact counts (SRS only, not for release)",
        fontsize=9,
    )
    if synthetic:
        plots.mark_synthetic(fig, True)
    return plots.render(fig)


def suppressed_by_level(published: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Per social-care level: (LA cells whose ratio suppression hides, LA cells), England's
    'total' row excepted."""
    p = published.astype({"la": str, "level": str})
    p = p[(p["la"] != "total") & p["level"].isin(SOCIAL_CARE_LEVELS)]
    hidden = p["suppressed"].astype("boolean").fillna(False).to_numpy(bool) | p["cj_contact"].isna().to_numpy()
    return {
        lv: (int(hidden[(p["level"] == lv).to_numpy()].sum()), int((p["level"] == lv).sum()))
        for lv in SOCIAL_CARE_LEVELS
    }


def draw_funnel_published(published: pd.DataFrame, agg: pd.DataFrame, synthetic: bool = False) -> bytes:
    """Funnel plots for export: only published values (la_aggregates_publishable: ratios of the
    rounded, published counts; suppressed cells not drawn) against the adjusted expected count
    (la_aggregates), one panel per social-care level, with a note of how many LA cells suppression
    hides and the dotted curve 10 / expected: a published count is 0 or at least 10 (rounded to
    5), so points with small expected counts can only lie on or above it."""
    from matplotlib.lines import Line2D

    p = published.astype({"la": str, "level": str})
    p = p[(p["la"] != "total") & p["level"].isin(SOCIAL_CARE_LEVELS) & p["adjusted_ratio"].notna()]
    p = p.drop(columns=["adjusted_expected"], errors="ignore").merge(
        agg[["la", "level", "adjusted_expected"]].astype({"la": str, "level": str}), on=["la", "level"]
    )
    hidden = suppressed_by_level(published)
    fig, axes = plots.figure(11, 9, ncols=2, nrows=2)
    for ax, lv in zip(axes.ravel(), SOCIAL_CARE_LEVELS):
        s = p[p["level"] == lv]
        e, r = s["adjusted_expected"].to_numpy(float), s["adjusted_ratio"].astype(float).to_numpy()
        clipped, top = _funnel_axes(ax, e, r, _band(s["outlier"]))
        grid = np.linspace(10.0 / top, ax.get_xlim()[1], 300)
        ax.plot(grid, 10.0 / grid, ":", color="#2b2b2b", lw=1.0, zorder=2)
        k, n = hidden[lv]
        ax.text(
            0.98,
            0.03,
            f"suppression hides {k} of {n} LA cells",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7.5,
            bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="#bbbbbb"),
        )
        ax.set_title(f"{_words(lv)}: {len(s)} LAs published", fontsize=9)
    floor = Line2D([], [], ls=":", color="#2b2b2b", label="10 / expected (smallest publishable count)")
    axes[0, 0].legend(handles=_legend_handles([floor]), fontsize=6.5, loc="upper right", framealpha=0.9)
    mark = "SYNTHETIC DATA - " if synthetic else ""
    fig.suptitle(
        f"{mark}Caution or conviction by LA against the national model: published values only\n"
        "counts rounded to 5; counts 1-9, and cells that would reveal them, suppressed (not drawn)",
        fontsize=9,
    )
    if synthetic:
        plots.mark_synthetic(fig, True)
    return plots.render(fig)

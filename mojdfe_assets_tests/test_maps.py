"""The hex map and the funnel plots: PNGs are drawn, and hexes get the colour their value should."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from matplotlib import colormaps
from matplotlib import colors as mcolors

from mojdfe_assets import geography, maps, plots

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def cells() -> pd.DataFrame:
    rows = [
        ("202", "looked_after", 1.0, "within", False),  # Camden: the centre colour
        ("203", "looked_after", 3.0, "high_99.8", False),  # Greenwich: top of the scale
        ("204", "looked_after", 0.5, "low_95", False),  # Hackney
        ("205", "looked_after", 2.0, "high_95", False),
        ("206", "looked_after", 10.0, "high_99.8", False),  # beyond the scale: the end colour
        ("207", "looked_after", None, None, True),  # suppressed
        ("208", "looked_after", 0.0, "low_99.8", False),  # no one cautioned: the low end
        ("202", "child_in_need", 1.5, "within", False),
        ("820", "looked_after", 1.2, "within", False),  # a predecessor: not drawn
        ("total", "looked_after", 1.0, "within", False),
    ]
    return pd.DataFrame(rows, columns=["la", "level", "ratio", "outlier", "suppressed"])


def cmap(x):
    return tuple(float(v) for v in colormaps[maps.CMAP](x))


def test_colour_scale_is_centred_on_one_and_log_symmetric():
    norm = maps.ratio_norm()
    assert norm(1.0) == pytest.approx(0.5)
    assert norm(2.0) == pytest.approx(1 - norm(0.5))  # 2 and 1/2 equally far from 1
    assert norm(3.0) == pytest.approx(1.0) and norm(1 / 3) == pytest.approx(0.0)
    assert tuple(maps.ratio_colour(1.0)) == cmap(0.5)


def test_hex_colours_equal_the_colour_of_the_value():
    colours = maps.hex_colours(cells())
    assert colours[("looked_after", "202")] == cmap(0.5)
    assert colours[("looked_after", "203")] == cmap(1.0)
    assert colours[("looked_after", "206")] == cmap(1.0)
    assert colours[("looked_after", "208")] == cmap(0.0)
    assert colours[("looked_after", "204")] == cmap(float(maps.ratio_norm()(0.5)))
    assert colours[("looked_after", "207")] == mcolors.to_rgba(maps.SUPPRESSED_FACE)
    assert colours[("looked_after", "209")] == mcolors.to_rgba(maps.NO_DATA)  # no row: no data
    assert colours[("child_in_need", "202")] == cmap(float(maps.ratio_norm()(1.5)))
    assert colours[("child_in_need", "203")] == mcolors.to_rgba(maps.NO_DATA)
    assert len(colours) == 2 * 152  # every 2018 authority in each level drawn
    assert ("looked_after", "820") not in colours and maps.unmapped(cells()) == ["820"]


def test_styles_outline_outliers_and_hatch_suppressed():
    s = maps.hex_styles(cells()).set_index(["level", "la"])
    la = s.loc["looked_after"]
    assert la.at["207", "state"] == "suppressed" and la.at["207", "hatch"] == maps.SUPPRESSED_HATCH
    assert la.at["209", "state"] == "no_data" and la.at["209", "hatch"] == ""
    thick, thin = la.at["203", "linewidth"], la.at["205", "linewidth"]
    assert thick > thin > la.at["202", "linewidth"]
    dark, grey = (np.mean(mcolors.to_rgb(la.at[c, "edge"])) for c in ("203", "205"))
    assert dark < grey  # 99.8% darker than 95%
    assert la.at["204", "edge"] == la.at["205", "edge"]  # low and high alike


def test_drawn_pixels_have_the_hex_colours():
    fig, axes = maps.hex_map_figure(cells(), "test", synthetic=False)
    fig.tight_layout()
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())
    geo = geography.geography_2018().set_index("la_code")
    colours = maps.hex_colours(cells())
    for level, la in (
        ("looked_after", "202"),
        ("looked_after", "207"),
        ("looked_after", "209"),
        ("looked_after", "203"),
        ("child_in_need", "202"),
    ):
        ax = axes[level]
        x, y = maps.hex_centres([geo.at[la, "q"]], [geo.at[la, "r"]])
        px, py = ax.transData.transform((x[0], y[0]))
        got = img[int(round(img.shape[0] - py)), int(round(px))] / 255.0
        want = np.array(colours[(level, la)])
        if la == "207":  # hatched: the centre pixel is the face or a hatch line
            assert np.allclose(got[:3], want[:3], atol=0.02) or got[:3].mean() < want[:3].mean()
        else:
            assert np.allclose(got[:3], want[:3], atol=0.02), (level, la, got, want)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_map_png_fits_the_ui_chart_view():
    """The UI shows a chart in a window about 880 px wide at a 1,100 px browser window (seen in
    Chromium): the house width, 8 inches at 105 dpi, is 840 px."""
    png = maps.draw_hex_map(cells(), "Caution or conviction: adjusted observed / expected", synthetic=True)
    assert png[:8] == PNG
    w, h = png_size(png)
    assert w == int(plots.WIDTH * plots.DPI) == 840 and h > 500
    assert png != maps.draw_hex_map(cells(), "Caution or conviction: adjusted observed / expected", synthetic=False)
    # All four social-care levels, and a single level.
    full = pd.concat([cells().assign(level=lv) for lv in maps.SOCIAL_CARE_LEVELS])
    assert maps.draw_hex_map(full, "four", synthetic=True)[:8] == PNG
    assert maps.draw_hex_map(cells()[cells()["level"] == "looked_after"], "one", synthetic=False)[:8] == PNG


def test_region_boundaries_and_summary():
    segs = maps.region_boundaries()
    assert segs.shape[1:] == (2, 2) and 100 < len(segs) < 6 * 152
    t = maps.region_summary(cells())
    london = t[(t["region_name"] == "London") & (t["level"] == "looked_after")].iloc[0]
    assert (london["las"], london["with_ratio"], london["suppressed"]) == (33, 6, 1)
    assert (london["high_99_8"], london["high_95"], london["low_95"], london["low_99_8"]) == (2, 1, 1, 1)
    assert london["median_ratio"] == pytest.approx(1.5)  # 0, 0.5, 1, 2, 3, 10


def agg_and_published():
    """A few LA x level cells in the shape of la_aggregates and la_aggregates_publishable."""
    las = ["202", "203", "204", "205"]
    rows = []
    for lv in maps.SOCIAL_CARE_LEVELS:
        for i, la in enumerate(las):
            e = 5.0 + 10 * i
            o = [2, 30, 14, 38][i]
            flag = "high_99.8" if la == "203" else ("low_99.8" if la == "205" and lv == "looked_after" else "within")
            rows.append(
                dict(la=la, level=lv, pupils=100, cj_contact=o, adjusted_expected=e, adjusted_ratio=o / e, outlier=flag)
            )
    agg = pd.DataFrame(rows)
    pub = agg.assign(cj_contact=pd.array([None if c < 10 else 5 * round(c / 5) for c in agg["cj_contact"]], "Int64"))
    pub["suppressed"] = pub["cj_contact"].isna()
    pub["adjusted_ratio"] = (pub["cj_contact"] / agg["adjusted_expected"]).astype("Float64")
    pub["outlier"] = pub["outlier"].where(~pub["suppressed"], None)
    pub = pd.concat(
        [pub, pd.DataFrame([dict(la="total", level="looked_after", pupils=400, cj_contact=85, suppressed=False)])],
        ignore_index=True,
    )
    return agg, pub


def test_funnel_plots():
    agg, pub = agg_and_published()
    names = {"202": "Camden", "203": "Greenwich"}
    png = maps.draw_funnel_exact(agg, names)
    assert png[:8] == PNG and png_size(png)[0] == 840
    lab = maps.outlier_labels(agg, names)
    assert set(lab["la_name"]) == {"Greenwich", "205"}  # a code without a name is shown as the code
    assert (lab["la"] == "203").sum() == 4 and lab.loc[lab["la"] == "205", "level"].tolist() == ["looked_after"]
    assert maps.suppressed_by_level(pub) == dict.fromkeys(maps.SOCIAL_CARE_LEVELS, (1, 4))
    png = maps.draw_funnel_published(pub, agg, synthetic=True)
    assert png[:8] == PNG
    # Names default to the code list's.
    assert maps.outlier_labels(agg)["la_name"].iloc[0] == "Greenwich"

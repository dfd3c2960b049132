"""Research question 2: LA comparisons on worlds with planted LA effects, expected counts and
limits by hand, and disclosure control of the publishable table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mojdfe_assets import la_aggregates as L
from mojdfe_assets.disclosure import Policy, determined_cells
from mojdfe_assets.linked_sums import feasible_ranges, pinned
from mojdfe_assets.schemas import IDENTIFIER_COLUMNS, LaAggregates, LaAggregatesPublishable
from mojdfe_assets.stats import funnel_limits, poisson_ratio_ci

from .worlds import pupils

N_LAS = 40
HIGH, LOW = 7, 12  # LAs with a planted effect on pupils with social-care contact


def context(n_las: int, poverty) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "la_code": pd.array([f"{300 + i}" for i in range(n_las)], dtype="string[pyarrow]"),
            "idaci_average_score": pd.array(poverty, dtype="Float64"),
        }
    )


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(21)
    poverty = rng.uniform(0.06, 0.33, N_LAS)
    # Community offending rises with poverty and varies by LA: shared by every level, so the
    # adjusted comparison (non-social-care rate, poverty) should absorb it.
    shift = 1.5 * (poverty - poverty.mean()) + rng.normal(0, 0.25, N_LAS)
    df = pupils(100_000, seed=22, n_las=N_LAS, la_shift=shift, la_sc_extra={HIGH: np.log(2.5), LOW: -np.log(3.0)})
    return L.compare_las(df, context(N_LAS, poverty))


def test_planted_la_effects_are_flagged(planted):
    LaAggregates.validate(planted)
    sc = planted[planted["level"].isin(["referral_only", "child_in_need"])].set_index(["la", "level"])
    for lv in ("referral_only", "child_in_need"):
        assert sc.loc[(f"{300 + HIGH}", lv), "outlier"] == "high_99.8"
        assert sc.loc[(f"{300 + LOW}", lv), "outlier"] == "low_99.8"
        assert sc.loc[(f"{300 + HIGH}", lv), "adjusted_ci_low"] > 1
        assert sc.loc[(f"{300 + LOW}", lv), "adjusted_ci_high"] < 1
    others = planted[~planted["la"].isin([f"{300 + HIGH}", f"{300 + LOW}"]) & (planted["level"] != "none")]
    flagged = others["outlier"].isin(["high_99.8", "low_99.8"]).mean()
    assert flagged <= 0.05, flagged
    # Without the adjustment, the LA-wide shift makes many more LAs look unusual.
    crude_out = (others["oe_ci_low"] > 1) | (others["oe_ci_high"] < 1)
    adj_out = (others["adjusted_ci_low"] > 1) | (others["adjusted_ci_high"] < 1)
    assert crude_out.sum() > 2 * adj_out.sum()


@pytest.mark.filterwarnings(
    "ignore::statsmodels.tools.sm_exceptions.SingularMatrixWarning"
)  # 2 LAs: LA covariates collinear
def test_crude_expected_and_ratio_by_hand():
    df = pupils(60, seed=3, n_las=2)
    la = np.array(["300"] * 30 + ["301"] * 30)
    level = np.array((["none"] * 20 + ["looked_after"] * 10) * 2)
    cj = np.zeros(60, bool)
    cj[[0, 1, 20, 21, 22, 23, 24, 25]] = True  # LA 300: none 2/20, looked after 6/10
    cj[[30, 31, 32, 33, 50, 51]] = True  # LA 301: none 4/20, looked after 2/10
    df["la"] = pd.array(la, dtype="string[pyarrow]")
    df["level"] = pd.Categorical(level, categories=df["level"].cat.categories, ordered=True)
    df["first_cj_contact_date"] = pd.Series(np.where(cj, np.datetime64("2016-01-01", "ms"), np.datetime64("NaT", "ms")))
    df["most_severe_disposal"] = pd.Categorical(
        np.where(cj, "caution", "none"), categories=df["most_severe_disposal"].cat.categories, ordered=True
    )
    out = L.compare_las(df, context(2, [0.1, 0.2])).set_index(["la", "level"])
    # National rates: none 6/40 = 0.15, looked after 8/20 = 0.4.
    r = out.loc[("300", "looked_after")]
    assert (r["pupils"], r["cj_contact"], r["rate"]) == (10, 6, 0.6)
    assert r["expected"] == pytest.approx(4.0) and r["oe_ratio"] == pytest.approx(1.5)
    r = out.loc[("301", "none")]
    assert r["expected"] == pytest.approx(3.0) and r["oe_ratio"] == pytest.approx(4 / 3)
    assert r["la_non_sc_rate"] == pytest.approx(0.2) and out.loc[("300", "none"), "la_non_sc_rate"] == 0.1
    # Expected counts add up to the observed national total, crude and adjusted (the logistic
    # model with an intercept reproduces the total).
    assert out["expected"].sum() == pytest.approx(14.0)
    assert out["adjusted_expected"].sum() == pytest.approx(14.0, rel=1e-5)


def test_exact_interval_and_funnel_limits():
    lo, hi = poisson_ratio_ci([10], [10.0])
    assert (round(lo[0], 4), round(hi[0], 4)) == (0.4795, 1.8390)  # the exact 95% interval for 10 is 4.795–18.39
    for e in (400.0, 2500.0):  # normal approximation holds for large expected counts
        lo, hi = funnel_limits([e], 0.025)
        assert lo[0] == pytest.approx(1 - 1.96 / np.sqrt(e), abs=0.003)
        assert hi[0] == pytest.approx(1 + 1.96 / np.sqrt(e), abs=0.003)
    lo95, hi95 = funnel_limits([20.0, 200.0], 0.025)
    lo998, hi998 = funnel_limits([20.0, 200.0], 0.001)
    assert (lo998 < lo95).all() and (hi998 > hi95).all() and hi95[1] < hi95[0]  # the funnel narrows
    assert list(L.flag(np.array([2.0, 1.3, 1.0, 0.7, 0.1]), 0.8, 1.2, 0.6, 1.5)) == [
        "high_99.8",
        "high_95",
        "within",
        "low_95",
        "low_99.8",
    ]


def aggregates(rows) -> pd.DataFrame:
    """(la, level, pupils, cj_contact) rows in the shape of la_aggregates: expected 20 % of
    pupils, every cell within the funnel."""
    df = pd.DataFrame(rows, columns=["la", "level", "pupils", "cj_contact"])
    df["level"] = pd.Categorical(df["level"], categories=list(L.LEVELS), ordered=True)
    df["adjusted_expected"] = df["pupils"] * 0.2
    df["adjusted_ratio"] = df["cj_contact"] / df["adjusted_expected"]
    df["outlier"] = "within"
    return df


def hand_aggregates() -> pd.DataFrame:
    """4 LAs × 3 levels; LA 301 looked after: 4 of 40 cautioned (small numerator, published
    denominator: naive suppression of the 4 alone leaves it recoverable as 40 - 36)."""
    rows = [
        ("300", "none", 400, 40),
        ("300", "child_in_need", 60, 20),
        ("300", "looked_after", 30, 15),
        ("301", "none", 500, 55),
        ("301", "child_in_need", 80, 25),
        ("301", "looked_after", 40, 4),
        ("302", "none", 300, 30),
        ("302", "child_in_need", 50, 18),
        ("302", "looked_after", 25, 25),
        ("303", "none", 350, 33),
        ("303", "child_in_need", 45, 14),
        ("303", "looked_after", 35, 16),
    ]
    return aggregates(rows)


def test_publishable_rules_on_a_hand_table():
    agg = hand_aggregates()
    pub, meta = L.publishable(agg, policy=Policy(full_cells="suppress"))
    LaAggregatesPublishable.validate(pub)
    assert not (set(pub.columns) & IDENTIFIER_COLUMNS)
    cell = pub.set_index(["la", "level"])
    # Primary: 4 cautioned in 301/looked_after; 302/looked_after had everyone cautioned (25 of 25).
    for key in (("301", "looked_after"), ("302", "looked_after")):
        assert cell.loc[key, "suppressed"] and pd.isna(cell.loc[key, "cj_contact"]) and pd.isna(cell.loc[key, "pupils"])
    # Secondary, worked by hand: the 4's column partner is the smallest other cautioned count in
    # the looked-after column (300: 15); row partners are the smallest in each row (child in
    # need: 20, 25), and the forced 302 cell needs its own row partner (302 child in need).
    hidden = {k for k, v in cell["suppressed"].items() if v and k[0] != "total"}
    assert hidden == {(la, lv) for la in ("300", "301", "302") for lv in ("child_in_need", "looked_after")}
    # Suppressed in numerator and denominator alike, so nothing is recovered by subtraction.
    assert (pub["pupils"].isna() == pub["cj_contact"].isna()).all()
    counts = pd.concat([pub["pupils"], pub["cj_contact"]]).dropna().astype(int)
    assert not ((counts > 0) & (counts < 10)).any() and (counts % 5 == 0).all()
    # Exact totals do not pin any suppressed cell in any of the linked tables.
    wide = agg.pivot(index="la", columns="level", values="pupils").dropna(axis=1).astype(int)
    mask = cell["suppressed"].unstack().loc[wide.index, wide.columns].astype(bool)
    assert determined_cells(wide, mask) == [] and meta["recoverable_suppressed_cells"] == 0
    # Totals are published rounded: England none = 400+500+300+350 = 1550; LA 300 all = 490.
    assert cell.loc[("total", "none"), "pupils"] == 1550 and cell.loc[("300", "all"), "pupils"] == 490
    # Rates and ratios come from the published (rounded) counts.
    r = cell.loc[("303", "child_in_need")]  # 14 -> 15 of 45: rate 15/45, ratio 15/(45*0.2)
    assert r["cj_contact"] == 15 and r["rate"] == round(15 / 45, 4) and r["adjusted_ratio"] == round(15 / 9, 2)
    r = cell.loc[("303", "looked_after")]  # 16 -> 15 of 35
    assert r["cj_contact"] == 15 and r["rate"] == round(15 / 35, 4) and r["adjusted_ratio"] == round(15 / 7, 2)
    assert cell.loc[("total", "all"), "pupils"] == 1915 and cell.loc[("total", "referral_only"), "pupils"] == 0


def test_full_cells_are_flagged_by_default():
    """Under the default policy the cell where every pupil was cautioned (302 looked after, 25 of
    25) is published and flagged for the output checker, as ACRO flags zeros; the rest of the
    pattern still protects the small cell."""
    agg = hand_aggregates()
    pub, meta = L.publishable(agg)
    cell = pub.set_index(["la", "level"])
    assert not cell.loc[("302", "looked_after"), "suppressed"] and cell.loc[("302", "looked_after"), "cj_contact"] == 25
    assert cell.loc[("301", "looked_after"), "suppressed"]
    # Flagged: the full cell and the structural zeros (no LA has referral-only or CPP pupils).
    assert meta["flagged_cells"] == 1 + 4 * 2 and meta["recoverable_suppressed_cells"] == 0
    wide = agg.pivot(index="la", columns="level", values="pupils").dropna(axis=1).astype(int)
    mask = cell["suppressed"].unstack().loc[wide.index, wide.columns].astype(bool)
    assert determined_cells(wide, mask) == []


def two_regions() -> pd.DataFrame:
    """Three LAs of the North East (390 Gateshead, 391 Newcastle, 392 North Tyneside) and three of
    London (301-303), levels none and looked after: Newcastle's looked-after pupils include 4
    cautioned or convicted (small)."""
    rows = [
        ("390", "none", 200, 40),
        ("390", "looked_after", 30, 12),
        ("391", "none", 250, 50),
        ("391", "looked_after", 40, 4),
        ("392", "none", 220, 44),
        ("392", "looked_after", 35, 14),
        ("301", "none", 300, 60),
        ("301", "looked_after", 25, 10),
        ("302", "none", 320, 64),
        ("302", "looked_after", 45, 18),
        ("303", "none", 280, 56),
        ("303", "looked_after", 50, 20),
    ]
    return aggregates(rows)


def hidden_cells(pub: pd.DataFrame, unit: str = "la") -> set:
    c = pub[pub["suppressed"].astype(bool) & (pub[unit] != "total") & (pub["level"] != "all")]
    return set(zip(c[unit], c["level"]))


def test_the_region_table_gives_away_an_la_cell_hidden_in_the_la_table_alone():
    """Protected one table at a time (as before), the LA table hides Newcastle's 4 with London's
    301 as its column partner (smallest looked-after count: 25 pupils, 10 cautioned, 15 not) and
    each one's none cell as row partner; the region table publishes every region cell. The North
    East's looked-after cautioned, 12 + 4 + 14 = 30, less Gateshead's 12 and North Tyneside's 14,
    gives the 4 back; London's 10 comes back the same way."""
    agg = two_regions()
    la, _ = L.publishable(agg)
    region, _ = L.publishable(L.region_aggregates_table(agg), unit="region_code", schema=L.RegionAggregatesPublishable)
    assert hidden_cells(la) == {(a, lv) for a in ("391", "301") for lv in ("none", "looked_after")}
    assert hidden_cells(region, "region_code") == set()
    ne = region.set_index(["region_code", "level"]).loc[("E12000001", "looked_after"), "cj_contact"]
    shown = la.set_index(["la", "level"])["cj_contact"]
    # Rounded to base 5 (30, 10, 15) the reader's figure is 5 for the true 4: the exact attacker,
    # given the unrounded values, gets the 4 itself.
    assert (ne, shown[("390", "looked_after")], shown[("392", "looked_after")]) == (30, 10, 15)
    system = L.area_system(
        L.linked_counts(agg), {"la": L.published_frames(la, "la"), "region": L.published_frames(region, "region_code")}
    )
    leaked = {system.keys[i] for i in system.leaks()}
    assert ("la", "cj_contact", "391", "looked_after") in leaked and ("la", "pupils", "301", "none") in leaked


def test_la_and_region_tables_protected_together():
    """Protected together, a further North East cell is hidden beside Newcastle's (Gateshead's
    looked-after cell: the smallest of the recovering combination), so every region's column holds
    no hidden LA cell or at least two, and neither the linear equations of both tables nor the sign
    of counts (a linear programme per hidden count) pins any suppressed count."""
    agg = two_regions()
    la, la_meta, region, region_meta, p = L.publishable_areas(agg, L.region_aggregates_table(agg))
    hidden = hidden_cells(la)
    assert {("391", "looked_after"), ("390", "looked_after")} <= hidden
    assert p.added["la"].loc["390", "looked_after"] and not p.unprotected
    assert la_meta["suppressed_against_the_other_table"] >= 1 and la_meta["recoverable_across_tables"] == 0
    regions = dict(zip(L.linked_counts(agg)["pupils"].index, L.region_of(L.linked_counts(agg)["pupils"].index)))
    for r in ("E12000001", "E12000007"):
        for lv in ("none", "looked_after"):
            assert sum((a, lv) in hidden for a, rr in regions.items() if rr == r) != 1
    counts = pd.concat([la["pupils"], la["cj_contact"], region["pupils"], region["cj_contact"]]).dropna()
    assert not ((counts > 0) & (counts < 10)).any() and (counts % 5 == 0).all()
    system = L.area_system(
        L.linked_counts(agg), {"la": L.published_frames(la, "la"), "region": L.published_frames(region, "region_code")}
    )
    assert system.leaks() == []
    targets = [i for i in np.flatnonzero(system.sensitive & ~system.published) if system.keys[i][1] != "not_cj"]
    assert targets and pinned(feasible_ranges(system.matrix, system.values, system.published, targets)) == []


def test_naive_suppression_of_the_table_would_leak():
    """The rule the publishable table follows is needed: suppressing only the small numerator
    leaves it recoverable from the published denominator and the complement."""
    agg = hand_aggregates()
    k = agg.set_index(["la", "level"]).loc[("301", "looked_after")]
    not_cj = k["pupils"] - k["cj_contact"]
    assert not_cj >= 10 and k["pupils"] >= 10  # both would pass a naive threshold rule
    assert k["pupils"] - not_cj == 4  # ... and give the suppressed 4 back


def test_export_charts_draw_only_published_values():
    """The for-export funnel plot and map are the same whatever the exact figures of suppressed
    cells: they are drawn from the published table only (and the expected counts of published cells)."""
    from mojdfe_assets import maps

    planted = hand_aggregates()  # on real LA numbers (Camden, Greenwich, Hackney, Hammersmith), to be mapped
    planted["la"] = planted["la"].map({"300": "202", "301": "203", "302": "204", "303": "205"})
    pub, _ = L.publishable(planted)
    funnel, hexes = maps.draw_funnel_published(pub, planted), maps.draw_hex_map(L.map_cells(pub), "t", False)
    assert funnel[:8] == b"\x89PNG\r\n\x1a\n" and len(funnel) > 10_000
    hidden = pub[pub["suppressed"].astype(bool)][["la", "level"]].astype(str)
    assert len(hidden)
    changed = planted.copy()
    key = changed["la"].astype(str) + "|" + changed["level"].astype(str)
    secret = key.isin(hidden["la"] + "|" + hidden["level"])
    changed.loc[secret, ["adjusted_ratio", "adjusted_expected"]] *= 3.0  # what suppression hides
    assert maps.draw_funnel_published(pub, changed) == funnel
    styles = maps.hex_styles(L.map_cells(pub))
    sup = styles[styles["state"] == "suppressed"]
    assert len(sup) and sup["ratio"].isna().all()  # a suppressed hex carries no value
    assert maps.draw_hex_map(L.map_cells(pub), "t", False) == hexes

"""Research question 1: summaries checked by hand, models against planted effects and against
the pupil-level fits the cell-level fits stand in for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel

from mojdfe_assets import effects
from mojdfe_assets.schemas import LEVELS, InterventionOutcomeModels, InterventionOutcomeSummary

from .worlds import pupils


@pytest.fixture(scope="module")
def world():
    return effects.outcome_frame(pupils(80_000, seed=11))


def test_summary_by_hand():
    df = pupils(10, seed=1)
    df["level"] = pd.Categorical(["none"] * 4 + ["looked_after"] * 6, categories=list(LEVELS), ordered=True)
    df["permanent_exclusion"] = pd.array(
        [True, True, False, False, None, True, False, False, False, False], dtype="boolean"
    )
    df["unauthorised_sessions"] = pd.array([5, 1, 3, None, 0, 1, 2, 3, 10, None], dtype="Int64")
    df["fixed_period_exclusions"] = pd.array([0, 2, 0, 0, 1, 1, 0, 3, 0, 0], dtype="Int64")
    df["most_severe_disposal"] = pd.Categorical(
        ["none", "caution", "none", "none", "custodial", "custodial", None, "none", "caution", "non_custodial"],
        categories=["none", "caution", "non_custodial", "custodial"],
        ordered=True,
    )
    contact = df["most_severe_disposal"].isin(["caution", "non_custodial", "custodial"]).to_numpy()
    df["first_cj_contact_date"] = pd.Series(
        np.where(contact, np.datetime64("2016-05-01", "ms"), np.datetime64("NaT", "ms"))
    )
    s = effects.summarise(effects.outcome_frame(df))
    InterventionOutcomeSummary.validate(s)
    pe = s[(s["level"] == "none") & (s["outcome"] == "permanent_exclusion")].iloc[0]
    assert (pe["n"], pe["events"], pe["estimate"]) == (4, 2, 0.5)
    # Wilson 95% for 2/4: centre 0.5, half-width 1.96*sqrt(1/16 + 1.96^2/64)/(1 + 1.96^2/4) = 0.34997.
    assert pe["ci_low"] == pytest.approx(0.15003, abs=1e-4) and pe["ci_high"] == pytest.approx(0.84997, abs=1e-4)
    la = s[(s["level"] == "looked_after") & (s["outcome"] == "permanent_exclusion")].iloc[0]
    assert (la["n"], la["events"]) == (5, 1)  # the missing value is not counted
    med = s[(s["level"] == "looked_after") & (s["outcome"] == "unauthorised_sessions")].iloc[0]
    # Values 0, 1, 2, 3, 10: median 2; ranks 1 and 5 (Binomial(5, 1/2) 2.5% and 97.5% points 1, 4+1).
    assert (med["n"], med["estimate"], med["ci_low"], med["ci_high"]) == (5, 2.0, 0.0, 10.0)
    fpe = s[(s["outcome"] == "fixed_period_exclusion")].set_index("level")
    assert (fpe.loc["none", "n"], fpe.loc["none", "events"]) == (4, 1)  # any fixed-period exclusion: 1 of 4
    assert (fpe.loc["looked_after", "n"], fpe.loc["looked_after", "events"]) == (6, 3)
    cj = s[(s["level"] == "looked_after") & (s["outcome"] == "cj_contact")].iloc[0]
    assert (cj["n"], cj["events"]) == (5, 4)  # custodial, custodial, none, caution, non_custodial
    cust = s[
        (s["level"] == "looked_after") & (s["outcome"] == "most_severe_disposal") & (s["category"] == "custodial")
    ].iloc[0]
    assert (cust["n"], cust["events"], cust["estimate"]) == (5, 2, 0.4)
    empty = s[(s["level"] == "child_in_need") & (s["outcome"] == "gcse_level2_em")].iloc[0]
    assert empty["n"] == 0 and pd.isna(empty["estimate"])


def test_planted_level_effects_recovered_within_ci(world):
    m = effects.fit_models(world)
    InterventionOutcomeModels.validate(m)
    planted_or = dict(zip(LEVELS, (1.0, 1.5, 2.0, 2.5, 4.0)))
    planted_rr = dict(zip(LEVELS, (1.0, 1.3, 1.6, 1.8, 1.2)))
    for outcome, planted in (("cj_contact", planted_or), ("unauthorised_sessions", planted_rr)):
        rows = m[(m["outcome"] == outcome) & m["term"].str.startswith("level:")].set_index("term")
        assert len(rows) == 4
        for lv in LEVELS[1:]:
            r = rows.loc[f"level:{lv}"]
            assert r["ci_low"] < planted[lv] < r["ci_high"], (outcome, lv, r.to_dict())
    # Sex and FSM effects on the log-odds were planted too (0.8 and 0.5): within 3.29 standard
    # errors (99.9%), read off the 95% CI.
    cj = m[m["outcome"] == "cj_contact"].set_index("term")
    for term, truth in (("sex:M", 0.8), ("fsm", 0.5)):
        se = np.log(cj.loc[term, "ci_high"] / cj.loc[term, "ci_low"]) / (2 * 1.959964)
        assert abs(np.log(cj.loc[term, "estimate"]) - truth) < 3.29 * se, term
    # Outcomes with no planted level effect (random GCSE): the CIs cover 1.
    gcse = m[(m["outcome"] == "gcse_level2_em") & m["term"].str.startswith("level:")]
    assert ((gcse["ci_low"] < 1) & (gcse["ci_high"] > 1)).all()
    # Ordinal models rank levels as planted: worse disposals more likely as the level rises.
    sev = m[(m["outcome"] == "most_severe_disposal") & m["term"].str.startswith("level:")]["estimate"].to_numpy()
    assert (np.diff(sev) > 0).all() and sev[0] > 1


def test_cell_logistic_equals_pupil_logistic():
    df = effects.outcome_frame(pupils(3_000, seed=5))
    cells_fit = effects.fit_binary(df, "cj_contact").set_index("term")
    x = effects.design(
        df.assign(
            level=df["level"].astype(str),
            sex=df["sex"].astype(str),
            ks4_year=df["ks4_year"].astype(str),
            fsm=df["fsm"].astype(bool),
        )
    )
    pupil = sm.Logit(df["cj_contact"].astype(float).to_numpy(), x).fit(disp=False)
    for term in cells_fit.index:
        assert cells_fit.loc[term, "estimate"] == pytest.approx(np.exp(pupil.params[term]), rel=1e-6)
        assert cells_fit.loc[term, "ci_high"] == pytest.approx(
            np.exp(pupil.params[term] + 1.959964 * pupil.bse[term]), rel=1e-4
        )


def test_cell_quasi_poisson_equals_pupil_quasi_poisson():
    df = effects.outcome_frame(pupils(3_000, seed=6))
    fit = effects.fit_count(df, "unauthorised_sessions", "sessions_possible").set_index("term")
    d = df.assign(
        level=df["level"].astype(str),
        sex=df["sex"].astype(str),
        ks4_year=df["ks4_year"].astype(str),
        fsm=df["fsm"].astype(bool),
    )
    pupil = sm.GLM(
        d["unauthorised_sessions"].astype(float).to_numpy(),
        effects.design(d),
        family=sm.families.Poisson(),
        offset=np.log(d["sessions_possible"].astype(float).to_numpy()),
    ).fit(scale="X2")
    assert pupil.scale > 1  # over-dispersed, as planted (negative binomial)
    for term in fit.index:
        assert fit.loc[term, "estimate"] == pytest.approx(np.exp(pupil.params[term]), rel=1e-6)
        assert fit.loc[term, "p_value"] == pytest.approx(pupil.pvalues[term], rel=1e-3, abs=1e-12)


def test_weighted_ordinal_equals_expanded_fit():
    rng = np.random.default_rng(2)
    x = pd.DataFrame({"a": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], "b": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]})
    y = pd.Series(pd.Categorical(["lo", "mid", "hi", "lo", "mid", "hi"], categories=["lo", "mid", "hi"], ordered=True))
    w = rng.integers(5, 40, len(x))
    weighted = effects.weighted_ordered_model()(y, x, w, distr="logit").fit(method="bfgs", disp=False)
    rep = np.repeat(np.arange(len(x)), w)
    expanded = OrderedModel(y.iloc[rep].reset_index(drop=True), x.iloc[rep].reset_index(drop=True), distr="logit").fit(
        method="bfgs", disp=False
    )
    np.testing.assert_allclose(weighted.params, expanded.params, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(weighted.bse, expanded.bse, rtol=1e-3)


def test_chart_is_a_png_drawn_from_the_summary(world):
    png = effects.draw_outcomes_by_level(effects.summarise(world))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def _cells_by_group_by(df, value, exposure=None):
    """The reference the integer cell codes stand in for: a sorted group-by over the covariates."""
    keep = df[[value, "level", *effects.COVARIATES]].notna().all(axis=1)
    if exposure:
        keep &= df[exposure].notna() & (df[exposure] > 0)
    y = df.loc[keep, value].astype("float64")
    t = df.loc[keep, exposure].astype("float64") if exposure else pd.Series(1.0, index=y.index)
    frame = df.loc[keep, ["level", *effects.COVARIATES]].astype({"fsm": bool}).assign(y=y, y2t=y * y / t, t=t)
    out = frame.groupby(["level", *effects.COVARIATES], observed=True).agg(
        n=("y", "size"), y=("y", "sum"), y2t=("y2t", "sum"), t=("t", "sum")
    )
    return out.reset_index().astype({"level": str, "sex": str, "ks4_year": str})


def _with_gaps(n: int, seed: int) -> pd.DataFrame:
    """outcome_frame of `n` pupils with covariates, outcomes and exposures missing here and there,
    a sex and a cohort nobody has, and exposures of 0."""
    df = pupils(n, seed=seed)
    rng = np.random.default_rng(seed)
    gap = lambda: rng.random(n) < 0.05  # noqa: E731
    df["sex"] = df["sex"].mask(gap()).astype(pd.CategoricalDtype(["F", "M", "U"]))
    df["fsm"] = df["fsm"].mask(gap())
    df["ks4_year"] = df["ks4_year"].mask(gap())
    df["level"] = df["level"].mask(gap())
    df["gcse_level2_em"] = df["gcse_level2_em"].mask(gap())
    df["unauthorised_sessions"] = df["unauthorised_sessions"].mask(gap())
    df["sessions_possible"] = df["sessions_possible"].mask(gap()).where(~gap(), 0)
    df["most_severe_disposal"] = df["most_severe_disposal"].mask(gap())
    df = effects.outcome_frame(df)
    df["score"] = pd.array(rng.random(n) * 80, dtype="Float64")  # not integers: pandas' sums
    return df


def test_cells_on_integer_codes_equal_a_group_by_over_the_covariates():
    for seed in (3, 4):
        df = _with_gaps(2_000, seed)
        cell = effects.cell_codes(df)
        for value, exposure in [
            ("gcse_level2_em", None),
            ("cj_contact", None),
            ("unauthorised_sessions", "sessions_possible"),
            ("fixed_period_sessions", None),
            ("score", None),
            ("score", "sessions_possible"),
        ]:
            ref = _cells_by_group_by(df, value, exposure)
            pd.testing.assert_frame_equal(effects.cells(df, value, exposure, cell), ref, check_exact=True)
            pd.testing.assert_frame_equal(effects.cells(df, value, exposure), ref, check_exact=True)
        for outcome in effects.ORDINAL:
            keep = df[[outcome, "level", *effects.COVARIATES]].notna().all(axis=1)
            ref = (
                df.loc[keep, ["level", *effects.COVARIATES, outcome]]
                .astype({"fsm": bool})
                .groupby(["level", *effects.COVARIATES, outcome], observed=True)
                .size()
                .rename("w")
                .reset_index()
                .rename(columns={outcome: "cat"})
                .astype({"level": str, "sex": str, "ks4_year": str, "cat": str})
            )
            pd.testing.assert_frame_equal(effects.ordinal_cells(df, outcome, cell), ref, check_exact=True)


def test_covariates_read_as_categoricals_in_any_order_give_the_same_models():
    df = pupils(3_000, seed=8)
    text = effects.fit_models(effects.outcome_frame(df))
    for c in ("sex", "ks4_year"):  # as from Parquet's dictionary pages: categories in order of appearance
        df[c] = pd.Categorical(df[c].astype(object), categories=sorted(df[c].unique(), reverse=True))
    pd.testing.assert_frame_equal(effects.fit_models(effects.outcome_frame(df)), text, check_exact=True)

"""Disclosure control of the for-export outputs and the output-checking request (issue 20):
hand-made tables with their exact suppression patterns and statuses, results.json in ACRO's
format, ACRO's own behaviour (which these rules go beyond), and the attacker on every exported
table together."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from mojdfe_assets import effects
from mojdfe_assets import exports as E
from mojdfe_assets import la_aggregates as L
from mojdfe_assets import linked_sums as LS
from mojdfe_assets import output_checking as O
from mojdfe_assets.disclosure import Policy, dominance
from mojdfe_assets.resources import write_folder_atomic
from mojdfe_assets.schemas import (
    CONVICTION_GROUPS,
    IDENTIFIER_COLUMNS,
    LEVELS,
    SEVERITY,
    InterventionOutcomeModelsExport,
    InterventionOutcomeSummaryExport,
)

from .worlds import pupils

# ---------------------------------------------------------------------------------------------
# Hand-made pupils: every outcome balanced (no small cell), then one cell changed per test.

SIZES = dict(zip(LEVELS, (80, 60, 50, 44, 40)))


def hand_pupils(gcse_yes=None, perm_yes=None, unauth_recorded=None, sizes=None) -> pd.DataFrame:
    """Pupils in the shape of pupil_outcomes. Per level of size N: GCSE pass for half, permanent
    exclusion for half (both overridable per level), a fixed-period exclusion for every other
    pupil, disposals none / caution / non-custodial / custodial a quarter each with convictions
    one / two or more alternating, unauthorised absence recorded for all (overridable: the first
    k pupils of the level); `sizes` overrides level sizes."""
    sizes = {**SIZES, **(sizes or {})}
    gcse_yes = {**{lv: n // 2 for lv, n in sizes.items()}, **(gcse_yes or {})}
    perm_yes = {**{lv: n // 2 for lv, n in sizes.items()}, **(perm_yes or {})}
    rows = []
    for lv, n in sizes.items():
        for i in range(n):
            sev = SEVERITY[i % 4]
            conv = "none" if sev in ("none", "caution") else CONVICTION_GROUPS[1 + (i // 4) % 2]
            rec = unauth_recorded is None or lv not in unauth_recorded or i < unauth_recorded[lv]
            rows.append(
                {
                    "level": lv,
                    "gcse_level2_em": i < gcse_yes[lv],
                    "permanent_exclusion": i < perm_yes[lv],
                    "most_severe_disposal": sev,
                    "conviction_group": conv,
                    "unauthorised_sessions": (i % 7) if rec else None,
                    "fixed_period_exclusions": i % 2,
                    "fixed_period_sessions": 3 * (i % 2),
                    "cj": sev != "none",
                }
            )
    df = pd.DataFrame(rows)
    n = len(df)
    return pd.DataFrame(
        {
            "level": pd.Categorical(df["level"], categories=list(LEVELS), ordered=True),
            "sex": pd.array(np.where(np.arange(n) % 2, "M", "F"), dtype="string[pyarrow]"),
            "fsm": pd.array(np.arange(n) % 3 == 0, dtype="boolean"),
            "ks4_year": pd.array(np.where(np.arange(n) % 2, "2013/2014", "2014/2015"), dtype="string[pyarrow]"),
            "la": pd.array(["300"] * n, dtype="string[pyarrow]"),
            "gcse_level2_em": pd.array(df["gcse_level2_em"], dtype="boolean"),
            "unauthorised_sessions": pd.array(df["unauthorised_sessions"], dtype="Int64"),
            "sessions_possible": pd.array([1600] * n, dtype="Int64"),
            "fixed_period_exclusions": pd.array(df["fixed_period_exclusions"], dtype="Int64"),
            "fixed_period_sessions": pd.array(df["fixed_period_sessions"], dtype="Int64"),
            "permanent_exclusion": pd.array(df["permanent_exclusion"], dtype="boolean"),
            "conviction_group": pd.Categorical(
                df["conviction_group"], categories=list(CONVICTION_GROUPS), ordered=True
            ),
            "most_severe_disposal": pd.Categorical(df["most_severe_disposal"], categories=list(SEVERITY), ordered=True),
            "first_cj_contact_date": pd.Series(
                np.where(df["cj"], np.datetime64("2016-01-01", "ms"), np.datetime64("NaT", "ms"))
            ),
        }
    )


def summary(df, **kw) -> E.SummaryProtection:
    p = E.protect_summary(E.export_frame(df), **kw)
    InterventionOutcomeSummaryExport.validate(p.table)
    return p


def row(p, level, outcome, category=None):
    t = p.table
    sel = (t["level"] == level) & (t["outcome"] == outcome)
    sel &= t["category"].isna() if category is None else (t["category"] == category)
    return t[sel].iloc[0]


def suppressed_rows(p) -> set:
    t = p.table[p.table["suppressed"]]
    return {(r.level, r.outcome, None if pd.isna(r.category) else r.category) for r in t.itertuples()}


def test_balanced_world_publishes_everything_rounded():
    p = summary(hand_pupils())
    assert suppressed_rows(p) == set() and p.recoverable() == []
    r = row(p, "looked_after", "gcse_level2_em")
    assert (r["n"], r["events"], r["estimate"]) == (40, 20, 0.5)
    r = row(p, "child_protection_plan", "most_severe_disposal", "custodial")  # 44 pupils: 11 custodial -> 10
    assert (r["n"], r["events"], r["estimate"]) == (45, 10, 10 / 45)
    assert not p.table["flag"].notna().any()


def test_a_national_scale_rate_stays_inside_its_interval():
    # 10 of 250,000 pupils passed (rate 0.00004): rounding the rate to 4 places gave 0, below
    # the Wilson interval (2.2e-5, 7.4e-5), and the schema check stopped a 10M-pupil run.
    p = summary(hand_pupils(sizes={"none": 250_000}, gcse_yes={"none": 10}))
    r = row(p, "none", "gcse_level2_em")
    assert (r["n"], r["events"], r["estimate"]) == (250_000, 10, 10 / 250_000)
    assert r["ci_low"] < r["estimate"] < r["ci_high"]
    assert round(r["ci_low"], 7) == 0.0000217 and round(r["ci_high"], 7) == 0.0000736


def test_three_pupil_cell_is_suppressed_with_its_secondary_partner():
    # 3 of 40 looked-after pupils passed: recoverable from the all-levels total unless another
    # level's count is hidden too: the smallest other (child protection plan, 22).
    p = summary(hand_pupils(gcse_yes={"looked_after": 3}))
    assert suppressed_rows(p) == {
        ("looked_after", "gcse_level2_em", None),
        ("child_protection_plan", "gcse_level2_em", None),
    }
    r = row(p, "looked_after", "gcse_level2_em")
    assert r["n"] == 40 and pd.isna(r["events"]) and pd.isna(r["estimate"])
    assert row(p, "all", "gcse_level2_em")["events"] == 40 + 30 + 25 + 22 + 3  # 120, a multiple of 5
    assert p.recoverable() == []


def test_complement_of_three_is_protected_too():
    # 37 of 40 passed: the 3 who did not are the small count; the events are hidden so that
    # n - events does not give them back.
    p = summary(hand_pupils(gcse_yes={"looked_after": 37}))
    assert ("looked_after", "gcse_level2_em", None) in suppressed_rows(p)
    s = p.sums
    small = s.index[("non_events", "gcse_level2_em", None, "looked_after")]
    assert s.values[small] == 3 and LS.determined(s.matrix, s.published, [small]) == []


def test_median_resting_on_seven_pupils_is_suppressed_with_its_n():
    p = summary(hand_pupils(unauth_recorded={"looked_after": 7}))
    r = row(p, "looked_after", "unauthorised_sessions")
    assert pd.isna(r["n"]) and pd.isna(r["estimate"]) and r["suppressed"]
    # Its n is not recoverable from the total over levels: one more n (or the total) is hidden.
    s = p.sums
    i = s.index[("n", "unauthorised_sessions", None, "looked_after")]
    assert LS.determined(s.matrix, s.published, [i]) == []
    assert sum(pd.isna(r.n) for r in p.table[p.table["outcome"] == "unauthorised_sessions"].itertuples()) >= 2
    # Elsewhere the median is published with its n; interval ends only with 10 pupils beyond them.
    r = row(p, "none", "unauthorised_sessions")
    assert r["n"] == 80 and r["estimate"] == 3.0 and pd.notna(r["ci_low"])


def test_median_interval_ends_need_ten_pupils_beyond_them():
    x = np.arange(12, dtype=float)  # n = 12: median published, 95% ranks 3 and 10 are too extreme
    est, lo, hi = E.median_row(x, 10)
    assert est == 5.5 and np.isnan(lo) and np.isnan(hi)
    assert all(np.isnan(v) for v in E.median_row(np.arange(9, dtype=float), 10))
    est, lo, hi = E.median_row(np.arange(60, dtype=float), 10)
    assert not np.isnan(lo) and not np.isnan(hi)


def test_zero_cell_is_flagged_for_review_by_default_and_suppressed_under_suppress():
    df = hand_pupils(perm_yes={"child_in_need": 0})  # nobody in need was permanently excluded
    p = summary(df)
    r = row(p, "child_in_need", "permanent_exclusion")
    assert r["events"] == 0 and not r["suppressed"] and r["flag"] == "full, zero"
    out = O.summary_output(p)
    checks = {c.name: c for c in out.checks}
    assert checks["PresenceOfZeroCheck"].status == "review" and out.status == "review"
    assert checks["PresenceOfZeroCheck"].cells == [
        [
            p.table.index[(p.table["level"] == "child_in_need") & (p.table["outcome"] == "permanent_exclusion")][0],
            p.table.columns.get_loc("events"),
        ]
    ]
    q = summary(df, policy=Policy(zeros="suppress"))
    assert suppressed_rows(q) == {
        ("child_in_need", "permanent_exclusion", None),
        ("looked_after", "permanent_exclusion", None),
    }  # partner: the smallest, 20 of 40
    assert q.recoverable() == [] and not q.table["flag"].notna().any()
    assert O.summary_output(q).status == "pass"
    published = summary(df, policy=Policy(zeros="publish", full_cells="publish"))
    assert not published.table["flag"].notna().any() and O.summary_output(published).status == "pass"


def test_full_cell_is_flagged_or_suppressed():
    df = hand_pupils(gcse_yes={"referral_only": 60})  # every referral-only pupil passed
    p = summary(df)
    r = row(p, "referral_only", "gcse_level2_em")
    assert (r["n"], r["events"], r["flag"]) == (60, 60, "full") and not r["suppressed"]
    q = summary(df, policy=Policy(full_cells="suppress"))
    assert ("referral_only", "gcse_level2_em", None) in suppressed_rows(q) and len(suppressed_rows(q)) == 2
    assert q.recoverable() == []


def test_linked_outcomes_cannot_rebuild_a_hidden_category():
    """Custodial = n - none - caution - non-custodial: hiding the 3 custodial looked-after pupils in
    the disposal table alone would leave them in the binary custodial row (and vice versa), so
    both are hidden, with partners, and no combination of the published counts recovers them."""
    df = hand_pupils()
    la = (df["level"] == "looked_after").to_numpy()
    cust = la & (df["most_severe_disposal"] == "custodial").to_numpy()
    idx = np.flatnonzero(cust)[3:]  # keep 3 custodial; the rest become non-custodial (one conviction)
    df.loc[idx, "most_severe_disposal"] = "non_custodial"
    p = summary(df)
    assert row(p, "looked_after", "custodial")["suppressed"]
    assert row(p, "looked_after", "most_severe_disposal", "custodial")["suppressed"]
    s = p.sums
    for key in (
        ("events", "custodial", None, "looked_after"),
        ("events", "most_severe_disposal", "custodial", "looked_after"),
    ):
        assert s.values[s.index[key]] == 3
        assert LS.determined(s.matrix, s.published, [s.index[key]]) == []
    assert p.recoverable() == []
    # Protecting each outcome on its own (its levels x categories table with its margins, as
    # disclosure.protect does) is not enough: the cj_contact table publishes its looked-after
    # "no" cell (10: the pupils with no disposal), which the disposal table hid as custodial's
    # partner, and the disposal row then gives the 3 back.
    from mojdfe_assets.disclosure import protect

    frame = E.export_frame(df)
    level = frame["level"].astype(str)
    published = np.ones(len(s.keys), dtype=bool)
    for name in (
        "cj_contact",
        "custodial",
        "gcse_level2_em",
        "permanent_exclusion",
        "conviction_group",
        "most_severe_disposal",
    ):
        values = frame[name].astype("string").map({"True": "yes", "False": "no"}).fillna(frame[name].astype("string"))
        tab = pd.crosstab(level, values).reindex(index=list(LEVELS), fill_value=0)
        hid = protect(tab).suppressed
        for lv in LEVELS:
            for c in tab.columns:
                if name in effects.BINARY:
                    key = ("events" if c == "yes" else "non_events", name, None, lv)
                else:
                    key = ("events", name, c, lv)
                published[s.index[key]] = not hid.loc[lv, c]
    alone = LS.Sums(s.keys, s.matrix, s.values, published, np.zeros(len(s.keys), bool), np.zeros(len(s.keys), bool))
    target = s.index[("events", "most_severe_disposal", "custodial", "looked_after")]
    assert not published[target] and target in LS.attack(alone, [target])


# ---------------------------------------------------------------------------------------------
# The LA table under the policy


def la_hand() -> pd.DataFrame:
    rows = [
        ("300", "none", 100, 20),
        ("300", "looked_after", 30, 12),
        ("301", "none", 120, 25),
        ("301", "looked_after", 40, 0),  # nobody cautioned: a zero
        ("302", "none", 90, 15),
        ("302", "looked_after", 25, 3),  # 3 cautioned: small
        ("303", "none", 110, 22),
        ("303", "looked_after", 35, 14),
    ]
    df = pd.DataFrame(rows, columns=["la", "level", "pupils", "cj_contact"])
    df["level"] = pd.Categorical(df["level"], categories=list(LEVELS), ordered=True)
    df["adjusted_expected"] = df["pupils"] * 0.2
    df["outlier"] = "within"
    return df


def hidden(pub) -> set:
    c = pub[pub["suppressed"] & (pub["la"] != "total") & (pub["level"] != "all")]
    return set(zip(c["la"], c["level"]))


def test_la_table_small_cell_partner_and_zero_under_each_policy():
    agg = la_hand()
    pub, meta = L.publishable(agg)
    # 302's 3 is suppressed in all linked tables; its partners are 300 (smallest in the column:
    # 12 cautioned, 30 pupils, 18 not) and each row's none cell.
    assert hidden(pub) == {("300", "none"), ("300", "looked_after"), ("302", "none"), ("302", "looked_after")}
    cell = pub.set_index(["la", "level"])
    assert cell.loc[("301", "looked_after"), "cj_contact"] == 0 and meta["flagged_cells"] == 1 + 3 * 4
    out = O.area_table_output("la", L.protect_areas(agg, regions=False), pub)
    checks = {c.name: c for c in out.checks}
    assert checks["PresenceOfZeroCheck"].status == "review" and out.status == "review"
    assert checks["PresenceOfLinkedTableCheck"].status == "pass" and checks["RoundingCheck"].status == "pass"
    # Under "suppress" the zero is hidden like a small cell, with its own partners: each linked
    # table picks its smallest partner for it (pupils: 302's 25; cautioned: 302's 3 already;
    # not cautioned: 300's 18), and the union is suppressed in all three.
    strict = Policy(zeros="suppress")
    pub2, meta2 = L.publishable(agg, policy=strict)
    assert hidden(pub2) == {(la, lv) for la in ("300", "301", "302") for lv in ("none", "looked_after")}
    assert meta2["recoverable_suppressed_cells"] == 0
    out2 = O.area_table_output("la", L.protect_areas(agg, policy=strict, regions=False), pub2, policy=strict)
    # Only the structural zeros (levels no LA has) stay flagged: their column total of 0 is published.
    assert {c.name: c.status for c in out2.checks}["PresenceOfZeroCheck"] == "review"
    assert "structural" in {c.name: c for c in out2.checks}["PresenceOfZeroCheck"].summary


def test_full_cell_of_the_la_table():
    agg = la_hand()
    agg.loc[(agg["la"] == "303") & (agg["level"] == "looked_after"), "cj_contact"] = 35  # all 35 cautioned
    pub, _ = L.publishable(agg)
    assert ("303", "looked_after") not in hidden(pub)
    checks = {c.name: c for c in O.area_table_output("la", L.protect_areas(agg, regions=False), pub).checks}
    assert checks["FullCellCheck"].status == "review"
    pub2, meta2 = L.publishable(agg, policy=Policy(full_cells="suppress"))
    assert ("303", "looked_after") in hidden(pub2) and meta2["recoverable_suppressed_cells"] == 0


def test_policy_rejects_unknown_actions():
    with pytest.raises(ValueError):
        Policy(zeros="hide")


def test_dominance_rules_as_acro():
    d = dominance([100, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 5, 5], ["a"] * 10 + ["b"] * 4)
    assert d.loc["a", "nk_rule"] and d.loc["a", "p_ratio"] and d.loc["a", "dominated"]
    assert not d.loc["b", "dominated"]  # four equal contributors
    d = dominance([50, 45, 4], ["c"] * 3)  # top 2 hold 96% >= 90%: NK; rest 4 / 50 < 10%: p-ratio
    assert d.loc["c", "nk_rule"] and d.loc["c", "p_ratio"]


def test_memoised_recomputes_for_any_change_in_the_frames_values():
    from mojdfe_assets import disclosure as D

    calls = []

    def compute(frame, k=1):
        calls.append(1)
        return len(calls)

    base = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "b": pd.array([True, None, False], dtype="boolean"),
            "level": pd.Categorical(["a", "b", "a"], categories=["a", "b"]),
            "text": pd.array(["x", None, "y"], dtype="string[pyarrow]"),
            "when": np.array(["2020-01-01", "NaT", "2021-01-01"], dtype="datetime64[ms]"),
            "x": [0.5, 1.5, 2.5],
        }
    )
    first = D.memoised(compute, base)
    assert D.memoised(compute, base.copy()) == first and len(calls) == 1  # equal values: remembered
    changed = [
        base.assign(n=pd.array([1, 0, 3], dtype="Int64")),  # missing is not 0
        base.assign(b=pd.array([True, False, False], dtype="boolean")),
        base.assign(level=pd.Categorical(["a", "b", "a"], categories=["b", "a"])),
        base.assign(level=pd.Categorical(["a", "b", "a"], categories=["a", "b"], ordered=True)),
        base.assign(text=pd.array(["x", None, "z"], dtype="string[pyarrow]")),
        base.assign(when=np.array(["2020-01-01", "2020-01-02", "2021-01-01"], dtype="datetime64[ms]")),
        base.assign(x=[0.5, 1.5, 2.0]),
        base.assign(x=pd.array([0.5, 1.5, 2.5], dtype="Float64")),  # another dtype
        base.rename(columns={"x": "y"}),
        base.iloc[:2],
    ]
    for i, frame in enumerate(changed, start=2):
        assert D.memoised(compute, frame) == i
    assert D.memoised(compute, base, k=2) == len(changed) + 2  # parameters are part of the key


# ---------------------------------------------------------------------------------------------
# ACRO itself


@pytest.mark.filterwarnings("ignore::pandas.errors.SettingWithCopyWarning", "ignore::FutureWarning")  # in acro
def test_acro_defaults_and_why_its_own_suppression_is_not_enough():
    acro = O._acro()
    df = pd.DataFrame(
        {
            "level": ["none"] * 300 + ["cin"] * 53 + ["cla"] * 23,
            "cj": ["yes"] * 37 + ["no"] * 263 + ["yes"] * 6 + ["no"] * 47 + ["no"] * 23,
        }
    )
    session = acro.ACRO(suppress=False)
    session.crosstab(df["level"], df["cj"])
    rec = session.results.get("output_0")
    assert rec.status == "fail"  # a zero fails under the default config, as do 1-9
    assert rec.fair["check_status"]["PresenceOfZeroCheck"] == "fail"
    assert "MinimumThresholdCheck" in rec.outcome.loc["cin", "yes"]
    assert "PresenceOfZeroCheck" in rec.outcome.loc["cla", "yes"]
    strict = acro.ACRO(suppress=True)
    table = strict.crosstab(df["level"], df["cj"], margins=True)
    assert strict.results.get("output_0").status == "review"
    assert pd.isna(table.loc["cin", "yes"]) and table.loc["cin", "All"] == 47  # margin from what is left
    # Primary suppression only: the n of 53 in need, published by any other table over the same
    # pupils (the England totals of the LA table, another outcome's n), gives the 6 back.
    assert 53 - table.loc["cin", "no"] == 6


def _acro_record_of(session) -> dict:
    rec = session.results.get(f"output_{session.results.output_id - 1}")
    return {
        "status": rec.status,
        "summary": rec.summary,
        "sdc": rec.sdc,
        "fair": rec.fair,
        "outcome": rec.outcome.to_dict(),
        "table": rec.output[0].fillna(-1).to_dict(),  # (NaN is not equal to itself)
        "properties": rec.properties,
    }


@pytest.mark.filterwarnings("ignore::pandas.errors.SettingWithCopyWarning", "ignore::FutureWarning")  # in acro
def test_acro_pieces_record_what_its_crosstab_and_pivot_table_record():
    """The prechecks call ACRO's pieces with each table tabulated once (a crosstab's keys given as
    their distinct rows, with the pupils each stands for): the same record (status, summary, checks, flagged cells, table) as session.crosstab and
    session.pivot_table, with small cells, zeros, levels with no pupils and a value alone."""
    acro = O._acro()
    rng = np.random.default_rng(5)
    level = pd.Series(
        pd.Categorical(rng.choice(["none", "child_in_need", "looked_after"], 400, p=[0.8, 0.17, 0.03]), list(LEVELS))
    )
    area = pd.Series(pd.Categorical(rng.choice(["301", "302", "303", "304"], 400, p=[0.5, 0.3, 0.18, 0.02])))
    cj = pd.Series(rng.random(400) < 0.1)
    value = pd.Series(rng.poisson(2.0, 400).astype(float))
    value[rng.random(400) < 0.1] = np.nan
    everyone = pd.Series(np.ones(400, dtype=bool), name="fsm")  # one value only
    missing = pd.Series(pd.Categorical(rng.choice(["a", "b", None], 400)), name="sex")  # (ACRO's own count table)
    for index, columns in (
        (area.rename("la"), [level.rename("level"), cj.rename("cj_contact")]),
        (level.rename("level"), cj.rename("custodial")),
        (level.rename("level"), [everyone, cj.rename("cj_contact")]),
        (cj.rename("cj_contact"), missing),
    ):
        ref, ours = acro.ACRO(suppress=False), acro.ACRO(suppress=False)
        ref.crosstab(index, columns)
        O._acro_crosstab(ours, index, columns, "the command")
        assert _acro_record_of(ours) == _acro_record_of(ref)
        assert ours.results.get("output_0").command == "the command"
        assert (O._distinct_rows([index, *(columns if isinstance(columns, list) else [columns])]) is None) == (
            index.name == "cj_contact"  # (a value missing: every row given to ACRO then)
        )
    data = pd.DataFrame({"level": level, "sessions": value}).dropna()
    ref, ours = acro.ACRO(suppress=False), acro.ACRO(suppress=False)
    ref.pivot_table(data, values="sessions", index="level", aggfunc=["median", "count"])
    O._acro_pivot_table(ours, data, "sessions", "level", ["median", "count"], "the command")
    assert _acro_record_of(ours) == _acro_record_of(ref)


def _model_sample(df: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The pupil rows a model uses (exports._model_rows) with its covariates and outcome, read
    through pandas: the reference the tests compare with."""
    sub = df.loc[E._model_rows(df, outcome), ["level", *effects.COVARIATES, outcome]]
    return sub.assign(fsm=sub["fsm"].astype(bool))


def test_acro_logit_on_pupil_rows_matches_the_cell_model():
    """The models are fitted on covariate cells; ACRO's logit on the pupil rows has the
    residual df the export reports (pupils - parameters) and the same estimates."""
    acro = O._acro()
    frame = effects.outcome_frame(pupils(3000, seed=4))
    ours = effects.fit_binary(frame, "cj_contact").set_index("term")
    sample = _model_sample(frame, "cj_contact")
    x = effects.design(sample.assign(level=sample["level"].astype(str)))
    session = acro.ACRO(suppress=False)
    res = session.logit(sample["cj_contact"].astype(float).to_numpy(), x.to_numpy())
    rec = session.results.get("output_0")
    assert rec.status == "pass" and rec.properties["dof"] == len(sample) - x.shape[1]
    table, checks = E.protect_models(effects.fit_models(frame), frame)
    mine = table[table["outcome"] == "cj_contact"]
    assert checks["cj_contact"]["parameters"] == x.shape[1]
    assert int(mine["residual_df"].iloc[0]) == int(mine["n"].iloc[0]) - x.shape[1]
    b = dict(zip(x.columns, res.params))
    for term in ("level:looked_after", "sex:M", "fsm"):
        assert np.exp(b[term]) == pytest.approx(ours.loc[term, "estimate"], rel=1e-5)


# ---------------------------------------------------------------------------------------------
# A small world: the LA table, the RQ1 exports, the request and the attacker on all of them


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(3)
    # LAs 300 (not an authority of the 2018 geography: region "unknown") and 301-311 (London).
    df = pupils(6000, seed=31, n_las=12, la_shift=rng.normal(0, 0.3, 12))
    # A few linked pupils with no LA: the RQ1 summary counts them, the LA table does not.
    df.loc[df.index[:4], "la"] = pd.NA
    ctx = pd.DataFrame(
        {
            "la_code": pd.array([f"{300 + i}" for i in range(12)], dtype="string[pyarrow]"),
            "idaci_average_score": pd.array(rng.uniform(0.05, 0.3, 12), dtype="Float64"),
        }
    )
    agg = L.compare_las(df, ctx)
    region_agg = L.region_aggregates_table(agg)
    pub, _, region_pub, _, areas = L.publishable_areas(agg, region_agg)
    frame = E.export_frame(df)
    models = effects.fit_models(frame)
    return {
        "pupils": df,
        "agg": agg,
        "region_agg": region_agg,
        "pub": pub,
        "region_pub": region_pub,
        "areas": areas,
        "frame": frame,
        "models": models,
        "summary": E.protect_summary(frame, pub),
    }


def write_request(outputs, folder):
    files, doc = O.build_request(outputs)
    write_folder_atomic(files, folder)  # as the IO manager writes it into the run's folder
    return doc


@pytest.fixture(scope="module")
def request_doc(world, tmp_path_factory):
    folder = tmp_path_factory.mktemp("request") / "outputs"
    w = world
    outputs, timings = O.request_outputs(
        w["pupils"],
        w["agg"],
        w["pub"],
        w["region_agg"],
        w["region_pub"],
        w["models"],
        summary_export=w["summary"].table,
    )
    assert set(timings) == {"protection", "attacker", "acro", "records", "charts"}
    return folder, write_request(outputs, folder)


def test_results_json_lists_every_output_with_status_checks_and_checksums(request_doc):
    folder, doc = request_doc
    on_disk = json.loads((folder / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(doc, default=str)) and on_disk["version"] == O.ACRO_FORMAT_VERSION
    results = on_disk["results"]
    assert set(results) == set(E.REQUEST_OUTPUTS)  # every for-export output, once
    for uid, r in results.items():
        assert r["uid"] == uid == r["source_asset"] and r["status"] in ("pass", "review", "fail")
        assert set(r) >= {
            "uid",
            "status",
            "type",
            "properties",
            "files",
            "outcome",
            "command",
            "summary",
            "timestamp",
            "comments",
            "exception",
            "fair",
            "checks",
        }
        assert r["checks"] and all(c["status"] in ("pass", "review", "fail") for c in r["checks"])
        assert r["fair"]["check_status"] == {c["name"]: c["status"] for c in r["checks"]}
        assert r["comments"] and r["comments"][0]
        (f,) = r["files"]
        data = (folder / f["name"]).read_bytes()
        assert f["sha256"] == hashlib.sha256(data).hexdigest()
        assert (folder / "checksums" / f"{f['name']}.txt").read_text() == f["sha256"]  # where SACRO looks
        assert set(f["sdc"]) == {"summary", "cells"}
    assert (folder / "checksums" / "results.json.txt").read_text() == hashlib.sha256(
        (folder / "results.json").read_bytes()
    ).hexdigest()
    assert json.loads((folder / "config.json").read_text())["safe_threshold"] == 10
    chart = results["la_funnel_chart_export"]
    assert chart["type"] == "custom" and chart["status"] == "review"
    assert chart["fair"]["check_status"] == {"DrawnFromProtectedValuesCheck": "pass"}
    assert results["intervention_outcome_models_export"]["type"] == "regression"
    assert all(r["status"] != "fail" for r in results.values()), {
        u: r["summary"] for u, r in results.items() if r["status"] == "fail"
    }
    # ACRO ran on the pupil rows behind the three tables, and agrees with what is published.
    for uid in ("la_aggregates_publishable", "region_aggregates_publishable", "intervention_outcome_summary_export"):
        assert results[uid]["acro"] and results[uid]["fair"]["check_status"]["AcroAgreementCheck"] == "pass"


def test_exported_files_hold_no_identifier_or_small_count(request_doc):
    folder, doc = request_doc
    for r in doc["results"].values():
        name = r["files"][0]["name"]
        if not name.endswith(".csv"):
            assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            continue
        df = pd.read_csv(folder / name)
        assert not (set(df.columns) & IDENTIFIER_COLUMNS)
        for col in ("pupils", "cj_contact", "n", "events"):
            if col in df:
                v = df[col].dropna().astype(int)
                assert not ((v > 0) & (v < 10)).any() and (v % 5 == 0).all(), (name, col)


def test_request_folder_is_replaced_whole(world, request_doc, tmp_path):
    """Rewriting the folder (a re-executed step) replaces it whole: no file of the old request stays
    beside the new results.json; without ACRO every other check still runs."""
    folder = tmp_path / "request"
    write_request(
        [O.chart_output("la_funnel_chart_export", b"\x89PNG\r\n\x1a\nxx", b"\x89PNG\r\n\x1a\nxx", "x", "c")], folder
    )
    assert (folder / "la_funnel_chart_export.png").exists()
    w = world
    outputs, timings = O.request_outputs(
        w["pupils"], w["agg"], w["pub"], w["region_agg"], w["region_pub"], w["models"], run_acro=False
    )
    doc = write_request(outputs, folder)
    assert "acro" not in timings and all(r["acro"] is None for r in doc["results"].values())
    assert (folder / "la_aggregates_publishable.csv").exists() and (folder / "results.json").exists()
    assert O.index_table(doc)["acro"].isna().all()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_chart_not_drawn_from_its_table_fails():
    out = O.chart_output("la_map_chart_export", b"\x89PNG one", b"\x89PNG two", "la_aggregates_publishable", "c")
    assert out.status == "fail" and out.checks[0].status == "fail"


def test_models_export(world):
    table, checks = E.protect_models(world["models"], world["frame"])
    InterventionOutcomeModelsExport.validate(table)
    assert (table["n"] % 5 == 0).all() and (table["residual_df"].dropna() >= 10).all()
    withheld = table[table["suppressed"]]
    assert withheld["estimate"].isna().all() and (~withheld["cells_at_least_threshold"]).all()
    # Permanent exclusion is rare (2%): its small levels' terms rest on fewer than 10 excluded pupils.
    assert table[(table["outcome"] == "permanent_exclusion") & table["term"].str.startswith("level:")][
        "suppressed"
    ].any()
    kept = table[~table["suppressed"] & table["estimate"].notna()]
    assert kept["cells_at_least_threshold"].all() and len(kept) > 40


def test_export_frame_from_outcomes_already_made_leaves_them_as_they_were(world):
    outcomes = effects.outcome_frame(world["pupils"])
    before = outcomes.copy(deep=True)
    frame = E.export_frame(world["pupils"], outcomes)
    pd.testing.assert_frame_equal(frame, E.export_frame(world["pupils"]), check_exact=True)
    pd.testing.assert_frame_equal(outcomes, before, check_exact=True)
    assert frame["cj_contact"].isna().sum() > outcomes["cj_contact"].isna().sum()  # pupils without an LA masked


def test_model_term_cells_counted_in_place_match_the_pupil_rows(world):
    """The term cells protect_models counts over codes and masks are those of the model's pupil
    rows read through pandas (the reference): per term, the smallest cell and dominance."""
    frame = world["frame"].copy()
    frame["sex"] = frame["sex"].astype("string[pyarrow]")  # a covariate as text, not a categorical
    covariates = {name: E._coded(frame[name]) for name in ("level", "sex", "ks4_year")}
    for outcome, part in world["models"].groupby("outcome", sort=False):
        sample = _model_sample(frame, outcome)
        keep = E._model_rows(frame, outcome)
        coded = {name: (codes[keep], texts) for name, (codes, texts) in covariates.items()}
        fsm = frame["fsm"].to_numpy(dtype=bool, na_value=False)[keep]
        y = E._outcome_values(frame, outcome)[keep]
        for term in part["term"]:
            var, _, value = term.partition(":")
            m = sample["fsm"].to_numpy() if term == "fsm" else (sample[var].astype(str) == value).to_numpy()
            v = sample.loc[m, outcome]
            if outcome in effects.BINARY:
                want = (min(int(v.sum()), len(v) - int(v.sum())), False)
            elif outcome in effects.ORDINAL:
                codes = pd.Categorical(v, categories=list(effects.ORDINAL[outcome][1])).codes
                want = (
                    min(
                        min(int((codes <= k).sum()), len(v) - int((codes <= k).sum()))
                        for k in range(len(effects.ORDINAL[outcome][1]) - 1)
                    ),
                    False,
                )
            else:
                f = v.astype(float).to_numpy()
                dom = bool(dominance(f, np.zeros(len(f)))["dominated"].iloc[0]) if len(f) else False
                want = (min(int((f > 0).sum()), len(f)), dom)
            assert E.term_cells(y, E._term_mask(term, coded, fsm), outcome) == want, (outcome, term)


def test_codes_by_text_match_a_categorical_of_the_text():
    cats = ["none", "caution", "custodial"]
    values = ["caution", None, "custodial", "other", "none", "caution"]
    for column in (
        pd.Series(pd.Categorical(values, categories=["other", "custodial", "caution", "none"])),
        pd.Series(pd.Categorical(values)),
        pd.Series(values, dtype="string[pyarrow]"),
        pd.Series(values, dtype=object),
    ):
        want = pd.Categorical(column.astype("string"), categories=cats).codes
        assert E._codes(column, cats).tolist() == want.tolist()
    assert E._codes(pd.Series(pd.Categorical([], categories=[])), cats).tolist() == []


def test_attacker_cannot_recover_any_suppressed_cell_from_all_exported_tables(world):
    """Every exported count stacked: the LA and region tables' pupils, cautioned or convicted and
    not per area x level with their area and England totals (a region is the sum of its LAs), and
    the RQ1 summary's n and events per level and outcome with their totals over levels; the
    summary shares the England totals by level with the LA table (the same linked pupils with an
    LA). Given every published count exactly, and that counts are not negative, no suppressed
    count of any table and no small complement is determined: neither split at the England
    totals nor as one system of every count."""
    w = world
    p = w["summary"]
    attack = O.cross_table_attack(w["agg"], w["pub"], w["region_pub"], p)
    assert attack["method"] == "split at the England totals"
    assert attack["targets"] > 50 and attack["recoverable"] == []
    whole = O.cross_table_attack(w["agg"], w["pub"], w["region_pub"], p, split=False)
    assert whole["method"] == "one system" and whole["recoverable"] == [] and whole["targets"] == attack["targets"]
    # The 4 linked pupils without an LA are left out of the summary's offending outcomes, so its
    # level totals are the LA table's England totals exactly (no small difference to publish).
    s = p.sums
    assert int(w["pupils"]["la"].isna().sum()) == 4
    for lv in (*LEVELS, "all"):
        assert s.values[s.index[("n", "cj_contact", None, lv)]] == s.values[s.index[("la_table", "pupils", None, lv)]]
    # Every suppressed count of the summary: not pinned by the linear programme either.
    hidden = list(np.flatnonzero(~s.published & ~s.implicit))
    assert hidden and LS.pinned(LS.feasible_ranges(s.matrix, s.values, s.published, hidden)) == []
    # Non-negativity (a linear programme per suppressed LA or region count, both tables together)
    # pins none of them either.
    system = L.area_system(
        L.linked_counts(w["agg"]),
        {"la": L.published_frames(w["pub"], "la"), "region": L.published_frames(w["region_pub"], "region_code")},
    )
    targets = [i for i in np.flatnonzero(system.sensitive & ~system.published) if system.keys[i][1] != "not_cj"]
    assert len(targets) > 20 and {system.keys[i][0] for i in targets} == {"la", "region"}
    ranges = LS.feasible_ranges(system.matrix, system.values, system.published, targets)
    assert LS.pinned(ranges) == []


def test_la_300_is_its_own_region_and_the_region_table_hides_with_it(world):
    """LA 300 is not an authority of the 2018 geography: its region ("unknown") holds it alone, so
    the region table's "unknown" row is LA 300's row; whatever the LA table hides there, the
    region table hides too (protected together), and the other LAs (London) do not give it away."""
    w = world
    la = w["pub"].set_index(["la", "level"])["suppressed"]
    region = w["region_pub"].set_index(["region_code", "level"])["suppressed"]
    hidden = [lv for lv in LEVELS if la[("300", lv)]]
    assert hidden and all(region[("unknown", lv)] for lv in hidden)
    assert set(w["region_pub"]["region_code"]) == {"unknown", "E12000007", "total"}


def test_shared_totals_give_away_what_one_table_hides_alone(world):
    """Why the summary is protected with the LA table's England totals in its system: hiding the
    looked-after pupils cautioned or convicted in the summary alone is useless while the LA table
    publishes its England total of the same pupils."""
    s = world["summary"].sums
    i = s.index[("events", "cj_contact", None, "looked_after")]
    j = s.index[("la_table", "cj_contact", None, "looked_after")]
    assert s.published[j] and s.values[i] == s.values[j]
    s.published[i] = False
    try:
        assert LS.attack(s, [i]) == [i]
    finally:
        s.published[i] = True

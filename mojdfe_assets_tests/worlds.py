"""Small pupil-outcome tables simulated with known effects, for the research-question assets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mojdfe_assets.schemas import CONVICTION_GROUPS, LEVELS, SEVERITY

LEVEL_SHARES = (0.70, 0.10, 0.10, 0.05, 0.05)
COHORTS = np.array(["2012/2013", "2013/2014", "2014/2015"])


def pupils(
    n: int,
    seed: int,
    level_or=(1.0, 1.5, 2.0, 2.5, 4.0),
    absence_rr=(1.0, 1.3, 1.6, 1.8, 1.2),
    n_las: int = 1,
    la_shift=None,
    la_sc_extra: dict[int, float] | None = None,
) -> pd.DataFrame:
    """`n` pupils in the shape of pupil_outcomes. Caution or conviction is logistic in level
    (odds ratios `level_or` against none), sex (OR e^0.8 for boys), FSM (e^0.5), cohort (e^0.1 a
    year) and an LA shift on the log-odds (`la_shift[la]`, applied to every level, plus for
    pupils with social-care contact `la_sc_extra[la]`: a planted LA effect); LA i has code 300+i;
    unauthorised absence is
    negative binomial with rate ratios `absence_rr` per session possible."""
    rng = np.random.default_rng(seed)
    lvl = rng.choice(5, n, p=LEVEL_SHARES)
    male, fsm, cohort = rng.random(n) < 0.5, rng.random(n) < 0.15, rng.choice(3, n)
    la = rng.integers(0, n_las, n)
    shift = np.zeros(n) if la_shift is None else np.asarray(la_shift, float)[la]
    for i, extra in (la_sc_extra or {}).items():
        shift = shift + np.where((la == i) & (lvl > 0), extra, 0.0)
    lp = -2.0 + np.log(np.asarray(level_or))[lvl] + 0.8 * male + 0.5 * fsm + 0.1 * cohort + shift
    cj = rng.random(n) < 1 / (1 + np.exp(-lp))
    possible = rng.integers(1500, 1700, n)
    mu = 20 * np.exp(np.log(np.asarray(absence_rr))[lvl] + 0.2 * fsm) * possible / 1600
    unauth = rng.negative_binomial(2, 2 / (2 + mu))
    sev = np.where(cj, rng.choice([1, 2, 3], n, p=[0.5, 0.4, 0.1]), 0)
    conv = np.where(sev >= 2, rng.choice([1, 2], n), 0)
    return pd.DataFrame(
        {
            "pupil_id": pd.array([f"P{i:07d}" for i in range(n)], dtype="string[pyarrow]"),
            "level": pd.Categorical(np.array(LEVELS)[lvl], categories=list(LEVELS), ordered=True),
            "sex": pd.array(np.where(male, "M", "F"), dtype="string[pyarrow]"),
            "fsm": pd.array(fsm, dtype="boolean"),
            "ks4_year": pd.array(COHORTS[cohort], dtype="string[pyarrow]"),
            "la": pd.array([f"{300 + i}" for i in la], dtype="string[pyarrow]"),
            "gcse_level2_em": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "unauthorised_sessions": pd.array(unauth, dtype="Int64"),
            "sessions_possible": pd.array(possible, dtype="Int64"),
            "fixed_period_exclusions": pd.array(rng.poisson(0.3, n), dtype="Int64"),
            "fixed_period_sessions": pd.array(rng.poisson(1, n), dtype="Int64"),
            "permanent_exclusion": pd.array(rng.random(n) < 0.02, dtype="boolean"),
            "conviction_group": pd.Categorical.from_codes(conv, categories=list(CONVICTION_GROUPS), ordered=True),
            "most_severe_disposal": pd.Categorical.from_codes(sev, categories=list(SEVERITY), ordered=True),
            "first_cj_contact_date": pd.Series(
                np.where(cj, np.datetime64("2016-01-01", "ms"), np.datetime64("NaT", "ms"))
            ),
        }
    )


def run_graph(assets, raw, warehouse, instance=None, rules=None, geography=None, disclosure=None, **kwargs):
    """Materialise `assets` on the extracts in `raw` into `warehouse` (with the cleaning `rules`, the
    LA `geography` and the `disclosure` rules, default the project's) and publish the run when it
    succeeds, as `mojdfe run` does; returns the result and the published folder (`current/`)."""
    import dagster as dg

    from mojdfe_assets.disclosure import DisclosureRules
    from mojdfe_assets.resources import LaGeography, ParquetIOManager, RawExtracts
    from mojdfe_assets.rules import CleaningRules
    from mojdfe_assets.warehouse import Warehouse

    io = ParquetIOManager(base_dir=str(warehouse))
    result = dg.materialize(
        assets,
        instance=instance,
        resources={
            "raw_extracts": RawExtracts(folder=str(raw), synthetic=False),
            "io_manager": io,
            "cleaning_rules": rules or CleaningRules(),
            "la_geography": geography or LaGeography(),
            "disclosure_rules": disclosure or DisclosureRules(),
        },
        **kwargs,
    )
    if result.success:
        io.publish([result.run_id])
    return result, Warehouse(warehouse).current

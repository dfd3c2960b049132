"""Research question 1: how each level of social-care intervention relates to education and
offending outcomes.

Both assets work on cells, not pupils: pupils are collapsed to one row per combination of
intervention level, sex, KS4 cohort and FSM eligibility (a few hundred cells for ten million
pupils), with the sums each model needs. A binomial GLM on (events, non-events) per cell, a
Poisson GLM on summed counts with an exposure offset, and an ordinal model with frequency weights
give exactly the estimates the pupil-level models give, in a fraction of the time and memory.
"""

import functools

import dagster as dg
import numpy as np
import pandas as pd

from . import plots
from .disclosure import THRESHOLD
from .resources import RawExtracts
from .schemas import CONVICTION_GROUPS, LEVELS, SEVERITY, InterventionOutcomeModels, InterventionOutcomeSummary
from .stats import Z95, dummies, median_ci_unsorted, wilson
from .table_assets import KINDS, Table, table_asset

GROUP = "effects"
COVARIATES = ["sex", "ks4_year", "fsm"]

# Outcomes of RQ1, by kind. Binary: share of pupils with a value; counts: sessions (with the
# exposure each is measured over); ordinal: ordered categories.
BINARY = {
    "gcse_level2_em": "GCSE-or-equivalent level 2 incl. English and maths",
    "fixed_period_exclusion": "Any fixed-period exclusion",
    "permanent_exclusion": "Permanently excluded (ever)",
    "cj_contact": "Cautioned or convicted (ever)",
    "custodial": "Custodial sentence (ever)",
}
COUNTS = {
    "unauthorised_sessions": ("Unauthorised absence sessions, secondary school", "sessions_possible"),
    "fixed_period_sessions": ("Sessions missed through fixed-period exclusion", None),
}
ORDINAL = {
    "conviction_group": ("Convictions: none / one / two or more", CONVICTION_GROUPS),
    "most_severe_disposal": ("Most severe disposal: none < caution < non-custodial < custodial", SEVERITY),
}


def outcome_frame(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The columns the models use, covariates as categoricals (cheap to group at national scale),
    with the two derived binary outcomes (missing where the pupil has no MoJ link, as for the
    other offending outcomes). No pupil identifier is carried."""
    keep = [
        "level",
        "fsm",
        "first_cj_contact_date",
        "sessions_possible",
        *[c for c in (*BINARY, *COUNTS, *ORDINAL) if c in outcomes.columns and c != "fixed_period_exclusion"],
    ]
    # column selection copies already (no CoW): a shallow copy only detaches it from `outcomes`,
    # not a second copy of 10M rows
    df = outcomes[keep].copy(deep=False)
    for c in ("sex", "ks4_year"):  # categoricals as read from Parquet's dictionary pages, or typed here
        cat = outcomes[c].astype("category")
        # in sorted order, whatever order the dictionary came in: the models' cells follow it
        sorted_ = cat.cat.categories.is_monotonic_increasing
        df[c] = cat if sorted_ else cat.cat.reorder_categories(sorted(cat.cat.categories))
    linked = df["most_severe_disposal"].notna()
    df["fixed_period_exclusion"] = (outcomes["fixed_period_exclusions"] > 0).astype("boolean")
    df["cj_contact"] = df["first_cj_contact_date"].notna().astype("boolean").where(linked)
    df["custodial"] = (df["most_severe_disposal"] == "custodial").astype("boolean").where(linked)
    return df


# ---------------------------------------------------------------------------------------------
# Summary: rates, medians and shares per level


def _proportions(outcome: str, measure: str, category, events: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    """One row per level: events / n with its Wilson 95% interval."""
    lo, hi = wilson(events, n)
    return pd.DataFrame(
        {
            "level": list(LEVELS),
            "outcome": outcome,
            "measure": measure,
            "category": category,
            "n": n,
            "events": events,
            "estimate": events / np.where(n > 0, n, np.nan),
            "ci_low": lo,
            "ci_high": hi,
        }
    )


def _true_and_recorded(level: np.ndarray, flag: pd.arrays.BooleanArray) -> tuple[np.ndarray, np.ndarray]:
    """Per level (codes 0..4; -1 missing, left out), the pupils with the flag true and with it
    recorded, as floats: one bincount of level x (false, true, missing), no row selection."""
    true = flag.to_numpy(dtype=bool, na_value=False).view(np.uint8)
    missing = flag.isna().view(np.uint8)
    tab = _by_level(level, true + 2 * missing, 3)
    return tab[:, 1].astype(float), (tab[:, 0] + tab[:, 1]).astype(float)


def _by_level(level: np.ndarray, code: np.ndarray, n: int) -> np.ndarray:
    """level x code counts (codes 0..n-1): one bincount; rows with level -1 are left out."""
    return np.bincount((level + 1) * n + code, minlength=(len(LEVELS) + 1) * n).reshape(-1, n)[1:]


def _category_codes(s: pd.Series, categories) -> np.ndarray:
    """`pd.Categorical(s, categories=categories).codes`; a column already of those categories (as
    read from storage) gives its own codes, not a recoding of every row."""
    if isinstance(s.dtype, pd.CategoricalDtype) and list(s.cat.categories) == list(categories):
        return s.cat.codes.to_numpy(dtype=np.int64)
    return pd.Categorical(s, categories=list(categories)).codes.astype(np.int64)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per level and outcome: n with the outcome recorded, and a rate (binary), median (counts)
    or category share (ordinal) with its 95% confidence interval."""
    # each pupil's level as 0..4 (-1 missing): the counts below are bincounts over these codes
    # (sums of 0/1 values and counts: exact in any order)
    level = pd.Categorical(df["level"], categories=list(LEVELS)).codes.astype(np.int64)
    known = level >= 0

    def per_level(rows, weights=None):
        return np.bincount(level[rows], weights, len(LEVELS))

    parts = []
    for name in BINARY:
        if isinstance(df[name].dtype, pd.BooleanDtype):  # true / false / missing: one count per level
            events, n = _true_and_recorded(level, df[name].array)
        else:
            y = df[name].to_numpy(dtype=float, na_value=np.nan)
            ok = known & ~np.isnan(y)
            events, n = per_level(ok, y[ok]), per_level(ok).astype(float)
        parts.append(_proportions(name, "rate", pd.NA, events, n))
    at_level = [level == i for i in range(len(LEVELS))]
    for name in COUNTS:
        values = df[name].to_numpy(dtype=float, na_value=np.nan)
        ok = known & ~np.isnan(values)
        rows = []
        for i, lvl in enumerate(LEVELS):  # five levels: order statistics each, not a loop over pupils
            x = values[ok & at_level[i]]
            est, lo, hi = median_ci_unsorted(x) if len(x) else (np.nan, np.nan, np.nan)
            rows.append(
                {
                    "level": lvl,
                    "outcome": name,
                    "measure": "median",
                    "category": pd.NA,
                    "n": len(x),
                    "events": np.nan,
                    "estimate": est,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
        parts.append(pd.DataFrame(rows))
    for name, (_, cats) in ORDINAL.items():
        cat = _category_codes(df[name], cats)
        tab = _by_level(level, cat + 1, len(cats) + 1)[:, 1:].astype(float)  # level x category (recorded)
        n = tab.sum(axis=1)
        parts += [_proportions(name, "share", c, tab[:, j], n) for j, c in enumerate(cats)]
    out = pd.concat(parts, ignore_index=True)
    out["level"] = out["level"].astype(pd.CategoricalDtype(list(LEVELS), ordered=True))
    out["outcome"] = out["outcome"].astype("string[pyarrow]")
    out["measure"] = out["measure"].astype("string[pyarrow]")
    out["category"] = out["category"].astype("string[pyarrow]")
    out["n"] = out["n"].astype("int64")
    for c in ("events", "estimate", "ci_low", "ci_high"):
        out[c] = out[c].astype("Float64")
    return out


# ---------------------------------------------------------------------------------------------
# Models on cells


def cell_codes(df: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each pupil's covariate cell (level, sex, KS4 cohort, FSM) as one integer, -1 where any of
    them is missing, and every possible cell's covariates (row = code). Codes follow the category
    order of each column in turn, the order a sorted group-by over the four gives; worked out once
    for all the models, so each model's cells are then a count over integers."""
    cats = [pd.Categorical(df[c]) for c in ["level", *COVARIATES]]
    code = np.zeros(len(df), dtype=np.int64)
    for c in cats:
        code = code * len(c.categories) + c.codes
    code[np.logical_or.reduce([c.codes < 0 for c in cats])] = -1
    keys = pd.MultiIndex.from_product([c.categories for c in cats], names=["level", *COVARIATES]).to_frame(index=False)
    return code, keys


def _cell_rows(keys: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The covariates of cells `rows` as the models' design reads them: text, FSM true/false."""
    out = keys.iloc[rows].reset_index(drop=True)
    return out.astype({"level": str, "sex": str, "ks4_year": str, "fsm": bool})


def _integers(s: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s)


def _cell_sums(code: np.ndarray, values: np.ndarray, n: int, integers: bool) -> np.ndarray:
    """Per cell code (0..n-1), the sum of `values`: a bincount when they are integers (exact, in
    any order, below 2**53), else pandas' compensated group sum in row order (the sum a group-by
    over the covariates gives, bit for bit)."""
    if integers:
        return np.bincount(code, values, n)
    return pd.Series(values).groupby(pd.Categorical.from_codes(code, range(n)), observed=False).sum().to_numpy()


def cells(df: pd.DataFrame, value: str, exposure: str | None = None, cell=None) -> pd.DataFrame:
    """Collapse pupils with the outcome and all covariates recorded to one row per covariate
    cell: n, the sum of the outcome, the summed exposure, and the sum of outcome² / exposure
    (what the pupil-level Pearson dispersion needs). `cell`: `cell_codes(df)`, if already known."""
    code, keys = cell_codes(df) if cell is None else cell
    y = df[value].to_numpy(dtype=float, na_value=np.nan)
    t = df[exposure].to_numpy(dtype=float, na_value=np.nan) if exposure else np.ones(len(df))
    keep = (code >= 0) & ~np.isnan(y) & (t > 0)  # t > 0 is false where missing
    code, y, t = code[keep], y[keep], t[keep]
    whole_y, whole_t = _integers(df[value]), exposure is None or _integers(df[exposure])
    n = np.bincount(code, minlength=len(keys))
    rows = np.flatnonzero(n > 0)
    out = _cell_rows(keys, rows)
    out["n"] = n[rows]
    out["y"] = _cell_sums(code, y, len(keys), whole_y)[rows]
    out["y2t"] = _cell_sums(code, y * y / t, len(keys), whole_y and exposure is None)[rows]
    out["t"] = _cell_sums(code, t, len(keys), whole_t)[rows]
    return out


def design(c: pd.DataFrame, constant: bool = True) -> pd.DataFrame:
    """Treatment-coded design: reference level `none`, the first sex, the first cohort, not FSM."""
    x = pd.concat(
        [
            dummies(c["level"], LEVELS, "level"),
            dummies(c["sex"], sorted(c["sex"].unique()), "sex"),
            dummies(c["ks4_year"], sorted(c["ks4_year"].unique()), "ks4_year"),
            pd.DataFrame({"fsm": c["fsm"].astype(float).to_numpy()}),
        ],
        axis=1,
    )
    x = x.loc[:, x.std(axis=0) > 0]  # a level or cohort absent from the data has no estimate
    x.index = c.index
    import statsmodels.api as sm

    return sm.add_constant(x, has_constant="add") if constant else x


# A log-ratio standard error above this means the term is not identified by the data (a group
# with no or all events: quasi-separation); its ratio would be a meaningless 0 or infinity.
MAX_LOG_SE = 5.0


def _tidy(outcome: str, model: str, measure: str, params, bse, pvalues, n: int) -> pd.DataFrame:
    # the ordinal model's cut points are named "category/category" and are not ratios; a design
    # term is "variable:value" (a cohort's value holds a "/": ks4_year:2013/2014) or "fsm"
    terms = [t for t in params.index if t != "const" and (":" in t or "/" not in t)]
    b, se = params[terms].to_numpy(float), bse[terms].to_numpy(float)
    ok = np.isfinite(b) & np.isfinite(se) & (se < MAX_LOG_SE)
    with np.errstate(over="ignore", invalid="ignore"):
        est, lo, hi = (np.where(ok, np.exp(v), np.nan) for v in (b, b - Z95 * se, b + Z95 * se))
    return pd.DataFrame(
        {
            "outcome": outcome,
            "model": model,
            "measure": measure,
            "term": terms,
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
            "p_value": np.where(ok, pvalues[terms].to_numpy(float), np.nan),
            "n": n,
            "note": np.where(ok, None, "not estimable: too few pupils with (or without) the outcome in this group"),
        }
    )


def _not_fitted(outcome: str, model: str, measure: str, reason: str) -> pd.DataFrame:
    terms = [f"level:{lv}" for lv in LEVELS[1:]]
    return pd.DataFrame(
        {
            "outcome": outcome,
            "model": model,
            "measure": measure,
            "term": terms,
            "estimate": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
            "n": 0,
            "note": f"model not fitted: {reason}",
        }
    )


def fit_binary(df: pd.DataFrame, outcome: str, cell=None) -> pd.DataFrame:
    """Logistic regression (binomial GLM on events / non-events per cell): odds ratios."""
    import statsmodels.api as sm

    c = cells(df, outcome, cell=cell)
    res = sm.GLM(np.column_stack([c["y"], c["n"] - c["y"]]), design(c), family=sm.families.Binomial()).fit()
    return _tidy(outcome, "logistic (binomial GLM)", "odds ratio", res.params, res.bse, res.pvalues, int(c["n"].sum()))


def fit_count(df: pd.DataFrame, outcome: str, exposure: str | None, cell=None) -> pd.DataFrame:
    """Log-linear count model: Poisson GLM on the cell sums with log exposure as offset (the same
    estimates as the pupil-level model), standard errors scaled by the pupil-level Pearson
    dispersion (quasi-Poisson), computed from each cell's sum of squares. Rate ratios."""
    import statsmodels.api as sm

    c = cells(df, outcome, exposure, cell)
    x = design(c)
    model = sm.GLM(c["y"], x, family=sm.families.Poisson(), offset=np.log(c["t"]))
    first = model.fit()
    # Pupil i of cell j has mean r_j * t_i, so its Pearson sum is
    # sum((y - r t)^2 / (r t)) = sum(y^2 / t) / r - 2 sum(y) + r sum(t).
    r = first.fittedvalues.to_numpy() / c["t"].to_numpy()
    pearson = (c["y2t"] / r - 2 * c["y"] + r * c["t"]).sum()
    phi = max(float(pearson) / (c["n"].sum() - x.shape[1]), 1.0)
    res = model.fit(scale=phi)
    return _tidy(outcome, "quasi-Poisson (log link)", "rate ratio", res.params, res.bse, res.pvalues, int(c["n"].sum()))


@functools.cache
def weighted_ordered_model():
    """statsmodels' ordinal (proportional-odds) model with frequency weights: each row stands
    for `weights` identical pupils, so the log-likelihood is the weighted sum (a class made on first
    use, so statsmodels is imported only when a model is fitted)."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    class WeightedOrderedModel(OrderedModel):
        def __init__(self, endog, exog, weights, **kwargs):
            super().__init__(endog, exog, **kwargs)
            self.freq_weights = np.asarray(weights, dtype=float)

        def loglike(self, params):
            return float((self.freq_weights * self.loglikeobs(params)).sum())

    return WeightedOrderedModel


def ordinal_cells(df: pd.DataFrame, outcome: str, cell=None) -> pd.DataFrame:
    """Pupils with the outcome and all covariates recorded, counted (`w`) per covariate cell and
    outcome category (`cat`), in the order of a sorted group-by over the five."""
    code, keys = cell_codes(df) if cell is None else cell
    cat = pd.Categorical(df[outcome])
    keep = (code >= 0) & (cat.codes >= 0)
    n_cat = len(cat.categories)
    w = np.bincount(code[keep] * n_cat + cat.codes[keep], minlength=len(keys) * n_cat)
    rows = np.flatnonzero(w > 0)
    counts = _cell_rows(keys, rows // n_cat)
    counts["cat"] = np.asarray(cat.categories.astype(str))[rows % n_cat]
    counts["w"] = w[rows]
    return counts


def fit_ordinal(df: pd.DataFrame, outcome: str, categories, cell=None) -> pd.DataFrame:
    """Proportional-odds logistic model: cumulative odds ratios of a worse category."""
    counts = ordinal_cells(df, outcome, cell)
    present = [k for k in categories if k in set(counts["cat"])]
    endog = pd.Series(pd.Categorical(counts["cat"], categories=present, ordered=True))
    model = weighted_ordered_model()(endog, design(counts, constant=False), counts["w"].to_numpy(), distr="logit")
    res = model.fit(method="bfgs", maxiter=1000, disp=False)
    return _tidy(
        outcome,
        "ordinal logistic (proportional odds)",
        "cumulative odds ratio",
        res.params,
        res.bse,
        res.pvalues,
        int(counts["w"].sum()),
    )


def fit_models(df: pd.DataFrame) -> pd.DataFrame:
    """Every model of the table; a model the data cannot support (e.g. an outcome nobody has)
    gives rows that say so instead of stopping the run."""
    cell = cell_codes(df)
    jobs = [(name, "logistic (binomial GLM)", "odds ratio", lambda n=name: fit_binary(df, n, cell)) for name in BINARY]
    jobs += [
        (name, "quasi-Poisson (log link)", "rate ratio", lambda n=name, e=exposure: fit_count(df, n, e, cell))
        for name, (_, exposure) in COUNTS.items()
    ]
    jobs += [
        (
            name,
            "ordinal logistic (proportional odds)",
            "cumulative odds ratio",
            lambda n=name, c=cats: fit_ordinal(df, n, c, cell),
        )
        for name, (_, cats) in ORDINAL.items()
    ]
    parts = []
    for name, model, measure, fit in jobs:
        try:
            parts.append(fit())
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError) as err:
            parts.append(_not_fitted(name, model, measure, str(err).splitlines()[0][:120]))
    out = pd.concat(parts, ignore_index=True)
    for c in ("outcome", "model", "measure", "term", "note"):
        out[c] = out[c].astype("string[pyarrow]")
    for c in ("estimate", "ci_low", "ci_high", "p_value"):
        out[c] = out[c].astype("Float64")
    out["n"] = out["n"].astype("int64")
    return out


# ---------------------------------------------------------------------------------------------
# Assets

# The pupil_outcomes columns these assets read (only these are loaded from storage).
OUTCOME_COLUMNS = [
    "level",
    "sex",
    "ks4_year",
    "fsm",
    "first_cj_contact_date",
    "sessions_possible",
    "fixed_period_exclusions",
    *[c for c in (*BINARY, *COUNTS, *ORDINAL) if c not in ("cj_contact", "custodial", "fixed_period_exclusion")],
]


# sex and cohort as categoricals straight from Parquet's dictionary pages (no text per pupil)
OUTCOMES_IN = dg.AssetIn(metadata={"columns": OUTCOME_COLUMNS, "dictionary_columns": ["sex", "ks4_year"]})


@table_asset(InterventionOutcomeSummary, group=GROUP, ins={"pupil_outcomes": OUTCOMES_IN})
def intervention_outcome_summary(pupil_outcomes: pd.DataFrame) -> Table:
    """Research question 1, descriptive: for each level of social-care intervention (none,
    referral only, child in need, child protection plan, looked after), the number of pupils and
    each outcome with a 95% confidence interval. Rates (Wilson interval) for GCSE-or-equivalent
    level 2 incl. English and maths, permanent exclusion, any caution or conviction and any
    custodial sentence; medians (distribution-free interval from order statistics) for
    unauthorised absence sessions and sessions lost to fixed-period exclusion; the share in each
    category of the conviction count (none / one / two or more) and of the most severe disposal.
    `n` counts pupils with the outcome recorded: pupils without a KS4 result, absence record or
    MoJ link are left out of that outcome only. Unadjusted: see intervention_outcome_models."""
    df = summarise(outcome_frame(pupil_outcomes))
    meta = {
        "pupils": len(pupil_outcomes),
        "pupils_by_level": dg.MetadataValue.json(
            {str(k): int(v) for k, v in pupil_outcomes["level"].value_counts(sort=False).items()}
        ),
    }
    return Table(df, meta)


@table_asset(
    InterventionOutcomeModels,
    group=GROUP,
    kinds={*KINDS, "statsmodels"},
    ins={"pupil_outcomes": OUTCOMES_IN},
)
def intervention_outcome_models(pupil_outcomes: pd.DataFrame) -> Table:
    """Research question 1, adjusted: each outcome regressed on intervention level (reference:
    no social-care contact), sex, KS4 cohort and FSM eligibility, fitted with statsmodels.
    Logistic regression for the binary outcomes (odds ratios); a quasi-Poisson log-linear model
    for unauthorised absence sessions (exposure: sessions possible) and sessions lost to
    fixed-period exclusion (rate ratios; standard errors allow for over-dispersion); a
    proportional-odds ordinal logistic model for the conviction count group and the most severe
    disposal (cumulative odds ratios: the odds of being in a worse category). One row per model
    term with its 95% confidence interval and Wald p-value; read the `level:` rows for the
    research question. Associations, not causal effects: the models adjust only for the
    covariates named."""
    df = fit_models(outcome_frame(pupil_outcomes))
    lv = df[df["term"].str.startswith("level:")]
    meta = {
        "models": int(df["outcome"].nunique()),
        "looked_after_vs_none": dg.MetadataValue.json(
            {
                r.outcome: (
                    r.note if pd.isna(r.estimate) else f"{r.measure} {r.estimate:.2f} ({r.ci_low:.2f}–{r.ci_high:.2f})"
                )
                for r in lv[lv["term"] == "level:looked_after"].itertuples()
            }
        ),
        "terms_not_estimable": int(df["estimate"].isna().sum()),
    }
    return Table(df, meta)


CHART_OUTCOMES = {  # panel: (outcome, measure) of intervention_outcome_summary, and how it is read
    "GCSE level 2 incl. English and maths": ("gcse_level2_em", "rate"),
    "Any fixed-period exclusion": ("fixed_period_exclusion", "rate"),
    "Permanently excluded": ("permanent_exclusion", "rate"),
    "Cautioned or convicted": ("cj_contact", "rate"),
    "Custodial sentence": ("custodial", "rate"),
    "Unauthorised absence (median sessions)": ("unauthorised_sessions", "median"),
}


def draw_outcomes_by_level(summary: pd.DataFrame, synthetic: bool = False) -> bytes:
    """Each outcome's rate (or median) by level with its 95% CI, the number of pupils it rests on
    under each bar; a bar resting on fewer than THRESHOLD pupils (with or without the outcome) is
    left out and says so."""
    fig, axes = plots.figure(8.0, 9.0, ncols=2, nrows=3)
    labels = ["none", "referral\nonly", "child in\nneed", "protection\nplan", "looked\nafter"]
    for ax, (title, (name, measure)) in zip(axes.ravel(), CHART_OUTCOMES.items()):
        s = summary[(summary["outcome"] == name) & (summary["measure"] == measure)].set_index("level")
        s = s.reindex(list(LEVELS))
        n = s["n"].fillna(0).astype(int).to_numpy()
        events = s["events"].astype(float).to_numpy()
        small = n < THRESHOLD
        if measure == "rate":  # disclosure control: neither the pupils with nor without it under 10
            small |= (events < THRESHOLD) | (n - events < THRESHOLD)
        scale = 100 if measure == "rate" else 1
        est = np.where(small, np.nan, s["estimate"].astype(float).to_numpy()) * scale
        lo = s["ci_low"].astype(float).to_numpy() * scale
        hi = s["ci_high"].astype(float).to_numpy() * scale
        x = np.arange(len(LEVELS))
        ax.bar(x, est, yerr=np.vstack([est - lo, hi - est]), capsize=3, color="#4c72b0")
        top = np.nanmax(np.r_[hi[~small], 1.0]) if (~small).any() else 1.0
        for i in np.flatnonzero(small):
            ax.text(x[i], top * 0.04, "under 10\nnot shown", ha="center", va="bottom", fontsize=6, color="#777777")
        ax.set_xticks(x, [f"{lab}\nn={v:,}" for lab, v in zip(labels, n)], fontsize=6.5)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("% of pupils" if measure == "rate" else "sessions", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle("Outcomes by highest level of social-care involvement (95% confidence intervals)", fontsize=10)
    plots.mark_synthetic(fig, synthetic)
    return plots.render(fig)


@plots.chart_asset("Outcomes by level", group=GROUP)
def outcomes_by_level_chart(intervention_outcome_summary: pd.DataFrame, raw_extracts: RawExtracts) -> bytes:
    """Chart of intervention_outcome_summary: the share of pupils with each outcome (GCSE level 2
    incl. English and maths, any fixed-period exclusion, permanent exclusion, caution or
    conviction, custody) and the median unauthorised absence, by intervention level, with 95%
    confidence intervals and the number of pupils under each bar. Drawn from level totals only,
    with no pupil-level values; a bar resting on fewer than 10 pupils (with or without the
    outcome) is left out. Stored as `outcomes_by_level_chart.png`; open it from the metadata's
    "chart" entry. Marked when the extracts are synthetic."""
    return draw_outcomes_by_level(intervention_outcome_summary, raw_extracts.is_synthetic_world())


effect_assets = [intervention_outcome_summary, intervention_outcome_models, outcomes_by_level_chart]

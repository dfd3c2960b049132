"""Confidence intervals, control limits and model design columns used by the research-question
assets (vectorised over arrays of counts).

The Wilson and exact Poisson intervals are statsmodels'; the funnel limits (Spiegelhalter's
interpolated Poisson limits) and the median's order-statistic interval are written here: no
library gives the former, and scipy's `quantile_test` interval chooses its order statistics
differently for some n (3 of 300 random cases differ), so the latter stays as it was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# scipy and statsmodels are imported where they are used: the code location loads without them
# (a second of every run's start-up).
Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


def wilson(events, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion events / n (well behaved near 0 and 1); missing
    where n is 0."""
    from statsmodels.stats.proportion import proportion_confint

    k, n = np.asarray(events, float), np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = proportion_confint(k, n, alpha=1 - level, method="wilson")
    lo, hi = np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)  # rounding error at 0 and 1


def poisson_ratio_ci(observed, expected, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for observed / expected, the observed count taken as Poisson."""
    from statsmodels.stats.rates import confint_poisson

    o, e = np.asarray(observed, float), np.asarray(expected, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = confint_poisson(o, e, method="exact-c", alpha=1 - level)
    return np.asarray(lo, float), np.asarray(hi, float)


def funnel_limits(expected, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Control limits for an observed/expected ratio at a unit with `expected` events, when the
    unit is in line with the reference (ratio 1): the p and 1-p Poisson quantiles of the count,
    interpolated between integers as in Spiegelhalter (2005) so the funnel is smooth."""
    from scipy import stats

    e = np.asarray(expected, float)
    out = []
    for q in (p, 1 - p):
        r = stats.poisson.ppf(q, e)
        at = stats.poisson.pmf(r, e)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(at > 0, (stats.poisson.cdf(r, e) - q) / at, 0.0)
            out.append((r - alpha) / e)
    return out[0], out[1]


def _median_ranks(n: int, level: float) -> tuple[int, int]:
    """The 1-based ranks of the median's interval ends (the Binomial(n, 1/2) quantiles)."""
    from scipy import stats

    a = (1 - level) / 2
    return int(max(stats.binom.ppf(a, n, 0.5), 1)), int(min(stats.binom.ppf(1 - a, n, 0.5) + 1, n))


def median_ci(sorted_values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Median and its distribution-free interval from order statistics (the ranks the
    Binomial(n, 1/2) quantiles give); `sorted_values` must be sorted and non-empty."""
    lo, hi = _median_ranks(len(sorted_values), level)
    return float(np.median(sorted_values)), float(sorted_values[lo - 1]), float(sorted_values[hi - 1])


def median_ci_unsorted(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """`median_ci(np.sort(values))`, the same three numbers, from the order statistics alone: one
    `np.partition` puts them where a sort would (linear time, where sorting 8M sessions took most
    of a summary), and the median is the mean of the middle one or two, as `np.median` takes it.
    Non-empty, no NaN."""
    n = len(values)
    lo, hi = _median_ranks(n, level)
    middle = slice((n - 1) // 2, n // 2 + 1)
    ranked = np.partition(values, sorted({lo - 1, hi - 1, middle.start, middle.stop - 1}))
    return float(np.mean(ranked[middle])), float(ranked[lo - 1]), float(ranked[hi - 1])


def dummies(values, categories, prefix: str) -> pd.DataFrame:
    """Treatment-coded indicator columns 'prefix:value', the first category as reference."""
    return pd.get_dummies(
        pd.Categorical(values, categories=list(categories)), prefix=prefix, prefix_sep=":", dtype=float
    ).iloc[:, 1:]

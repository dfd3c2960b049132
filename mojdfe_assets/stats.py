"""Confidence intervals, control limits and model design columns used by the research-question
assets (vectorised over arrays of counts; closed forms or scipy distributions, no fitting)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


def wilson(events, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion events / n (well behaved near 0 and 1)."""
    k, n = np.asarray(events, float), np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)  # rounding error at 0 and 1


def poisson_ratio_ci(observed, expected, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for observed / expected, the observed count taken as Poisson."""
    o, e = np.asarray(observed, float), np.asarray(expected, float)
    a = (1 - level) / 2
    lo = np.where(o > 0, stats.chi2.ppf(a, 2 * o) / 2, 0.0)
    hi = stats.chi2.ppf(1 - a, 2 * (o + 1)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return lo / e, hi / e


def funnel_limits(expected, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Control limits for an observed/expected ratio at a unit with `expected` events, when the
    unit is in line with the reference (ratio 1): the p and 1-p Poisson quantiles of the count,
    interpolated between integers as in Spiegelhalter (2005) so the funnel is smooth."""
    e = np.asarray(expected, float)
    out = []
    for q in (p, 1 - p):
        r = stats.poisson.ppf(q, e)
        at = stats.poisson.pmf(r, e)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(at > 0, (stats.poisson.cdf(r, e) - q) / at, 0.0)
            out.append((r - alpha) / e)
    return out[0], out[1]


def median_ci(sorted_values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Median and its distribution-free interval from order statistics (the ranks the
    Binomial(n, 1/2) quantiles give); `sorted_values` must be sorted and non-empty."""
    n = len(sorted_values)
    a = (1 - level) / 2
    lo = int(max(stats.binom.ppf(a, n, 0.5), 1))           # 1-based rank
    hi = int(min(stats.binom.ppf(1 - a, n, 0.5) + 1, n))
    return float(np.median(sorted_values)), float(sorted_values[lo - 1]), float(sorted_values[hi - 1])


def dummies(values, categories, prefix: str) -> pd.DataFrame:
    """Treatment-coded indicator columns 'prefix:value', the first category as reference."""
    return pd.get_dummies(pd.Categorical(values, categories=list(categories)), prefix=prefix, prefix_sep=":",
                          dtype=float).iloc[:, 1:]

"""The latent model: local authorities, the pupil spine and each child's highest involvement.

One latent disadvantage score per child, shifted by the LA's poverty rate and the LA's own
propensity to intervene, drives the child's FSM eligibility, social-care level, education and
offending, so later analyses find real structure (and LA differences) in the extracts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import geography
from . import timeline as tl
from .params import CLA_YEARS, KS4_YEARS, LEVELS, WorldParams


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def sample_cat(rng: np.random.Generator, probs, n: int | None = None, rows=None) -> np.ndarray:
    """Inverse-CDF categorical draw. `probs` is a vector, or a matrix indexed per draw by `rows`."""
    p = np.asarray(probs, dtype=float)
    if p.ndim == 1:
        cum = np.cumsum(p / p.sum())
        return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(p) - 1)
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)[rows]
    u = rng.random(len(rows))
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1)


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64, so distinct inputs give distinct ids."""
    z = z.astype(np.uint64)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


@dataclass
class LocalAuthorities:
    """The children's services authorities of 2018 (real DfE LA numbers, names and figures)."""

    code: np.ndarray  # 3-digit DfE LA numbers of the 2018 geography, as text
    name: np.ndarray  # names as in data/local_authorities.csv
    population: np.ndarray  # children aged 0-17, mid-2009 (DfE SFR27/2010; real)
    share: np.ndarray  # population share: each child's LA is drawn in proportion
    poverty: np.ndarray  # IDACI average score (IoD2019 File 11; real; #57: min 0.056, median 0.177, max 0.327)
    care_effect: np.ndarray  # LA propensity to intervene (on the latent scale; invented, seeded)
    offending: np.ndarray  # community offending effect (log-odds scale), rises with poverty (invented)
    earlier: dict = field(default_factory=dict)  # LA index -> (first year of its own number, number before)

    def code_in_year(self, la: np.ndarray, year: np.ndarray) -> np.ndarray:
        """LA number as delivered on rows of collection year `year` for children of LA index `la`:
        the predecessor's number before the 2009 reorganisation (820 for Bedford and Central
        Bedfordshire, 875 for Cheshire East and Cheshire West and Chester, up to 2008/09)."""
        year = np.asarray(year)
        out = self.code.astype(object)[la]
        for i, (start, before) in self.earlier.items():  # four authorities, not per row
            out[(la == i) & (year < start)] = before
        return out


def make_las(rng: np.random.Generator, p: WorldParams) -> LocalAuthorities:
    """The 2018 authorities with their real child populations and IDACI scores; City of London and
    the Isles of Scilly folded into Hackney and Cornwall (their children counted there), as
    published statistics usually show them (params.fold_small_las)."""
    fig = geography.la_figures().sort_values("la_code").reset_index(drop=True)
    names = geography.local_authorities().set_index("la_code")["la_name"]
    pop = fig.set_index("la_code")["child_population_0_17"].astype(np.int64)
    if p.fold_small_las:
        for small, host in p.fold_small_las:
            pop[host] += pop.pop(small)
    fig = fig[fig["la_code"].isin(pop.index)]
    code = fig["la_code"].to_numpy(dtype=str)
    population = pop.reindex(code).to_numpy()
    share = population / population.sum()
    poverty = fig["idaci_average_score"].to_numpy(float)
    n = len(code)
    z_pov = (poverty - p.poverty_centre) / p.poverty_scale
    care_effect = rng.normal(0.0, p.la_care_effect_sd, n)
    offending = 0.25 * z_pov + rng.normal(0.0, 0.2, n)
    # Authorities created inside the extracts' years carry their predecessor's number before.
    start = geography.local_authorities().set_index("la_code")["valid_from"].reindex(code)
    earlier = {
        i: (int(y), str(geography.code_in_year([c], [int(y) - 1])[0]))
        for i, (c, y) in enumerate(zip(code, start))
        if pd.notna(y) and y > CLA_YEARS[0]
    }
    return LocalAuthorities(
        code, names.reindex(code).to_numpy(dtype=object), population, share, poverty, care_effect, offending, earlier
    )


@dataclass
class Children:
    """Every child of the world: spine pupils first, then social-care children outside the spine."""

    n_spine: int
    pupil_key: np.ndarray  # uint64, unique
    moj_key: np.ndarray  # uint64, unique
    la: np.ndarray  # index into LocalAuthorities
    male: np.ndarray
    birth: np.ndarray  # day number
    ks4_year: np.ndarray  # end year of the KS4 academic year
    fsm: np.ndarray
    disadvantage: np.ndarray
    level: np.ndarray  # designed highest level within the windows (index into LEVELS)


def make_children(rng: np.random.Generator, p: WorldParams, las: LocalAuthorities, n_spine: int, seed: int) -> Children:
    n_extra = int(round(n_spine * (1 - p.level_shares[0]) * p.non_spine_share))
    n = n_spine + n_extra
    in_spine = np.arange(n) < n_spine
    la = sample_cat(rng, las.share, n)
    male = rng.random(n) < np.where(in_spine, 0.512, 0.55)
    # Spine: KS4 cohorts 2010/11..2017/18; outside the spine: older and younger cohorts.
    lo, hi = p.non_spine_ks4_years
    other = np.setdiff1d(np.arange(lo, hi + 1), np.arange(KS4_YEARS[0], KS4_YEARS[1] + 1))
    w = np.where(
        other < KS4_YEARS[0],
        p.non_spine_oldest_weight,
        1 + (p.non_spine_youngest_weight - 1) * np.clip((other - KS4_YEARS[1]) / max(hi - KS4_YEARS[1], 1), 0, 1),
    )
    ks4 = np.where(in_spine, rng.integers(KS4_YEARS[0], KS4_YEARS[1] + 1, n), other[sample_cat(rng, w, n)]).astype(
        np.int32
    )
    birth = tl.sep1(ks4 - 17) + rng.integers(0, 365, n).astype(np.int32)
    d = rng.standard_normal(n)
    z_pov = (las.poverty[la] - p.poverty_centre) / p.poverty_scale
    fsm = rng.random(n) < expit(-1.85 + 0.95 * d + 0.35 * z_pov)
    risk = (
        0.85 * d
        + p.fsm_risk * fsm
        + p.male_risk * male
        + p.poverty_risk * z_pov
        + las.care_effect[la]
        + 0.55 * rng.standard_normal(n)
    )
    # Thresholds are the spine's own quantiles, so level shares are as declared.
    cuts = np.quantile(risk[in_spine], np.cumsum(p.level_shares)[:-1])
    level = np.searchsorted(cuts, risk).astype(np.int8)
    # Non-spine children are in the social-care data by definition: level >= 1.
    level[~in_spine] = 1 + sample_cat(rng, p.non_spine_levels, n_extra)
    base = np.uint64(seed) << np.uint64(40)
    keys = np.arange(n, dtype=np.uint64) + base
    return Children(n_spine, _mix64(keys), _mix64(keys ^ np.uint64(0x5DEECE66D)), la, male, birth, ks4, fsm, d, level)


def level_name(level: np.ndarray) -> np.ndarray:
    return np.asarray(LEVELS, dtype=object)[level]

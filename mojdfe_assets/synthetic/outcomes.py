"""Education and offending outcomes of spine pupils, driven by the same latent model.

Each outcome's level-specific base rate (params) is shifted by the child's disadvantage, sex and
the LA's community offending, so outcome gaps by level and LA are in the data by construction.
"""

from __future__ import annotations

import numpy as np

from .. import codelists
from . import timeline as tl
from .params import LEVELS, PNC_END, WorldParams
from .world import Children, LocalAuthorities, expit, logit

# PNC disposal codes by severity, from the code list `pnc_disposal`.
_SEVERITY = codelists.groups("pnc_disposal")
CAUTIONS, NON_CUSTODIAL, CUSTODIAL = (
    tuple(c for c, g in _SEVERITY.items() if g == group) for group in ("caution", "non_custodial", "custodial")
)


def _centred(x: np.ndarray, lvl: np.ndarray) -> np.ndarray:
    """x minus its mean within the pupil's level: individual effects that keep each level's mean."""
    x = np.asarray(x, dtype=float)
    k = len(LEVELS)
    mean = np.bincount(lvl, weights=x, minlength=k) / np.maximum(np.bincount(lvl, minlength=k), 1)
    return x - mean[lvl]


def _normalised(x: np.ndarray, lvl: np.ndarray) -> np.ndarray:
    """x divided by its mean within the pupil's level (a multiplier averaging 1 in each level)."""
    k = len(LEVELS)
    mean = np.bincount(lvl, weights=x, minlength=k) / np.maximum(np.bincount(lvl, minlength=k), 1)
    return x / np.where(mean[lvl] > 0, mean[lvl], 1.0)


def ks4(rng, p: WorldParams, ch: Children, spine: np.ndarray) -> dict:
    lvl, d = ch.level[spine], ch.disadvantage[spine]
    lp = logit(np.asarray(p.ks4_pass))[lvl] - 0.45 * _centred(d, lvl) - 0.35 * _centred(ch.fsm[spine], lvl)
    passed = rng.random(len(spine)) < expit(lp + 0.2)
    sat = rng.random(len(spine)) > np.array([0.02, 0.04, 0.06, 0.07, 0.12])[lvl]  # some sit no exams
    year = ch.ks4_year[spine]
    # Attainment 8 exists from 2015/16: a noisy score aligned with the pass indicator.
    mean8 = np.where(passed, np.asarray(p.att8_pass_mean)[lvl], np.asarray(p.att8_fail_mean)[lvl])
    att8 = np.clip(mean8 + rng.normal(0, 9, len(spine)), 0, 90).round(1)
    return dict(idx=spine, year=year, sat=sat, level2_em=passed, att8=att8, att8_valid=sat & (year >= 2016))


def absence(rng, p: WorldParams, ch: Children, spine: np.ndarray) -> dict:
    lvl, d = ch.level[spine], ch.disadvantage[spine]
    possible = (5 * 380 - rng.integers(0, 120, len(spine))).astype(np.int64)
    mu = np.asarray(p.unauth_mean)[lvl] * _normalised(np.exp(0.35 * d), lvl)
    # Negative binomial (gamma-Poisson mixture, shape 0.8): most pupils few, a long tail.
    unauth = rng.poisson(rng.gamma(0.8, mu / 0.8))
    auth = rng.poisson(rng.gamma(4.0, np.asarray(p.auth_mean)[lvl] / 4.0))
    unauth = np.minimum(unauth, possible // 2)
    return dict(idx=spine, year=ch.ks4_year[spine], possible=possible, unauth=unauth, auth=auth)


def exclusions(rng, p: WorldParams, ch: Children, spine: np.ndarray) -> dict:
    lvl, d = ch.level[spine], ch.disadvantage[spine]
    boost = _normalised(np.exp(0.45 * d + 0.4 * ch.male[spine]), lvl)
    n_fpe = rng.poisson(5 * np.asarray(p.fpe_rate)[lvl] * boost)
    perm = rng.random(len(spine)) < 1 - (1 - np.asarray(p.perm_rate)[lvl] * boost) ** 5
    who = np.r_[np.repeat(np.arange(len(spine)), n_fpe), np.flatnonzero(perm)]
    kind = np.r_[np.full(n_fpe.sum(), "FIXD", dtype=object), np.full(perm.sum(), "PERM", dtype=object)]
    # Secondary school years 7..11 = KS4 year - 4 .. KS4 year.
    year = ch.ks4_year[spine][who] - rng.integers(0, 5, len(who))
    start = tl.sep1(year - 1) + rng.integers(5, 300, len(who))
    sessions = np.where(kind == "FIXD", 1 + rng.geometric(0.3, len(who)), 0)
    order = np.lexsort((start, who))
    return dict(idx=spine[who][order], year=year[order], kind=kind[order], sessions=sessions[order], start=start[order])


def offending(rng, p: WorldParams, ch: Children, las: LocalAuthorities, spine: np.ndarray) -> dict:
    lvl, d, male = ch.level[spine], ch.disadvantage[spine], ch.male[spine]
    sex = np.log(np.sqrt(p.male_offending_ratio))
    lp = (
        logit(np.asarray(p.offend_any))[lvl]
        + np.where(male, sex, -sex)
        + 0.35 * _centred(d, lvl)
        + las.offending[ch.la[spine]]
    )
    any_ = rng.random(len(spine)) < expit(lp)
    n = np.where(any_, 1 + rng.poisson(np.asarray(p.more_sanctions)[lvl] * _normalised(np.exp(0.2 * d), lvl)), 0)
    who = np.repeat(np.arange(len(spine)), n)
    rank = np.arange(len(who)) - np.repeat(np.cumsum(n) - n, n)
    birth = ch.birth[spine][who]
    first_age = 10 + np.clip(rng.gamma(*p.first_sanction_age_gamma, len(who)), 0, 25)
    gaps = np.where(rank == 0, 0, rng.exponential(300, len(who)))
    cg = np.cumsum(gaps)
    head = np.repeat(np.cumsum(n) - n, n)  # index of each pupil's first sanction
    cum = cg - cg[head]
    first = birth[head] + first_age[head] * 365.25
    offence = (first + cum).astype(np.int64)
    disposal_date = offence + rng.integers(1, 120, len(who))
    keep = disposal_date <= tl.day(*PNC_END)
    # Severity rises with each sanction and with the child's level of social care.
    age = tl.age_years(birth, offence)
    sev_lp = -1.0 + 0.55 * rank + 0.25 * lvl[who] + 0.4 * (age >= 18)
    r = rng.random(len(who))
    p_caution = expit(-sev_lp + 0.3)
    p_custody = expit(sev_lp - 4.2 + np.asarray(p.custody_shift)[lvl[who]])
    kind = np.where(r < p_caution, 0, np.where(r > 1 - p_custody, 2, 1))
    code = np.empty(len(who), dtype=object)
    youth = age < 18
    for k, codes in enumerate((CAUTIONS, NON_CUSTODIAL, CUSTODIAL)):
        m = kind == k
        code[m] = np.array(codes, dtype=object)[rng.integers(0, len(codes), m.sum())]
    code = np.where((kind == 0) & youth & (code == "ADULT_CAUTION"), "YOUTH_CAUTION", code)
    code = np.where((kind == 0) & ~youth, "ADULT_CAUTION", code)
    code = np.where((code == "REFERRAL_ORDER") & ~youth, "COMMUNITY_ORDER", code)
    code = np.where((code == "DETENTION_TRAINING_ORDER") & ~youth, "IMMEDIATE_CUSTODY", code)
    return dict(idx=spine[who][keep], offence=offence[keep], disposal_date=disposal_date[keep], disposal=code[keep])


def la_context(rng, p: WorldParams, las: LocalAuthorities, n_children: int) -> dict:
    """One row per authority of the world (the 2018 geography less the folded ones): real names,
    child populations (mid-2009) and IDACI scores; the recorded crime rate is invented."""
    crime = np.round(60 * np.exp(0.6 * las.offending) + rng.normal(0, 4, len(las.code)), 1)
    return dict(
        code=las.code, name=las.name, pop=las.population.astype(np.int64), idaci=np.round(las.poverty, 3), crime=crime
    )

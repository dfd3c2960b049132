"""Social-care histories: CLA periods and episodes, CIN spells and child protection plans.

Everything is generated as event tables with absolute dates (day numbers), then cut into the
extracts' year-rows. Only what falls inside the extract windows is ever written.
"""

from __future__ import annotations

import numpy as np

from .. import codelists
from . import timeline as tl
from .params import CIN_YEARS, CLA_YEARS, WorldParams
from .world import Children, sample_cat

CLA_START, CLA_END = tl.day(CLA_YEARS[0] - 1, 4, 1), int(tl.march31(CLA_YEARS[1]))
CIN_START, CIN_END = tl.day(CIN_YEARS[0] - 1, 4, 1), int(tl.march31(CIN_YEARS[1]))
OPEN = np.int32(2**31 - 1)  # end of an episode or spell that had not ended when data stop

# Placement codes within each family, with weights (family names are code-list groups).
PLACEMENT_CODES = {
    "foster": (("U4", 0.25), ("U5", 0.05), ("U6", 0.70)),
    "kinship": (("U1", 0.40), ("U2", 0.05), ("U3", 0.55)),
    "residential": (
        ("K1", 0.05),
        ("K2", 0.55),
        ("H5", 0.25),
        ("R1", 0.04),
        ("R2", 0.02),
        ("R3", 0.03),
        ("R5", 0.03),
        ("S1", 0.03),
    ),
    "with_parents": (("P1", 1.0),),
    "adoption": (("A3", 0.15), ("A4", 0.35), ("A5", 0.15), ("A6", 0.35)),
    "independent_living": (("P2", 1.0),),
    "other": (("Z1", 0.70), ("P3", 0.05), ("T0", 0.05), ("T1", 0.05), ("T2", 0.05), ("T3", 0.05), ("T4", 0.05)),
}


def _pick(rng, choices, n):
    codes = np.array([c for c, _ in choices], dtype=object)
    return codes[sample_cat(rng, [w for _, w in choices], n)]


def _group_rank(group: np.ndarray) -> np.ndarray:
    """0,1,2.. within runs of equal consecutive values."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    start = np.r_[True, group[1:] != group[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return (np.arange(n) - first).astype(np.int32)


def simulate_cla_episodes(rng: np.random.Generator, p: WorldParams, ch: Children) -> dict:
    """Periods of care and their episodes for children at the looked-after level."""
    kids = np.flatnonzero(ch.level == 4)
    birth = ch.birth[kids]
    b18 = tl.add_years(birth, 18)
    n_per = 1 + sample_cat(rng, (0.80, 0.15, 0.05), len(kids))
    # First entry: age-at-entry mixture (most before 2, second peak in teens), kept inside the window.
    age_band = sample_cat(rng, (0.30, 0.25, 0.33, 0.12), len(kids))
    lo_age = np.array([0, 2, 10, 15])[age_band] * 365.25
    hi_age = np.array([2, 10, 15, 17.5])[age_band] * 365.25
    start = (birth + lo_age + rng.random(len(kids)) * (hi_age - lo_age)).astype(np.int64)
    upper = np.minimum(b18 - 30, CLA_END - 20)
    lower = np.maximum(birth, CLA_START - 3 * 365)
    bad = (start < lower) | (start > upper)
    start[bad] = (lower[bad] + rng.random(bad.sum()) * np.maximum(upper[bad] - lower[bad], 1)).astype(np.int64)

    periods = []  # (child, k, start, end, ceased_at_18)
    prev_end = None
    for k in range(3):
        alive = n_per > k
        if k > 0:
            start = prev_end + 120 + rng.exponential(420, len(kids)).astype(np.int64)
            alive &= start < np.minimum(b18 - 30, CLA_END)
        short = rng.random(len(kids)) < p.cla_short_share
        dur = np.where(
            short, 3 + rng.exponential(45, len(kids)), rng.lognormal(np.log(p.cla_long_median_days), 0.85, len(kids))
        )
        end = start + dur.astype(np.int64)
        at18 = end >= b18
        end = np.minimum(end, b18)
        if k == 0:  # a period that ended before the window opened is moved into it
            early = end < CLA_START
            shift = CLA_START - end[early] + rng.integers(0, 365, early.sum())
            start[early] += shift
            end[early] = np.minimum(end[early] + shift, b18[early])
            at18[early] = end[early] >= b18[early]
            alive &= end > start  # 18 before the window opened: never looked after inside it
        periods.append((kids[alive], np.full(alive.sum(), k), start[alive], end[alive], at18[alive]))
        prev_end = end
    child, pk, pstart, pend, p18 = (np.concatenate(x) for x in zip(*periods))
    order = np.lexsort((pk, child))
    child, pk, pstart, pend, p18 = child[order], pk[order], pstart[order], pend[order], p18[order]
    npd = len(child)
    need = np.array(codelists.codes("cla_category_of_need"), dtype=object)[sample_cat(rng, p.cla_need, npd)]
    # Periods for needs other than abuse or neglect end sooner more often (within months).
    sooner = (need != "N1") & (rng.random(npd) < p.cla_non_n1_shorter) & (pstart >= CLA_START)
    pend = np.where(sooner, np.minimum(pend, pstart + 60 + rng.exponential(150, npd).astype(np.int64)), pend)
    p18 = p18 & ~sooner | (p18 & (pend >= tl.add_years(ch.birth[child], 18)))

    # Episodes: more placement moves in longer periods.
    years = (pend - pstart) / 365.25
    n_ep = 1 + np.minimum(rng.poisson(0.30 + p.cla_moves_per_year * years), 9)
    ep_period = np.repeat(np.arange(npd), n_ep)
    rank = _group_rank(ep_period)
    frac = np.where(rank == 0, 0.0, rng.random(len(ep_period)))
    frac = frac[np.lexsort((frac, ep_period))]  # sorted within period, rank 0 stays 0
    e_start = (pstart[ep_period] + frac * (pend - pstart)[ep_period]).astype(np.int64)
    is_last = np.r_[ep_period[1:] != ep_period[:-1], True]
    e_end = np.where(is_last, pend[ep_period], np.r_[e_start[1:], 0])
    keep = (e_end > e_start) | is_last  # drop zero-length middle episodes
    ep_period, e_start, e_end = ep_period[keep], e_start[keep], e_end[keep]
    rank = _group_rank(ep_period)
    is_last = np.r_[ep_period[1:] != ep_period[:-1], True]
    e_child = child[ep_period]
    ne = len(e_child)

    # Placement family by age at episode start, legal status, reason for new episode.
    age = tl.age_years(ch.birth[e_child], e_start)
    band = np.where(age < 10, 0, np.where(age < 16, 1, 2))
    fam_names = np.array(p.placement_families, dtype=object)
    fam = fam_names[sample_cat(rng, p.placement_by_age, rows=band)]
    fam = np.where((fam == "adoption") & (rank == 0) & (rng.random(ne) < 0.8), "foster", fam)
    placement = np.empty(ne, dtype=object)
    for f, choices in PLACEMENT_CODES.items():
        m = fam == f
        placement[m] = _pick(rng, choices, m.sum())
    legal = _pick(rng, p.start_legal, ne)
    legal = np.where((legal == "J1") & (age < 10), "V2", legal)
    rne = np.where(rank == 0, "S", _pick(rng, (("P", 0.55), ("L", 0.15), ("B", 0.15), ("T", 0.10), ("U", 0.05)), ne))
    for r in range(1, int(rank.max()) + 1 if ne else 1):
        i = np.flatnonzero(rank == r)
        prev = i - 1
        same_place = rne[i] == "L"
        placement[i] = np.where(same_place, placement[prev], placement[i])
        # Legal status usually moves towards a care order within a period (#15: care orders are
        # ~60% of children looked after at 31 March, s20 falling to ~20-30%).
        pl = legal[prev]
        u = rng.random(len(i))
        young = age[i] < 10
        progressed = np.select(
            [
                pl == "C1",
                (pl == "V2") & (u < p.legal_v2_to_c1),
                np.isin(pl, ["L1", "L2", "L3"]),
                (pl == "C2") & young & (u < p.legal_c2_to_e1_under10),
            ],
            ["C2", "C1", np.where(u < 0.6, "C1", "V2"), "E1"],
            pl,
        )
        changes_legal = np.isin(rne[i], ["L", "B", "U"]) | (rng.random(len(i)) < p.legal_change)
        legal[i] = np.where(changes_legal, progressed, pl)
    adopt = np.char.startswith(placement.astype(str), "A")
    legal = np.where(adopt, "E1", legal)
    legal = np.where((legal == "E1") & (e_start < tl.day(2005, 12, 30)), "D1", legal)  # freeing orders before 2006

    # Reason episode ceased: X1 between episodes of a period, otherwise by circumstance.
    rec = np.full(ne, "X1", dtype=object)
    last = np.flatnonzero(is_last)
    pr = ep_period[last]
    general = _pick(
        rng,
        (
            ("E4A", 0.21),
            ("E4B", 0.05),
            ("E13", 0.04),
            ("E41", 0.06),
            ("E43", 0.065),
            ("E44", 0.055),
            ("E8", 0.09),
            ("E3", 0.03),
            ("E9", 0.09),
            ("E5", 0.09),
            ("E6", 0.05),
            ("E11", 0.09),
            ("E12", 0.07),
            ("E2", 0.002),
            ("E14", 0.01),
            ("E16", 0.003),
        ),
        len(last),
    )
    teen = tl.age_years(ch.birth[e_child[last]], e_end[last]) >= 16
    general = np.where(~teen & np.isin(general, ["E5", "E6", "E9", "E14"]), "E4A", general)
    general = np.where(teen & np.isin(general, ["E11", "E12"]), "E8", general)
    aged18 = _pick(rng, (("E17", 0.25), ("E5", 0.35), ("E6", 0.15), ("E8", 0.25)), len(last))
    adopted = _pick(rng, (("E11", 0.55), ("E12", 0.35), ("E43", 0.1)), len(last))
    rec[last] = np.where(p18[pr], aged18, np.where(adopt[last], adopted, general))
    # Reason for placement change (collected from 2016). DfE records it on the ceasing episode; a
    # one-record-per-year extract keeps the later episode, so it is carried on the episode that
    # the move began (the generator's reading of the requested item).
    moved_in = (rank > 0) & np.isin(rne, ["P", "T", "B", "U"])
    rpc = np.full(ne, None, dtype=object)
    rpc[moved_in] = _pick(
        rng,
        (
            ("CARPL", 0.35),
            ("CREQB", 0.12),
            ("CREQO", 0.10),
            ("LAREQ", 0.10),
            ("CHILD", 0.08),
            ("STAND", 0.05),
            ("CLOSE", 0.05),
            ("ALLEG", 0.03),
            ("APPRR", 0.02),
            ("PLACE", 0.05),
            ("OTHER", 0.05),
        ),
        moved_in.sum(),
    )
    ended = e_end <= CLA_END
    return dict(
        child=e_child,
        period=ep_period,
        poc_start=pstart[ep_period],
        start=e_start,
        end=np.where(ended, e_end, OPEN),
        need=need[ep_period],
        legal=legal,
        placement=placement,
        rec=np.where(ended, rec, None),
        rpc=rpc,
        rne=rne,
        period_start=pstart,
        period_end=np.where(pend <= CLA_END, pend, OPEN),
        period_child=child,
    )


def cla_rows(ep: dict, release: str) -> dict:
    """Cut episodes into collection-year rows (2005/06..2017/18) as the extract holds them."""
    first = np.maximum(tl.collection_year(ep["start"]), CLA_YEARS[0])
    last = np.minimum(tl.collection_year(np.minimum(ep["end"], CLA_END)), CLA_YEARS[1])
    n = np.maximum(last - first + 1, 0)
    e = np.repeat(np.arange(len(first)), n)
    year = (first[e] + _group_rank(e)).astype(np.int32)
    if release == "latest":  # the current release: only the most recent episode of each year
        order = np.lexsort((ep["start"][e], year, ep["child"][e]))
        e, year = e[order], year[order]
        c = ep["child"][e]
        keep = np.r_[(c[1:] != c[:-1]) | (year[1:] != year[:-1]), True]
        e, year = e[keep], year[keep]
    elif release != "all":
        raise ValueError(f"release must be 'latest' or 'all', not {release!r}")
    m31 = tl.march31(year)
    start, end = ep["start"][e], ep["end"][e]
    ceased = end <= m31
    return dict(
        episode=e,
        child=ep["child"][e],
        year=year,
        start=start,
        ceased=ceased,
        end=end,
        m31=m31,
        poc_start=ep["poc_start"][e],
    )


def cin_spells(rng: np.random.Generator, p: WorldParams, ch: Children, cla: dict) -> dict:
    """CIN spells (referral to closure) with any child protection plan inside them."""
    b18 = tl.add_years(ch.birth, 18)
    lo = np.maximum(ch.birth + 30, CIN_START)
    hi = np.minimum(b18 - 30, CIN_END - 5)
    can = hi > lo + 60
    parts = []

    def spells(kids, start, end, cpp_start=None, cpp_end=None, kind=0):
        n = len(kids)
        parts.append(
            dict(
                child=kids,
                start=start.astype(np.int64),
                end=end.astype(np.int64),
                cpp_start=np.full(n, -1, np.int64) if cpp_start is None else cpp_start.astype(np.int64),
                cpp_end=np.full(n, -1, np.int64) if cpp_end is None else cpp_end.astype(np.int64),
                kind=np.full(n, kind, np.int8),
            )
        )

    def anchored(kids, median_after):
        """A spell open on a 31 March inside the window (so the child is 'in need' that year)."""
        m_lo = tl.collection_year(lo[kids])
        m_hi = tl.collection_year(hi[kids]) - 1
        m_hi = np.maximum(m_hi, m_lo)
        a = m_lo + (rng.random(len(kids)) * (m_hi - m_lo + 1)).astype(np.int32)
        m = tl.march31(np.minimum(a, CIN_YEARS[1])).astype(np.int64)
        start = np.maximum(m - rng.integers(1, 500, len(kids)), lo[kids])
        end = m + rng.lognormal(np.log(median_after), 0.9, len(kids)).astype(np.int64) + 1
        return a, m, start, end

    # Referral only: closed before the next 31 March; 20% are referred twice.
    ref = np.flatnonzero((ch.level == 1) & can)
    ref = np.r_[ref, ref[rng.random(len(ref)) < 0.20]]
    # ...and some CIN/CPP children had an earlier or later referral that went nowhere.
    ref = np.r_[ref, np.flatnonzero((ch.level == 2) & can & (rng.random(len(ch.level)) < 0.15))]
    s = lo[ref] + (rng.random(len(ref)) * (hi[ref] - lo[ref])).astype(np.int64)
    next_m31 = tl.march31(tl.collection_year(s))
    e = np.minimum(s + 3 + rng.exponential(40, len(ref)).astype(np.int64), next_m31 - 1)
    spells(ref, s, e, kind=1)

    cin = np.flatnonzero((ch.level == 2) & can)
    _, _, s, e = anchored(cin, p.cin_days_after_march)
    spells(cin, s, e, kind=2)

    cpp = np.flatnonzero((ch.level == 3) & can)
    a, m, s, e = anchored(cpp, p.cpp_days_after_march)
    hidden = rng.random(len(cpp)) < p.cpp_hidden_share
    cs = s + (rng.random(len(cpp)) * np.maximum(m - s, 1) * 0.6).astype(np.int64)
    ce = np.minimum(cs + rng.lognormal(np.log(270), 0.6, len(cpp)).astype(np.int64), e)
    ce = np.maximum(ce, cs + 14)
    # Hidden plan: a short earlier spell in the same year carries the plan; a later referral in
    # that year (with no plan) is the one the current release keeps for that year.
    h0 = m - rng.integers(230, 330, len(cpp))
    h1 = h0 + rng.integers(20, 60, len(cpp))
    ok = hidden & (h0 >= lo[cpp])
    spells(cpp[ok], h0[ok], h1[ok], h0[ok] + 3, h1[ok], kind=3)
    s = np.where(ok, np.maximum(s, h1 + rng.integers(5, 40, len(cpp))), s)
    spells(cpp, s, e, np.where(ok, -1, cs), np.where(ok, -1, ce), kind=3)

    # Looked-after children: referred before care, in need while in care (CLA count within CIN).
    pc, ps, pe = cla["period_child"], cla["period_start"], cla["period_end"]
    first = np.r_[True, pc[1:] != pc[:-1]]
    last = np.r_[pc[1:] != pc[:-1], True]
    kids = pc[first]
    s = ps[first] - rng.integers(30, 400, len(kids))
    e = np.where(pe[last] == OPEN, OPEN, pe[last] + rng.integers(0, 120, len(kids)))
    keep = (rng.random(len(kids)) < p.cla_in_cin_share) & (e > CIN_START) & (s < CIN_END)
    kids, s, e = kids[keep], np.maximum(s[keep], lo[kids[keep]]), e[keep]
    with_plan = rng.random(len(kids)) < p.cla_with_plan_share
    cs = np.where(with_plan, s + rng.integers(5, 60, len(kids)), -1)
    ce = np.where(with_plan, np.maximum(ps[first][keep], cs + 14), -1)
    spells(kids, s, e, cs, ce, kind=4)

    out = {k: np.concatenate([d[k] for d in parts]) for k in parts[0]}
    order = np.lexsort((out["start"], out["child"]))
    out = {k: v[order] for k, v in out.items()}
    n = len(out["child"])
    lvl = ch.level[out["child"]]
    need_codes = np.array(codelists.codes("cin_primary_need"), dtype=object)
    need = need_codes[sample_cat(rng, p.cin_need, n)]
    need = np.where((out["kind"] == 1) & (rng.random(n) < 0.3), "N0", need)
    need = np.where((lvl >= 3) & (rng.random(n) < p.cin_need_n1_if_cpp), "N1", need)
    nfa = np.where(out["kind"] == 1, rng.random(n) < p.referral_only_nfa, rng.random(n) < 0.01)
    closure = np.where(
        nfa,
        "RC8",
        _pick(
            rng,
            (("RC7", 0.80), ("RC3", 0.05), ("RC4", 0.04), ("RC5", 0.08), ("RC6", 0.02), ("RC1", 0.005), ("RC2", 0.005)),
            n,
        ),
    )
    closure = np.where(out["kind"] == 1, np.where(nfa, "RC8", np.where(rng.random(n) < 0.5, "RC8", "RC7")), closure)
    category = np.array(codelists.codes("cin_category_of_abuse"), dtype=object)[sample_cat(rng, p.cpp_category, n)]
    latest_category = np.where(rng.random(n) < 0.2, category[rng.permutation(n)], category)
    # Plans before the window show only as a previous-plan count.
    prev_cpp = np.where(rng.random(n) < 0.15, 1 + (rng.random(n) < 0.2), 0)
    out.update(
        need=need, nfa=nfa, closure=closure, category=category, latest_category=latest_category, prev_cpp=prev_cpp
    )
    return out


def cin_rows(sp: dict, release: str) -> dict:
    """Cut CIN spells into collection-year rows (2008/09..2016/17)."""
    end_c = np.minimum(sp["end"], CIN_END)
    first = np.maximum(tl.collection_year(sp["start"]), CIN_YEARS[0])
    last = np.minimum(tl.collection_year(end_c), CIN_YEARS[1])
    n = np.maximum(last - first + 1, 0)
    s = np.repeat(np.arange(len(first)), n)
    year = (first[s] + _group_rank(s)).astype(np.int32)
    if release == "latest":  # one row per child per year: the most recent referral
        order = np.lexsort((sp["start"][s], year, sp["child"][s]))
        s, year = s[order], year[order]
        c = sp["child"][s]
        keep = np.r_[(c[1:] != c[:-1]) | (year[1:] != year[:-1]), True]
        s, year = s[keep], year[keep]
    m31 = tl.march31(year)
    y0 = tl.march31(year - 1)
    start, end = sp["start"][s], sp["end"][s]
    cs, ce = sp["cpp_start"][s], sp["cpp_end"][s]
    on_plan = (cs >= 0) & (cs <= m31) & (ce > y0)
    return dict(
        spell=s,
        child=sp["child"][s],
        year=year,
        start=start,
        end=end,
        at31=(start <= m31) & (end > m31),
        closed=end <= m31,
        on_plan=on_plan,
        plan_first_year=on_plan & (tl.collection_year(np.maximum(cs, 0)) == year),
    )

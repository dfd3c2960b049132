"""Calibration of the synthetic world, in one place.

Each figure cites the item of `shared/reference/national-statistics.md` (section 8, "calibration
targets") it was tuned towards. The README lists them; `mojdfe_assets_tests/test_synthetic.py`
checks that a generated world reproduces the declared shares within tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import codelists
from .. import extracts as X

LEVELS = codelists.INTERVENTION_LEVELS  # the guide's ordered factor

# Extract windows (collection years named by their end year), as the extracts declare them.
CLA_YEARS = X.CLA.years  # CLA_2006_to_2018: 2005/2006 .. 2017/2018
CIN_YEARS = X.CIN.years  # CIN_08-09_to_16-17: 2008/2009 .. 2016/2017
KS4_YEARS = (2011, 2018)  # spine: KS4 cohorts 2010/2011 .. 2017/2018 (born Sep 1994 .. Aug 2002)
PNC_END = (2021, 12, 31)  # offending observed to the end of 2021 (Data First PNC extract 2000–2021)


@dataclass(frozen=True)
class WorldParams:
    # Share of spine pupils by highest level *within the extract windows*. Targets: ever looked
    # after 3–4% (#38), ever CPP 6.9% before 18 (#36, less in a partial window), pupils with a
    # social worker during schooling 14.7% (#39), ever referred 35.4% before 18 (#37).
    level_shares: tuple[float, ...] = (0.735, 0.095, 0.105, 0.035, 0.030)
    # Local authorities: the 152 children's services authorities of 2018 with their real DfE LA
    # numbers and names (data/local_authorities.csv), real child populations (mid-2009, DfE
    # SFR27/2010) and real IDACI average scores (IoD2019 File 11; Bournemouth and Poole share BCP's
    # score, Dorset county the 2019 Dorset unitary's) from data/la_figures.csv. City of London and the
    # Isles of Scilly are folded into Hackney and Cornwall (children and population counted there),
    # as published statistics usually show them: 150 authorities, and 152 LA numbers in the CLA
    # extract over 2006-2018 with Bedfordshire 820 and Cheshire 875 before 2009/10 (#54: 150 in
    # 2008, 152 from 2010). The care and offending effects per LA are invented (seeded draws).
    fold_small_las: tuple[tuple[str, str], ...] = (("201", "204"), ("420", "908"))
    # Poverty enters the latent model as z = (IDACI - centre) / scale.
    poverty_centre: float = 0.177  # #57 median across upper-tier LAs
    poverty_scale: float = 0.07
    # LA spread of intervention: a latent-risk shift per poverty_scale of IDACI above the centre,
    # plus the LA's own propensity to intervene (sd on the latent scale, invented). Tuned so that
    # CLA per 10,000 across LAs p10/median/p90 is 34/60/94 (#55) and CIN 227/347/509 (#56): with the
    # real IDACI scores (sd 0.059 across LAs, less than the invented beta(5, 23) of before) the
    # former 0.12 / 0.05 gave too little spread (CIN p10/median 0.81 vs 0.65 at 2 m pupils).
    la_care_effect_sd: float = 0.07
    poverty_risk: float = 0.17
    # Children in CIN/CLA data who are not in the KS4 spine (older and younger cohorts, unmatched),
    # per spine child with involvement. Sized so that a 10-million-pupil world has England's CLA
    # child-years 2006-2018 (≈1.22 m, #59) and children in need at 31 March (≈390k, #24).
    non_spine_share: float = 0.20
    # KS4 years (end years) of the cohorts outside the spine: born 1987/88..2014/15 (every cohort
    # under 18 at some point of the CLA window), so the social-care extracts hold children of
    # every age, as the real extracts do.
    non_spine_ks4_years: tuple[int, int] = (2005, 2034)
    # Relative sizes of the outside cohorts: those older than the spine (in care early in the
    # window) and the youngest (rising linearly over the cohorts younger than the spine), as entries
    # to care rose over the window: CLA at 31 March ~60k in 2006-2009, 75k in 2018 (#1-#3).
    non_spine_oldest_weight: float = 2.2
    non_spine_youngest_weight: float = 6.0
    # Level mix of children outside the spine (referral, CIN, CPP, CLA): the real CLA and CIN
    # extracts hold every matched child, so their CLA:CIN ratio is England's (#34, ~18%).
    non_spine_levels: tuple[float, ...] = (0.30, 0.32, 0.11, 0.27)
    # Latent-risk shift for boys (CLA at 31 March are 55-56% male, #8) and for FSM (FSM-eligible:
    # CINO 43-48%, CPPO 62-65%, #48).
    male_risk: float = 0.10
    fsm_risk: float = 0.60
    # Children with no pupil reference on their social-care rows (unmatched PMR).
    cin_no_pmr_share: float = 0.05
    cla_no_pmr_share: float = 0.02
    # Share of CLA children who also appear in the CIN extract (CLA are counted within CIN).
    cla_in_cin_share: float = 0.85
    # CPP whose only record is an earlier referral in the same year, hidden by the
    # one-record-per-year CIN format (the guide's misclassification to a lower level).
    cpp_hidden_share: float = 0.06
    # CLA category of need at start of period, N1..N8: #10/#11 (N1 54–64%, N5 15–19%, N4 8–11%, N8 6–12%).
    cla_need: tuple[float, ...] = (0.565, 0.035, 0.04, 0.09, 0.16, 0.02, 0.003, 0.075)
    # Placement family at episode start by age band (<10, 10–15, 16+); #12–#14: foster 71–75%,
    # residential 9–11%, with parents 4.5–6%, adoption 3–5%, independent 3–4%.
    placement_families: tuple[str, ...] = codelists.group_names("cla_placement")  # columns of placement_by_age
    placement_by_age: tuple[tuple[float, ...], ...] = (
        (0.52, 0.16, 0.03, 0.07, 0.19, 0.00, 0.03),
        (0.64, 0.12, 0.14, 0.05, 0.00, 0.00, 0.05),
        (0.44, 0.06, 0.16, 0.03, 0.00, 0.28, 0.03),
    )
    # Periods of care: share that are short (days to weeks), median of the others (days), and
    # episode changes per year in care (#4-#6: starts and ceased ≈0.44 of the 31 March stock,
    # 1.4 children during the year per child at 31 March; #21-#22 durations of ceasers).
    cla_short_share: float = 0.19
    cla_long_median_days: float = 1050.0
    cla_moves_per_year: float = 0.80
    # Share of long periods with a need other than N1 that end within months: abuse/neglect cases
    # stay longer, so N1 is 55-58% of starters but 61-64% of children at 31 March (#10, #11).
    cla_non_n1_shorter: float = 0.32
    # Share of placement moves (from 2016) whose reason is recorded: CLA_REASON_PLACE_CHANGE is
    # ~2.5% complete over the whole extract (field guide).
    rpc_recorded_share: float = 0.30
    # Legal status at start of a period: V2 (s20) 59–63%, ICO 20–23%, police protection ~12% (#18);
    # within a period the status moves towards a care order (see `legal_progression`).
    start_legal: tuple[tuple[str, float], ...] = (
        ("V2", 0.62),
        ("C1", 0.22),
        ("C2", 0.01),
        ("L1", 0.10),
        ("L2", 0.02),
        ("J1", 0.01),
        ("V3", 0.01),
        ("J2", 0.01),
    )
    # At a new episode: probability the legal status changes, V2 -> C1, and (under 10) C2 -> E1
    # placement order; so care orders are ~60% and s20 ~28% of children at 31 March (#15-#17).
    legal_change: float = 0.80
    legal_v2_to_c1: float = 0.85
    legal_c2_to_e1_under10: float = 0.45
    # CIN primary need at assessment, N0..N9: #33 (N1 47–53%, N5 15–19%, N2 9–10%).
    cin_need: tuple[float, ...] = (0.04, 0.41, 0.12, 0.055, 0.085, 0.21, 0.035, 0.01, 0.025, 0.01)
    cin_need_n1_if_cpp: float = 0.30  # children on a plan or looked after: N1 more often
    # CIN spells: median days open after the anchoring 31 March (children in need at any point
    # ≈1.78 × those at 31 March, #25); share of looked-after children's CIN spells with a plan
    # (plans at 31 March ≈12.5% of children in need, #30).
    cin_days_after_march: float = 340.0
    cpp_days_after_march: float = 320.0
    cla_with_plan_share: float = 0.05
    # CPP initial category NEG/PHY/SAB/EMO/MUL: #32 (43–48 / 8–10 / 4–5 / 33–35 / 4–9 %).
    cpp_category: tuple[float, ...] = (0.455, 0.09, 0.045, 0.34, 0.07)
    # Referral NFA among referral-only spells: NFA 9–15% vs assessed-not-in-need 19–29% (#28).
    referral_only_nfa: float = 0.35
    # Outcomes by level (none, referral, CIN, CPP, CLA). Individual adjustments (disadvantage, FSM,
    # sex) are centred within each level, so each level's mean is the declared figure.
    # KS4 level-2 incl. E&M: all ~58%, CLA 11–15% (#41), CIN/CPP between.
    ks4_pass: tuple[float, ...] = (0.62, 0.42, 0.27, 0.24, 0.12)
    # Attainment 8 (from 2015/16) mean for pupils passing / not passing level 2 E&M: all pupils
    # 46–47, CINO/CPPO/CLA ≈19 (#42).
    att8_pass_mean: tuple[float, ...] = (60.0, 52.0, 40.0, 40.0, 40.0)
    att8_fail_mean: tuple[float, ...] = (36.0, 26.0, 12.0, 13.0, 15.0)
    # Unauthorised and authorised absence sessions over secondary school (mean of ~1,840 possible):
    # overall absence CINO 10.5–11.5%, CPPO 12.6–13.9%, CLA 4.7–5.1%, all 5.5% (#45).
    unauth_mean: tuple[float, ...] = (22.0, 45.0, 85.0, 130.0, 28.0)
    auth_mean: tuple[float, ...] = (68.0, 84.0, 117.0, 117.0, 62.0)
    # Fixed-period exclusions per pupil-year (mean count); #47 (≥1 FPE a year: all 2.3%, CIN 9–10%, CLA 10–13%).
    fpe_rate: tuple[float, ...] = (0.010, 0.033, 0.095, 0.120, 0.118)
    # Permanent exclusion per pupil-year; #46 (all 0.10%, CINO 0.6–0.75%, CPPO 0.9–1.1%, CLA 0.1%).
    perm_rate: tuple[float, ...] = (0.0004, 0.002, 0.0068, 0.0100, 0.0010)
    # Cautioned or convicted by the end of the PNC window (before first sanctions after it are cut):
    # whole cohort ~13.7% (#51), ever-CLA 52% vs 13% (#50).
    offend_any: tuple[float, ...] = (0.095, 0.17, 0.25, 0.30, 0.61)
    # Further sanctions (Poisson mean) after the first, by level; custody follows repeat sanctions
    # (custody by 24: CLA 15%, ever-CIN 7.8%, whole cohort 1.5%, #50-#52).
    more_sanctions: tuple[float, ...] = (0.7, 1.1, 1.5, 1.7, 2.6)
    custody_shift: tuple[float, ...] = (0.9, 1.0, 1.1, 1.2, 1.0)  # log-odds of custody per sanction, by level
    # Age at first sanction: 10 + gamma(shape, scale) years; ~37% before 18 (5% of a cohort
    # cautioned or sentenced as children vs ~14% by 24, #51, #53).
    first_sanction_age_gamma: tuple[float, float] = (4.0, 2.8)
    male_offending_ratio: float = 5.0  # #53: 78% of cautioned/sentenced children are male
    extra: dict = field(default_factory=dict)


DEFAULT = WorldParams()

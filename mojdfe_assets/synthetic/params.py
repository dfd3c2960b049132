"""Calibration of the synthetic world, in one place.

Each figure cites the item of `shared/reference/national-statistics.md` (section 8, "calibration
targets") it was tuned towards. The README lists them; `mojdfe_assets_tests/test_synthetic.py`
checks that a generated world reproduces the declared shares within tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..codelists import INTERVENTION_LEVELS as LEVELS  # noqa: E402  (the guide's ordered factor)

# Extract windows (collection years named by their end year).
CLA_YEARS = (2006, 2018)  # CLA_2006_to_2018: 2005/2006 .. 2017/2018
CIN_YEARS = (2009, 2017)  # CIN_08-09_to_16-17: 2008/2009 .. 2016/2017
KS4_YEARS = (2011, 2018)  # spine: KS4 cohorts 2010/2011 .. 2017/2018 (born Sep 1994 .. Aug 2002)
PNC_END = (2021, 12, 31)  # offending observed to the end of 2021 (Data First PNC extract 2000–2021)


@dataclass(frozen=True)
class WorldParams:
    # Share of spine pupils by highest level *within the extract windows*. Targets: ever looked
    # after 3–4% (#38), ever CPP 6.9% before 18 (#36, less in a partial window), pupils with a
    # social worker during schooling 14.7% (#39), ever referred 35.4% before 18 (#37).
    level_shares: tuple[float, ...] = (0.735, 0.095, 0.105, 0.035, 0.030)
    n_las: int = 150  # #54 (150 in 2008; 152 from 2010)
    # Children in CIN/CLA data who are not in the KS4 spine (younger/older cohorts, unmatched),
    # per spine child with involvement.
    non_spine_share: float = 0.12
    # Children with no pupil reference on their social-care rows (unmatched PMR).
    cin_no_pmr_share: float = 0.05
    cla_no_pmr_share: float = 0.02
    # Share of CLA children who also appear in the CIN extract (CLA are counted within CIN).
    cla_in_cin_share: float = 0.85
    # CPP whose only record is an earlier referral in the same year, hidden by the
    # one-record-per-year CIN format (the guide's misclassification to a lower level).
    cpp_hidden_share: float = 0.06
    # CLA category of need at start of period, N1..N8: #10/#11 (N1 54–64%, N5 15–19%, N4 8–11%, N8 6–12%).
    cla_need: tuple[float, ...] = (0.60, 0.035, 0.04, 0.09, 0.16, 0.02, 0.003, 0.052)
    # Placement family at episode start by age band (<10, 10–15, 16+); #12–#14: foster 71–75%,
    # residential 9–11%, with parents 4.5–6%, adoption 3–5%, independent 3–4%.
    placement_families: tuple[str, ...] = (
        "foster", "kinship", "residential", "with_parents", "adoption", "independent_living", "other")
    placement_by_age: tuple[tuple[float, ...], ...] = (
        (0.56, 0.17, 0.03, 0.08, 0.13, 0.00, 0.03),
        (0.64, 0.12, 0.14, 0.05, 0.00, 0.00, 0.05),
        (0.49, 0.07, 0.18, 0.04, 0.00, 0.18, 0.04),
    )
    # Legal status at start of a period: V2 (s20) 50–63% (#18), ICO 20–33% (upper end, so that care
    # orders reach ~55% of children looked after at 31 March, #15).
    start_legal: tuple[tuple[str, float], ...] = (
        ("V2", 0.50), ("C1", 0.36), ("C2", 0.05), ("L1", 0.02), ("L2", 0.02), ("J1", 0.02), ("V3", 0.01), ("J2", 0.02))
    # CIN primary need at assessment, N0..N9: #33 (N1 47–53%, N5 15–19%, N2 9–10%).
    cin_need: tuple[float, ...] = (0.04, 0.48, 0.095, 0.055, 0.085, 0.165, 0.035, 0.01, 0.025, 0.01)
    # CPP initial category NEG/PHY/SAB/EMO/MUL: #32 (43–48 / 8–10 / 4–5 / 33–35 / 4–9 %).
    cpp_category: tuple[float, ...] = (0.455, 0.09, 0.045, 0.34, 0.07)
    # Referral NFA among referral-only spells: NFA 9–15% vs assessed-not-in-need 19–29% (#28).
    referral_only_nfa: float = 0.35
    # Outcomes by level (none, referral, CIN, CPP, CLA), before individual adjustment.
    # KS4 level-2 incl. E&M: all ~58%, CLA 11–15% (#41), CIN/CPP between.
    ks4_pass: tuple[float, ...] = (0.62, 0.42, 0.27, 0.24, 0.15)
    # Unauthorised absence sessions over secondary school (mean): from #44/#45 absence gaps.
    unauth_mean: tuple[float, ...] = (22.0, 45.0, 70.0, 85.0, 28.0)
    # Fixed-period exclusions per pupil-year (mean count); #47 (≥1 FPE a year: all 2.3%, CIN 9–10%, CLA 10–13%).
    fpe_rate: tuple[float, ...] = (0.028, 0.07, 0.12, 0.15, 0.14)
    # Permanent exclusion per pupil-year; #46 (all 0.10%, CINO 0.6–0.75%, CPPO 0.9–1.1%, CLA 0.1%).
    perm_rate: tuple[float, ...] = (0.0009, 0.003, 0.0065, 0.010, 0.0012)
    # Cautioned or convicted by the end of the PNC window: whole cohort ~13.7% (#51), ever-CLA 52% vs 13% (#50).
    offend_any: tuple[float, ...] = (0.10, 0.19, 0.27, 0.33, 0.50)
    male_offending_ratio: float = 3.5  # #53: 78% of cautioned/sentenced children are male
    extra: dict = field(default_factory=dict)


DEFAULT = WorldParams()

"""Outcome derivations on tiny hand-made tables; expected values worked out by hand."""

from __future__ import annotations

import pandas as pd

from mojdfe_assets.outcomes import derive_contact_sequence, derive_pupil_outcomes

S = pd.StringDtype("pyarrow")


def frame(**cols):
    return pd.DataFrame({k: pd.array(v, dtype=S) if k in ("pupil_id", "moj_uid") else v for k, v in cols.items()})


def test_pupil_outcomes_and_contact_sequence():
    levels = frame(pupil_id=["A", "B", "C", "D"], moj_uid=["MA", "MB", "MC", None],
                   level=pd.Categorical(["looked_after", "none", "child_in_need", "none"],
                                        categories=["none", "referral_only", "child_in_need", "child_protection_plan",
                                                    "looked_after"], ordered=True),
                   sex=["F", "M", "M", "F"], fsm=pd.array([True, False, True, None], dtype="boolean"),
                   ks4_year=["2015/2016"] * 4, la=["201"] * 4)
    ks4 = frame(pupil_id=["A", "B"], academic_year_end=[2016, 2016],
                ks4_level2_em=pd.array([False, True], dtype="boolean"), ks4_att8=pd.array([20.5, None], dtype="Float64"))
    absence = frame(pupil_id=["A", "C"], ab_sessions_unauthorised=pd.array([30, 5], dtype="Int64"),
                    ab_sessions_possible=pd.array([1900, 1880], dtype="Int64"))
    exclusions = frame(pupil_id=["A", "A", "C"], exc_category=pd.Categorical(["FIXD", "FIXD", "PERM"]),
                       exc_sessions=pd.array([3, 4, None], dtype="Int64"))
    offending = frame(moj_uid=["MA", "MA", "MA", "MC"],
                      pnc_disposal=pd.Categorical(["YOUTH_CAUTION", "FINE", "DETENTION_TRAINING_ORDER", "YOUTH_CAUTION"]),
                      pnc_disposal_date=pd.to_datetime(["2014-05-01", "2015-01-10", "2016-03-03", "2012-06-01"]))
    out = derive_pupil_outcomes(levels, ks4, absence, exclusions, offending).set_index("pupil_id")
    a, b, c, d = (out.loc[p] for p in "ABCD")
    assert (a["gcse_level2_em"], a["attainment8"], a["unauthorised_sessions"]) == (False, 20.5, 30)
    assert (a["fixed_period_exclusions"], a["fixed_period_sessions"], a["permanent_exclusion"]) == (2, 7, False)
    assert (a["cautions"], a["convictions"], a["conviction_group"], a["most_severe_disposal"]) == \
        (1, 2, "two_or_more", "custodial")
    assert a["first_cj_contact_date"] == pd.Timestamp("2014-05-01")
    assert pd.isna(b["unauthorised_sessions"]) and b["fixed_period_exclusions"] == 0  # no row: missing vs none
    assert (b["convictions"], b["conviction_group"], b["most_severe_disposal"]) == (0, "none", "none")
    assert c["permanent_exclusion"] and pd.isna(c["gcse_level2_em"])
    assert (c["convictions"], c["most_severe_disposal"]) == (0, "caution")
    assert pd.isna(d["convictions"]) and pd.isna(d["most_severe_disposal"])  # no moj_uid: cannot link PNC

    cla_summary = frame(pupil_id=["A"], first_care_date=pd.to_datetime(["2010-07-01"]))
    cin_summary = frame(pupil_id=["A", "C"], first_cin_year=pd.array([2012, 2013], dtype="Int16"))
    seq = derive_contact_sequence(out.reset_index(), cla_summary, cin_summary).set_index("pupil_id")
    # A: CLA from 1 Jul 2010 (before CIN 2011/12), first caution 1 May 2014: 1400 days later.
    assert seq.loc["A", "first_social_care_date"] == pd.Timestamp("2010-07-01")
    assert (seq.loc["A", "gap_days"], seq.loc["A", "gap_group"]) == (1400, "sc_first_1y_plus")
    # C: CIN first in 2012/13 (dated 1 Apr 2012), caution 1 Jun 2012: 61 days after.
    assert (seq.loc["C", "gap_days"], seq.loc["C", "gap_group"]) == (61, "sc_first_under_1y")
    assert set(seq.index) == {"A", "C"}  # B and D have no social-care contact

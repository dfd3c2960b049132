"""Outcome derivations on tiny hand-made tables; expected values worked out by hand."""

from __future__ import annotations

import pandas as pd

from mojdfe_assets.outcomes import derive_contact_sequence, derive_pupil_outcomes

S = pd.StringDtype("pyarrow")


def frame(**cols):
    return pd.DataFrame({k: pd.array(v, dtype=S) if k in ("pupil_id", "moj_uid") else v for k, v in cols.items()})


def test_pupil_outcomes_and_contact_sequence():
    levels = frame(
        pupil_id=["A", "B", "C", "D"],
        moj_uid=["MA", "MB", "MC", None],
        level=pd.Categorical(
            ["looked_after", "none", "child_in_need", "none"],
            categories=["none", "referral_only", "child_in_need", "child_protection_plan", "looked_after"],
            ordered=True,
        ),
        sex=["F", "M", "M", "F"],
        fsm=pd.array([True, False, True, None], dtype="boolean"),
        ks4_year=["2015/2016"] * 4,
        la=["201"] * 4,
    )
    ks4 = frame(
        pupil_id=["A", "B"],
        academic_year_end=[2016, 2016],
        ks4_level2_em=pd.array([False, True], dtype="boolean"),
        ks4_att8=pd.array([20.5, None], dtype="Float64"),
    )
    absence = frame(
        pupil_id=["A", "C"],
        ab_sessions_unauthorised=pd.array([30, 5], dtype="Int64"),
        ab_sessions_possible=pd.array([1900, 1880], dtype="Int64"),
    )
    exclusions = frame(
        pupil_id=["A", "A", "C"],
        exc_category=pd.Categorical(["FIXD", "FIXD", "PERM"]),
        exc_sessions=pd.array([3, 4, None], dtype="Int64"),
    )
    offending = frame(
        moj_uid=["MA", "MA", "MA", "MC"],
        pnc_disposal=pd.Categorical(["YOUTH_CAUTION", "FINE", "DETENTION_TRAINING_ORDER", "YOUTH_CAUTION"]),
        pnc_disposal_date=pd.to_datetime(["2014-05-01", "2015-01-10", "2016-03-03", "2012-06-01"]),
    )
    out = derive_pupil_outcomes(levels, ks4, absence, exclusions, offending).set_index("pupil_id")
    a, b, c, d = (out.loc[p] for p in "ABCD")
    assert (a["gcse_level2_em"], a["attainment8"], a["unauthorised_sessions"]) == (False, 20.5, 30)
    assert (a["fixed_period_exclusions"], a["fixed_period_sessions"], a["permanent_exclusion"]) == (2, 7, False)
    assert (a["cautions"], a["convictions"], a["conviction_group"], a["most_severe_disposal"]) == (
        1,
        2,
        "two_or_more",
        "custodial",
    )
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


LEVELS = ["none", "referral_only", "child_in_need", "child_protection_plan", "looked_after"]


def spine_levels(pupils, mojs):
    n = len(pupils)
    return frame(
        pupil_id=pupils,
        moj_uid=mojs,
        level=pd.Categorical(["none"] * n, categories=LEVELS, ordered=True),
        sex=["F"] * n,
        fsm=pd.array([False] * n, dtype="boolean"),
        ks4_year=["2015/2016"] * n,
        la=["201"] * n,
    )


def no_rows(**cols):
    return frame(**{k: [] for k in cols}).astype(cols)


def test_item5_a_shared_or_conflicting_moj_uid_never_links_offending():
    # A and B share MA in the spine; C carries MC in the spine but MX in CIN; D is linked; E has
    # none; F's MoJUID is shared with a CIN child who is not in the spine.
    levels = spine_levels(["A", "B", "C", "D", "E", "F"], ["MA", "MA", "MC", "MD", None, "MF"])
    cin = frame(pupil_id=["C", "OUT", "D"], moj_uid=["MX", "MF", "MD"])
    offending = frame(
        moj_uid=["MA", "MC", "MX", "MD", "MF"],
        pnc_disposal=pd.Categorical(["FINE"] * 5),
        pnc_disposal_date=pd.to_datetime(["2016-01-01"] * 5),
    )
    ks4 = no_rows(pupil_id="string[pyarrow]", academic_year_end="Int16", ks4_level2_em="boolean", ks4_att8="Float64")
    absence = no_rows(pupil_id="string[pyarrow]", ab_sessions_unauthorised="Int64", ab_sessions_possible="Int64")
    exclusions = no_rows(pupil_id="string[pyarrow]", exc_category="category", exc_sessions="Int64")
    stats: dict = {}
    out = derive_pupil_outcomes(levels, ks4, absence, exclusions, offending, stats, others=[cin]).set_index("pupil_id")
    assert out["moj_link"].astype(str).to_dict() == {
        "A": "shared_moj_uid",
        "B": "shared_moj_uid",
        "C": "conflicting_moj_uids",
        "D": "linked",
        "E": "no_moj_uid",
        "F": "shared_moj_uid",
    }
    assert out["convictions"].astype(object).where(out["convictions"].notna(), None).to_dict() == {
        "A": None,
        "B": None,
        "C": None,
        "D": 1,
        "E": None,
        "F": None,
    }  # B never inherits A's conviction
    assert out["first_cj_contact_date"].notna().sum() == 1 and out["most_severe_disposal"].notna().sum() == 1
    assert stats["moj_link"] == {"linked": 1, "no_moj_uid": 1, "shared_moj_uid": 3, "conflicting_moj_uids": 1}
    assert stats["pnc_rows_of_moj_uids_left_unlinked"] == 3  # MA, MC, MF (MX is nobody's in the spine)


def test_item4_moj_uid_na_is_no_moj_uid():
    from mojdfe_assets.rules import normalise_identifier

    levels = spine_levels(["A", "B"], ["MA", "MB"])
    levels["moj_uid"] = normalise_identifier(pd.Series(["NA", "."], dtype="string[pyarrow]"))
    ks4 = no_rows(pupil_id="string[pyarrow]", academic_year_end="Int16", ks4_level2_em="boolean", ks4_att8="Float64")
    absence = no_rows(pupil_id="string[pyarrow]", ab_sessions_unauthorised="Int64", ab_sessions_possible="Int64")
    exclusions = no_rows(pupil_id="string[pyarrow]", exc_category="category", exc_sessions="Int64")
    offending = frame(
        moj_uid=["NA"], pnc_disposal=pd.Categorical(["FINE"]), pnc_disposal_date=pd.to_datetime(["2016-01-01"])
    )
    out = derive_pupil_outcomes(levels, ks4, absence, exclusions, offending)
    assert out["moj_link"].astype(str).tolist() == ["no_moj_uid", "no_moj_uid"]
    assert out["cautions"].isna().all()  # not "linked with 0 cautions"


def test_item8_several_absence_rows_are_summed_and_counted():
    levels = spine_levels(["A", "B"], ["MA", "MB"])
    ks4 = no_rows(pupil_id="string[pyarrow]", academic_year_end="Int16", ks4_level2_em="boolean", ks4_att8="Float64")
    absence = frame(
        pupil_id=["A", "A", "B"],
        ab_sessions_unauthorised=pd.array([10, 5, 3], dtype="Int64"),
        ab_sessions_possible=pd.array([900, 950, 1900], dtype="Int64"),
    )
    exclusions = no_rows(pupil_id="string[pyarrow]", exc_category="category", exc_sessions="Int64")
    offending = no_rows(moj_uid="string[pyarrow]", pnc_disposal="category", pnc_disposal_date="datetime64[ns]")
    stats: dict = {}
    out = derive_pupil_outcomes(levels, ks4, absence, exclusions, offending, stats).set_index("pupil_id")
    assert (out.loc["A", "unauthorised_sessions"], out.loc["A", "sessions_possible"]) == (15, 1850)
    assert stats["pupils_with_several_absence_rows"] == 1


def test_a_pupil_with_several_ks4_rows_has_its_latest():
    levels = spine_levels(["A", "B", "C"], ["MA", "MB", "MC"])
    empty = dict(
        exclusions=no_rows(pupil_id="string[pyarrow]", exc_category="category", exc_sessions="Int64"),
        offending=no_rows(moj_uid="string[pyarrow]", pnc_disposal="category", pnc_disposal_date="datetime64[ns]"),
        absence=no_rows(pupil_id="string[pyarrow]", ab_sessions_unauthorised="Int64", ab_sessions_possible="Int64"),
    )
    ks4 = frame(
        pupil_id=["A", "B", "A"],
        academic_year_end=pd.array([2017, 2016, 2016], dtype="Int16"),
        ks4_level2_em=pd.array([True, False, False], dtype="boolean"),
        ks4_att8=pd.array([50.0, 31.5, 12.0], dtype="Float64"),
    )
    out = derive_pupil_outcomes(levels, ks4, **empty).set_index("pupil_id")
    assert (out.loc["A", "gcse_level2_em"], out.loc["A", "attainment8"]) == (True, 50.0)  # 2017, not 2016
    assert (out.loc["B", "gcse_level2_em"], out.loc["B", "attainment8"]) == (False, 31.5)
    assert pd.isna(out.loc["C", "gcse_level2_em"]) and pd.isna(out.loc["C", "attainment8"])
    # one row each: every row is its pupil's latest, whatever the order
    one_each = derive_pupil_outcomes(levels, ks4.iloc[[2, 1]], **empty).set_index("pupil_id")
    assert (one_each.loc["A", "attainment8"], one_each.loc["B", "attainment8"]) == (12.0, 31.5)

"""Comparison with England's published statistics: the figures file, and every kind of measure on
a small hand-made world whose expected figures are worked out by hand in the comments."""

from __future__ import annotations

import pandas as pd
import pytest

from mojdfe_assets import national as N
from mojdfe_assets.checks import failure_counts
from mojdfe_assets.codelists import INTERVENTION_LEVELS
from mojdfe_assets.schemas import IDENTIFIER_COLUMNS, NationalComparison

S = pd.StringDtype("pyarrow")


def _dates(values):
    return pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ms]")


def _codes(values):
    return pd.Series(values, dtype=object).astype("category")


def _cla() -> pd.DataFrame:
    # pupil, year, at31, poc_start, commenced, ceased, rec, need, legal, placement, LA, 12 months, moj
    rows = [
        ("p1", 2012, True, "2010-05-01", "2010-05-01", None, None, "N1", "C1", "U4", "201", True, "m1"),
        ("p3", 2012, True, "2008-01-10", "2011-01-01", None, None, "N1", "E1", "A4", "202", True, "m3"),
        ("p1", 2013, True, "2010-05-01", "2012-06-01", None, None, "N1", "C2", "U4", "201", True, "m1"),
        ("p2", 2013, True, "2012-09-01", "2012-09-01", None, None, "N5", "V2", "U6", "201", False, "m2"),
        ("p3", 2013, True, "2008-01-10", "2011-01-01", None, None, "N1", "E1", "A4", "202", True, "m3"),
        ("p4", 2013, True, "2011-03-01", "2012-04-02", None, None, "N1", "C2", "K2", "202", True, "m4"),
        ("p5", 2013, False, "2012-12-01", "2012-12-01", "2013-01-10", "E4A", "N4", "C1", "U6", "201", False, None),
        ("p6", 2013, False, "2010-04-01", "2011-05-01", "2012-10-01", "E11", "N1", "E1", "A5", "202", False, None),
        ("p7", 2013, False, "2011-06-01", "2012-07-01", "2013-02-01", "X1", "N1", "C2", "U4", "202", False, None),
        (None, 2013, True, "2012-05-05", "2012-05-05", None, None, "N2", "V2", "P1", "203", False, None),
    ]
    c = list(zip(*rows))
    return pd.DataFrame(
        {
            "pupil_id": pd.Series(c[0], dtype=S),
            "moj_uid": pd.Series(c[12], dtype=S),
            "academic_year_end": pd.Series(c[1], dtype="Int16"),
            "cla_cla_31_march": pd.Series(c[2], dtype="boolean"),
            "cla_poc_start": _dates(c[3]),
            "cla_date_epi_comm": _dates(c[4]),
            "cla_date_epi_ceased": _dates(c[5]),
            "cla_rec": _codes(c[6]),
            "cla_cat_need": _codes(c[7]),
            "cla_legal_status": _codes(c[8]),
            "cla_placement": _codes(c[9]),
            "cla_cla_la": pd.Series(c[10], dtype=S),
            "cla_cla_12_months": pd.Series(c[11], dtype="boolean"),
        }
    )


def _cin() -> pd.DataFrame:
    # pupil, at31, category (old), initial, latest, primary need; all 2013
    rows = [
        ("p1", True, None, "NEG", None, "N1"),
        ("p2", True, "EMO", None, None, "N1"),
        ("p3", True, None, None, None, "N5"),
        ("p8", True, None, None, None, "N2"),
        ("p9", False, None, None, None, "N0"),
        ("p11", None, None, None, None, "N1"),
        (None, True, None, None, "PHY", "N1"),
        ("p10", True, None, None, None, "N4"),
    ]
    c = list(zip(*rows))
    return pd.DataFrame(
        {
            "pupil_id": pd.Series(c[0], dtype=S),
            "academic_year_end": pd.Series([2013] * len(rows), dtype="Int16"),
            "cin_cin_at31march": pd.Series(c[1], dtype="boolean"),
            "cin_category_of_abuse": _codes(c[2]),
            "cin_initial_category_of_abuse": _codes(c[3]),
            "cin_latest_category_of_abuse": _codes(c[4]),
            "cin_primary_need_code": _codes(c[5]),
        }
    )


# pupil, KS4 cohort, level, sex, FSM, level 2 E&M, Attainment 8, most severe disposal, first CJ date, birth, LA
PUPILS = [
    ("p1", 2017, "looked_after", "M", True, False, 20.0, "custodial", "2014-05-01", (2000, 6), "201"),
    ("p2", 2017, "looked_after", "F", True, True, 30.0, "none", None, (2001, 1), "201"),
    ("p3", 2011, "looked_after", "M", False, True, None, "caution", "2010-03-01", (1994, 2), "202"),
    ("p4", 2014, "looked_after", "F", True, None, None, "non_custodial", "2013-05-01", (1998, 9), "202"),
    ("p8", 2017, "child_in_need", "F", True, False, 25.0, "none", None, (2001, 3), "202"),
    ("p9", 2017, "referral_only", "M", False, True, 50.0, "caution", "2016-01-01", (2001, 5), "203"),
    ("p10", 2017, "child_protection_plan", "M", True, False, 15.0, None, None, (2001, 7), "203"),
    ("p11", 2017, "none", "F", False, True, 60.0, "none", None, (2001, 2), "201"),
    ("p12", 2017, "none", "M", False, False, 40.0, "custodial", "2019-06-01", (2001, 4), "204"),
    ("p13", 2017, "none", "F", None, None, None, "none", None, (2001, 9), "204"),
]


def _outcomes() -> pd.DataFrame:
    c = list(zip(*PUPILS))
    return pd.DataFrame(
        {
            "pupil_id": pd.Series(c[0], dtype=S),
            "level": pd.Categorical(c[2], categories=list(INTERVENTION_LEVELS), ordered=True),
            "sex": pd.Series(c[3], dtype=S),
            "fsm": pd.Series(c[4], dtype="boolean"),
            "ks4_year": pd.Series([f"{y - 1}/{y}" for y in c[1]], dtype=S),
            "la": pd.Series(c[10], dtype=S),
            "gcse_level2_em": pd.Series(c[5], dtype="boolean"),
            "attainment8": pd.Series(c[6], dtype="Float64"),
            "most_severe_disposal": pd.Categorical(
                c[7], categories=["none", "caution", "non_custodial", "custodial"], ordered=True
            ),
            "first_cj_contact_date": _dates(c[8]),
        }
    )


def _spine() -> pd.DataFrame:
    c = list(zip(*PUPILS))
    return pd.DataFrame(
        {
            "pupil_id": pd.Series(c[0], dtype=S),
            "ks4_la": pd.Series(c[10], dtype=S),
            "ks4_gender": pd.Series(c[3], dtype=S),
            "ks4_year_of_birth": pd.Series([b[0] for b in c[9]], dtype="Int64"),
            "ks4_month_of_birth": pd.Series([b[1] for b in c[9]], dtype="Int64"),
        }
    )


def _absence() -> pd.DataFrame:
    rows = [("p1", 1000, 20, 30), ("p2", 1000, 50, 50), ("p11", 2000, 0, 40), ("p12", 1000, None, 10)]
    c = list(zip(*rows))
    return pd.DataFrame(
        {
            "pupil_id": pd.Series(c[0], dtype=S),
            "academic_year": pd.Series(["2016/2017"] * 4, dtype=S),
            "ab_sessions_possible": pd.Series(c[1], dtype="Int64"),
            "ab_sessions_unauthorised": pd.Series(c[2], dtype="Int64"),
            "ab_sessions_authorised": pd.Series(c[3], dtype="Int64"),
        }
    )


def _exclusions() -> pd.DataFrame:
    rows = [
        ("p1", 2016, "FIXD"),
        ("p1", 2016, "FIXD"),
        ("p2", 2015, "FIXD"),
        ("p11", 2016, "PERM"),
        ("p3", 2016, "FIXD"),
        ("p12", 2016, "FIXD"),
    ]
    c = list(zip(*rows))
    return pd.DataFrame(
        {
            "pupil_id": pd.Series(c[0], dtype=S),
            "academic_year_end": pd.Series(c[1], dtype="Int16"),
            "exc_category": _codes(c[2]),
        }
    )


def _offending() -> pd.DataFrame:
    return pd.DataFrame(
        {"moj_uid": pd.Series(["m1", "m4"], dtype=S), "pnc_disposal_date": _dates(["2012-11-05", "2013-05-01"])}
    )


def _la() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "la_code": pd.Series(["201", "202", "203", "204"], dtype=S),
            "child_population_0_17": pd.Series([1000, 2000, 500, 1000], dtype="Int64"),
            "idaci_average_score": pd.Series([0.1, 0.2, 0.3, 0.05], dtype="Float64"),
        }
    )


@pytest.fixture
def world() -> N.ComparisonTables:
    return N.ComparisonTables(
        cla=_cla(),
        cin=_cin(),
        outcomes=_outcomes(),
        spine=_spine(),
        absence=_absence(),
        exclusions=_exclusions(),
        offending=_offending(),
        la_context=_la(),
        count_scale=2.0,
    )


def v(x, measure, yf=2013, yt=None):
    value, _ = N.compute(x, measure, yf, yt or yf)
    return value


def test_published_figures_load_with_source_and_tolerance():
    pub = N.load_published()
    assert len(pub) >= 59
    assert pub["figure_id"].is_unique
    assert pub["source"].str.contains("http").all()
    assert pub["comparability"].str.len().gt(20).all()
    assert pub["tolerance"].notna().all() and (pub["tolerance"] >= 0).all()
    assert set(pub["tolerance_type"]) <= {"absolute", "relative"}
    assert (pub["year_from"] <= pub["year_to"]).all()
    assert pub["value"].notna().all()
    assert {m.partition(":")[0] for m in pub["measure"]} <= set(N.MEASURES)
    # counts are scaled explicitly and say so
    counts = pub[pub["unit"].isin(["children", "child-years"])]
    assert len(counts) >= 5 and counts["comparability"].str.contains("count_scale").all()


def test_cla_figures(world):
    # 2013: 10 rows, 7 of them... rows p1,p2,p3,p4,p5,p6,p7,anon = 8; on 31 March p1,p2,p3,p4,anon = 5
    assert v(world, "cla_at_31_march") == 5 * 2.0  # count_scale 2
    assert N.compute(world, "cla_at_31_march", 2012, 2013) == (7 / 2 * 2.0, 7)
    assert v(world, "cla_growth", 2012, 2013) == pytest.approx(150.0)  # 2 -> 5
    assert v(world, "cla_starts_ratio") == pytest.approx(3 / 5)  # periods began 2012/13: p2, p5, anon
    assert v(world, "cla_ceased_ratio") == pytest.approx(2 / 5)  # p5 (E4A), p6 (E11); p7 is X1
    assert v(world, "cla_during_ratio") == pytest.approx(8 / 5)
    assert v(world, "cla_child_years", 2012, 2013) == 10 * 2.0
    assert v(world, "cla_male_share") == pytest.approx(50.0)  # spine: p1 M, p2 F, p3 M, p4 F
    assert v(world, "cla_need_31_march:N1") == pytest.approx(60.0)  # N1, N5, N1, N1, N2
    assert v(world, "cla_need_starters:N5") == pytest.approx(100 / 3)  # N5, N4, N2
    assert v(world, "cla_placement_31_march:foster") == pytest.approx(40.0)  # U4, U6 of U4 U6 A4 K2 P1
    assert v(world, "cla_placement_31_march:secure_homes_hostels") == pytest.approx(20.0)
    assert v(world, "cla_placement_31_march:adoption") == pytest.approx(20.0)
    assert v(world, "cla_placement_31_march:with_parents") == pytest.approx(20.0)
    assert v(world, "cla_placement_31_march:independent_living") == 0.0
    assert v(world, "cla_legal_31_march:care_order") == pytest.approx(40.0)  # C2 V2 E1 C2 V2
    assert v(world, "cla_legal_31_march:placement_order") == pytest.approx(20.0)
    assert v(world, "cla_legal_31_march:section_20") == pytest.approx(40.0)
    assert v(world, "cla_legal_start:V2") == pytest.approx(200 / 3)  # first episodes: p2 V2, p5 C1, anon V2
    assert v(world, "cla_legal_start:C1") == pytest.approx(100 / 3)
    assert v(world, "cla_ceased_reason:returned_home") == pytest.approx(50.0)
    assert v(world, "cla_ceased_reason:adopted") == pytest.approx(50.0)
    assert v(world, "cla_ceased_duration_mean") == pytest.approx((40 + 914) / 2)  # p5 40 days, p6 914 days
    assert v(world, "cla_ceased_duration_under:365") == pytest.approx(50.0)
    assert v(world, "la_count") == 3.0
    # CLA 12 months, aged 10-17 on 31 March 2013, linked: p1 (12) and p4 (14); p3 is 19.
    # p1's disposal (Nov 2012) is in 2012/13, p4's (May 2013) is not.
    assert N.compute(world, "cla_offending_in_year", 2013, 2013) == (50.0, 2)


def test_cin_figures(world):
    # on 31 March: p1, p2, p3, p8, anon, p10 = 6 of 8 rows (p9 not, p11 missing = not)
    assert v(world, "cin_at_31_march") == 6 * 2.0
    assert v(world, "cin_during_ratio") == pytest.approx(8 / 6)
    assert v(world, "cpp_at_31_march") == 3 * 2.0  # a category of abuse: NEG (initial), EMO (old), PHY (latest)
    assert v(world, "cpp_per_cin") == pytest.approx(50.0)
    assert v(world, "cpp_category:NEG") == pytest.approx(100 / 3)
    assert v(world, "cpp_category:EMO") == pytest.approx(100 / 3)
    assert v(world, "cpp_category:SAB") == 0.0
    assert v(world, "cin_need:N1") == pytest.approx(50.0)  # N1 N1 N5 N2 N1 N4
    assert v(world, "cin_need:N2") == pytest.approx(100 / 6)
    assert v(world, "cla_per_cin") == pytest.approx(100 * 5 / 6)


def test_cohort_and_outcome_figures(world):
    assert v(world, "spine_level_at_least:looked_after", 2011, 2018) == pytest.approx(40.0)
    assert v(world, "spine_level_at_least:child_protection_plan", 2011, 2018) == pytest.approx(50.0)
    assert v(world, "spine_level_at_least:child_in_need", 2011, 2018) == pytest.approx(60.0)
    assert v(world, "spine_level_at_least:referral_only", 2011, 2018) == pytest.approx(70.0)
    assert v(world, "spine_level_at_least:child_in_need", 2017) == pytest.approx(50.0)  # p1 p2 p8 p10 of 8
    assert v(world, "ks4_l2em:looked_after", 2011, 2017) == pytest.approx(200 / 3)  # F, T, T (p4 no result)
    assert v(world, "att8:all", 2017) == pytest.approx(240 / 7)
    assert v(world, "att8:looked_after", 2017) == pytest.approx(25.0)
    assert v(world, "fsm:child_in_need", 2011, 2018) == 100.0
    assert v(world, "absence_rate:looked_after", 2017) == pytest.approx(100 * 150 / 2000)
    assert v(world, "absence_rate:all", 2017) == pytest.approx(100 * 200 / 5000)  # 50 + 100 + 40 + 10
    # 2015/16: in secondary school only the 2017 cohort (8 pupils; 2 looked after). Fixed-period:
    # p1 (twice, one pupil-year), p12; p3 (cohort 2011) had left school; p2's is in 2014/15.
    assert N.compute(world, "fixed_exclusion:all", 2016, 2016) == (25.0, 8)
    assert N.compute(world, "fixed_exclusion:looked_after", 2016, 2016) == (50.0, 2)
    assert v(world, "perm_exclusion:all", 2016) == pytest.approx(12.5)
    # Offending, cohorts 2011-2017, pupils with a linked record (p10 has none): 9.
    assert v(world, "offending_any:looked_after", 2011, 2017) == pytest.approx(75.0)
    assert v(world, "offending_any:not_looked_after", 2011, 2017) == pytest.approx(40.0)
    assert v(world, "custody:all", 2011, 2017) == pytest.approx(200 / 9)
    assert v(world, "noncustodial_or_caution:all", 2011, 2017) == pytest.approx(300 / 9)
    assert v(world, "custody_share_level:looked_after", 2011, 2017) == pytest.approx(50.0)
    # before 18: p1 (13), p3 (16), p4 (14), p9 (14); p12 was 18
    assert v(world, "youth_sanction_share", 2011, 2017) == pytest.approx(400 / 9)
    assert v(world, "youth_sanction_male", 2011, 2017) == pytest.approx(75.0)


def test_la_figures(world):
    # CLA on 31 March 2013 by LA: 201: 2, 202: 2, 203: 1 (x scale 2) per 1000 / 2000 / 500 / 1000 children
    # -> 40, 20, 40, 0 per 10,000; median 30; p10 = 0 + 0.3 x 20 = 6; p90 = 40.
    assert v(world, "la_cla_rate:0.5") == pytest.approx(30.0)
    assert v(world, "la_cla_rate_ratio:0.1") == pytest.approx(6 / 30)
    assert v(world, "la_cla_rate_ratio:0.9") == pytest.approx(40 / 30)
    # CIN on 31 March by spine LA: 201: p1 p2, 202: p3 p8, 203: p10 -> 20, 10, 20, 0 per 10,000
    assert v(world, "la_cin_rate_ratio:0.1") == pytest.approx(3 / 15)
    assert v(world, "la_cin_rate_ratio:0.9") == pytest.approx(20 / 15)
    assert v(world, "idaci:min") == 0.05 and v(world, "idaci:median") == pytest.approx(0.15)
    assert v(world, "idaci:max") == 0.3


def test_compare_sets_bands_flags_and_status(world):
    pub = pd.DataFrame(
        [
            dict(
                figure_id="a",
                target="4",
                figure="starts",
                measure="cla_starts_ratio",
                year="2013",
                year_from=2013,
                year_to=2013,
                value=0.5,
                tolerance=0.05,
                tolerance_type="absolute",
                unit="ratio",
                source="s http://x",
                comparability="c",
            ),
            dict(
                figure_id="b",
                target="1",
                figure="stock",
                measure="cla_at_31_march",
                year="2013",
                year_from=2013,
                year_to=2013,
                value=9.0,
                tolerance=0.2,
                tolerance_type="relative",
                unit="children",
                source="s http://x",
                comparability="c",
            ),
            dict(
                figure_id="c",
                target="54",
                figure="LAs",
                measure="la_count",
                year="2013",
                year_from=2013,
                year_to=2013,
                value=3,
                tolerance=0,
                tolerance_type="absolute",
                unit="LAs",
                source="s http://x",
                comparability="c",
            ),
            dict(
                figure_id="d",
                target="3",
                figure="growth",
                measure="cla_growth",
                year="2009-2013",
                year_from=2009,
                year_to=2013,
                value=10,
                tolerance=5,
                tolerance_type="absolute",
                unit="%",
                source="s http://x",
                comparability="c",
            ),
        ]
    )
    t = N.compare(world, pub)
    assert failure_counts(NationalComparison, t) == {}
    assert t["status"].astype(str).tolist() == ["outside", "within", "within", "not_computable"]
    assert t["within_tolerance"].tolist()[:3] == [False, True, True] and t["within_tolerance"].isna().iloc[3]
    assert t.loc[0, "extract_value"] == pytest.approx(0.6) and t.loc[0, "difference"] == pytest.approx(0.1)
    assert (t.loc[1, "low"], t.loc[1, "high"]) == pytest.approx((7.2, 10.8))  # 9 +- 20%
    assert t.loc[1, "extract_value"] == 10.0 and t.loc[1, "base"] == 5
    assert pd.isna(t.loc[3, "extract_value"]) and t.loc[3, "base"] == 0
    s = N.summary(t)
    assert (s["compared"], s["within_tolerance"], s["outside"], s["not_computable"]) == (3, 2, ["a"], ["d"])
    assert not set(t.columns) & IDENTIFIER_COLUMNS
    png = N.draw(t)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_published_figure_computes_on_the_hand_made_world(world):
    t = N.compare(world)
    assert failure_counts(NationalComparison, t) == {}
    assert len(t) == len(N.load_published())
    assert (t["status"] != "not_computable").sum() >= 40

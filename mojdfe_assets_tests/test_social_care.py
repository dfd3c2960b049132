"""Social-care derivations on tiny hand-written extracts; expected values worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from mojdfe_assets import extracts as X
from mojdfe_assets import social_care as S
from mojdfe_assets.reading import conform_header, read_text
from mojdfe_assets.rules import clean_table


def table(tmp_path, extract, rows):
    p = tmp_path / extract.file
    p.write_text(",".join(extract.columns) + "\n" + "\n".join(rows) + "\n")
    return conform_header(read_text(p, extract), extract, extract.file)[0]


def cla(pid, year, comm, ceased="", place="U4", legal="C2", need="N1", rec="", moj=None):
    at31 = "0" if ceased else "1"
    return ",".join(
        [
            moj if moj is not None else f"M{pid}",
            year,
            pid,
            "201",
            year[-4:],
            comm,
            "1",
            need,
            comm,
            ceased,
            legal,
            place,
            rec,
            at31,
            "0",
            "0",
            "0",
            "1",
            "",
        ]
    )


def cin(pid, year, at31, nfa="0", cat="", init="", prev="", need="N1"):
    return ",".join([f"M{pid}", year, pid, at31, cat, init, "", prev, need, nfa, "", "10", ""])


@pytest.fixture()
def world(tmp_path):
    cla_rows = [
        # A: one episode delivered twice (open at 31 March 2011, ceased 1 Dec 2011) ...
        cla("A", "2010/2011", "01/09/2010", place="K2", legal="C1"),
        cla("A", "2011/2012", "01/09/2010", "01/12/2011", place="K2", legal="C1", rec="E4A"),
        # ... then a second period still open when the data end (censored at 31 March 2014).
        cla("A", "2013/2014", "10/10/2013", place="U6", legal="C2", need="N4"),
        # B (not in the spine): two overlapping records in one year, same placement.
        cla("B", "2012/2013", "01/04/2012", "30/06/2012", rec="X1"),
        cla("B", "2012/2013", "01/06/2012", "31/08/2012", rec="E13"),
        # No pupil reference; its MoJUID is Z's.
        cla("", "2012/2013", "01/05/2012", "01/07/2012", rec="E13", moj="MZ"),
    ]
    cin_rows = [
        cin("P1", "2009/2010", "0", nfa="1"),
        cin("P1", "2010/2011", "1"),
        cin("P1", "2011/2012", "1", need="N5"),
        cin("P1", "2012/2013", "0", need=""),
        cin("P2", "2009/2010", "0", nfa="1"),
        cin("P3", "2013/2014", "0"),
        cin("P4", "2014/2015", "1", init="NEG", prev="0"),
        cin("P4", "2015/2016", "1"),
        cin("P5", "2010/2011", "1", prev="1"),
        cin("P6", "2011/2012", "1", cat="PHY", prev="2"),
        cin("A", "2012/2013", "1", init="EMO", prev="0"),
    ]
    spine_rows = [f"M{p},{p},2015/2016,201,F,2000,1,0" for p in ("P1", "P2", "P3", "P4", "P5", "P6", "A", "Z")]
    c = clean_table(table(tmp_path, X.CLA, cla_rows), X.CLA).clean
    n = clean_table(table(tmp_path, X.CIN, cin_rows), X.CIN).clean
    s = clean_table(table(tmp_path, X.SPINE, spine_rows), X.SPINE).clean
    return c, n, s


def test_cla_episodes_and_pupil_summary(world):
    c, _, _ = world
    eps = S.derive_cla_episodes(c)
    a = eps[eps["pupil_id"] == "A"].set_index("episode_start")
    first = a.loc[pd.Timestamp("2010-09-01")]
    # 1 Sep 2010 -> 1 Dec 2011 = 365 + 91 days; one episode from two yearly rows.
    assert first["duration_days"] == 456 and not first["censored"]
    assert (first["first_year"], first["last_year"], first["year_rows"]) == (2011, 2012, 2)
    second = a.loc[pd.Timestamp("2013-10-10")]
    # Open: censored at 31 March 2014; 10 Oct 2013 -> 31 Mar 2014 = 21+30+31+31+28+31 days.
    assert second["censored"] and second["episode_end"] == pd.Timestamp("2014-03-31")
    assert second["duration_days"] == 172
    assert len(eps) == 4  # A: 2, B: 2; the row with no pupil reference is not an episode of anyone

    summary = S.summarise_cla(eps, c).set_index("pupil_id")
    sa = summary.loc["A"]
    assert sa["days_in_care"] == 456 + 172 and sa["episodes"] == 2 and sa["academic_years_in_care"] == 3
    assert sa["first_care_date"] == pd.Timestamp("2010-09-01") and sa["last_care_date"] == pd.Timestamp("2014-03-31")
    assert sa["in_care_at_end_of_data"]
    assert (sa["days_residential"], sa["days_foster"], sa["days_kinship"]) == (456, 172, 0)
    assert sa["ever_residential"] and sa["ever_foster"] and not sa["ever_kinship"]
    assert sa["placement_changes"] == 1  # K2 -> U6
    assert sa["ever_care_order"] and not sa["ever_section_20"]
    assert sa["first_cat_need"] == "N1"
    sb = summary.loc["B"]
    # Overlapping records count once: 1 Apr -> 31 Aug 2012 = 30+31+30+31+30 = 152 days (not 90 + 91).
    assert sb["days_in_care"] == 152 and sb["days_foster"] == 152 and sb["placement_changes"] == 0


def test_interval_union_handles_nesting_and_adjacency():
    p = pd.Series(["x", "x", "x", "y"])
    s = pd.to_datetime(pd.Series(["2010-01-01", "2010-01-05", "2010-01-11", "2011-01-01"]))
    e = pd.to_datetime(pd.Series(["2010-01-11", "2010-01-07", "2010-01-21", "2011-01-02"]))
    days = S.interval_union_days(p, s, e)
    assert days["x"] == 20 and days["y"] == 1  # nested counted once, adjacent joined


def test_cin_summary_and_referral_check(world):
    _, n, _ = world
    s = S.summarise_cin(n).set_index("pupil_id")
    p1 = s.loc["P1"]
    assert p1["years_in_need"] == 2 and not p1["referral_only"] and p1["referral_check"] == "nfa_only"
    assert (p1["first_cin_year"], p1["latest_cin_year"]) == (2010, 2013)
    assert p1["latest_primary_need"] == "N5"  # 2012/13 is blank, so 2011/12's code
    assert not p1["only_weak_coverage_years"]
    assert s.loc["P2", "referral_check"] == "both" and s.loc["P2", "only_weak_coverage_years"]
    assert s.loc["P3", "referral_check"] == "flag_only"
    assert s.loc["P4", "years_in_need"] == 2 and s.loc["P4", "referral_check"] == "neither"
    agreement = S.tally(s["referral_check"], ["both", "flag_only", "nfa_only", "neither"], "referral_check")
    assert agreement["pupils"].tolist() == [1, 1, 1, 4]  # P2 | P3 | P1 | P4, P5, P6, A


def test_cpp_methods_and_discrepancy(world):
    _, n, _ = world
    f = S.derive_cpp_flags(n).set_index("pupil_id")
    assert f.loc["P4", "method_agreement"] == "a_only"  # initial category, no previous plans
    assert f.loc["P5", "method_agreement"] == "b_only" and f.loc["P5", "previous_cpp_total"] == 1
    assert f.loc["P6", "method_agreement"] == "both" and f.loc["P6", "first_category_of_abuse"] == "PHY"
    assert f.loc["P1", "method_agreement"] == "neither" and not f.loc["P1", "cpp"]
    assert f["cpp"].sum() == 4  # P4, P5, P6, A


def test_intervention_levels_one_row_per_spine_pupil(world):
    c, n, s = world
    eps = S.derive_cla_episodes(c)
    df, report = S.derive_intervention(s, S.summarise_cin(n), S.derive_cpp_flags(n), S.summarise_cla(eps, c), n, c)
    lvl = df.set_index("pupil_id")["level"].astype(str).to_dict()
    assert lvl == {
        "P1": "child_in_need",
        "P2": "referral_only",
        "P3": "referral_only",
        "P4": "child_protection_plan",
        "P5": "child_protection_plan",
        "P6": "child_protection_plan",
        "A": "looked_after",
        "Z": "none",
    }  # A is CPP and CLA: the higher level wins
    assert df["level"].cat.ordered and list(df["level"].cat.categories)[0] == "none"
    z = df.set_index("pupil_id").loc["Z"]
    assert pd.isna(z["years_in_need"]) and pd.isna(z["days_in_care"]) and pd.isna(z["cpp"])  # missing, not 0
    assert report["cla"]["rows_without_pupil_reference"] == 1
    assert report["cla"]["rows_with_pupil_not_in_spine"] == 2 and report["cla"]["pupils_not_in_spine"] == 1
    assert report["cla"]["rows_linkable_by_moj_uid_only"] == 1
    assert report["cla"]["spine_pupils_moj_uid_would_add"] == 1  # Z
    assert report["cin"]["rows_without_pupil_reference"] == 0


# --------------------------------------------------------------------------- issue 15, items 1, 9, 10


def cleaned(tmp_path, extract, rows):
    return clean_table(table(tmp_path, extract, rows), extract)


def test_item1_membership_from_quarantined_rows(tmp_path):
    cla_rows = [
        cla("Q1", "2012/2013", "01/09/2012", place="XX"),  # unknown code: quarantined
        cla("Q2", "2012/2013", "01/12/2012", "01/11/2012", rec="E13"),  # ceased before commenced
        cla("Q3", "2012/2013", "01/09/2012"),
        cla("Q3", "2013/2014", "01/09/2012", place="Q9"),  # one clean row
        cla("", "2012/2013", "01/09/2012", place="XX", moj="MZ"),  # quarantined, no reference
    ]
    cin_rows = [
        cin("Q4", "2012/2013", "1", need="N10"),  # in need, but quarantined
        cin("Q1", "2012/2013", "1", init="NEG"),  # Q1 is CPP and looked after
        cin("Q5", "2012/2013", "maybe"),
    ]  # bad flag
    c, n = cleaned(tmp_path, X.CLA, cla_rows), cleaned(tmp_path, X.CIN, cin_rows)
    s = cleaned(tmp_path, X.SPINE, [f"M{p},{p},2015/2016,201,F,2000,1,0" for p in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6")])
    assert c.quarantine["pupil_id"].astype(object).fillna("").tolist() == ["Q1", "Q2", "Q3", ""]
    eps = S.derive_cla_episodes(c.clean)
    args = (S.summarise_cin(n.clean), S.derive_cpp_flags(n.clean), S.summarise_cla(eps, c.clean), n.clean, c.clean)
    df, report = S.derive_intervention(s.clean, *args, n.quarantine, c.quarantine)
    lvl = df.set_index("pupil_id")
    assert lvl["level"].astype(str).to_dict() == {
        "Q1": "looked_after",
        "Q2": "looked_after",
        "Q3": "looked_after",
        "Q4": "referral_only",
        "Q5": "referral_only",
        "Q6": "none",
    }
    assert report["pupils_at_level_only_from_quarantined_rows"] == {"cla (looked_after)": 2, "cin (referral_only)": 2}
    assert lvl.loc["Q2", "in_cla_data"] and pd.isna(lvl.loc["Q2", "days_in_care"])  # details only from clean rows
    assert lvl.loc["Q4", "in_cin_data"] and pd.isna(lvl.loc["Q4", "years_in_need"])
    # Without the quarantine tables (the old rule) Q1, Q2 drop out of looked after, Q4, Q5 out of CIN.
    old, _ = S.derive_intervention(s.clean, *args)
    assert old.set_index("pupil_id")["level"].astype(str).to_dict() == {
        "Q1": "child_protection_plan",
        "Q2": "none",
        "Q3": "looked_after",
        "Q4": "none",
        "Q5": "none",
        "Q6": "none",
    }


def test_item9_in_care_at_end_of_data_and_last_care_date(tmp_path):
    rows = [
        # E1: an open episode of 2011/12 whose end was never delivered, then a closed latest one
        cla("E1", "2011/2012", "01/09/2011"),
        cla("E1", "2013/2014", "01/05/2013", "01/06/2013", rec="E13"),
        # E2: latest episode open and delivered in the extract's last year (2017/18)
        cla("E2", "2016/2017", "01/09/2016"),
        cla("E2", "2017/2018", "01/09/2016"),
        # E3: latest episode open, but last delivered in 2014/15 (not the last year of the data)
        cla("E3", "2014/2015", "01/09/2014"),
    ]
    c = cleaned(tmp_path, X.CLA, rows).clean
    summary = S.summarise_cla(S.derive_cla_episodes(c), c).set_index("pupil_id")
    assert summary["in_care_at_end_of_data"].to_dict() == {"E1": False, "E2": True, "E3": False}
    # last care date: the latest episode end, an open episode censored at 31 March of its last year
    assert summary["last_care_date"].to_dict() == {
        "E1": pd.Timestamp("2013-06-01"),
        "E2": pd.Timestamp("2018-03-31"),
        "E3": pd.Timestamp("2015-03-31"),
    }


def test_item10_cpp_method_a_items_and_latest_only_count(tmp_path):
    def row(pid, cat="", init="", latest="", prev=""):
        return ",".join([f"M{pid}", "2013/2014", pid, "1", cat, init, latest, prev, "N1", "0", "", "10", ""])

    n = cleaned(
        tmp_path,
        X.CIN,
        [row("A", cat="NEG"), row("B", init="PHY"), row("C", latest="EMO"), row("D", latest="SAB", prev="1"), row("E")],
    ).clean
    stats: dict = {}
    every = S.derive_cpp_flags(n, "all_three", stats).set_index("pupil_id")
    guide = S.derive_cpp_flags(n, "guide").set_index("pupil_id")
    assert every["cpp_method_a"].to_dict() == {"A": True, "B": True, "C": True, "D": True, "E": False}
    assert guide["cpp_method_a"].to_dict() == {"A": True, "B": True, "C": False, "D": False, "E": False}
    assert guide["cpp"].to_dict() == {"A": True, "B": True, "C": False, "D": True, "E": False}  # D: method b
    assert stats == {"cpp_only_through_latest_category": 1}  # C
    with pytest.raises(ValueError, match="cpp_method_a must be one of all_three, guide"):
        S.derive_cpp_flags(n, "latest")

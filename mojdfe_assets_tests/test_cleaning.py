"""Cleaning rules on small hand-written extracts; every expected value is worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from mojdfe_assets import extracts as X
from mojdfe_assets.extracts import snake_case
from mojdfe_assets.reading import ExtractError, conform_header, read_text
from mojdfe_assets.rules import clean_table

CLA_HEADER = ",".join(X.CLA.columns)


def write(tmp_path, name, header, rows):
    p = tmp_path / name
    p.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def cla_row(
    moj="M1",
    year="2010/2011",
    pid="P1",
    la="201",
    comm="03/05/2010",
    ceased="20/11/2010",
    legal="C2",
    place="U4",
    rec="E4A",
    at31="0",
    need="N1",
    rpc="",
):
    return ",".join(
        [
            moj,
            year,
            pid,
            la,
            year[-4:],
            comm,
            "201",
            need,
            comm,
            ceased,
            legal,
            place,
            rec,
            at31,
            "0",
            "0",
            "1",
            "1",
            rpc,
        ]
    )


def load(tmp_path, extract, rows, header=None):
    p = write(tmp_path, extract.file, header or ",".join(extract.columns), rows)
    df, report = conform_header(read_text(p, extract), extract, extract.file)
    return df


def test_snake_case_matches_the_guide():
    assert snake_case("MoJUID") == "mo_juid"
    assert snake_case("CIN_CIN_AT31MARCH") == "cin_cin_at31march"
    assert snake_case("CIN_PupilMatchingRefAnonymous") == "cin_pupil_matching_ref_anonymous"
    assert snake_case("CIN_NumberOfPreviousCPP") == "cin_number_of_previous_cpp"
    assert snake_case("CIN_AgeStartOfCINPeriod") == "cin_age_start_of_cin_period"
    assert snake_case("CLA_CLA_31_MARCH") == "cla_cla_31_march"
    assert snake_case("CLA_DATE_EPI_COMM") == "cla_date_epi_comm"


def test_cla_clean_and_quarantine(tmp_path):
    rows = [
        cla_row(),  # 1 closed episode
        cla_row(pid="P2", year="2011/2012", comm="2011-09-01", ceased=" ", rec="", at31="1", place="K2"),  # 2 open, ISO
        cla_row(pid="", moj="M3", place="P1"),  # 3 no pupil reference
        cla_row(pid="P4", place="Q9"),  # 4 unknown placement code
        cla_row(pid="P5", comm="01/12/2010", ceased="01/06/2010"),  # 5 ceased before commenced
        cla_row(pid="P6", ceased="31/02/2011"),  # 6 impossible date
        cla_row(),  # 7 duplicate of row 1
    ]
    raw = load(tmp_path, X.CLA, rows)
    out = clean_table(raw, X.CLA)
    c, q = out.clean, out.quarantine
    assert len(raw) == 7 and len(c) == 3 and len(q) == 4
    assert list(c["source_row"]) == [1, 2, 3]
    r1 = c.iloc[0]
    assert r1["pupil_id"] == "P1" and r1["moj_uid"] == "M1"
    assert r1["academic_year"] == "2010/2011" and r1["academic_year_start"] == 2010 and r1["academic_year_end"] == 2011
    assert r1["cla_date_epi_comm"] == pd.Timestamp("2010-05-03")
    assert r1["cla_date_epi_ceased"] == pd.Timestamp("2010-11-20")
    assert r1["cla_placement"] == "U4" and r1["cla_legal_status"] == "C2" and r1["cla_rec"] == "E4A"
    assert r1["cla_cla_31_march"] == False  # noqa: E712 (pandas BooleanDtype)
    assert r1["cla_poc_length"] == 201
    r2 = c.iloc[1]
    assert r2["cla_date_epi_comm"] == pd.Timestamp("2011-09-01")  # ISO form
    assert pd.isna(r2["cla_date_epi_ceased"]) and pd.isna(r2["cla_rec"])  # " " and "" are missing
    assert r2["cla_cla_31_march"] == True  # noqa: E712
    assert pd.isna(c.iloc[2]["pupil_id"]) and c.iloc[2]["moj_uid"] == "M3"
    assert isinstance(c["cla_placement"].dtype, pd.CategoricalDtype)
    reasons = dict(zip(q["source_row"], q["reasons"]))
    assert reasons[4] == "cla_placement: unknown code (not in cla_placement)"
    assert reasons[5] == "cla_date_epi_ceased: before cla_date_epi_comm (ceased before commenced)"
    assert reasons[6] == "cla_date_epi_ceased: malformed or impossible date"
    assert reasons[7] == "row: exact duplicate of an earlier row"
    assert q.loc[q["source_row"] == 4, "CLA_PLACEMENT"].item() == "Q9"  # kept as delivered
    assert sum(out.reasons.values()) == 4


def test_cla_date_after_its_collection_year_is_quarantined(tmp_path):
    raw = load(tmp_path, X.CLA, [cla_row(year="2010/2011", ceased="01/04/2011")])
    out = clean_table(raw, X.CLA)
    assert len(out.clean) == 0
    assert out.quarantine["reasons"].item() == "cla_date_epi_ceased: after the end of its collection year"


def test_cin_forms_aliases_flags_and_bad_values(tmp_path):
    def row(
        year="2012/2013", pid="P1", at31="1", cat="", init="NEG", prev="0", need="N1", nfa="0", rc="", a0="7", a1=""
    ):
        return ",".join(["M1", year, pid, at31, cat, init, init, prev, need, nfa, rc, a0, a1])

    rows = [
        row(),  # 1
        row(year="2012/13", pid="P2", need="A2", at31="Yes"),  # 2 short year, alias A2 -> N2, text flag
        row(pid="P3", at31=" ", need=""),  # 3 blanks
        row(pid="P4", prev="99"),  # 4 absurd previous CPP count
        row(pid="P5", need="UNMAPPEDNEEDCODE"),  # 5 unknown code
        row(pid="P6", year="2012-2014"),  # 6 impossible academic year
    ]
    out = clean_table(load(tmp_path, X.CIN, rows), X.CIN)
    c, q = out.clean, out.quarantine
    assert list(c["source_row"]) == [1, 2, 3]
    assert list(c["academic_year"]) == ["2012/2013"] * 3
    assert c.loc[1, "cin_primary_need_code"] == "N2"
    assert list(c["cin_cin_at31march"].astype(object)) == [True, True, pd.NA]
    assert pd.isna(c.loc[2, "cin_primary_need_code"])
    assert c.loc[0, "cin_initial_category_of_abuse"] == "NEG" and pd.isna(c.loc[0, "cin_category_of_abuse"])
    assert c.loc[0, "cin_age_start_of_cin_period"] == 7 and pd.isna(c.loc[0, "cin_age_end_of_cin_period"])
    reasons = dict(zip(q["source_row"], q["reasons"]))
    assert reasons == {
        4: "cin_number_of_previous_cpp: outside 0..30",
        5: "cin_primary_need_code: unknown code (not in cin_primary_need)",
        6: "academic_year: not an academic year like 2012/2013",
    }


def test_spine_second_row_for_a_pupil_is_quarantined(tmp_path):
    rows = ["M1,P1,2016/2017,201,F,2000,11,1", "M2,P2,2016/2017,202,M,2001,3,0", "M9,P1,2016/2017,203,M,2001,1,0"]
    out = clean_table(load(tmp_path, X.SPINE, rows), X.SPINE)
    assert list(out.clean["pupil_id"]) == ["P1", "P2"]
    assert out.clean["ks4_fsm_ever6"].tolist() == [True, False]
    assert out.quarantine["reasons"].tolist() == [
        "pupil_id: already on an earlier clean row (the first clean row is kept)"
    ]


def test_header_problems_are_named(tmp_path):
    cols = [c for c in X.CLA.columns if c != "CLA_DATE_EPI_COMM"]
    p = write(tmp_path, X.CLA.file, ",".join(cols), [])
    with pytest.raises(ExtractError, match=r"CLA_2006_to_2018.csv: required column\(s\) missing: CLA_DATE_EPI_COMM"):
        conform_header(read_text(p, X.CLA), X.CLA, X.CLA.file)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ExtractError, match="empty.csv: the file is empty"):
        read_text(empty, X.CLA)
    # Case differences are matched and reported; unknown columns are reported.
    hdr = ",".join(c.lower() if c == "CLA_ACADYR" else c for c in X.CLA.columns) + ",EXTRA"
    p = write(tmp_path, "renamed.csv", hdr, [cla_row() + ",x"])
    df, report = conform_header(read_text(p, X.CLA), X.CLA, "renamed.csv")
    assert report.renamed == {"cla_acadyr": "CLA_ACADYR"} and report.extra == ["EXTRA"]
    assert list(df.columns)[1:-2] == list(X.CLA.columns)


def test_identical_rows_without_any_identifier_are_not_duplicates(tmp_path):
    rows = [cla_row(moj="", pid=""), cla_row(moj="", pid=""), cla_row(), cla_row()]
    out = clean_table(load(tmp_path, X.CLA, rows), X.CLA)
    assert list(out.clean["source_row"]) == [1, 2, 3]
    assert out.quarantine["source_row"].tolist() == [4]


def test_outcome_extracts_clean_with_their_own_rules(tmp_path):

    ab = load(
        tmp_path, X.ABSENCE, ["M1,P1,2016/2017,1900,40,60", "M2,P2,2016/2017,1900,1000,950", "M3,P3,2016/17,1880, ,12"]
    )
    out = clean_table(ab, X.ABSENCE)
    assert list(out.clean["pupil_id"]) == ["P1", "P3"]
    assert out.clean["ab_sessions_unauthorised"].tolist()[0] == 40 and pd.isna(out.clean["ab_sessions_unauthorised"][1])
    assert out.quarantine["reasons"].tolist() == ["ab_sessions_unauthorised: absences exceed sessions possible"]
    pnc = load(
        tmp_path,
        X.PNC,
        [
            "M1,01/02/2015,01/03/2015,YOUTH_CAUTION",
            "M2,01/05/2016,01/04/2016,FINE",
            "M3,01/05/2016,02/05/2016,BIRCHING",
        ],
    )
    out = clean_table(pnc, X.PNC)
    assert out.clean["pnc_disposal"].tolist() == ["YOUTH_CAUTION"]
    assert dict(zip(out.quarantine["source_row"], out.quarantine["reasons"])) == {
        2: "pnc_disposal_date: before pnc_offence_date",
        3: "pnc_disposal: unknown code (not in pnc_disposal)",
    }

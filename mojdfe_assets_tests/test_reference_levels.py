"""The reference implementation of the issue-15 rules (`reference_levels.py`), tested on its own.

First on tiny hand-written extracts with levels worked out by hand (every rule at least once),
then on a 3,000-pupil synthetic world: against the generator's designed truth, and on every
faulted copy of `faults.py` (representation faults must not change the reference's levels; the
file-level faults must raise). The pipeline's disagreement with the reference on each faulted world
is printed here (run with `-s` to see it); `test_differential.py` asserts that there is none.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from mojdfe_assets_tests import faults as F
from mojdfe_assets_tests import reference_levels as R

# ------------------------------------------------------------------------------ tiny extracts

CLA_DEFAULT = {
    "MoJUID": "",
    "CLA_ACADYR": "2012/2013",
    "CLA_PupilMatchingRefAnonymous": "",
    "CLA_CLA_LA": "201",
    "CLA_PROCESSING_YEAR": "2013",
    "CLA_POC_START": "01/09/2012",
    "CLA_POC_LENGTH": "100",
    "CLA_CAT_NEED": "N1",
    "CLA_DATE_EPI_COMM": "01/09/2012",
    "CLA_DATE_EPI_CEASED": "",
    "CLA_LEGAL_STATUS": "C2",
    "CLA_PLACEMENT": "U4",
    "CLA_REC": "",
    "CLA_CLA_31_MARCH": "1",
    "CLA_CLA_6_MONTHS": "0",
    "CLA_CLA_12_MONTHS": "0",
    "CLA_CLA_PP_6_MONTHS": "0",
    "CLA_CLA_PP_1_DAY": "1",
    "CLA_REASON_PLACE_CHANGE": "",
}
CIN_DEFAULT = {
    "MoJUID": "",
    "CIN_ACADYR": "2012/2013",
    "CIN_PupilMatchingRefAnonymous": "",
    "CIN_CIN_AT31MARCH": "0",
    "CIN_CategoryOfAbuse": "",
    "CIN_InitialCategoryOfAbuse": "",
    "CIN_LatestCategoryOfAbuse": "",
    "CIN_NumberOfPreviousCPP": "",
    "CIN_PrimaryNeedCode": "N1",
    "CIN_ReferralNFA": "0",
    "CIN_ReasonForClosure": "",
    "CIN_AgeStartOfCINPeriod": "10",
    "CIN_AgeEndOfCINPeriod": "",
}
SPINE_DEFAULT = {
    "MoJUID": "",
    "KS4_PupilMatchingRefAnonymous": "",
    "KS4_ACADYR": "2015/2016",
    "KS4_LA": "201",
    "KS4_GENDER": "F",
    "KS4_YEAR_OF_BIRTH": "2000",
    "KS4_MONTH_OF_BIRTH": "1",
    "KS4_FSM_EVER6": "0",
}
DEFAULTS = {R.CLA_FILE: CLA_DEFAULT, R.CIN_FILE: CIN_DEFAULT, R.SPINE_FILE: SPINE_DEFAULT}
PUPIL = {
    R.CLA_FILE: "CLA_PupilMatchingRefAnonymous",
    R.CIN_FILE: "CIN_PupilMatchingRefAnonymous",
    R.SPINE_FILE: "KS4_PupilMatchingRefAnonymous",
}


def line(file, pupil=None, **values):
    """One delivered line of `file`: the defaults, the pupil reference (and MoJUID M<pupil>), and
    any column set by keyword."""
    row = dict(DEFAULTS[file])
    if pupil is not None:
        row[PUPIL[file]] = pupil
        row["MoJUID"] = f"M{pupil.strip()}"
    row.update(values)
    return ",".join(row.values())


def header(file):
    return ",".join(DEFAULTS[file])


def write(folder, cla=(), cin=(), spine=(), raw=None):
    """Write the three extracts from lines (strings); `raw` = {file: bytes} replaces a file."""
    for file, lines in ((R.CLA_FILE, cla), (R.CIN_FILE, cin), (R.SPINE_FILE, spine)):
        (folder / file).write_text("\n".join([header(file), *lines]) + "\n")
    for file, data in (raw or {}).items():
        (folder / file).write_bytes(data)
    return folder


def spine_of(*pupils):
    return [line(R.SPINE_FILE, p) for p in pupils]


def got(folder, **kw) -> dict[str, str]:
    return dict(R.levels(folder, **kw).itertuples(index=False, name=None))


def reasons(folder, file) -> dict[int, str]:
    t = R.rows_table(folder / file)
    return {r.row: r.reasons for r in t.itertuples() if r.quarantined}


# ---------------------------------------------------------------------------------- rule 1


def test_rule1_missing_tokens_in_every_column(tmp_path):
    cin = [
        # categories and count written as missing tokens: missing, not unknown codes; in need
        line(
            R.CIN_FILE,
            "P1",
            CIN_CIN_AT31MARCH="1",
            CIN_CategoryOfAbuse="NA",
            CIN_InitialCategoryOfAbuse="null",
            CIN_LatestCategoryOfAbuse=" 'N/A' ",
            CIN_NumberOfPreviousCPP=".",
            CIN_ReasonForClosure="NaN",
        ),
        # flag and need missing as "-" and NULL: a clean row, never in need: referral only
        line(R.CIN_FILE, "P2", CIN_CIN_AT31MARCH="-", CIN_PrimaryNeedCode="NULL", CIN_AgeStartOfCINPeriod="NA"),
    ]
    cla = [
        line(R.CLA_FILE, "P3", CLA_DATE_EPI_CEASED="NA", CLA_REC="NULL", CLA_CAT_NEED="."),  # open episode, clean
        line(R.CLA_FILE, "NULL", MoJUID="NA"),  # no pupil reference: nobody's row
    ]
    folder = write(tmp_path, cla, cin, spine_of("P1", "P2", "P3", "P4") + [line(R.SPINE_FILE, "NaN")])
    assert got(folder) == {"P1": "child_in_need", "P2": "referral_only", "P3": "looked_after", "P4": "none"}
    assert reasons(folder, R.CLA_FILE) == {} and reasons(folder, R.CIN_FILE) == {}
    assert reasons(folder, R.SPINE_FILE) == {5: "KS4_PupilMatchingRefAnonymous: missing"}
    assert R.rows_table(folder / R.CLA_FILE)["pupil_id"].tolist()[1] is None


# ---------------------------------------------------------------------------------- rule 2


def test_rule2_identifiers_trimmed_and_upper_cased(tmp_path):
    cla = [line(R.CLA_FILE, " ab12cd ")]
    cin = [line(R.CIN_FILE, "CD34EF"), line(R.CIN_FILE, '"ef56gh"', CIN_CIN_AT31MARCH="1")]
    spine = spine_of("AB12CD", " cd34ef\t", "EF56GH")
    folder = write(tmp_path, cla, cin, spine)
    assert got(folder) == {"AB12CD": "looked_after", "CD34EF": "referral_only", "EF56GH": "child_in_need"}


# ---------------------------------------------------------------------------------- rule 3


def test_rule3_codes_upper_cased_and_need_aliases(tmp_path):
    cin = [
        line(R.CIN_FILE, "P1", CIN_InitialCategoryOfAbuse="neg"),  # a plan: CPP
        line(R.CIN_FILE, "P2", CIN_PrimaryNeedCode="a3", CIN_CIN_AT31MARCH="1"),  # A3 = N3: clean, in need
        line(R.CIN_FILE, "P3", CIN_PrimaryNeedCode="A9", CIN_CIN_AT31MARCH="1"),  # not an alias: quarantined
        line(R.CIN_FILE, "P4", CIN_ReasonForClosure="rc8", CIN_CIN_AT31MARCH="1"),
    ]
    folder = write(tmp_path, [], cin, spine_of("P1", "P2", "P3", "P4"))
    assert got(folder) == {
        "P1": "child_protection_plan",
        "P2": "child_in_need",
        "P3": "referral_only",
        "P4": "child_in_need",
    }
    assert reasons(folder, R.CIN_FILE) == {3: "CIN_PrimaryNeedCode: unknown code"}


def test_rule3_spine_sex(tmp_path):
    sexes = {"S1": "m", "S2": "f", "S3": "1", "S4": "2", "S5": "", "S6": "X", "S7": "3", "S8": "male", "S9": " M "}
    spine = [line(R.SPINE_FILE, p, KS4_GENDER=s) for p, s in sexes.items()]
    folder = write(tmp_path, [], [], spine)
    # Missing sex is allowed (only the pupil reference and KS4 year are required).
    assert set(got(folder)) == {"S1", "S2", "S3", "S4", "S5", "S9"}
    assert reasons(folder, R.SPINE_FILE) == {
        6: "KS4_GENDER: not M/F/1/2",
        7: "KS4_GENDER: not M/F/1/2",
        8: "KS4_GENDER: not M/F/1/2",
    }


# ---------------------------------------------------------------------------------- rule 4


@pytest.mark.parametrize(
    "comm",
    [
        "1/9/2012",
        "01/9/2012",
        "2012-09-01",
        "2012-09-01 00:00:00",
        "01/09/2012 00:00",
        "2012-09-01 10:30",
        '"01/09/2012"',
    ],
)
def test_rule4_accepted_date_forms(tmp_path, comm):
    folder = write(tmp_path, [line(R.CLA_FILE, "P1", CLA_DATE_EPI_COMM=comm, CLA_POC_START=comm)], [], spine_of("P1"))
    assert reasons(folder, R.CLA_FILE) == {} and got(folder) == {"P1": "looked_after"}


@pytest.mark.parametrize(
    "comm, why",
    [
        ("31/02/2012", "impossible date"),
        ("2012/09/01", "malformed date"),
        ("2012-9-1", "malformed date"),
        ("2012-09-01T00:00:00", "malformed date"),
        ("1st Sept 2012", "malformed date"),
        ("01/09/12", "malformed date"),
    ],
)
def test_rule4_other_forms_quarantine_the_row(tmp_path, comm, why):
    folder = write(tmp_path, [line(R.CLA_FILE, "P1", CLA_DATE_EPI_COMM=comm)], [], spine_of("P1"))
    assert reasons(folder, R.CLA_FILE) == {1: f"CLA_DATE_EPI_COMM: {why}"}
    assert got(folder) == {"P1": "looked_after"}  # quarantined rows still make a pupil looked after


def test_rule4_month_first_column_is_a_file_error(tmp_path):
    cla = [
        line(R.CLA_FILE, "P1", CLA_DATE_EPI_COMM="09/25/2012"),  # 25 can only be a day
        line(R.CLA_FILE, "P2", CLA_DATE_EPI_COMM="10/03/2012"),
        line(R.CLA_FILE, "P3", CLA_DATE_EPI_COMM="2012-03-04"),
    ]  # ISO values do not count
    folder = write(tmp_path, cla, [], spine_of("P1"))
    with pytest.raises(R.ReferenceFileError, match=r"CLA_2006_to_2018\.csv: column CLA_DATE_EPI_COMM .*month-first"):
        R.levels(folder)


def test_rule4_month_first_in_one_column_only(tmp_path):
    cla = [line(R.CLA_FILE, "P1", CLA_DATE_EPI_COMM="25/09/2012", CLA_DATE_EPI_CEASED="1/13/2013", CLA_REC="E13")]
    folder = write(tmp_path, cla, [], spine_of("P1"))
    with pytest.raises(R.ReferenceFileError, match="column CLA_DATE_EPI_CEASED"):
        R.levels(folder)


def test_rule4_a_day_first_column_with_one_bad_value_is_not_month_first(tmp_path):
    cla = [
        line(R.CLA_FILE, "P1", CLA_DATE_EPI_COMM="25/09/2012"),
        line(R.CLA_FILE, "P2", CLA_DATE_EPI_COMM="09/25/2012"),
    ]  # impossible day-first: that row only
    folder = write(tmp_path, cla, [], spine_of("P1", "P2"))
    assert reasons(folder, R.CLA_FILE) == {2: "CLA_DATE_EPI_COMM: impossible date"}
    assert got(folder) == {"P1": "looked_after", "P2": "looked_after"}


# ---------------------------------------------------------------------------------- rule 5


def test_rule5_flags(tmp_path):
    at31 = {
        "F1": "1.0",
        "F2": "Yes",
        "F3": "T",
        "F4": "true",
        "F5": "0.0",
        "F6": "no",
        "F7": "NA",
        "F8": "maybe",
        "F9": "2",
        "F10": "1.00",
    }
    cin = [line(R.CIN_FILE, p, CIN_CIN_AT31MARCH=v) for p, v in at31.items()]
    cin.append(line(R.CIN_FILE, "F11", CIN_CIN_AT31MARCH="1", CIN_InitialCategoryOfAbuse="NEG", CIN_ReferralNFA="x"))
    folder = write(tmp_path, [], cin, spine_of(*at31, "F11"))
    assert got(folder) == {
        "F1": "child_in_need",
        "F2": "child_in_need",
        "F3": "child_in_need",
        "F4": "child_in_need",
        "F5": "referral_only",
        "F6": "referral_only",
        "F7": "referral_only",
        # a bad flag quarantines the row: in CIN (membership), no details
        "F8": "referral_only",
        "F9": "referral_only",
        "F10": "referral_only",
        "F11": "referral_only",
    }
    assert set(reasons(folder, R.CIN_FILE)) == {8, 9, 10, 11}


# ---------------------------------------------------------------------------------- rule 6


def test_rule6_academic_years(tmp_path):
    years = {
        "Y1": "2012-13",
        "Y2": "2012/13",
        "Y3": "2012-2013",
        "Y4": "2012/2014",
        "Y5": "2012",
        "Y6": "",
        "Y7": "2007/2008",
        "Y8": "2017/2018",
        "Y9": "2008/09",
        "Y10": "2016/2017",
        "Y11": "2012 / 2013",
    }
    cin = [line(R.CIN_FILE, p, CIN_ACADYR=v, CIN_CIN_AT31MARCH="1") for p, v in years.items()]
    folder = write(tmp_path, [], cin, spine_of(*years))
    levels = got(folder)
    assert {p for p, lv in levels.items() if lv == "child_in_need"} == {"Y1", "Y2", "Y3", "Y9", "Y10"}
    assert {p for p, lv in levels.items() if lv == "referral_only"} == {"Y4", "Y5", "Y6", "Y7", "Y8", "Y11"}
    r = reasons(folder, R.CIN_FILE)
    assert r[6] == "CIN_ACADYR: missing" and r[4] == "CIN_ACADYR: not an academic year"
    assert r[7] == r[8] == "CIN_ACADYR: collection year outside 2009..2017"


def test_rule6_cla_years_2006_to_2018(tmp_path):
    cla = [
        line(R.CLA_FILE, "P1", CLA_ACADYR="2005/2006", CLA_POC_START="01/09/2005", CLA_DATE_EPI_COMM="01/09/2005"),
        line(R.CLA_FILE, "P2", CLA_ACADYR="2018/2019", CLA_POC_START="01/09/2018", CLA_DATE_EPI_COMM="01/09/2018"),
        line(R.CLA_FILE, "P3", CLA_ACADYR="2004/2005", CLA_POC_START="01/09/2004", CLA_DATE_EPI_COMM="01/09/2004"),
    ]
    folder = write(tmp_path, cla, [], spine_of("P1", "P2", "P3"))
    assert reasons(folder, R.CLA_FILE) == {
        2: "CLA_ACADYR: collection year outside 2006..2018",
        3: "CLA_ACADYR: collection year outside 2006..2018",
    }
    assert set(got(folder).values()) == {"looked_after"}


# ---------------------------------------------------------------------------------- rule 7


def test_rule7_cla_rows_quarantined(tmp_path):
    cla = [
        line(R.CLA_FILE, "C1", CLA_DATE_EPI_COMM=""),  # 1
        line(R.CLA_FILE, "C2", CLA_DATE_EPI_CEASED="31/08/2012", CLA_REC="E13"),  # 2
        line(R.CLA_FILE, "C3", CLA_DATE_EPI_CEASED="01/04/2013", CLA_REC="E13"),  # 3
        line(R.CLA_FILE, "C4", CLA_POC_START="31/12/1979"),  # 4
        line(
            R.CLA_FILE,
            "C5",
            CLA_POC_START="05/05/2009",
            CLA_DATE_EPI_COMM="05/05/2009",
            CLA_DATE_EPI_CEASED="20/06/2009",
            CLA_REC="E13",
        ),  # 5
        line(R.CLA_FILE, "C6"),
        line(R.CLA_FILE, "C6"),  # 6, 7
        line(R.CLA_FILE, "C7"),
        line(R.CLA_FILE, "C7", CLA_PLACEMENT="K2"),
        line(R.CLA_FILE, "C7"),  # 8-10
        line(R.CLA_FILE, "", MoJUID=""),
        line(R.CLA_FILE, "", MoJUID=""),  # 11, 12
        line(R.CLA_FILE, "C8", CLA_REC="-10"),  # 13
        line(R.CLA_FILE, "C9", CLA_DATE_EPI_CEASED="01/12/2012", CLA_REC="E99"),  # 14
        line(
            R.CLA_FILE,
            "C10",
            CLA_LEGAL_STATUS="c2",
            CLA_PLACEMENT="u6",
            CLA_REASON_PLACE_CHANGE="carpl",
            CLA_CAT_NEED="n8",
        ),  # 15
        line(R.CLA_FILE, "C11", CLA_PLACEMENT="XX", CLA_CAT_NEED="N9", CLA_LEGAL_STATUS="Z9"),  # 16
        line(R.CLA_FILE, "C12", CLA_CLA_31_MARCH="maybe", CLA_POC_LENGTH="abc", CLA_PROCESSING_YEAR="13"),  # 17
        line(R.CLA_FILE, "C13", CLA_DATE_EPI_COMM="01/04/2013"),  # 18
        line(
            R.CLA_FILE,
            "C14",
            CLA_DATE_EPI_COMM="01/04/2012",
            CLA_POC_START="01/04/2012",
            CLA_DATE_EPI_CEASED="01/04/2012",
            CLA_REC="X1",
        ),  # 19: open one day
        line(
            R.CLA_FILE,
            "C15",
            CLA_DATE_EPI_COMM="01/03/2012",
            CLA_POC_START="01/03/2012",
            CLA_DATE_EPI_CEASED="31/03/2012",
            CLA_REC="X1",
        ),  # 20: ended 2011/12
    ]
    folder = write(tmp_path, cla, [], spine_of(*(f"C{i}" for i in range(1, 16))))
    r = reasons(folder, R.CLA_FILE)
    assert r == {
        1: "CLA_DATE_EPI_COMM: missing",
        2: "CLA_DATE_EPI_CEASED: before CLA_DATE_EPI_COMM",
        3: "CLA_DATE_EPI_CEASED: after 31 March of the collection year",
        4: "CLA_POC_START: before 1980",
        5: "row: episode not open at any point of its collection year",
        7: "row: exact duplicate of an earlier row",
        8: "row: conflicting rows for the same pupil, year and episode start",
        9: "row: conflicting rows for the same pupil, year and episode start",
        10: "row: exact duplicate of an earlier row; row: conflicting rows for the same pupil, year and episode start",
        14: "CLA_REC: unknown code",
        16: "CLA_CAT_NEED: unknown code; CLA_LEGAL_STATUS: unknown code; CLA_PLACEMENT: unknown code",
        17: "CLA_PROCESSING_YEAR: outside 2000..2030; CLA_POC_LENGTH: not a whole number; CLA_CLA_31_MARCH: not a flag",
        18: "CLA_DATE_EPI_COMM: after 31 March of the collection year; "
        "row: episode not open at any point of its collection year",
        20: "row: episode not open at any point of its collection year",
    }  # 11-12: no identifier at all, never duplicates; 13: -10 is no end; 15: codes in lower case
    assert set(got(folder).values()) == {"looked_after"}  # every one of them is in CLA


# ---------------------------------------------------------------------------------- rule 8


def test_rule8_cin_rows_quarantined(tmp_path):
    cin = [
        line(R.CIN_FILE, "N1", CIN_NumberOfPreviousCPP="99", CIN_CIN_AT31MARCH="1"),  # 1 quarantined
        line(R.CIN_FILE, "N2", CIN_NumberOfPreviousCPP="2.0"),  # 2 a whole number: CPP
        line(R.CIN_FILE, "N3", CIN_NumberOfPreviousCPP="1.5"),  # 3 quarantined
        line(R.CIN_FILE, "N4", CIN_AgeStartOfCINPeriod="26", CIN_CIN_AT31MARCH="1"),  # 4 quarantined
        line(R.CIN_FILE, "N5", CIN_AgeEndOfCINPeriod="10.5", CIN_CIN_AT31MARCH="1"),  # 5 quarantined
        line(R.CIN_FILE, "N6", CIN_ReasonForClosure="RC10", CIN_CIN_AT31MARCH="1"),  # 6 quarantined
        line(R.CIN_FILE, "N7", CIN_LatestCategoryOfAbuse="XYZ"),  # 7 quarantined
        line(R.CIN_FILE, "N8", CIN_CIN_AT31MARCH="1"),
        line(R.CIN_FILE, "N8", CIN_CIN_AT31MARCH="1"),  # 8, 9
        line(R.CIN_FILE, "", MoJUID=""),
        line(R.CIN_FILE, "", MoJUID=""),  # 10, 11
        line(R.CIN_FILE, "N9", CIN_NumberOfPreviousCPP="-1"),  # 12 quarantined
    ]
    folder = write(tmp_path, [], cin, spine_of(*(f"N{i}" for i in range(1, 10))))
    assert reasons(folder, R.CIN_FILE) == {
        1: "CIN_NumberOfPreviousCPP: outside 0..30",
        3: "CIN_NumberOfPreviousCPP: not a whole number",
        4: "CIN_AgeStartOfCINPeriod: outside 0..25",
        5: "CIN_AgeEndOfCINPeriod: not a whole number",
        6: "CIN_ReasonForClosure: unknown code",
        7: "CIN_LatestCategoryOfAbuse: unknown code",
        9: "row: exact duplicate of an earlier row",
        12: "CIN_NumberOfPreviousCPP: outside 0..30",
    }
    assert got(folder) == {
        "N1": "referral_only",
        "N2": "child_protection_plan",
        "N3": "referral_only",
        "N4": "referral_only",
        "N5": "referral_only",
        "N6": "referral_only",
        "N7": "referral_only",
        "N8": "child_in_need",
        "N9": "referral_only",
    }


# ---------------------------------------------------------------------------------- rule 9


def test_rule9_spine_rows(tmp_path):
    spine = [
        line(R.SPINE_FILE, "S1"),
        line(R.SPINE_FILE, "s1", KS4_GENDER="M"),  # 1 kept, 2 second row
        line(R.SPINE_FILE, "S2", KS4_YEAR_OF_BIRTH="1979"),  # 3
        line(R.SPINE_FILE, "S3", KS4_MONTH_OF_BIRTH="13"),  # 4
        line(R.SPINE_FILE, "S4", KS4_FSM_EVER6="x"),  # 5
        line(R.SPINE_FILE, "S5", KS4_LA="12"),  # 6
        line(R.SPINE_FILE, "S6", KS4_ACADYR=""),  # 7
        line(R.SPINE_FILE, " "),  # 8
        line(R.SPINE_FILE, "S7", KS4_LA="", KS4_FSM_EVER6="NA", MoJUID="."),  # 9 clean
        line(R.SPINE_FILE, "S8", KS4_GENDER="Q"),
        line(R.SPINE_FILE, "S8"),  # 10 bad, 11 the first clean row
        line(R.SPINE_FILE, "S9", KS4_YEAR_OF_BIRTH="2015", KS4_MONTH_OF_BIRTH="12.0"),  # 12 clean
    ]
    folder = write(tmp_path, [line(R.CLA_FILE, "S8")], [], spine)
    assert reasons(folder, R.SPINE_FILE) == {
        2: "KS4_PupilMatchingRefAnonymous: pupil already has a spine row",
        3: "KS4_YEAR_OF_BIRTH: outside 1980..2015",
        4: "KS4_MONTH_OF_BIRTH: outside 1..12",
        5: "KS4_FSM_EVER6: not a flag",
        6: "KS4_LA: not three digits",
        7: "KS4_ACADYR: missing",
        8: "KS4_PupilMatchingRefAnonymous: missing",
        10: "KS4_GENDER: not M/F/1/2",
    }
    # S8's first row is bad, so its second (clean) row is the one kept: S8 is a spine pupil, and
    # looked after (its CLA row)
    assert list(R.levels(folder)["pupil_id"]) == ["S1", "S7", "S8", "S9"]
    assert got(folder)["S8"] == "looked_after"


# --------------------------------------------------------------------------------- rule 10


def test_rule10_membership_from_readable_rows_only(tmp_path):
    cla_lines = [
        line(R.CLA_FILE, "M1").rsplit(",", 3)[0],  # truncated: not a row
        line(R.CLA_FILE, "M3", CLA_PLACEMENT="XX"),  # quarantined: still membership
        line(R.CLA_FILE, "M6") + ",EXTRA",
    ]  # one field too many
    cla = ("\n".join([header(R.CLA_FILE), *cla_lines]) + "\n").encode()
    cla = cla + line(R.CLA_FILE, "M2", CLA_CLA_LA="2\udce901").encode("utf-8", "surrogateescape") + b"\n"
    cin = ("\n".join([header(R.CIN_FILE), line(R.CIN_FILE, "M5", CIN_ACADYR="2019/20")]) + "\n").encode()
    cin = cin + line(R.CIN_FILE, "M4", MoJUID="M\udcff").encode("utf-8", "surrogateescape") + b"\n"
    cin = cin + line(R.CIN_FILE, "M1", CIN_CIN_AT31MARCH="1").encode() + b"\n"
    folder = write(
        tmp_path, [], [], spine_of("M1", "M2", "M3", "M4", "M5", "M6"), raw={R.CLA_FILE: cla, R.CIN_FILE: cin}
    )
    assert got(folder) == {
        "M1": "child_in_need",
        "M2": "none",
        "M3": "looked_after",
        "M4": "none",
        "M5": "referral_only",
        "M6": "none",
    }
    r = reasons(folder, R.CLA_FILE)
    assert r[1] == "row: 16 fields instead of 19 fields" and r[3] == "row: 20 fields instead of 19 fields"
    assert r[4] == "row: not UTF-8 text"


# --------------------------------------------------------------------------------- rule 11


def test_rule11_levels_highest_wins_and_cpp_methods(tmp_path):
    cla = [line(R.CLA_FILE, "L1"), line(R.CLA_FILE, "OUT")]
    cin = [
        line(R.CIN_FILE, "L1", CIN_InitialCategoryOfAbuse="NEG", CIN_CIN_AT31MARCH="1"),  # CLA beats CPP
        line(R.CIN_FILE, "L2", CIN_LatestCategoryOfAbuse="EMO", CIN_CIN_AT31MARCH="1"),  # latest only
        line(R.CIN_FILE, "L3", CIN_ACADYR="2011/2012", CIN_NumberOfPreviousCPP="0"),
        line(R.CIN_FILE, "L3", CIN_NumberOfPreviousCPP="1"),  # method b: sum 1
        line(R.CIN_FILE, "L4", CIN_NumberOfPreviousCPP="0", CIN_CIN_AT31MARCH="1"),  # sum 0: in need
        line(R.CIN_FILE, "L5", CIN_CategoryOfAbuse="PHY"),  # method a
        line(R.CIN_FILE, "L6"),  # referral only
        line(R.CIN_FILE, "OUT", CIN_CIN_AT31MARCH="1"),  # not in the spine
    ]
    folder = write(tmp_path, cla, cin, spine_of("L7", "L6", "L5", "L4", "L3", "L2", "L1"))
    all_three = R.levels(folder)
    assert list(all_three["pupil_id"]) == ["L7", "L6", "L5", "L4", "L3", "L2", "L1"]  # spine order
    assert dict(all_three.itertuples(index=False, name=None)) == {
        "L1": "looked_after",
        "L2": "child_protection_plan",
        "L3": "child_protection_plan",
        "L4": "child_in_need",
        "L5": "child_protection_plan",
        "L6": "referral_only",
        "L7": "none",
    }
    guide = got(folder, cpp_method_a="guide")
    assert guide["L2"] == "child_in_need" and guide["L5"] == "child_protection_plan"
    flags = R.pupil_flags(folder).set_index("pupil_id")
    assert flags.loc["L3", "previous_cpp_total"] == 1 and flags.loc["L3", "cpp_method_b"]
    assert not flags.loc["L3", "cpp_method_a"] and pd.isna(flags.loc["L7", "previous_cpp_total"])
    with pytest.raises(ValueError):
        R.levels(folder, cpp_method_a="first_two")


# ------------------------------------------------------------------------------ file errors


def _tiny(tmp_path):
    return write(tmp_path, [line(R.CLA_FILE, "P1")], [line(R.CIN_FILE, "P2")], spine_of("P1", "P2"))


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_file_not_comma_delimited(tmp_path, sep):
    folder = _tiny(tmp_path)
    text = (folder / R.CIN_FILE).read_text().replace(",", sep)
    (folder / R.CIN_FILE).write_text(text)
    with pytest.raises(R.ReferenceFileError, match=r"^CIN_08-09_to_16-17\.csv: not comma-delimited"):
        R.levels(folder)


@pytest.mark.parametrize("extra", ["CLA_PLACEMENT", "cla_placement", "MOJUID"])
def test_header_with_a_duplicated_name(tmp_path, extra):
    folder = _tiny(tmp_path)
    lines = (folder / R.CLA_FILE).read_text().splitlines()
    (folder / R.CLA_FILE).write_text("\n".join([lines[0] + "," + extra] + [x + ",K2" for x in lines[1:]]) + "\n")
    with pytest.raises(R.ReferenceFileError, match=r"^CLA_2006_to_2018\.csv: header has duplicated names"):
        R.levels(folder)


def test_header_names_match_case_insensitively_and_extras_are_ignored(tmp_path):
    folder = _tiny(tmp_path)
    lines = (folder / R.CLA_FILE).read_text().splitlines()
    lines[0] = lines[0].replace("CLA_PupilMatchingRefAnonymous", "cla_pupilmatchingrefanonymous") + ",NOTES"
    (folder / R.CLA_FILE).write_text("\n".join([lines[0]] + [x + ",note" for x in lines[1:]]) + "\n")
    assert got(folder) == {"P1": "looked_after", "P2": "referral_only"}


def test_missing_required_column(tmp_path):
    folder = _tiny(tmp_path)
    lines = [x.split(",") for x in (folder / R.SPINE_FILE).read_text().splitlines()]
    (folder / R.SPINE_FILE).write_text("\n".join(",".join(f[:2] + f[3:]) for f in lines) + "\n")
    with pytest.raises(R.ReferenceFileError, match=r"required column\(s\) missing: KS4_ACADYR"):
        R.levels(folder)


def test_optional_cla_columns_may_be_absent(tmp_path):
    folder = _tiny(tmp_path)
    lines = [x.split(",") for x in (folder / R.CLA_FILE).read_text().splitlines()]
    (folder / R.CLA_FILE).write_text("\n".join(",".join(f[:-1]) for f in lines) + "\n")  # no REASON_PLACE_CHANGE
    assert got(folder) == {"P1": "looked_after", "P2": "referral_only"}


def test_excel_resave_of_a_tiny_world_reads_the_same(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cla = [line(R.CLA_FILE, "P1", CLA_DATE_EPI_COMM="2012-09-01"), line(R.CLA_FILE, "")]
    cin = [line(R.CIN_FILE, "P2", CIN_CIN_AT31MARCH="1"), line(R.CIN_FILE, "P3", CIN_InitialCategoryOfAbuse="MUL")]
    plain = write(tmp_path / "a", cla, cin, spine_of("P1", "P2", "P3", "P4"))
    excel = {}
    for file, lines in ((R.CLA_FILE, cla), (R.CIN_FILE, cin), (R.SPINE_FILE, spine_of("P1", "P2", "P3", "P4"))):
        rows = [header(file), *lines]
        text = "\r\n".join(",".join(f'"{v} "' for v in r.split(",")) for r in rows) + "\r\n"
        excel[file] = b"\xef\xbb\xbf" + text.encode()
    resaved = write(tmp_path / "b", raw=excel)
    assert (
        got(resaved)
        == got(plain)
        == {"P1": "looked_after", "P2": "child_in_need", "P3": "child_protection_plan", "P4": "none"}
    )
    assert reasons(resaved, R.CLA_FILE) == {}


# ------------------------------------------------------------------- a small synthetic world

RANK = {level: i for i, level in enumerate(R.LEVELS)}


def current_pipeline_levels(folder) -> pd.DataFrame:
    """The pipeline's levels (the assets' functions, in their order: `pipeline_levels.py`), as
    pupil_id and level text."""
    from mojdfe_assets_tests.pipeline_levels import pipeline_levels

    return pipeline_levels(folder).levels


def disagreement(ref: pd.DataFrame, pipe: pd.DataFrame) -> tuple[int, int]:
    """Spine pupils (of the reference) at a different level in the pipeline, and how many of
    those the pipeline leaves out altogether; pipeline ids are compared upper-cased and trimmed."""
    pipe = pipe.assign(pupil_id=pipe["pupil_id"].str.strip().str.upper())
    m = ref.merge(pipe, on="pupil_id", how="outer", suffixes=("_ref", "_pipe"))
    return int((m["level_ref"] != m["level_pipe"]).sum()), int(m["level_pipe"].isna().sum())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return F.clean_world(tmp_path_factory.mktemp("reference_world"), pupils=3_000, seed=1)


@pytest.fixture(scope="module")
def clean_levels(world):
    return R.levels(world)


def test_unfaulted_world_against_designed_truth(world, clean_levels):
    truth = pd.read_parquet(world / "_synthetic" / "truth.parquet")[["pupil_id", "level"]]
    df = clean_levels.merge(truth.rename(columns={"level": "truth"}), on="pupil_id", how="left")
    assert len(df) == 3_000 and df["truth"].notna().all() and df["pupil_id"].is_unique
    got_rank, want_rank = df["level"].map(RANK), df["truth"].map(RANK)
    assert (got_rank > want_rank).sum() == 0  # missing data can hide a level, never invent one
    none, cla = df[df["truth"] == "none"], df[df["truth"] == "looked_after"]
    assert (none["level"] == "none").all()
    share_cla = (cla["level"] == "looked_after").mean()
    assert share_cla > 0.9  # the rest are CLA rows delivered without a pupil reference
    pipe = current_pipeline_levels(world)
    n_diff, n_missing = disagreement(clean_levels, pipe)
    print(
        f"\nreference vs designed truth: {(df['level'] == df['truth']).mean():.2%} of spine pupils overall; "
        f"truth none {len(none)} all none; truth looked_after {share_cla:.1%} of {len(cla)}; "
        f"current pipeline agrees on {len(clean_levels) - n_diff} of {len(clean_levels)} ({n_missing} missing)"
    )


@pytest.fixture(scope="module")
def faulted(world, tmp_path_factory):
    """Every fault kind injected once into a copy of the world (seed 3)."""
    base = tmp_path_factory.mktemp("faulted")
    return {kind: (base / kind, F.inject(kind, world, base / kind, seed=3)) for kind in F.FAULTS}


@pytest.mark.parametrize("kind", list(F.FAULTS))
def test_reference_on_faulted_world(faulted, clean_levels, kind):
    folder, d = faulted[kind]
    assert d["file_error"] or any(d["rows"].values())  # the fault touched something
    if d["file_error"]:
        with pytest.raises(R.ReferenceFileError):
            R.levels(folder)
        return
    ref = R.levels(folder)
    assert ref["pupil_id"].tolist() == clean_levels["pupil_id"].tolist()  # the same spine, same order
    m = ref.merge(clean_levels, on="pupil_id", suffixes=("", "_clean"))
    changed = m[m["level"] != m["level_clean"]].set_index("pupil_id")["level"].to_dict()
    if kind == "unreadable_rows":
        assert set(changed) == set(d["pupils"]) and "looked_after" not in changed.values()
        return
    before = clean_levels.set_index("pupil_id")["level"]
    expected = {p: lv for p, lv in d["expected_levels"].items() if before[p] != lv}
    assert changed == expected
    if kind == "cin_only_rows_quarantined":
        assert len(expected) == len(d["pupils"]) > 0  # all of them were above referral only


@pytest.mark.parametrize(
    "kind",
    [
        "lowercase_refs",
        "missing_tokens_mixed",
        "duplicate_and_conflicting_rows",
        "excel_resave",
        "cin_only_rows_quarantined",
    ],
)
def test_faults_are_deterministic_given_the_seed(world, tmp_path, kind):
    def digest(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}

    a = F.inject(kind, world, tmp_path / "a", seed=5)
    b = F.inject(kind, world, tmp_path / "b", seed=5)
    assert a == b and digest(tmp_path / "a") == digest(tmp_path / "b")
    if kind in ("lowercase_refs", "cin_only_rows_quarantined"):  # kinds that sample pupils
        assert F.inject(kind, world, tmp_path / "c", seed=6)["pupils"] != a["pupils"]


def test_current_pipeline_disagreement_per_fault(faulted, clean_levels):
    """Printed, not asserted (the differential test asserts it): how many spine pupils the
    pipeline places at a different level from the reference on each faulted world."""
    print(f"\n{'fault':34s} {'reference':>10s} {'pipeline':>40s}")
    for kind, (folder, _) in faulted.items():
        try:
            ref, ref_text = R.levels(folder), "levels"
        except R.ReferenceFileError:
            ref, ref_text = clean_levels, "raises"  # compared with what the file should have said
        try:
            n_diff, n_missing = disagreement(ref, current_pipeline_levels(folder))
            pipe_text = f"{n_diff} misclassified ({n_missing} not in its spine)"
        except Exception as err:  # noqa: BLE001 - reported, not asserted
            pipe_text = f"raises {type(err).__name__}"
        print(f"{kind:34s} {ref_text:>10s} {pipe_text:>40s}")

"""A corpus of broken extracts, each a small synthetic world with exactly one defect.

For every case the outcome is exact: a clear error naming the file, column and problem, or the
quarantine of exactly the bad rows with their reason, and raw rows = clean + quarantined rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import pytest

from mojdfe_assets import extracts as X
from mojdfe_assets import social_care as S
from mojdfe_assets import synthetic
from mojdfe_assets.reading import ExtractError, load_extract
from mojdfe_assets.rules import clean_table


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Delivered lines of a small world, minus the rows the world itself quarantines."""
    folder = tmp_path_factory.mktemp("corpus_base")
    synthetic.generate(folder, pupils=600, seed=21)
    lines = {}
    for e in (X.CLA, X.CIN, X.SPINE):
        raw, _ = load_extract(folder / e.file, e)
        bad = set(clean_table(raw, e).quarantine["source_row"])
        text = (folder / e.file).read_text().splitlines()
        lines[e.name] = [text[0]] + [t for i, t in enumerate(text[1:], start=1) if i not in bad]
    return lines


@dataclass
class Outcome:
    raw: pd.DataFrame
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    report: object

    @property
    def reasons(self) -> dict[int, str]:
        return dict(zip(self.quarantine["source_row"], self.quarantine["reasons"]))


def run(tmp_path, extract, content: bytes | str) -> Outcome:
    path = tmp_path / extract.file
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    raw, report = load_extract(path, extract)
    out = clean_table(raw, extract)
    assert len(raw) == len(out.clean) + len(out.quarantine)  # every input row is accounted for
    assert set(out.clean["source_row"]) | set(out.quarantine["source_row"]) == set(raw["source_row"])
    return Outcome(raw, out.clean, out.quarantine, report)


def join(lines):
    return "\n".join(lines) + "\n"


def fields(line):
    return line.split(",")


def col(extract, name):
    return extract.columns.index(name)


def edit(lines, extract, row, **values):
    """Set delivered columns of data row `row` (1-based)."""
    out = list(lines)
    f = fields(out[row])
    for name, v in values.items():
        f[col(extract, name)] = v
    out[row] = ",".join(f)
    return out


def first_row(lines, extract, predicate) -> int:
    for i, line in enumerate(lines[1:], start=1):
        f = dict(zip(extract.columns, fields(line)))
        if predicate(f):
            return i
    raise AssertionError("no row matches")


def ceased_row(lines):
    return first_row(lines, X.CLA, lambda f: f["CLA_DATE_EPI_CEASED"].strip() != "" and "/" in f["CLA_DATE_EPI_COMM"])


def only(outcome, rows, reason):
    assert outcome.reasons == dict.fromkeys(rows, reason)


# ------------------------------------------------------------------------------ file-level errors


def test_missing_required_column(base, tmp_path):
    i = col(X.CLA, "CLA_DATE_EPI_COMM")
    lines = [",".join(f[:i] + f[i + 1:]) for f in map(fields, base["cla"])]
    with pytest.raises(ExtractError, match=r"^CLA_2006_to_2018\.csv: required column\(s\) missing: CLA_DATE_EPI_COMM$"):
        run(tmp_path, X.CLA, join(lines))


def test_empty_file(tmp_path):
    with pytest.raises(ExtractError, match=r"^CLA_2006_to_2018\.csv: the file is empty"):
        run(tmp_path, X.CLA, "")


def test_header_only(base, tmp_path):
    with pytest.raises(ExtractError, match=r"^CIN_08-09_to_16-17\.csv: header only, no data rows$"):
        run(tmp_path, X.CIN, join(base["cin"][:1]))


def test_non_utf8_header(base, tmp_path):
    with pytest.raises(ExtractError, match=r"^CLA_2006_to_2018\.csv: the header line is not UTF-8 text"):
        run(tmp_path, X.CLA, b"MoJUID,\xe9" + join(base["cla"])[6:].encode())


# --------------------------------------------------------------------------- accepted variations


def test_extra_unknown_column_is_reported_and_ignored(base, tmp_path):
    lines = [base["cla"][0] + ",NOTES"] + [line + ",x" for line in base["cla"][1:]]
    out = run(tmp_path, X.CLA, join(lines))
    assert out.report.extra == ["NOTES"] and out.reasons == {} and "NOTES" not in out.clean


def test_renamed_column_case_is_matched(base, tmp_path):
    lines = [base["cla"][0].replace("CLA_ACADYR", "cla_acadyr")] + base["cla"][1:]
    out = run(tmp_path, X.CLA, join(lines))
    assert out.report.renamed == {"cla_acadyr": "CLA_ACADYR"} and out.reasons == {}
    assert len(out.clean) == len(base["cla"]) - 1


def test_academic_year_in_other_forms_is_normalised(base, tmp_path):
    lines = edit(base["cin"], X.CIN, 3, CIN_ACADYR="2012/13")
    lines = edit(lines, X.CIN, 4, CIN_ACADYR="2012-2013")
    out = run(tmp_path, X.CIN, join(lines))
    assert out.reasons == {}
    got = out.clean.set_index("source_row").loc[[3, 4], ["academic_year", "academic_year_start", "academic_year_end"]]
    assert got.values.tolist() == [["2012/2013", 2012, 2013]] * 2


def test_stray_whitespace_and_quotes_are_stripped(base, tmp_path):
    lines = edit(base["cla"], X.CLA, 2, CLA_PLACEMENT=' "U4" ', CLA_CAT_NEED="  N1 ", CLA_CLA_LA=" 201")
    out = run(tmp_path, X.CLA, join(lines))
    assert out.reasons == {}
    row = out.clean.set_index("source_row").loc[2]
    assert (row["cla_placement"], row["cla_cat_need"], row["cla_cla_la"]) == ("U4", "N1", "201")


def test_numeric_flags_given_as_text(base, tmp_path):
    lines = edit(base["cla"], X.CLA, 1, CLA_CLA_31_MARCH="Yes")
    lines = edit(lines, X.CLA, 2, CLA_CLA_31_MARCH="true")
    lines = edit(lines, X.CLA, 3, CLA_CLA_31_MARCH="NO")
    lines = edit(lines, X.CLA, 4, CLA_CLA_31_MARCH="maybe")
    out = run(tmp_path, X.CLA, join(lines))
    only(out, [4], "cla_cla_31_march: not a 0/1 flag")
    flags = out.clean.set_index("source_row")["cla_cla_31_march"]
    assert [flags[1], flags[2], flags[3]] == [True, True, False]


# ------------------------------------------------------------------------------- quarantined rows


def test_unknown_code_value(base, tmp_path):
    out = run(tmp_path, X.CLA, join(edit(base["cla"], X.CLA, 5, CLA_PLACEMENT="XX")))
    only(out, [5], "cla_placement: unknown code (not in cla_placement)")


@pytest.mark.parametrize("bad", ["2010-13-45", "31/02/2011", "3rd May 2010"])
def test_malformed_and_impossible_dates(base, tmp_path, bad):
    out = run(tmp_path, X.CLA, join(edit(base["cla"], X.CLA, 6, CLA_DATE_EPI_COMM=bad)))
    only(out, [6], "cla_date_epi_comm: malformed or impossible date")


def test_date_in_1900(base, tmp_path):
    out = run(tmp_path, X.CLA, join(edit(base["cla"], X.CLA, 7, CLA_POC_START="01/01/1900")))
    only(out, [7], "cla_poc_start: before 1980")


def test_future_date(base, tmp_path):
    k = ceased_row(base["cla"])
    out = run(tmp_path, X.CLA, join(edit(base["cla"], X.CLA, k, CLA_DATE_EPI_CEASED="01/01/2030")))
    only(out, [k], "cla_date_epi_ceased: after the end of its collection year")


def test_episode_ceased_before_commenced(base, tmp_path):
    k = ceased_row(base["cla"])
    d, m, y = map(int, fields(base["cla"][k])[col(X.CLA, "CLA_DATE_EPI_COMM")].split("/"))
    before = (date(y, m, d) - timedelta(days=1)).strftime("%d/%m/%Y")
    out = run(tmp_path, X.CLA, join(edit(base["cla"], X.CLA, k, CLA_DATE_EPI_CEASED=before)))
    only(out, [k], "cla_date_epi_ceased: before cla_date_epi_comm (ceased before commenced)")


def test_duplicate_rows(base, tmp_path):
    lines = base["cla"] + [base["cla"][8]]
    out = run(tmp_path, X.CLA, join(lines))
    only(out, [len(lines) - 1], "row: exact duplicate of an earlier row")


def test_same_pupil_twice_in_a_year_with_conflicting_values(base, tmp_path):
    k = first_row(base["cla"], X.CLA, lambda f: f["CLA_PupilMatchingRefAnonymous"] != "" and f["CLA_PLACEMENT"] != "K2")
    twin = edit(base["cla"], X.CLA, k, CLA_PLACEMENT="K2")[k]
    lines = base["cla"] + [twin]
    out = run(tmp_path, X.CLA, join(lines))
    only(out, [k, len(lines) - 1], "row: conflicting rows for the same pupil, year and episode start")


@pytest.mark.parametrize("count", ["99", "-1"])
def test_absurd_previous_cpp_count(base, tmp_path, count):
    out = run(tmp_path, X.CIN, join(edit(base["cin"], X.CIN, 9, CIN_NumberOfPreviousCPP=count)))
    only(out, [9], "cin_number_of_previous_cpp: outside 0..30")


def test_count_that_is_not_a_number(base, tmp_path):
    out = run(tmp_path, X.CLA, join(edit(base["cla"], X.CLA, 10, CLA_POC_LENGTH="abc")))
    only(out, [10], "cla_poc_length: not a whole number")


def test_impossible_academic_year(base, tmp_path):
    out = run(tmp_path, X.CIN, join(edit(base["cin"], X.CIN, 11, CIN_ACADYR="2012/2014")))
    only(out, [11], "academic_year: not an academic year like 2012/2013")


def test_missing_academic_year(base, tmp_path):
    out = run(tmp_path, X.CIN, join(edit(base["cin"], X.CIN, 12, CIN_ACADYR=" ")))
    only(out, [12], "academic_year: missing")


def test_non_utf8_bytes_in_a_row(base, tmp_path):
    lines = edit(base["cla"], X.CLA, 13, CLA_CLA_LA="2\udce901")
    data = join(lines).encode("utf-8", errors="surrogateescape")
    out = run(tmp_path, X.CLA, data)
    only(out, [13], "row: bytes that are not UTF-8 text")


def test_truncated_final_line(base, tmp_path):
    last = base["cla"][-1]
    text = "\n".join(base["cla"][:-1]) + "\n" + last[: len(last) // 3]  # cut mid-line, no newline
    out = run(tmp_path, X.CLA, text)
    n = len(base["cla"]) - 1
    k = text.splitlines()[-1].count(",") + 1
    only(out, [n], f"row: {k} field(s) instead of {len(X.CLA.columns)} (truncated or malformed line)")
    assert out.quarantine.set_index("source_row").loc[n, "raw_line"] == text.splitlines()[-1]


def test_line_with_an_extra_field_in_the_middle(base, tmp_path):
    lines = list(base["cla"])
    lines[4] = lines[4] + ",EXTRA"
    out = run(tmp_path, X.CLA, join(lines))
    only(out, [4], f"row: {len(X.CLA.columns) + 1} field(s) instead of {len(X.CLA.columns)} "
                   "(truncated or malformed line)")
    assert list(out.clean["source_row"][:4]) == [1, 2, 3, 5]  # later rows keep their own numbers


def test_pupil_in_cla_but_not_in_spine_is_counted(base, tmp_path):
    in_spine = {fields(line)[1] for line in base["spine"][1:]}
    k = first_row(base["cla"], X.CLA, lambda f: f["CLA_PupilMatchingRefAnonymous"] in in_spine)
    pid = fields(base["cla"][k])[col(X.CLA, "CLA_PupilMatchingRefAnonymous")]
    spine_lines = [line for line in base["spine"] if fields(line)[1] != pid]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cla = run(tmp_path / "a", X.CLA, join(base["cla"])).clean
    cin = run(tmp_path / "a", X.CIN, join(base["cin"])).clean
    eps = S.derive_cla_episodes(cla)
    args = (S.summarise_cin(cin), S.derive_cpp_flags(cin), S.summarise_cla(eps, cla), cin, cla)
    full = run(tmp_path / "b", X.SPINE, join(base["spine"])).clean
    less = run(tmp_path / "a", X.SPINE, join(spine_lines)).clean
    _, before = S.derive_intervention(full, *args)
    levels, after = S.derive_intervention(less, *args)
    assert pid not in set(levels["pupil_id"]) and len(levels) == len(less)
    assert after["cla"]["pupils_not_in_spine"] == before["cla"]["pupils_not_in_spine"] + 1
    rows_of_pid = sum(fields(line)[col(X.CLA, "CLA_PupilMatchingRefAnonymous")] == pid for line in base["cla"][1:])
    assert after["cla"]["rows_with_pupil_not_in_spine"] == before["cla"]["rows_with_pupil_not_in_spine"] + rows_of_pid

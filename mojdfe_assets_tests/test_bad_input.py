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
from mojdfe_assets.rules import CleaningRules, clean_table


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Delivered lines of a small world, minus the rows the world itself quarantines."""
    folder = tmp_path_factory.mktemp("corpus_base")
    synthetic.generate(folder, pupils=600, seed=21)
    lines = {}
    for e in X.ALL:
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
    cleaned: object = None

    @property
    def reasons(self) -> dict[int, str]:
        return dict(zip(self.quarantine["source_row"], self.quarantine["reasons"]))


def run(tmp_path, extract, content: bytes | str, rules: CleaningRules | None = None) -> Outcome:
    path = tmp_path / extract.file
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    raw, report = load_extract(path, extract)
    out = clean_table(raw, extract, rules)
    assert len(raw) == len(out.clean) + len(out.quarantine)  # every input row is accounted for
    assert set(out.clean["source_row"]) | set(out.quarantine["source_row"]) == set(raw["source_row"])
    return Outcome(raw, out.clean, out.quarantine, report, out)


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
    lines = [",".join(f[:i] + f[i + 1 :]) for f in map(fields, base["cla"])]
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
    only(
        out,
        [4],
        f"row: {len(X.CLA.columns) + 1} field(s) instead of {len(X.CLA.columns)} (truncated or malformed line)",
    )
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


# --------------------------------------------------------------------- issue 15: real-shaped input
# Each item of issue 15 that is about one extract, with its exact outcome.


def rows_where(lines, extract, predicate) -> list[int]:
    return [i for i, line in enumerate(lines[1:], start=1) if predicate(dict(zip(extract.columns, fields(line))))]


def test_item3_pupil_references_in_another_case_are_normalised_and_counted(base, tmp_path):
    k = first_row(base["cla"], X.CLA, lambda f: f["CLA_PupilMatchingRefAnonymous"] != "" and f["MoJUID"] != "")
    pid = fields(base["cla"][k])[col(X.CLA, "CLA_PupilMatchingRefAnonymous")]
    moj = fields(base["cla"][k])[col(X.CLA, "MoJUID")]
    assert moj != moj.lower()  # the synthetic MoJUIDs have letters, so lower case is a change
    lines = edit(base["cla"], X.CLA, k, CLA_PupilMatchingRefAnonymous=f" {pid.lower()} ", MoJUID=moj.lower())
    out = run(tmp_path, X.CLA, join(lines))
    assert out.reasons == {}
    assert out.clean.set_index("source_row").loc[k, "pupil_id"] == pid.upper()
    assert out.cleaned.normalised == {"moj_uid": 1, "pupil_id": 1}  # references that link only once normalised


def test_item3_sex_in_lower_case_and_as_1_2(base, tmp_path):
    spine = base["spine"]
    lines = [spine[0]] + [line.replace(",M,", ",m,").replace(",F,", ",2,") for line in spine[1:]]
    out = run(tmp_path, X.SPINE, join(lines))
    assert out.reasons == {} and len(out.clean) == len(spine) - 1  # no pupil lost (m/f removed 30 before)
    assert set(out.clean["ks4_gender"].astype(str)) == {"M", "F"}
    assert isinstance(out.clean["ks4_gender"].dtype, pd.CategoricalDtype)
    bad = run(tmp_path, X.SPINE, join(edit(spine, X.SPINE, 3, KS4_GENDER="3")))
    only(bad, [3], "ks4_gender: unknown code (not in sex)")


@pytest.mark.parametrize("token", ["NA", "NULL", ".", "-", "n/a", '"NaN"'])
def test_item4_missing_tokens_are_missing_in_every_column(base, tmp_path, token):
    lines = [base["cin"][0]] + [
        ",".join(token if v.strip() == "" else v for v in fields(line)) for line in base["cin"][1:]
    ]
    out = run(tmp_path, X.CIN, join(lines))
    assert out.reasons == {}  # not an unknown code, malformed flag or count anywhere
    blank_refs = rows_where(base["cin"], X.CIN, lambda f: f["CIN_PupilMatchingRefAnonymous"].strip() == "")
    assert blank_refs and out.clean.set_index("source_row").loc[blank_refs, "pupil_id"].isna().all()  # no pseudo-child
    assert token.strip('"').upper() not in set(out.clean["pupil_id"].dropna()) | set(out.clean["moj_uid"].dropna())
    cla = [base["cla"][0]] + [
        ",".join(token if v.strip() == "" else v for v in fields(line)) for line in base["cla"][1:]
    ]
    out = run(tmp_path, X.CLA, join(cla))
    assert out.reasons == {}
    assert out.clean["cla_date_epi_ceased"].isna().sum() == len(
        rows_where(base["cla"], X.CLA, lambda f: f["CLA_DATE_EPI_CEASED"].strip() == "")
    )


def test_item4_missing_tokens_are_configurable(base, tmp_path):
    lines = edit(base["cin"], X.CIN, 4, CIN_PrimaryNeedCode=".", CIN_PupilMatchingRefAnonymous="NA")
    out = run(tmp_path, X.CIN, join(lines), rules=CleaningRules(missing_tokens=["NA"]))
    only(out, [4], "cin_primary_need_code: unknown code (not in cin_primary_need)")  # "." is a value now
    assert pd.isna(out.quarantine["pupil_id"].item())  # NA still missing


def test_item6_a_month_first_date_column_stops_with_the_evidence(base, tmp_path):
    rows = rows_where(base["cla"], X.CLA, lambda f: "/" in f["CLA_DATE_EPI_COMM"])
    lines = list(base["cla"])
    for k in rows:  # the whole file re-saved month-first, as US Excel writes it (m/d/yyyy)
        v = fields(lines[k])[col(X.CLA, "CLA_DATE_EPI_COMM")]
        d, m, y = v.split("/")
        lines = edit(lines, X.CLA, k, CLA_DATE_EPI_COMM=f"{int(m)}/{int(d)}/{y}")
    n = sum(int(fields(lines[k])[col(X.CLA, "CLA_DATE_EPI_COMM")].split("/")[1]) > 12 for k in rows)
    with pytest.raises(ExtractError) as err:
        run(tmp_path, X.CLA, join(lines))
    assert str(err.value) == (
        f"CLA_2006_to_2018.csv, column CLA_DATE_EPI_COMM: {n} dates have a second field over 12 and none a first "
        "field over 12: the file looks re-saved month-first (mm/dd/yyyy); re-export it day-first (dd/mm/yyyy)"
    )
    assert n > 12  # the evidence is the count of dates that only make sense month-first


def test_item6_one_impossible_day_first_date_is_only_that_row(base, tmp_path):
    k = first_row(base["cla"], X.CLA, lambda f: "/" in f["CLA_DATE_EPI_COMM"])
    out = run(tmp_path, X.CLA, join(edit(base["cla"], X.CLA, k, CLA_DATE_EPI_COMM="09/25/2012")))
    assert out.reasons[k].startswith("cla_date_epi_comm: malformed or impossible date") and len(out.reasons) == 1


def test_item7_an_episode_outside_its_collection_year_is_quarantined(base, tmp_path):
    k = first_row(base["cla"], X.CLA, lambda f: f["CLA_ACADYR"] >= "2012" and f["CLA_PupilMatchingRefAnonymous"])
    lines = edit(
        base["cla"],
        X.CLA,
        k,
        CLA_POC_START="05/05/2009",
        CLA_DATE_EPI_COMM="05/05/2009",
        CLA_DATE_EPI_CEASED="20/06/2009",
        CLA_REC="E13",
    )
    out = run(tmp_path, X.CLA, join(lines))
    only(out, [k], "row: episode not open at any point of its collection year (another year's episode)")
    assert out.quarantine["pupil_id"].item() == fields(lines[k])[col(X.CLA, "CLA_PupilMatchingRefAnonymous")]


def test_cla_rec_minus10_is_an_open_episode(base, tmp_path):
    k = first_row(base["cla"], X.CLA, lambda f: f["CLA_DATE_EPI_CEASED"].strip() == "" and f["CLA_REC"].strip() == "")
    out = run(tmp_path, X.CLA, join(edit(base["cla"], X.CLA, k, CLA_REC="-10")))
    assert out.reasons == {}
    row = out.clean.set_index("source_row").loc[k]
    assert pd.isna(row["cla_rec"]) and pd.isna(row["cla_date_epi_ceased"])
    eps = S.derive_cla_episodes(out.clean)
    assert (
        eps.loc[eps["episode_start"] == row["cla_date_epi_comm"]]
        .loc[lambda e: e["pupil_id"] == row["pupil_id"], "censored"]
        .item()
    )


# Whole extracts that were quarantined by one systematic spelling: now read.


def test_trailing_delimiter_on_every_row_is_accepted_and_reported(base, tmp_path):
    lines = [base["exclusions"][0]] + [line + "," for line in base["exclusions"][1:]]
    out = run(tmp_path, X.EXCLUSIONS, join(lines))
    assert out.reasons == {} and len(out.clean) == len(lines) - 1
    assert out.report.trailing_delimiter and out.report.metadata()["trailing_delimiter_on_every_row"] is True
    assert not run(tmp_path, X.EXCLUSIONS, join(base["exclusions"])).report.trailing_delimiter


def test_trailing_delimiter_file_with_a_value_after_the_last_column(base, tmp_path):
    lines = [base["exclusions"][0]] + [line + "," for line in base["exclusions"][1:]]
    lines[3] = lines[3] + "x"
    out = run(tmp_path, X.EXCLUSIONS, join(lines))
    only(out, [3], "row: 7 values, one after the last column (the other rows end with an empty field)")


@pytest.mark.parametrize("form", ["iso", "dmy"])
def test_dates_with_a_time_part_are_read(base, tmp_path, form):
    def timed(v):
        v = v.strip()
        if not v:
            return v
        d, m, y = v.split("/")
        return f"{y}-{m}-{d} 00:00:00" if form == "iso" else f"{v} 00:00"

    lines = [base["offending"][0]] + [
        ",".join([f[0], timed(f[1]), timed(f[2]), f[3]]) for f in map(fields, base["offending"][1:])
    ]
    out = run(tmp_path, X.PNC, join(lines))
    plain = run(tmp_path, X.PNC, join(base["offending"]))
    assert out.reasons == {} and out.clean["pnc_disposal_date"].equals(plain.clean["pnc_disposal_date"])


def test_flags_written_1_0_and_0_0_are_read(base, tmp_path):
    i = col(X.KS4, "KS4_LEVEL2_EM")
    lines = [base["ks4"][0]] + [
        ",".join(v + ".0" if j == i and v in ("0", "1") else v for j, v in enumerate(fields(x)))
        for x in base["ks4"][1:]
    ]
    out = run(tmp_path, X.KS4, join(lines))
    plain = run(tmp_path, X.KS4, join(base["ks4"]))
    assert out.reasons == {} and out.clean["ks4_level2_em"].equals(plain.clean["ks4_level2_em"])
    assert out.clean["ks4_level2_em"].sum() > 0


# Crashes and unclear stops: now a clear error or quarantine.


@pytest.mark.parametrize(
    "extra, shown",
    [("CLA_PLACEMENT", "'CLA_PLACEMENT', 'CLA_PLACEMENT'"), ("cla_placement", "'CLA_PLACEMENT', 'cla_placement'")],
)
def test_duplicated_header_names_are_an_error(base, tmp_path, extra, shown):
    lines = [base["cla"][0] + "," + extra] + [line + ",K2" for line in base["cla"][1:]]
    with pytest.raises(ExtractError) as err:
        run(tmp_path, X.CLA, join(lines))
    assert str(err.value) == (
        "CLA_2006_to_2018.csv: the header has duplicated column names (compared "
        f"case-insensitively): {shown}: which copy holds the column cannot be told; deliver "
        "each once"
    )


@pytest.mark.parametrize("sep, what", [("\t", "tab"), (";", "semicolon"), ("|", "pipe")])
def test_another_delimiter_is_named(base, tmp_path, sep, what):
    text = join(base["spine"]).replace(",", sep)
    with pytest.raises(ExtractError) as err:
        run(tmp_path, X.SPINE, text)
    assert str(err.value) == (
        f"NPD_KS4_spine.csv: the header has no comma but 7 {what} characters: the file looks "
        f"{what}-delimited; deliver it comma-separated (CSV)"
    )


def test_a_row_dated_outside_the_extract_window_is_quarantined(base, tmp_path):
    k = first_row(base["cin"], X.CIN, lambda f: f["CIN_PupilMatchingRefAnonymous"] != "")
    out = run(tmp_path, X.CIN, join(edit(base["cin"], X.CIN, k, CIN_ACADYR="2019/2020")))
    only(out, [k], "academic_year: outside the extract's years 2008/2009..2016/2017")
    assert out.quarantine["pupil_id"].item() == fields(base["cin"][k])[col(X.CIN, "CIN_PupilMatchingRefAnonymous")]


def test_a_duplicated_la_context_row_with_other_values_quarantines_both(base, tmp_path):
    twin = edit(base["la_context"], X.LA_CONTEXT, 2, IDACI_AVERAGE_SCORE="0.301")[2]
    lines = base["la_context"] + [twin]
    out = run(tmp_path, X.LA_CONTEXT, join(lines))
    only(out, [2, len(lines) - 1], "la_code: conflicting rows for the same LA")


def test_spine_keeps_the_first_clean_row_of_a_pupil(base, tmp_path):
    spine = base["spine"]
    # row 2 bad, its copy good; row 5 delivered again exactly; row 7 again with another LA
    lines = edit(spine, X.SPINE, 2, KS4_GENDER="X") + [spine[2], spine[5], edit(spine, X.SPINE, 7, KS4_LA="999")[7]]
    out = run(tmp_path, X.SPINE, join(lines))
    n = len(spine) - 1
    # the copy of row 5 is an exact duplicate (a rule of its own): the first clean row is decided
    # among rows that pass every other rule, so row 5 stays and the copy is quarantined once
    assert out.reasons == {
        2: "ks4_gender: unknown code (not in sex)",
        n + 2: "row: exact duplicate of an earlier row",
        n + 3: "pupil_id: already on an earlier clean row (the first clean row is kept)",
    }
    assert fields(spine[2])[1] in set(out.clean["pupil_id"])  # kept through its later, clean row
    assert out.clean.set_index("pupil_id").loc[fields(spine[2])[1], "source_row"] == n + 1


def test_item8_a_pupil_with_several_absence_rows_is_kept_and_counted(base, tmp_path):
    from mojdfe_assets.clean import pupils_with_several_rows

    second_school = edit(
        base["absence"],
        X.ABSENCE,
        4,
        AB_SESSIONS_POSSIBLE="300",
        AB_SESSIONS_UNAUTHORISED="2",
        AB_SESSIONS_AUTHORISED="1",
    )[4]
    out = run(tmp_path, X.ABSENCE, join(base["absence"] + [second_school]))
    assert out.reasons == {} and len(out.clean) == len(base["absence"])  # both rows kept (summed downstream)
    assert pupils_with_several_rows(out.clean) == 1 and X.ABSENCE.summed_per_pupil


def test_cleaning_rules_are_described_configuration():
    fields = CleaningRules.to_config_schema().as_field().config_type.fields
    assert fields["missing_tokens"].default_value == ["NA", "N/A", "NULL", "NaN", ".", "-"]
    assert fields["max_quarantined_share"].default_value == 0.05
    assert "missing" in fields["missing_tokens"].description
    assert "quarantined_share" in fields["max_quarantined_share"].description

"""A reference implementation of the issue-15 rules: the intervention level of every spine pupil.

Written for the differential test (pipeline level == reference level for every spine pupil, on
each faulted world of `faults.py`). It shares NO code with `mojdfe_assets`: the file names, column
names and code lists are written out here as literals, and every rule is plain Python applied
row by row, so that the two implementations can only agree by both following the same contract.
It is meant for small worlds (a few thousand pupils): clarity over speed.

The contract, as numbered in issue 15:

1. Missing values: after trimming spaces, tabs, CR/LF and surrounding quotes, a value is missing
   if it is empty or one of NA, N/A, NULL, NaN, ".", "-" (any case). Every column.
2. Identifiers (MoJUID, *_PupilMatchingRefAnonymous) are trimmed and upper-cased.
3. Codes are compared upper-cased; CIN need typos A2-A5 mean N2-N5; spine sex M/F (any case),
   1 = M, 2 = F, anything else quarantines the spine row (missing sex is allowed).
4. Dates dd/mm/yyyy (1- or 2-digit day and month) or yyyy-mm-dd, optionally followed by a time
   hh:mm or hh:mm:ss (dropped). Impossible or other forms quarantine the row. A dd/mm/yyyy column
   whose values only make sense month-first stops everything (`ReferenceFileError`).
5. Flags: 1, 1.0, true, yes, y, t / 0, 0.0, false, no, n, f (any case); missing stays missing;
   anything else quarantines the row.
6. Academic years 2012/2013, 2012/13, 2012-2013, 2012-13 (end year 2013); required; CLA end years
   2006..2018, CIN 2009..2017.
7. CLA row rules (commenced missing, ceased before commenced, dates after 31 March of the
   collection year or before 1980, episode not open in its collection year, exact duplicates,
   conflicting copies of one episode, unknown codes, bad flags, bad numbers).
8. CIN row rules (codes, flags, previous plans 0..30, ages 0..25, academic year, duplicates).
9. Spine rules (pupil reference and KS4 year required, sex, year and month of birth, FSM flag, LA
   three digits; one row per pupil: the first row that passes every other rule is kept, later
   ones quarantined). Spine pupils = pupils of the clean spine rows.
10. Membership (in CLA, in CIN) from every readable row with a pupil reference, quarantined or not.
11. Level per spine pupil, highest wins: looked_after (in CLA) > child_protection_plan (method a:
    a category of abuse on a clean CIN row; method b: previous plans summed over clean rows >= 1)
    > child_in_need (CIN_CIN_AT31MARCH true on a clean row) > referral_only (in CIN) > none.

Where the contract is silent, this module decides as written in the comments marked "Reading:".
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

CLA_FILE = "CLA_2006_to_2018.csv"
CIN_FILE = "CIN_08-09_to_16-17.csv"
SPINE_FILE = "NPD_KS4_spine.csv"

LEVELS = ("none", "referral_only", "child_in_need", "child_protection_plan", "looked_after")

TRIM = " \t\r\n\"'"
MISSING_TOKENS = {"NA", "N/A", "NULL", "NAN", ".", "-"}
FLAG_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
FLAG_FALSE = {"0", "0.0", "false", "no", "n", "f"}
EARLIEST_DATE = dt.date(1980, 1, 1)

# --- Code lists (copied from the SSDA903 and CIN census lists; membership only, no valid years) ---
CLA_CATEGORY_OF_NEED = {"N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"}
CLA_LEGAL_STATUS = {"C1", "C2", "D1", "E1", "J1", "J2", "J3", "L1", "L2", "L3", "V2", "V3", "V4"}
CLA_PLACEMENT = {
    "A3",
    "A4",
    "A5",
    "A6",
    "H5",
    "K1",
    "K2",
    "K3",
    "P1",
    "P2",
    "P3",
    "R1",
    "R2",
    "R3",
    "R5",
    "S1",
    "T0",
    "T1",
    "T2",
    "T3",
    "T4",
    "U1",
    "U2",
    "U3",
    "U4",
    "U5",
    "U6",
    "Z1",
    "Z11",
    "Z12",
    "Z13",
    "Z14",
}
CLA_REASON_CEASED = {
    "X1",
    "E11",
    "E12",
    "E13",
    "E14",
    "E15",
    "E16",
    "E17",
    "E2",
    "E3",
    "E41",
    "E43",
    "E44",
    "E45",
    "E46",
    "E47",
    "E48",
    "E4A",
    "E4B",
    "E5",
    "E6",
    "E7",
    "E8",
    "E9",
}
CLA_REC_NO_END = "-10"  # CLA_REC -10: the episode has not ended (missing, not an unknown code)
CLA_REASON_PLACE_CHANGE = {
    "CARPL",
    "CLOSE",
    "ALLEG",
    "STAND",
    "APPRR",
    "CREQB",
    "CREQO",
    "CHILD",
    "LAREQ",
    "PLACE",
    "CUSTOD",
    "OTHER",
}
CIN_CATEGORY_OF_ABUSE = {"NEG", "PHY", "SAB", "EMO", "MUL"}
CIN_PRIMARY_NEED = {"N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"}
CIN_NEED_ALIASES = {"A2": "N2", "A3": "N3", "A4": "N4", "A5": "N5"}
CIN_REASON_FOR_CLOSURE = {"RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8", "RC9"}


class ReferenceFileError(ValueError):
    """A file as a whole cannot be used (not comma-delimited, duplicated header names, a
    month-first date column, a missing required column, no header): names the file and problem."""


# ---------------------------------------------------------------------------------------------
# Column kinds. Each parser takes the delivered text and returns (value, problem); value None is
# missing; problem None means the value is acceptable.

_YEAR = re.compile(r"^(\d{4})[/-](\d{4}|\d{2})$")
_TIME = r"(?: \d{2}:\d{2}(?::\d{2})?)?"  # Reading: a single space, then hh:mm or hh:mm:ss (format only)
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME + "$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})" + _TIME + "$")  # Reading: ISO month and day have 2 digits
_WHOLE = re.compile(r"^[+-]?\d+(?:\.0*)?$")  # Reading: "2" and "2.0" are whole numbers; "2e0" is not
_LA = re.compile(r"^\d{3}$")


def present(raw: str | None) -> str | None:
    """Rule 1: the trimmed value, or None when missing."""
    if raw is None:
        return None
    s = raw.strip(TRIM)
    if s == "" or s.upper() in MISSING_TOKENS:
        return None
    return s


def parse_id(s):
    return (None if s is None else s.upper()), None


def parse_year(s, lo=None, hi=None):
    if s is None:
        return None, "missing"
    m = _YEAR.match(s)
    if not m:
        return None, "not an academic year"
    start, end_text = int(m.group(1)), m.group(2)
    end = start + 1
    if int(end_text) != (end if len(end_text) == 4 else end % 100):
        return None, "not an academic year"
    if lo is not None and not lo <= end <= hi:
        return None, f"collection year outside {lo}..{hi}"
    return end, None


def parse_date(s):
    if s is None:
        return None, None
    m = _DMY.match(s)
    if m:
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _ISO.match(s)
        if not m:
            return None, "malformed date"
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return dt.date(y, mo, d), None
    except ValueError:
        return None, "impossible date"


def parse_flag(s):
    if s is None:
        return None, None
    low = s.lower()
    if low in FLAG_TRUE:
        return True, None
    if low in FLAG_FALSE:
        return False, None
    return None, "not a flag"


def parse_whole(s, lo, hi):
    if s is None:
        return None, None
    if not _WHOLE.match(s):
        return None, "not a whole number"
    n = int(s.split(".")[0])
    if not lo <= n <= hi:
        return None, f"outside {lo}..{hi}"
    return n, None


def parse_code(s, codes, aliases=None, no_end=None):
    if s is None:
        return None, None
    if no_end is not None and s == no_end:
        return None, None
    up = s.upper()
    if aliases:
        up = aliases.get(up, up)
    if up not in codes:
        return None, "unknown code"
    return up, None


def parse_sex(s):
    if s is None:
        return None, None  # Reading: only the listed columns are required; missing sex is allowed
    up = s.upper()
    if up in ("M", "1"):
        return "M", None
    if up in ("F", "2"):
        return "F", None
    return None, "not M/F/1/2"


def parse_la(s):
    if s is None:
        return None, None
    return (s, None) if _LA.match(s) else (None, "not three digits")


def parse_text(s):
    return s, None


@dataclass(frozen=True)
class Column:
    parse: object  # parser(trimmed value or None) -> (value, problem)
    required: bool = False
    optional: bool = False  # a release may lack the column (then every value is missing)
    kind: str = ""  # "date" for the month-first file rule


def _code(codes, **kw):
    return lambda s: parse_code(s, codes, **kw)


def _whole(lo, hi):
    return lambda s: parse_whole(s, lo, hi)


def _year(lo=None, hi=None):
    return lambda s: parse_year(s, lo, hi)


DATE = Column(parse_date, kind="date")
FLAG = Column(parse_flag)
ID = Column(parse_id)

CLA_COLUMNS = {
    "MoJUID": ID,
    "CLA_ACADYR": Column(_year(2006, 2018), required=True),
    "CLA_PupilMatchingRefAnonymous": ID,
    "CLA_CLA_LA": Column(parse_la),  # Reading: as KS4_LA (the pipeline checks it too)
    "CLA_PROCESSING_YEAR": Column(_whole(2000, 2030)),  # Reading: "bad numbers" with the pipeline's ranges
    "CLA_POC_START": DATE,
    "CLA_POC_LENGTH": Column(_whole(0, 8000)),
    "CLA_CAT_NEED": Column(_code(CLA_CATEGORY_OF_NEED)),
    "CLA_DATE_EPI_COMM": Column(parse_date, required=True, kind="date"),
    "CLA_DATE_EPI_CEASED": DATE,
    "CLA_LEGAL_STATUS": Column(_code(CLA_LEGAL_STATUS)),
    "CLA_PLACEMENT": Column(_code(CLA_PLACEMENT)),
    "CLA_REC": Column(_code(CLA_REASON_CEASED, no_end=CLA_REC_NO_END)),
    "CLA_CLA_31_MARCH": FLAG,
    "CLA_CLA_6_MONTHS": Column(parse_flag, optional=True),
    "CLA_CLA_12_MONTHS": Column(parse_flag, optional=True),
    "CLA_CLA_PP_6_MONTHS": Column(parse_flag, optional=True),
    "CLA_CLA_PP_1_DAY": Column(parse_flag, optional=True),
    "CLA_REASON_PLACE_CHANGE": Column(_code(CLA_REASON_PLACE_CHANGE), optional=True),
}

CIN_COLUMNS = {
    "MoJUID": ID,
    "CIN_ACADYR": Column(_year(2009, 2017), required=True),
    "CIN_PupilMatchingRefAnonymous": ID,
    "CIN_CIN_AT31MARCH": FLAG,
    "CIN_CategoryOfAbuse": Column(_code(CIN_CATEGORY_OF_ABUSE)),
    "CIN_InitialCategoryOfAbuse": Column(_code(CIN_CATEGORY_OF_ABUSE)),
    "CIN_LatestCategoryOfAbuse": Column(_code(CIN_CATEGORY_OF_ABUSE)),
    "CIN_NumberOfPreviousCPP": Column(_whole(0, 30)),
    "CIN_PrimaryNeedCode": Column(_code(CIN_PRIMARY_NEED, aliases=CIN_NEED_ALIASES)),
    "CIN_ReferralNFA": FLAG,
    "CIN_ReasonForClosure": Column(_code(CIN_REASON_FOR_CLOSURE)),
    "CIN_AgeStartOfCINPeriod": Column(_whole(0, 25)),
    "CIN_AgeEndOfCINPeriod": Column(_whole(0, 25)),
}

SPINE_COLUMNS = {
    "MoJUID": ID,
    "KS4_PupilMatchingRefAnonymous": Column(parse_id, required=True),
    "KS4_ACADYR": Column(_year(), required=True),
    "KS4_LA": Column(parse_la),
    "KS4_GENDER": Column(parse_sex),
    "KS4_YEAR_OF_BIRTH": Column(_whole(1980, 2015)),
    "KS4_MONTH_OF_BIRTH": Column(_whole(1, 12)),
    "KS4_FSM_EVER6": FLAG,
}

PUPIL = {
    CLA_FILE: "CLA_PupilMatchingRefAnonymous",
    CIN_FILE: "CIN_PupilMatchingRefAnonymous",
    SPINE_FILE: "KS4_PupilMatchingRefAnonymous",
}
COLUMNS = {CLA_FILE: CLA_COLUMNS, CIN_FILE: CIN_COLUMNS, SPINE_FILE: SPINE_COLUMNS}


# ---------------------------------------------------------------------------------------------
# Reading a file


@dataclass
class Row:
    number: int  # 1-based data row (the header is row 0); blank lines are not rows
    readable: bool  # the right number of fields, valid UTF-8
    fields: list[str]  # every delivered field (as the CSV gives it), [] if unreadable
    raw: dict[str, str]  # expected column -> delivered text
    values: dict[str, object]  # expected column -> typed value (None: missing or bad)
    reasons: list[str]

    @property
    def pupil(self) -> str | None:
        return self.values.get("_pupil")

    @property
    def quarantined(self) -> bool:
        return bool(self.reasons)


def _split(line: str) -> list[str] | None:
    """The fields of one physical line (quotes handled as a CSV reader does); None if unreadable."""
    try:
        return next(csv.reader([line]), [""])
    except csv.Error:
        return None


def read_file(path: Path) -> list[Row]:
    """Read one delivered extract row by row and apply every row rule of its file.

    Raises ReferenceFileError for the file-level errors."""
    path = Path(path)
    name = path.name
    spec = COLUMNS[name]
    if not path.exists():
        raise ReferenceFileError(f"{name}: file not found")
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (Excel) before the header
        data = data[3:]
    lines = data.split(b"\n")
    # Reading: a line with nothing on it (also the end of the last line) is not a row.
    lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
    header_bytes, body = lines[0], lines[1:]
    if header_bytes.strip() == b"":
        raise ReferenceFileError(f"{name}: no header line")
    try:
        header_text = header_bytes.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ReferenceFileError(f"{name}: the header is not UTF-8 text") from err
    header = [h.strip(TRIM) for h in (_split(header_text) or [header_text])]
    if len(header) == 1 and len(spec) > 1:
        seps = [s for s in ("\t", ";", "|") if s in header_text]
        raise ReferenceFileError(
            f"{name}: not comma-delimited (header has one field" + (f"; it contains {seps[0]!r}" if seps else "") + ")"
        )
    lower = [h.lower() for h in header]
    repeated = sorted({h for h in lower if lower.count(h) > 1})
    if repeated:
        names = [h for h in header if h.lower() in repeated]
        raise ReferenceFileError(f"{name}: header has duplicated names (case-insensitively): {', '.join(names)}")
    position = {h: i for i, h in enumerate(lower)}
    missing = [c for c, col in spec.items() if c.lower() not in position and not col.optional]
    if missing:
        raise ReferenceFileError(f"{name}: required column(s) missing: {', '.join(missing)}")

    rows: list[Row] = []
    number = 0
    for line in body:
        if line == b"":
            continue
        number += 1
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            rows.append(Row(number, False, [], {}, {}, ["row: not UTF-8 text"]))
            continue
        fields = _split(text)
        if fields is None or len(fields) != len(header):
            got = "unparseable" if fields is None else f"{len(fields)} fields"
            rows.append(Row(number, False, [], {}, {}, [f"row: {got} instead of {len(header)} fields"]))
            continue
        raw = {c: (fields[position[c.lower()]] if c.lower() in position else "") for c in spec}
        values, reasons = {}, []
        for c, col in spec.items():
            value, problem = col.parse(present(raw[c]))
            if col.required and present(raw[c]) is None:
                problem = "missing"
            if problem:
                reasons.append(f"{c}: {problem}")
            values[c] = value
        values["_pupil"] = values[PUPIL[name]]
        rows.append(Row(number, True, fields, raw, values, reasons))

    _month_first(name, spec, rows)
    if name == CLA_FILE:
        _cla_row_rules(rows)
    if name in (CLA_FILE, CIN_FILE):
        _exact_duplicates(rows)
    if name == CLA_FILE:
        _conflicting_episodes(rows)
    if name == SPINE_FILE:
        _second_spine_rows(rows)
    return rows


def _month_first(name, spec, rows):
    """Rule 4: a dd/mm/yyyy column with a second field > 12 somewhere and a first field > 12
    nowhere was written month-first (a US re-save): the whole file is an error."""
    for c, col in spec.items():
        if col.kind != "date":
            continue
        firsts, seconds = [], []
        for r in rows:
            if not r.readable:
                continue
            s = present(r.raw[c])
            m = _DMY.match(s) if s is not None else None
            if m:
                firsts.append(int(m.group(1)))
                seconds.append(int(m.group(2)))
        if any(v > 12 for v in seconds) and not any(v > 12 for v in firsts):
            raise ReferenceFileError(
                f"{name}: column {c} has dd/mm/yyyy dates that only make sense "
                "month-first (mm/dd/yyyy); the file must be re-delivered day-first"
            )


def _cla_row_rules(rows):
    """Rule 7: dates against each other and against the row's collection year (1 April Y-1 to
    31 March Y)."""
    dates = ("CLA_POC_START", "CLA_DATE_EPI_COMM", "CLA_DATE_EPI_CEASED")
    for r in rows:
        if not r.readable:
            continue
        v = r.values
        year = v["CLA_ACADYR"]
        comm, ceased = v["CLA_DATE_EPI_COMM"], v["CLA_DATE_EPI_CEASED"]
        if comm is not None and ceased is not None and ceased < comm:
            r.reasons.append("CLA_DATE_EPI_CEASED: before CLA_DATE_EPI_COMM")
        for c in dates:
            d = v[c]
            if d is None:
                continue
            if d < EARLIEST_DATE:
                r.reasons.append(f"{c}: before 1980")
            if year is not None and d > dt.date(year, 3, 31):
                r.reasons.append(f"{c}: after 31 March of the collection year")
        if (
            year is not None
            and comm is not None
            and (comm > dt.date(year, 3, 31) or (ceased is not None and ceased < dt.date(year - 1, 4, 1)))
        ):
            r.reasons.append("row: episode not open at any point of its collection year")


def _exact_duplicates(rows):
    """Later exact copies of an earlier delivered row (every delivered field the same) are
    quarantined; rows with neither a pupil reference nor a MoJUID are never duplicates."""
    seen = set()
    for r in rows:
        if not r.readable:
            continue
        if r.values["_pupil"] is None and r.values["MoJUID"] is None:
            continue
        key = tuple(r.fields)
        if key in seen:
            r.reasons.append("row: exact duplicate of an earlier row")
        seen.add(key)


def _normalised(r: Row) -> tuple:
    """A row's content for the conflict rule: typed values, and the trimmed text of bad ones."""
    out = []
    for c, col in CLA_COLUMNS.items():
        value, problem = col.parse(present(r.raw[c]))
        out.append(("bad", present(r.raw[c])) if problem else ("ok", value))
    return tuple(out)


def _conflicting_episodes(rows):
    """Two or more CLA rows with the same pupil, collection year and commenced date but different
    contents: every copy is quarantined (exact copies alone are plain duplicates)."""
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        if not r.readable:
            continue
        key = (r.values["_pupil"], r.values["CLA_ACADYR"], r.values["CLA_DATE_EPI_COMM"])
        if None in key:
            continue
        groups.setdefault(key, []).append(r)
    for group in groups.values():
        if len({_normalised(r) for r in group}) > 1:
            for r in group:
                r.reasons.append("row: conflicting rows for the same pupil, year and episode start")


def _second_spine_rows(rows):
    """Rule 9: of a pupil's spine rows that pass every other rule, the first is kept and later
    ones are quarantined; a pupil whose first row is bad keeps a good later row. (Changed with
    the pipeline's issue-15 work: this rule first quarantined every later row in delivery order,
    whatever was wrong with the earlier one, which dropped such a pupil from the spine.)"""
    seen = set()
    for r in rows:
        if not r.readable or r.pupil is None or r.reasons:
            continue
        if r.pupil in seen:
            r.reasons.append("KS4_PupilMatchingRefAnonymous: pupil already has a spine row")
        seen.add(r.pupil)


def rows_table(path: Path) -> pd.DataFrame:
    """The rows of one file as a table: row number, readable, pupil (normalised), quarantined and
    reasons ("; "-joined), for inspecting what the reference did with a delivered file."""
    rows = read_file(path)
    return pd.DataFrame(
        {
            "row": [r.number for r in rows],
            "readable": [r.readable for r in rows],
            "pupil_id": [r.pupil for r in rows],
            "quarantined": [r.quarantined for r in rows],
            "reasons": ["; ".join(r.reasons) for r in rows],
        }
    )


# ---------------------------------------------------------------------------------------------
# Levels


def pupil_flags(folder, cpp_method_a: str = "all_three") -> pd.DataFrame:
    """One row per spine pupil (spine order) with what the level is made of: in_cla, in_cin
    (membership, rule 10), cpp_method_a, previous_cpp_total, cpp_method_b, in_need_31_march
    (clean CIN rows only), and level."""
    if cpp_method_a not in ("all_three", "guide"):
        raise ValueError("cpp_method_a must be 'all_three' or 'guide'")
    folder = Path(folder)
    cla = read_file(folder / CLA_FILE)
    cin = read_file(folder / CIN_FILE)
    spine = read_file(folder / SPINE_FILE)

    # Rule 10: membership from every readable row with a pupil reference, quarantined or not.
    in_cla = {r.pupil for r in cla if r.readable and r.pupil is not None}
    in_cin = {r.pupil for r in cin if r.readable and r.pupil is not None}

    categories = ["CIN_CategoryOfAbuse", "CIN_InitialCategoryOfAbuse"]
    if cpp_method_a == "all_three":
        categories.append("CIN_LatestCategoryOfAbuse")
    method_a, previous, in_need = set(), {}, set()
    for r in cin:
        if not r.readable or r.quarantined or r.pupil is None:
            continue
        v = r.values
        if any(v[c] is not None for c in categories):
            method_a.add(r.pupil)
        previous[r.pupil] = previous.get(r.pupil, 0) + (v["CIN_NumberOfPreviousCPP"] or 0)
        if v["CIN_CIN_AT31MARCH"] is True:
            in_need.add(r.pupil)

    out = []
    for r in spine:
        if not r.readable or r.quarantined:
            continue
        p = r.pupil
        a, total = p in method_a, previous.get(p)
        b = total is not None and total >= 1
        if p in in_cla:
            level = "looked_after"
        elif a or b:
            level = "child_protection_plan"
        elif p in in_need:
            level = "child_in_need"
        elif p in in_cin:
            level = "referral_only"
        else:
            level = "none"
        out.append(
            {
                "pupil_id": p,
                "level": level,
                "in_cla": p in in_cla,
                "in_cin": p in in_cin,
                "cpp_method_a": a,
                "previous_cpp_total": total,
                "cpp_method_b": b,
                "in_need_31_march": p in in_need,
            }
        )
    columns = [
        "pupil_id",
        "level",
        "in_cla",
        "in_cin",
        "cpp_method_a",
        "previous_cpp_total",
        "cpp_method_b",
        "in_need_31_march",
    ]
    df = pd.DataFrame(out, columns=columns)
    df["previous_cpp_total"] = df["previous_cpp_total"].astype("Int64")
    return df


def levels(folder, cpp_method_a: str = "all_three") -> pd.DataFrame:
    """The intervention level of every spine pupil: columns pupil_id (normalised: trimmed,
    upper-case) and level (one of LEVELS), one row per clean spine row, in spine order.

    Raises ReferenceFileError for a file that cannot be used as a whole (not comma-delimited,
    duplicated header names, a month-first date column, a missing required column)."""
    return pupil_flags(folder, cpp_method_a)[["pupil_id", "level"]].reset_index(drop=True)

"""Typing, validating and quarantining a delivered table, column by column, by its fields.

Every rule comes from the extract's `Field`s and `RowRule`s (`extracts.py`) and works on whole
columns; columns with few distinct values (codes, dates, years, counts) are typed once per
distinct value (`arrowops.distinct`). Every row that cannot be cleaned is kept, as delivered,
with every reason, in a quarantine table, so that raw rows = clean rows + quarantined rows.

The same rule reads a value everywhere: after trimming spaces, tabs, CR/LF and surrounding quotes,
an empty value or one of the missing tokens (`CleaningRules.missing_tokens`: NA, N/A, NULL, NaN,
".", "-" by default, any case, as R, SPSS, Stata, SAS and SQL exports write them) is missing, in
every column; identifiers are then upper-cased (`normalise_identifier`), in every extract and in
the checks that read delivered references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field as ConfigField

from . import arrowops, codelists, geography, years
from .extracts import ACADEMIC_YEAR_PATTERN, EARLIEST_DATE, LA_CODE_PATTERN, Extract, Field, first_identifier
from .reading import PROBLEM, ROW, ExtractError, HeaderReport

# ---------------------------------------------------------------------------------------------
# How values are read: one configurable resource, used by every clean asset

DEFAULT_MISSING_TOKENS = ("NA", "N/A", "NULL", "NaN", ".", "-")
DEFAULT_MAX_QUARANTINED_SHARE = 0.05
TRIM = " \t\r\n\"'"  # trimmed from both ends of every delivered value


class CleaningRules(dg.ConfigurableResource):
    """How delivered text is read, and how much of an extract may be quarantined before the run
    stops. One resource (`cleaning_rules`), used by every clean asset and by the checks that read
    delivered pupil references, so a value means the same everywhere."""

    missing_tokens: list[str] = ConfigField(
        default=list(DEFAULT_MISSING_TOKENS),
        description="Texts that mean 'missing' in every column (compared after trimming spaces, tabs, CR/LF "
        "and quotes, in any case), besides the empty value: R writes NA, SPSS/Stata/SAS '.', SQL "
        "NULL, spreadsheets '-' or N/A. A value equal to one is missing, never a pupil reference, "
        "MoJUID, code or date.",
    )
    max_quarantined_share: float = ConfigField(
        default=DEFAULT_MAX_QUARANTINED_SHARE,
        description="Largest share (0-1) of an extract's rows, or of the rows failing any one column's rules, "
        "that may be quarantined: above it the clean table's blocking `quarantined_share` check "
        "fails and the run stops, naming the extract, column, share and most common reason (a "
        "whole extract quarantined by one systematic problem is not a result).",
    )

    def tokens(self) -> tuple[str, ...]:
        return tuple(self.missing_tokens)


DEFAULT_RULES = CleaningRules()

# ---------------------------------------------------------------------------------------------
# Typing rules. Each returns (typed column, mask of rows that fail, reason).

FLAG_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
FLAG_FALSE = {"0", "0.0", "false", "no", "n", "f"}
_YEAR = re.compile(r"^\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*$")
_TIME = r"(?: \d{2}:\d{2}(?::\d{2})?)?"  # an optional time part (a datetime export), dropped
DMY = r"^(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME + "$"
ISO = r"^(\d{4})-(\d{2})-(\d{2})" + _TIME + "$"
_WHOLE = r"^[+-]?\d+(?:\.0*)?$"  # 2, 2.0 and 2. are whole numbers; 2.5 and 2e0 are not


def _arrow(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    arr = arrowops.as_arrow(s)
    return arr if arr is not None else pa.array(s.astype(object).to_numpy(), type=pa.string(), from_pandas=True)


def _text_series(arr, index) -> pd.Series:
    # pandas holds string[pyarrow] as large_string and casts a string array to it itself: a cast
    # of large_string to string here would copy every value twice
    if not arrowops.is_text(arr.type):
        arr = arr.cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index)  # string[pyarrow], no copy


# the bytes TRIM removes from either end (all ASCII: no byte of a multi-byte UTF-8 character is one)
_TRIMMED_BYTE = np.zeros(256, dtype=bool)
_TRIMMED_BYTE[list(TRIM.encode())] = True


def _read_as_delivered(arr: pa.Array | pa.ChunkedArray) -> bool:
    """Whether trimming and upper-casing leave every value of `arr` as it is: no value begins or
    ends with a TRIM byte, and no byte is a lower-case ASCII letter or outside ASCII (every byte is
    below "a"). Read from each chunk's offsets and bytes, at ~0.1 s per 10M identifiers against a
    copy of every value by each of utf8_trim and ascii_upper. Bytes of null slots count too, so
    the answer errs only towards the full path."""
    for c in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if not arrowops.is_text(c.type):
            return False
        _, offsets, data = c.buffers()
        if len(c) == 0 or data is None:  # (no bytes: every value empty or missing)
            continue
        width = np.int64 if pa.types.is_large_string(c.type) else np.int32
        off = np.frombuffer(offsets, dtype=width, count=len(c) + 1, offset=c.offset * np.dtype(width).itemsize)
        data = np.frombuffer(data, dtype=np.uint8)
        if off[-1] > off[0] and data[off[0] : off[-1]].max() >= ord("a"):
            return False
        filled = off[1:] > off[:-1]
        if _TRIMMED_BYTE[data[off[:-1][filled]]].any() or _TRIMMED_BYTE[data[off[1:][filled] - 1]].any():
            return False
    return True


def _read(s: pd.Series, missing_tokens, upper: bool) -> tuple[pd.Series, bool]:
    """The values read (see `blank_to_na`, `normalise_identifier`), and whether each is as
    delivered or missing (nothing was trimmed or upper-cased)."""
    arr = _arrow(s)
    as_delivered = upper and _read_as_delivered(arr)
    if as_delivered:  # (delivered references: already trimmed and upper-case)
        trimmed = up = arr
    else:
        trimmed = pc.utf8_trim(arr, characters=TRIM)
        # ASCII text (every delivered identifier so far) upper-cases the same by the ASCII kernel, at
        # half the cost of the Unicode one; any other text takes the Unicode kernel.
        ascii_only = pc.all(pc.string_is_ascii(trimmed)).as_py() is not False
        up = pc.ascii_upper(trimmed) if ascii_only else pc.utf8_upper(trimmed)
    tokens = pa.array(sorted({"", *(t.strip(TRIM).upper() for t in missing_tokens)}), pa.string())
    missing = pc.is_in(up, value_set=tokens.cast(up.type))
    out = up if upper else trimmed
    if pc.any(missing).as_py():  # (no missing token among 10M identifiers: nothing to blank)
        out = pc.if_else(missing, pa.scalar(None, up.type), out)
    return _text_series(out, s.index), as_delivered


def _read_values(s: pd.Series, missing_tokens, upper: bool) -> pd.Series:
    return _read(s, missing_tokens, upper)[0]


def blank_to_na(s: pd.Series, missing_tokens=DEFAULT_MISSING_TOKENS) -> pd.Series:
    """Values trimmed of spaces, tabs, CR/LF and surrounding quotes; empty values and the missing
    tokens (any case) become missing."""
    return _read_values(s, missing_tokens, upper=False)


def normalise_identifier(s: pd.Series, missing_tokens=DEFAULT_MISSING_TOKENS) -> pd.Series:
    """A delivered identifier (MoJUID, *_PupilMatchingRefAnonymous) as every extract and check
    compares it: trimmed, missing tokens missing, upper-cased (`ab12` in one extract and `AB12` in
    another are one pupil)."""
    return _read_values(s, missing_tokens, upper=True)


def parse_academic_year(s: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """'2012/2013' (also '2012/13', '2012-2013', '2012-13') -> label and start/end years."""
    parts = s.str.extract(_YEAR.pattern)
    start = pd.to_numeric(parts[0], errors="coerce").astype("Int16")
    end_raw = parts[1]
    end = pd.to_numeric(end_raw, errors="coerce")
    end = end.where(end_raw.str.len() != 2, start.astype("Float64") // 100 * 100 + end)
    end = end.astype("Int16")
    bad = s.notna() & ((start.isna()) | (end != start + 1)).fillna(True)
    label = (start.astype("string") + "/" + end.astype("string")).where(~bad)
    out = pd.DataFrame(
        {
            "academic_year": label.astype(pd.StringDtype("pyarrow")),
            "academic_year_start": start.where(~bad),
            "academic_year_end": end.where(~bad),
        }
    )
    return out, bad | s.isna()


def parse_date(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """dd/mm/yyyy (1- or 2-digit day and month) or yyyy-mm-dd, either optionally followed by a
    time ` hh:mm` or ` hh:mm:ss` (dropped); anything else, or an impossible date such as 31/02,
    fails."""
    dmy = s.str.extract(DMY).astype("float64")
    iso = s.str.extract(ISO).astype("float64")
    ymd = pd.DataFrame({"year": dmy[2].fillna(iso[0]), "month": dmy[1].fillna(iso[1]), "day": dmy[0].fillna(iso[2])})
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    form = ymd.notna().all(axis=1)
    if form.any():
        out[form] = pd.to_datetime(ymd[form], errors="coerce")
    bad = s.notna() & out.isna()
    return out.astype("datetime64[ms]"), bad


def day_first_evidence(values: pd.Series, rows: np.ndarray) -> tuple[int, int]:
    """Of distinct date texts `values` (each standing for `rows` rows): rows whose dd/mm/yyyy
    second field is over 12 (only a day can be), and rows whose first field is (only a day can
    be). Some of the first and none of the second: the column was written month-first."""
    parts = values.str.extract(DMY)
    first = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float)
    second = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float)
    return int(rows[second > 12].sum()), int(rows[first > 12].sum())


def parse_int(s: pd.Series, lo: int, hi: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    whole = s.str.match(_WHOLE).fillna(False).astype(bool)
    num = pd.to_numeric(s.where(whole).astype("object"), errors="coerce")
    malformed = s.notna() & ~whole
    out_of_range = ~malformed & s.notna() & ((num < lo) | (num > hi))
    val = num.where(~(malformed | out_of_range)).astype("Int64")
    return val, malformed, out_of_range


def parse_flag(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """1, 1.0, true, yes, y, t / 0, 0.0, false, no, n, f (any case)."""
    low = s.str.lower()
    t, f = low.isin(FLAG_TRUE), low.isin(FLAG_FALSE)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[t.fillna(False)] = True
    out[f.fillna(False)] = False
    return out, s.notna() & ~(t | f).fillna(False)


def parse_code(s: pd.Series, code_list: str) -> tuple[pd.Series, pd.Series]:
    """Codes compared upper-cased; known junk values (code-alias data) read as their code, or as
    missing when the alias has no code (NPD's CLA_REC -10: no end)."""
    codes = codelists.codes(code_list)
    up = s.str.upper()
    aliases = codelists.aliases(code_list)
    if aliases:
        to_code = {a.upper(): c for a, c in aliases.items() if c}
        to_missing = [a.upper() for a, c in aliases.items() if not c]
        if to_code:
            up = up.replace(to_code)
        if to_missing:
            up = up.mask(up.isin(to_missing).fillna(False))
    bad = up.notna() & ~up.isin(codes).fillna(False)
    return pd.Series(pd.Categorical(up.where(~bad).astype("object"), categories=codes), index=s.index), bad


def parse_float(s: pd.Series, lo: float, hi: float) -> tuple[pd.Series, pd.Series, pd.Series]:
    num = pd.to_numeric(s.astype("object"), errors="coerce")
    malformed = s.notna() & num.isna()
    out_of_range = ~malformed & s.notna() & ((num < lo) | (num > hi))
    return num.where(~(malformed | out_of_range)).astype("Float64"), malformed, out_of_range


# ---------------------------------------------------------------------------------------------
# The clean step


@dataclass
class Cleaned:
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    reasons: dict[str, int]  # "column: reason" -> rows
    header: HeaderReport | None = None
    rows_by_column: dict[str, int] = field(default_factory=dict)  # column -> rows failing any of its rules
    normalised: dict[str, int] = field(default_factory=dict)  # identifier -> rows changed by normalising
    # LA column -> delivered LA number -> clean rows whose LA was set missing (not in force that year)
    la_set_missing: dict[str, dict[str, int]] = field(default_factory=dict)


def _type_column(s: pd.Series, f: Field) -> tuple[pd.Series | pd.DataFrame, dict[str, pd.Series]]:
    """Type one column (text, blanks already missing) by its field: the value and failure masks."""
    name = f.name
    fails: dict[str, pd.Series] = {}
    if f.required:
        fails[f"{name}: missing"] = s.isna()
    if f.kind == "year":
        label_and_years, bad = parse_academic_year(s)
        fails[f"{name}: not an academic year like 2012/2013"] = bad & s.notna()
        return label_and_years, fails
    if f.kind == "date":
        val, bad = parse_date(s)
        fails[f"{name}: malformed or impossible date"] = bad
    elif f.kind == "int":
        val, bad, rng = parse_int(s, f.lo, f.hi)
        fails[f"{name}: not a whole number"] = bad
        fails[f"{name}: outside {f.lo:g}..{f.hi:g}"] = rng
    elif f.kind == "float":
        val, bad, rng = parse_float(s, f.lo, f.hi)
        fails[f"{name}: not a number"] = bad
        fails[f"{name}: outside {f.lo:g}..{f.hi:g}"] = rng
    elif f.kind == "flag":
        val, bad = parse_flag(s)
        fails[f"{name}: not a 0/1 flag"] = bad
    elif f.kind == "code":
        val, bad = parse_code(s, f.code_list)
        fails[f"{name}: unknown code (not in {f.code_list})"] = bad
    else:  # id, la, text
        val = s
        pattern = text_pattern(f)
        if pattern:
            fails[f"{name}: does not match {pattern}"] = s.notna() & ~s.str.match(pattern).fillna(False)
    return val, fails


def text_pattern(f: Field) -> str | None:
    """The regular expression a text field's values match (an LA field: the DfE LA number)."""
    return LA_CODE_PATTERN if f.kind == "la" else f.pattern


def _typed_by_distinct(col: pd.Series, f: Field, tokens, file: str, readable: np.ndarray | None):
    """Type a column once per distinct delivered value (few for codes, dates, years, counts), then
    take the result back to every row: exactly the values and failures of typing row by row; also
    each row's position among the typed distinct values, and those values (as `arrowops.distinct`
    gives them, for rules evaluated per distinct value again). A date column whose dd/mm/yyyy values
    only make sense month-first stops here (`ExtractError`)."""
    codes, values = arrowops.distinct(col)
    text = blank_to_na(values.astype(pd.StringDtype("pyarrow")), tokens)
    if f.kind == "date":
        rows = np.bincount(codes if readable is None else codes[readable], minlength=len(values))
        second_over_12, first_over_12 = day_first_evidence(text, rows)
        if second_over_12 and not first_over_12:
            raise ExtractError(
                f"{file}, column {f.delivered}: {second_over_12} dates have a second field over 12 and none a "
                "first field over 12: the file looks re-saved month-first (mm/dd/yyyy); re-export it day-first "
                "(dd/mm/yyyy)"
            )
    val, fails = _type_column(text, f)
    wide = codes.astype(np.intp)  # once for every numpy and masked array taken by them below
    rows = arrowops.expand(val, codes if arrowops.as_arrow(val) is not None else wide, col.index)
    return rows, {k: arrowops.expand(m, wide, col.index) for k, m in fails.items()}, (codes, val)


def clean_table(raw: pd.DataFrame, extract: Extract, rules: CleaningRules | None = None) -> Cleaned:
    """Type every column of `raw` (text as delivered) by the extract's fields; quarantine the rows
    that fail any field rule, row rule, date rule or the extract's years, with every reason."""
    tokens = (rules or DEFAULT_RULES).tokens()
    unreadable = raw[PROBLEM].notna().to_numpy(dtype=bool)
    readable = ~unreadable if unreadable.any() else None
    out: dict[str, pd.Series] = {ROW: raw[ROW]}
    fails: dict[str, pd.Series | np.ndarray] = {}
    normalised: dict[str, int] = {}
    date_cols = []
    coded: dict[str, tuple[np.ndarray, pd.Series]] = {}  # clean column -> (row codes, distinct values)
    for f in extract.fields:
        if f.kind == "id":  # (nearly) one value per row: typed row by row
            val, as_delivered = _read(raw[f.delivered], tokens, upper=True)  # normalise_identifier
            # each value as delivered or missing: none changed by normalising
            normalised[f.name] = 0 if as_delivered else _changed(raw[f.delivered], val, readable)
            _, col_fails = _type_column(val, f)
        else:
            val, col_fails, (codes, values) = _typed_by_distinct(raw[f.delivered], f, tokens, extract.file, readable)
            if f.kind == "year":
                coded[f"{f.name}_end"] = (codes, values[f"{f.name}_end"])
                coded[f.name] = (codes, values[f.name])
            elif f.kind == "la":
                coded[f.name] = (codes, values)
        fails.update(col_fails)
        if f.kind == "year":
            out.update({k: val[k] for k in val.columns})
            continue
        if f.kind == "date":
            date_cols.append(f.name)
        out[f.name] = val
    clean = pd.DataFrame(out, copy=False)  # no copy: no column is written into in place below
    strays = _la_not_in_force(clean, extract, fails, unreadable, coded)
    if extract.years is not None:
        first, last = extract.years
        end = clean["academic_year_end"]
        fails[f"academic_year: outside the extract's years {first - 1}/{first}..{last - 1}/{last}"] = (
            end.notna() & ((end < first) | (end > last))
        ).fillna(False)
    ceiling = years.march31(clean["academic_year_end"]) if extract.dates_within_collection_year and date_cols else None
    for name in date_cols:
        d = clean[name]
        fails[f"{name}: before {EARLIEST_DATE.year}"] = d.notna() & (d < EARLIEST_DATE)
        if ceiling is not None:
            fails[f"{name}: after the end of its collection year"] = (
                d.notna() & ceiling.notna() & (d > ceiling)
            ).fillna(False)
    for rule in extract.row_rules:
        fails[rule.reason] = rule.breaks(clean)
    # A line that could not be read as a row fails for that reason alone, not for every rule.
    fails = {k: _as_mask(v) & ~unreadable for k, v in fails.items()}
    for problem in raw[PROBLEM].dropna().unique() if readable is not None else ():  # (none: no line unread)
        fails[str(problem)] = (raw[PROBLEM] == problem).fillna(False).to_numpy(dtype=bool)
    # Exact duplicate rows (as delivered): the first copy is kept, later copies quarantined. Rows
    # with no identifier at all may be different children who look alike, so they are never
    # called duplicates.
    ids = [k for k in ("pupil_id", "moj_uid") if k in clean]
    identified = clean[ids].notna().any(axis=1).to_numpy(dtype=bool) if ids else True
    fails["row: exact duplicate of an earlier row"] = _exact_duplicates(raw, extract) & identified
    # A unique field (the spine's pupil reference): of the rows that pass every other rule, the
    # first is kept and later ones are quarantined, so a pupil whose first row is bad keeps a
    # good later one.
    for f in extract.fields:
        if f.unique:
            fails[f"{f.name}: already on an earlier clean row (the first clean row is kept)"] = _later_repeats(
                clean[f.name], ~_any(fails, len(raw))
            )
    pupil = clean["pupil_id"].where(~unreadable) if "pupil_id" in clean else None
    # An LA not in force is set missing; the delivered number rides along to count the clean rows.
    # (No row to set: the column is left as it is, and no LA number is counted.)
    strays = {name: stray for name, stray in strays.items() if stray.any()}
    for name, stray in strays.items():
        clean[f"__{name}_not_in_force"] = clean[name].where(stray)
        clean[name] = clean[name].mask(stray)
    result = split(raw, clean, fails, pupil=pupil, normalised=normalised)
    for name in strays:
        counts = result.clean.pop(f"__{name}_not_in_force").value_counts()
        if len(counts):
            result.la_set_missing[name] = {str(k): int(v) for k, v in counts.sort_index().items()}
    _prove_patterns(result.clean, extract, coded)  # of the clean table as returned
    return result


# The name under which a clean table's LA columns are proven in force in their rows' years.
LA_IN_FORCE = "la_in_force"


def _prove_patterns(clean: pd.DataFrame, extract: Extract, coded: dict) -> None:
    """Tell the clean table's schema check which text columns are proven to match their pattern
    (`arrowops.remember_matching`), so it does not run the regular expression over every row again,
    and which LA columns are proven in force in their rows' collection years (`LA_IN_FORCE`).
    An LA (or patterned text or id) column: every row whose present value fails `str.match` of the same
    pattern is quarantined (`_type_column`), and values set missing add none. An academic year:
    the clean labels are some of the few distinct labels typed, each matched here."""
    for f in extract.fields:
        if f.kind == "year":
            labels = coded[f.name][1].dropna()
            if labels.str.match(ACADEMIC_YEAR_PATTERN, na=False).all():
                arrowops.remember_matching(clean[f.name], ACADEMIC_YEAR_PATTERN)
        elif f.kind in ("id", "la", "text") and text_pattern(f):
            arrowops.remember_matching(clean[f.name], text_pattern(f))
        if f.kind == "la":
            # every row whose LA is not in force in its year was quarantined or has its LA missing
            # now, which is in force nowhere (`_la_not_in_force`); the year is as typed
            arrowops.remember_rule(LA_IN_FORCE, clean[f.name], clean.get("academic_year_end"))


def la_not_in_force(
    la: pd.Series,
    end_year: pd.Series | None,
    la_coded: tuple[np.ndarray, pd.Series] | None = None,
    year_coded: tuple[np.ndarray, pd.Series] | None = None,
) -> np.ndarray:
    """Rows whose LA is a well-formed LA number that names no authority in force in the row's
    collection year (`end_year`; without one, at any time since 2005/06). Evaluated once per pair
    of a distinct LA number and a distinct year, and taken back to the rows by one look-up each.
    `la_coded` and `year_coded`, when the caller has them, are the columns as `arrowops.distinct`
    gives them (each row's code and the values, a value possibly under several codes): the same
    rows, with no hashing of the columns again."""
    codes, values = la_coded if la_coded is not None else arrowops.distinct(la)
    well_formed = values.notna().to_numpy(dtype=bool) & values.astype("string").str.match(LA_CODE_PATTERN).fillna(
        False
    ).to_numpy(dtype=bool)
    lo, hi = geography.years_in_force(values.astype(object).to_numpy())
    if end_year is None:
        y_codes, y = np.zeros(len(codes), dtype=np.intp), np.array([np.nan])
    else:
        y_codes, years = year_coded if year_coded is not None else arrowops.distinct(end_year)
        y = pd.to_numeric(years).to_numpy(dtype=float, na_value=np.nan)
    # the rule for every (LA value, year value) pair: the same comparisons the rows would make
    with np.errstate(invalid="ignore"):  # a missing year compares False: any code that exists is accepted
        stray = well_formed[:, None] & (np.isnan(lo)[:, None] | (y[None, :] < lo[:, None]) | (y[None, :] > hi[:, None]))
    return stray.ravel()[codes.astype(np.intp, copy=False) * len(y) + y_codes]  # (codes may be int8)


def _la_not_in_force(
    clean: pd.DataFrame, extract: Extract, fails: dict, unreadable: np.ndarray, coded: dict | None = None
) -> dict[str, np.ndarray]:
    """The extract's LA columns checked against the LAs in force in each row's collection year
    (extracts.LA_NOT_IN_FORCE): a quarantining field adds its reason to `fails`; for the others,
    the rows whose LA is to be set missing. `coded`: clean columns as typed by distinct value
    (`_typed_by_distinct`), so no column is hashed again."""
    coded = coded or {}
    year = clean.get("academic_year_end")
    strays = {}
    for f in extract.fields:
        if f.kind != "la":
            continue
        stray = la_not_in_force(clean[f.name], year, coded.get(f.name), coded.get("academic_year_end")) & ~unreadable
        if f.la_not_in_force == "quarantine":
            when = "in force in the row's collection year" if year is not None else "at any time since 2005/06"
            fails[f"{f.name}: not a DfE LA number {when} (code list local_authorities)"] = stray
        else:
            strays[f.name] = stray
    return strays


def _as_mask(v) -> np.ndarray:
    """A rule's failures as a numpy bool mask, missing as False: a numpy bool array or Series is one
    already (no nullable copies of 10M rows); anything else goes through pandas' nullable boolean."""
    if isinstance(v, (np.ndarray, pd.Series)) and v.dtype == bool:
        return np.asarray(v)
    return pd.Series(v).astype("boolean").fillna(False).to_numpy(dtype=bool)


def _any(fails: dict[str, np.ndarray], n: int) -> np.ndarray:
    bad = np.zeros(n, dtype=bool)
    for m in fails.values():
        bad |= m
    return bad


def _later_repeats(values: pd.Series, among: np.ndarray) -> np.ndarray:
    """Rows of `among` whose (present) value is on an earlier row of `among`. Usually every value
    is distinct, which one exact distinct count proves (`arrowops.occurs_once`)."""
    keep = among & values.notna().to_numpy(dtype=bool)
    out = np.zeros(len(values), dtype=bool)
    if not keep.any():
        return out
    rows = None if keep.all() else np.flatnonzero(keep)
    sub = values if rows is None else values.iloc[rows]
    if arrowops.occurs_once(sub).all():
        return out
    dup = arrowops.duplicated(sub.to_frame(name="v"), ["v"])
    if rows is None:
        return dup
    out[rows] = dup
    return out


def _changed(delivered: pd.Series, normalised: pd.Series, readable: np.ndarray | None) -> int:
    """Rows whose identifier is present and differs from its delivered text (spaces, quotes or
    case): references that link only because they are normalised."""
    a, b = _arrow(delivered), _arrow(normalised)
    if a.type != b.type:
        a = a.cast(b.type)
    diff = pc.fill_null(pc.not_equal(a, b), False)
    diff = np.asarray(diff.to_numpy(zero_copy_only=False), dtype=bool)
    return int((diff if readable is None else diff & readable).sum())


def _exact_duplicates(raw: pd.DataFrame, extract: Extract) -> np.ndarray:
    """raw.duplicated(delivered columns, keep="first"), decided only among the rows whose first
    identifier column and year may repeat (an exact copy repeats every column), which are few."""
    key = first_identifier(extract)
    by_name = {f.name: f.delivered for f in extract.fields}
    keys = [by_name[key], *(f.delivered for f in extract.fields if f.kind == "year")] if key else None
    return arrowops.duplicated(raw, list(extract.columns), candidates_by=keys)


def _as_delivered(rows: pd.DataFrame) -> pd.DataFrame:
    """Raw rows with every text column as text again (columns read as categoricals go back)."""
    cats = [c for c in rows.columns if isinstance(rows[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return rows
    return rows.assign(
        **{c: pd.array(rows[c].astype(object).to_numpy(), dtype=pd.StringDtype("pyarrow")) for c in cats}
    )


def reason_column(reason: str) -> str:
    """The column a reason is about ("row" for whole-row rules and unreadable lines)."""
    return reason.split(":", 1)[0]


def split(
    raw: pd.DataFrame,
    clean: pd.DataFrame,
    fails: dict[str, pd.Series],
    pupil: pd.Series | None = None,
    normalised: dict[str, int] | None = None,
) -> Cleaned:
    """Clean rows and quarantined rows (as delivered, with every reason and the normalised
    `pupil_id`: missing when the row has none or its line could not be read)."""
    masks = {
        k: (
            np.asarray(v, dtype=bool)
            if isinstance(v, np.ndarray) and v.dtype == bool
            else pd.Series(v).astype("boolean").fillna(False).to_numpy(dtype=bool)
        )
        for k, v in fails.items()
    }
    any_bad = _any(masks, len(raw))
    normalised = normalised or {}
    if not any_bad.any():  # nothing to quarantine: no copy of the clean table
        empty = (
            _as_delivered(raw.iloc[:0])
            .assign(
                reasons=pd.Series([], dtype=pd.StringDtype("pyarrow")),
                pupil_id=pd.Series([], dtype=pd.StringDtype("pyarrow")),
            )
            .reset_index(drop=True)
        )
        return Cleaned(clean, empty, {}, normalised=normalised)
    reasons = {k: int(m.sum()) for k, m in masks.items() if m.any()}
    by_column: dict[str, np.ndarray] = {}
    for k in reasons:
        col = reason_column(k)
        by_column[col] = by_column[col] | masks[k] if col in by_column else masks[k].copy()
    bad_idx = np.flatnonzero(any_bad)
    text = pd.Series([""] * len(bad_idx), dtype=object)
    for k, m in masks.items():
        hit = m[bad_idx]
        if hit.any():
            text[hit] = text[hit] + np.where(text[hit] == "", "", "; ") + k
    quarantine = _as_delivered(raw.iloc[bad_idx].reset_index(drop=True)).copy()
    quarantine["reasons"] = pd.array(text.to_numpy(), dtype=pd.StringDtype("pyarrow"))
    quarantine["pupil_id"] = (
        pd.Series(pupil.iloc[bad_idx].array, dtype=pd.StringDtype("pyarrow"))
        if pupil is not None
        else pd.Series(pd.NA, index=quarantine.index, dtype=pd.StringDtype("pyarrow"))
    )
    return Cleaned(
        arrowops.rows(clean, ~any_bad),
        quarantine,
        reasons,
        rows_by_column={k: int(m.sum()) for k, m in by_column.items()},
        normalised=normalised,
    )

"""Typing, validating and quarantining a delivered table, column by column, by its fields.

Every rule comes from the extract's `Field`s and `RowRule`s (`extracts.py`) and works on whole
columns; columns with few distinct values (codes, dates, years, counts) are typed once per
distinct value (`arrowops.distinct`). Every row that cannot be cleaned is kept, as delivered,
with every reason, in a quarantine table, so that raw rows = clean rows + quarantined rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import arrowops, codelists, years
from .extracts import EARLIEST_DATE, LA_CODE_PATTERN, Extract, Field, first_identifier
from .reading import PROBLEM, ROW, HeaderReport

# ---------------------------------------------------------------------------------------------
# Typing rules. Each returns (typed column, mask of rows that fail, reason).

FLAG_TRUE = {"1", "true", "yes", "y", "t"}
FLAG_FALSE = {"0", "false", "no", "n", "f"}
_YEAR = re.compile(r"^\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*$")


def blank_to_na(s: pd.Series) -> pd.Series:
    """Blanks and whitespace-only values are missing; other values lose surrounding whitespace."""
    arr = pa.array(s.array) if not isinstance(s.array, pd.arrays.ArrowExtensionArray) else s.array._pa_array
    trimmed = pc.utf8_trim(arr, characters=" \t\r\n\"'")
    out = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    if out.type != pa.string():
        out = out.cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(out), index=s.index)  # string[pyarrow], no copy


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
    out = pd.DataFrame({"academic_year": label.astype(pd.StringDtype("pyarrow")),
                        "academic_year_start": start.where(~bad), "academic_year_end": end.where(~bad)})
    return out, bad | s.isna()


def parse_date(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """dd/mm/yyyy or yyyy-mm-dd; anything else (or an impossible date such as 31/02) fails."""
    dmy = s.str.match(r"^\d{1,2}/\d{1,2}/\d{4}$").fillna(False)
    iso = s.str.match(r"^\d{4}-\d{2}-\d{2}$").fillna(False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if dmy.any():
        out[dmy] = pd.to_datetime(s[dmy].astype(str), format="%d/%m/%Y", errors="coerce")
    if iso.any():
        out[iso] = pd.to_datetime(s[iso].astype(str), format="%Y-%m-%d", errors="coerce")
    bad = s.notna() & out.isna()
    return out.astype("datetime64[ms]"), bad


def parse_int(s: pd.Series, lo: int, hi: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    num = pd.to_numeric(s.astype("object"), errors="coerce")
    malformed = s.notna() & (num.isna() | (num != np.floor(num)))
    out_of_range = ~malformed & s.notna() & ((num < lo) | (num > hi))
    val = num.where(~(malformed | out_of_range)).astype("Int64")
    return val, malformed, out_of_range


def parse_flag(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    low = s.str.lower()
    t, f = low.isin(FLAG_TRUE), low.isin(FLAG_FALSE)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[t.fillna(False)] = True
    out[f.fillna(False)] = False
    return out, s.notna() & ~(t | f).fillna(False)


def parse_code(s: pd.Series, code_list: str) -> tuple[pd.Series, pd.Series]:
    codes = codelists.codes(code_list)
    up = s.str.upper()
    aliases = codelists.aliases(code_list)
    if aliases:
        up = up.replace(aliases)
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
    reasons: dict[str, int]      # "column: reason" -> rows
    header: HeaderReport | None = None


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


def _typed_by_distinct(col: pd.Series, f: Field):
    """Type a column once per distinct delivered value (few for codes, dates, years, counts), then
    take the result back to every row: exactly the values and failures of typing row by row."""
    codes, values = arrowops.distinct(col)
    val, fails = _type_column(blank_to_na(values.astype(pd.StringDtype("pyarrow"))), f)
    return (arrowops.expand(val, codes, col.index),
            {k: arrowops.expand(m, codes, col.index) for k, m in fails.items()})


def clean_table(raw: pd.DataFrame, extract: Extract) -> Cleaned:
    """Type every column of `raw` (text as delivered) by the extract's fields; quarantine the rows
    that fail any field rule, row rule, date rule or the extract's years, with every reason."""
    out: dict[str, pd.Series] = {ROW: raw[ROW]}
    fails: dict[str, pd.Series | np.ndarray] = {}
    date_cols = []
    for f in extract.fields:
        if f.kind == "id":  # (nearly) one value per row: typed row by row
            val, col_fails = _type_column(blank_to_na(raw[f.delivered]), f)
        else:
            val, col_fails = _typed_by_distinct(raw[f.delivered], f)
        fails.update(col_fails)
        if f.kind == "year":
            out.update({k: val[k] for k in val.columns})
            continue
        if f.kind == "date":
            date_cols.append(f.name)
        out[f.name] = val
    clean = pd.DataFrame(out)
    if extract.years is not None:
        first, last = extract.years
        end = clean["academic_year_end"]
        fails[f"academic_year: outside the extract's years {first - 1}/{first}..{last - 1}/{last}"] = (
            end.notna() & ((end < first) | (end > last))).fillna(False)
    ceiling = years.march31(clean["academic_year_end"]) if extract.dates_within_collection_year and date_cols else None
    for name in date_cols:
        d = clean[name]
        fails[f"{name}: before {EARLIEST_DATE.year}"] = d.notna() & (d < EARLIEST_DATE)
        if ceiling is not None:
            fails[f"{name}: after the end of its collection year"] = (d.notna() & ceiling.notna()
                                                                      & (d > ceiling)).fillna(False)
    for f in extract.fields:
        if f.unique:  # a later row with the same value (the first is kept)
            fails[f"{f.name}: already on an earlier row (the first is kept)"] = (
                clean[f.name].notna().to_numpy(dtype=bool) & arrowops.duplicated(clean, [f.name]))
    for rule in extract.row_rules:
        fails[rule.reason] = rule.breaks(clean)
    # A line that could not be read as a row fails for that reason alone, not for every rule.
    unreadable = raw[PROBLEM].notna().to_numpy(dtype=bool)
    fails = {k: pd.Series(v).astype("boolean").fillna(False).to_numpy(dtype=bool) & ~unreadable
             for k, v in fails.items()}
    for problem in raw[PROBLEM].dropna().unique():
        fails[str(problem)] = (raw[PROBLEM] == problem).fillna(False).to_numpy(dtype=bool)
    # Exact duplicate rows (as delivered): the first copy is kept, later copies quarantined. Rows
    # with no identifier at all may be different children who look alike, so they are never
    # called duplicates.
    ids = [k for k in ("pupil_id", "moj_uid") if k in clean]
    identified = clean[ids].notna().any(axis=1) if ids else True
    fails["row: exact duplicate of an earlier row"] = _exact_duplicates(raw, extract) & identified
    return split(raw, clean, fails)


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
    return rows.assign(**{c: pd.array(rows[c].astype(object).to_numpy(), dtype=pd.StringDtype("pyarrow"))
                          for c in cats})


def split(raw: pd.DataFrame, clean: pd.DataFrame, fails: dict[str, pd.Series]) -> Cleaned:
    masks = {k: (np.asarray(v, dtype=bool) if isinstance(v, np.ndarray) and v.dtype == bool
                 else pd.Series(v).astype("boolean").fillna(False).to_numpy(dtype=bool)) for k, v in fails.items()}
    any_bad = np.zeros(len(raw), dtype=bool)
    for m in masks.values():
        any_bad |= m
    if not any_bad.any():  # nothing to quarantine: no copy of the clean table
        return Cleaned(clean, _as_delivered(raw.iloc[:0]).assign(
            reasons=pd.Series([], dtype=pd.StringDtype("pyarrow"))).reset_index(drop=True), {})
    reasons = {k: int(m.sum()) for k, m in masks.items() if m.any()}
    bad_idx = np.flatnonzero(any_bad)
    text = pd.Series([""] * len(bad_idx), dtype=object)
    for k, m in masks.items():
        hit = m[bad_idx]
        if hit.any():
            text[hit] = text[hit] + np.where(text[hit] == "", "", "; ") + k
    quarantine = _as_delivered(raw.iloc[bad_idx].reset_index(drop=True)).copy()
    quarantine["reasons"] = pd.array(text.to_numpy(), dtype=pd.StringDtype("pyarrow"))
    return Cleaned(clean.loc[~any_bad].reset_index(drop=True), quarantine, reasons)

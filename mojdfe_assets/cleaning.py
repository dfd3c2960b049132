"""Vectorised cleaning rules shared by every extract: read as text, type, validate, quarantine.

A table is cleaned by a *spec*: for each delivered column, what kind of value it holds. Each rule
works on whole columns (pyarrow/pandas), and every row that cannot be cleaned is kept, with the
reasons, in a quarantine table, so that raw rows = clean rows + quarantined rows always.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import arrowops as ops
from . import codelists
from .extracts import Extract

ROW = "source_row"  # 1-based data row number in the delivered file (header is row 0)


class ExtractError(ValueError):
    """The file as a whole cannot be read (missing column, empty file): names file, column, problem."""


def snake_case(name: str) -> str:
    """janitor::clean_names(., "snake") for the delivered names: MoJUID -> mo_juid,
    CIN_CategoryOfAbuse -> cin_category_of_abuse, CLA_CLA_31_MARCH -> cla_cla_31_march."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip())
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s)  # digits do not split: AT31MARCH -> at31march
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return re.sub(r"_+", "_", s).strip("_").lower()


def common_key(snake: str) -> str:
    """The guide's common key names across datasets: moj_uid, pupil_id, academic_year."""
    if snake == "mo_juid":
        return "moj_uid"
    if snake.endswith("pupil_matching_ref_anonymous"):
        return "pupil_id"
    if snake.endswith("_acadyr"):
        return "academic_year"
    return snake


# ---------------------------------------------------------------------------------------------
# Reading


PROBLEM = "parse_problem"  # why a delivered line could not be read as a row (null when it could)
LINE = "raw_line"         # the delivered line, kept only for rows that could not be read


def _header(path: Path) -> list[str]:
    if path.stat().st_size == 0:
        raise ExtractError(f"{path.name}: the file is empty (no header, no rows)")
    with open(path, "rb") as fh:
        raw = fh.readline().rstrip(b"\r\n")
    try:
        header = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ExtractError(f"{path.name}: the header line is not UTF-8 text ({err.reason})") from err
    names = next(iter(pd.read_csv(pd.io.common.StringIO(header + "\n"), header=None, dtype=str,
                                  keep_default_na=False).values))
    return [str(n) for n in names]


def read_text(path: Path, extract: Extract) -> pd.DataFrame:
    """Read a delivered CSV with every column as text, exactly as delivered (blanks kept).

    Fast path: pyarrow's multi-threaded reader. Only if the file has lines that cannot be read
    (a truncated or malformed line, bytes that are not UTF-8) is it read again line-tolerantly:
    those lines become rows with a `parse_problem`, to be quarantined, never silently skipped.
    """
    path = Path(path)
    if not path.exists():
        raise ExtractError(f"{path.name}: file not found in {path.parent}")
    names = _header(path)
    # large_string: the type pandas' Arrow-backed strings hold, so no column is cast (copied) again
    opts = pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names}, strings_can_be_null=False,
                                quoted_strings_can_be_null=False)
    try:
        table = pacsv.read_csv(path, convert_options=opts)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return _read_tolerant(path, names)
    df = table.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow") if t == pa.large_string() else None)
    df.insert(0, ROW, np.arange(1, len(df) + 1, dtype=np.int64))
    df[PROBLEM] = pd.Series(pd.arrays.ArrowStringArray(pa.nulls(len(df), pa.string())), index=df.index)
    df[LINE] = pd.Series(pd.arrays.ArrowStringArray(pa.nulls(len(df), pa.string())), index=df.index)
    return df


def _read_tolerant(path: Path, names: list[str]) -> pd.DataFrame:
    bad_lines: dict[int, str] = {}

    def on_invalid(row) -> str:
        bad_lines[row.number] = f"row: {row.actual_columns} field(s) instead of {row.expected_columns} " \
                                "(truncated or malformed line)"
        return "skip"

    table = pacsv.read_csv(
        path, read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.binary() for n in names}))
    n_rows = table.num_rows + len(bad_lines)
    # Each row is one physical line (no embedded newlines), so data row = physical line - 1.
    bad_rows = {line - 1: why for line, why in bad_lines.items()}
    good_rows = np.array([r for r in range(1, n_rows + 1) if r not in bad_rows], dtype=np.int64)
    cols, not_utf8 = {}, np.zeros(table.num_rows, dtype=bool)
    for name in names:
        values = table.column(name).to_pylist()
        text = []
        for i, v in enumerate(values):
            try:
                text.append(v.decode("utf-8"))
            except UnicodeDecodeError:
                not_utf8[i] = True
                text.append(v.decode("latin-1"))  # shown as delivered in the quarantine
        cols[name] = text
    good = pd.DataFrame(cols)
    good.insert(0, ROW, good_rows)
    good[PROBLEM] = np.where(not_utf8, "row: bytes that are not UTF-8 text", None)
    good[LINE] = None
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    bad = pd.DataFrame({ROW: list(bad_rows), **{n: "" for n in names}, PROBLEM: list(bad_rows.values()),
                        LINE: [lines[r] if r < len(lines) else "" for r in bad_rows]})
    df = pd.concat([good, bad], ignore_index=True).sort_values(ROW, kind="stable").reset_index(drop=True)
    df[ROW] = df[ROW].astype(np.int64)
    return df.astype({c: pd.StringDtype("pyarrow") for c in df.columns if c != ROW})


@dataclass
class HeaderReport:
    renamed: dict[str, str] = field(default_factory=dict)   # delivered name -> expected name
    extra: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)


def conform_header(df: pd.DataFrame, extract: Extract, file: str) -> tuple[pd.DataFrame, HeaderReport]:
    """Match delivered names to the expected ones (case-insensitively); a missing required column
    is an error naming the file and column."""
    report = HeaderReport()
    by_lower = {c.strip().lower(): c for c in df.columns if c not in (ROW, PROBLEM, LINE)}
    rename = {}
    missing = []
    for col in extract.columns:
        got = by_lower.get(col.lower())
        if got is None:
            (report.missing_optional if col in extract.optional else missing).append(col)
        elif got != col:
            rename[got] = col
            report.renamed[got] = col
    if missing:
        raise ExtractError(f"{file}: required column(s) missing: {', '.join(missing)}")
    known = {c.lower() for c in extract.columns}
    report.extra = [c for c in df.columns if c not in (ROW, PROBLEM, LINE) and c.strip().lower() not in known]
    df = df.rename(columns=rename)
    for col in report.missing_optional:
        df[col] = pd.Series("", index=df.index, dtype=pd.StringDtype("pyarrow"))
    return df[[ROW, *extract.columns, PROBLEM, LINE]], report


def load_extract(path: Path, extract: Extract) -> tuple[pd.DataFrame, HeaderReport]:
    """Read and conform a delivered extract; a file with a header but no rows is an error."""
    df, report = conform_header(read_text(path, extract), extract, Path(path).name)
    if df.empty:
        raise ExtractError(f"{Path(path).name}: header only, no data rows")
    return df, report


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


@dataclass(frozen=True)
class Col:
    kind: str                    # id | year | date | int | float | flag | code | text
    code_list: str | None = None
    lo: float | None = None
    hi: float | None = None
    required: bool = False       # a missing value is a reason to quarantine
    pattern: str | None = None   # for text: a regular expression every value must match


@dataclass
class Cleaned:
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    reasons: dict[str, int]      # "column: reason" -> rows
    header: HeaderReport | None = None


def _distinct(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Row codes and the distinct values of a delivered text column (blanks made missing). A
    column read as a categorical (Parquet dictionary) already has both."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy(dtype=np.int64)
        uniques = pd.Series(pd.array(np.append(col.cat.categories.to_numpy(dtype=object), ""),
                                     dtype=pd.StringDtype("pyarrow")))
        codes = np.where(codes < 0, len(uniques) - 1, codes)  # a gap is a blank
        return codes, blank_to_na(uniques)
    if col.isna().any():  # only a tolerant read can leave gaps; a gap is a blank
        col = col.fillna("")
    codes, uniques = pd.factorize(col, sort=False)
    return codes, blank_to_na(pd.Series(uniques))


def _expand(x, codes: np.ndarray, index: pd.Index):
    """Values (or a failure mask) of the distinct values, taken back to every row."""
    if isinstance(x, pd.DataFrame):
        return pd.DataFrame({c: _expand(x[c], codes, index) for c in x.columns}, index=index)
    if isinstance(x, pd.Series):
        return pd.Series(x.array.take(codes), index=index, name=x.name)
    return pd.Series(np.asarray(x)[codes], index=index)


def _type_column(s: pd.Series, c: Col, name: str) -> tuple[pd.Series | pd.DataFrame, dict[str, pd.Series]]:
    """Type one column (text, blanks already missing) by its spec: the value and failure masks."""
    fails: dict[str, pd.Series] = {}
    if c.required:
        fails[f"{name}: missing"] = s.isna()
    if c.kind == "year":
        years, bad = parse_academic_year(s)
        fails[f"{name}: not an academic year like 2012/2013"] = bad & s.notna()
        return years, fails
    if c.kind == "date":
        val, bad = parse_date(s)
        fails[f"{name}: malformed or impossible date"] = bad
    elif c.kind == "int":
        val, bad, rng = parse_int(s, c.lo, c.hi)
        fails[f"{name}: not a whole number"] = bad
        fails[f"{name}: outside {c.lo:g}..{c.hi:g}"] = rng
    elif c.kind == "float":
        val, bad, rng = parse_float(s, c.lo, c.hi)
        fails[f"{name}: not a number"] = bad
        fails[f"{name}: outside {c.lo:g}..{c.hi:g}"] = rng
    elif c.kind == "flag":
        val, bad = parse_flag(s)
        fails[f"{name}: not a 0/1 flag"] = bad
    elif c.kind == "code":
        val, bad = parse_code(s, c.code_list)
        fails[f"{name}: unknown code (not in {c.code_list})"] = bad
    elif c.kind in ("id", "text"):
        val = s
        if c.pattern:
            fails[f"{name}: does not match {c.pattern}"] = s.notna() & ~s.str.match(c.pattern).fillna(False)
    else:
        raise ValueError(c.kind)
    return val, fails


def clean_table(raw: pd.DataFrame, extract: Extract, spec: dict[str, Col], *, date_ceiling=None,
                extra_rules=None) -> Cleaned:
    """Type every column of `raw` (text as delivered) by `spec`; quarantine failing rows.

    `date_ceiling(clean)`: each row's last possible date (e.g. the end of its collection year);
    dates after it are impossible for that row. `extra_rules(clean)` returns
    further {reason: mask} pairs (e.g. ceased before commenced).
    """
    out: dict[str, pd.Series] = {ROW: raw[ROW]}
    fails: dict[str, pd.Series | np.ndarray] = {}
    date_cols = []
    for col in extract.columns:
        c = spec[col]
        name = common_key(snake_case(col))
        if c.kind == "id":  # (nearly) one value per row: typed row by row
            val, col_fails = _type_column(blank_to_na(raw[col]), c, name)
        else:
            # Few distinct values (codes, dates, years, counts): each distinct delivered value is
            # typed once, then the result is expanded to every row (exactly the same values and
            # failures as typing row by row, at a fraction of the time and memory).
            codes, distinct = _distinct(raw[col])
            val, col_fails = _type_column(distinct, c, name)
            val = _expand(val, codes, raw.index)
            col_fails = {k: _expand(m, codes, raw.index) for k, m in col_fails.items()}
        fails.update(col_fails)
        if c.kind == "year":
            out.update({k: val[k] for k in val.columns})
            continue
        if c.kind == "date":
            date_cols.append(name)
        out[name] = val
    clean = pd.DataFrame(out)
    ceiling = date_ceiling(clean) if date_ceiling is not None and date_cols else None
    for name in date_cols:
        d = clean[name]
        fails[f"{name}: before 1980"] = d.notna() & (d < pd.Timestamp("1980-01-01"))
        if ceiling is not None:
            fails[f"{name}: after the end of its collection year"] = (d.notna() & ceiling.notna()
                                                                      & (d > ceiling)).fillna(False)
    if extra_rules is not None:
        fails.update(extra_rules(clean))
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
    cols = list(extract.columns)
    key = next((c for c in cols if common_key(snake_case(c)) == "pupil_id"),
               next((c for c in cols if common_key(snake_case(c)) == "moj_uid"), None))
    keys = [key, *(c for c in cols if common_key(snake_case(c)) == "academic_year")] if key else None
    return ops.duplicated(raw, cols, candidates_by=keys)


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

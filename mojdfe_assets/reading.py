"""Reading a delivered extract: every column as text, exactly as delivered, and its header
matched to the expected columns.

Fast path: pyarrow's multi-threaded CSV reader. Only a file with lines that cannot be read (a
truncated or malformed line, bytes that are not UTF-8) is read again line-tolerantly, so those
lines become rows with a `parse_problem` to be quarantined, never silently skipped. A file that
cannot be used at all raises `ExtractError`, naming the file, the column and the problem.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .extracts import Extract

ROW = "source_row"  # 1-based data row number in the delivered file (header is row 0)


class ExtractError(ValueError):
    """The file as a whole cannot be used (missing or duplicated column, empty file, another
    delimiter, a date column written month-first): names file, column and problem."""


def fingerprint(path: Path) -> dict:
    """What identifies a delivery: the file's name, SHA-256, size and modification time (UTC)."""
    path = Path(path)
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    st = path.stat()
    return {
        "file": path.name,
        "sha256": digest,
        "bytes": st.st_size,
        "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)),
    }


PROBLEM = "parse_problem"  # why a delivered line could not be read as a row (null when it could)
LINE = "raw_line"  # the delivered line, kept only for rows that could not be read


def _header(path: Path) -> tuple[list[str], str]:
    """The header's names and its text."""
    if path.stat().st_size == 0:
        raise ExtractError(f"{path.name}: the file is empty (no header, no rows)")
    with open(path, "rb") as fh:
        raw = fh.readline().rstrip(b"\r\n")
    try:
        header = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ExtractError(f"{path.name}: the header line is not UTF-8 text ({err.reason})") from err
    names = next(
        iter(pd.read_csv(pd.io.common.StringIO(header + "\n"), header=None, dtype=str, keep_default_na=False).values)
    )
    return [str(n) for n in names], header


OTHER_DELIMITERS = {"\t": "tab", ";": "semicolon", "|": "pipe"}


def _check_header(names: list[str], header: str, extract: Extract, file: str) -> None:
    """A header that cannot be matched safely stops the run: another delimiter than the comma, or
    two names that are the same (case-insensitively), since either copy could be read as the column."""
    if len(names) == 1 and len(extract.columns) > 1:
        seen = [(d, what) for d, what in OTHER_DELIMITERS.items() if d in header]
        if seen:
            d, what = max(seen, key=lambda x: header.count(x[0]))
            raise ExtractError(
                f"{file}: the header has no comma but {header.count(d)} {what} characters: the file "
                f"looks {what}-delimited; deliver it comma-separated (CSV)"
            )
    keys = [n.strip().lower() for n in names]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        same = [f"{', '.join(repr(n) for n in names if n.strip().lower() == k)}" for k in repeated]
        raise ExtractError(
            f"{file}: the header has duplicated column names (compared case-insensitively): "
            + "; ".join(same)
            + ": which copy holds the column cannot be told; deliver each once"
        )


TRAILING = "__trailing_field__"  # the empty field a trailing delimiter adds to every data row


def _trailing_delimiter(path: Path, n: int, lines: int = 50) -> bool:
    """Every one of the first data lines has one field more than the header, and that field is
    empty on most of them: a delimiter after the last value (some exports write one on every data
    row). A row with a value there is then a row that cannot be read (`_read_trailing`)."""
    import csv

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        fh.readline()
        rows = [r for _, r in zip(range(lines), csv.reader(fh)) if r]
    return bool(rows) and all(len(r) == n + 1 for r in rows) and 2 * sum(r[-1].strip() == "" for r in rows) > len(rows)


def read_text(path: Path, extract: Extract, report: HeaderReport | None = None) -> pd.DataFrame:
    """Read a delivered CSV with every column as text, exactly as delivered (blanks kept). A
    delimiter after the last value of every data row is accepted (noted in `report`)."""
    path = Path(path)
    if not path.exists():
        raise ExtractError(f"{path.name}: file not found in {path.parent}")
    names, header = _header(path)
    _check_header(names, header, extract, path.name)
    # large_string: the type pandas' Arrow-backed strings hold, so no column is cast (copied) again
    opts = pacsv.ConvertOptions(
        column_types={n: pa.large_string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False
    )
    try:
        table = pacsv.read_csv(path, convert_options=opts)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        if not _trailing_delimiter(path, len(names)):
            return _read_tolerant(path, names)
        if report is not None:
            report.trailing_delimiter = True
        return _read_trailing(path, names)
    return _frame(table)


def _frame(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow") if t == pa.large_string() else None)
    df.insert(0, ROW, np.arange(1, len(df) + 1, dtype=np.int64))
    df[PROBLEM] = pd.Series(pd.arrays.ArrowStringArray(pa.nulls(len(df), pa.string())), index=df.index)
    df[LINE] = pd.Series(pd.arrays.ArrowStringArray(pa.nulls(len(df), pa.string())), index=df.index)
    return df


def _read_trailing(path: Path, names: list[str]) -> pd.DataFrame:
    """A file whose data rows end with a delimiter: read with one more (empty) column, which is
    then dropped; a row with a value there could not be read as a row."""
    with_trailing = [*names, TRAILING]
    opts = pacsv.ConvertOptions(
        column_types={n: pa.large_string() for n in with_trailing},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        df = _frame(
            pacsv.read_csv(
                path, read_options=pacsv.ReadOptions(column_names=with_trailing, skip_rows=1), convert_options=opts
            )
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        df = _read_tolerant(path, with_trailing, header_fields=len(names))
    extra = blank(df[TRAILING]).notna() & df[PROBLEM].isna()
    if extra.any():
        df[PROBLEM] = df[PROBLEM].mask(
            extra, f"row: {len(names) + 1} values, one after the last column (the other rows end with an empty field)"
        )
    return df.drop(columns=[TRAILING])


def blank(s: pd.Series) -> pd.Series:
    """Whitespace-only text as missing (for reading's own checks; cleaning has the full rule)."""
    return s.where(s.str.strip() != "")


def _read_tolerant(path: Path, names: list[str], header_fields: int | None = None) -> pd.DataFrame:
    """Read line by line: a line that cannot be read as a row becomes a row with its problem.
    `header_fields`: the header's own field count, when `names` adds the trailing empty field."""
    bad_lines: dict[int, str] = {}

    def on_invalid(row) -> str:
        if header_fields is None:
            why = f"{row.actual_columns} field(s) instead of {row.expected_columns}"
        else:
            why = f"{row.actual_columns} field(s) where the other rows have {header_fields} and a trailing empty field"
        bad_lines[row.number] = f"row: {why} (truncated or malformed line)"
        return "skip"

    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.binary() for n in names}),
    )
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
    bad = pd.DataFrame(
        {
            ROW: list(bad_rows),
            **dict.fromkeys(names, ""),
            PROBLEM: list(bad_rows.values()),
            LINE: [lines[r] if r < len(lines) else "" for r in bad_rows],
        }
    )
    df = pd.concat([good, bad], ignore_index=True).sort_values(ROW, kind="stable").reset_index(drop=True)
    df[ROW] = df[ROW].astype(np.int64)
    return df.astype({c: pd.StringDtype("pyarrow") for c in df.columns if c != ROW})


@dataclass
class HeaderReport:
    renamed: dict[str, str] = field(default_factory=dict)  # delivered name -> expected name
    extra: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    trailing_delimiter: bool = False  # every data row ended with a delimiter (an empty last field), accepted

    def metadata(self) -> dict:
        """The report as raw-asset metadata entries (counts and names only)."""
        import dagster as dg

        return {
            "columns_renamed (delivered -> expected)": dg.MetadataValue.json(self.renamed),
            "extra_columns_ignored": dg.MetadataValue.json(self.extra),
            "optional_columns_absent": dg.MetadataValue.json(self.missing_optional),
            "trailing_delimiter_on_every_row": self.trailing_delimiter,
        }


def conform_header(
    df: pd.DataFrame, extract: Extract, file: str, report: HeaderReport | None = None
) -> tuple[pd.DataFrame, HeaderReport]:
    """Match delivered names to the expected ones (case-insensitively); a missing required column
    is an error naming the file and column."""
    report = report if report is not None else HeaderReport()
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
    report = HeaderReport()
    df, report = conform_header(read_text(path, extract, report), extract, Path(path).name, report)
    if df.empty:
        raise ExtractError(f"{Path(path).name}: header only, no data rows")
    return df, report

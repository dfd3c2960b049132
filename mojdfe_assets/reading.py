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
    """The file as a whole cannot be read (missing column, empty file): names file, column, problem."""


def fingerprint(path: Path) -> dict:
    """What identifies a delivery: the file's name, SHA-256, size and modification time (UTC)."""
    path = Path(path)
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    st = path.stat()
    return {"file": path.name, "sha256": digest, "bytes": st.st_size,
            "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime))}


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
    """Read a delivered CSV with every column as text, exactly as delivered (blanks kept)."""
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
    bad = pd.DataFrame({ROW: list(bad_rows), **dict.fromkeys(names, ""), PROBLEM: list(bad_rows.values()),
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

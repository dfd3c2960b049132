"""Compare two warehouses table by table: same columns, rows and values; R-facing types kept.

    python benchmarks/compare_warehouses.py /tmp/bench_before /tmp/bench_after [--float-tolerance 1e-12]

Physical types may differ only where R sees the same type (e.g. string vs large_string,
dictionary index width); a dictionary column must stay a dictionary with the same ordered flag.
Values must be equal; with `--float-tolerance`, floating-point columns may differ by at most
that relative amount (and each such column is listed with its largest difference), for changes
that only move the last bits of a result (one library's arithmetic for another's).
Exits 1 on any difference. A warehouse folder may be a published snapshot or its parent
(`current/` is then compared).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def _r_type(t: pa.DataType) -> str:
    """The type as R's arrow package presents it."""
    if pa.types.is_dictionary(t):
        return f"factor(ordered={t.ordered})"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "character"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "double"
    return str(t)


def _plain(col: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_dictionary(t):
        return col.cast(t.value_type)
    if pa.types.is_large_string(t):
        return col.cast(pa.string())
    if pa.types.is_integer(t):
        return col.cast(pa.int64())
    return col


def _floats_close(a: pa.ChunkedArray, b: pa.ChunkedArray, tol: float) -> float | None:
    """The largest relative difference of two float columns with the same missing cells, or None
    when they differ by more than `tol` (or in which cells are missing)."""
    import numpy as np

    x, y = (np.asarray(c.to_numpy(zero_copy_only=False), dtype=float) for c in (a, b))
    if x.shape != y.shape or not np.array_equal(np.isnan(x), np.isnan(y)):
        return None
    ok = ~np.isnan(x)
    rel = np.abs(x[ok] - y[ok]) / np.maximum(np.abs(x[ok]), 1e-300)
    worst = float(rel.max(initial=0.0))
    return worst if worst <= tol else None


def compare(before: Path, after: Path, float_tolerance: float = 0.0, notes: list | None = None) -> list[str]:
    problems = []
    names = sorted(p.name for p in before.glob("*.parquet"))
    missing = [n for n in names if not (after / n).exists()]
    problems += [f"{n}: missing after" for n in missing]
    for name in names:
        if name in missing:
            continue
        a, b = pq.read_table(before / name), pq.read_table(after / name)
        if a.column_names != b.column_names:
            problems.append(f"{name}: columns differ {a.column_names} vs {b.column_names}")
            continue
        if a.num_rows != b.num_rows:
            problems.append(f"{name}: rows {a.num_rows} vs {b.num_rows}")
            continue
        for col in a.column_names:
            ta, tb = a.schema.field(col).type, b.schema.field(col).type
            if _r_type(ta) != _r_type(tb):
                problems.append(f"{name}.{col}: type {ta} vs {tb}")
                continue
            if pa.types.is_dictionary(ta) and ta.value_type == tb.value_type:
                da = a.column(col).combine_chunks().dictionary if a.num_rows else None
                db = b.column(col).combine_chunks().dictionary if b.num_rows else None
                if da is not None and db is not None and not da.equals(db):
                    problems.append(f"{name}.{col}: categories differ")
            if not _plain(a.column(col)).equals(_plain(b.column(col))):
                worst = (
                    _floats_close(a.column(col), b.column(col), float_tolerance)
                    if float_tolerance and pa.types.is_floating(_plain(a.column(col)).type)
                    else None
                )
                if worst is None:
                    problems.append(f"{name}.{col}: values differ")
                elif notes is not None:
                    notes.append(f"{name}.{col}: floating-point values differ by at most {worst:.1e} (relative)")
    return problems


def _snapshot(folder: Path) -> Path:
    return folder / "current" if (folder / "current").is_dir() else folder


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--float-tolerance", type=float, default=0.0)
    a = ap.parse_args(argv)
    before, after = _snapshot(a.before), _snapshot(a.after)
    notes: list[str] = []
    problems = compare(before, after, a.float_tolerance, notes)
    n = len(list(before.glob("*.parquet")))
    for p in problems:
        print("DIFF", p)
    for note in notes:
        print("NEAR", note)
    print(f"{n} tables compared: {'identical' if not problems else f'{len(problems)} difference(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

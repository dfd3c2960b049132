"""Compare two warehouses table by table: same columns, rows and values; R-facing types kept.

    python benchmarks/compare_warehouses.py /tmp/bench_before /tmp/bench_after

Physical types may differ only where R sees the same type (e.g. string vs large_string,
dictionary index width); a dictionary column must stay a dictionary with the same ordered flag.
Exits 1 on any difference.
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


def compare(before: Path, after: Path) -> list[str]:
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
                problems.append(f"{name}.{col}: values differ")
    return problems


def main(argv: list[str]) -> int:
    before, after = Path(argv[0]), Path(argv[1])
    problems = compare(before, after)
    n = len(list(before.glob("*.parquet")))
    for p in problems:
        print("DIFF", p)
    print(f"{n} tables compared: {'identical' if not problems else f'{len(problems)} difference(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

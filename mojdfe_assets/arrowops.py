"""Vectorised helpers over Arrow-backed columns, for national-scale tables (10M pupils).

pandas 2.x's `Series.isin` on Arrow strings turns the values into Python objects one at a time,
which costs seconds per million ids; `isin` here hands both sides to pyarrow's hash-set kernel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow(x) -> pa.Array | pa.ChunkedArray | None:
    if isinstance(x, (pa.Array, pa.ChunkedArray)):
        return x
    arr = x.array if isinstance(x, (pd.Series, pd.Index)) else x
    if isinstance(arr, pd.arrays.ArrowExtensionArray):
        return arr._pa_array
    return None


def _value_set(v: pa.Array | pa.ChunkedArray, type_: pa.DataType) -> pa.Array:
    """The lookup side of a pyarrow set kernel: one contiguous array of the probed column's type."""
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks() if v.num_chunks else pa.array([], type_)
    return v if v.type == type_ else v.cast(type_)


def isin(s: pd.Series, values) -> pd.Series:
    """`s.isin(values)` (same result, missing matches missing) with pyarrow when both sides are
    Arrow-backed; otherwise pandas' own."""
    a, v = _arrow(s), _arrow(values)
    if a is None or v is None:
        return s.isin(values)
    v = _value_set(v, a.type)
    hit = pc.is_in(a, value_set=v, skip_nulls=False).fill_null(False)
    return pd.Series(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool), index=s.index, name=s.name)


def lookup(keys: pd.Series, mapping: pd.Series) -> pd.Series:
    """`keys.map(mapping)` for a mapping Series indexed by unique keys (missing where a key is not
    in the index), with pyarrow's hash lookup when both keys and index are Arrow-backed."""
    a, v = _arrow(keys), _arrow(mapping.index)
    if a is None or v is None:
        return keys.map(mapping)
    values = pd.api.extensions.take(mapping._values, index_in(a, v), allow_fill=True)
    return pd.Series(values, index=keys.index, name=keys.name)


def index_in(keys: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Position in `values` of each key, -1 where it is not there (missing matches missing), from
    one pyarrow hash table of `values`."""
    pos = pc.index_in(keys, value_set=_value_set(values, keys.type), skip_nulls=False).fill_null(-1)
    return np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.intp)


def codes(*columns) -> list[np.ndarray]:
    """Integer codes of several key columns in one shared dictionary, from one hash pass over all
    of them (missing -> -1). Later set logic and joins between the columns are integer work."""
    arrays = [_arrow(c) for c in columns]
    if any(a is None for a in arrays):
        joint = pd.concat([pd.Series(np.asarray(c, dtype=object)) for c in columns], ignore_index=True)
        all_codes = pd.factorize(joint, use_na_sentinel=True)[0]
    else:
        typ = arrays[0].type
        chunks = [ch.cast(typ) if ch.type != typ else ch for a in arrays
                  for ch in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])]
        encoded = pa.chunked_array(chunks, type=typ).dictionary_encode().combine_chunks()
        all_codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    ends = np.cumsum([len(c) for c in columns])
    return np.split(all_codes, ends[:-1])


def n_codes(*code_arrays: np.ndarray) -> int:
    return int(max((c.max(initial=-1) for c in code_arrays), default=-1)) + 1


def positions(keys: np.ndarray, target: np.ndarray, n: int) -> np.ndarray:
    """For each key code, the row of its first occurrence in `target` codes, or -1 (codes from
    `codes`, n = number of codes; missing matches missing, as in pandas)."""
    first = np.full(n + 1, -1, dtype=np.int64)  # slot n (= index -1) is "missing"
    rows = np.arange(len(target), dtype=np.int64)
    first[target[::-1]] = rows[::-1]
    return first[keys]


def member(keys: np.ndarray, target: np.ndarray, n: int) -> np.ndarray:
    """keys isin target, on codes."""
    present = np.zeros(n + 1, dtype=bool)
    present[target] = True
    return present[keys]


def _duckdb(table: pa.Table, sql: str) -> pa.Table:
    """Run `sql` over `table` (named `t`) in a private multi-threaded DuckDB connection."""
    import duckdb  # only here: the rest of the module is pyarrow and numpy

    with duckdb.connect() as con:
        con.register("t", table)
        return con.sql(sql).to_arrow_table()


def repeated(*columns) -> np.ndarray:
    """Rows whose combination of values in `columns` may occur more than once: every row that
    pandas' `duplicated(keep=False)` marks, and rarely (a 64-bit hash collision) a few more. One
    multi-threaded DuckDB hash per row and a sort of the hashes: no Python objects, and about
    four times faster than pandas hashing 10M text ids. Callers decide exactly among these rows."""
    n = len(columns[0]) if columns else 0
    if n == 0:
        return np.zeros(0, dtype=bool)
    table = pa.table({f"c{i}": _arrow(c) if _arrow(c) is not None else pa.Array.from_pandas(c)
                      for i, c in enumerate(columns)})
    # insertion order is kept (DuckDB's default), so row i is hash i
    h = _duckdb(table, f"SELECT hash({', '.join(table.column_names)}) FROM t").column(0)
    h = np.asarray(h.to_numpy(), dtype=np.uint64)
    order = np.argsort(h, kind="stable")
    same = h[order][1:] == h[order][:-1]
    out = np.zeros(n, dtype=bool)
    out[order[1:][same]] = True
    out[order[:-1][same]] = True
    return out


def occurs_once(s: pd.Series) -> np.ndarray:
    """`~s.duplicated(keep=False)`, exactly: True where a value occurs once (missing counts as a
    value, as in pandas). An id column is normally all distinct, which one multi-threaded DuckDB
    exact count proves (10M text ids: ~1 s, against ~4 s for pandas' `is_unique`); only when it
    is not are the repeated rows found with `duplicated`."""
    a = _arrow(s)
    if a is not None and a.null_count <= 1:
        n_distinct = _duckdb(pa.table({"v": a}), "SELECT count(DISTINCT v) FROM t").column(0)[0].as_py()
        if n_distinct + a.null_count == len(a):
            return np.ones(len(a), dtype=bool)
    return ~duplicated(s.to_frame(name="v"), ["v"], keep=False)


def duplicated(frame: pd.DataFrame, subset: list[str], keep="first", candidates_by: list[str] | None = None
               ) -> np.ndarray:
    """`frame.duplicated(subset, keep=keep)`, exactly: pandas decides only among the rows that
    `repeated` finds on `candidates_by` (default `subset`; any of its columns will do, since rows
    equal on `subset` are equal there, and equal values always hash alike: no duplicate is missed)."""
    candidates = np.flatnonzero(repeated(*(frame[c] for c in (candidates_by or subset))))
    out = np.zeros(len(frame), dtype=bool)
    if len(candidates):
        out[candidates] = frame.iloc[candidates].duplicated(subset=subset, keep=keep).to_numpy(dtype=bool)
    return out

"""Vectorised helpers over Arrow-backed columns, for national-scale tables (10M pupils).

pandas 2.x's `Series.isin` on Arrow strings turns the values into Python objects one at a time,
which costs seconds per million ids; `isin` here hands both sides to pyarrow's hash-set kernel.
Also the "type each distinct value once" kernel (`distinct`, `expand`) and exact duplicate
detection (`repeated`, `duplicated`, `occurs_once`) by one multi-threaded DuckDB hash per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def as_arrow(x) -> pa.Array | pa.ChunkedArray | None:
    if isinstance(x, (pa.Array, pa.ChunkedArray)):
        return x
    arr = x.array if isinstance(x, (pd.Series, pd.Index)) else x
    if isinstance(arr, pd.arrays.ArrowExtensionArray):
        return arr._pa_array
    return None


def rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """`frame.loc[keep].reset_index(drop=True)`, exactly (same columns, dtypes and values), each
    column's array indexed by the boolean mask itself: Arrow columns filtered by Arrow, numpy,
    masked and categorical ones by boolean indexing. pandas' frame indexing turns the mask into
    row numbers and takes them, several times slower for text (7M CIN rows: 2.2 s -> ~0.4 s)."""
    keep = np.asarray(keep, dtype=bool)
    if frame.columns.has_duplicates or not len(frame.columns):
        return frame.loc[keep].reset_index(drop=True)
    return pd.DataFrame({c: frame[c].array[keep] for c in frame.columns}, columns=frame.columns, copy=False)


def _value_set(v: pa.Array | pa.ChunkedArray, type_: pa.DataType) -> pa.Array:
    """The lookup side of a pyarrow set kernel: one contiguous array of the probed column's type."""
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks() if v.num_chunks else pa.array([], type_)
    return v if v.type == type_ else v.cast(type_)


def isin(s: pd.Series, values) -> pd.Series:
    """`s.isin(values)` (same result, missing matches missing) with pyarrow when both sides are
    Arrow-backed; otherwise pandas' own."""
    a, v = as_arrow(s), as_arrow(values)
    if a is None or v is None:
        return s.isin(values)
    v = _value_set(v, a.type)
    hit = pc.is_in(a, value_set=v, skip_nulls=False).fill_null(False)
    return pd.Series(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool), index=s.index, name=s.name)


def lookup(keys: pd.Series, mapping: pd.Series) -> pd.Series:
    """`keys.map(mapping)` for a mapping Series indexed by unique keys (missing where a key is not
    in the index), with pyarrow's hash lookup when both keys and index are Arrow-backed."""
    a, v = as_arrow(keys), as_arrow(mapping.index)
    if a is None or v is None:
        return keys.map(mapping)
    values = pd.api.extensions.take(mapping._values, index_in(a, v), allow_fill=True)
    return pd.Series(values, index=keys.index, name=keys.name)


# From this many values on, `index_in` on text joins in DuckDB (`_index_by_join`).
JOIN_INDEX_ABOVE = 1_000_000


def is_text(t: pa.DataType) -> bool:
    """Whether an Arrow type is text (string or large_string)."""
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def index_in(keys: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Position in `values` of each key, -1 where it is not there (missing matches missing; a
    repeated value: its first position), from one pyarrow hash table of `values`; for many text
    values, from one DuckDB join (`_index_by_join`), the same positions."""
    if len(values) >= JOIN_INDEX_ABOVE and is_text(keys.type) and is_text(values.type):
        pos = _index_by_join(keys, values)
        if pos is not None:
            return pos
    pos = pc.index_in(keys, value_set=_value_set(values, keys.type), skip_nulls=False).fill_null(-1)
    return np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.intp)


def _index_by_join(keys, values) -> np.ndarray | None:
    """`index_in` of text by one multi-threaded DuckDB join: it hashes the smaller side, where
    pyarrow always builds a single-threaded hash table of all `values` (10M pupil ids: ~3 s,
    however few the keys). None when a key matches a repeated value (pyarrow's first-position
    rule then decides) or DuckDB refuses the text."""
    import duckdb  # only here, as in `_duckdb`

    n = len(keys)
    try:
        with duckdb.connect() as con:
            con.register("k", pa.table({"v": keys, "g": pa.array(np.arange(n, dtype=np.int64))}))
            con.register("s", pa.table({"v": values, "rn": pa.array(np.arange(len(values), dtype=np.int64))}))
            res = con.sql("SELECT k.g, s.rn FROM k JOIN s ON k.v = s.v").to_arrow_table()
    except duckdb.Error:
        return None
    g = res.column("g").to_numpy()
    pos = np.full(n, -1, dtype=np.intp)
    pos[g] = res.column("rn").to_numpy()
    if np.count_nonzero(pos >= 0) != len(g):  # a key matched twice: a repeated value
        return None
    if keys.null_count and values.null_count:  # SQL's = never matches missing; pyarrow's does
        first_null = int(np.flatnonzero(np.asarray(values.is_null().to_numpy(zero_copy_only=False)))[0])
        pos[np.asarray(keys.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = first_null
    return pos


def distinct(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The distinct values of a column followed by one missing value, and each row's position
    among them (missing rows point at the trailing missing value), as the narrowest signed integers
    that hold every position (int8 for up to 127 values: an eighth of the memory of int64 codes,
    which at 10M rows cost more to allocate than to compute; widen them before arithmetic). A
    categorical column (text read from Parquet's dictionary pages) already holds both, so nothing
    is hashed again.

    The kernel of "type each distinct value once": a rule is evaluated on `values` and its result
    taken back to every row with `expand`, which gives exactly what evaluating it row by row gives,
    at the cost of the few distinct values (codes, dates, years, counts) instead of every row."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        uniques = pd.Series(col.cat.categories)
    else:
        codes, uniques = pd.factorize(col, sort=False, use_na_sentinel=True)
        uniques = pd.Series(uniques)
    n = len(uniques)
    out = codes.astype(next(t for t in (np.int8, np.int16, np.int32, np.int64) if n <= np.iinfo(t).max))
    out[codes < 0] = n
    return out, uniques.reindex(range(n + 1))


def expand(x, codes: np.ndarray, index: pd.Index):
    """Values (a Series, a DataFrame of them, or an array) of the distinct values of `distinct`,
    taken back to every row. Arrow takes narrow codes as they are; pandas' other arrays would widen
    them to intp once per take (twice for a masked array: values and mask), so they are widened here
    once (and a caller expanding several columns by the same codes may pass them widened)."""
    if isinstance(x, pd.DataFrame):
        if any(as_arrow(x[c]) is None for c in x.columns):
            codes = codes.astype(np.intp, copy=False)
        return pd.DataFrame({c: expand(x[c], codes, index) for c in x.columns}, index=index)
    if isinstance(x, pd.Series):
        if as_arrow(x) is None:
            codes = codes.astype(np.intp, copy=False)
        return pd.Series(x.array.take(codes), index=index, name=x.name)
    return pd.Series(np.asarray(x)[codes], index=index)


def _duckdb(table: pa.Table, sql: str) -> pa.Table:
    """Run `sql` over `table` (named `t`) in a private multi-threaded DuckDB connection."""
    import duckdb  # only here: the rest of the module is pyarrow and numpy

    with duckdb.connect() as con:
        con.register("t", table)
        return con.sql(sql).to_arrow_table()


def _hashes(*columns) -> np.ndarray:
    """One 64-bit DuckDB hash per row of `columns` (multi-threaded, no Python objects): equal
    rows always hash alike, so rows with distinct hashes are distinct."""
    table = pa.table(
        {f"c{i}": as_arrow(c) if as_arrow(c) is not None else pa.Array.from_pandas(c) for i, c in enumerate(columns)}
    )
    # insertion order is kept (DuckDB's default), so row i is hash i
    return _duckdb(table, f"SELECT hash({', '.join(table.column_names)}) AS h FROM t").column(0).to_numpy()


def _repeating(h: np.ndarray) -> np.ndarray:
    """The hash values that occur more than once in `h` (few), by one sort and a comparison of
    neighbours: numpy's vectorised sort of 10M 64-bit hashes takes ~0.1 s, where DuckDB's GROUP BY
    of as many groups took 0.8-2 s on two shared cores."""
    s = np.sort(h)
    twice = s[1:][s[1:] == s[:-1]]  # sorted, each value once per extra occurrence
    # each value once, by its neighbours again (np.unique would sort the sorted values once more)
    return twice[np.concatenate(([True], twice[1:] != twice[:-1]))] if len(twice) else twice


def _rows_with(h: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows whose hash is one of `values` (one pyarrow hash set of the few values)."""
    if not len(values):
        return np.zeros(len(h), dtype=bool)
    hit = pc.is_in(pa.array(h), value_set=pa.array(values))
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def repeated(*columns) -> np.ndarray:
    """Rows whose combination of values in `columns` may occur more than once: every row that
    pandas' `duplicated(keep=False)` marks, and rarely (a 64-bit hash collision) a few more. One
    multi-threaded DuckDB hash per row (`_hashes`) and the hash values that repeat (`_repeating`):
    no Python objects, and about four times faster than pandas hashing 10M text ids. Callers decide
    exactly among these rows."""
    n = len(columns[0]) if columns else 0
    if n == 0:
        return np.zeros(0, dtype=bool)
    h = _hashes(*columns)
    return _rows_with(h, _repeating(h))


def _data_key(a) -> tuple:
    chunks = a.chunks if isinstance(a, pa.ChunkedArray) else [a]
    return tuple(
        (c.type, c.offset, len(c), *((b.address, b.size) if b is not None else None for b in c.buffers()))
        for c in chunks
    )


# Rules proven in this step to hold on every row of some columns, by the rule's name and the
# columns' memory (Arrow buffers, or the very array object of a numpy-backed column), the columns
# kept alive here so that memory is not reused by other values while the proof is remembered. The
# clean step proves its unique column distinct (`DISTINCT`), its LA and academic-year columns'
# patterns and LAs in force, and its schema check asks again of the same arrays; `keys.encode`
# asks whether its first column is distinct. Forgotten at every `resources.release_memory` (each
# step's loads and stores), and at most a few.
_PROVEN: dict[tuple, tuple] = {}

DISTINCT = "distinct"  # every present value occurs once (at most one missing)


def _column_key(c):
    if c is None:
        return None
    a = as_arrow(c)
    return ("arrow", _data_key(a)) if a is not None else ("array", id(c.array))


def remember_rule(rule: str, *columns) -> None:
    """Remember that `rule` holds on every row of `columns` (Series or Arrow arrays; `None`: no
    such column), as the caller proved."""
    if len(_PROVEN) >= 16:
        _PROVEN.clear()
    _PROVEN[(rule, *(_column_key(c) for c in columns))] = tuple(
        None if c is None else (as_arrow(c) if as_arrow(c) is not None else c.array) for c in columns
    )


def proven_rule(rule: str, *columns) -> bool:
    """Whether `rule` was proven in this step for these very columns (`remember_rule`)."""
    return (rule, *(_column_key(c) for c in columns)) in _PROVEN


def remember_matching(s: pd.Series, pattern: str) -> None:
    """Remember that every present value of `s` matches `pattern` (`str.match`), as proven by the caller."""
    if as_arrow(s) is not None:
        remember_rule(f"str_matches {pattern}", s)


def proven_matching(s: pd.Series, pattern: str) -> bool:
    """Whether these very values were proven in this step to match `pattern` (`remember_matching`)."""
    return as_arrow(s) is not None and proven_rule(f"str_matches {pattern}", s)


def forget_proofs() -> None:
    """Forget every proof and placement of this step (`resources.release_memory` calls it)."""
    _PROVEN.clear()
    from .keys import forget_placements

    forget_placements()


def rises_strictly(a) -> bool:
    """Whether an Arrow array with no missing values rises strictly row by row (text compared
    byte by byte): its values are then distinct, proven by one comparison of neighbours with no
    hashing. A spine delivered in pupil order, and the tables that keep its order, pass."""
    if a.null_count:
        return False
    return len(a) < 2 or bool(pc.all(pc.less(a.slice(0, len(a) - 1), a.slice(1))).as_py())


def known_distinct(a) -> bool:
    """Whether an Arrow array's values are known distinct with no hashing: proven in this step
    already, or rising strictly row by row (then remembered as proven)."""
    if proven_rule(DISTINCT, a):
        return True
    if rises_strictly(a):
        remember_rule(DISTINCT, a)
        return True
    return False


def occurs_once(s: pd.Series) -> np.ndarray:
    """`~s.duplicated(keep=False)`, exactly: True where a value occurs once (missing counts as a
    value, as in pandas). An id column is normally all distinct, which distinct hashes prove
    (`_hashes`, `_repeating`; 10M text ids: ~0.4 s, against ~1-3 s for a DuckDB exact distinct
    count and ~4 s for pandas' `is_unique`); only when some hash repeats does pandas decide among
    the rows with those hashes. An integer column in ascending order
    (`source_row`) is decided by comparing neighbours, with no hashing at all."""
    if s.dtype.kind in "iu" and len(s) > 1:  # numpy integers (a row number): ordered rows need no hashing
        v = s.to_numpy()
        step = v[1:] > v[:-1]
        if step.all():
            return np.ones(len(v), dtype=bool)
        if (v[1:] >= v[:-1]).all():  # sorted with ties: a value repeats exactly where it equals a neighbour
            tie = ~step
            once = np.ones(len(v), dtype=bool)
            once[1:] &= ~tie
            once[:-1] &= ~tie
            return once
    a = as_arrow(s)
    if a is not None and a.null_count <= 1:
        if known_distinct(a):  # proven already in this step, or rising strictly
            return np.ones(len(a), dtype=bool)
        h = _hashes(a)
        twice = _repeating(h)
        if not len(twice):  # distinct hashes, so distinct values (equal values always hash alike)
            remember_rule(DISTINCT, a)
            return np.ones(len(a), dtype=bool)
        # some value repeats (or two hashes collide): pandas decides among the rows with those hashes
        return ~_decided(s.to_frame(name="v"), ["v"], False, np.flatnonzero(_rows_with(h, twice)))
    return ~duplicated(s.to_frame(name="v"), ["v"], keep=False)


def duplicated(
    frame: pd.DataFrame, subset: list[str], keep="first", candidates_by: list[str] | None = None
) -> np.ndarray:
    """`frame.duplicated(subset, keep=keep)`, exactly: pandas decides only among the rows that
    `repeated` finds on `candidates_by` (default `subset`; any of its columns will do, since rows
    equal on `subset` are equal there, and equal values always hash alike: no duplicate is missed)."""
    candidates = np.flatnonzero(repeated(*(frame[c] for c in (candidates_by or subset))))
    return _decided(frame, subset, keep, candidates)


# Above this many candidates, the candidates' whole `subset` is hashed first (`_decided`).
REFINE_ABOVE = 100_000


def _decided(frame: pd.DataFrame, subset: list[str], keep, candidates: np.ndarray) -> np.ndarray:
    """`frame.duplicated(subset, keep=keep)` where every duplicated row is among `candidates`.
    Many candidates (PNC: 1.8M of 2.3M rows share a MoJUID with another disposal) are narrowed
    first to those whose whole `subset` may repeat (`repeated`), which pandas' own comparison,
    ~4x slower, then decides: a candidate whose row is unique among them is no duplicate under
    any `keep`, and takes no part in deciding the others."""
    out = np.zeros(len(frame), dtype=bool)
    if len(candidates) > REFINE_ABOVE and len(subset) > 1:
        rows = frame.iloc[candidates]
        candidates = candidates[repeated(*(rows[c] for c in subset))]
    if len(candidates):
        out[candidates] = frame.iloc[candidates].duplicated(subset=subset, keep=keep).to_numpy(dtype=bool)
    return out

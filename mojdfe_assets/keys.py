"""Integer keys: several identifier columns hashed once into one shared dictionary of integer
codes, so that joins and set logic between them (who is in which table, where each pupil's row
is) are integer array work, never Python sets or repeated string hashing.

Codes come from `encode`; a missing identifier is -1 and matches only another missing one (as in
pandas). `n` is the number of distinct identifiers (`n_keys`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from . import arrowops
from .arrowops import as_arrow

# Below this many values in all, one pyarrow dictionary pass is quick enough.
JOIN_ENCODE_ABOVE = 2_000_000


def encode(*columns) -> list[np.ndarray]:
    """Integer codes of several key columns in one shared dictionary (missing -> -1): equal
    values get equal codes, different values different ones, codes 0..n-1. Later set logic and
    joins between the columns are integer work.

    When the first column holds distinct, present values (a spine or level table's pupil_id, as
    its schema requires) and the columns are large, its codes are its row numbers and every
    other column is coded by one multi-threaded DuckDB hash join against it (`_encode_by_join`):
    at 10M spine pupils and 14M other ids, ~2x faster than one pyarrow dictionary pass, whose
    single-threaded hash table of 10M text ids is the slowest part of `intervention_level`.
    Otherwise (or if the first column turns out not to be distinct) one pyarrow pass codes all."""
    arrays = [as_arrow(c) for c in columns]
    if any(a is None for a in arrays):
        joint = pd.concat([pd.Series(np.asarray(c, dtype=object)) for c in columns], ignore_index=True)
        all_codes = pd.factorize(joint, use_na_sentinel=True)[0]
        ends = np.cumsum([len(c) for c in columns])
        return np.split(all_codes, ends[:-1])
    if (
        len(arrays) > 1
        and sum(len(a) for a in arrays) > JOIN_ENCODE_ABOVE
        and all(arrowops.is_text(a.type) for a in arrays)
    ):
        codes = _encode_by_join(arrays)
        if codes is not None:
            return codes
    return _encode_by_dictionary(arrays)


def _end_to_end(arrays, typ: pa.DataType) -> pa.ChunkedArray:
    """Arrow arrays (or chunked arrays) one after another as one chunked array of `typ`, no copy
    of a chunk already of that type."""
    return pa.chunked_array(
        [
            ch.cast(typ) if ch.type != typ else ch
            for a in arrays
            for ch in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])
        ],
        type=typ,
    )


def _encode_by_dictionary(arrays: list) -> list[np.ndarray]:
    encoded = _end_to_end(arrays, arrays[0].type).dictionary_encode().combine_chunks()
    all_codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    ends = np.cumsum([len(a) for a in arrays])
    return np.split(all_codes, ends[:-1])


# Within a step, a column already placed against the same first column (by the memory both
# occupy, kept alive here) is not joined again: `pupil_outcomes` codes its tables' pupil ids
# against the level table's twice. Forgotten with `arrowops.forget_proofs` (each load/store).
_PLACED: dict[tuple, tuple] = {}


def forget_placements() -> None:
    _PLACED.clear()


def _encode_by_join(arrays: list) -> list[np.ndarray] | None:
    """`encode` when the first column's values are distinct and present: its codes are its row
    numbers; each other column's value found there takes that row number, from one DuckDB join
    of the other columns against the first (the first joined with itself too, unless already
    proven distinct in this step, `arrowops.occurs_once`, or rising strictly row by row,
    `arrowops.rises_strictly`); values found nowhere there are coded
    after them by a pyarrow dictionary pass over those few. A column equal to the first row by
    row (KS4 and absence tables delivered in spine order) is recognised by one comparison and
    not joined. None when the first column has a missing or repeated value."""
    import duckdb  # only here: integer work needs no DuckDB
    import pyarrow.compute as pc

    first = arrays[0]
    n0 = len(first)
    if first.null_count or n0 >= 2**31 or any(len(a) >= 2**31 for a in arrays):
        return None
    first_key = arrowops._data_key(first)
    rows0 = np.arange(n0, dtype=np.int64)
    placed: list[np.ndarray | None] = [rows0, *([None] * (len(arrays) - 1))]
    todo = []
    for i, a in enumerate(arrays[1:], 1):
        memo = _PLACED.get((first_key, arrowops._data_key(a)))
        if memo is not None:
            placed[i] = memo[0]
        elif len(a) == n0 and not a.null_count and a.type == first.type and pc.all(pc.equal(a, first)).as_py():
            placed[i] = rows0
        else:
            todo.append(i)
    prove = not arrowops.known_distinct(first)
    joined = ([0] if prove else []) + todo
    if joined:
        # One probe table of every joined column end to end, each row numbered across all of
        # them: the join's matches are scattered straight into one array of codes, no sort.
        ends = np.cumsum([len(arrays[i]) for i in joined])
        probe = _end_to_end([arrays[i] for i in joined], first.type)
        total = int(ends[-1])
        row_type = np.int32 if total < 2**31 else np.int64
        with duckdb.connect() as con:
            con.register("s", pa.table({"v": first, "rn": pa.array(np.arange(n0, dtype=np.int32))}))
            con.register("o", pa.table({"v": probe, "g": pa.array(np.arange(total, dtype=row_type))}))
            res = con.sql("SELECT o.g, s.rn AS code FROM o JOIN s ON o.v = s.v").to_arrow_table()
        g = res.column("g").to_numpy()
        code = res.column("code").to_numpy()
        del res, probe
        if prove:
            # every row of the first column matches itself; more matches there = a repeated value
            if np.count_nonzero(g < ends[0]) != n0:
                return None
            arrowops.remember_rule(arrowops.DISTINCT, first)
        all_codes = np.full(total, -1, dtype=np.int64)
        all_codes[g] = code
        del g, code
        starts = np.concatenate([[0], ends[:-1]])
        for k, i in enumerate(joined):
            if i == 0:
                continue
            placed[i] = codes = all_codes[starts[k] : ends[k]]
            if len(_PLACED) >= 16:
                _PLACED.clear()
            _PLACED[(first_key, arrowops._data_key(arrays[i]))] = (codes, first, arrays[i])
    out = [rows0, *(p.copy() for p in placed[1:])]
    # values not in the first column (e.g. CIN children outside the spine): coded after it
    rest = []
    for i, a in enumerate(arrays[1:], 1):
        valid = np.asarray(a.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        rows = np.flatnonzero((out[i] < 0) & valid)
        if len(rows):
            rest.append((i, rows, a.take(pa.array(rows))))
    if rest:
        enc = _end_to_end([t for _, _, t in rest], first.type).dictionary_encode().combine_chunks()
        extra = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64) + n0
        k = 0
        for i, rows, _ in rest:
            out[i][rows] = extra[k : k + len(rows)]
            k += len(rows)
    return out


def n_keys(*code_arrays: np.ndarray) -> int:
    return int(max((c.max(initial=-1) for c in code_arrays), default=-1)) + 1


def n_distinct(codes: np.ndarray, n: int) -> int:
    """How many distinct codes occur (missing, -1, not counted); n = `n_keys`. No sort."""
    present = np.zeros(n + 1, dtype=bool)  # slot n (= index -1) is "missing"
    present[codes] = True
    return int(np.count_nonzero(present[:n]))


def positions(keys: np.ndarray, target: np.ndarray, n: int) -> np.ndarray:
    """For each key code, the row of its first occurrence in `target` codes, or -1 (codes from
    `encode`, n = `n_keys`; missing matches missing, as in pandas)."""
    first = np.full(n + 1, -1, dtype=np.int64)  # slot n (= index -1) is "missing"
    rows = np.arange(len(target), dtype=np.int64)
    first[target[::-1]] = rows[::-1]
    return first[keys]


def member(keys: np.ndarray, target: np.ndarray, n: int) -> np.ndarray:
    """keys isin target, on codes."""
    present = np.zeros(n + 1, dtype=bool)
    present[target] = True
    return present[keys]

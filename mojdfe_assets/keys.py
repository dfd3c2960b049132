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

from .arrowops import as_arrow


def encode(*columns) -> list[np.ndarray]:
    """Integer codes of several key columns in one shared dictionary, from one hash pass over all
    of them (missing -> -1). Later set logic and joins between the columns are integer work."""
    arrays = [as_arrow(c) for c in columns]
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


def n_keys(*code_arrays: np.ndarray) -> int:
    return int(max((c.max(initial=-1) for c in code_arrays), default=-1)) + 1


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

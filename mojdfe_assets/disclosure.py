"""Statistical disclosure control for tables that leave the Secure Research Service.

Rules (as the ONS SRS output check expects):
1. primary suppression: a count from 1 to `threshold - 1` (default: under 10) is suppressed;
2. secondary suppression: no row or column of the table may hold exactly one suppressed cell,
   and no suppressed cell may be determined by the published totals (checked exactly, below);
3. every published count, including totals, is rounded to the nearest multiple of `base`
   (default 5); totals from 1 to `threshold - 1` are suppressed;
4. rates are recomputed from the published (rounded) numerator and denominator, never from the
   unrounded counts;
5. zeros and full cells (class disclosure: every pupil of a cell has the outcome, or none has) follow
   a `Policy`: "flag" (default, as ACRO does: published, marked for the output checker to review),
   "suppress" (treated like small cells, with secondary suppression) or "publish". A zero in a line
   (row or column) whose total is 0 is structural: the published total shows it whatever is done,
   so it is flagged, never suppressed;
6. dominance for magnitudes (sums and means): ACRO's NK rule (the largest 2 contributors hold 90% or
   more of the cell total) and p-ratio rule (the rest of the cell, less the 2 largest, is under 10%
   of the largest), see `dominance`. Medians have no dominance rule: they are published with their
   n and suppressed whenever the n is, or when it is under the threshold.

`determined_cells` is the attacker: given the published cells and the *exact* row and column
totals (a stronger position than a real reader, who sees rounded totals), it finds every
suppressed cell whose value is fixed by the linear equations the totals give, or by the sign of
counts (the suppressed cells of a line that add up to 0 are all 0). A table passes only if it
finds none. Tables here are aggregates (LAs × levels), so plain loops are fine.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

THRESHOLD = 10
BASE = 5
POLICIES = ("flag", "suppress", "publish")
NK_N, NK_K, P_RATIO = 2, 0.90, 0.10  # ACRO's defaults (safe_nk_n, safe_nk_k, safe_pratio_p)


@dataclass(frozen=True)
class Policy:
    """What to do with zeros and full cells: "flag" (published, marked for the checker; the
    output's status is review), "suppress" (suppressed like a small cell, with secondary
    suppression) or "publish" (published, not marked). Where a cell is both, the stricter wins."""

    zeros: str = "flag"
    full_cells: str = "flag"

    def __post_init__(self):
        for name in ("zeros", "full_cells"):
            if getattr(self, name) not in POLICIES:
                raise ValueError(f"Policy.{name} must be one of {POLICIES}, not {getattr(self, name)!r}")

    def masks(
        self, zero: pd.DataFrame, full: pd.DataFrame, structural: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(cells to suppress, cells to flag) for boolean masks of zero, full and structural cells."""
        want = zero & (self.zeros == "suppress") | full & (self.full_cells == "suppress")
        suppress = want & ~structural
        # A structural zero cannot be hidden (its line total of 0 is published): flagged instead.
        flag = zero & (self.zeros == "flag") | full & (self.full_cells == "flag") | want & structural
        return suppress, flag & ~suppress

    def describe(self) -> str:
        return f"zeros: {self.zeros}, full cells: {self.full_cells}"


DEFAULT_POLICY = Policy()


class DisclosureRules(dg.ConfigurableResource):
    """The disclosure policy of every for-export table (the resource `disclosure_rules`; set it in
    the launchpad). Every for-export asset and the output-checking request read the same one."""

    zeros: str = Field(
        default="flag",
        description=(
            "Zero cells (no pupil, or no pupil with the outcome): 'flag' (published and marked for the SRS "
            "output checker to review, as ACRO does; the default), 'suppress' (hidden like a count of 1-9, with "
            "secondary suppression) or 'publish' (published, not marked). A zero whose row or column total is 0 "
            "is flagged whatever is chosen: the published total shows it."
        ),
    )
    full_cells: str = Field(
        default="flag",
        description=(
            "Full cells (every pupil of a cell has the outcome, or none has: class disclosure): 'flag' (the "
            "default), 'suppress' or 'publish', as for zeros"
        ),
    )

    def policy(self) -> Policy:
        return Policy(zeros=self.zeros, full_cells=self.full_cells)


def class_cells(n: pd.DataFrame, events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Class-disclosure cells of linked count tables over the same cells: `n` pupils, `events`
    pupils with the outcome (non-events = n - events). zero: n or events is 0; full: n > 0 and
    every pupil has the outcome or none has; structural: a zero (in n, events or non-events)
    whose row or column total in that table is 0 (an empty LA or level)."""
    non = n - events
    zero = (n == 0) | (events == 0)
    full = (n > 0) & ((events == 0) | (non == 0))
    structural = pd.DataFrame(False, index=n.index, columns=n.columns)
    for t in (n, events, non):
        empty_line = pd.DataFrame(
            np.logical_or.outer((t.sum(axis=1) == 0).to_numpy(), (t.sum(axis=0) == 0).to_numpy()),
            index=t.index,
            columns=t.columns,
        )
        structural |= (t == 0) & empty_line
    return {"zero": zero, "full": full, "structural": structural & (zero | full)}


def dominance(values, groups, n: int = NK_N, k: float = NK_K, p: float = P_RATIO) -> pd.DataFrame:
    """ACRO's dominance rules for a sum (or mean) per group of non-negative contributions:
    NK (the `n` largest hold at least `k` of the total) and p-ratio ((total - largest - second) /
    largest < `p`). One row per group: contributors, the two rules and `dominated` (either)."""
    df = pd.DataFrame({"g": np.asarray(groups), "v": np.asarray(values, dtype=float)}).dropna()
    rows = {g: dominance_rules(v.to_numpy(), n, k, p) for g, v in df.groupby("g", observed=True)["v"]}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["contributors", "nk_rule", "p_ratio"])
    out["dominated"] = out["nk_rule"] | out["p_ratio"]
    return out


def dominance_rules(values: np.ndarray, n: int = NK_N, k: float = NK_K, p: float = P_RATIO) -> dict:
    """`dominance` of one group's contributions (no missing values)."""
    top = np.sort(values)[::-1]
    total = top.sum()
    if (top < 0).any():
        nk = pr = True  # dominance is not defined with negative values: treat as failing, as ACRO reviews them
    elif total <= 0:
        nk = pr = False
    else:
        nk = top[:n].sum() / total >= k
        pr = (total - top[:2].sum()) / top[0] < p
    return {"contributors": int((top != 0).sum()), "nk_rule": bool(nk), "p_ratio": bool(pr)}


@dataclass
class Protected:
    published: pd.DataFrame  # rounded counts, suppressed cells missing; with a "total" row and column
    primary: pd.DataFrame  # bool: suppressed because small
    secondary: pd.DataFrame  # bool: suppressed to protect a small cell
    threshold: int
    base: int

    @property
    def suppressed(self) -> pd.DataFrame:
        return self.primary | self.secondary


def one_blas_thread(fn):
    """Run `fn` with BLAS and LAPACK on one thread (threadpoolctl). The attackers and protections
    make many small factorisations (QR, SVD of a few hundred rows); a multi-threaded OpenBLAS runs
    those 10 to 30 times slower on a busy 2-core machine (measured: a 518 x 312 pivoted QR takes
    11 ms on one thread, 305 ms on two while other work runs), and gains nothing when idle."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import scipy.linalg  # noqa: F401  (imported here, as everywhere: loaded first, so its BLAS is limited too)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


def memoised(compute, *frames: pd.DataFrame, **params):
    """`compute(*frames, **params)`, remembered for the last four distinct inputs (by a hash of the
    frames' values and the parameters). A protection is deterministic, and the output-checking
    request recomputes the protections its tables were made with: when both run in one process
    (`mojdfe run`), the second costs nothing."""
    import hashlib

    digest = hashlib.sha256(repr((compute.__module__, compute.__qualname__, sorted(params.items()))).encode())
    for f in frames:
        digest.update(repr((list(f.columns), len(f))).encode())
        for name in f.columns:
            for part in _column_bytes(f[name]):
                digest.update(part)
    key = digest.hexdigest()
    if key not in _MEMO:
        value = compute(*frames, **params)
        while len(_MEMO) >= 4:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = value
    return _MEMO[key]


_MEMO: dict = {}


def _column_bytes(column: pd.Series) -> list:
    """A column's values as bytes for `memoised`'s hash, its dtype first: a categorical's
    categories and codes, a masked column's mask and values (0 where missing), a NumPy column's
    buffer; anything else by pandas' row hashes (slower: a hash per value, then combined)."""
    a, head, dtype = column.array, repr(str(column.dtype)).encode(), column.dtype
    if isinstance(a, pd.Categorical):
        return [head, repr((list(a.categories), a.ordered)).encode(), np.ascontiguousarray(a.codes)]
    values = getattr(dtype, "numpy_dtype", dtype)  # a masked (or Arrow) column's values as NumPy holds them
    if isinstance(values, np.dtype) and values.kind in "biufmM":  # (never object: its bytes are addresses)
        if values is dtype:
            return [head, np.ascontiguousarray(column.to_numpy())]
        return [head, column.isna().to_numpy(), column.to_numpy(dtype=values, na_value=0)]
    return [head, pd.util.hash_pandas_object(column, index=False).to_numpy()]


def round_to_base(x, base: int = BASE):
    return (np.floor(np.asarray(x, dtype=float) / base + 0.5) * base).astype("int64")


def _aligned(counts: pd.DataFrame, suppressed: pd.DataFrame) -> np.ndarray:
    return suppressed.reindex(index=counts.index, columns=counts.columns, fill_value=False).to_numpy(bool)


def zero_lines(counts: pd.DataFrame, suppressed: pd.DataFrame) -> list[tuple]:
    """Suppressed cells a reader knows to be 0 because counts are not negative: those of a row
    or column whose suppressed cells add up to 0 (its exact total less its published cells),
    repeated as cells become known."""
    v = counts.to_numpy(dtype=float)
    hidden = _aligned(counts, suppressed).copy()
    known = np.zeros_like(hidden)
    while True:
        hv = np.where(hidden, v, 0.0)
        rows = hidden.any(axis=1) & (hv.sum(axis=1) == 0)
        cols = hidden.any(axis=0) & (hv.sum(axis=0) == 0)
        new = hidden & (rows[:, None] | cols[None, :])
        if not new.any():
            return [(counts.index[r], counts.columns[c]) for r, c in zip(*np.nonzero(known))]
        known |= new
        hidden &= ~new


def determined_cells(counts: pd.DataFrame, suppressed: pd.DataFrame) -> list[tuple]:
    """Suppressed cells whose value follows from the published cells and exact totals: by
    linear algebra, and, since counts are not negative, as members of a line whose suppressed
    cells add up to 0 (`zero_lines`)."""
    mask = _aligned(counts, suppressed)
    zeros = zero_lines(counts, suppressed)
    if zeros:
        rest = pd.DataFrame(mask, index=counts.index, columns=counts.columns)
        for r, c in zeros:
            rest.loc[r, c] = False
        # A zero in a line whose total is 0 is structural: the published total shows it whatever
        # is suppressed (class_cells flags it); it is not counted as a suppression that failed.
        empty_rows, empty_cols = counts.sum(axis=1) == 0, counts.sum(axis=0) == 0
        return [(r, c) for r, c in zeros if not (empty_rows[r] or empty_cols[c])] + determined_cells(counts, rest)
    rr, cc = np.nonzero(mask)
    if not len(rr):
        return []
    cells = list(zip(counts.index[rr], counts.columns[cc]))
    # one equation per row and per column holding suppressed cells: their sum is known
    _, row_eq = np.unique(rr, return_inverse=True)
    _, col_eq = np.unique(cc, return_inverse=True)
    a = np.zeros((row_eq.max() + 1 + col_eq.max() + 1, len(cells)))
    a[row_eq, np.arange(len(cells))] = 1.0
    a[row_eq.max() + 1 + col_eq, np.arange(len(cells))] = 1.0
    # Cell i is determined iff the unit vector e_i lies in the row space of the equations, i.e.
    # every solution of the homogeneous system (every way to shift the suppressed values without
    # changing a total) leaves cell i unchanged: its component is 0 in every null-space vector.
    from scipy import linalg  # imported here: the code location loads without scipy

    null = linalg.null_space(a)
    free = np.abs(null).max(axis=1) > 1e-9 if null.size else np.zeros(len(cells), dtype=bool)
    return [cell for cell, f in zip(cells, free) if not f]


def protect(
    counts: pd.DataFrame, threshold: int = THRESHOLD, base: int = BASE, force: pd.DataFrame | None = None
) -> Protected:
    """Suppress, protect and round `counts`. `force` marks cells to suppress whatever their value
    (cells suppressed in a linked table, e.g. the denominators of a table of numerators); they
    count as secondary suppressions and are protected like primary ones."""
    counts = counts.astype("int64")
    primary = (counts > 0) & (counts < threshold)
    mask = primary.copy()
    if force is not None:
        mask |= force.reindex(index=counts.index, columns=counts.columns, fill_value=False).astype(bool)

    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            lines = mask.T if axis == 0 else mask
            values = counts.T if axis == 0 else counts
            for line in lines.index:
                if lines.loc[line].sum() == 1:
                    candidates = values.loc[line][~lines.loc[line]]
                    if candidates.empty:
                        continue
                    # Prefer the smallest non-zero cell: it hides the most while losing the least.
                    nonzero = candidates[candidates > 0]
                    pick = (nonzero if not nonzero.empty else candidates).idxmin()
                    r, c = (pick, line) if axis == 0 else (line, pick)
                    mask.loc[r, c] = True
                    changed = True
        # Rows and columns all have 0 or >= 2 suppressed cells; patterns can still pin a cell
        # (linear algebra, or a line whose suppressed cells add up to 0). Add the smallest
        # non-zero published cell of its row (else column): a zero partner would not help.
        for r, c in determined_cells(counts, mask):
            free_row, free_col = counts.loc[r][~mask.loc[r]], counts[c][~mask[c]]
            free_row, free_col = free_row[free_row > 0], free_col[free_col > 0]
            if not free_row.empty:
                mask.loc[r, free_row.idxmin()] = True
            elif not free_col.empty:
                mask.loc[free_col.idxmin(), c] = True
            else:
                continue
            changed = True
            break
    published = counts.astype("float").where(~mask)
    published = (
        pd.DataFrame(round_to_base(published.fillna(0), base), index=counts.index, columns=counts.columns)
        .astype("Int64")
        .where(~mask)
    )
    row_tot = counts.sum(axis=1)
    col_tot = counts.sum(axis=0)
    published["total"] = pd.array(round_to_base(row_tot, base), dtype="Int64")
    published.loc[(row_tot > 0) & (row_tot < threshold), "total"] = pd.NA
    total_row = pd.array(list(round_to_base(col_tot, base)) + [int(round_to_base(col_tot.sum(), base))], dtype="Int64")
    published.loc["total"] = total_row
    for c in col_tot.index[(col_tot > 0) & (col_tot < threshold)]:
        published.loc["total", c] = pd.NA
    return Protected(published, primary, mask & ~primary, threshold, base)


def protect_linked(
    tables: dict[str, pd.DataFrame], threshold: int = THRESHOLD, base: int = BASE, force: pd.DataFrame | None = None
) -> dict[str, Protected]:
    """Protect tables over the same cells that a reader can combine (pupils, pupils with the
    outcome, pupils without it): a cell suppressed in one is suppressed in all, so no suppressed
    count can be recovered by subtraction, and each table's pattern is then protected against its
    own totals. Repeats until the shared pattern is stable. `force`: cells to suppress anyway."""
    shared = force
    while True:
        out = {name: protect(t, threshold, base, force=shared) for name, t in tables.items()}
        union = None
        for p in out.values():
            union = p.suppressed if union is None else union | p.suppressed
        if shared is not None and union.equals(shared):
            return out
        shared = union


def publish_rate(numerator: pd.Series, denominator: pd.Series, per: float = 1.0) -> pd.Series:
    """A rate from published (rounded, possibly suppressed) counts: missing if either is missing."""
    num, den = numerator.astype("Float64"), denominator.astype("Float64")
    return (num / den.where(den > 0) * per).round(4)

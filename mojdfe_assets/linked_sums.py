"""Disclosure control for many tables that publish sums over the same pupils.

`disclosure.protect` protects one two-way table against its own row and column totals. Several
exported tables over one population are a larger system: the RQ1 export publishes, per level,
pupils cautioned or convicted, pupils with a custodial sentence, the most severe disposal in four
categories and the conviction count in three, all over the same linked pupils, and the LA table
publishes England totals of the same pupils by level. A count hidden in one can be rebuilt from the
others (custodial = n - none - caution - non-custodial). Here every published count is written as
a sum of *fine cells* (the pupils of one level with one combination of every outcome), so the
reader's knowledge is the linear system `A x = b` over the fine cells x:

- `determined` is the exact attacker: a hidden sum t is determined iff its row lies in the row
  space of the published rows (every change of x that keeps the published sums leaves t fixed),
  the same test as `disclosure.determined_cells`, for any system, not only row and column totals;
- `feasible_ranges` is the stronger attacker that also knows counts are not negative (a linear
  programme per hidden sum): a sum is pinned if its smallest and largest feasible values agree;
- `protect_sums` suppresses further sums (secondary suppression) until no sensitive hidden sum is
  determined, each time hiding the smallest published sum that a recovering combination uses
  (never a sum whose status another table fixed).

The attacker is given the exact values of every published sum, a stronger position than a real
reader's, who sees them rounded to base 5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TOL = 1e-8


@dataclass
class Sums:
    """A system of sums over fine cells. One entry per sum in each array."""

    keys: list  # a name per sum, e.g. ("events", "cj_contact", "looked_after")
    matrix: np.ndarray  # sums × fine cells, 0/1 (links between systems may hold -1)
    values: np.ndarray  # the exact value of each sum
    published: np.ndarray  # published (not suppressed)
    implicit: np.ndarray  # never published itself (a complement, a difference of tables)
    fixed: np.ndarray  # status decided by another table: never suppressed here
    total: np.ndarray = field(default=None)  # a total (avoided as a secondary suppression)

    def __post_init__(self):
        n = len(self.keys)
        if self.total is None:
            self.total = np.zeros(n, dtype=bool)
        for name in ("published", "implicit", "fixed", "total"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=bool).copy())
        self.values = np.asarray(self.values, dtype=float)
        self.matrix = np.asarray(self.matrix, dtype=float)
        self.index = {k: i for i, k in enumerate(self.keys)}


def _basis(rows: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the row space of `rows` (QR with column pivoting of the transpose:
    several times faster than an SVD, and rank-revealing)."""
    if rows.size == 0:
        return np.zeros((0, rows.shape[1]))
    from scipy import linalg  # imported here: the code location loads without scipy

    q, r, _ = linalg.qr(rows.T, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int((d > TOL * max(1.0, d[0] if len(d) else 1.0) * max(rows.shape)).sum())
    return q[:, :rank].T


def _merge_columns(matrix: np.ndarray) -> np.ndarray:
    """Drop cells in no sum and keep one of each set of cells in exactly the same sums: the
    row-space test is unchanged (such cells always appear together)."""
    used = matrix[:, np.abs(matrix).sum(axis=0) > 0]
    if used.shape[1] == 0:
        return used
    # Columns are grouped by two random projections (identical columns project alike; different
    # 0/±1 columns almost surely do not), and each group is confirmed equal before it is merged.
    proj = np.random.default_rng(0).standard_normal((2, used.shape[0])) @ used
    _, first, group = np.unique(np.round(proj, 9), axis=1, return_index=True, return_inverse=True)
    group = group.ravel()
    if not np.array_equal(used, used[:, first[group]]):  # a collision: fall back to exact keys
        cols = np.ascontiguousarray(used.T)
        keys = cols.view(np.dtype((np.void, cols.dtype.itemsize * cols.shape[1]))).ravel()
        _, first = np.unique(keys, return_index=True)
    return used[:, np.sort(first)]


def _drop_known_columns(matrix: np.ndarray, published) -> np.ndarray:
    """Drop the cells the published sums fix one by one: a published sum over a single cell (once
    the cells already fixed are dropped) gives that cell. The row-space test is unchanged (the
    unit vector of a fixed cell is in the published row space), and the system left is far
    smaller: a table publishes most of its cells."""
    pub = matrix[np.asarray(published, dtype=bool)] != 0
    keep = np.ones(matrix.shape[1], dtype=bool)
    while pub.size:
        live = pub[:, keep]
        single = np.flatnonzero(live.sum(axis=1) == 1)
        if not len(single):
            break
        keep[np.flatnonzero(keep)[live[single].argmax(axis=1)]] = False
    return matrix[:, keep]


def known_zero_cells(matrix: np.ndarray, values: np.ndarray, published: np.ndarray, exclude=()) -> np.ndarray:
    """Fine cells a reader knows to be empty because counts are not negative: every cell of a
    published sum of 0, or of a sum the published sums fix at 0 (the commonest way the sign of
    counts pins cells; `feasible_ranges` is the full linear-programming attack)."""
    pub = np.asarray(published, dtype=bool)
    values = np.asarray(values, dtype=float)
    zero = np.zeros(matrix.shape[1], dtype=bool)
    while True:
        live = ~zero
        sub = matrix[:, live]
        candidates = [i for i in np.flatnonzero((values == 0) & ~pub) if sub[i].any() and i not in exclude]
        fixed = [i for i in np.flatnonzero(pub & (values == 0)) if sub[i].any()]
        fixed += determined(matrix, pub, candidates, zero_cells=zero)
        new = np.zeros_like(zero)
        for i in fixed:
            if np.all(matrix[i] >= 0):
                new |= matrix[i] > 0
        new &= ~zero
        if not new.any():
            return zero
        zero |= new


def determined(matrix: np.ndarray, published: np.ndarray, targets, zero_cells: np.ndarray | None = None) -> list[int]:
    """The targets (row indices of `matrix`) whose sum follows from the published sums, the
    cells in `zero_cells` being known to be empty."""
    targets = list(targets)
    if not targets:
        return []
    published = np.asarray(published, dtype=bool)
    if zero_cells is not None and zero_cells.any():
        matrix = matrix[:, ~zero_cells]
    matrix = _drop_known_columns(matrix, published)
    rows = np.flatnonzero(published)
    matrix = _merge_columns(matrix[np.r_[rows, targets]])
    pub = matrix[: len(rows)]
    basis = _basis(pub[np.abs(pub).sum(axis=1) > 0])
    t = matrix[len(rows) :]
    resid = t - (t @ basis.T) @ basis
    size = np.maximum(np.linalg.norm(t, axis=1), 1.0)
    return [i for i, r in zip(targets, np.linalg.norm(resid, axis=1) / size) if r < 1e-7]


def attack(s: Sums, targets) -> list[int]:
    """The exact attacker with the sign of counts: targets determined once the cells known to
    be empty are taken out."""
    zero = known_zero_cells(s.matrix, s.values, s.published)
    return determined(s.matrix, s.published, targets, zero_cells=zero)


def feasible_ranges(matrix: np.ndarray, values: np.ndarray, published: np.ndarray, targets) -> dict[int, tuple]:
    """For each target, the smallest and largest value it can take given the published sums
    (exact) and fine cells that are not negative (linear programmes, HiGHS)."""
    from scipy import optimize

    pub = np.asarray(published, dtype=bool)
    a_eq, b_eq = matrix[pub], np.asarray(values, dtype=float)[pub]
    out = {}
    for t in targets:
        ends = []
        for sign in (1.0, -1.0):
            res = optimize.linprog(
                sign * matrix[t],
                A_eq=a_eq if len(a_eq) else None,
                b_eq=b_eq if len(b_eq) else None,
                bounds=(0, None),
                method="highs",
            )
            ends.append(sign * res.fun if res.status == 0 else (0.0 if sign > 0 else np.inf))
        out[t] = (ends[0], ends[1])
    return out


def pinned(ranges: dict[int, tuple]) -> list[int]:
    return [t for t, (lo, hi) in ranges.items() if hi - lo < 0.5]


def _sparse_witness(rows: np.ndarray, target: np.ndarray, costs: np.ndarray | None = None) -> np.ndarray:
    """y with y . rows = target and the smallest sum of |y| (weighted by `costs`, one per row: a
    linear programme), or the least-squares solution if the programme fails."""
    from scipy import optimize

    k = len(rows)
    costs = np.ones(k) if costs is None else np.asarray(costs, dtype=float)
    res = optimize.linprog(
        np.r_[costs, costs], A_eq=np.hstack([rows.T, -rows.T]), b_eq=target, bounds=(0, None), method="highs"
    )
    if res.status == 0:
        return res.x[:k] - res.x[k:]
    return np.linalg.lstsq(rows.T, target, rcond=None)[0]


def sensitive_hidden(s: Sums, primary: np.ndarray) -> np.ndarray:
    """Sums that must not be recovered: every suppressed published sum, and implicit sums that are
    small (primary)."""
    return (~s.published & ~s.implicit) | (s.implicit & primary)


def protect_sums(s: Sums, primary: np.ndarray, max_rounds: int = 10_000) -> tuple[np.ndarray, list]:
    """Suppress `primary` sums (those not fixed), then further sums until no sensitive hidden sum
    is determined. Returns (secondary mask, sums that could not be protected: empty unless a
    fixed sum gives one away)."""
    primary = np.asarray(primary, dtype=bool)
    # Sums another table already gives away (in the span of the fixed published sums) cannot be
    # hidden here: they are never chosen as secondary suppressions.
    free = np.flatnonzero(~s.fixed)
    public = determined(s.matrix, s.fixed & s.published, free)
    # A small sum another table gives away cannot be protected here: reported, and hidden anyway.
    stuck: list = [i for i in public if primary[i]]
    s.published[stuck] = False
    s.fixed[public] = True
    s.published &= ~(primary & ~s.fixed & ~s.implicit)
    s.published &= ~s.implicit
    secondary = np.zeros(len(s.keys), dtype=bool)
    for _ in range(max_rounds):
        targets = [i for i in np.flatnonzero(sensitive_hidden(s, primary)) if i not in stuck]
        zero = known_zero_cells(s.matrix, s.values, s.published)
        found = determined(s.matrix, s.published, targets, zero_cells=zero)
        if not found:
            break
        t = found[0]
        pub = np.flatnonzero(s.published)
        # The cells known to be empty without t's own value (which may be the 0 being attacked).
        zero = (
            np.zeros_like(zero)
            if determined(s.matrix, s.published, [t])
            else known_zero_cells(s.matrix, s.values, s.published, exclude=[t])
        )
        # A recovering combination t = y . (published rows) using as few sums as it can (the
        # sparsest, by L1 minimisation); hide the smallest sum it uses.
        y = _sparse_witness(s.matrix[pub][:, ~zero], s.matrix[t][~zero])
        used = [i for i, w in zip(pub, y) if abs(w) > 1e-9 and not s.fixed[i]]
        if not used:
            stuck.append(t)
            continue
        used.sort(key=lambda i: (bool(s.total[i]), s.values[i] == 0, s.values[i], i))
        # The smallest sum whose hiding leaves t undetermined and is not itself given away (the
        # same pupils published under another name), else the smallest that leaves t undetermined.
        pick, fallback = None, None
        for i in used[:25]:
            s.published[i] = False
            bad = determined(s.matrix, s.published, [t, i], zero_cells=zero)
            s.published[i] = True
            if not bad:
                pick = i
                break
            if t not in bad and fallback is None:
                fallback = i
        pick = pick if pick is not None else (fallback if fallback is not None else used[0])
        s.published[pick] = False
        secondary[pick] = True
    return secondary, [s.keys[i] for i in stuck]

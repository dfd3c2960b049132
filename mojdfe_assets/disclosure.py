"""Statistical disclosure control for tables that leave the Secure Research Service.

Rules (as the ONS SRS output check expects):
1. primary suppression: a count from 1 to `threshold - 1` (default: under 10) is suppressed;
2. secondary suppression: no row or column of the table may hold exactly one suppressed cell,
   and no suppressed cell may be determined by the published totals (checked exactly, below);
3. every published count, including totals, is rounded to the nearest multiple of `base`
   (default 5); totals from 1 to `threshold - 1` are suppressed;
4. rates are recomputed from the published (rounded) numerator and denominator, never from the
   unrounded counts.

`determined_cells` is the attacker: given the published cells and the *exact* row and column
totals (a stronger position than a real reader, who sees rounded totals), it finds every
suppressed cell whose value is fixed by the linear equations the totals give. A table passes only
if it finds none. Tables here are aggregates (LAs × levels), so plain loops are fine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

THRESHOLD = 10
BASE = 5


@dataclass
class Protected:
    published: pd.DataFrame      # rounded counts, suppressed cells missing; with a "total" row and column
    primary: pd.DataFrame        # bool: suppressed because small
    secondary: pd.DataFrame      # bool: suppressed to protect a small cell
    threshold: int
    base: int

    @property
    def suppressed(self) -> pd.DataFrame:
        return self.primary | self.secondary


def round_to_base(x, base: int = BASE):
    return (np.floor(np.asarray(x, dtype=float) / base + 0.5) * base).astype("int64")


def determined_cells(counts: pd.DataFrame, suppressed: pd.DataFrame) -> list[tuple]:
    """Suppressed cells whose value follows from the published cells and exact totals."""
    cells = [(r, c) for r in counts.index for c in counts.columns if suppressed.loc[r, c]]
    if not cells:
        return []
    pos = {cell: i for i, cell in enumerate(cells)}
    eqs = []
    for r in counts.index:
        row = [pos[(r, c)] for c in counts.columns if (r, c) in pos]
        if row:
            eqs.append(row)
    for c in counts.columns:
        col = [pos[(r, c)] for r in counts.index if (r, c) in pos]
        if col:
            eqs.append(col)
    a = np.zeros((len(eqs), len(cells)))
    for i, idx in enumerate(eqs):
        a[i, idx] = 1.0
    # Cell i is determined iff the unit vector e_i lies in the row space of the equations, i.e.
    # every solution of the homogeneous system (every way to shift the suppressed values without
    # changing a total) leaves cell i unchanged: its component is 0 in every null-space vector.
    from scipy import linalg  # imported here: the code location loads without scipy

    null = linalg.null_space(a)
    free = np.abs(null).max(axis=1) > 1e-9 if null.size else np.zeros(len(cells), dtype=bool)
    return [cell for cell, i in pos.items() if not free[i]]


def protect(counts: pd.DataFrame, threshold: int = THRESHOLD, base: int = BASE,
            force: pd.DataFrame | None = None) -> Protected:
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
        # Rows and columns all have 0 or >= 2 suppressed cells; patterns can still pin a cell.
        for r, c in determined_cells(counts, mask):
            free_row, free_col = counts.loc[r][~mask.loc[r]], counts[c][~mask[c]]
            if not free_row.empty:
                mask.loc[r, free_row.idxmin()] = True
            elif not free_col.empty:
                mask.loc[free_col.idxmin(), c] = True
            else:
                continue
            changed = True
            break
    published = counts.astype("float").where(~mask)
    published = pd.DataFrame(round_to_base(published.fillna(0), base), index=counts.index,
                             columns=counts.columns).astype("Int64").where(~mask)
    row_tot = counts.sum(axis=1)
    col_tot = counts.sum(axis=0)
    published["total"] = pd.array(round_to_base(row_tot, base), dtype="Int64")
    published.loc[(row_tot > 0) & (row_tot < threshold), "total"] = pd.NA
    total_row = pd.array(list(round_to_base(col_tot, base)) + [int(round_to_base(col_tot.sum(), base))],
                         dtype="Int64")
    published.loc["total"] = total_row
    for c in col_tot.index[(col_tot > 0) & (col_tot < threshold)]:
        published.loc["total", c] = pd.NA
    return Protected(published, primary, mask & ~primary, threshold, base)


def protect_linked(tables: dict[str, pd.DataFrame], threshold: int = THRESHOLD, base: int = BASE,
                   force: pd.DataFrame | None = None) -> dict[str, Protected]:
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

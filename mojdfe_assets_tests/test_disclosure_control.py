"""Statistical disclosure control on hand-made tables, attacked from the totals."""

from __future__ import annotations

import pandas as pd

from mojdfe_assets.disclosure import determined_cells, protect, publish_rate, round_to_base


def table(rows):
    return pd.DataFrame(
        rows,
        index=[f"LA{i}" for i in range(len(rows))],
        columns=["none", "referral_only", "child_in_need", "looked_after"],
    )


def recover(counts, protected):
    """What a reader can do: subtract published cells from the (exact) row total."""
    out = {}
    for r in counts.index:
        hidden = [c for c in counts.columns if protected.suppressed.loc[r, c]]
        if len(hidden) == 1:
            c = hidden[0]
            out[(r, c)] = int(counts.loc[r].sum() - counts.loc[r].drop(c).sum())
    return out


def test_naive_suppression_is_recoverable_from_totals():
    counts = table([[120, 40, 25, 3], [200, 60, 30, 14], [90, 35, 22, 11]])
    naive = counts < 10  # primary suppression only
    assert determined_cells(counts, naive) == [("LA0", "looked_after")]


def test_protected_table_has_no_recoverable_cell():
    counts = table([[120, 40, 25, 3], [200, 60, 30, 14], [90, 35, 22, 11]])
    p = protect(counts)
    assert p.primary.loc["LA0", "looked_after"]
    assert p.secondary.to_numpy().sum() >= 2  # a partner in the row and in the column
    assert determined_cells(counts, p.suppressed) == []
    assert recover(counts, p) == {}
    s = p.suppressed
    assert all(s.loc[r].sum() != 1 for r in s.index) and all(s[c].sum() != 1 for c in s.columns)
    # The smallest partners were chosen: LA0's other small cell (25) and LA2's small LA cell (11).
    assert s.loc["LA0", "child_in_need"] and s.loc["LA2", "looked_after"]


def test_pattern_left_by_pairwise_rule_is_closed():
    # Two primary cells in one row, each alone in its column: partners are added down both
    # columns, and the exact check confirms that no suppressed cell is determined.
    counts = table([[5, 7, 200, 300], [100, 80, 60, 40], [90, 85, 70, 55], [12, 50, 40, 30]])
    p = protect(counts)
    assert determined_cells(counts, p.suppressed) == []


def test_published_counts_are_rounded_and_rates_recomputed():
    counts = table([[121, 42, 26, 13], [203, 61, 33, 17]])
    p = protect(counts)
    pub = p.published
    assert pub.loc["LA0", "none"] == 120 and pub.loc["LA1", "referral_only"] == 60  # base 5
    assert pub.loc["LA0", "total"] == round_to_base([121 + 42 + 26 + 13])[0] == 200
    assert pub.loc["total", "none"] == 325
    assert all(int(v) % 5 == 0 for v in pub.stack().dropna())
    rate = publish_rate(pub["looked_after"], pub["total"], per=1000)
    assert rate["LA0"] == round(15 / 200 * 1000, 4)  # from rounded 13 -> 15 and 202 -> 200


def test_small_totals_are_suppressed():
    counts = table([[3, 0, 0, 0], [200, 60, 30, 14]])
    p = protect(counts)
    assert pd.isna(p.published.loc["LA0", "total"])

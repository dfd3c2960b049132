"""DfE code lists (SSDA903 and CIN census), the single home of every code, label and grouping.

The lists live as data in `data/code_lists.csv` (with each code's years of validity and source),
`data/code_groups.csv` (the groups derivations use, e.g. placement families, in their order, with
labels) and `data/code_aliases.csv` (known junk values in NPD extracts and the code they stand for).
The synthetic generator, the clean-table validation and the lookup assets all read them here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

_DATA = Path(__file__).parent / "data"

# The field guide's ordered factor of the highest social-care involvement, lowest first.
INTERVENTION_LEVELS = ("none", "referral_only", "child_in_need", "child_protection_plan", "looked_after")


@cache
def _table() -> pd.DataFrame:
    df = pd.read_csv(_DATA / "code_lists.csv", dtype=str, keep_default_na=False)
    for col in ("valid_from", "valid_to"):
        df[col] = pd.to_numeric(df[col].replace("", None)).astype("Int64")
    return df


@cache
def _groups() -> pd.DataFrame:
    return pd.read_csv(_DATA / "code_groups.csv", dtype=str, keep_default_na=False)


@cache
def _aliases() -> pd.DataFrame:
    return pd.read_csv(_DATA / "code_aliases.csv", dtype=str, keep_default_na=False)


def table() -> pd.DataFrame:
    """Every code of every list: code_list, code, label, group, valid_from, valid_to, source."""
    return _table().copy()


LIST_NAMES: tuple[str, ...] = tuple(dict.fromkeys(_table()["code_list"]))


def _rows(code_list: str) -> pd.DataFrame:
    if code_list not in LIST_NAMES:
        raise KeyError(f"unknown code list {code_list!r}; known lists: {', '.join(LIST_NAMES)}")
    t = _table()
    return t[t["code_list"] == code_list]


def codes(code_list: str, year: int | None = None) -> list[str]:
    """Codes of a list, in file order; with `year` (collection end year) only those valid then."""
    rows = _rows(code_list)
    if year is not None:
        ok = (rows["valid_from"].isna() | (rows["valid_from"] <= year)) & (
            rows["valid_to"].isna() | (rows["valid_to"] >= year)
        )
        rows = rows[ok.to_numpy(dtype=bool)]
    return rows["code"].tolist()


def labels(code_list: str) -> dict[str, str]:
    rows = _rows(code_list)
    return dict(zip(rows["code"], rows["label"]))


def groups(code_list: str) -> dict[str, str]:
    rows = _rows(code_list)
    rows = rows[rows["group"] != ""]
    return dict(zip(rows["code"], rows["group"]))


def group_names(code_list: str) -> tuple[str, ...]:
    """The groups of a list (e.g. placement families), in their declared order: the categories of
    every derived column that holds them."""
    _rows(code_list)
    g = _groups()
    return tuple(g.loc[g["code_list"] == code_list, "group"])


def group_labels(code_list: str) -> dict[str, str]:
    g = _groups()
    g = g[g["code_list"] == code_list]
    return dict(zip(g["group"], g["label"]))


def alias_table() -> pd.DataFrame:
    """Every alias: code_list, alias, code ("" = read as missing), note."""
    return _aliases().copy()


def aliases(code_list: str) -> dict[str, str]:
    _rows(code_list)
    a = _aliases()
    a = a[a["code_list"] == code_list]
    return dict(zip(a["alias"], a["code"]))


@cache
def _label_sets() -> tuple[list[tuple[frozenset, dict]], list[tuple[frozenset, dict]]]:
    """Every list's codes with their labels, and every list's groups with theirs (plain dicts)."""
    t, g = _table(), _groups()
    codes = [(frozenset(r["code"]), dict(zip(r["code"], r["label"]))) for _, r in t.groupby("code_list", sort=False)]
    groups = [(frozenset(r["group"]), dict(zip(r["group"], r["label"]))) for _, r in g.groupby("code_list", sort=False)]
    return codes, groups


def label_of_values(values) -> dict[str, str]:
    """Labels for a set of allowed values: the code list (or the groups of a list) they are, if
    any; {} when they are no list's (e.g. intervention levels, whose names say what they are)."""
    wanted = frozenset(str(v) for v in values)
    codes, groups = _label_sets()
    for known, labels in codes:
        if wanted <= known and len(wanted) >= len(known) // 2:
            return labels
    return next((labels for known, labels in groups if wanted == known), {})

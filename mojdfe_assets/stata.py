"""Published tables as Stata `.dta` files, labelled from the data dictionary (pyreadstat).

Stata attaches value labels to numbers only, so:
- a coded column (a categorical, or any column the dictionary gives codes for) becomes 1, 2, … in
  the dictionary's code order (then any other values, in category or sorted order), so a code has
  the same number in every table; each number is labelled "code label" (the code alone when the
  label is the code), since the code itself is no longer in the data;
- booleans become 0/1 labelled no/yes; dates Stata dates (%td); a missing value is Stata's `.`
  (`""` for strings);
- every column is labelled with its dictionary description, cut to Stata's 80 characters.
haven reads the result as labelled doubles (`haven::as_factor()` gives the labels) and Dates.

`mojdfe stata` writes the aggregate tables of the published snapshot (disclosure class `srs_only`
or `for_export`, see governance.py) into `<warehouse>/current_stata/`, never into the snapshot.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .warehouse import Warehouse

LABEL_MAX = 80  # characters of a Stata variable or dataset label
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")  # a Stata variable name
AGGREGATE_CLASSES = ("srs_only", "for_export")
BOOLEAN_LABELS = {0: "no", 1: "yes"}
STATA_LONG = 2_147_483_620  # the largest Stata long


def cut(text: str, limit: int = LABEL_MAX) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_codes(codes: str) -> dict[str, str]:
    """The dictionary's `code=label|code=label` as {code: label}."""
    return dict(pair.split("=", 1) for pair in codes.split("|")) if codes else {}


def dictionary_labels(rows, table: str) -> dict[str, tuple[str, dict[str, str]]]:
    """{column: (description, {code: label})} of one table, from data-dictionary rows (dicts with
    table, column, description, codes: `lineage.Graph.rows()` or docs/data_dictionary.csv)."""
    return {r["column"]: (r["description"], parse_codes(r["codes"])) for r in rows if r["table"] == table}


def _numbers(s: pd.Series, codes: dict[str, str]) -> tuple[pd.Series, dict[int, str]]:
    """A coded column as 1, 2, … (NaN for missing) and its value labels."""
    present = [
        str(v)
        for v in (
            s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else sorted(s.dropna().astype(str).unique())
        )
    ]
    values = list(codes) + [v for v in present if v not in codes]
    cat = pd.Categorical(s.astype("string").to_numpy(dtype=object, na_value=None), categories=values)
    number = np.where(cat.codes < 0, np.nan, cat.codes + 1.0)
    labels = {i: v if codes.get(v, v) == v else f"{v} {codes[v]}" for i, v in enumerate(values, 1)}
    return _int_if_whole(pd.Series(number, index=s.index)), labels


def _int_if_whole(s: pd.Series) -> pd.Series:
    """int32 when nothing is missing and every value fits a Stata long, else float64 (NaN = `.`)."""
    f = s.astype("float64")
    return f.astype("int32") if f.notna().all() and (f.abs() <= STATA_LONG).all() else f


def to_stata(df: pd.DataFrame, labels: dict[str, tuple[str, dict[str, str]]]):
    """(data, column labels, value labels) for pyreadstat.write_dta."""
    data, value_labels = {}, {}
    for name, s in df.items():
        if not NAME.match(str(name)):
            raise ValueError(f"column {name!r} is not a Stata variable name (letters, digits, _; at most 32)")
        codes = labels.get(name, ("", {}))[1]
        if isinstance(s.dtype, pd.CategoricalDtype) or codes:
            data[name], value_labels[name] = _numbers(s, codes)
        elif pd.api.types.is_bool_dtype(s.dtype):
            data[name], value_labels[name] = _int_if_whole(s.astype("float64")), BOOLEAN_LABELS
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            whole_days = (s.dropna() == s.dropna().dt.normalize()).all()
            data[name] = s.dt.date.astype(object).where(s.notna(), None) if whole_days else s
        elif pd.api.types.is_integer_dtype(s.dtype):
            data[name] = _int_if_whole(s)
        elif pd.api.types.is_float_dtype(s.dtype):
            data[name] = s.astype("float64")
        elif s.dropna().map(lambda v: isinstance(v, dt.date)).all() and s.notna().any():
            data[name] = s.astype(object).where(s.notna(), None)  # dates as read from Parquet
        else:
            data[name] = s.astype("string").fillna("").astype(object)
    column_labels = {n: cut(labels[n][0]) for n in df.columns if n in labels and labels[n][0]}
    return pd.DataFrame(data, index=df.index), column_labels, value_labels


def write_dta(
    df: pd.DataFrame, path: str | Path, labels: dict[str, tuple[str, dict[str, str]]], file_label: str = ""
) -> Path:
    """Write `df` as a Stata file (atomically: a killed write leaves no half file), labelled from
    `labels` ({column: (description, {code: label})}, see `dictionary_labels`)."""
    import pyreadstat

    path = Path(path)
    data, column_labels, value_labels = to_stata(df.reset_index(drop=True), labels)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pyreadstat.write_dta(
            data, str(tmp), file_label=cut(file_label), column_labels=column_labels, variable_value_labels=value_labels
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def disclosure_classes() -> dict[str, str]:
    """Each table asset's disclosure class (its `disclosure` tag)."""
    from .definitions import defs

    return {
        s.key.to_user_string(): s.tags["disclosure"] for s in defs.resolve_all_asset_specs() if "disclosure" in s.tags
    }


def export(warehouse: str | Path, out: str | Path | None = None, tables: list[str] | None = None):
    """Write tables of the published snapshot as `.dta` into `out` (default
    `<warehouse>/current_stata/`): `tables`, or else every aggregate table. Returns
    [(table, disclosure class, path)]."""
    from .definitions import all_assets
    from .lineage import Graph

    wh = Warehouse(warehouse)
    snap = wh.current
    if snap is None:
        raise FileNotFoundError(f"{warehouse}: nothing published yet (run `mojdfe run` first)")
    classes = disclosure_classes()
    published = sorted(p.stem for p in snap.glob("*.parquet"))
    if tables:
        unknown = [t for t in tables if t not in published]
        if unknown:
            raise KeyError(f"not a published table of {snap.name}: {', '.join(unknown)}")
    else:
        tables = [t for t in published if classes.get(t) in AGGREGATE_CLASSES]
    out = Path(out) if out else wh.base / "current_stata"
    out.mkdir(parents=True, exist_ok=True)
    rows = list(Graph(all_assets).rows())
    written = []
    for t in tables:
        cls = classes.get(t, "unknown")
        df = pd.read_parquet(snap / f"{t}.parquet")
        path = write_dta(
            df, out / f"{t}.dta", dictionary_labels(rows, t), file_label=f"{t} ({cls}), snapshot {snap.name}"
        )
        written.append((t, cls, path))
    return written

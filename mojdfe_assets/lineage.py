"""Column lineage a data owner can read without Dagster+: from every delivered column to every output.

Each column's description names its sources after `←` (`table.column`, or a bare `column` of the
same table); this module follows those references across the whole graph down to the delivered
files, and writes what it finds three ways:
- each asset's definition metadata carries a `lineage` table (column ← sources, and how), shown on
  the asset's page in the open-source UI (Dagster+ draws `dagster/column_lineage`, which every
  materialisation also records);
- `docs/lineage.md`: one section per stage, every column with its direct sources and the delivered
  columns (file and column as delivered) it ultimately comes from;
- `docs/data_dictionary.csv`: the same, one row per column, machine-readable (R reads it to
  attach labels, see R/read_mojdfe.R).
All are generated (`mojdfe dictionary`); a test fails when the committed files are stale.
"""

from __future__ import annotations

import csv
import functools
import io

import dagster as dg

from . import codelists
from . import extracts as X
from .checks import resolve_within, sources_in

GROUP_ORDER = ("sources", "clean", "social_care", "outcomes", "effects", "la_aggregates", "national", "exports")
_RAW = {f"{e.name}_raw": e for e in X.ALL}


def _specs(assets):
    specs = [s for a in assets for s in a.specs if s.metadata.get("dagster/column_schema") is not None]
    return sorted(
        specs,
        key=lambda s: (GROUP_ORDER.index(s.group_name) if s.group_name in GROUP_ORDER else 99, s.key.to_user_string()),
    )


def how(description: str) -> str:
    """The words of a description before its sources (what the column is and how it is made)."""
    return " ".join(description.split("←")[0].split()).rstrip(" .;:(")


class Graph:
    """Every column of every table, its direct sources and the delivered columns it comes from."""

    def __init__(self, assets):
        self.specs = _specs(assets)
        self.columns = {
            s.key.to_user_string(): {c.name: c for c in s.metadata["dagster/column_schema"].columns} for s in self.specs
        }
        self.direct = {
            t: resolve_within(sources_in({n: c.description for n, c in cols.items()}))
            for t, cols in self.columns.items()
        }
        self._delivered: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def delivered(self, table: str, column: str, seen=frozenset()) -> list[tuple[str, str]]:
        """(file, delivered column) pairs the column comes from, through every table between."""
        key = (table, column)
        if key in self._delivered:
            return self._delivered[key]
        if table in _RAW:  # a raw table: its delivered columns, and those reading adds (source_row...)
            out = [(_RAW[table].file, column if column in _RAW[table].columns else f"({column}: added on reading)")]
        else:
            out = []
            for t, c in self.direct.get(table, {}).get(column, []):
                if (t, c) not in seen:
                    out += self.delivered(t, c, seen | {key})
        self._delivered[key] = list(dict.fromkeys(out))
        return self._delivered[key]

    @functools.cached_property
    def row_list(self) -> list[dict]:
        return list(self._rows())

    def rows(self, table: str | None = None):
        """One row per column of every table (or of `table`): what the dictionary CSV and
        lineage.md hold."""
        return [r for r in self.row_list if table is None or r["table"] == table]

    def _rows(self):
        for s in self.specs:
            table = s.key.to_user_string()
            for name, col in self.columns[table].items():
                desc = col.description or ""
                yield {
                    "table": table,
                    "stage": s.group_name,
                    "column": name,
                    "type": col.type,
                    "nullable": bool(col.constraints.nullable) if col.constraints else True,
                    "description": how(desc.split(" Codes: ")[0]) or desc,
                    "codes": _codes(desc),
                    "sources": "; ".join(f"{t}.{c}" for t, c in self.direct[table].get(name, [])),
                    "delivered": "; ".join(f"{f}:{c}" for f, c in self.delivered(table, name)),
                }


def _codes(description: str) -> str:
    """`code=label|code=label` for a coded column (its description ends "Codes: A (label); B.")."""
    if "Codes: " not in description:
        return ""
    codes = [c.strip().split(" ", 1)[0].rstrip(".") for c in description.split("Codes: ", 1)[1].split(" · ")]
    labels = codelists.label_of_values(codes)
    return "|".join(f"{c}={labels.get(c, c)}" for c in codes)


def asset_lineage_table(graph: Graph, table: str) -> str:
    """Markdown: column | comes from | delivered columns | how."""
    lines = ["| column | comes from | delivered columns | how |", "|---|---|---|---|"]
    for r in graph.rows(table):
        lines.append(
            f"| `{r['column']}` | {_cell(r['sources']) or '—'} | {_cell(r['delivered']) or '—'} | "
            f"{_cell(r['description'])} |"
        )
    return "\n".join(lines)


def _cell(text) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def attach(assets) -> list:
    """The assets, each with a `lineage` table in its definition metadata (shown on its page)."""
    graph = Graph(assets)
    tables = set(graph.columns)

    def add(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        if name not in tables:
            return spec
        return spec.replace_attributes(
            metadata={
                **spec.metadata,
                "lineage (column ← sources; how)": dg.MetadataValue.md(asset_lineage_table(graph, name)),
            }
        )

    return [a.map_asset_specs(add) if isinstance(a, dg.AssetsDefinition) else a for a in assets]


def lineage_markdown(assets) -> str:
    graph = Graph(assets)
    out = [
        "# Column lineage",
        "",
        "Generated by `mojdfe dictionary` from the column descriptions of every table (do not edit by hand). "
        "For each column: the columns it is made from (`comes from`), the delivered columns it ultimately "
        "rests on (file: column, as delivered), and how it is made. The same table is on each asset's page "
        "in the Dagster UI (metadata `lineage`), and `docs/data_dictionary.csv` holds it as data.",
        "",
    ]
    for stage in dict.fromkeys(s.group_name for s in graph.specs):
        out += [f"## {stage}", ""]
        for s in graph.specs:
            if s.group_name != stage:
                continue
            table = s.key.to_user_string()
            out += [f"### `{table}`", "", asset_lineage_table(graph, table), ""]
    return "\n".join(out).rstrip() + "\n"


CSV_COLUMNS = ("table", "stage", "column", "type", "nullable", "description", "codes", "sources", "delivered")


def dictionary_csv(assets) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in Graph(assets).rows():
        w.writerow(r)
    return buf.getvalue()

"""How a table asset is declared: its pandera model gives the rest.

`@table_asset(Model, group=...)` on a function that computes a table makes a Dagster asset whose
column schema (UI), schema check (blocking, count-only), column lineage (read from the model's
`←` descriptions), owners, tags and code version all come from the model and the stage, in the
spirit of PUDL's schema-driven checks. The function only computes: it returns its DataFrame, or
a `Table` with metadata and the outcomes of further checks it declared with `Check`.
`@table_multi_asset` does the same for a function that computes several tables at once.

Materialising: every check result is yielded before any output, and a failed blocking check stops
the step with the failing checks, columns and row counts named (never values): bad data is
never stored. Checking alone (a check executed from the UI, or `mojdfe check`): the asset's
stored tables are read from the published warehouse and its checks run on them, so a delivered
warehouse can be re-checked without re-materialising anything. A `Check` computes its outcome
from the tables by name (the asset's own tables and its inputs), the same function both ways.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import re
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd

from . import governance
from .checks import column_lineage, schema_check, schema_spec, table_metadata, table_schema
from .resources import ParquetIOManager

KINDS = frozenset({"pandas", "parquet"})


def source_reference(fn: Callable) -> dict:
    """The UI's link to the function that computes an asset (`dg.with_source_code_references` would
    point at the factory's wrapper instead of the function itself)."""
    with warnings.catch_warnings():  # code references are a beta API of Dagster 1.13
        warnings.simplefilter("ignore", dg.BetaWarning)
        ref = dg.LocalFileCodeReference(file_path=inspect.getsourcefile(fn), line_number=inspect.getsourcelines(fn)[1])
        return {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=[ref])}


# `from <module> import <names>` at the start of a line (any indentation, names possibly in
# parentheses over several lines): what `_imports` reads, without parsing the whole file
_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.MULTILINE)


@functools.cache
def _imports(name: str, path: Path) -> tuple[str, ...]:
    """The project modules a module's source imports (relative imports, and absolute ones of
    `mojdfe_assets`, anywhere in the file, functions included): each file is read once per
    process, however many assets' versions include it. The same list as walking the file's
    syntax tree for `ImportFrom` nodes (`test_fast_paths` checks this for every module of the
    code location), read with one regular expression because parsing every module took ~0.4 s
    of each import of the code location. An import line inside a string would be counted too:
    the version would then change more often, never less."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for dots, module, names in _FROM_IMPORT.findall(path.read_text()):
        if dots:
            level = len(dots)
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            target = f"{base}.{module}" if module else base
            aliases = [n.split()[0] for n in names.strip().strip("()").replace("\n", " ").split(",") if n.strip()]
            found += [target, *(f"{target}.{a}" for a in aliases)]
        elif module.startswith("mojdfe_assets"):
            found.append(module)
    return tuple(found)


def _imports_by_syntax_tree(name: str, path: Path) -> tuple[str, ...]:
    """`_imports` the slow, certain way (the test compares the two)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            found += [target, *(f"{target}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mojdfe_assets"):
            found.append(node.module)
    return tuple(found)


@functools.cache
def _module_files(module: str) -> tuple[Path, ...]:
    """The source files of a project module and of every project module it imports, recursively."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        mod = sys.modules.get(name)
        path = Path(getattr(mod, "__file__", "") or "")
        if name in seen or not path.is_file():
            continue
        seen[name] = path
        todo += _imports(name, path)
    return tuple(sorted(seen.values()))


@functools.cache
def _digest(files: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def code_version(fn: Callable) -> str:
    """A version of an asset's logic: a hash of the source of its module and of every project
    module it uses (rules, schemas, code lists...), so the UI marks an asset stale exactly when the
    code that computes it changed."""
    return _digest(_module_files(fn.__module__))


@dataclass(frozen=True)
class Check:
    """A further check of a table asset, beyond its schema. `fn(tables)` computes its outcome from
    the tables by name: the asset's own table(s) and its inputs (as the asset loads them). The
    asset's function may instead return the outcome in `Table.checks` (it has the figures already);
    checked alone, the check always runs `fn` on the stored tables."""

    name: str
    description: str
    fn: Callable[[dict[str, pd.DataFrame]], Outcome] | None = None
    blocking: bool = True  # False: a warning, never stops the run

    def spec(self, asset: str) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=asset, blocking=self.blocking, description=self.description)


@dataclass
class Outcome:
    """The outcome of a `Check`: passed or not, with count-only metadata, and optionally one
    sentence (counts and names only) saying what failed, used in the check's description and
    the run's failure message."""

    passed: bool
    metadata: dict = field(default_factory=dict)
    summary: str | None = None


@dataclass
class Table:
    """What a table asset's function returns: the table, its metadata, and its checks' outcomes."""

    data: pd.DataFrame
    metadata: dict = field(default_factory=dict)
    checks: dict[str, Outcome] = field(default_factory=dict)
    data_version: str | None = None  # e.g. a delivered file's SHA-256 (Dagster derives the rest downstream)


@dataclass(frozen=True)
class Out:
    """One table of a `table_multi_asset`: its model, its description, and its further checks."""

    model: object
    description: str
    checks: tuple[Check, ...] = ()
    disclosure: str | None = None  # the disclosure class, if not derived from the model (governance.py)


def shared(tables: dict, key: str, compute: Callable):
    """A value several checks of one table derive from its tables, computed once for all of them."""
    memo = tables.setdefault("__shared__", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _as_table(result) -> Table:
    return result if isinstance(result, Table) else Table(result)


def _check_results(name: str, out: Out, t: Table, tables: dict[str, pd.DataFrame], selected) -> list:
    """The schema check and the further checks of one table (those selected)."""
    results = []
    if selected(name, "schema"):
        results.append(schema_check(out.model, t.data, name))
    tables = {**tables, name: t.data}  # one dict for the table's checks (see `shared`)
    for check in out.checks:
        if not selected(name, check.name):
            continue
        outcome = t.checks.get(check.name)
        if outcome is None:
            if check.fn is None:
                raise dg.DagsterInvariantViolationError(f"{name}:{check.name} has no outcome and no check function")
            outcome = check.fn(tables)
        results.append(
            dg.AssetCheckResult(
                asset_key=name,
                check_name=check.name,
                passed=bool(outcome.passed),
                metadata=outcome.metadata,
                severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
                description=outcome.summary,
            )
        )
    return results


def _failures(results) -> list[str]:
    out = []
    for r in results:
        if r.passed or r.severity != dg.AssetCheckSeverity.ERROR:
            continue
        detail = r.metadata.get("failures (column: check -> rows)")
        if r.description:  # the outcome's own one-sentence summary (counts and names only)
            out.append(f"{r.asset_key.to_user_string()}: {r.check_name} ({r.description})")
        elif detail is not None:
            out.append(
                f"{r.asset_key.to_user_string()}: {r.check_name} ("
                + "; ".join(f"{k}: {v} rows" for k, v in detail.value.items())
                + ")"
            )
        else:
            shown = {k: getattr(v, "value", v) for k, v in r.metadata.items()}
            out.append(f"{r.asset_key.to_user_string()}: {r.check_name} ({shown})")
    return out


def _with_context(fn: Callable):
    """A signature for the compute function: `context` first (the factory needs it), then the
    decorated function's own parameters (its inputs, config and resources, as Dagster reads them)."""
    params = list(inspect.signature(fn).parameters.values())
    wants_context = bool(params) and params[0].name == "context"
    rest = params[1:] if wants_context else params
    context = inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=dg.AssetExecutionContext)
    # the IO manager as a resource too: a check run alone reads the stored tables through it
    io = inspect.Parameter("io_manager", inspect.Parameter.KEYWORD_ONLY, annotation=dg.ResourceParam[ParquetIOManager])
    return inspect.Signature([context, *rest, io]), wants_context


def table_multi_asset(
    outs: Mapping[str, Out], *, group: str, lineage: bool = True, kinds=KINDS, name=None, **asset_kwargs
):
    """Declare a function that computes several tables at once; it returns {name: Table or DataFrame}."""

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        signature, wants_context = _with_context(fn)
        version = code_version(fn)

        def compute(context: dg.AssetExecutionContext, *, io_manager: ParquetIOManager, **kwargs):
            selected_checks = {(k.asset_key.to_user_string(), k.name) for k in context.selected_asset_check_keys}
            selected = lambda asset, check: (asset, check) in selected_checks  # noqa: E731
            tables_in = dict(kwargs)  # the inputs, and any config or resource a check reads
            if not context.op_execution_context.selected_output_names:  # checks alone, on the stored tables
                stored = {n: io_manager.stored(n) for n in outs}
                results = [
                    r
                    for n, o in outs.items()
                    for r in _check_results(n, o, Table(stored[n]), {**tables_in, **stored}, selected)
                ]
                yield from results
                return
            raw = fn(context, **kwargs) if wants_context else fn(**kwargs)
            results = {
                n: _as_table(t) for n, t in (raw.items() if isinstance(raw, dict) else [(next(iter(outs)), raw)])
            }
            tables = {**tables_in, **{n: t.data for n, t in results.items()}}
            checks = [r for n, o in outs.items() for r in _check_results(n, o, results[n], tables, selected)]
            yield from checks
            if failures := _failures(checks):
                raise dg.Failure("blocking check(s) failed: " + " | ".join(failures))
            for n, o in outs.items():
                if n not in context.op_execution_context.selected_output_names:
                    continue
                t = results[n]
                meta = {**table_metadata(t.data, o.model), **t.metadata}
                if lineage:
                    meta["dagster/column_lineage"] = column_lineage(o.model)
                with warnings.catch_warnings():  # Output's data_version is a beta API of Dagster 1.13
                    warnings.simplefilter("ignore", dg.BetaWarning)
                    yield dg.Output(
                        t.data,
                        output_name=n,
                        metadata=meta,
                        data_version=dg.DataVersion(t.data_version) if t.data_version else None,
                    )

        compute.__name__, compute.__doc__, compute.__signature__ = fn.__name__, fn.__doc__, signature
        definition_metadata = asset_kwargs.pop("metadata", {})
        return dg.multi_asset(
            name=name or fn.__name__,
            group_name=group,
            can_subset=True,
            outs={
                n: dg.AssetOut(
                    kinds=set(kinds),
                    description=o.description,
                    code_version=version,
                    is_required=False,
                    owners=governance.owners(n, group),
                    tags=governance.tags(n, group, o.model, o.disclosure),
                    metadata={
                        "dagster/column_schema": table_schema(o.model),
                        **source_reference(fn),
                        **definition_metadata,
                    },
                )
                for n, o in outs.items()
            },
            check_specs=[
                spec for n, o in outs.items() for spec in (schema_spec(n, o.model), *(c.spec(n) for c in o.checks))
            ],
            **asset_kwargs,
        )(compute)

    return decorate


def table_asset(
    model,
    *,
    group: str,
    checks: tuple[Check, ...] | list[Check] = (),
    lineage: bool = True,
    kinds=KINDS,
    description: str | None = None,
    disclosure: str | None = None,
    **asset_kwargs,
):
    """Declare a table asset named after the decorated function (see the module docstring).
    Lineage: a bare `← column` in a description is a column of the first input; `← asset` names
    the same-named column of that input."""

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        text = description or inspect.cleandoc(fn.__doc__ or "")
        out = Out(model, text, tuple(checks), disclosure)
        return table_multi_asset({fn.__name__: out}, group=group, lineage=lineage, kinds=kinds, **asset_kwargs)(fn)

    return decorate

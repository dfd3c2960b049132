"""How a table asset is declared: its pandera model gives the rest.

`@table_asset(Model, group=...)` on a function that computes a table makes a Dagster asset whose
column schema (UI), schema check (blocking, count-only), column lineage (read from the model's
`←` descriptions) and output all come from the model, in the spirit of PUDL's schema-driven
checks. The function only computes: it returns its DataFrame, or a `Table` with metadata and the
results of further checks it declared with `Check`. `@table_multi_asset` does the same for a
function that computes several tables at once.

Every check result is yielded before any output, and a failed blocking check stops the step with
the failing checks, columns and row counts named (never values): bad data is never stored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from .checks import column_lineage, schema_check, schema_spec, table_metadata, table_schema

KINDS = frozenset({"pandas", "parquet"})


@dataclass(frozen=True)
class Check:
    """A further check of a table asset, beyond its schema: the asset's function returns its
    outcome in `Table.checks` under `name`."""

    name: str
    description: str
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


@dataclass(frozen=True)
class Out:
    """One table of a `table_multi_asset`: its model, its description, and its further checks."""

    model: object
    description: str
    checks: tuple[Check, ...] = ()


def _as_table(result) -> Table:
    return result if isinstance(result, Table) else Table(result)


def _emit(outs: Mapping[str, Out], results: Mapping[str, Table], inputs: list[str], lineage: bool,
          single: bool = False):
    """Yield every check result, stop on a failed blocking check, then yield every output (a
    single-asset's one output is Dagster's "result")."""
    failures, outputs = [], []
    for name, out in outs.items():
        t = results[name]
        schema = schema_check(out.model, t.data, name)
        yield schema
        if not schema.passed:
            detail = schema.metadata["failures (column: check -> rows)"].value
            failures.append(f"{name}: schema (" + "; ".join(f"{k}: {v} rows" for k, v in detail.items()) + ")")
        for check in out.checks:
            outcome = t.checks[check.name]
            yield dg.AssetCheckResult(
                asset_key=name, check_name=check.name, passed=bool(outcome.passed), metadata=outcome.metadata,
                severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
                description=outcome.summary)
            if check.blocking and not outcome.passed:
                failures.append(f"{name}: {check.name} ({outcome.summary or outcome.metadata})")
        meta = {**table_metadata(t.data, out.model), **t.metadata}
        if lineage and inputs:
            meta["dagster/column_lineage"] = column_lineage(out.model, inputs[0], set(inputs))
        outputs.append(dg.Output(t.data, output_name="result" if single else name, metadata=meta))
    if failures:
        raise dg.Failure("blocking check(s) failed: " + " | ".join(failures))
    yield from outputs


def _input_names(fn: Callable) -> list[str]:
    """The function's asset inputs, in order (not its context, config or resources)."""
    import inspect

    def is_input(p: inspect.Parameter) -> bool:
        kind = p.annotation if isinstance(p.annotation, type) else None
        return p.name != "context" and not (kind and issubclass(kind, (dg.Config, dg.ConfigurableResource)))

    return [p.name for p in inspect.signature(fn).parameters.values() if is_input(p)]


def table_asset(model, *, group: str, checks: tuple[Check, ...] | list[Check] = (), lineage: bool = True,
                kinds=KINDS, metadata: dict | None = None, **asset_kwargs):
    """Declare a table asset named after the decorated function (see the module docstring).
    Lineage: a bare `← column` in a description is a column of the first input; `← asset` names
    the same-named column of that input."""

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        name = fn.__name__
        outs = {name: Out(model, "", tuple(checks))}
        inputs = _input_names(fn)

        @dg.asset(name=name, group_name=group, kinds=set(kinds),
                  metadata={"dagster/column_schema": table_schema(model), **(metadata or {})},
                  check_specs=[schema_spec(name, model), *(c.spec(name) for c in checks)], **asset_kwargs)
        @functools.wraps(fn)
        def compute(*args, **kwargs):
            yield from _emit(outs, {name: _as_table(fn(*args, **kwargs))}, inputs, lineage, single=True)

        return compute

    return decorate


def table_multi_asset(outs: Mapping[str, Out], *, group: str, lineage: bool = True, kinds=KINDS, **asset_kwargs):
    """Declare a function that computes several tables at once; it returns {name: Table or DataFrame}."""

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        inputs = _input_names(fn)

        @dg.multi_asset(
            name=fn.__name__, group_name=group,
            outs={n: dg.AssetOut(kinds=set(kinds), description=o.description,
                                 metadata={"dagster/column_schema": table_schema(o.model)}) for n, o in outs.items()},
            check_specs=[spec for n, o in outs.items()
                         for spec in (schema_spec(n, o.model), *(c.spec(n) for c in o.checks))],
            **asset_kwargs)
        @functools.wraps(fn)
        def compute(*args, **kwargs):
            results = {n: _as_table(t) for n, t in fn(*args, **kwargs).items()}
            yield from _emit(outs, results, inputs, lineage)

        return compute

    return decorate

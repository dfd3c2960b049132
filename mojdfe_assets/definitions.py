"""The one Dagster `Definitions` object of the project: assets, checks, jobs, sensor and resources.

Data flow: sources (extracts as delivered) -> clean (typed, validated, quarantined) -> derived
tables. `dagster dev` in the repository root loads this module through `workspace.yaml`.

Runs execute in one process, step after step (`in_process_executor`): on a 2-core researcher VM
that is faster than a process per step, and a UI run then costs what a `mojdfe run` costs.
`materialize_all` is the job `mojdfe run` runs, so its runs open and re-execute in the UI.
A successful run is published to the warehouse's `current/` folder by `publish_warehouse`.
"""

import dagster as dg

from . import lineage
from .clean import clean_asset_defs
from .disclosure import DisclosureRules
from .effects import effect_assets
from .exports import export_assets
from .la_aggregates import la_assets
from .national import national_assets
from .outcomes import outcome_assets
from .resources import LaGeography, ParquetIOManager, RawExtracts, io_manager_from_env
from .rules import CleaningRules
from .social_care import social_care_assets
from .sources import raw_assets

# every asset carries its columns' lineage down to the delivered columns (lineage.py)
all_assets = lineage.attach(
    [
        *raw_assets,
        *clean_asset_defs,
        *social_care_assets,
        *outcome_assets,
        *effect_assets,
        *la_assets,
        *national_assets,
        *export_assets,
    ]
)

materialize_all = dg.define_asset_job(
    "materialize_all",
    selection=dg.AssetSelection.all(),
    description="Every asset and every check: what `mojdfe run` runs. A successful run is published to "
    "the warehouse's current/ folder.",
)


check_warehouse = dg.define_asset_job(
    "check_warehouse",
    selection=dg.AssetSelection.all_asset_checks(),
    description="Every asset check, run on the published warehouse (current/) without materialising anything: "
    "what `mojdfe check` runs, for CI and for data owners re-checking a delivered warehouse.",
)


def run_chain(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[str]:
    """A run and the runs it re-executes, oldest first: together they make one complete run."""
    chain = [run.run_id]
    while run.parent_run_id and (run := instance.get_run_by_id(run.parent_run_id)) is not None:
        chain.append(run.run_id)
    return chain[::-1]


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
    description="Publishes each successful run's tables as the warehouse's current snapshot",
)
def publish_warehouse(context: dg.RunStatusSensorContext, io_manager: ParquetIOManager):
    snapshot = io_manager.publish(run_chain(context.instance, context.dagster_run))
    if snapshot is not None:
        context.log.info(f"published run {context.dagster_run.run_id[:8]} as {snapshot.name}")


defs = dg.Definitions(
    assets=all_assets,  # each links to its source code (table_assets.source_reference)
    jobs=[materialize_all, check_warehouse],
    sensors=[publish_warehouse],
    executor=dg.in_process_executor,
    resources={
        "raw_extracts": RawExtracts.from_env(),
        "io_manager": io_manager_from_env(),
        "cleaning_rules": CleaningRules(),
        "la_geography": LaGeography(),
        "disclosure_rules": DisclosureRules(),
    },
)

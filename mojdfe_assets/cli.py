"""Command line: `mojdfe synth` writes a synthetic world; `mojdfe run` materialises the graph.

`mojdfe stata` writes the published aggregate tables as labelled Stata files (see stata.py).

`mojdfe run` runs the `materialize_all` job of the definitions (so its runs open and re-execute
in `dagster dev`) with a persistent Dagster home in `data/dagster_home`, publishes the warehouse's
`current/` snapshot when the run succeeds, and prints a summary: the deliveries read (SHA-256),
row counts, quarantined rows and every asset check; a failed step is reported by its message
(file, column, problem), without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .resources import DEFAULT_SYNTHETIC_PUPILS, DEFAULT_SYNTHETIC_SEED, PROJECT_ROOT


def _synth(args) -> int:
    from . import synthetic

    t = time.perf_counter()
    try:
        m = synthetic.generate(args.out, pupils=args.pupils, seed=args.seed, release=args.release)
    except synthetic.SyntheticFolderError as err:
        print(f"mojdfe synth: {err}", file=sys.stderr)
        return 2
    print(
        f"synthetic world: {args.pupils:,} spine pupils, seed {args.seed}, release {args.release!r} "
        f"-> {args.out} in {time.perf_counter() - t:.1f}s"
    )
    for k, v in m["rows"].items():
        print(f"  {k:<16} {v:>12,}")
    return 0


def _home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # the SRS has no internet: no telemetry
        config.write_text("telemetry:\n  enabled: false\n")
    return home


def _run(args) -> int:
    if args.raw:
        os.environ["MOJDFE_RAW_DIR"] = str(Path(args.raw).resolve())
    if args.warehouse:
        os.environ["MOJDFE_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    os.environ.setdefault("MOJDFE_SYNTHETIC_PUPILS", str(args.pupils))
    os.environ.setdefault("MOJDFE_SYNTHETIC_SEED", str(args.seed))
    home = _home()

    import dagster as dg

    from .resources import io_manager_from_env, quick_event_log, small_pages, write_behind

    asset_job()  # import and resolve the code location first: the run time below excludes it
    quick_event_log()
    small_pages()
    t = time.perf_counter()
    # execute_job, not job.execute_in_process: the latter keeps every asset's output in memory
    # until the run ends (for its result object), which at national scale is the whole warehouse
    # in RAM. The definitions' executor runs the steps one after another in this process.
    # write_behind: each table is written while the next step runs; all are on disk before publishing
    with (
        dg.DagsterInstance.get() as instance,
        write_behind(),
        dg.execute_job(
            dg.build_reconstructable_job("mojdfe_assets.cli", "asset_job"),
            instance=instance,
            raise_on_error=False,
            # Nothing on the console but this command's own summary (the event log is in the instance).
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        ) as result,
    ):
        code = _summary(result, time.perf_counter() - t, home)
        if code == 0:
            snapshot = io_manager_from_env().publish([result.run_id])
            if snapshot is not None:
                print(f"published: {snapshot.parent.parent / 'current'} -> {snapshot.name}")
        else:
            print("not published: the warehouse's current/ still holds the last successful run")
        return code


def asset_job():
    """The definitions' `materialize_all` job (importable, so Dagster can reconstruct it)."""
    from .definitions import defs

    return defs.resolve_job_def("materialize_all")


def check_job():
    """The definitions' `check_warehouse` job: every asset check on the published tables."""
    from .definitions import defs

    return defs.resolve_job_def("check_warehouse")


def _check(args) -> int:
    if args.raw:
        os.environ["MOJDFE_RAW_DIR"] = str(Path(args.raw).resolve())
    if args.warehouse:
        os.environ["MOJDFE_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    home = _home()
    import dagster as dg

    from .warehouse import Warehouse

    current = Warehouse(os.environ.get("MOJDFE_WAREHOUSE", str(PROJECT_ROOT / "data" / "warehouse"))).current
    if current is None:
        print("mojdfe check: nothing published yet in the warehouse (run `mojdfe run` first)", file=sys.stderr)
        return 2
    print(f"checking the published warehouse {current}")
    t = time.perf_counter()
    with (
        dg.DagsterInstance.get() as instance,
        dg.execute_job(
            dg.build_reconstructable_job("mojdfe_assets.cli", "check_job"),
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        ) as result,
    ):
        return _summary(result, time.perf_counter() - t, home)


def _error_line(error) -> str:
    """A step failure's message without the traceback: the user's error (file, column, problem)."""
    while error.cause is not None and "dagster._core.errors" in (error.cls_name or "") + error.message:
        error = error.cause
    message = error.message.strip()
    return message.split(": ", 1)[1] if message.startswith(("dagster.", "mojdfe_assets.")) else message


def _summary(result, secs: float, home: Path) -> int:
    from dagster import AssetCheckSeverity

    mats = result.get_asset_materialization_events()
    print(f"materialised {len(mats)} assets in {secs:.1f}s (run {result.run_id[:8]}, Dagster home {home})")
    for ev in mats:
        meta = ev.step_materialization_data.materialization.metadata
        if "delivery sha256" in meta:
            print(
                f"  delivery {meta['file'].value:<34} sha256 {meta['delivery sha256'].value[:16]}…  "
                f"{meta['delivery bytes'].value:>14,} bytes  modified {meta['delivery modified (UTC)'].value}"
            )
    for ev in mats:
        mat = ev.step_materialization_data.materialization
        meta = mat.metadata
        rows = meta.get("dagster/row_count")
        q = meta.get("quarantined_rows")
        extra = f"  quarantined {q.value:,}" if q is not None and q.value else ""
        shown = f"{rows.value:>12,}" if rows else f"{'-':>12}"
        print(f"  {mat.asset_key.to_user_string():<28} rows {shown}{extra}")
        reasons = meta.get("quarantine_reasons (rows)")
        if extra and reasons is not None:
            for reason, n in sorted(reasons.value.items(), key=lambda kv: -kv[1]):
                print(f"      {n:>10,}  {reason}")
    for ev in mats:
        mat = ev.step_materialization_data.materialization
        if mat.asset_key.to_user_string() == "output_checking_request":  # what an SRS output checker reviews
            statuses = ", ".join(
                f"{v.value} {k.removeprefix('status_')}"
                for k, v in sorted(mat.metadata.items())
                if k.startswith("status_")
            )
            print(
                f"output-checking request: {mat.metadata['outputs'].value} outputs ({statuses}); published as "
                "current/output_checking_request/ (results.json)"
            )
    for ev in result.get_step_failure_events():
        print(f"FAILED step {ev.step_key}: {_error_line(ev.step_failure_data.error)}")
    evals = result.get_asset_check_evaluations()
    # A warning-level check (e.g. the comparison with published statistics) that fails is
    # reported, but does not fail the run.
    warned = [e for e in evals if not e.passed and e.severity == AssetCheckSeverity.WARN]
    failed = [e for e in evals if not e.passed and e not in warned]
    print(f"asset checks: {len(evals) - len(failed) - len(warned)} passed, {len(failed)} failed, {len(warned)} warned")
    for label, events in (("FAILED", failed), ("WARNING", warned)):
        for e in events:  # with the check's own one-sentence summary (counts and names only)
            why = f": {e.description}" if e.description else ""
            print(f"  {label} {e.asset_key.to_user_string()}:{e.check_name}{why}")
    return 0 if result.success and not failed else 1


def _publish(args) -> int:
    if args.warehouse:
        os.environ["MOJDFE_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    _home()
    import dagster as dg

    from .definitions import run_chain
    from .resources import io_manager_from_env

    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(args.run_id)
        if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
            print(
                f"mojdfe publish: run {args.run_id} {'not found' if run is None else 'did not succeed'}: "
                "only a successful run is published",
                file=sys.stderr,
            )
            return 2
        snapshot = io_manager_from_env().publish(run_chain(instance, run))
    print(f"published as {snapshot.name}" if snapshot else "already published (or wrote nothing)")
    return 0


def _dictionary(args) -> int:
    from .dictionary import documents

    stale = 0
    for out, text in documents(Path(args.out)).items():
        if args.check:
            current = out.exists() and out.read_text() == text
            stale += not current
            print(f"{out}: {'current' if current else 'stale: run `mojdfe dictionary`'}")
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"written: {out}")
    return 1 if stale else 0


def _stata(args) -> int:
    from .resources import DEFAULT_WAREHOUSE
    from .stata import export

    warehouse = args.warehouse or os.environ.get("MOJDFE_WAREHOUSE", str(DEFAULT_WAREHOUSE))
    try:
        written = export(warehouse, args.out, args.tables)
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f"mojdfe stata: {err.args[0]}", file=sys.stderr)
        return 2
    for table, cls, path in written:
        print(f"  {table:<32} {cls:<12} {path}")
    print(f"written: {len(written)} Stata files")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mojdfe", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("synth", help="write a seeded synthetic world of extracts")
    s.add_argument("--pupils", type=int, default=DEFAULT_SYNTHETIC_PUPILS)
    s.add_argument("--seed", type=int, default=DEFAULT_SYNTHETIC_SEED)
    s.add_argument("--out", default=str(PROJECT_ROOT / "data" / "raw" / "synthetic"))
    s.add_argument(
        "--release",
        choices=["latest", "all"],
        default="latest",
        help="latest: one (most recent) episode per child per year, as the current release; "
        "all: every episode, as the newer release",
    )
    s.set_defaults(func=_synth)
    r = sub.add_parser("run", help="materialise every asset and run every check")
    r.add_argument("--raw", help="folder of real extracts (default: the synthetic world, generated if missing)")
    r.add_argument("--warehouse", help="folder for the Parquet tables (default data/warehouse)")
    r.add_argument("--pupils", type=int, default=DEFAULT_SYNTHETIC_PUPILS, help="synthetic world size")
    r.add_argument("--seed", type=int, default=DEFAULT_SYNTHETIC_SEED, help="synthetic world seed")
    r.set_defaults(func=_run)
    c = sub.add_parser(
        "check",
        help="run every asset check on the published warehouse (no materialising); exits 1 if a blocking check fails",
    )
    c.add_argument("--warehouse", help="warehouse folder (default data/warehouse)")
    c.add_argument("--raw", help="folder of the extracts the warehouse was built from (for checks against them)")
    c.set_defaults(func=_check)
    pub = sub.add_parser("publish", help="publish a successful run (e.g. from `dagster asset materialize`) as current/")
    pub.add_argument("run_id")
    pub.add_argument("--warehouse", help="warehouse folder (default data/warehouse)")
    pub.set_defaults(func=_publish)
    d = sub.add_parser(
        "dictionary",
        help="write the data dictionary (Markdown and CSV) and the column lineage "
        "(docs/lineage.md), generated from the schemas",
    )
    d.add_argument(
        "--out",
        default=str(PROJECT_ROOT / "docs" / "data_dictionary.md"),
        help="the Markdown dictionary; data_dictionary.csv and lineage.md go beside it",
    )
    d.add_argument("--check", action="store_true", help="only check that the written files are current")
    d.set_defaults(func=_dictionary)
    st = sub.add_parser(
        "stata",
        help="write the published aggregate tables as Stata .dta files with "
        "variable and value labels from the data dictionary",
    )
    st.add_argument("--warehouse", help="warehouse folder (default data/warehouse)")
    st.add_argument(
        "--out",
        help="folder for the .dta files (default <warehouse>/current_stata; "
        "never the snapshot, which is not written to after publishing)",
    )
    st.add_argument(
        "--tables",
        nargs="+",
        metavar="TABLE",
        help="tables to write (default: every aggregate table, disclosure class srs_only or "
        "for_export). Pupil-level tables are written only when named here: they never leave "
        "the SRS, and a loose .dta copy of pupil records is one more file for output "
        "checking to miss. srs_only tables are not protected for release either",
    )
    st.set_defaults(func=_stata)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

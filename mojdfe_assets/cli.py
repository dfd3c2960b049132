"""Command line: `mojdfe synth` writes a synthetic world; `mojdfe run` materialises the graph.

`mojdfe run` is the same as `dagster asset materialize -m mojdfe_assets.definitions --select '*'`
with a persistent Dagster home in `data/dagster_home` (so runs show in `dagster dev`), followed
by a short summary of row counts, quarantined rows and asset-check results.
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
    m = synthetic.generate(args.out, pupils=args.pupils, seed=args.seed, release=args.release)
    print(f"synthetic world: {args.pupils:,} spine pupils, seed {args.seed}, release {args.release!r} "
          f"-> {args.out} in {time.perf_counter() - t:.1f}s")
    for k, v in m["rows"].items():
        print(f"  {k:<16} {v:>12,}")
    return 0


def _run(args) -> int:
    if args.raw:
        os.environ["MOJDFE_RAW_DIR"] = str(Path(args.raw).resolve())
    if args.warehouse:
        os.environ["MOJDFE_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    os.environ.setdefault("MOJDFE_SYNTHETIC_PUPILS", str(args.pupils))
    os.environ.setdefault("MOJDFE_SYNTHETIC_SEED", str(args.seed))
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # the SRS has no internet: no telemetry
        config.write_text("telemetry:\n  enabled: false\n")

    import dagster as dg

    from .resources import freeze_loaded_code

    asset_job()  # import and resolve the code location before freezing it
    freeze_loaded_code()
    t = time.perf_counter()
    # execute_job with the in-process executor, not job.execute_in_process: the latter keeps every
    # asset's output in memory until the run ends (for its result object), which at national
    # scale is the whole warehouse in RAM. Here each output is freed once it is stored.
    with dg.DagsterInstance.get() as instance, dg.execute_job(
            dg.reconstructable(asset_job), instance=instance, raise_on_error=False,
            # Warnings only on the console (quarantine notices); the full event log is in the instance.
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}},
                        "execution": {"config": {"in_process": {}}}}) as result:
        return _summary(result, time.perf_counter() - t, home)


def asset_job():
    """Every asset of the project as one named job (importable, so Dagster can reconstruct it;
    the implicit `__ASSET_JOB` cannot be reconstructed by name)."""
    import dagster as dg

    from .definitions import defs

    job = dg.define_asset_job("materialize_all", selection=dg.AssetSelection.all(), description="Every asset and check")
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def("materialize_all")


def _summary(result, secs: float, home: Path) -> int:
    print(f"materialised {len(result.get_asset_materialization_events())} assets in {secs:.1f}s "
          f"(run {result.run_id[:8]}, Dagster home {home})")
    for ev in result.get_asset_materialization_events():
        mat = ev.step_materialization_data.materialization
        meta = mat.metadata
        rows = meta.get("dagster/row_count")
        q = meta.get("quarantined_rows")
        extra = f"  quarantined {q.value:,}" if q is not None and q.value else ""
        shown = f"{rows.value:>12,}" if rows else f"{'-':>12}"
        print(f"  {mat.asset_key.to_user_string():<28} rows {shown}{extra}")
    evals = result.get_asset_check_evaluations()
    # A warning-level check (e.g. the comparison with published statistics) that fails is
    # reported, but does not fail the run.
    from dagster import AssetCheckSeverity

    warned = [e for e in evals if not e.passed and e.severity == AssetCheckSeverity.WARN]
    failed = [e for e in evals if not e.passed and e not in warned]
    print(f"asset checks: {len(evals) - len(failed) - len(warned)} passed, {len(failed)} failed, "
          f"{len(warned)} warned")
    for e in failed:
        print(f"  FAILED {e.asset_key.to_user_string()}:{e.check_name}")
    for e in warned:
        print(f"  WARNING {e.asset_key.to_user_string()}:{e.check_name}")
    return 0 if result.success and not failed else 1


def _dictionary(args) -> int:
    from .dictionary import build

    text, out = build(), Path(args.out)
    if args.check:
        current = out.exists() and out.read_text() == text
        print(f"{out}: {'current' if current else 'stale: run `mojdfe dictionary`'}")
        return 0 if current else 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"data dictionary written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mojdfe", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("synth", help="write a seeded synthetic world of extracts")
    s.add_argument("--pupils", type=int, default=DEFAULT_SYNTHETIC_PUPILS)
    s.add_argument("--seed", type=int, default=DEFAULT_SYNTHETIC_SEED)
    s.add_argument("--out", default=str(PROJECT_ROOT / "data" / "raw" / "synthetic"))
    s.add_argument("--release", choices=["latest", "all"], default="latest",
                   help="latest: one (most recent) episode per child per year, as the current release; "
                        "all: every episode, as the newer release")
    s.set_defaults(func=_synth)
    r = sub.add_parser("run", help="materialise every asset and run every check")
    r.add_argument("--raw", help="folder of real extracts (default: the synthetic world, generated if missing)")
    r.add_argument("--warehouse", help="folder for the Parquet tables (default data/warehouse)")
    r.add_argument("--pupils", type=int, default=DEFAULT_SYNTHETIC_PUPILS, help="synthetic world size")
    r.add_argument("--seed", type=int, default=DEFAULT_SYNTHETIC_SEED, help="synthetic world seed")
    r.set_defaults(func=_run)
    d = sub.add_parser("dictionary", help="write the data dictionary (Markdown) generated from the schemas")
    d.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "data_dictionary.md"))
    d.add_argument("--check", action="store_true", help="only check that the written files are current")
    d.set_defaults(func=_dictionary)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""The same materialisation from the UI and from the command line, on the same machine (issue 17).

    .venv/bin/python benchmarks/ui_vs_cli.py [--pupils 50000] [--seed 1] [--workdir DIR]

Generates a synthetic world, then materialises every asset twice, each into its own warehouse
and Dagster home: `mojdfe run` (a subprocess: wall seconds of the whole command, import
included, and the run's own start-to-end from its Dagster record), and the UI's "Materialize
all" on a real `dagster dev` (the GraphQL call its button makes: seconds from the click to the
run's success, and the run's own start-to-end). Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mojdfe_assets import synthetic  # noqa: E402
from mojdfe_assets_tests.dagster_ui import dagster_dev, launch, repository, run_status, wait_for  # noqa: E402


def home(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return folder


def cli_run(raw: Path, work: Path) -> dict:
    env = {**os.environ, "DAGSTER_HOME": str(home(work / "cli_home"))}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "mojdfe_assets.cli", "run", "--raw", str(raw), "--warehouse", str(work / "cli_wh")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"mojdfe run failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    import dagster as dg

    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        (run,) = instance.get_runs()
        stats = instance.get_run_stats(run.run_id)
    return {"wall": wall, "run": stats.end_time - stats.start_time}


def ui_run(raw: Path, work: Path) -> dict:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home(work / "ui_home")),
        "MOJDFE_RAW_DIR": str(raw),
        "MOJDFE_WAREHOUSE": str(work / "ui_wh"),
    }
    with dagster_dev(env) as port:
        start = time.perf_counter()
        run_id = launch(port, repository(port), pipelineName="__ASSET_JOB")  # the "Materialize all" button
        status = wait_for(port, run_id, seconds=3600)
        wall = time.perf_counter() - start
        if status != "SUCCESS":
            raise SystemExit(f"the UI run ended {status}")
        r = run_status(port, run_id)
    return {"wall": wall, "run": r["endTime"] - r["startTime"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pupils", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args(argv)
    work = Path(a.workdir or tempfile.mkdtemp(prefix="mojdfe_ui_vs_cli_"))
    raw = work / "raw"
    synthetic.generate(raw, pupils=a.pupils, seed=a.seed)
    cli = cli_run(raw, work)
    ui = ui_run(raw, work)
    print(
        f"every asset and check, {a.pupils:,} pupils (seed {a.seed}), {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"  mojdfe run            {cli['wall']:7.1f} s wall (command incl. import), run {cli['run']:7.1f} s")
    print(f"  UI 'Materialize all'  {ui['wall']:7.1f} s click to success,         run {ui['run']:7.1f} s")
    print(f"  UI / CLI (run)        {ui['run'] / cli['run']:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

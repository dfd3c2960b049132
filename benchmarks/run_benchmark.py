"""National-scale benchmark: generation, I/O floor, full materialisation, naive translation.

    python benchmarks/run_benchmark.py                       # national scale: 10,000,000 pupils
    python benchmarks/run_benchmark.py --pupils 2000000 --naive-pupils 200000 --workdir /tmp/mojdfe_bench
    python benchmarks/run_benchmark.py --only-peers --peers duckdb,dplyr --peer-sizes 1000000,10000000

Steps (each in a child process, so its peak resident memory is its own):

1. generate a synthetic world of `--pupils` spine pupils into `<workdir>/world_<N>` (reused when
   its manifest matches);
2. the I/O floor: read every delivered CSV with pyarrow and write it as Parquet (zstd), nothing else;
3. materialise every asset of `mojdfe_assets.definitions` (whatever assets exist at run time)
   with the world as the real-extract folder (`MOJDFE_RAW_DIR`), timing each step from the Dagster
   event log (STEP_START -> STEP_SUCCESS, with input loading and output storing split out), and
   the peak resident memory of the whole process tree;
4. the storage floor: every table the run stored, read once and written once, nothing else (what
   any graph persisting these tables costs with no computing), and the required floor: reading
   the CSVs, writing every stored table once and the run's own pandera validation of every row
   (what the graph's requirements cost with no computing);
5. the same on a `--naive-pupils` world, against `naive_dplyr.py` (a straightforward pandas
   translation of the field guide's dplyr recipe), with the agreement of intervention levels.
   The default size, 1,000,000 pupils, is where the naive script still finishes (about 5 minutes)
   and ours is no longer dominated by its fixed per-step costs;
6. the peers, what a researcher would run instead on the same delivered files: `peer_duckdb.py`
   (one DuckDB query) and `peer_dplyr.R` (readr + dplyr; only when `Rscript` is on PATH, else
   skipped with the reason), each against our CSV -> intervention_level path on the same world
   (run for the purpose at the national size, reused at the naive size), at `--peer-sizes`
   (default: `--pupils` and `--naive-pupils`): wall seconds and peak memory of each, the ratios
   pipeline / DuckDB and dplyr / pipeline, and the share of spine pupils each peer gives the same
   level as our `intervention_level.parquet` (disagreements counted by level pair); the
   path's storage floor (the storage floor of its 13 stored tables: what persisting each step
   costs before any typing, validation or joining); and the path's required floor (the import,
   then its CSVs read, its tables written and its rows validated, split over the cores: a lower
   bound on the path's wall time) against each peer target's allowance (3 x DuckDB, dplyr / 10).
   `--only-peers` runs this step alone.

Prints tables and the ratios; `--json FILE` also writes every figure. Timings are printed, never
asserted (see mojdfe_assets_tests/test_benchmark.py for the smoke test).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


# ---------------------------------------------------------------------------------------------
# Child processes, each with its own peak memory


def _tree_rss_kib(root: int) -> int:
    """Resident memory (KiB) of a process and all its descendants, from /proc (Linux, stdlib)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            with open(f"/proc/{entry}/statm") as fh:
                pages = int(fh.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        pid = int(entry)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_child(
    args: list[str], env: dict | None = None, label: str = "", program: str | None = None, stdout=None
) -> dict:
    """Run `python <args>` (or `<program> <args>`); return wall seconds, peak RSS of the tree
    (polled) and of the largest single process (kernel's ru_maxrss, exact), and the exit code."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [program or sys.executable, *args], env={**os.environ, **(env or {})}, cwd=ROOT, stdout=stdout
    )
    peak = [0]
    done = threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kib(proc.pid))
            done.wait(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    secs = time.perf_counter() - t
    done.set()
    poller.join()
    out = {
        "seconds": secs,
        "peak_tree_rss_gib": max(peak[0], usage.ru_maxrss) / 2**20,
        "peak_process_rss_gib": usage.ru_maxrss / 2**20,
        "exit_code": proc.returncode,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }  # user + system, less sensitive to a busy machine
    if proc.returncode != 0:
        raise SystemExit(f"{label or args[0]} failed with exit code {proc.returncode}")
    return out


# ---------------------------------------------------------------------------------------------
# Child commands


def child_generate(a) -> int:
    from mojdfe_assets import synthetic

    t = time.perf_counter()
    m = synthetic.generate(a.out, pupils=a.pupils, seed=a.seed)
    Path(a.result).write_text(json.dumps({"seconds": time.perf_counter() - t, "rows": m["rows"]}))
    return 0


def child_io_floor(a) -> int:
    """Read each delivered CSV with pyarrow (multi-threaded, types inferred) and write Parquet."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from mojdfe_assets import extracts as X

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    per_file, t0 = {}, time.perf_counter()
    for e in X.ALL:
        t = time.perf_counter()
        table = pacsv.read_csv(Path(a.world) / e.file)
        t_read = time.perf_counter() - t
        pq.write_table(table, out / (e.file + ".parquet"), compression="zstd")
        per_file[e.file] = {
            "rows": table.num_rows,
            "read": t_read,
            "total": time.perf_counter() - t,
            "csv_mib": (Path(a.world) / e.file).stat().st_size / 2**20,
        }
        del table
    Path(a.result).write_text(json.dumps({"seconds": time.perf_counter() - t0, "files": per_file}))
    return 0


def child_storage(a) -> int:
    """Read every table the pipeline stored (in full) and write it again as the pipeline writes it:
    the least time any graph that persists these tables can take, with no computing at all."""
    import pyarrow.parquet as pq

    from mojdfe_assets.resources import write_parquet_atomic

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0, read, gib = time.perf_counter(), 0.0, 0.0
    from mojdfe_assets.warehouse import Warehouse

    tables = sorted(Warehouse(a.warehouse).current.glob("*.parquet"))
    for path in tables:
        t = time.perf_counter()
        table = pq.read_table(path)
        read += time.perf_counter() - t
        gib += table.nbytes / 2**30
        write_parquet_atomic(table, out / path.name)
        del table
    seconds = time.perf_counter() - t0
    figures = {
        "seconds": seconds,
        "read_seconds": read,
        "write_seconds": seconds - read,  # the writes alone (a run could hand tables over in memory)
        "tables": len(tables),
        "in_memory_gib": gib,
    }
    if a.world:  # and reading the delivered CSVs of the raw tables stored, as the I/O floor reads them
        figures |= _csv_read_seconds(Path(a.world), {p.stem for p in tables})
    Path(a.result).write_text(json.dumps(figures))
    return 0


def _csv_read_seconds(world: Path, stored: set[str]) -> dict:
    import pyarrow.csv as pacsv

    from mojdfe_assets import extracts as X

    files, t0 = [e.file for e in X.ALL if f"{e.name}_raw" in stored], time.perf_counter()
    for f in files:
        pacsv.read_csv(world / f)
    return {"csv_read_seconds": time.perf_counter() - t0, "csv_files": files}


def child_materialise(a) -> int:
    """Materialise every asset in this process; write step timings from the Dagster event log."""
    os.environ["MOJDFE_RAW_DIR"] = str(Path(a.world).resolve())
    os.environ["MOJDFE_WAREHOUSE"] = str(Path(a.warehouse).resolve())
    t_import = time.perf_counter()
    import dagster as dg

    from mojdfe_assets.cli import asset_job
    from mojdfe_assets.definitions import defs
    from mojdfe_assets.resources import (
        ParquetIOManager,
        quick_event_log,
        small_pages,
        write_behind,
    )

    asset_job()
    quick_event_log()
    small_pages()
    import_secs = time.perf_counter() - t_import
    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    samples: list[tuple[float, int]] = []  # (time, resident KiB of this process) every 50 ms
    stop = threading.Event()

    def sample():
        page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
        while not stop.is_set():
            with open("/proc/self/statm") as fh:
                samples.append((time.time(), int(fh.read().split()[1]) * page_kib))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with (
        tempfile.TemporaryDirectory() as home,
        dg.DagsterInstance.local_temp(home, overrides={"telemetry": {"enabled": False}}) as instance,
    ):
        # As `mojdfe run` does: execute_job, not job.execute_in_process (which keeps every output
        # in memory for the result object). in_process: steps one after another in this process;
        # multiprocess: a process per step, as `dagster asset materialize` and the UI run it.
        run_config = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
        if a.executor == "multiprocess":  # the definitions' executor is in-process; this job's is not
            run_config["execution"] = {"config": {"max_concurrent": a.max_concurrent}}
        selection = None
        if a.upstream_of:  # only this asset and everything it is derived from
            selection = list(
                dg.AssetSelection.assets(a.upstream_of).upstream().required_multi_asset_neighbors().resolve(graph)
            )
        elif a.exclude_groups:  # every asset except these groups and what depends on them
            skip = dg.AssetSelection.groups(*a.exclude_groups.split(",")).downstream()
            selection = list((dg.AssetSelection.all() - skip).resolve(graph))
        t = time.perf_counter()
        job = dg.reconstructable(asset_job if a.executor == "in_process" else multiprocess_job)
        # as `mojdfe run` does: tables written while the next step runs (in process only)
        with (
            write_behind() if a.executor == "in_process" else contextlib.nullcontext(),
            dg.execute_job(
                job, instance=instance, run_config=run_config, raise_on_error=False, asset_selection=selection
            ) as res,
        ):
            run_id, success = res.run_id, res.success
        if success:  # as `mojdfe run` does: readers (and the storage floor below) see current/
            ParquetIOManager(base_dir=str(Path(a.warehouse).resolve())).publish([run_id])
        wall = time.perf_counter() - t
        stop.set()
        sampler.join()
        steps = _step_timings(instance, run_id)
        for s in steps.values():
            s["group"] = groups.get(s["assets"][0]) if s["assets"] else None
            during = [kib for ts, kib in samples if s["start"] <= ts <= s["end"]]
            s["peak_rss_gib"] = max(during) / 2**20 if during else None
        checks = _check_results(instance, run_id)
    Path(a.result).write_text(
        json.dumps(
            {
                "seconds": wall,
                "import_seconds": import_secs,
                "success": success,
                "executor": a.executor,
                "steps": steps,
                "checks": checks,
            }
        )
    )
    return 0 if success else 1


def multiprocess_job():
    """Every asset with the multiprocess executor (a process per step), for `--executor multiprocess`."""
    import dagster as dg

    from mojdfe_assets.definitions import defs

    job = dg.define_asset_job(
        "materialize_all_multiprocess", selection=dg.AssetSelection.all(), executor_def=dg.multiprocess_executor
    )
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def("materialize_all_multiprocess")


def _step_timings(instance, run_id: str) -> dict:
    import dagster as dg

    steps: dict[str, dict] = {}
    for rec in instance.all_logs(run_id):
        ev = rec.dagster_event
        if ev is None or not ev.step_key:
            continue
        s = steps.setdefault(ev.step_key, {"assets": [], "events": []})
        s["events"].append((ev.event_type_value, rec.timestamp))
        if ev.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            s["assets"].append(ev.asset_key.to_user_string())
    out = {}
    for key, s in steps.items():
        ev = s["events"]
        start = next((ts for e, ts in ev if e == "STEP_START"), None)
        end = next((ts for e, ts in ev if e in ("STEP_SUCCESS", "STEP_FAILURE")), None)
        if start is None or end is None:
            continue
        loaded = [ts for e, ts in ev if e == "LOADED_INPUT"]
        load = (max(loaded) - start) if loaded else 0.0
        store, last_output = 0.0, None
        for e, ts in ev:
            if e == "STEP_OUTPUT":
                last_output = ts
            elif e == "HANDLED_OUTPUT" and last_output is not None:
                store += ts - last_output
                last_output = None
        out[key] = {
            "seconds": end - start,
            "load_inputs": load,
            "store_outputs": store,
            "start": start,
            "end": end,
            "assets": s["assets"],
            "ok": any(e == "STEP_SUCCESS" for e, _ in ev),
        }
    return out


def _check_results(instance, run_id: str) -> dict:
    import dagster as dg

    passed, failed, validation, validated = 0, [], 0.0, 0
    for rec in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        data = rec.dagster_event.event_specific_data
        if data.passed:
            passed += 1
        else:
            failed.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
        seconds = data.metadata.get("validation_seconds")  # pandera schema checks record their time
        if seconds is not None:
            validation += seconds.value
            validated += 1
    return {
        "passed": passed,
        "failed": len(failed),
        "failed_checks": failed,
        "validation_seconds": validation,
        "validated_tables": validated,
    }


def child_naive(a) -> int:
    sys.path.insert(0, str(HERE))
    import naive_dplyr

    t = time.perf_counter()
    levels = naive_dplyr.intervention_levels(Path(a.world))
    secs = time.perf_counter() - t
    levels.to_parquet(a.out)
    Path(a.result).write_text(json.dumps({"seconds": secs, "pupils": len(levels)}))
    return 0


# ---------------------------------------------------------------------------------------------
# The benchmark


def _child(cmd: str, result: Path, *args, env=None, label=None) -> dict:
    proc = run_child(
        [str(Path(__file__).resolve()), cmd, "--result", str(result), *map(str, args)], env=env, label=label or cmd
    )
    proc["process_seconds"] = proc.pop("seconds")  # including interpreter start and imports
    return {**proc, **json.loads(result.read_text())}


def world(workdir: Path, pupils: int, seed: int) -> tuple[Path, dict | None]:
    folder = workdir / f"world_{pupils}_{seed}"
    manifest = folder / "_synthetic" / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        if m.get("pupils") == pupils and m.get("seed") == seed:
            return folder, None  # reused: not timed
    shutil.rmtree(folder, ignore_errors=True)
    gen = _child(
        "generate",
        workdir / f"generate_{pupils}.json",
        "--out",
        folder,
        "--pupils",
        pupils,
        "--seed",
        seed,
        label="generator",
    )
    return folder, gen


def materialise(
    workdir: Path,
    folder: Path,
    tag: str,
    executor: str,
    max_concurrent: int,
    upstream_of: str | None = None,
    exclude_groups: str | None = None,
) -> dict:
    warehouse = workdir / f"warehouse_{tag}"
    shutil.rmtree(warehouse, ignore_errors=True)
    extra = ["--upstream-of", upstream_of] if upstream_of else []
    extra += ["--exclude-groups", exclude_groups] if exclude_groups else []
    return _child(
        "materialise",
        workdir / f"materialise_{tag}.json",
        "--world",
        folder,
        "--warehouse",
        warehouse,
        "--executor",
        executor,
        "--max-concurrent",
        max_concurrent,
        *extra,
        label="materialisation",
    ) | {"warehouse": str(warehouse)}


# ---------------------------------------------------------------------------------------------
# Peers: what a researcher would run instead (peer_duckdb.py, peer_dplyr.R), on the same files

PEERS = ("duckdb", "dplyr")


def dplyr_unavailable() -> str | None:
    """Why the dplyr peer cannot run here, or None when it can."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript is not on PATH (install R with the readr and dplyr packages to run it)"
    probe = subprocess.run(
        [rscript, "-e", "suppressPackageStartupMessages({library(readr); library(dplyr)})"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"Rscript is on PATH but readr or dplyr does not load ({last})"
    return None


def run_peer(peer: str, folder: Path, out_dir: Path) -> dict:
    """Run one peer as a researcher would (its own command line, its own process); wall seconds of
    the whole process (interpreter or R start, library loading, reading, computing, writing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if peer == "duckdb":
        out = out_dir / "duckdb_levels.parquet"
        program, args = None, [str(HERE / "peer_duckdb.py"), str(folder), str(out)]
    else:
        out = out_dir / "dplyr_levels.csv"
        program, args = shutil.which("Rscript"), [str(HERE / "peer_dplyr.R"), str(folder), str(out)]
    log = out_dir / f"{peer}.log"
    with open(log, "w") as fh:
        res = run_child(args, label=f"{peer} peer", program=program, stdout=fh)
    found = re.search(r"([0-9.]+) s wall", log.read_text())  # the script's own timing, after start-up
    return {**res, "script_seconds": float(found.group(1)) if found else None, "output": str(out)}


def peer_agreement(ours_path: Path, peer_path: Path) -> dict:
    """Share of spine pupils (the rows of our intervention_level) given the same level by the peer,
    and the disagreements counted by (ours, peer) level pair; '(missing)' = pupil not in the peer's
    output. Also the peer's rows for pupils we do not have, and its repeated pupils."""
    import duckdb

    con = duckdb.connect()

    def q(p):  # a path as an SQL string literal
        return str(p).replace("'", "''")

    peer_src = (
        f"read_parquet('{q(peer_path)}')"
        if str(peer_path).endswith(".parquet")
        else f"read_csv('{q(peer_path)}', header = true, all_varchar = true)"
    )
    con.execute(
        f"CREATE TEMP VIEW ours AS SELECT CAST(pupil_id AS VARCHAR) AS pupil_id, "
        f"CAST(level AS VARCHAR) AS level FROM read_parquet('{q(ours_path)}')"
    )
    con.execute(
        f"CREATE TEMP VIEW peer AS SELECT CAST(pupil_id AS VARCHAR) AS pupil_id, "
        f"CAST(level AS VARCHAR) AS level FROM {peer_src}"
    )
    pairs = con.execute(
        "SELECT ours.level, COALESCE(p.level, '(missing)') AS peer_level, count(*) FROM ours "
        "LEFT JOIN (SELECT pupil_id, any_value(level) AS level FROM peer GROUP BY 1) p "
        "USING (pupil_id) GROUP BY ALL ORDER BY 3 DESC"
    ).fetchall()
    peer_rows, peer_pupils = con.execute("SELECT count(*), count(DISTINCT pupil_id) FROM peer").fetchone()
    extra = con.execute("SELECT count(*) FROM peer ANTI JOIN ours USING (pupil_id)").fetchone()[0]
    con.close()
    pupils = sum(n for _, _, n in pairs)
    agree = sum(n for o, p, n in pairs if o == p)
    return {
        "pupils": pupils,
        "agree": agree,
        "agreement_pct": 100 * agree / pupils if pupils else float("nan"),
        "disagreements": {f"{o} -> {p}": n for o, p, n in pairs if o != p},
        "peer_rows": peer_rows,
        "peer_repeated_rows": peer_rows - peer_pupils,
        "peer_pupils_not_ours": extra,
    }


def compare_peers(
    workdir: Path, folder: Path, pupils: int, path: dict, peers: list[str], dplyr_skip: str | None
) -> dict:
    """The peers on one world, against our CSV -> intervention_level path `path` on the same world."""
    ours_levels = Path(path["warehouse"]) / "current" / "intervention_level.parquet"
    out: dict = {
        "pupils": pupils,
        "pipeline_path": path,
        "pipeline_path_seconds": path["seconds"] + path["import_seconds"],
    }
    for peer in peers:
        if peer == "dplyr" and dplyr_skip:
            out["dplyr"] = {"skipped": dplyr_skip}
            print(f"dplyr peer skipped at {pupils:,} pupils: {dplyr_skip}", flush=True)
            continue
        try:
            res = run_peer(peer, folder, workdir / f"peer_{pupils}")
        except SystemExit as e:  # a peer that fails (e.g. out of memory) is reported, not fatal
            out[peer] = {"skipped": f"failed: {e}"}
            print(f"{peer} peer failed at {pupils:,} pupils: {e}", flush=True)
            continue
        res["agreement"] = peer_agreement(ours_levels, Path(res["output"]))
        out[peer] = res
        print(
            f"{peer} peer at {pupils:,} pupils: {res['seconds']:.2f}s, levels agree with ours for "
            f"{_pct(res['agreement']['agree'], res['agreement']['pupils'])} of spine pupils",
            flush=True,
        )
    # What persisting the path's tables costs with no computing (its tables read whole and
    # written once, as the pipeline writes them): the part of the path no query engine removes
    # while every step is stored.
    out["path_storage_floor"] = st = _child(
        "storage",
        workdir / f"path_storage_{pupils}.json",
        "--warehouse",
        path["warehouse"],
        "--world",
        folder,
        "--out",
        workdir / f"path_storage_{pupils}",
        label="path storage floor",
    )
    shutil.rmtree(workdir / f"path_storage_{pupils}", ignore_errors=True)
    out["path_required_floor"] = floor = path_required_floor(path, st)
    if "seconds" in out.get("duckdb", {}):
        out["ratio_pipeline_to_duckdb"] = out["pipeline_path_seconds"] / out["duckdb"]["seconds"]
        floor["targets"]["within_3x_duckdb"] = _target(3 * out["duckdb"]["seconds"], floor)
    if "seconds" in out.get("dplyr", {}):
        out["ratio_dplyr_to_pipeline"] = out["dplyr"]["seconds"] / out["pipeline_path_seconds"]
        floor["targets"]["10x_faster_than_dplyr"] = _target(out["dplyr"]["seconds"] / 10, floor)
    shutil.rmtree(workdir / f"peer_{pupils}", ignore_errors=True)
    return out


def path_required_floor(path: dict, storage: dict) -> dict:
    """The least wall time any run of the path could take on this machine while doing what it
    must (issue 19: every row validated, every step stored), with no computing at all: importing
    the code location (nothing runs before it), then reading the path's delivered CSVs, writing
    its stored tables once (not reading them back: a run could hand them over in memory) and the
    pandera validation of every row, timed in the run itself, as if those were split perfectly
    over every core. Each of those is at least its wall time divided by the cores, so this is
    a lower bound on the path's wall time."""
    cores = os.cpu_count() or 1
    work = {
        "csv_read_seconds": storage["csv_read_seconds"],
        "write_seconds": storage["write_seconds"],
        "validation_seconds": path["checks"]["validation_seconds"],
    }
    return {
        "import_seconds": path["import_seconds"],
        **work,
        "cores": cores,
        "seconds": path["import_seconds"] + sum(work.values()) / cores,
        "targets": {},
    }


def _target(allowed: float, floor: dict) -> dict:
    """A target's allowance against the path's required floor: what is left for every computing
    step (typing, quarantine, joins, summaries, Dagster's run machinery), or ruled out."""
    return {
        "allowed_seconds": allowed,
        "left_for_computing": allowed - floor["seconds"],
        "ruled_out": floor["seconds"] > allowed,
    }


def _pct(agree: int, pupils: int) -> str:
    """A share that reads 100% only when it is exactly 100% (rounded down, never up)."""
    if not pupils:
        return "-"
    return "100.000%" if agree == pupils else f"{int(1e6 * agree / pupils) / 1e4:.4f}%"


def report_peers(c: dict) -> None:
    p = c["pipeline_path"]
    print(
        f"\nPeers at {c['pupils']:,} pupils: delivered CSVs -> intervention level per spine pupil "
        "(wall seconds of each; ours includes importing the code location, the peers their "
        "interpreter start and library loading; CPU s = user + system of the process)"
    )
    rows = [
        [
            f"pipeline, CSV -> intervention_level ({len(p['steps'])} steps, incl. {p['import_seconds']:.1f}s import)",
            f"{c['pipeline_path_seconds']:.2f}",
            f"{p['cpu_seconds']:.1f}",
            f"{p['peak_tree_rss_gib']:.2f}",
            "",
            "",
        ]
    ]
    names = {"duckdb": "DuckDB peer (peer_duckdb.py, one query)", "dplyr": "dplyr peer (peer_dplyr.R, readr + dplyr)"}
    for peer in PEERS:
        r = c.get(peer)
        if r is None:
            continue
        if "skipped" in r:
            rows.append([names[peer], "skipped", "", "", "", ""])
            continue
        ratio = (
            f"pipeline / DuckDB = {c['ratio_pipeline_to_duckdb']:.1f}"
            if peer == "duckdb"
            else f"dplyr / pipeline = {c['ratio_dplyr_to_pipeline']:.2f}"
        )
        rows.append(
            [
                names[peer],
                f"{r['seconds']:.2f}",
                f"{r['cpu_seconds']:.1f}",
                f"{r['peak_tree_rss_gib']:.2f}",
                ratio,
                _pct(r["agreement"]["agree"], r["agreement"]["pupils"]),
            ]
        )
    print(_fmt_table(rows, ["what", "seconds", "CPU s", "peak RSS GiB", "ratio", "same level as ours"]))
    st = c.get("path_storage_floor")
    if st:
        writes = st["write_seconds"]
        duck = (c.get("duckdb") or {}).get("seconds")
        print(
            f"the path's storage alone (no computing): writing its {st['tables']} stored tables once "
            f"{writes:.2f}s, reading them whole once {st['read_seconds']:.2f}s"
            + (f"; the writes alone = {writes / duck:.1f} x the DuckDB query" if duck else "")
        )
    fl = c.get("path_required_floor")
    if fl:
        print(
            f"the path's required floor (no computing): import {fl['import_seconds']:.2f}s + (reading its "
            f"{len(c['path_storage_floor']['csv_files'])} CSVs {fl['csv_read_seconds']:.2f}s + writing its tables "
            f"{fl['write_seconds']:.2f}s + pandera validation {fl['validation_seconds']:.2f}s) / {fl['cores']} cores "
            f"= {fl['seconds']:.2f}s"
        )
        names = {"within_3x_duckdb": "within 3 x DuckDB", "10x_faster_than_dplyr": "10 x faster than dplyr"}
        for key, t in fl["targets"].items():
            verdict = (
                f"ruled out: the floor alone is {-t['left_for_computing']:.2f}s over"
                if t["ruled_out"]
                else f"{t['left_for_computing']:.2f}s left for all computing and Dagster's run machinery"
            )
            print(f"target {names[key]}: path in at most {t['allowed_seconds']:.2f}s; {verdict}")
    for peer in PEERS:
        if "skipped" in (c.get(peer) or {}):
            print(f"{peer} peer skipped: {c[peer]['skipped']}")
        ag = (c.get(peer) or {}).get("agreement")
        if not ag:
            continue
        print(
            f"{peer} peer: same level for {ag['agree']:,} of {ag['pupils']:,} spine pupils "
            f"({_pct(ag['agree'], ag['pupils'])})"
            + (
                ""
                if not ag["disagreements"]
                else "; disagreements (ours -> peer): "
                + ", ".join(f"{k} {v:,}" for k, v in ag["disagreements"].items())
            )
            + (f"; peer rows for pupils not ours {ag['peer_pupils_not_ours']:,}" if ag["peer_pupils_not_ours"] else "")
            + (f"; peer repeats {ag['peer_repeated_rows']:,} pupils" if ag["peer_repeated_rows"] else "")
        )


def _fmt_table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(r):
        return "  ".join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(r, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def report_pipeline(p: dict, top: int) -> None:
    steps = p["steps"]
    busy = sum(s["seconds"] for s in steps.values())
    rows = []
    for key, s in sorted(steps.items(), key=lambda kv: -kv[1]["seconds"])[:top]:
        compute = s["seconds"] - s["load_inputs"] - s["store_outputs"]
        rss = f"{s['peak_rss_gib']:.2f}" if s.get("peak_rss_gib") is not None else "-"
        rows.append(
            [
                key,
                s.get("group") or "",
                f"{s['seconds']:.1f}",
                f"{s['load_inputs']:.1f}",
                f"{compute:.1f}",
                f"{s['store_outputs']:.1f}",
                rss,
                ", ".join(s["assets"])[:50],
            ]
        )
    print(
        f"\nSlowest {min(top, len(steps))} of {len(steps)} steps (seconds; load = reading inputs, "
        "store = writing outputs; RSS = the run's resident memory during the step"
        + (", of the parent process only" if p.get("executor") == "multiprocess" else "")
        + "):"
    )
    print(_fmt_table(rows, ["step", "group", "total", "load", "compute", "store", "RSS GiB", "assets"]))
    by_group: dict[str, list[float]] = {}
    for s in steps.values():
        g = by_group.setdefault(s.get("group") or "-", [0.0, 0])
        g[0] += s["seconds"]
        g[1] += 1
    print(
        "By asset group: "
        + "; ".join(f"{g} {v[0]:.1f}s ({v[1]} steps)" for g, v in sorted(by_group.items(), key=lambda kv: -kv[1][0]))
    )
    span = (max(s["end"] for s in steps.values()) - min(s["start"] for s in steps.values())) if steps else 0
    print(
        f"steps total {busy:.1f}s; first step start to last step end {span:.1f}s; "
        f"Dagster overhead outside steps {p['seconds'] - span:.1f}s "
        f"(run start/end, event log), plus {p['import_seconds']:.1f}s importing the code location"
    )
    print(
        f"asset checks: {p['checks']['passed']} passed, {p['checks']['failed']} failed "
        f"{p['checks'].get('failed_checks') or ''}"
    )
    failed_steps = [k for k, s in steps.items() if not s["ok"]]
    if failed_steps or not p["success"]:
        print(f"RUN FAILED: steps failed {failed_steps}")


def _sizes(text: str | None, default: list[int]) -> list[int]:
    if text is None:
        sizes = default
    else:
        sizes = [int(x.replace("_", "")) for x in text.split(",") if x.strip() and x.strip() != "0"]
    return list(dict.fromkeys(n for n in sizes if n > 0))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd")
    for name in ("generate", "io_floor", "materialise", "naive", "storage"):
        c = sub.add_parser(name)
        c.add_argument("--result", required=True)
        c.add_argument("--out")
        c.add_argument("--world")
        c.add_argument("--warehouse")
        c.add_argument("--pupils", type=int)
        c.add_argument("--seed", type=int)
        c.add_argument("--executor", default="in_process")
        c.add_argument("--max-concurrent", type=int, default=2)
        c.add_argument("--upstream-of")
        c.add_argument("--exclude-groups")
    ap.add_argument("--pupils", type=int, default=10_000_000, help="spine pupils of the benchmark world")
    ap.add_argument(
        "--naive-pupils",
        type=int,
        default=1_000_000,
        help="spine pupils for the naive-translation comparison (0 to skip)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "mojdfe_bench"))
    ap.add_argument("--executor", choices=["in_process", "multiprocess"], default="in_process")
    ap.add_argument("--max-concurrent", type=int, default=2, help="processes for --executor multiprocess")
    ap.add_argument(
        "--exclude-groups",
        help="comma-separated asset groups not to materialise in the national-"
        "scale run (with everything downstream of them), e.g. to keep a shared machine's memory free",
    )
    ap.add_argument(
        "--naive-path-only",
        action="store_true",
        help="at the naive size, time only our CSV -> intervention_level path, not also the whole graph",
    )
    ap.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="comma-separated peers to time against our CSV -> intervention_level path: duckdb "
        "(benchmarks/peer_duckdb.py), dplyr (benchmarks/peer_dplyr.R, needs Rscript); 'none' for none",
    )
    ap.add_argument(
        "--peer-sizes",
        help="comma-separated spine sizes at which to compare with the peers (default: --pupils and "
        "--naive-pupils); at a size other than --naive-pupils our path is run for the purpose",
    )
    ap.add_argument(
        "--only-peers",
        action="store_true",
        help="run only the peer comparison at --peer-sizes (no I/O floor, whole graph, storage floor "
        "or naive translation)",
    )
    ap.add_argument("--top", type=int, default=10, help="slowest steps to list")
    ap.add_argument("--json", help="also write every figure to this JSON file")
    ap.add_argument("--keep", action="store_true", help="keep the worlds and warehouses (default: delete)")
    a = ap.parse_args(argv)
    if a.cmd:
        return {
            "generate": child_generate,
            "io_floor": child_io_floor,
            "materialise": child_materialise,
            "naive": child_naive,
            "storage": child_storage,
        }[a.cmd](a)

    peers = [p.strip() for p in a.peers.split(",") if p.strip() and p.strip() != "none"]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        ap.error(f"unknown peers {unknown}; choose from {', '.join(PEERS)}")
    peer_sizes = _sizes(a.peer_sizes, [a.pupils] + ([] if a.only_peers else [a.naive_pupils])) if peers else []
    if a.only_peers and not peer_sizes:
        ap.error("--only-peers needs --peers and --peer-sizes")
    dplyr_skip = dplyr_unavailable() if "dplyr" in peers else None
    if dplyr_skip:
        print(f"dplyr peer will be skipped: {dplyr_skip}", flush=True)

    workdir = Path(a.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict = {
        "pupils": a.pupils,
        "naive_pupils": a.naive_pupils,
        "executor": a.executor,
        "cpus": os.cpu_count(),
        "peers": peers,
        "peer_sizes": peer_sizes,
        "only_peers": a.only_peers,
    }
    if dplyr_skip:
        figures["dplyr_skipped"] = dplyr_skip
    comparisons: dict[int, dict] = {}

    def peers_at(pupils: int, nfolder: Path, path: dict) -> None:
        if pupils in peer_sizes and pupils not in comparisons:
            comparisons[pupils] = compare_peers(workdir, nfolder, pupils, path, peers, dplyr_skip)

    if not a.only_peers:
        print(
            f"MoJ-DfE benchmark: {a.pupils:,} pupils, seed {a.seed}, {os.cpu_count()} CPUs, "
            f"executor {a.executor}, workdir {workdir}",
            flush=True,
        )
        pipe, ratio = national(a, workdir, figures)
    else:
        print(
            f"MoJ-DfE benchmark, peers only: {', '.join(peers)} at {', '.join(f'{n:,}' for n in peer_sizes)} "
            f"pupils, seed {a.seed}, {os.cpu_count()} CPUs, executor {a.executor}, workdir {workdir}",
            flush=True,
        )
        pipe = ratio = None

    if a.naive_pupils and not a.only_peers:
        nfolder, ngen = world(workdir, a.naive_pupils, a.seed)
        # Like for like: the naive script goes from the CSVs to the intervention level, so ours is
        # timed on the same path (every asset intervention_level is derived from: raw, clean and
        # quarantine tables, summaries, checks), and on the whole graph for reference.
        ours = materialise(
            workdir, nfolder, "naive_size", a.executor, a.max_concurrent, upstream_of="intervention_level"
        )
        peers_at(a.naive_pupils, nfolder, ours)  # right after our path, on the same world
        ours_all = (
            None if a.naive_path_only else materialise(workdir, nfolder, "naive_size_all", a.executor, a.max_concurrent)
        )
        naive = _child(
            "naive",
            workdir / "naive.json",
            "--world",
            nfolder,
            "--out",
            workdir / "naive_levels.parquet",
            label="naive translation",
        )
        agreement = _agreement(
            workdir / "naive_levels.parquet", Path(ours["warehouse"]) / "current" / "intervention_level.parquet"
        )
        figures["naive"] = {
            "naive": naive,
            "ours": ours,
            "ours_whole_graph": ours_all,
            **agreement,
            "speedup": naive["seconds"] / ours["seconds"],
            "speedup_whole_graph": naive["seconds"] / ours_all["seconds"] if ours_all else None,
        }

    # The peers at the other sizes (the national size unless --peer-sizes says otherwise): our
    # CSV -> intervention_level path, then each peer, on the same world.
    for pupils in peer_sizes:
        if pupils in comparisons:
            continue
        pfolder, pgen = world(workdir, pupils, a.seed)
        if pgen:
            print(f"generated {pupils:,}-pupil world in {pgen['seconds']:.1f}s", flush=True)
        path = materialise(
            workdir, pfolder, f"path_{pupils}", a.executor, a.max_concurrent, upstream_of="intervention_level"
        )
        peers_at(pupils, pfolder, path)
    if comparisons:
        figures["peer_comparison"] = {str(k): v for k, v in comparisons.items()}

    print("\nSummary")
    if not a.only_peers:
        summary(a, figures, pipe, ratio)
    for pupils in sorted(peer_sizes):
        report_peers(comparisons[pupils])
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2, default=str))
    if not a.keep:
        for p in workdir.glob("world_*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in workdir.glob("warehouse_*"):
            shutil.rmtree(p, ignore_errors=True)
    # Exit status: did every step run? Failed asset checks are printed above (a check may fail on a
    # tiny world for statistical reasons; the benchmark measures speed, `mojdfe run` gates data).
    runs = ([pipe] if pipe else []) + [c["pipeline_path"] for c in comparisons.values()]
    return 0 if all(r["success"] for r in runs) else 1


def national(a, workdir: Path, figures: dict) -> tuple[dict, float]:
    """Generation, the I/O floor, the whole graph and the storage / required floors at --pupils."""
    folder, gen = world(workdir, a.pupils, a.seed)
    manifest = json.loads((folder / "_synthetic" / "manifest.json").read_text())
    figures["rows"] = manifest["rows"]
    if gen:
        figures["generate"] = gen
        print(f"generated world in {gen['seconds']:.1f}s, peak RSS {gen['peak_tree_rss_gib']:.2f} GiB", flush=True)
    else:
        print(f"reused world {folder}", flush=True)
    csv_gib = sum((folder / f).stat().st_size for f in manifest["files"]) / 2**30
    print(
        "rows: " + ", ".join(f"{k} {v:,}" for k, v in manifest["rows"].items()) + f"; CSV {csv_gib:.2f} GiB", flush=True
    )

    floor = _child(
        "io_floor", workdir / "io_floor.json", "--world", folder, "--out", workdir / "io_floor", label="I/O floor"
    )
    shutil.rmtree(workdir / "io_floor", ignore_errors=True)
    figures["io_floor"] = floor
    print(f"I/O floor (pyarrow CSV read + Parquet write of every extract): {floor['seconds']:.1f}s", flush=True)

    pipe = materialise(workdir, folder, "national", a.executor, a.max_concurrent, exclude_groups=a.exclude_groups)
    if a.exclude_groups:
        print(f"(asset groups not materialised in this run: {a.exclude_groups}, and their downstream assets)")
    figures["pipeline"] = pipe
    report_pipeline(pipe, a.top)
    ratio = pipe["seconds"] / floor["seconds"]
    figures["ratio_pipeline_to_io_floor"] = ratio
    # What storing this graph costs with no computing: every stored table read once and written
    # once. A design that persists these tables cannot be faster than this.
    storage = _child(
        "storage",
        workdir / "storage.json",
        "--warehouse",
        pipe["warehouse"],
        "--out",
        workdir / "storage",
        label="storage floor",
    )
    shutil.rmtree(workdir / "storage", ignore_errors=True)
    figures["storage_floor"] = storage
    steps = pipe["steps"].values()
    io_in_steps = sum(s["load_inputs"] + s["store_outputs"] for s in steps)
    figures["pipeline_load_store_seconds"] = io_in_steps
    print(
        f"storage floor (read and rewrite each of the {storage['tables']} stored tables once, "
        f"{storage['in_memory_gib']:.1f} GiB in memory): {storage['seconds']:.1f}s = "
        f"{storage['seconds'] / floor['seconds']:.2f} x the I/O floor; the run's own loading and storing: "
        f"{io_in_steps:.1f}s",
        flush=True,
    )
    # What the graph's requirements cost with no computing at all: reading the delivered CSVs
    # (the I/O floor's own reading), writing every stored table once (the storage floor without
    # its reads: a run could in principle hand tables over in memory), and pandera validation of
    # every row of every schema-checked table (timed by the checks in this run).
    csv_read = sum(f["read"] for f in floor["files"].values())
    writes = storage["write_seconds"]
    validation = pipe["checks"]["validation_seconds"]
    required = csv_read + writes + validation
    figures["required_floor"] = {
        "csv_read_seconds": csv_read,
        "write_seconds": writes,
        "validation_seconds": validation,
        "seconds": required,
        "validated_tables": pipe["checks"]["validated_tables"],
        "ratio_to_io_floor": required / floor["seconds"],
    }
    print(
        f"required floor (no computing): CSV read {csv_read:.1f}s + writing the {storage['tables']} stored tables "
        f"{writes:.1f}s + pandera validation of {pipe['checks']['validated_tables']} tables in the run "
        f"{validation:.1f}s = {required:.1f}s = {required / floor['seconds']:.2f} x the I/O floor",
        flush=True,
    )
    return pipe, ratio


def summary(a, figures: dict, pipe: dict, ratio: float) -> None:
    gen, floor, storage = figures.get("generate"), figures["io_floor"], figures["storage_floor"]
    required = figures["required_floor"]["seconds"]
    rows = []
    if gen:
        rows.append(["generation (world, CSV)", f"{gen['seconds']:.1f}", f"{gen['peak_tree_rss_gib']:.2f}", ""])
    rows.append(
        ["I/O floor (read CSV, write Parquet)", f"{floor['seconds']:.1f}", f"{floor['peak_tree_rss_gib']:.2f}", ""]
    )
    rows.append(
        [
            "pipeline end to end",
            f"{pipe['seconds']:.1f}",
            f"{pipe['peak_tree_rss_gib']:.2f}",
            f"ratio pipeline / I/O floor = {ratio:.2f}",
        ]
    )
    rows.append(
        [
            "storage floor (stored tables read + rewritten once)",
            f"{storage['seconds']:.1f}",
            f"{storage['peak_tree_rss_gib']:.2f}",
            f"{storage['seconds'] / floor['seconds']:.2f} x I/O floor",
        ]
    )
    rows.append(
        [
            "required floor (CSV read + table writes + validation)",
            f"{required:.1f}",
            "",
            f"{required / floor['seconds']:.2f} x I/O floor",
        ]
    )
    if a.naive_pupils:
        n = figures["naive"]
        rows.append(
            [
                f"naive dplyr translation ({a.naive_pupils:,} pupils)",
                f"{n['naive']['seconds']:.1f}",
                f"{n['naive']['peak_tree_rss_gib']:.2f}",
                "",
            ]
        )
        rows.append(
            [
                f"ours, CSV -> intervention_level ({len(n['ours']['steps'])} steps)",
                f"{n['ours']['seconds']:.1f}",
                f"{n['ours']['peak_tree_rss_gib']:.2f}",
                f"speed-up {n['speedup']:.1f}x; level agreement {n['agreement_pct']:.3f}%",
            ]
        )
        if n["ours_whole_graph"]:
            rows.append(
                [
                    f"ours, whole graph ({len(n['ours_whole_graph']['steps'])} steps)",
                    f"{n['ours_whole_graph']['seconds']:.1f}",
                    f"{n['ours_whole_graph']['peak_tree_rss_gib']:.2f}",
                    f"speed-up {n['speedup_whole_graph']:.1f}x",
                ]
            )
    print(_fmt_table(rows, ["what", "seconds", "peak RSS GiB", ""]))
    print(f"ratio pipeline / I/O floor: {ratio:.2f}")
    print(
        f"peak RSS of the whole run: {pipe['peak_tree_rss_gib']:.2f} GiB "
        f"(largest single process {pipe['peak_process_rss_gib']:.2f} GiB)"
    )
    if a.naive_pupils:
        whole = figures["naive"]["speedup_whole_graph"]
        print(
            f"speed-up over the naive translation: {figures['naive']['speedup']:.1f}x, CSV to intervention "
            "level" + (f" ({whole:.1f}x counting every asset of the graph)" if whole else "") + " "
            f"(intervention levels agree for {figures['naive']['agreement_pct']:.3f}% of "
            f"{figures['naive']['pupils']:,} pupils)"
        )


def _agreement(naive_path: Path, ours_path: Path) -> dict:
    import pandas as pd

    naive = pd.read_parquet(naive_path)
    ours = pd.read_parquet(ours_path, columns=["pupil_id", "level"])
    m = ours.merge(naive, on="pupil_id", how="outer", suffixes=("", "_naive"), indicator=True)
    same = (m["_merge"] == "both") & (m["level"].astype(str) == m["level_naive"].astype(str))
    return {"pupils": int(len(m)), "agree": int(same.sum()), "agreement_pct": 100 * float(same.mean())}


if __name__ == "__main__":
    sys.exit(main())

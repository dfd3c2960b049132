"""Runs killed mid-write leave the published warehouse intact; reruns give identical bytes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap

from mojdfe_assets import synthetic
from mojdfe_assets.clean import clean_asset_defs
from mojdfe_assets.definitions import all_assets
from mojdfe_assets.resources import read_parquet
from mojdfe_assets.sources import raw_assets
from mojdfe_assets.warehouse import Warehouse
from mojdfe_assets_tests.worlds import run_graph

KILLED_RUN = textwrap.dedent("""
    import sys, time
    import dagster as dg
    import pyarrow.parquet as pq
    from mojdfe_assets import resources
    from mojdfe_assets.rules import CleaningRules
    from mojdfe_assets.clean import clean_asset_defs
    from mojdfe_assets.sources import raw_assets

    real_write = pq.write_table
    def slow_write(table, where, **kw):
        if ".cla_clean.parquet." in str(where):  # the temporary file of cla_clean
            with open(where, "wb") as fh:
                fh.write(b"PAR1 half a file")
                fh.flush()
            print("WRITING", flush=True)
            time.sleep(120)
        return real_write(table, where, **kw)
    resources.pq.write_table = slow_write
    dg.materialize([*raw_assets, *clean_asset_defs], resources={
        "raw_extracts": resources.RawExtracts(folder=sys.argv[1], synthetic=False),
        "io_manager": resources.ParquetIOManager(base_dir=sys.argv[2]), "cleaning_rules": CleaningRules()})
""")


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def view(folder):
    """What a reader sees: every published file and its content hash."""
    return {p.name: sha(p) for p in sorted(folder.iterdir()) if p.is_file()}


def test_killed_run_leaves_the_published_view_and_rerun_publishes(tmp_path):
    old, new, wh = tmp_path / "old", tmp_path / "new", tmp_path / "wh"
    synthetic.generate(old, pupils=800, seed=1)
    synthetic.generate(new, pupils=900, seed=2)
    result, current = run_graph([*raw_assets, *clean_asset_defs], old, wh)
    assert result.success
    before = view(current)
    target = current / "cla_clean.parquet"

    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(new), str(wh)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "DAGSTER_HOME": ""},
    )
    try:
        for line in proc.stdout:
            if line.startswith("WRITING"):
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    # the half-written file is in the killed run's own folder; nothing a reader sees changed
    assert list(wh.glob("runs/*/.cla_clean.parquet.*.tmp"))
    assert Warehouse(wh).current == current and view(current) == before
    assert len(read_parquet(target)) > 0  # still a readable table: the previous good one

    result, current_after = run_graph([*raw_assets, *clean_asset_defs], new, wh)
    assert result.success and current_after != current
    assert view(current_after)["cla_clean.parquet"] != before["cla_clean.parquet"]
    assert not list(current_after.glob(".*.tmp"))


def test_rerun_gives_identical_outputs(tmp_path):
    raw = tmp_path / "raw"
    synthetic.generate(raw, pupils=1_500, seed=9)
    (_, a), (_, b) = run_graph(all_assets, raw, tmp_path / "a"), run_graph(all_assets, raw, tmp_path / "b")
    a = {p.name: sha(p) for p in a.glob("*.parquet")}
    b = {p.name: sha(p) for p in b.glob("*.parquet")}
    assert len(a) >= 20 and a == b

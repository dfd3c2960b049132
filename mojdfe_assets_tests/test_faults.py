"""Runs killed mid-write leave the previous table intact; reruns give identical bytes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap

import dagster as dg

from mojdfe_assets import synthetic
from mojdfe_assets.clean import clean_asset_defs
from mojdfe_assets.definitions import all_assets
from mojdfe_assets.resources import ParquetIOManager, RawExtracts, read_parquet
from mojdfe_assets.rules import CleaningRules
from mojdfe_assets.sources import raw_assets

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


def materialize(assets, raw, wh):
    return dg.materialize(assets, resources={"raw_extracts": RawExtracts(folder=str(raw), synthetic=False),
                                             "io_manager": ParquetIOManager(base_dir=str(wh)), "cleaning_rules": CleaningRules()})


def test_killed_write_leaves_previous_table_and_rerun_succeeds(tmp_path):
    old, new, wh = tmp_path / "old", tmp_path / "new", tmp_path / "wh"
    synthetic.generate(old, pupils=800, seed=1)
    synthetic.generate(new, pupils=900, seed=2)
    assert materialize([*raw_assets, *clean_asset_defs], old, wh).success
    target = wh / "cla_clean.parquet"
    before = sha(target)

    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(new), str(wh)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, "DAGSTER_HOME": ""})
    try:
        for line in proc.stdout:
            if line.startswith("WRITING"):
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert list(wh.glob(".cla_clean.parquet.*.tmp"))  # the half-written file never replaced the table
    assert sha(target) == before
    assert len(read_parquet(target)) > 0  # still a readable table: the previous good one

    assert materialize([*raw_assets, *clean_asset_defs], new, wh).success
    assert sha(target) != before and not list(wh.glob(".*.tmp"))


def test_rerun_gives_identical_outputs(tmp_path):
    raw = tmp_path / "raw"
    synthetic.generate(raw, pupils=1_500, seed=9)
    assert materialize(all_assets, raw, tmp_path / "a").success
    assert materialize(all_assets, raw, tmp_path / "b").success
    a = {p.name: sha(p) for p in (tmp_path / "a").glob("*.parquet")}
    b = {p.name: sha(p) for p in (tmp_path / "b").glob("*.parquet")}
    assert len(a) >= 20 and a == b

"""Safe runs: delivered extracts are never written to, a failed run never changes what readers see,
and every table traces to the exact delivery it derives from."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import dagster as dg
import pandas as pd
import pytest

from mojdfe_assets import extracts as X
from mojdfe_assets import synthetic
from mojdfe_assets.definitions import all_assets
from mojdfe_assets.resources import ParquetIOManager, RawExtracts
from mojdfe_assets.warehouse import Warehouse
from mojdfe_assets_tests.worlds import run_graph


def view(folder):
    """What a reader of the warehouse sees: every published file and its content hash."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A world and a warehouse with one complete published run."""
    base = tmp_path_factory.mktemp("warehouse")
    raw = base / "raw"
    synthetic.generate(raw, pupils=1_200, seed=5)
    result, current = run_graph(all_assets, raw, base / "wh")
    assert result.success
    return raw, base / "wh", view(current)


def copy_world(raw, folder, drop=None):
    folder.mkdir()
    for f in raw.glob("*.csv"):
        if f.name != drop:
            shutil.copy(f, folder / f.name)
    return folder


@dg.asset
def fails_late(intervention_level: pd.DataFrame) -> pd.DataFrame:
    """A step that fails after most of the graph has run (and written its tables)."""
    raise RuntimeError("simulated failure late in the run")


@pytest.mark.parametrize("point", ["spine_missing", "late_step"])
def test_a_failed_run_leaves_readers_the_previous_complete_run(published, tmp_path, point):
    raw, wh, before = published
    snapshot = Warehouse(wh).current
    if point == "spine_missing":  # fails in the sources stage, after other raw and clean tables were written
        result, _ = run_graph(all_assets, copy_world(raw, tmp_path / "w", drop=X.SPINE.file), wh, raise_on_error=False)
    else:
        result, _ = run_graph([*all_assets, fails_late], raw, wh, raise_on_error=False)
    assert not result.success
    written = list((wh / "runs" / result.run_id).glob("*.parquet"))
    assert len(written) >= 10  # the failed run did write tables, into its own folder only
    assert Warehouse(wh).current == snapshot and view(snapshot) == before


def test_a_successful_run_is_published_whole_and_old_snapshots_survive(published, tmp_path):
    raw, wh, before = published
    w = Warehouse(wh)
    old = w.current
    old_table = old / "intervention_level.parquet"
    second = copy_world(raw, tmp_path / "w2")
    (second / X.LA_CONTEXT.file).write_text((raw / X.LA_CONTEXT.file).read_text().replace(",0.1", ",0.11", 1))
    result, new = run_graph(all_assets, second, wh)
    assert result.success and new != old
    manifest = json.loads((new / "_snapshot.json").read_text())
    assert manifest["latest_run"] == result.run_id
    assert {t["run_id"] for t in manifest["tables"].values()} == {result.run_id}  # every table from this run
    assert set(view(new)) == set(before)
    assert view(new)["la_context_raw.parquet"] != before["la_context_raw.parquet"]
    assert old_table.exists() and len(pd.read_parquet(old_table)) == 1_200  # a reader of the old one is fine
    # publishing the same run again changes nothing
    assert ParquetIOManager(base_dir=str(wh)).publish([result.run_id]) is None and w.current == new


def test_a_subset_run_overlays_the_previous_snapshot_and_retention_keeps_three(published, tmp_path):
    raw, wh, _ = published
    w = Warehouse(wh)
    for _ in range(3):
        before = view(w.current)
        result, current = run_graph(all_assets, raw, wh, selection="national_comparison")
        assert result.success
        after = view(current)
        assert set(after) == set(before)
        changed = ("national_comparison.parquet", "_snapshot.json", "_snapshot.tsv")
        assert all(after[k] == before[k] for k in after if k not in changed)
    assert len(list((wh / "snapshots").iterdir())) == 3
    assert len(list((wh / "runs").iterdir())) <= 5


def test_a_snapshot_lists_its_tables_as_tsv_for_r_and_stata(tmp_path):
    """`_snapshot.tsv` holds the manifest's tables (rows, run, written, bytes) as plain text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    w = Warehouse(tmp_path / "wh")
    for run_id, rows in (("run-a", 3), ("run-b", 5)):
        w.run_dir(run_id).mkdir(parents=True)
        pq.write_table(pa.table({"x": list(range(rows))}), w.run_dir(run_id) / f"t_{run_id[-1]}.parquet")
    (w.run_dir("run-b") / "chart.png").write_bytes(b"png")
    w.publish(["run-a"])
    snap = w.publish(["run-b"])
    manifest = json.loads((snap / "_snapshot.json").read_text())
    tsv = pd.read_csv(snap / "_snapshot.tsv", sep="\t", dtype={"run_id": str})
    assert list(tsv.columns) == ["table", "rows", "run_id", "written", "bytes"]
    assert tsv["table"].tolist() == ["chart", "t_a", "t_b"] == list(manifest["tables"])
    for r in tsv.itertuples():
        entry = manifest["tables"][r.table]
        assert (r.run_id, r.written, r.bytes) == (entry["run_id"], entry["written"], entry["bytes"])
        assert pd.isna(r.rows) if r.table == "chart" else r.rows == entry["rows"]
    assert tsv.set_index("table").loc["t_a", "run_id"] == "run-a"  # carried over from the previous snapshot


def test_generation_never_writes_into_a_folder_of_delivered_extracts(tmp_path):
    delivered = tmp_path / "srs"
    delivered.mkdir()
    (delivered / X.CLA.file).write_text("MoJUID,CLA_ACADYR\nM1,2010/2011\n")
    before = view(delivered)
    resource = RawExtracts(folder=str(delivered), synthetic=True)
    with pytest.raises(synthetic.SyntheticFolderError, match=rf"{delivered}.*CLA_2006_to_2018\.csv.*synthetic: false"):
        resource.path(X.CLA.file)
    cli = subprocess.run(
        [sys.executable, "-m", "mojdfe_assets.cli", "synth", "--pupils", "200", "--out", str(delivered)],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2 and "CLA_2006_to_2018.csv" in cli.stderr and "Traceback" not in cli.stderr
    assert view(delivered) == before and sorted(p.name for p in delivered.iterdir()) == [X.CLA.file]
    # an empty folder, and a folder the generator made, are fine
    empty = tmp_path / "empty"
    empty.mkdir()
    RawExtracts(folder=str(empty), synthetic=True, synthetic_pupils=200).path(X.CLA.file)
    RawExtracts(folder=str(empty), synthetic=True, synthetic_pupils=300).path(X.CLA.file)  # regenerated: it owns it


def test_config_fields_are_described_for_the_launchpad():
    import mojdfe_assets.definitions  # noqa: F401  (every resource and run config class is defined)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    configs = {
        c
        for base in (dg.Config, dg.ConfigurableResource, dg.ConfigurableIOManager)
        for c in subclasses(base)
        if c.__module__.startswith("mojdfe_assets")
    }
    assert {RawExtracts, ParquetIOManager} <= configs and len(configs) >= 8
    for config in configs:
        for name, field in config.model_fields.items():
            assert field.description and len(field.description) > 20, f"{config.__name__}.{name}"


def test_raw_materialisations_carry_the_delivery_as_data_version(published, tmp_path):
    raw, wh, _ = published
    instance = dg.DagsterInstance.ephemeral()
    result, current = run_graph(
        [a for a in all_assets if a.node_def.name == "cla_raw"], raw, tmp_path / "wh", instance=instance
    )
    sha = hashlib.sha256((raw / X.CLA.file).read_bytes()).hexdigest()
    mat = result.get_asset_materialization_events()[0].step_materialization_data.materialization
    assert mat.metadata["delivery sha256"].value == sha
    assert mat.tags["dagster/data_version"] == sha
    manifest = json.loads((current / "_snapshot.json").read_text())
    assert manifest["deliveries"]["cla_raw"]["sha256"] == sha
    # a changed delivery is a new data version
    changed = copy_world(raw, tmp_path / "changed")
    (changed / X.CLA.file).write_text(
        (raw / X.CLA.file).read_text() + (raw / X.CLA.file).read_text().splitlines()[1] + "\n"
    )
    result2, _ = run_graph(
        [a for a in all_assets if a.node_def.name == "cla_raw"], changed, tmp_path / "wh", instance=instance
    )
    mat2 = result2.get_asset_materialization_events()[0].step_materialization_data.materialization
    assert mat2.tags["dagster/data_version"] != sha

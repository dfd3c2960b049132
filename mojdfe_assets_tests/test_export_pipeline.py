"""The whole graph with the for-export assets, materialised and published on the small synthetic
world: the output-checking request is written into the run's folder, published with the run's
snapshot, lists every for-export output with its status, and nothing fails."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from mojdfe_assets import governance
from mojdfe_assets.definitions import all_assets
from mojdfe_assets.disclosure import DisclosureRules
from mojdfe_assets.exports import REQUEST, REQUEST_OUTPUTS, request_matches_outputs
from mojdfe_assets.resources import read_parquet
from mojdfe_assets.warehouse import Warehouse
from mojdfe_assets_tests.worlds import run_graph


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def published(small_world, tmp_path_factory):
    raw, _ = small_world
    wh = tmp_path_factory.mktemp("exports") / "wh"
    delivered = digests(raw)
    result, current = run_graph(all_assets, raw, wh)
    assert result.success
    assert digests(raw) == delivered  # delivered files are only read
    return result, wh, current


def test_pipeline_writes_the_output_checking_request(published):
    result, wh, current = published
    evals = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    for key in (
        ("la_aggregates_publishable", "disclosure_control"),
        ("la_aggregates_publishable", "no_cell_recoverable_across_tables"),
        ("region_aggregates_publishable", "disclosure_control"),
        ("intervention_outcome_summary_export", "disclosure_control"),
        ("intervention_outcome_models_export", "disclosure_control"),
        (REQUEST, "every_output_passes"),
        (REQUEST, "lists_every_for_export_output"),
        (REQUEST, "matches_the_stored_outputs"),
    ):
        assert evals[key].passed, key
    # Written into the run's folder only, and published with the run's snapshot.
    assert {p.name for p in wh.iterdir()} == {"runs", "snapshots", "current", "CURRENT"}
    assert (wh / "runs" / result.run_id / REQUEST / "results.json").exists()
    request = current / REQUEST
    manifest = json.loads((current / "_snapshot.json").read_text())
    assert manifest["folders"][REQUEST]["run_id"] == result.run_id
    assert manifest["folders"][REQUEST]["files"] == len([p for p in request.rglob("*") if p.is_file()])
    doc = json.loads((request / "results.json").read_text())
    expected = set(governance.for_export(all_assets)) - {REQUEST}
    assert set(doc["results"]) == expected == set(REQUEST_OUTPUTS)
    index = read_parquet(current / f"{REQUEST}.parquet")
    assert set(index["uid"]) == expected and set(index["status"]) <= {"pass", "review"}
    for r in doc["results"].values():
        assert r["status"] in ("pass", "review") and r["checks"]
        f = r["files"][0]
        data = (request / f["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] == index.set_index("uid").loc[r["uid"], "sha256"]
        assert (request / "checksums" / f"{f['name']}.txt").read_text() == f["sha256"]
        if f["name"].endswith(".png"):  # the published chart, byte for byte
            assert data == (current / f["name"]).read_bytes()
            assert r["status"] == "review"  # charts are for the checker to view, as ACRO's custom outputs
        else:  # the published table, as CSV
            stored = read_parquet(current / f"{r['uid']}.parquet")
            written = pd.read_csv(request / f["name"], keep_default_na=True)
            assert list(written.columns) == list(stored.columns) and len(written) == len(stored)
    assert index["acro"].notna().sum() == 3  # ACRO's verdict on the three tables' pupil rows


def test_rerun_without_acro_publishes_a_new_request(published, small_world):
    """The request alone (run config run_acro: false), its inputs read from the published tables:
    a new snapshot whose request has no ACRO verdict, every other check still applied."""
    _, wh, before = published
    old = json.loads((before / REQUEST / "results.json").read_text())
    result, current = run_graph(
        all_assets,
        small_world[0],
        wh,
        selection=[REQUEST],
        run_config={"ops": {REQUEST: {"config": {"run_acro": False}}}},
    )
    assert result.success and current != before
    (mat,) = [m.step_materialization_data.materialization for m in result.get_asset_materialization_events()]
    assert not mat.metadata["acro_run"].value and "acro" not in mat.metadata["seconds"].value
    doc = json.loads((current / REQUEST / "results.json").read_text())
    assert set(doc["results"]) == set(old["results"])
    for uid, r in doc["results"].items():
        assert r["acro"] is None and r["status"] == old["results"][uid]["status"]
        assert [c["name"] for c in r["checks"]] == [
            c["name"] for c in old["results"][uid]["checks"] if c["name"] != "AcroAgreementCheck"
        ]
    assert Warehouse(wh).manifest()["folders"][REQUEST]["run_id"] == result.run_id
    assert read_parquet(current / f"{REQUEST}.parquet")["acro"].isna().all()


def test_a_table_published_after_the_request_makes_it_stale(published, small_world):
    """A later run of the LA tables alone (here with zeros suppressed) publishes them over the
    request's snapshot: the request's check on the stored outputs (as `mojdfe check` runs it) then
    names the outputs whose files are no longer what is published."""
    _, wh, before = published

    def stored(current):
        names = [REQUEST, *REQUEST_OUTPUTS]
        return {
            n: (current / f"{n}.png").read_bytes()
            if (current / f"{n}.png").exists()
            else read_parquet(current / f"{n}.parquet")
            for n in names
        }

    assert request_matches_outputs(stored(before)).passed
    result, current = run_graph(
        all_assets,
        small_world[0],
        wh,
        disclosure=DisclosureRules(zeros="suppress"),
        selection=["la_aggregates_publishable", "region_aggregates_publishable"],
    )
    assert result.success and current != before
    assert not read_parquet(current / "la_aggregates_publishable.parquet").equals(
        read_parquet(before / "la_aggregates_publishable.parquet")
    )
    outcome = request_matches_outputs(stored(current))
    assert not outcome.passed and "la_aggregates_publishable" in outcome.metadata["stale"]

"""The Dagster UI as a user meets it: start `dagster dev`, materialise the graph through the same
GraphQL interface the UI's buttons use, and check what it serves: the asset graph, column schemas,
check results, owners and tags, lineage text, a CLI run's job, a check executed alone on the
stored tables, and the published warehouse (the sensor publishes a successful UI run)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from mojdfe_assets import synthetic
from mojdfe_assets.definitions import defs
from mojdfe_assets.resources import PROJECT_ROOT
from mojdfe_assets.warehouse import Warehouse
from mojdfe_assets_tests.dagster_ui import dagster_dev, gql, launch, wait_for

NODES = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } jobs { name } } } }
  assetNodes { assetKey { path } groupName } }"""
NODE = """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode { groupName
  owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
  tags { key value }
  metadataEntries { label ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
                          ... on MarkdownMetadataEntry { mdStr } }
  assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization {
    runId status evaluation { success } } } } } } } }"""


def test_ui_serves_graph_schema_checks_lineage_and_cli_runs(tmp_path):
    raw, home, wh = tmp_path / "raw", tmp_path / "home", tmp_path / "wh"
    synthetic.generate(raw, pupils=1_000, seed=3)
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "MOJDFE_RAW_DIR": str(raw), "MOJDFE_WAREHOUSE": str(wh)}
    # A CLI run first, in the same Dagster home: its job must open (and re-execute) in the UI.
    cli = subprocess.run(
        [sys.executable, "-m", "mojdfe_assets.cli", "run"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert cli.returncode == 0, cli.stdout[-2000:] + cli.stderr[-2000:]
    cli_run = next(line.split("(run ")[1][:8] for line in cli.stdout.splitlines() if "(run " in line)
    first = Warehouse(wh).current
    with dagster_dev(env) as port:
        data = gql(port, NODES)
        repo = data["repositoriesOrError"]["nodes"][0]
        assert {"materialize_all", "check_warehouse"} <= {j["name"] for j in repo["jobs"]}  # "View job" opens
        nodes = {tuple(n["assetKey"]["path"]): n["groupName"] for n in data["assetNodes"]}
        expected = {tuple(k.path) for k in defs.resolve_asset_graph().get_all_asset_keys()}
        assert set(nodes) == expected
        assert nodes[("intervention_level",)] == "social_care" and nodes[("cla_raw",)] == "sources"
        runs = gql(port, "{ runsOrError { ... on Runs { results { runId pipelineName } } } }")["runsOrError"]["results"]
        assert any(r["runId"].startswith(cli_run) and r["pipelineName"] == "materialize_all" for r in runs)

        # "Materialize all" as the UI does it; the sensor then publishes the run to current/
        run_id = launch(port, repo, pipelineName="__ASSET_JOB")
        assert wait_for(port, run_id) == "SUCCESS"
        deadline = time.time() + 120
        while Warehouse(wh).manifest().get("latest_run") != run_id:
            assert time.time() < deadline, "the UI run was not published"
            time.sleep(2)
        assert Warehouse(wh).current != first

        cla = gql(port, NODE, {"path": ["cla_clean"]})["assetNodeOrError"]
        schema = next(e["schema"] for e in cla["metadataEntries"] if e["label"] == "dagster/column_schema")
        cols = {c["name"]: c for c in schema["columns"]}
        assert "Codes: A3 (Placed for adoption" in cols["cla_placement"]["description"]
        assert cols["cla_date_epi_comm"]["type"] == "date"
        checks = {c["name"]: c["executionForLatestMaterialization"] for c in cla["assetChecksOrError"]["checks"]}
        assert set(checks) == {"schema", "rows_reconcile", "quarantined_share", "la_codes_in_force"}
        assert all(c["status"] == "SUCCEEDED" and c["evaluation"]["success"] for c in checks.values())
        assert {o.get("team") for o in cla["owners"]} == {"dfe-data-owners"}
        assert {t["key"]: t["value"] for t in cla["tags"]}["disclosure"] == "pupil_level"

        level = gql(port, NODE, {"path": ["intervention_level"]})["assetNodeOrError"]
        assert {o.get("team") for o in level["owners"]} == {"research-team"}
        assert {t["key"]: t["value"] for t in level["tags"]}["stage"] == "social_care"
        lineage = next(e["mdStr"] for e in level["metadataEntries"] if e["label"].startswith("lineage"))
        row = next(line for line in lineage.splitlines() if line.startswith("| `level`"))
        assert "CLA_2006_to_2018.csv:CLA_PupilMatchingRefAnonymous" in row and "CIN_CIN_AT31MARCH" in row

        # One check executed alone, on the stored tables (no materialisation)
        check_run = launch(
            port,
            repo,
            pipelineName="__ASSET_JOB",
            assetSelection=[],
            assetCheckSelection=[{"assetKey": {"path": ["intervention_level"]}, "name": "levels_reconcile"}],
        )
        assert wait_for(port, check_run) == "SUCCESS"
        level = gql(port, NODE, {"path": ["intervention_level"]})["assetNodeOrError"]
        ran = {c["name"]: c["executionForLatestMaterialization"] for c in level["assetChecksOrError"]["checks"]}
        assert ran["levels_reconcile"]["runId"] == check_run and ran["levels_reconcile"]["evaluation"]["success"]
        assert ran["every_spine_pupil_once"]["runId"] == run_id  # the others were not re-run

"""The Dagster UI as a user meets it: start `dagster dev`, materialise the graph through the same
GraphQL interface the UI's buttons use, and check that the asset graph, a column schema and the
check results are served."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from mojdfe_assets import synthetic
from mojdfe_assets.definitions import defs
from mojdfe_assets.resources import PROJECT_ROOT

LAUNCH = """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } } }"""
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
NODES = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } }
  assetNodes { assetKey { path } groupName } }"""
CLA = """{ assetNodeOrError(assetKey: {path: ["cla_clean"]}) { ... on AssetNode { groupName
  metadataEntries { label ... on TableSchemaMetadataEntry { schema { columns { name type description } } } }
  assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization {
    status evaluation { success } } } } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gql(port, query, variables=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", headers={"content-type": "application/json"},
                                 data=json.dumps({"query": query, "variables": variables or {}}).encode())
    return json.loads(urllib.request.urlopen(req, timeout=60).read())["data"]


def test_ui_shows_graph_schema_and_checks(tmp_path):
    raw, home = tmp_path / "raw", tmp_path / "home"
    synthetic.generate(raw, pupils=1_000, seed=3)
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "MOJDFE_RAW_DIR": str(raw),
           "MOJDFE_WAREHOUSE": str(tmp_path / "wh")}
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.Popen([str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.time() < deadline and proc.poll() is None, "dagster dev did not start"
                time.sleep(1)
        data = gql(port, NODES)
        repo = data["repositoriesOrError"]["nodes"][0]
        nodes = {tuple(n["assetKey"]["path"]): n["groupName"] for n in data["assetNodes"]}
        expected = {tuple(k.path) for k in defs.resolve_asset_graph().get_all_asset_keys()}
        assert set(nodes) == expected
        assert nodes[("intervention_level",)] == "social_care" and nodes[("cla_raw",)] == "sources"

        params = {"selector": {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
                               "pipelineName": "__ASSET_JOB"}, "runConfigData": {}}
        launched = gql(port, LAUNCH, {"p": params})["launchPipelineExecution"]
        assert launched["__typename"] == "LaunchRunSuccess"
        run_id, deadline, status = launched["run"]["runId"], time.time() + 300, None
        while time.time() < deadline:
            status = gql(port, STATUS, {"id": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(2)
        assert status == "SUCCESS"

        cla = gql(port, CLA)["assetNodeOrError"]
        schema = next(e["schema"] for e in cla["metadataEntries"] if e["label"] == "dagster/column_schema")
        cols = {c["name"]: c for c in schema["columns"]}
        assert "Codes: A3, A4" in cols["cla_placement"]["description"] and cols["cla_date_epi_comm"]["type"]
        checks = {c["name"]: c["executionForLatestMaterialization"] for c in cla["assetChecksOrError"]["checks"]}
        assert set(checks) == {"schema", "rows_reconcile", "quarantined_share"}
        assert all(c["status"] == "SUCCEEDED" and c["evaluation"]["success"] for c in checks.values())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

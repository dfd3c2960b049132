"""A client of a real `dagster dev`, as the UI's buttons use it (GraphQL): start it, launch a job
or a check, wait for a run. Used by `test_ui.py` and by `benchmarks/ui_vs_cli.py`."""

from __future__ import annotations

import contextlib
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

from mojdfe_assets.resources import PROJECT_ROOT

LAUNCH = """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status pipelineName startTime endTime } } }"
REPOS = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } jobs { name } } } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gql(port, query, variables=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        headers={"content-type": "application/json"},
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
    )
    return json.loads(urllib.request.urlopen(req, timeout=60).read())["data"]


def run_status(port, run_id) -> dict:
    return gql(port, STATUS, {"id": run_id})["runOrError"]


def wait_for(port, run_id, seconds=600):
    deadline, status = time.time() + seconds, None
    while time.time() < deadline:
        status = run_status(port, run_id)["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    return status


def repository(port) -> dict:
    return gql(port, REPOS)["repositoriesOrError"]["nodes"][0]


def launch(port, repo, **selector):
    params = {
        "selector": {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"], **selector},
        "runConfigData": {},
    }
    launched = gql(port, LAUNCH, {"p": params})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


@contextlib.contextmanager
def dagster_dev(env: dict, start_seconds: float = 120):
    """`dagster dev` of the project's workspace on a free port, with `env` (DAGSTER_HOME, ...);
    yields the port once the server answers, and stops the whole process group afterwards."""
    port = free_port()
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.Popen(
        [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + start_seconds
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("dagster dev did not start") from None
                time.sleep(1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

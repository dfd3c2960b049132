"""No pupil identifier leaves the pupil-level tables: not in Dagster's stored events, metadata,
logs, nor in the aggregate tables or the files of the output-checking request."""

from __future__ import annotations

import re

import dagster as dg
import pandas as pd

from mojdfe_assets import synthetic
from mojdfe_assets.definitions import all_assets
from mojdfe_assets.schemas import IDENTIFIER_COLUMNS
from mojdfe_assets_tests.worlds import run_graph


def pupil_level_tables() -> set[str]:
    """Tables that hold pupil or record rows by design (they stay in the SRS): those with an
    identifier column in their schema, and quarantines (delivered rows, as delivered)."""
    out = set()
    for spec in (s for a in all_assets for s in a.specs):
        schema = spec.metadata.get("dagster/column_schema")  # charts (PNG) have none
        cols = {c.name for c in schema.columns} if schema is not None else set()
        name = spec.key.to_user_string()
        if cols & IDENTIFIER_COLUMNS or name.endswith("_quarantine"):
            out.add(name)
    return out


TOKEN = re.compile(rb"M?[0-9A-F]{16}")


def test_no_identifier_outside_pupil_level_tables(tmp_path):
    raw, wh, home = tmp_path / "raw", tmp_path / "wh", tmp_path / "dagster_home"
    synthetic.generate(raw, pupils=2_000, seed=13)
    truth = pd.read_parquet(raw / "_synthetic" / "truth.parquet")
    ids = set(truth["pupil_id"]) | set(truth["moj_uid"])
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        result, current = run_graph(all_assets, raw, wh, instance=instance)
        assert result.success
        logs = instance.all_logs(result.run_id)
        assert len(logs) > 50
        event_text = "\n".join(str(entry) for entry in logs).encode()
    scanned = [event_text]
    for f in home.rglob("*"):  # run and event storage (SQLite), compute logs
        if f.is_file():
            scanned.append(f.read_bytes())
    pupil_level = pupil_level_tables()
    assert {"intervention_level", "pupil_outcomes", "cla_raw", "cin_quarantine"} <= pupil_level
    aggregates = [p for p in current.glob("*.parquet") if p.stem not in pupil_level]
    assert {p.stem for p in aggregates} >= {"cin_referral_agreement", "cpp_discrepancy", "code_lookups"}
    for p in aggregates:
        scanned.append(pd.read_parquet(p).to_csv(index=False).encode())
    # the output-checking request: every file an output checker receives
    request = [p for p in (current / "output_checking_request").rglob("*") if p.is_file()]
    assert {p.name for p in request} >= {"results.json", "config.json", "la_aggregates_publishable.csv"}
    scanned += [p.read_bytes() for p in request]
    found = {t.decode() for blob in scanned for t in TOKEN.findall(blob)} & ids
    assert not found, f"{len(found)} pupil identifier(s) found outside pupil-level tables"
    # The scan can fail: the identifiers are there to be found in a pupil-level table.
    level = pd.read_parquet(current / "intervention_level.parquet").to_csv(index=False).encode()
    assert len({t.decode() for t in TOKEN.findall(level)} & ids) == 2 * 2_000

"""Smoke test of the national-scale benchmark script: it runs end to end on a tiny world and prints
its figures, so it cannot rot. Timings are printed by the script, never asserted here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HAS_R = shutil.which("Rscript") is not None


def test_benchmark_runs_on_a_tiny_world(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run_benchmark.py"),
            "--pupils",
            "3000",
            "--naive-pupils",
            "2000",
            "--workdir",
            str(tmp_path),
            "--json",
            str(tmp_path / "figures.json"),
            "--naive-path-only",
            "--peers",
            "duckdb,dplyr",
            "--peer-sizes",
            "2000",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    for expected in (
        "I/O floor",
        "Slowest",
        "ratio pipeline / I/O floor:",
        "peak RSS of the whole run:",
        "storage floor",
        "required floor (no computing)",
        "speed-up over the naive translation:",
        "intervention levels agree for",
        "Peers at 2,000 pupils",
        "DuckDB peer",
        "pipeline / DuckDB =",
        "duckdb peer: same level for",
    ):
        assert expected in text, text
    assert "100.000% of" in text  # the naive translation gives the same levels: like for like
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["storage_floor"]["tables"] >= 30  # every stored table was read and rewritten
    # every pandera schema check timed itself: raw (8), clean (8) and derived tables
    assert figures["required_floor"]["validated_tables"] >= 25
    # the peers ran at the naive size only, against our CSV -> intervention_level path there
    peers = figures["peer_comparison"]
    assert list(peers) == ["2000"]
    duck = peers["2000"]["duckdb"]
    assert duck["agreement"]["pupils"] == 2000 and duck["agreement"]["agreement_pct"] > 99
    assert duck["seconds"] > 0 and peers["2000"]["ratio_pipeline_to_duckdb"] > 0
    if HAS_R and "dplyr_skipped" not in figures:
        assert peers["2000"]["dplyr"]["agreement"]["agreement_pct"] > 99
        assert "dplyr / pipeline =" in text
    else:  # CI has no R: the dplyr peer is skipped, and says why
        assert "skipped" in peers["2000"]["dplyr"] and "dplyr peer skipped" in text
    assert not list(tmp_path.glob("warehouse_*"))  # large folders are cleaned up unless --keep


def test_benchmark_peers_only(tmp_path):
    """`--only-peers`: our CSV -> intervention_level path and the DuckDB peer, nothing else."""
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run_benchmark.py"),
            "--only-peers",
            "--peers",
            "duckdb",
            "--peer-sizes",
            "1000",
            "--workdir",
            str(tmp_path),
            "--json",
            str(tmp_path / "figures.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Peers at 1,000 pupils" in out.stdout and "I/O floor" not in out.stdout, out.stdout
    figures = json.loads((tmp_path / "figures.json").read_text())
    c = figures["peer_comparison"]["1000"]
    assert "dplyr" not in c and "pipeline" not in figures
    assert c["duckdb"]["agreement"]["pupils"] == 1000
    assert c["pipeline_path_seconds"] == c["pipeline_path"]["seconds"] + c["pipeline_path"]["import_seconds"]
    # the path's storage floor: the 13 tables it stores (3 raw, 3 clean, 2 quarantine, 4 social care, level)
    assert c["path_storage_floor"]["tables"] == 13, c["path_storage_floor"]
    assert "the path's storage alone (no computing): writing its 13 stored tables once" in out.stdout
    # the path's required floor: the import, then its three CSVs read, its tables written and its
    # rows validated, split over the cores; the DuckDB target's allowance measured against it
    fl, st = c["path_required_floor"], c["path_storage_floor"]
    assert st["csv_files"] == ["CLA_2006_to_2018.csv", "CIN_08-09_to_16-17.csv", "NPD_KS4_spine.csv"]
    assert fl["write_seconds"] == st["seconds"] - st["read_seconds"] and fl["validation_seconds"] > 0
    work = fl["csv_read_seconds"] + fl["write_seconds"] + fl["validation_seconds"]
    assert fl["seconds"] == pytest.approx(fl["import_seconds"] + work / fl["cores"])
    assert fl["import_seconds"] < fl["seconds"]
    t = fl["targets"]["within_3x_duckdb"]
    assert t["allowed_seconds"] == pytest.approx(3 * c["duckdb"]["seconds"])
    assert t["ruled_out"] == (t["left_for_computing"] < 0) and list(fl["targets"]) == ["within_3x_duckdb"]
    assert "the path's required floor (no computing): import" in out.stdout
    assert "target within 3 x DuckDB: path in at most" in out.stdout


def test_peer_duckdb_recipe(tmp_path):
    """The DuckDB peer on a hand-made extract: blanks and whitespace are missing, the levels are
    ordered CLA > CPP (either method) > in need > referral only > none, one row per spine pupil."""
    import pandas as pd

    (tmp_path / "NPD_KS4_spine.csv").write_text(
        "MoJUID,KS4_PupilMatchingRefAnonymous,KS4_ACADYR\n"
        + "".join(f",P{i},2012/2013\n" for i in range(1, 9))
        + ", ,2012/2013\n"
    )
    (tmp_path / "CLA_2006_to_2018.csv").write_text(
        "MoJUID,CLA_ACADYR,CLA_PupilMatchingRefAnonymous\n,2010/2011,P1\n,2011/2012,P1\n,2010/2011, \n"
    )
    cin_cols = (
        "MoJUID,CIN_ACADYR,CIN_PupilMatchingRefAnonymous,CIN_CIN_AT31MARCH,CIN_CategoryOfAbuse,"
        "CIN_InitialCategoryOfAbuse,CIN_LatestCategoryOfAbuse,CIN_NumberOfPreviousCPP\n"
    )
    (tmp_path / "CIN_08-09_to_16-17.csv").write_text(
        cin_cols
        + "".join(
            [
                ",2010/2011,P1,1,NEG,,,\n",  # P1: also looked after -> looked_after
                ",2009/2010,P2,0, ,,,\n",  # P2: category only in a later year (latest) -> CPP (method a)
                ",2013/2014,P2,1,,, EMO,\n",
                ",2012/2013,P3,1,,,,0\n",  # P3: previous plans summed over years >= 1 -> CPP (method b)
                ",2013/2014,P3,0,,,,1\n",
                ",2012/2013,P4,0,,,, \n",  # P4: in need on 31 March in one year -> child_in_need
                ",2013/2014,P4,1,,,,0\n",
                ",2012/2013,P5,0,,,,0\n",  # P5: in CIN, never in need -> referral_only
                ",2012/2013,P6, ,,,,\n",  # P6: blank flag -> referral_only
                ",2012/2013,P9,1,PHY,,,\n",  # P9: not in the spine -> absent
            ]
        )
    )
    out = tmp_path / "levels.parquet"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "peer_duckdb.py"), str(tmp_path), str(out)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    got = pd.read_parquet(out).set_index("pupil_id")["level"].astype(str).to_dict()
    assert got == {
        "P1": "looked_after",
        "P2": "child_protection_plan",
        "P3": "child_protection_plan",
        "P4": "child_in_need",
        "P5": "referral_only",
        "P6": "referral_only",
        "P7": "none",
        "P8": "none",
    }


def test_ui_vs_cli_runs_on_a_tiny_world(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "ui_vs_cli.py"),
            "--pupils",
            "1000",
            "--workdir",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "mojdfe run" in out.stdout and "UI 'Materialize all'" in out.stdout and "UI / CLI (run)" in out.stdout
    # both runs published a complete warehouse
    assert (tmp_path / "w" / "cli_wh" / "current" / "intervention_level.parquet").exists()

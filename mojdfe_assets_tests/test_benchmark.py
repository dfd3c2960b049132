"""Smoke test of the national-scale benchmark script: it runs end to end on a tiny world and prints
its figures, so it cannot rot. Timings are printed by the script, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_on_a_tiny_world(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_benchmark.py"), "--pupils", "3000", "--naive-pupils", "2000",
         "--workdir", str(tmp_path), "--json", str(tmp_path / "figures.json"), "--naive-path-only"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    for expected in ("I/O floor", "Slowest", "ratio pipeline / I/O floor:", "peak RSS of the whole run:", "storage floor",
                     "required floor (no computing)",
                     "speed-up over the naive translation:", "intervention levels agree for"):
        assert expected in text, text
    assert "100.000% of" in text  # the naive translation gives the same levels: like for like
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["storage_floor"]["tables"] >= 30  # every stored table was read and rewritten
    # every pandera schema check timed itself: raw (8), clean (8) and derived tables
    assert figures["required_floor"]["validated_tables"] >= 25
    assert not list(tmp_path.glob("warehouse_*"))  # large folders are cleaned up unless --keep

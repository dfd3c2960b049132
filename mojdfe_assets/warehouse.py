"""The warehouse folder: where each run writes, and the one complete set of tables readers see.

    <warehouse>/
      runs/<run id>/<asset>.parquet   every run writes here; nothing is ever written over a
                                      published table (charts as <asset>.png; the output-checking
                                      request as the folder <asset>/ beside its table)
      snapshots/<time>_<run>/         a complete set: the previous snapshot's tables with the
                                      run's own on top (hard links, so no table is copied), and
                                      `_snapshot.json`: which run wrote each table, and the
                                      deliveries (SHA-256 of each extract file) it derives from;
                                      `_snapshot.tsv`: the tables part as tab-separated text
                                      (table, rows, run_id, written, bytes) for R and Stata, which
                                      read it without a JSON parser
      current -> snapshots/<...>      the published set; replaced (an atomic rename) only when a
                                      run succeeds, so a reader sees one complete run or the
                                      previous one, never a mix
      CURRENT                         the same name as text, for readers that cannot follow links

R and Stata users read `<warehouse>/current/`. Dagster runs read their inputs from their own run
folder (tables this run, or the run it re-executes, wrote) and otherwise from `current`.
Publishing keeps the last `keep_snapshots` snapshots and the last `keep_runs` run folders
(failed runs stay for inspection and re-execution; published data survive in snapshots).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq

RUNS, SNAPSHOTS, CURRENT, CURRENT_FILE, MANIFEST = "runs", "snapshots", "current", "CURRENT", "_snapshot.json"
MANIFEST_TSV, TSV_COLUMNS = "_snapshot.tsv", ("table", "rows", "run_id", "written", "bytes")
DELIVERY_KEY = b"mojdfe.delivery"  # Parquet schema metadata of a raw table: the delivered file it read
TABLE_SUFFIXES = (".parquet", ".png")


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a file system without hard links
        shutil.copy2(src, dst)


def _link_tree(src: Path, dst: Path) -> None:
    """A folder's files linked (or copied) into a new folder of the same layout."""
    shutil.copytree(src, dst, copy_function=lambda a, b: _link_or_copy(Path(a), Path(b)))


def _folders(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_dir() and not f.name.startswith("."))


def _tsv(tables: dict) -> str:
    """The manifest's tables as tab-separated text, one row per table (rows blank for a PNG)."""
    lines = ["\t".join(TSV_COLUMNS)]
    lines += ["\t".join([name] + [str(entry.get(c, "")) for c in TSV_COLUMNS[1:]]) for name, entry in tables.items()]
    return "\n".join(lines) + "\n"


def _replace_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


class Warehouse:
    """A warehouse folder (see the module docstring)."""

    def __init__(self, base: str | Path):
        self.base = Path(base)

    def run_dir(self, run_id: str) -> Path:
        return self.base / RUNS / run_id

    @property
    def current(self) -> Path | None:
        """The published snapshot folder, or None before the first successful run."""
        link = self.base / CURRENT
        if link.is_dir():
            return link.resolve()
        pointer = self.base / CURRENT_FILE
        if pointer.exists():
            snap = self.base / SNAPSHOTS / pointer.read_text().strip()
            return snap if snap.is_dir() else None
        return None

    def table(self, name: str, suffix: str = ".parquet") -> Path:
        """A published table (in `current`)."""
        snap = self.current
        if snap is None:
            raise FileNotFoundError(f"{self.base}: nothing published yet (no successful run)")
        return snap / f"{name}{suffix}"

    def find(self, name: str, run_ids: list[str], suffix: str = ".parquet") -> Path | None:
        """The table a run should read: from the first of `run_ids` whose folder holds it (the run
        itself, the run it re-executes), else the published one; None if there is none."""
        for run_id in run_ids:
            path = self.run_dir(run_id) / f"{name}{suffix}"
            if path.exists():
                return path
        snap = self.current
        path = snap / f"{name}{suffix}" if snap is not None else None
        return path if path is not None and path.exists() else None

    def manifest(self) -> dict:
        snap = self.current
        return json.loads((snap / MANIFEST).read_text()) if snap is not None and (snap / MANIFEST).exists() else {}

    def published_runs(self) -> set[str]:
        return set(self.manifest().get("runs", []))

    def publish(self, run_ids: list[str], keep_snapshots: int = 3, keep_runs: int = 5) -> Path | None:
        """Make a new snapshot of the previous one with the tables of `run_ids` (oldest first, so
        the last run's table wins) on top, and point `current` at it. Returns the new snapshot, or
        None when every run was already published or wrote nothing."""
        run_ids = [r for r in run_ids if self.run_dir(r).is_dir()]
        previous = self.current
        done = self.published_runs()
        if not run_ids or set(run_ids) <= done:
            return None
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{stamp}_{run_ids[-1][:8]}"
        final = self.base / SNAPSHOTS / name
        tmp = final.with_name(f".{name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        old = json.loads((previous / MANIFEST).read_text()) if previous and (previous / MANIFEST).exists() else {}
        tables, folders = dict(old.get("tables", {})), dict(old.get("folders", {}))
        if previous is not None:
            for f in previous.iterdir():
                if f.suffix in TABLE_SUFFIXES:
                    _link_or_copy(f, tmp / f.name)
            for f in _folders(previous):
                _link_tree(f, tmp / f.name)
        for run_id in run_ids:
            for f in _folders(self.run_dir(run_id)):  # a folder of files an asset wrote (the request)
                shutil.rmtree(tmp / f.name, ignore_errors=True)
                _link_tree(f, tmp / f.name)
                files = [p for p in f.rglob("*") if p.is_file()]
                folders[f.name] = {"run_id": run_id, "files": len(files), "bytes": sum(p.stat().st_size for p in files)}
            for f in sorted(self.run_dir(run_id).iterdir()):
                if f.suffix not in TABLE_SUFFIXES or f.name.startswith("."):
                    continue
                (tmp / f.name).unlink(missing_ok=True)
                _link_or_copy(f, tmp / f.name)
                entry = {
                    "run_id": run_id,
                    "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(f.stat().st_mtime)),
                    "bytes": f.stat().st_size,
                }
                if f.suffix == ".parquet":
                    meta = pq.read_metadata(f)
                    entry["rows"] = meta.num_rows
                    delivery = (meta.metadata or {}).get(DELIVERY_KEY)
                    if delivery:
                        entry["delivery"] = json.loads(delivery)
                tables[f.stem] = entry
        manifest = {
            "snapshot": name,
            "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runs": sorted(done | set(run_ids)),
            "latest_run": run_ids[-1],
            "tables": dict(sorted(tables.items())),
            "folders": dict(sorted(folders.items())),
            "deliveries": {k: v["delivery"] for k, v in sorted(tables.items()) if "delivery" in v},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        (tmp / MANIFEST_TSV).write_text(_tsv(manifest["tables"]))
        os.replace(tmp, final)
        _replace_atomic(self.base / CURRENT, lambda t: os.symlink(Path(SNAPSHOTS) / name, t))
        _replace_atomic(self.base / CURRENT_FILE, lambda t: Path(t).write_text(name + "\n"))
        self._retain(keep_snapshots, keep_runs)
        return final

    def _retain(self, keep_snapshots: int, keep_runs: int) -> None:
        current = self.current
        snaps = sorted(p for p in (self.base / SNAPSHOTS).iterdir() if p.is_dir() and not p.name.startswith("."))
        for old in snaps[: -max(keep_snapshots, 1)]:
            if old != current:
                shutil.rmtree(old, ignore_errors=True)
        runs = sorted((p for p in (self.base / RUNS).iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in runs[: -max(keep_runs, 1)]:
            shutil.rmtree(old, ignore_errors=True)

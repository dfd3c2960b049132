"""Resources: where raw extracts come from, and where asset tables are stored.

- `RawExtracts`: the folder holding the delivered extract files. By default the synthetic
  world in `data/raw/synthetic` (generated on first use); set `MOJDFE_RAW_DIR` (or run config)
  to read real SRS extracts from their folder instead, with no code change. A folder of
  delivered extracts is only ever read: the generator writes only into a folder it owns (its
  `_synthetic/manifest.json`) or an empty one.
- `LaGeography`: which geography LA comparisons use over years (as delivered, or harmonised to
  the 2018 authorities across the 1 April 2009 reorganisation: `geography.py`).
- `ParquetIOManager`: every asset is a Parquet file of the warehouse folder (`MOJDFE_WAREHOUSE`,
  default `data/warehouse`), written atomically into the run's own folder; readers see the last
  complete successful run in `current/` (see `warehouse.py`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import gc
import json
import os
import tempfile
from pathlib import Path
from typing import Literal

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from . import geography
from .warehouse import DELIVERY_KEY, Warehouse

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW_DIR = PROJECT_ROOT / "data" / "raw" / "synthetic"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse"
DEFAULT_SYNTHETIC_PUPILS = 50_000
DEFAULT_SYNTHETIC_SEED = 1


class LaGeography(dg.ConfigurableResource):
    """The geography of every derived LA column (`cla_episodes.la`, `intervention_level.la`, and
    so the LA comparisons and maps). One setting for the run, so an LA means the same everywhere."""

    rule: Literal["harmonised_2018", "as_delivered"] = Field(
        default="harmonised_2018",
        description=(
            "harmonised_2018 (default): LA numbers mapped onto the 2018 authorities. A predecessor abolished on "
            "1 April 2009 with several successors (820 Bedfordshire -> 822 Bedford | 823 Central Bedfordshire; 875 "
            "Cheshire -> 895 Cheshire East | 896 Cheshire West and Chester) takes the successor on the same pupil's "
            "latest row that has one; a row of a pupil with no such row stays at the predecessor and is counted in "
            "the asset's `la_geography` metadata; counties that became unitary kept their numbers (no mapping). "
            "as_delivered: the LA number of each row as delivered, one geography per year."
        ),
    )

    def apply(self, pupil_id: pd.Series, end_year: pd.Series, la: pd.Series) -> tuple[pd.Series, dict]:
        """Each row's LA under the rule, and the report of what was mapped and what was not."""
        return geography.harmonise(pupil_id, end_year, la, self.rule)


class RawExtracts(dg.ConfigurableResource):
    """The folder of delivered extracts (CSV, column names as delivered)."""

    folder: str = Field(
        default=str(DEFAULT_RAW_DIR),
        description=(
            "Folder holding the extract files, named as delivered (CLA_2006_to_2018.csv, CIN_08-09_to_16-17.csv, "
            "NPD_KS4_spine.csv, ...). Files here are only ever read."
        ),
    )
    synthetic: bool = Field(
        default=True,
        description=(
            "true: the folder is a synthetic world, generated there first if missing or of another size or seed "
            "(only into an empty folder or one the generator made: a folder of delivered extracts is refused). "
            "false: the folder holds real extracts and a missing file is an error. Set false for SRS extracts."
        ),
    )
    synthetic_pupils: int = Field(
        default=DEFAULT_SYNTHETIC_PUPILS,
        description=("Spine pupils of the synthetic world (used only when synthetic is true)"),
    )
    synthetic_seed: int = Field(
        default=DEFAULT_SYNTHETIC_SEED,
        description=(
            "Random seed of the synthetic world (used only when synthetic is true): same seed and size, same files"
        ),
    )

    @classmethod
    def from_env(cls) -> RawExtracts:
        real = os.environ.get("MOJDFE_RAW_DIR")
        if real:
            return cls(folder=real, synthetic=False)
        return cls(
            synthetic_pupils=int(os.environ.get("MOJDFE_SYNTHETIC_PUPILS", DEFAULT_SYNTHETIC_PUPILS)),
            synthetic_seed=int(os.environ.get("MOJDFE_SYNTHETIC_SEED", DEFAULT_SYNTHETIC_SEED)),
        )

    def path(self, file: str) -> Path:
        folder = Path(self.folder)
        target = folder / file
        if self.synthetic:
            self.ensure_synthetic()
        if not target.exists():
            raise FileNotFoundError(
                f"Extract file {file!r} not found in {folder} (set MOJDFE_RAW_DIR to the folder holding "
                f"the delivered extracts)"
            )
        return target

    def is_synthetic_world(self) -> bool:
        """Whether the extracts are a synthetic world (generated here, or read from a folder the
        generator made): charts drawn from them say so."""
        from . import synthetic

        return self.synthetic or synthetic.is_synthetic_folder(Path(self.folder))

    def ensure_synthetic(self) -> dict:
        """Generate the synthetic world unless the folder already holds the same one."""
        from . import synthetic

        folder = Path(self.folder)
        synthetic.check_may_write(folder)  # before anything is written there, even a lock file
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / synthetic.TRUTH_DIR / "manifest.json"
        # Raw assets run in parallel processes: one generates, the others wait and reuse it. The
        # manifest is written last, so its presence means the world is complete.
        with open(folder / ".generate.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if manifest.exists():
                m = json.loads(manifest.read_text())
                if m.get("pupils") == self.synthetic_pupils and m.get("seed") == self.synthetic_seed:
                    return m
            return synthetic.generate(folder, pupils=self.synthetic_pupils, seed=self.synthetic_seed)


_UMASK = os.umask(0)
os.umask(_UMASK)


def _write_atomic(write, path: Path) -> None:
    """Write to a temporary file in the same folder, then rename: a killed run leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a run killed mid-write
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # as a plain write would make it (mkstemp makes it private)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    # Min/max statistics for every column but plain text: a text column's (pupil references,
    # delivered values in no order) prune nothing for a reader's filter, and computing them is
    # about a quarter of writing a table.
    stats = [f.name for f in table.schema if not (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
    _write_atomic(lambda tmp: pq.write_table(table, tmp, compression="zstd", write_statistics=stats), path)


def write_bytes_atomic(data: bytes, path: Path) -> None:
    _write_atomic(lambda tmp: Path(tmp).write_bytes(data), path)


def write_folder_atomic(files: dict[str, bytes], path: Path) -> None:
    """Write a folder of files ({relative path: bytes}) under a temporary name in the same parent,
    then rename it into place: a run killed mid-write leaves no partial folder (a stale temporary
    one is removed by the next write)."""
    import shutil

    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp.chmod(0o777 & ~_UMASK)
        for name, data in sorted(files.items()):
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise ValueError(f"{name!r} is outside the folder")
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        old = path.with_name(f".{path.name}.old.tmp")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc_function(name: str, restype=None):
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):  # not glibc (or an older one)
        return None
    if restype is not None:
        function.restype = restype
    return function


_MALLOC_TRIM = _libc_function("malloc_trim")
_MALLOPT = _libc_function("mallopt")
_MALLINFO2 = _libc_function("mallinfo2", _Mallinfo2)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters

# How much freed memory a process keeps for its next steps (see `keep_freed_memory`) before
# release_memory hands it back to the operating system.
KEEP_FREED_BYTES = 2 * 2**30
_KEEPING_FREED_MEMORY = []  # [True] once keep_freed_memory has taken effect in this process


def keep_freed_memory() -> None:
    """Once per process, as its first run starts (`ParquetIOManager.setup_for_execution`): memory
    a step frees stays in the process for the next steps to reuse, up to KEEP_FREED_BYTES, instead
    of going back to the operating system at every large table. Memory handed back and touched
    again costs a page fault per 4 KiB, and more on a virtual machine that reports freed pages to
    its host, as this project's CI machine does: at 10M, `pupil_outcomes` spent 46 % of its CPU
    in the kernel, most of it clearing fresh pages, and the whole graph 72 of its 197
    CPU-seconds. So:
    - Arrow allocates from the system allocator, as numpy and pandas do, not from its own
      (mimalloc): one heap of freed memory that any library's next allocation reuses (two heaps
      each keeping its own would hold the sum of the largest steps);
    - glibc keeps large blocks in its heap: by default each block over at most 32 MB (a 10M-row
      column is 80 MB) is mapped afresh and unmapped when freed, and the heap's top is trimmed.
    Tables and arrays are the same; only where their memory comes from changes."""
    if _KEEPING_FREED_MEMORY or _MALLOPT is None or _MALLINFO2 is None:  # not glibc: as before
        return
    if _MALLOPT(_M_MMAP_THRESHOLD, 2**30) != 1 or _MALLOPT(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES) != 1:
        return
    pa.set_memory_pool(pa.system_memory_pool())
    _KEEPING_FREED_MEMORY.append(True)


def _freed_bytes_kept() -> int | None:
    """Freed memory the system allocator holds for reuse (None when it is not known)."""
    return int(_MALLINFO2().fordblks) if _KEEPING_FREED_MEMORY else None


# A full garbage collection costs ~0.16 s with Dagster loaded (unless `freeze_loaded_code` ran):
# worth it around big tables only (at 200,000 pupils, releasing on every load and store nearly
# tripled the run's time).
RELEASE_ABOVE_BYTES = 64 * 2**20


def freeze_loaded_code() -> None:
    """Once per process, as its first run starts (`ParquetIOManager.setup_for_execution`: the
    code location, Dagster's run machinery and the instance are loaded, no table is read yet):
    collects, then moves every object alive now (~260,000) to the garbage collector's permanent
    generation, so each later full collection in `release_memory` scans only what the run
    creates. The libraries the steps import on first use are imported first. At 1M pupils the
    path's full collections then scan about 7,700 objects, not 96,000 as when frozen before the
    instance opened, nor ~300,000 unfrozen (a UI run's worker, before)."""
    if gc.get_freeze_count():  # frozen already: only this function freezes
        return
    import duckdb  # noqa: F401, PLC0415
    import pandera.backends.pandas.register  # noqa: F401, PLC0415
    import pyarrow.dataset  # noqa: F401, PLC0415

    gc.collect()
    gc.freeze()


_SQLITE_KEEPERS: dict[str, list] = {}  # database file -> [connection kept open, attached to its WAL]


def small_pages() -> None:
    """Call once before a run in this process (`mojdfe run`, the benchmark): numpy asks the kernel
    for transparent huge pages for every large array, which on this kind of machine made each
    national-scale step spend more time in the kernel (at 10M, `intervention_level` alone: 12.6
    -> 10.9 s of system time, 24.7 -> 21.4 s). Arrays are the same; only how memory is mapped
    changes. Same as NUMPY_MADVISE_HUGEPAGE=0."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _set_madvise_hugepage
    _set_madvise_hugepage(False)


def quick_event_log() -> None:
    """Call once before a run in this process (`mojdfe run`, the benchmark). Dagster's SQLite
    storage opens a connection per event and closes it again (a run stores ~600 events at
    ~15 ms each: at 1,000,000 pupils ~15 s of a 48 s run, whatever the data size): each commit
    waits for an fsync (WAL with SQLite's default `synchronous=FULL`), and each close, being the
    database's last connection, checkpoints the WAL into the database with more fsyncs. Here
    every SQLite connection this process opens gets `synchronous=NORMAL` (SQLite's recommended
    setting in WAL mode: a crash of the process loses nothing, a power cut may lose the last
    events and never corrupts the database), and one idle connection per database file is kept
    open, so a closing connection is not the last and the WAL is checkpointed by SQLite's own
    automatic checkpoints (every 1,000 pages) instead of at every event: ~0.2 ms per event.
    The warehouse's tables are Parquet files, written and renamed exactly as before."""
    if _SQLITE_KEEPERS.get("__installed__"):
        return
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _quick(dbapi_connection, _record):  # every SQLite connection Dagster opens in this process
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        rows = dbapi_connection.execute("PRAGMA database_list").fetchall()
        path = next((r[2] for r in rows if r[1] == "main"), "")
        if not path:  # in memory
            return
        keeper = _SQLITE_KEEPERS.get(path)
        if keeper is None:
            keeper = _SQLITE_KEEPERS[path] = [sqlite3.connect(path, check_same_thread=False), False]
        if not keeper[1]:
            try:  # Dagster asks for WAL inside a transaction, where SQLite ignores it: set it here
                if keeper[0].execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal":
                    keeper[0].execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
                    keeper[1] = True
            except sqlite3.OperationalError:  # busy: try again at the next connection
                pass

    _SQLITE_KEEPERS["__installed__"] = [None, True]


def release_memory(nbytes: int | None = None) -> None:
    """Free what earlier steps left for the garbage collector, and hand freed memory back to the
    operating system when the process keeps more than KEEP_FREED_BYTES of it (always, where
    `keep_freed_memory` has not taken effect). Steps run one after another in one process (`mojdfe
    run`); without this, the run's peak would be the sum of its largest steps, not the largest
    step. With `nbytes` (the size of the table being read or written), only for large tables."""
    from .arrowops import forget_proofs

    forget_proofs()  # what a step proved about its arrays is not carried to another step
    if nbytes is not None and nbytes < RELEASE_ABOVE_BYTES:
        return
    gc.collect()
    kept = _freed_bytes_kept()
    if kept is not None and kept <= KEEP_FREED_BYTES:
        return
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


# Tables in flight at once, each on its own writer thread. With one, the raw and clean steps
# (which store more than they compute) waited 19-26 s in all for the writer at 10M; with two,
# 9-12 s, and the whole graph took 10 s less on average over four interleaved pairs.
WRITERS = 2


class _WriteBehind:
    """Tables written by background threads while the run goes on (`write_behind`): at most
    `WRITERS` tables in flight, so at most that many stored tables stay in memory beyond their
    step (storing another first waits for the oldest). pyarrow's Parquet writer uses one core
    per table and releases the GIL, so the next step's loading and computing run while the last
    tables are compressed and written. A table is always complete before it is read (`wait`),
    and every write has finished, or raised, before a run's tables are published (`flush`). The
    write itself is unchanged: temporary file, then rename."""

    def __init__(self):
        self.pool = None
        self.pending: dict[Path, tuple[object, int]] = {}  # path -> (future, table bytes)

    @property
    def enabled(self) -> bool:
        return self.pool is not None

    def submit(self, table: pa.Table, path: Path) -> None:
        while len(self.pending) >= WRITERS:
            self._finish(next(iter(self.pending)))
        self.pending[path] = (self.pool.submit(write_parquet_atomic, table, path), table.nbytes)

    def wait(self, name: str) -> None:
        """Finish the pending write of a table file named `name`, in whichever run folder."""
        for path in [p for p in self.pending if p.name == name]:
            self._finish(path)

    def flush(self) -> None:
        for path in list(self.pending):
            self._finish(path)

    def _finish(self, path: Path) -> None:
        future, nbytes = self.pending.pop(path)
        future.result()  # a failed write raises here, in the run's own thread
        release_memory(nbytes)


_WRITE_BEHIND = _WriteBehind()


@contextlib.contextmanager
def write_behind():
    """Within this block, this process's ParquetIOManager writes each table in the background
    (see `_WriteBehind`); on leaving it, every write has finished (or raised). For a run whose
    steps execute one after another in this process (`mojdfe run`, the benchmark): with a process
    per step, a step's process must not end before its table is written, so outside this block
    (the UI, `dagster asset materialize`, tests) every table is written before its step ends."""
    from concurrent.futures import ThreadPoolExecutor

    if _WRITE_BEHIND.enabled:  # nested: the outer block flushes
        yield
        return
    _WRITE_BEHIND.pool = ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="parquet-writer")
    try:
        yield
    finally:
        try:
            _WRITE_BEHIND.flush()
        finally:
            _WRITE_BEHIND.pool.shutdown(wait=True)
            _WRITE_BEHIND.pool = None
            _WRITE_BEHIND.pending.clear()


_ARROW_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


def read_parquet(path: Path, columns: list[str] | None = None, dictionary: list[str] | None = None) -> pd.DataFrame:
    """Read a stored table with text as Arrow-backed strings and dates as datetime64 columns.
    Text columns named in `dictionary` come back as categoricals straight from Parquet's own
    dictionary pages: distinct values and row codes with no hashing."""
    table = pq.read_table(path, columns=columns, read_dictionary=dictionary or None)
    return table.to_pandas(types_mapper=_ARROW_STRINGS.get, date_as_object=False)


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """Every datetime in this project is a calendar date: store it as a Parquet DATE, which R's
    arrow package reads as `Date` (categoricals become factors, nullable ints and booleans stay).
    A raw table's `attrs["delivery"]` (the delivered file it was read from) goes into the Parquet
    schema metadata, so the provenance travels with the table."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, pa.field(field.name, pa.date32()), table.column(i).cast(pa.date32()))
    delivery = df.attrs.get("delivery")
    if delivery:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), DELIVERY_KEY: json.dumps(delivery, sort_keys=True).encode()}
        )
    return table


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores each asset as `<warehouse>/runs/<run id>/<asset>.parquet` (charts as .png; a table
    whose `attrs["folder"]` holds files, the output-checking request, also as the folder
    `<asset>/`, published with the run like its tables); a run's inputs come from its own run
    folder, the run it re-executes, or else the published snapshot."""

    base_dir: str = Field(
        default=str(DEFAULT_WAREHOUSE),
        description=(
            "Warehouse folder. Researchers read `<base_dir>/current/` (the last complete successful run); "
            "each run writes into `<base_dir>/runs/<run id>/`."
        ),
    )
    keep_snapshots: int = Field(default=3, description="Published snapshots kept (older ones are deleted)")
    keep_runs: int = Field(
        default=5,
        description=("Run folders kept, failed runs included (their tables stay in snapshots once published)"),
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # every run's process: `mojdfe run`, the benchmark, a UI run's worker
        freeze_loaded_code()
        keep_freed_memory()

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.base_dir)

    def _name(self, key: dg.AssetKey) -> str:
        return "__".join(key.path)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | bytes) -> None:
        if obj is None:
            return
        folder = self.warehouse.run_dir(context.run_id)
        if isinstance(obj, bytes):  # a chart asset (see plots.py): stored as a PNG file
            path = folder / f"{self._name(context.asset_key)}.png"
            write_bytes_atomic(obj, path)
            context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})
            return
        files = obj.attrs.get("folder")
        if files is not None:  # the table's folder of files, in the run folder beside it
            obj = obj.copy()
            obj.attrs = {k: v for k, v in obj.attrs.items() if k != "folder"}
            path = folder / self._name(context.asset_key)
            write_folder_atomic(files, path)
            context.add_output_metadata({"folder": dg.MetadataValue.path(str(path)), "folder_files": len(files)})
        table = to_arrow(obj)
        path = folder / f"{self._name(context.asset_key)}.parquet"
        if _WRITE_BEHIND.enabled:
            _WRITE_BEHIND.submit(table, path)
        else:
            write_parquet_atomic(table, path)
            release_memory(table.nbytes)

    def _runs(self, context: dg.InputContext) -> list[str]:
        """This run, and the run that produced the upstream output (a re-execution's parent)."""
        runs = []
        for get in (lambda: context.step_context.run_id, lambda: context.upstream_output.run_id):
            try:
                run_id = get()
            except (dg.DagsterInvariantViolationError, AttributeError):
                continue
            if run_id and run_id not in runs:
                runs.append(run_id)
        return runs

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | bytes:
        """The stored table; only the columns an input asks for with `AssetIn(metadata={"columns":
        [...]})` are read (Parquet is columnar: the others are never decoded), and text columns
        listed in `"dictionary_columns"` are read as categoricals (see `read_parquet`). A chart
        is read as its PNG bytes."""
        key = context.upstream_output.asset_key if context.upstream_output else context.asset_key
        _WRITE_BEHIND.wait(f"{self._name(key)}.parquet")  # PNGs are written at once
        runs = self._runs(context)
        path = self.warehouse.find(self._name(key), runs)
        if path is None and (png := self.warehouse.find(self._name(key), runs, ".png")) is not None:
            return png.read_bytes()
        if path is None:
            raise FileNotFoundError(f"{key.to_user_string()} has not been materialised yet in {self.base_dir}")
        release_memory(8 * path.stat().st_size)  # compressed Parquet: several times smaller in memory
        meta = context.definition_metadata or {}
        columns, dictionary = meta.get("columns"), meta.get("dictionary_columns")
        return read_parquet(
            path, columns=list(columns) if columns else None, dictionary=list(dictionary) if dictionary else None
        )

    def stored(self, name: str) -> pd.DataFrame:
        """A published table, whole (what `mojdfe check` and a check executed alone examine)."""
        _WRITE_BEHIND.flush()
        return read_parquet(self.warehouse.table(name))

    def publish(self, run_ids: list[str]) -> Path | None:
        """Publish a successful run (with the runs it re-executes) as the current snapshot."""
        _WRITE_BEHIND.flush()
        return self.warehouse.publish(run_ids, self.keep_snapshots, self.keep_runs)


def io_manager_from_env() -> ParquetIOManager:
    return ParquetIOManager(base_dir=os.environ.get("MOJDFE_WAREHOUSE", str(DEFAULT_WAREHOUSE)))

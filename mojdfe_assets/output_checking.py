"""The output-checking request: every for-export output as a folder an SRS output checker reviews,
in the format of ACRO's `results.json`, so SACRO's viewer opens it.

What ACRO (SACRO, `acro` 1.0.2 on PyPI) does, read from its source
-------------------------------------------------------------------
- A session `ACRO(suppress=False | True, mitigation="none" | "suppress" | "round")` records each
  output as a `Record` (uid `output_N`, renamable) with status "pass" / "fail" / "review".
  `crosstab(index, columns, values=None, aggfunc=None, margins=...)` and
  `pivot_table(data, values, index, columns, aggfunc)` compute the pandas table and, from the
  pupil-level rows passed in, the evidence of each check: the *count of contributors* per cell
  (so a threshold applies to pupils, which is why an outcome must be a table dimension, not a
  summed value), and for sums and means the sum, maximum and top-2 / top-n sums.
- Checks come from its ontology (statbarns.json, risks.json, checks.json): a frequency table
  (statbarn Frequencies) gets RequiredZeroCheck, PresenceOfZeroCheck (class disclosure),
  PresenceOfLinkedTableCheck (differencing: always "pass" with a note asking for a manual
  review against other outputs) and MinimumThresholdCheck (count < safe_threshold); a mean or
  sum (LinearAggregations) adds NKCheck (the `safe_nk_n` = 2 largest hold >= `safe_nk_k` = 90%
  of the total) and PPercentCheck (p-ratio: (total - largest two) / largest < `safe_pratio_p`
  = 0.10); a median (Position) gets the zero and threshold checks only, no dominance rule;
  `logit` / `probit` / `ols` (CorrelationCoefficients) get MinimumDoFCheck: the model's
  `df_resid` >= `safe_dof_threshold` = 10. Any failing cell makes the output "fail".
- Defaults (default.yaml): safe_threshold 10, safe_dof_threshold 10, safe_nk_n 2, safe_nk_k
  0.90, safe_pratio_p 0.10, zeros_are_disclosive True, safe_round_base 5, check_missing_values
  False. With zeros disclosive, a zero cell makes a table **fail** (not "review") when no
  mitigation is on. With `suppress=True` ACRO blanks every cell failing a check (small cells and
  zeros alike), recomputes the margins from what is left, and sets the status to "review" with
  the exception "Suppression automatically applied where needed"; it does no secondary
  suppression, so a blanked cell comes back from any other output that publishes its row's n
  (here: the LA table's England totals, or another outcome over the same pupils). With
  `mitigation="round"` it rounds every cell to base 5, small cells included, and sets "review".
  `custom_output(file, comment)` adds any other file (a chart) with status "review".
- `finalise(path, "json")` refuses an existing folder and writes, in `path`: each table as
  `output_N_i.csv` (regressions: their summary tables), custom files copied in, `results.json`,
  `config.json` (the rules used), `session_summary.json/.csv` (listed as "DONT_RELEASE" entries)
  and `checksums/<file>.txt` holding each file's sha256 hex digest (SACRO's viewer checks them).
- `results.json` = {"version": "1.0.2", "tool": {"@type": "SoftwareApplication", "name": "ACRO",
  "url", "version"}, "results": {uid: {"uid", "status", "type" ("table" / "regression" /
  "custom"), "properties" ({"method", "mitigation"[, "round_base"]}, regressions {"method",
  "dof"}), "files": [{"name": file, "sdc": {"summary": {check: cells failing}, "cells": {check:
  [[row, col], ...]}}}], "outcome" ({column: {row: "ok" | "Check; Check; "}}), "command" (the
  line of code), "summary" (one line per check), "timestamp", "comments" [..], "exception" (the
  researcher's case for releasing a failing output), "fair" ({"statbarn", "risks",
  "checks_needed", "common_mitigations", "check_status": {check: status}, "dependent",
  "independent"})}}}. The viewer needs "version" >= its supported version, "results", and a
  "name" for every file, resolved next to results.json.

What this module does
---------------------
`request_outputs(...)` describes every for-export output of the graph (the LA and region tables,
the RQ1 summary and models for export, the three charts) with the checks applied to it, and
`build_request(outputs)` lays them out as ACRO's folder: each table as `<asset>.csv`, each chart
as `<asset>.png` (the published file, byte for byte), `results.json` (one record per output, uid =
the asset's name), `config.json` (threshold, rounding base, disclosure policy, ACRO's rules) and
`checksums/<file>.txt`. It returns the files as bytes: the request asset hands them to the IO
manager, which writes them into the run's folder (`<warehouse>/runs/<run>/output_checking_request/`),
so the request is published with the run's snapshot (`current/output_checking_request/`) and a
failed run never leaves a request beside tables it does not describe. Each record carries, beyond
ACRO's keys, the explicit list of checks applied with their outcome (`checks`), the
`source_asset`, and a `sha256` per file. Tables are protected by `disclosure.py`,
`la_aggregates.protect_areas` and `exports.py` (linked secondary suppression checked by an exact
attacker, stronger than ACRO's); ACRO itself is run on the pupil-level rows behind each table
(crosstabs with the outcome as a dimension, medians by pivot_table; run config `run_acro`) and its
verdict is kept in the record (`acro`), with a check that every cell ACRO flags is suppressed or
flagged in what is published. Models are recorded as ACRO records them (type regression, dof
check), from the statsmodels fits (the pupil-level residual df; acro.logit on pupil rows gives the
same df and estimates, see the tests). Each chart is redrawn from its published table alone and
must be the published file. `cross_table_attack` runs the exact attacker on every exported count
together (the LA table, the region table, the RQ1 summary).

Status: "fail" when a rule is broken in what is written (a count of 1-9 or unrounded, a
suppressed cell the attacker recovers, a model under 10 residual df left published, a chart not
drawn from its published table); "review" when it passes but something is for the checker to
judge (zeros or full cells flagged under the policy, dominated sums, and every chart, as ACRO does
for custom outputs); otherwise "pass". Nothing here holds a pupil identifier: the pupil rows ACRO
sees carry only the level, LA, region and outcome.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .disclosure import BASE, DEFAULT_POLICY, THRESHOLD, Policy, determined_cells, memoised, one_blas_thread

ACRO_FORMAT_VERSION = "1.0.2"  # the ACRO release whose results.json layout is written
STATUSES = ("pass", "review", "fail")
CONTEXT = "https://w3id.org/statbarnsdc#"


@dataclass
class Check:
    """One check applied to an output: its name (ACRO's where ACRO has it), outcome, a one-line
    summary, and the cells it concerns as [row, column] positions in the written CSV."""

    name: str
    status: str
    summary: str
    cells: list = field(default_factory=list)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"check status must be one of {STATUSES}")


@dataclass
class ExportOutput:
    """A for-export output: a table (DataFrame, written as CSV) or a chart (PNG bytes)."""

    name: str  # the source asset; the output's uid and file stem
    kind: str  # "table", "regression" or "chart"
    data: pd.DataFrame | bytes
    checks: list
    comment: str
    method: str = ""
    statbarn: str = ""
    risks: list = field(default_factory=list)
    acro: dict | None = None  # ACRO's own verdict on the pupil-level rows, when run
    command: str = ""
    properties: dict = field(default_factory=dict)
    marks: pd.DataFrame | None = None  # per written cell: "ok" or "Check; " marks (tables)

    @property
    def filename(self) -> str:
        return f"{self.name}.png" if self.kind == "chart" else f"{self.name}.csv"

    @property
    def status(self) -> str:
        statuses = {c.status for c in self.checks}
        if "fail" in statuses:
            return "fail"
        if "review" in statuses or self.kind == "chart":
            return "review"
        return "pass"

    def content(self) -> bytes:
        if isinstance(self.data, bytes):
            return self.data
        return self.data.to_csv(index=False, lineterminator="\n").encode()


def _outcome(out: ExportOutput) -> dict:
    if out.kind == "chart" or not isinstance(out.data, pd.DataFrame):
        return {}
    marks = out.marks if out.marks is not None else cell_marks(out.data, out.checks)
    return json.loads(marks.to_json())


def cell_marks(df: pd.DataFrame, checks: list) -> pd.DataFrame:
    """ACRO's `outcome` table: "ok", or the names of the checks that concern the cell."""
    marks = pd.DataFrame("", index=[str(i) for i in range(len(df))], columns=list(df.columns))
    for c in checks:
        for r, col in c.cells:
            marks.iloc[r, col] += f"{c.name}; "
    return marks.replace("", "ok")


def record(out: ExportOutput, sha256: str, timestamp: str) -> dict:
    """One results.json entry, in ACRO's layout (plus `checks`, `source_asset`, `sha256`)."""
    checks_needed = [c.name for c in out.checks]
    sdc = {
        "summary": {c.name: len(c.cells) for c in out.checks},
        "cells": {c.name: [[int(r), int(k)] for r, k in c.cells] for c in out.checks},
    }
    kind = {"chart": "custom"}.get(out.kind, out.kind)
    return {
        "uid": out.name,
        "status": out.status,
        "type": kind,
        "properties": {"method": out.method, **out.properties},
        "files": [{"name": out.filename, "sdc": sdc, "sha256": sha256}],
        "outcome": _outcome(out),
        "command": out.command,
        "summary": "\n".join(f"{c.name}: {c.status} - {c.summary}" for c in out.checks),
        "timestamp": timestamp,
        "comments": [out.comment],
        "exception": "",
        "fair": {
            "context": CONTEXT,
            "statbarn": out.statbarn,
            "risks": list(out.risks),
            "checks_needed": checks_needed,
            "common_mitigations": ["Suppression", "Rounding"],
            "check_status": {c.name: c.status for c in out.checks},
        },
        "checks": [
            {"name": c.name, "status": c.status, "summary": c.summary, "cells": [[int(r), int(k)] for r, k in c.cells]}
            for c in out.checks
        ],
        "source_asset": out.name,
        "acro": out.acro,
    }


def config(threshold: int = THRESHOLD, base: int = BASE, policy: Policy = DEFAULT_POLICY) -> dict:
    """config.json: the rules applied (ours, then ACRO's defaults as read from its default.yaml)."""
    return {
        "safe_threshold": threshold,
        "safe_dof_threshold": threshold,
        "safe_round_base": base,
        "safe_nk_n": 2,
        "safe_nk_k": 0.90,
        "safe_pratio_p": 0.10,
        "zeros_are_disclosive": True,
        "check_missing_values": False,
        "suppress": True,
        "mitigation": "suppress+round",
        "zeros_policy": policy.zeros,
        "full_cells_policy": policy.full_cells,
        "secondary_suppression": "linked tables, exact linear-algebra attacker (disclosure.py, linked_sums.py)",
    }


def build_request(
    outputs: list[ExportOutput],
    timestamp: str | None = None,
    settings: dict | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> tuple[dict[str, bytes], dict]:
    """The request folder's files ({path in the folder: bytes}) and the results.json content:
    `<output files>`, results.json, config.json and checksums/<file>.txt (sha256 hex digest, as
    ACRO writes and SACRO's viewer reads)."""
    names = [o.name for o in outputs]
    if len(set(names)) != len(names):
        raise ValueError("every output needs its own name")
    timestamp = timestamp or datetime.datetime.now().isoformat(timespec="seconds")
    files, results = {}, {}
    for out in outputs:
        data = out.content()
        files[out.filename] = data
        results[out.name] = record(out, hashlib.sha256(data).hexdigest(), timestamp)
    doc = {
        "version": ACRO_FORMAT_VERSION,
        "tool": {
            "@type": "SoftwareApplication",
            "name": "mojdfe_assets output_checking (ACRO format)",
            "url": "https://github.com/AI-SDC/ACRO",
            "version": ACRO_FORMAT_VERSION,
        },
        "results": results,
    }
    files["results.json"] = json.dumps(doc, indent=4, default=_json_default).encode()
    files["config.json"] = json.dumps(settings or config(policy=policy), indent=4).encode()
    for name in sorted(files):
        files[f"checksums/{name}.txt"] = hashlib.sha256(files[name]).hexdigest().encode()
    return files, json.loads(files["results.json"])


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return str(o)


def acro_status(verdict: dict | None) -> str | None:
    """ACRO's status for an output: its record's, or for the RQ1 summary (one ACRO record per
    outcome) the worst of them; None when ACRO was not run."""
    if not verdict:
        return None
    if "status" in verdict:
        return verdict["status"]
    found = {v["status"] for v in verdict.values()}
    return next((s for s in ("fail", "review", "pass") if s in found), None)


def index_table(doc: dict) -> pd.DataFrame:
    """One row per output of a request: what the request asset stores (no timestamps, so a rerun
    on the same data gives the same table)."""
    from .schemas import OutputCheckingRequest

    rows = [
        {
            "uid": r["uid"],
            "type": r["type"],
            "status": r["status"],
            "file": r["files"][0]["name"],
            "sha256": r["files"][0]["sha256"],
            "checks": "; ".join(f"{c['name']}: {c['status']}" for c in r["checks"]),
            "acro": acro_status(r.get("acro")),
            "comment": r["comments"][0] if r["comments"] else "",
        }
        for r in doc["results"].values()
    ]
    columns = list(OutputCheckingRequest.to_schema().columns)
    return pd.DataFrame(rows, columns=columns).astype("string[pyarrow]")


# ---------------------------------------------------------------------------------------------
# Checks shared by the tables


def file_rule_checks(df: pd.DataFrame, count_columns: list[str], threshold: int, base: int) -> list[Check]:
    """Rules checked on the table as written: no count of 1 to threshold-1, every count a
    multiple of the rounding base."""
    small, unrounded = [], []
    for col in count_columns:
        k = df.columns.get_loc(col)
        v = pd.to_numeric(df[col], errors="coerce")
        for r in np.flatnonzero(((v > 0) & (v < threshold)).fillna(False).to_numpy(bool)):
            small.append([int(r), k])
        for r in np.flatnonzero((v.notna() & (v % base != 0)).to_numpy(bool)):
            unrounded.append([int(r), k])
    return [
        Check(
            "PublishedThresholdCheck",
            "fail" if small else "pass",
            f"{len(small)} published counts of 1-{threshold - 1} in the file",
            small,
        ),
        Check(
            "RoundingCheck",
            "fail" if unrounded else "pass",
            f"{len(unrounded)} published counts not a multiple of {base}",
            unrounded,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# ACRO on the pupil-level rows


def _acro():
    """Import acro without letting it reconfigure the process's logging (it calls
    logging.basicConfig at INFO on import) and keep its loggers quiet (no table is logged)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import acro  # noqa: PLC0415

    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    for name in ("acro", "acro:records", "acro:summary"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return acro


def _quiet(fn):
    """ACRO's own pandas calls raise FutureWarnings (observed=False): not ours to act on. It also
    formats every table and mask it checks into debug messages (f-strings, formatted with the
    level off, never kept): printed one cell wide, they cost nothing."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with (
            warnings.catch_warnings(),
            pd.option_context("display.max_rows", 1, "display.min_rows", 1, "display.max_columns", 1),
        ):
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", pd.errors.SettingWithCopyWarning)
            return fn(*args, **kwargs)

    return wrapper


def _acro_record(session) -> tuple[dict, pd.DataFrame]:
    rec = session.results.get(f"output_{session.results.output_id - 1}")
    flags = rec.outcome
    return (
        {
            "status": rec.status,
            "summary": rec.summary,
            "command": rec.command,
            "sdc_summary": rec.sdc.get("summary", {}),
            "statbarn": rec.fair.get("statbarn"),
            "checks": rec.fair.get("check_status", {}),
        },
        flags,
    )


def _flagged(outcome: pd.DataFrame, check: str) -> list[tuple]:
    out = []
    for col in outcome.columns:
        for row, v in outcome[col].items():
            if check in str(v):
                out.append((row, col))
    return out


@functools.cache
def _details():
    """acro's TableModelDetails with its count table worked out once. For a frequency table or a
    median, ACRO tabulates every pupil row four times or more, the same crosstab or pivot_table
    each time: the table itself, the count table of the threshold and zero checks, and an
    all-false mask of that table's shape for the required-zero and linked-table checks."""
    from acro.tablemodeldetails import TableModelDetails  # noqa: PLC0415

    class Details(TableModelDetails):
        def get_count_table(self) -> pd.DataFrame:
            if "_count" not in vars(self):
                self._count = super().get_count_table()
            return self._count.copy()

        def get_allfalse_table(self) -> pd.DataFrame:
            if self.model_type != "table":
                return super().get_allfalse_table()
            mask = self.get_count_table().astype(bool)  # the same call as ACRO's, then cleared
            mask[:] = False
            return mask

    return Details


def _distinct_rows(keys: list) -> tuple[list, np.ndarray] | None:
    """The distinct rows of a crosstab's keys (categoricals and booleans, no value missing), each
    with how many pupils it stands for, found by a count per code; None for other keys."""
    if not all(isinstance(k.dtype, pd.CategoricalDtype) or k.dtype == np.dtype(bool) for k in keys):
        return None
    codes = [k.cat.codes.to_numpy() if isinstance(k.dtype, pd.CategoricalDtype) else k.to_numpy() for k in keys]
    sizes = [len(k.cat.categories) if isinstance(k.dtype, pd.CategoricalDtype) else 2 for k in keys]
    if any((c < 0).any() for c in codes):
        return None
    counts = np.bincount(np.ravel_multi_index(codes, sizes), minlength=int(np.prod(sizes)))
    present = np.flatnonzero(counts)
    rows = [
        pd.Series(
            pd.Categorical.from_codes(c, dtype=k.dtype) if isinstance(k.dtype, pd.CategoricalDtype) else c.astype(bool),
            name=k.name,
        )
        for k, c in zip(keys, np.unravel_index(present, sizes))
    ]
    return rows, counts[present]


def _acro_crosstab(session, index, columns, command: str) -> None:
    """`session.crosstab(index, columns)` (a frequency table), with ACRO's pieces: the table is
    its count table, tabulated once. Keys of categoricals and booleans are given to ACRO as their
    distinct rows: the same values present (what ACRO reads of each key) and, by pd.crosstab
    summing how many pupils each row stands for, the same count table (unobserved cells 0) as
    pd.crosstab of every row. `command` is the line ACRO records (the prechecks keep the lines it
    recorded when they called session.crosstab, so the request's records are unchanged)."""
    from acro.table_utils import axis_to_list, get_redacted_table  # noqa: PLC0415

    kwargs = {
        "values": None,
        "rownames": None,
        "colnames": None,
        "aggfunc": None,
        "margins": False,
        "margins_name": "All",
        "dropna": False,
        "normalize": False,
    }
    index, columns = axis_to_list(index, prefix="row"), axis_to_list(columns, prefix="col")
    distinct = _distinct_rows([*index, *columns])
    if distinct is not None:
        rows, pupils = distinct
        index, columns = rows[: len(index)], rows[len(index) :]
    details = _details()(
        index=index,
        columns=columns,
        values=None,
        thekwargs=kwargs,
        risk_appetite=session.sdc_checks.risk_appetite,
        command="crosstab",
    )
    if distinct is not None:
        counted = pd.crosstab(index, columns, **{**kwargs, "values": pupils, "aggfunc": "sum"})
        details._count = counted.fillna(0).astype(np.int64)
    session._process_table_output(
        method="crosstab",
        command=command,
        table=details.get_count_table(),
        model_details=details,
        aggfunc=None,
        margins=False,
        margins_name="All",
        get_redacted_func=get_redacted_table,
    )


def _acro_pivot_table(session, data: pd.DataFrame, values: str, index: str, aggfunc: list, command: str) -> None:
    """`session.pivot_table(data, values=values, index=index, aggfunc=aggfunc)`, with ACRO's
    pieces: its count table tabulated once. `command` is the line ACRO would record."""
    from acro.table_utils import get_redacted_pivottable  # noqa: PLC0415

    kwargs = {
        "values": values,
        "index": [index],
        "columns": [],
        "aggfunc": aggfunc,
        "fill_value": None,
        "margins": False,
        "dropna": False,
        "margins_name": "All",
        "observed": False,
        "sort": True,
    }
    details = _details()(
        index=[data[index]],
        columns=[],
        values=data[values],
        thekwargs=kwargs,
        risk_appetite=session.sdc_checks.risk_appetite,
        command="pivot_table",
    )
    session._process_table_output(
        method="pivot_table",
        command=command,
        table=pd.pivot_table(data, **kwargs),
        model_details=details,
        aggfunc=aggfunc,
        margins=False,
        margins_name="All",
        get_redacted_func=get_redacted_pivottable,
    )


def _cells(flags: pd.DataFrame) -> list[tuple]:
    return [(r, c, chk) for chk in ("MinimumThresholdCheck", "PresenceOfZeroCheck") for r, c in _flagged(flags, chk)]


@_quiet
def acro_summary_precheck(frame: pd.DataFrame) -> dict:
    """ACRO on the pupil rows behind the RQ1 summary: per binary and ordinal outcome a crosstab
    of level by the outcome's value (pupils with it recorded), per count outcome a pivot_table
    of its median and count by level. Returns, per outcome, ACRO's verdict and the cells it
    flags as (level, value, check)."""
    from .effects import BINARY, COUNTS, ORDINAL
    from .schemas import LEVELS

    acro = _acro()
    session = acro.ACRO(suppress=False)
    level = frame["level"].astype(pd.CategoricalDtype(list(LEVELS)))
    out = {}
    for name in [*BINARY, *ORDINAL]:
        # the pupils with it recorded, built from codes (a range index: nothing to align)
        rec = frame[name].notna().to_numpy()
        if name in BINARY:
            values = pd.Series(frame[name].to_numpy(dtype=bool, na_value=False)[rec])
        else:  # the categories present in text order, as ACRO would tabulate the text (no text per pupil)
            column = frame[name].astype("category")
            codes = column.cat.codes.to_numpy()[rec]
            texts = np.asarray([str(c) for c in column.cat.categories], dtype=object)
            present = np.flatnonzero(np.bincount(codes, minlength=len(texts)))
            order = np.argsort(texts[present], kind="stable")
            place = np.empty(len(texts), dtype=np.int64)
            place[present[order]] = np.arange(len(present))
            values = pd.Series(pd.Categorical.from_codes(place[codes], categories=list(texts[present][order])))
        _acro_crosstab(
            session,
            pd.Series(pd.Categorical.from_codes(level.cat.codes.to_numpy()[rec], dtype=level.dtype), name="level"),
            values.rename(name),
            'session.crosstab(level[rec].rename("level"), values.rename(name))',
        )
        verdict, flags = _acro_record(session)
        verdict["cells"] = [(str(r), str(c), chk) for r, c, chk in _cells(flags)]
        out[name] = verdict
    for name in COUNTS:
        rec = frame[name].notna().to_numpy()
        data = pd.DataFrame({"level": level[rec], name: frame.loc[rec, name].astype(float).to_numpy()})
        _acro_pivot_table(
            session,
            data,
            name,
            "level",
            ["median", "count"],
            'session.pivot_table(data, values=name, index="level", aggfunc=["median", "count"])',
        )
        verdict, flags = _acro_record(session)
        verdict["cells"] = [(str(r), str(c), chk) for r, c, chk in _cells(flags)]
        out[name] = verdict
    return out


@_quiet
def acro_area_precheck(pupil_outcomes: pd.DataFrame, unit: str = "la") -> dict:
    """ACRO on the pupil rows behind an area table: a crosstab of the LA (or its region) by level
    and caution or conviction (linked pupils with an LA), the outcome as a dimension."""
    from .la_aggregates import region_of
    from .schemas import LEVELS

    acro = _acro()
    session = acro.ACRO(suppress=False)
    linked = (pupil_outcomes["most_severe_disposal"].notna() & pupil_outcomes["la"].notna()).to_numpy()
    sub = pupil_outcomes.loc[linked, ["la", "level", "first_cj_contact_date"]]
    # the area as a categorical of the areas present, in text order (ACRO tabulates it as it
    # would the text, at a fraction of the cost at national scale): the LAs found by Arrow's
    # dictionary, each written as text once
    codes, present = pd.factorize(sub["la"])
    names, order = np.unique(np.asarray(present.astype(str), dtype=object), return_inverse=True)
    la = pd.Categorical.from_codes(order[codes], categories=names)
    if unit != "la":  # each LA's region, worked out once per LA and placed by its code
        names, per_la = np.unique(np.asarray(region_of(list(la.categories)), dtype=object), return_inverse=True)
        la = pd.Categorical.from_codes(per_la[la.codes], categories=names)
    area = pd.Series(la, name=unit)
    level = sub["level"].astype(pd.CategoricalDtype(list(LEVELS))).rename("level").reset_index(drop=True)
    cj = sub["first_cj_contact_date"].notna().rename("cj_contact").reset_index(drop=True)
    _acro_crosstab(session, area, [level, cj], "session.crosstab(area, [level, cj])")
    verdict, flags = _acro_record(session)
    cells = []
    for r, c, chk in _cells(flags):
        lv, value = c if isinstance(c, tuple) else (c, None)
        cells.append((str(r), str(lv), str(value), chk))
    verdict["cells"] = cells
    return verdict


# ---------------------------------------------------------------------------------------------
# The LA and region tables (la_aggregates.protect_areas)

AREA_TABLES = {"la": ("la_aggregates_publishable", "la"), "region": ("region_aggregates_publishable", "region_code")}


def area_table_output(
    kind: str,
    protection,
    published: pd.DataFrame,
    threshold: int = THRESHOLD,
    base: int = BASE,
    policy: Policy = DEFAULT_POLICY,
    acro: dict | None = None,
    extra_checks: list | None = None,
) -> ExportOutput:
    """The record of la_aggregates_publishable (kind "la") or region_aggregates_publishable
    ("region") from the protection of both (`la_aggregates.protect_areas`, recomputed: it is
    deterministic) to list the cells each rule acted on, the rules checked on the written table,
    and the attacker's result on the table alone."""
    name, unit = AREA_TABLES[kind]
    wide, prot, flagged, cls = (
        protection.wide[kind],
        protection.prot[kind],
        protection.flagged[kind],
        protection.cls[kind],
    )
    both = protection.added[kind]
    added = both.drop(index="total", columns="total")
    added_totals = int(both.to_numpy().sum() - added.to_numpy().sum())
    df = published.reset_index(drop=True)
    pos = {(str(a), str(b)): i for i, (a, b) in enumerate(zip(df[unit], df["level"]))}
    kp, kc = df.columns.get_loc("pupils"), df.columns.get_loc("cj_contact")

    def cells(mask: pd.DataFrame) -> list:
        out = []
        for area in mask.index:
            for lv in mask.columns:
                if mask.loc[area, lv] and (str(area), str(lv)) in pos:
                    i = pos[(str(area), str(lv))]
                    out += [[i, kp], [i, kc]]
        return out

    primary = prot["pupils"].primary | prot["cj_contact"].primary | prot["not_cj"].primary
    suppressed = prot["pupils"].suppressed
    forced_zero = suppressed & cls["zero"] & ~primary
    forced_full = suppressed & cls["full"] & ~primary
    secondary = suppressed & ~primary & ~forced_zero & ~forced_full
    leaks = sum(len(determined_cells(wide[n], prot[n].suppressed)) for n in wide)
    zero_flag, full_flag = flagged & cls["zero"], flagged & cls["full"]
    other = "region" if kind == "la" else "LA"
    checks = [
        Check(
            "MinimumThresholdCheck",
            "pass",
            f"{int(primary.to_numpy().sum())} {unit} x level cells with 1-{threshold - 1} pupils, cautioned or "
            "convicted, or not, suppressed in all three linked tables",
            cells(primary),
        ),
        Check(
            "SecondarySuppressionCheck",
            "pass",
            f"{int(secondary.to_numpy().sum())} further cells suppressed so that no suppressed count follows from "
            f"the totals or by subtraction (disclosure.protect_linked), {int((added & suppressed).to_numpy().sum())} "
            f"of them so that none follows with the {other} table (a region is the sum of its LAs)"
            + (f"; {added_totals} totals suppressed for the same reason" if added_totals else ""),
            cells(secondary),
        ),
        *_class_checks(
            cells,
            policy,
            zero_flag,
            forced_zero,
            cls["structural"] & cls["zero"],
            full_flag & ~cls["zero"],
            forced_full,
        ),
        *file_rule_checks(df, ["pupils", "cj_contact"], threshold, base),
        Check(
            "PresenceOfLinkedTableCheck",
            "fail" if leaks else "pass",
            f"exact attacker (disclosure.determined_cells, exact totals) found {leaks} recoverable cells in "
            "pupils / cj_contact / not_cj of this table alone",
            [],
        ),
    ]
    if acro is not None:
        checks.append(_acro_area_agreement(acro, suppressed, flagged, cls, policy))
    checks += extra_checks or []
    comment = (
        f"threshold {threshold}, base-{base} rounding, linked secondary suppression (disclosure.py) across "
        f"pupils, cautioned or convicted and not, protected together with the {other} table "
        f"(la_aggregates.protect_areas), zeros and full cells: {policy.describe()}; attacker found {leaks} "
        "recoverable cells in this table; rates and ratios from published counts"
    )
    return _frequency_table(
        name,
        df,
        checks,
        comment,
        "la_aggregates.protect_areas",
        "la_aggregates.publishable_areas(la_aggregates, region_aggregates)",
        acro,
        threshold,
        base,
        policy,
    )


def _frequency_table(
    name: str,
    df: pd.DataFrame,
    checks: list,
    comment: str,
    method: str,
    command: str,
    acro: dict | None,
    threshold: int,
    base: int,
    policy: Policy,
) -> ExportOutput:
    """The record of a protected frequency table (suppression and rounding, ACRO's statbarn
    Frequencies)."""
    return ExportOutput(
        name,
        "table",
        df,
        checks,
        comment,
        method=method,
        statbarn="Frequencies",
        risks=["ClassDisclosure", "Differencing", "LowCount"],
        acro=acro,
        command=command,
        properties={
            "mitigation": "suppress+round",
            "round_base": base,
            "threshold": threshold,
            "policy": policy.describe(),
        },
    )


def _class_checks(
    cells, policy: Policy, zero_flagged, zero_forced, zero_structural, full_flagged, full_forced
) -> list[Check]:
    """The zero and full-cell checks of a frequency table: `cells(mask)` lists a mask's cells
    (row, column) in the published file; the masks are the cells flagged, suppressed because of
    the policy (forced) and structural."""
    return [
        _class_check(
            "PresenceOfZeroCheck",
            "zero",
            policy.zeros,
            cells(zero_flagged),
            cells(zero_forced),
            _n(zero_flagged),
            _n(zero_forced),
            _n(zero_structural),
        ),
        _class_check(
            "FullCellCheck",
            "full",
            policy.full_cells,
            cells(full_flagged),
            cells(full_forced),
            _n(full_flagged),
            _n(full_forced),
        ),
    ]


def _class_check(
    name: str, what: str, action: str, flagged: list, forced: list, n_flagged: int, n_forced: int, structural: int = 0
) -> Check:
    """The zero or full-cell check under the policy's action for it."""
    if action == "flag":
        status = "review" if n_flagged else "pass"
        text = f"{n_flagged} {what} cells published and flagged for the checker (class disclosure)"
    elif action == "suppress":
        status = "review" if n_flagged else "pass"
        text = f"{n_forced} {what} cells suppressed like small cells" + (
            f"; {n_flagged} structural (their line total is 0, published) flagged" if n_flagged else ""
        )
    else:
        status, text = "pass", f"{what} cells published (policy: publish)"
    if structural:
        text += f" ({structural} structural)"
    return Check(name, status, text, flagged + forced)


def _acro_area_agreement(acro: dict, suppressed, flagged, cls, policy: Policy) -> Check:
    """Every cell ACRO flags on the pupil rows is suppressed here, or for a zero (or full) cell,
    flagged, structural or suppressed."""
    missed = []
    for area, lv, _value, chk in acro["cells"]:
        if area not in suppressed.index or lv not in suppressed.columns:
            continue
        hidden = bool(suppressed.loc[area, lv])
        marked = bool(flagged.loc[area, lv]) or bool(cls["structural"].loc[area, lv])
        if chk == "MinimumThresholdCheck" and bool(cls["zero"].loc[area, lv] | cls["full"].loc[area, lv]):
            chk = "PresenceOfZeroCheck"  # ACRO's threshold (count < 10) also catches zeros: those follow the policy
        if chk == "MinimumThresholdCheck" and not hidden:
            missed.append((area, lv, chk))
        if chk == "PresenceOfZeroCheck" and not (hidden or marked) and policy.zeros != "publish":
            missed.append((area, lv, chk))
    return Check(
        "AcroAgreementCheck",
        "fail" if missed else "pass",
        f"ACRO on the pupil rows: status {acro['status']}, {len(acro['cells'])} cell flags; "
        f"{len(missed)} of them neither suppressed nor flagged here",
        [],
    )


# ---------------------------------------------------------------------------------------------
# The RQ1 summary (exports.py)


def summary_output(p, acro: dict | None = None, extra_checks: list | None = None) -> ExportOutput:
    """The record of intervention_outcome_summary_export from its SummaryProtection."""
    df = p.table.reset_index(drop=True)
    s = p.sums
    pos = {}
    for i, r in enumerate(df.itertuples()):
        cat = None if pd.isna(r.category) else r.category
        pos[("n", r.outcome, None, r.level)] = (i, df.columns.get_loc("n"))
        if r.measure != "median":
            pos[("events", r.outcome, cat, r.level)] = (i, df.columns.get_loc("events"))

    def cells(mask) -> list:
        return [list(pos[k]) for k, m in zip(s.keys, mask) if m and k in pos]

    forced_zero = p.primary & p.zero & ~((s.values > 0) & (s.values < p.threshold))
    forced_full = p.primary & p.full & ~p.zero & ~((s.values > 0) & (s.values < p.threshold))
    small = p.primary & ~forced_zero & ~forced_full
    implicit_small = s.implicit & (s.values > 0) & (s.values < p.threshold)
    rec = p.recoverable()
    medians = df[df["measure"] == "median"]
    med_bad = medians[medians["estimate"].notna() & (medians["n"].isna())]
    checks = [
        Check(
            "MinimumThresholdCheck",
            "pass",
            f"{int(small.sum())} counts of 1-{p.threshold - 1} suppressed; {int(implicit_small.sum())} complements "
            f"(n - events, other categories, linked pupils without an LA) of 1-{p.threshold - 1} kept from being "
            "determined",
            cells(small),
        ),
        Check(
            "SecondarySuppressionCheck",
            "pass",
            f"{int(p.secondary.sum())} further counts suppressed across every outcome over the same pupils and the "
            "LA table's England totals (linked_sums.protect_sums)",
            cells(p.secondary),
        ),
        *_class_checks(
            cells,
            p.policy,
            p.flagged & p.zero,
            forced_zero,
            p.structural & p.zero,
            p.flagged & p.full & ~p.zero,
            forced_full,
        ),
        *file_rule_checks(df, ["n", "events"], p.threshold, p.base),
        Check(
            "MedianThresholdCheck",
            "fail" if len(med_bad) else "pass",
            f"medians published only with their n, and n >= {p.threshold}; interval ends only with "
            f">= {p.threshold} pupils at or beyond them",
            [],
        ),
        Check(
            "PresenceOfLinkedTableCheck",
            "fail" if rec or p.unprotected else "pass",
            f"exact attacker (linked_sums.determined) found {len(rec)} recoverable suppressed counts across the "
            "outcomes and the LA table's England totals",
            [],
        ),
    ]
    if acro is not None:
        checks.append(_acro_summary_agreement(acro, p))
    checks += extra_checks or []
    comment = (
        f"threshold {p.threshold}, base-{p.base} rounding, secondary suppression across every outcome over the "
        f"same pupils and the LA table's England totals (linked_sums.py), zeros and full cells: "
        f"{p.policy.describe()}; attacker found {len(rec)} recoverable cells; rates and Wilson CIs from "
        "published counts; medians with their n"
    )
    return _frequency_table(
        "intervention_outcome_summary_export",
        df,
        checks,
        comment,
        "exports.protect_summary",
        "exports.protect_summary(export_frame(pupil_outcomes), la_aggregates_publishable)",
        acro,
        p.threshold,
        p.base,
        p.policy,
    )


def _n(mask) -> int:
    return int(np.asarray(mask).sum())


def _acro_summary_agreement(acro: dict, p) -> Check:
    """Every cell ACRO flags on the pupil rows is hidden here (a small count: the count, or for a
    small complement its events or n), or for a zero, flagged, structural or hidden."""
    from .effects import BINARY, COUNTS

    s = p.sums

    def hidden(key) -> bool:
        return key in s.index and not s.published[s.index[key]]

    def marked(key) -> bool:
        i = s.index.get(key)
        return i is not None and bool(p.flagged[i] or p.structural[i] or not s.published[i])

    missed = []
    for outcome, verdict in acro.items():
        for level, value, chk in verdict["cells"]:
            n = ("n", outcome, None, level)
            if outcome in COUNTS:
                key, complement = n, False
            elif outcome in BINARY:
                key, complement = ("events", outcome, None, level), value == "False"
            else:
                key, complement = ("events", outcome, value, level), False
            value = s.values[s.index[key]] if key in s.index and not complement else None
            if complement and key in s.index:
                value = s.values[s.index[n]] - s.values[s.index[key]]
            if chk == "MinimumThresholdCheck" and value == 0:
                chk = "PresenceOfZeroCheck"  # ACRO's threshold (count < 10) also catches zeros: those follow the policy
            if chk == "MinimumThresholdCheck":
                ok = (hidden(key) or hidden(n)) if complement else hidden(key)
            elif p.policy.zeros == "publish" and p.policy.full_cells == "publish":
                ok = True
            else:
                ok = marked(key) or hidden(n)
            if not ok:
                missed.append((outcome, level, value, chk))
    flags = sum(len(v["cells"]) for v in acro.values())
    worst = "fail" if any(v["status"] == "fail" for v in acro.values()) else "pass"
    return Check(
        "AcroAgreementCheck",
        "fail" if missed else "pass",
        f"ACRO on the pupil rows (crosstab of level by each outcome, pivot_table of medians): status {worst}, "
        f"{flags} cell flags; {len(missed)} of them neither suppressed nor flagged here",
        [],
    )


# ---------------------------------------------------------------------------------------------
# Models and charts


def models_output(table: pd.DataFrame, checks_by_model: dict, threshold: int = THRESHOLD) -> ExportOutput:
    df = table.reset_index(drop=True)
    k_est = df.columns.get_loc("estimate")
    low_dof = [m for m, c in checks_by_model.items() if not c["dof_ok"]]
    small = [[i, k_est] for i, r in enumerate(df.itertuples()) if r.suppressed]
    dominated = [
        [i, k_est]
        for i, r in enumerate(df.itertuples())
        if checks_by_model[r.outcome]["terms"][r.term]["dominated"] and not r.suppressed and pd.notna(r.estimate)
    ]
    left = df[~df["cells_at_least_threshold"].astype(bool) & df["estimate"].notna()]
    checks = [
        Check(
            "MinimumDoFCheck",
            "pass",
            f"residual degrees of freedom (pupils - parameters) >= {threshold} in {len(checks_by_model) - len(low_dof)} "
            f"of {len(checks_by_model)} models; terms of the others withheld",
            [],
        ),
        Check(
            "MinimumThresholdCheck",
            "fail" if len(left) else "pass",
            f"{len(small)} terms withheld: they rest on a cell (pupils with the term's value, with or without the "
            f"outcome) of fewer than {threshold} pupils",
            small,
        ),
        Check(
            "DominanceCheck",
            "review" if dominated else "pass",
            f"{len(dominated)} count-model terms whose sum is dominated (NK 2/90%, p-ratio 10%) are published for "
            "review",
            dominated,
        ),
        *file_rule_checks(df, ["n"], threshold, BASE),
    ]
    comment = (
        "statsmodels fits on covariate cells (identical to the pupil-level fits); n rounded to base 5; "
        f"residual df = n - parameters >= {threshold}; terms resting on cells under {threshold} withheld"
    )
    return ExportOutput(
        "intervention_outcome_models_export",
        "regression",
        df,
        checks,
        comment,
        method="statsmodels GLM / OrderedModel",
        statbarn="CorrelationCoefficients",
        risks=["LowDOF"],
        command="exports.protect_models(intervention_outcome_models, export_frame(pupil_outcomes))",
        properties={"dof": int(min((int(v) for v in df["residual_df"].dropna()), default=0))},
    )


def chart_output(name: str, png: bytes, redrawn: bytes, source: str, comment: str) -> ExportOutput:
    """A chart's record: the published PNG, and whether it is the chart drawn again from its
    published table alone (the drawing is deterministic: the same values give the same file)."""
    same = png == redrawn
    checks = [
        Check(
            "DrawnFromProtectedValuesCheck",
            "pass" if same else "fail",
            f"the published file {'is' if same else 'is not'} the chart drawn again from {source} alone",
            [],
        )
    ]
    return ExportOutput(
        name, "chart", png, checks, comment, method="matplotlib", statbarn="BarGraph", command=f"drawn from {source}"
    )


# ---------------------------------------------------------------------------------------------
# Across tables


@one_blas_thread
def cross_table_attack(
    la_agg: pd.DataFrame,
    la_published: pd.DataFrame,
    region_published: pd.DataFrame,
    summary,
    threshold: int = THRESHOLD,
    split: bool = True,
) -> dict:
    """The exact attacker on every exported count: the LA table's and the region table's pupils,
    cautioned or convicted and not per area x level with their totals (a region being the sum of
    its LAs), and the RQ1 summary's counts (over its fine cells), tied together by the equations
    that the LA cells of a level add up to that level's linked pupils with an LA, who are the
    summary's offending pupils. Given every published count exactly, and that counts are not
    negative, returns the suppressed counts (and small complements) of any table it determines.

    The summary meets the area tables only through those ties, the England totals by level: when
    the LA table publishes every one of them, the attacker's knowledge splits exactly into the
    area tables together (`la_aggregates.area_system`) and the summary with those totals
    (`SummaryProtection.recoverable`); otherwise (or with `split=False`) one system of every
    count is solved."""
    from .exports import hidden_england_levels, stack
    from .la_aggregates import area_system, linked_counts, published_frames
    from .linked_sums import determined, known_zero_cells, sensitive_hidden

    la_wide = linked_counts(la_agg)
    frames = {"la": published_frames(la_published, "la"), "region": published_frames(region_published, "region_code")}
    areas = area_system(la_wide, frames, threshold)
    s = summary.sums
    if not hidden_england_levels(la_published) and split:
        found = [areas.keys[i] for i in areas.leaks()] + [("rq1", *k) for k in summary.recoverable()]
        return {
            "recoverable": found,
            "targets": int(areas.sensitive.sum() + sensitive_hidden(s, summary.primary).sum()),
            "equations": int(areas.published.sum() + s.published.sum()),
            "method": "split at the England totals",
        }
    whole, primary, _ = stack(areas, s, summary.cells, la_wide, summary.primary)
    targets = np.flatnonzero(sensitive_hidden(whole, primary))
    zero = known_zero_cells(whole.matrix, whole.values, whole.published)
    found = [whole.keys[i] for i in determined(whole.matrix, whole.published, targets, zero_cells=zero)]
    return {
        "recoverable": found,
        "targets": len(targets),
        "equations": int(whole.published.sum()),
        "method": "one system",
    }


# ---------------------------------------------------------------------------------------------
# Every for-export output of the graph


def _same(stored: pd.DataFrame | None, computed: pd.DataFrame, name: str) -> list[Check]:
    """The stored asset equals what its protection gives now (so the record describes it)."""
    if stored is None:
        return []
    try:
        pd.testing.assert_frame_equal(
            stored.reset_index(drop=True), computed.reset_index(drop=True), check_dtype=False, check_categorical=False
        )
        ok = True
    except AssertionError:
        ok = False
    return [
        Check(
            "SourceMatchCheck",
            "pass" if ok else "fail",
            f"the stored {name} {'equals' if ok else 'differs from'} its protection recomputed here",
            [],
        )
    ]


@one_blas_thread
def request_outputs(
    pupil_outcomes: pd.DataFrame,
    la_aggregates: pd.DataFrame,
    la_published: pd.DataFrame,
    region_aggregates: pd.DataFrame,
    region_published: pd.DataFrame,
    models: pd.DataFrame,
    summary_export: pd.DataFrame | None = None,
    models_export: pd.DataFrame | None = None,
    charts: dict[str, bytes] | None = None,
    synthetic: bool = False,
    run_acro: bool = True,
    threshold: int = THRESHOLD,
    base: int = BASE,
    policy: Policy = DEFAULT_POLICY,
) -> tuple[list[ExportOutput], dict[str, float]]:
    """The output-checking request's outputs, from the assets they are made of, and the seconds
    each part took: the LA and region tables, the RQ1 summary and models for export, and the three
    export charts (the published files when `charts` gives them, each compared with the chart drawn
    again from its published table). The protection is recomputed (it is deterministic) to list what
    each rule did; stored export tables, when given, must equal it."""
    from .effects import outcome_frame
    from .exports import draw_outcomes_by_level_export, export_frame, protect_models, protect_summary
    from .la_aggregates import draw_la_map_export, publishable_areas
    from .maps import draw_funnel_published

    timings, clock = {}, time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock
        clock = now

    outcomes = outcome_frame(pupil_outcomes)
    frame = export_frame(pupil_outcomes, outcomes)
    # the protections the tables were made with (the same calls as their assets: remembered when
    # they ran in this process)
    la_again, _, region_again, _, areas = memoised(
        publishable_areas, la_aggregates, region_aggregates, threshold=threshold, base=base, policy=policy
    )
    p = memoised(
        protect_summary,
        frame,
        la_published,
        la_aggregates,
        region_published,
        threshold=threshold,
        base=base,
        policy=policy,
    )
    m_table, m_checks = memoised(protect_models, models, outcomes, threshold=threshold, base=base)
    lap("protection")
    cross = cross_table_attack(la_aggregates, la_published, region_published, p, threshold)
    cross_check = Check(
        "CrossTableDifferencingCheck",
        "fail" if cross["recoverable"] else "pass",
        f"exact attacker on every exported count together (LA table, region table and RQ1 summary, "
        f"tied by their shared England totals; {cross['method']}): {len(cross['recoverable'])} of "
        f"{cross['targets']} suppressed or small hidden counts recoverable",
        [],
    )
    lap("attacker")
    acro = {}
    if run_acro:
        acro = {
            "la": acro_area_precheck(pupil_outcomes, "la"),
            "region": acro_area_precheck(pupil_outcomes, "region"),
            "summary": acro_summary_precheck(frame),
        }
        lap("acro")
    la_out = area_table_output(
        "la",
        areas,
        la_published,
        threshold,
        base,
        policy,
        acro=acro.get("la"),
        extra_checks=[cross_check, *_same(la_published, la_again, "LA table")],
    )
    region_out = area_table_output(
        "region",
        areas,
        region_published,
        threshold,
        base,
        policy,
        acro=acro.get("region"),
        extra_checks=[cross_check, *_same(region_published, region_again, "region table")],
    )
    summary = summary_output(
        p, acro=acro.get("summary"), extra_checks=[cross_check, *_same(summary_export, p.table, "summary export")]
    )
    models_out = models_output(m_table, m_checks, threshold)
    models_out.checks += _same(models_export, m_table, "models export")
    # the files are the stored tables themselves (equal to their protection, SourceMatchCheck)
    for out, stored in ((summary, summary_export), (models_out, models_export)):
        if stored is not None:
            out.data = stored.reset_index(drop=True)
    lap("records")
    drawn = {
        "la_funnel_chart_export": draw_funnel_published(la_published, la_aggregates, synthetic),
        "la_map_chart_export": draw_la_map_export(la_published, synthetic),
        "outcomes_by_level_chart_export": draw_outcomes_by_level_export(
            summary_export if summary_export is not None else p.table, synthetic
        ),
    }
    charts = {**drawn, **(charts or {})}
    comments = {
        "la_funnel_chart_export": (
            "la_aggregates_publishable",
            (
                "funnel plots drawn only from LA x level cells published in la_aggregates_publishable (threshold "
                f"{threshold}, base-{base} rounding, linked secondary suppression); x is the model-based adjusted expected "
                "count of each published cell (la_aggregates), not a count of pupils"
            ),
        ),
        "la_map_chart_export": (
            "la_aggregates_publishable",
            (
                "hex map of the adjusted ratios of la_aggregates_publishable's published cells; a suppressed cell is "
                "hatched and carries no value"
            ),
        ),
        "outcomes_by_level_chart_export": (
            "intervention_outcome_summary_export",
            (
                "rates and medians drawn only from intervention_outcome_summary_export (protected values, n rounded to "
                "5); a suppressed value has no bar"
            ),
        ),
    }
    chart_outs = [
        chart_output(name, charts[name], drawn[name], source, comment) for name, (source, comment) in comments.items()
    ]
    lap("charts")
    return [la_out, region_out, summary, models_out, *chart_outs], timings

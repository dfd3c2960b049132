"""Seeded synthetic MoJ-DfE world: writes extracts shaped like the ones delivered in the SRS.

`generate(out, pupils, seed)` builds one coherent world (LAs, pupil spine, social-care
histories, outcomes) and writes every extract of `mojdfe_assets.extracts` as CSV text with the
delivered quirks: blanks as "" or " ", dates and years as text (two date forms), 0/1 flags,
weaker CIN completeness in 2008/09-2011/12, CLA_REASON_PLACE_CHANGE only from 2016, rows with
no pupil reference, known junk codes, a few duplicate rows and a few ceased-before-commenced
episodes. Same seed, size and release give byte-identical files.

It also writes `_synthetic/truth.parquet` (each child's designed level) and
`_synthetic/manifest.json`; these are for tests and calibration, never read by the pipeline.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import extracts as X
from . import care, outcomes
from . import timeline as tl
from .params import DEFAULT, LEVELS, WorldParams
from .world import make_children, make_las

__all__ = ["generate", "LEVELS", "WorldParams", "check_may_write", "SyntheticFolderError"]

TRUTH_DIR = "_synthetic"
OWNER_MARKER = "generated_by_mojdfe_synth"  # in TRUTH_DIR, written before any extract file


class SyntheticFolderError(ValueError):
    """A folder the generator may not write into: it holds files the generator did not make."""


def _old_world(folder: Path) -> bool:
    """A world written before the marker existed: its manifest names this generator."""
    try:
        return json.loads((folder / TRUTH_DIR / "manifest.json").read_text()).get("generator") == __name__
    except (OSError, ValueError):
        return False


def is_synthetic_folder(folder: str | Path) -> bool:
    """A folder this generator wrote (its marker, or the manifest of an older world)."""
    folder = Path(folder)
    return (folder / TRUTH_DIR / OWNER_MARKER).exists() or _old_world(folder)


def check_may_write(folder: str | Path) -> None:
    """The generator writes only into a folder it owns (its marker is there), an empty folder or a
    missing one; anything else (a folder of delivered extracts) is a clear error naming the folder
    and a file found there."""
    folder = Path(folder)
    if not folder.exists() or is_synthetic_folder(folder):
        return
    found = sorted(p.name for p in folder.iterdir() if p.name != ".generate.lock")
    truth = folder / TRUTH_DIR
    if found == [TRUTH_DIR] and truth.is_dir() and not any(truth.iterdir()):
        return  # another process has just begun generating here (its marker comes next)
    if found and is_synthetic_folder(folder):
        return  # ... and its marker appeared while the folder was being listed
    if found:
        delivered = [f for f in found if f in {e.file for e in X.ALL}]
        raise SyntheticFolderError(
            f"{folder} holds {'delivered extracts' if delivered else 'files'} (e.g. {(delivered or found)[0]}) and "
            "is not a synthetic world: refusing to generate synthetic extracts over them. To read this folder as "
            "real extracts, set `synthetic: false` for raw_extracts (or MOJDFE_RAW_DIR, or `mojdfe run --raw`); "
            "to generate a synthetic world, choose an empty folder."
        )


def _ids(keys: np.ndarray, prefix: str) -> pa.Array:
    """Fixed-width uppercase hex identifiers, built from the key bytes without a Python loop."""
    n = len(keys)
    raw = keys.astype(">u8").tobytes().hex().upper().encode("ascii")
    hexes = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw)])
    return pc.binary_join_element_wise(pa.scalar(prefix.encode()), hexes.cast(pa.binary()), b"").cast(pa.string())


def _text(values, valid=None) -> pa.Array:
    """Numbers or codes to a text column; invalid positions become missing."""
    arr = np.asarray(values)
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    if arr.dtype == object:  # None entries become missing
        return pa.array(arr, pa.string(), mask=mask)
    return pa.array(arr, mask=mask).cast(pa.string())


def _flag(b) -> pa.Array:
    return pa.array(np.where(np.asarray(b), "1", "0"), pa.string())


def _dates(days, valid, year) -> pa.Array:
    """Older processing years delivered ISO dates; later ones dd/mm/yyyy (both occur in one column)."""
    iso = tl.format_dates(days, valid, "iso")
    dmy = tl.format_dates(days, valid, "dmy")
    return pc.if_else(pa.array(np.asarray(year) <= 2009), iso, dmy)


def _blank(rng, col: pa.Array, share_space: float = 0.15) -> pa.Array:
    """Missing values as delivered: empty text, some a single space."""
    space = pc.and_(pc.is_null(col), pa.array(rng.random(len(col)) < share_space))
    return pc.if_else(space, " ", col.fill_null(""))


def _drop(rng, col: pa.Array, share: float, where=None) -> pa.Array:
    m = rng.random(len(col)) < share
    if where is not None:
        m &= np.asarray(where)
    return pc.if_else(pa.array(m), pa.scalar(None, pa.string()), col)


def _write(
    rng, out: Path, extract: X.Extract, cols: dict, order=None, dup_share: float = 0.0, minimal_quotes: bool = False
) -> int:
    table = pa.table({c: _blank(rng, cols[c]) for c in extract.columns})
    if order is not None:
        table = table.take(pa.array(order))
    if dup_share:
        dups = np.flatnonzero(rng.random(table.num_rows) < dup_share)
        idx = np.sort(np.r_[np.arange(table.num_rows), dups], kind="stable")
        table = table.take(pa.array(idx))
    tmp = out / (extract.file + ".tmp")
    if minimal_quotes:  # small files with text that needs quotes (LA names such as "Bristol, City of")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            w.writerow(table.column_names)
            w.writerows(zip(*(table.column(c).to_pylist() for c in table.column_names)))
    else:
        pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="none", quoting_header="none"))
    os.replace(tmp, out / extract.file)
    return table.num_rows


def generate(
    out: str | Path, pupils: int = 50_000, seed: int = 1, release: str = "latest", params: WorldParams = DEFAULT
) -> dict:
    """Generate a world of `pupils` spine pupils into folder `out`; returns the manifest."""
    if pupils < 100:
        raise ValueError("pupils must be at least 100")
    out = Path(out)
    check_may_write(out)
    (out / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    (out / TRUTH_DIR / OWNER_MARKER).write_text("This folder's extracts were written by `mojdfe synth` (synthetic).\n")
    rng = np.random.default_rng(seed)
    las = make_las(rng, params)
    ch = make_children(rng, params, las, pupils, seed)
    n = len(ch.level)
    pupil_id = _ids(ch.pupil_key, "")
    moj_uid = _ids(ch.moj_key, "M")
    in_spine = np.arange(n) < ch.n_spine
    moj_for_row = pc.if_else(pa.array(in_spine), moj_uid, pa.scalar(None, pa.string()))
    la_code = np.asarray(las.code, dtype=object)
    counts: dict[str, int] = {}

    # --- CLA ---------------------------------------------------------------------------------
    ep = care.simulate_cla_episodes(rng, params, ch)
    r = care.cla_rows(ep, release)
    e, c, y = r["episode"], r["child"], r["year"]
    no_pmr = rng.random(n) < params.cla_no_pmr_share
    end_or_m31 = np.where(r["ceased"], r["end"], r["m31"])
    at31 = ~r["ceased"]
    start_bad = rng.random(len(e)) < 0.0001  # ceased-before-commenced: commenced date keyed wrongly
    comm = np.where(start_bad & r["ceased"], r["end"] + rng.integers(1, 60, len(e)), r["start"])
    rpc = ep["rpc"][e]
    started_in_year = tl.collection_year(r["start"]) == y
    rpc_ok = started_in_year & (y >= 2016) & (rpc != None) & (rng.random(len(e)) < params.rpc_recorded_share)  # noqa: E711
    cols = {
        "MoJUID": moj_for_row.take(pa.array(c)),
        "CLA_ACADYR": tl.year_label(y),
        "CLA_PupilMatchingRefAnonymous": _drop(rng, pupil_id.take(pa.array(c)), 1.0, no_pmr[c]),
        "CLA_CLA_LA": _text(las.code_in_year(ch.la[c], y)),  # 820 / 875 before 2009/10
        "CLA_PROCESSING_YEAR": _text(y),
        "CLA_POC_START": _dates(r["poc_start"], None, y),
        "CLA_POC_LENGTH": _text(end_or_m31 - r["poc_start"]),
        "CLA_CAT_NEED": _text(ep["need"][e]),
        "CLA_DATE_EPI_COMM": _dates(comm, None, y),
        "CLA_DATE_EPI_CEASED": _dates(np.where(r["ceased"], r["end"], 0), r["ceased"], y),
        "CLA_LEGAL_STATUS": _text(ep["legal"][e]),
        "CLA_PLACEMENT": _text(ep["placement"][e]),
        "CLA_REC": _text(np.where(r["ceased"], ep["rec"][e], None)),
        "CLA_CLA_31_MARCH": _flag(at31),
        "CLA_CLA_6_MONTHS": _flag(at31 & (r["poc_start"] <= r["m31"] - 182)),
        "CLA_CLA_12_MONTHS": _flag(at31 & (r["poc_start"] <= r["m31"] - 365)),
        "CLA_CLA_PP_6_MONTHS": _flag(end_or_m31 - r["poc_start"] >= 182),
        "CLA_CLA_PP_1_DAY": _flag(end_or_m31 - r["poc_start"] >= 1),
        "CLA_REASON_PLACE_CHANGE": _text(np.where(rpc_ok, rpc, None)),
    }
    order = np.lexsort((r["start"], ch.pupil_key[c], y))
    counts["cla_rows"] = _write(rng, out, X.CLA, cols, order, dup_share=0.0002)

    # --- CIN ---------------------------------------------------------------------------------
    sp = care.cin_spells(rng, params, ch, ep)
    r = care.cin_rows(sp, release)
    s, c, y = r["spell"], r["child"], r["year"]
    early = y <= X.WEAK_CIN_COVERAGE_LAST_YEAR  # weaker completeness 2008/09-2011/12 (DfE 2023, via the guide)
    no_pmr = rng.random(n) < params.cin_no_pmr_share
    plan = r["on_plan"]
    category = np.where(plan, sp["category"][s], None)
    need = sp["need"][s].copy()
    alias = np.isin(need, ["N2", "N3", "N4", "N5"]) & (rng.random(len(s)) < 0.002)
    need[alias] = np.array(["A" + v[1:] for v in need[alias]], dtype=object)  # a handful of rows
    birth = ch.birth[c]
    cols = {
        "MoJUID": moj_for_row.take(pa.array(c)),
        "CIN_ACADYR": tl.year_label(y),
        "CIN_PupilMatchingRefAnonymous": _drop(rng, pupil_id.take(pa.array(c)), 1.0, no_pmr[c]),
        "CIN_CIN_AT31MARCH": _drop(rng, _flag(r["at31"]), 0.01, early),
        # CategoryOfAbuse is well filled to 2011/12; Initial/Latest take over from 2012/13.
        "CIN_CategoryOfAbuse": _drop(
            rng, _text(np.where(plan & ((y <= 2012) | (rng.random(len(s)) < 0.3)), category, None)), 0.08
        ),
        "CIN_InitialCategoryOfAbuse": _drop(rng, _text(np.where(plan & (y >= 2013), category, None)), 0.04),
        "CIN_LatestCategoryOfAbuse": _drop(
            rng, _text(np.where(plan & (y >= 2013), sp["latest_category"][s], None)), 0.04
        ),
        "CIN_NumberOfPreviousCPP": _drop(rng, _text(sp["prev_cpp"][s], plan), 0.03),
        "CIN_PrimaryNeedCode": _drop(rng, _text(need), 0.08, early),
        "CIN_ReferralNFA": _drop(rng, _flag(sp["nfa"][s]), 0.05, early),
        "CIN_ReasonForClosure": _drop(rng, _text(np.where(r["closed"], sp["closure"][s], None)), 0.10, early),
        "CIN_AgeStartOfCINPeriod": _drop(rng, _text(tl.age_years(birth, r["start"])), 0.05, early),
        "CIN_AgeEndOfCINPeriod": _text(tl.age_years(birth, np.where(r["closed"], r["end"], r["start"])), r["closed"]),
    }
    order = np.lexsort((r["start"], ch.pupil_key[c], y))
    counts["cin_rows"] = _write(rng, out, X.CIN, cols, order, dup_share=0.0002)

    # --- Spine and outcomes -------------------------------------------------------------------
    spine = np.flatnonzero(in_spine)
    sp_order = np.argsort(ch.pupil_key[spine], kind="stable")
    spine = spine[sp_order]
    pid, moj = pupil_id.take(pa.array(spine)), moj_uid.take(pa.array(spine))
    bdt = ch.birth[spine].astype("datetime64[D]")
    cols = {
        "MoJUID": moj,
        "KS4_PupilMatchingRefAnonymous": pid,
        "KS4_ACADYR": tl.year_label(ch.ks4_year[spine]),
        "KS4_LA": _text(la_code[ch.la[spine]]),
        "KS4_GENDER": _text(np.where(ch.male[spine], "M", "F").astype(object)),
        "KS4_YEAR_OF_BIRTH": _text(bdt.astype("datetime64[Y]").astype(int) + 1970),
        "KS4_MONTH_OF_BIRTH": _text(bdt.astype("datetime64[M]").astype(int) % 12 + 1),
        "KS4_FSM_EVER6": _flag(ch.fsm[spine]),
    }
    counts["spine_rows"] = _write(rng, out, X.SPINE, cols)

    k = outcomes.ks4(rng, params, ch, spine)
    cols = {
        "MoJUID": moj,
        "KS4_PupilMatchingRefAnonymous": pid,
        "KS4_ACADYR": tl.year_label(k["year"]),
        "KS4_LEVEL2_EM": _text(np.where(k["level2_em"], "1", "0").astype(object), k["sat"]),
        "KS4_ATT8": _text(k["att8"], k["att8_valid"]),
    }
    counts["ks4_rows"] = _write(rng, out, X.KS4, cols)

    a = outcomes.absence(rng, params, ch, spine)
    cols = {
        "MoJUID": moj,
        "AB_PupilMatchingRefAnonymous": pid,
        "AB_KS4_ACADYR": tl.year_label(a["year"]),
        "AB_SESSIONS_POSSIBLE": _text(a["possible"]),
        "AB_SESSIONS_UNAUTHORISED": _text(a["unauth"]),
        "AB_SESSIONS_AUTHORISED": _text(a["auth"]),
    }
    counts["absence_rows"] = _write(rng, out, X.ABSENCE, cols)

    x = outcomes.exclusions(rng, params, ch, spine)
    xi = pa.array(x["idx"])
    cols = {
        "MoJUID": moj_uid.take(xi),
        "EXC_PupilMatchingRefAnonymous": pupil_id.take(xi),
        "EXC_ACADYR": tl.year_label(x["year"]),
        "EXC_CATEGORY": _text(x["kind"]),
        "EXC_SESSIONS": _text(x["sessions"], x["kind"] == "FIXD"),
        "EXC_START_DATE": tl.format_dates(x["start"], None, "dmy"),
    }
    counts["exclusion_rows"] = _write(rng, out, X.EXCLUSIONS, cols)

    o = outcomes.offending(rng, params, ch, las, spine)
    cols = {
        "MoJUID": moj_uid.take(pa.array(o["idx"])),
        "PNC_OFFENCE_DATE": tl.format_dates(o["offence"], None, "dmy"),
        "PNC_DISPOSAL_DATE": tl.format_dates(o["disposal_date"], None, "dmy"),
        "PNC_DISPOSAL": _text(o["disposal"]),
    }
    counts["offending_rows"] = _write(rng, out, X.PNC, cols)

    lc = outcomes.la_context(rng, params, las, n)
    cols = {
        "LA_CODE": _text(lc["code"].astype(object)),
        "LA_NAME": _text(np.asarray(lc["name"], dtype=object)),
        "CHILD_POPULATION_0_17": _text(lc["pop"]),
        "IDACI_AVERAGE_SCORE": _text(lc["idaci"]),
        "RECORDED_CRIME_RATE_PER_1000": _text(lc["crime"]),
    }
    counts["la_context_rows"] = _write(rng, out, X.LA_CONTEXT, cols, minimal_quotes=True)

    # --- Truth (for tests and calibration only) -----------------------------------------------
    hidden = np.zeros(n, bool)
    hk = (sp["kind"] == 3) & (sp["cpp_start"] >= 0) & (sp["end"] - sp["start"] < 70)
    hidden[sp["child"][hk]] = True
    truth = pa.table(
        {
            "pupil_id": pupil_id,
            "moj_uid": moj_uid,
            "in_spine": pa.array(in_spine),
            "level": pa.array(np.asarray(LEVELS, dtype=object)[ch.level], pa.string()),
            "la": pa.array(la_code[ch.la], pa.string()),
            "fsm": pa.array(ch.fsm),
            "male": pa.array(ch.male),
            "cpp_hidden_by_latest_release": pa.array(hidden),
        }
    )
    pq.write_table(truth, out / TRUTH_DIR / "truth.parquet")
    manifest = {
        "generator": "mojdfe_assets.synthetic",
        "pupils": pupils,
        "seed": seed,
        "release": release,
        "children": int(n),
        "rows": counts,
        "declared_level_shares": dict(zip(LEVELS, params.level_shares)),
        "files": [e.file for e in X.ALL],
    }
    (out / TRUTH_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest

"""Fault injector: copies of a clean synthetic world, each with exactly one kind of fault.

Each function takes a clean world folder (made by `mojdfe_assets.synthetic.generate`), writes a
copy of it to `out` with one fault kind injected, and returns a small description of what it did:

    {"kind": ..., "files": [files changed], "rows": {file: [1-based data rows touched]},
     "pupils": [spine pupils touched, normalised], "file_error": bool, "note": "...",
     "expected_levels": {pupil: level}}   # only where the fault changes a pupil's true level

`file_error` is True when the contract says the whole file is an error (the pipeline stops, the
reference raises). Otherwise the fault is one of representation (the levels must not change) or
changes the levels only of the pupils in `expected_levels`. Everything is deterministic given the
seed (candidates are sorted before sampling with `random.Random(seed)`).

`FAULTS` maps a kind name to a function of (clean, out, seed); `inject(kind, clean, out, seed)`
calls it. The generator writes plain comma-separated text (no quoting, no commas in values, LF
line endings), which is what the line editing here assumes of the clean input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
from pathlib import Path

from mojdfe_assets import synthetic

CLA = "CLA_2006_to_2018.csv"
CIN = "CIN_08-09_to_16-17.csv"
SPINE = "NPD_KS4_spine.csv"
PUPIL = {
    CLA: "CLA_PupilMatchingRefAnonymous",
    CIN: "CIN_PupilMatchingRefAnonymous",
    SPINE: "KS4_PupilMatchingRefAnonymous",
}
CLA_DATES = ("CLA_POC_START", "CLA_DATE_EPI_COMM", "CLA_DATE_EPI_CEASED")
CLA_FLAGS = ("CLA_CLA_31_MARCH", "CLA_CLA_6_MONTHS", "CLA_CLA_12_MONTHS", "CLA_CLA_PP_6_MONTHS", "CLA_CLA_PP_1_DAY")
CIN_FLAGS = ("CIN_CIN_AT31MARCH", "CIN_ReferralNFA")
MIXED_TOKENS = ("NA", "NULL", ".", "-", "N/A", "NaN", "na", "null")


def clean_world(folder, pupils: int = 3_000, seed: int = 1) -> Path:
    """A clean world to inject faults into (the seeded synthetic generator, current release)."""
    synthetic.generate(folder, pupils=pupils, seed=seed)
    return Path(folder)


# ---------------------------------------------------------------------------------------------
# Plain text tables


class Table:
    """A delivered CSV as a header and rows of fields (the clean generator's plain format)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        lines = self.path.read_text().split("\n")
        if lines and lines[-1] == "":
            lines = lines[:-1]
        self.header = lines[0].split(",")
        self.rows = [line.split(",") for line in lines[1:]]

    def col(self, name: str) -> int:
        return self.header.index(name)

    def get(self, row: list[str], name: str) -> str:
        return row[self.col(name)]

    def set(self, row: list[str], name: str, value: str) -> None:
        row[self.col(name)] = value

    def pupil(self, row: list[str]) -> str:
        return row[self.col(PUPIL[self.path.name])].strip()

    def write(
        self, sep: str = ",", newline: str = "\n", quote: bool = False, bom: bool = False, path: Path | None = None
    ) -> None:
        def fmt(fields):
            return sep.join(f'"{f}"' for f in fields) if quote else sep.join(fields)

        text = newline.join([fmt(self.header), *(fmt(r) for r in self.rows)]) + newline
        data = text.encode("utf-8")
        (path or self.path).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _copy(clean, out) -> Path:
    clean, out = Path(clean), Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(clean, out)
    return out


def _spine(out: Path) -> set[str]:
    t = Table(out / SPINE)
    return {t.pupil(r) for r in t.rows}


def _by_pupil(t: Table) -> dict[str, list[int]]:
    """Row indexes (0-based into t.rows) per pupil reference (rows without one left out)."""
    out: dict[str, list[int]] = {}
    for i, r in enumerate(t.rows):
        p = t.pupil(r)
        if p:
            out.setdefault(p, []).append(i)
    return out


def _line_rng(seed: int, row: list[str]) -> random.Random:
    """A generator seeded by the row's content: identical rows (exact duplicates) get identical
    edits, so the fault does not turn a duplicate into two different rows."""
    digest = hashlib.sha256(f"{seed}|{','.join(row)}".encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def _parse(value: str) -> dt.date | None:
    v = value.strip()
    try:
        if "/" in v:
            d, m, y = v.split("/")
            return dt.date(int(y), int(m), int(d))
        if "-" in v:
            y, m, d = v.split("-")
            return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None
    return None


def _like(value: str, date: dt.date) -> str:
    """`date` written in the same form as `value` (dd/mm/yyyy or yyyy-mm-dd)."""
    return date.strftime("%d/%m/%Y") if "/" in value else date.isoformat()


def _rewrite_cla_dates(t: Table, rewrite) -> list[int]:
    """Each CLA date (stripped) given to `rewrite`, which returns the new text or None to leave
    it; the 1-based data rows where any date changed."""
    rows = []
    for i, r in enumerate(t.rows):
        hit = False
        for c in CLA_DATES:
            new = rewrite(t.get(r, c).strip())
            if new is not None:
                t.set(r, c, new)
                hit = True
        if hit:
            rows.append(i + 1)
    return rows


def _describe(kind, files, rows, pupils, spine, note, file_error=False, expected_levels=None) -> dict:
    return {
        "kind": kind,
        "files": list(files),
        "rows": {f: sorted(set(v)) for f, v in rows.items()},
        "pupils": sorted({p.strip().upper() for p in pupils if p.strip().upper() in spine}),
        "file_error": file_error,
        "note": note,
        "expected_levels": dict(expected_levels or {}),
    }


# ---------------------------------------------------------------------------------------------
# (a) a looked-after child whose every CLA row is quarantined


def cla_all_rows_quarantined(clean, out, seed=0, n=6) -> dict:
    """Every CLA row of `n` looked-after spine pupils made unusable for details: half get an
    unknown placement code (ZZ), half a ceased date the day before commenced. Membership (rule 10)
    keeps them looked after."""
    out = _copy(clean, out)
    spine = _spine(out)
    t = Table(out / CLA)
    groups = {p: ix for p, ix in _by_pupil(t).items() if p in spine}
    chosen = random.Random(seed).sample(sorted(groups), min(n, len(groups)))
    rows = []
    for k, p in enumerate(chosen):
        for i in groups[p]:
            r = t.rows[i]
            if k % 2 == 0:
                t.set(r, "CLA_PLACEMENT", "ZZ")
            else:
                comm = t.get(r, "CLA_DATE_EPI_COMM")
                t.set(r, "CLA_DATE_EPI_CEASED", _like(comm, _parse(comm) - dt.timedelta(days=1)))
            rows.append(i + 1)
    t.write()
    return _describe(
        "cla_all_rows_quarantined",
        [CLA],
        {CLA: rows},
        chosen,
        spine,
        "every CLA row of these pupils is quarantined (placement ZZ, or ceased the day "
        "before commenced); they stay looked_after",
    )


# ---------------------------------------------------------------------------------------------
# (b) lower-case identifiers and other spellings of sex


def lowercase_refs(clean, out, seed=0, share=0.25) -> dict:
    """Pupil references lower-cased in CLA and CIN for a share of the children (every row of
    each chosen child, in both files); the spine stays upper-case."""
    out = _copy(clean, out)
    spine = _spine(out)
    cla, cin = Table(out / CLA), Table(out / CIN)
    pupils = sorted({p for p in set(_by_pupil(cla)) | set(_by_pupil(cin)) if p.lower() != p})
    chosen = set(random.Random(seed).sample(pupils, int(len(pupils) * share)))
    rows = {CLA: [], CIN: []}
    for t in (cla, cin):
        c = t.col(PUPIL[t.path.name])
        for i, r in enumerate(t.rows):
            if t.pupil(r) in chosen:
                r[c] = r[c].lower()
                rows[t.path.name].append(i + 1)
        t.write()
    return _describe(
        "lowercase_refs",
        [CLA, CIN],
        rows,
        chosen,
        spine,
        "CLA/CIN pupil references lower-case for these children; spine upper-case",
    )


def spine_lowercase_refs(clean, out, seed=0, share=0.25) -> dict:
    """Spine pupil references lower-cased for a share of spine rows (CLA/CIN stay upper-case);
    the reference reports them upper-case."""
    out = _copy(clean, out)
    spine = _spine(out)
    t = Table(out / SPINE)
    c = t.col(PUPIL[SPINE])
    idx = sorted(random.Random(seed).sample(range(len(t.rows)), int(len(t.rows) * share)))
    pupils = []
    for i in idx:
        pupils.append(t.rows[i][c])
        t.rows[i][c] = t.rows[i][c].lower()
    t.write()
    return _describe(
        "spine_lowercase_refs",
        [SPINE],
        {SPINE: [i + 1 for i in idx]},
        pupils,
        spine,
        "spine pupil references lower-case; CLA/CIN upper-case",
    )


def _spine_sex(clean, out, kind, mapping, note) -> dict:
    out = _copy(clean, out)
    spine = _spine(out)
    t = Table(out / SPINE)
    rows = []
    for i, r in enumerate(t.rows):
        v = t.get(r, "KS4_GENDER")
        if v in mapping:
            t.set(r, "KS4_GENDER", mapping[v])
            rows.append(i + 1)
    t.write()
    return _describe(kind, [SPINE], {SPINE: rows}, [t.pupil(t.rows[i - 1]) for i in rows], spine, note)


def spine_sex_lowercase(clean, out, seed=0) -> dict:
    """Every spine KS4_GENDER written m/f."""
    return _spine_sex(clean, out, "spine_sex_lowercase", {"M": "m", "F": "f"}, "KS4_GENDER as m/f")


def spine_sex_numeric(clean, out, seed=0) -> dict:
    """Every spine KS4_GENDER written 1/2 (DfE GenderCurrent: 1 = male, 2 = female)."""
    return _spine_sex(clean, out, "spine_sex_numeric", {"M": "1", "F": "2"}, "KS4_GENDER as 1/2")


# ---------------------------------------------------------------------------------------------
# (c) missing values written as tokens


def missing_tokens(clean, out, seed=0, token: str | None = None, spine_share=0.05) -> dict:
    """Every blank value ("" or " ") of CLA and CIN written as a missing token (identifiers,
    codes, dates, flags, counts: every column), as an R (NA), SPSS/Stata/SAS (.) or SQL (NULL)
    export writes them. With `token=None` each column gets its own token from MIXED_TOKENS
    (shifted by the seed). In the spine, a share of rows get MoJUID and KS4_FSM_EVER6 as the
    token (both allowed missing)."""
    out = _copy(clean, out)
    spine = _spine(out)
    rows = {CLA: [], CIN: [], SPINE: []}

    def tok(col_index: int) -> str:
        return token if token is not None else MIXED_TOKENS[(col_index + seed) % len(MIXED_TOKENS)]

    for name in (CLA, CIN):
        t = Table(out / name)
        for i, r in enumerate(t.rows):
            hit = False
            for j, v in enumerate(r):
                if v.strip() == "":
                    r[j] = tok(j)
                    hit = True
            if hit:
                rows[name].append(i + 1)
        t.write()
    t = Table(out / SPINE)
    idx = sorted(random.Random(seed).sample(range(len(t.rows)), int(len(t.rows) * spine_share)))
    for i in idx:
        t.set(t.rows[i], "MoJUID", tok(t.col("MoJUID")))
        t.set(t.rows[i], "KS4_FSM_EVER6", tok(t.col("KS4_FSM_EVER6")))
    rows[SPINE] = [i + 1 for i in idx]
    t.write()
    pupils = [t.pupil(t.rows[i]) for i in idx]
    return _describe(
        "missing_tokens" + (f"[{token}]" if token else "[mixed]"),
        [CLA, CIN, SPINE],
        rows,
        pupils,
        spine,
        "blanks written as missing tokens; levels must not change",
    )


# ---------------------------------------------------------------------------------------------
# (d) a CLA file re-saved month-first


def cla_month_first(clean, out, seed=0, zero_pad=False) -> dict:
    """Every dd/mm/yyyy date of the CLA file written month-first, as US Excel re-saves it
    (m/d/yyyy without leading zeros unless `zero_pad`); ISO dates are left as they are. The
    contract makes the whole file an error."""
    out = _copy(clean, out)
    spine = _spine(out)
    t = Table(out / CLA)

    def month_first(v: str) -> str | None:
        if "/" not in v:
            return None
        d = _parse(v)
        return d.strftime("%m/%d/%Y") if zero_pad else f"{d.month}/{d.day}/{d.year}"

    rows = _rewrite_cla_dates(t, month_first)
    t.write()
    return _describe(
        "cla_month_first",
        [CLA],
        {CLA: rows},
        [],
        spine,
        "dd/mm/yyyy dates written mm/dd/yyyy: the file is an error",
        file_error=True,
    )


# ---------------------------------------------------------------------------------------------
# (e) an episode outside its collection year


def cla_episode_outside_year(clean, out, seed=0, n=6) -> dict:
    """`n` CLA rows of 2011/12 or later (one per spine pupil) given a May-June 2009 episode
    (commenced and period of care 05/05/2009, ceased 20/06/2009): not open in the row's
    collection year, so quarantined; the pupils stay looked after."""
    out = _copy(clean, out)
    spine = _spine(out)
    t = Table(out / CLA)
    cand, seen = [], set()
    for i, r in enumerate(t.rows):
        p = t.pupil(r)
        if p in spine and p not in seen and int(t.get(r, "CLA_ACADYR")[-4:]) >= 2012:
            cand.append(i)
            seen.add(p)
    idx = sorted(random.Random(seed).sample(cand, min(n, len(cand))))
    for i in idx:
        r = t.rows[i]
        t.set(r, "CLA_POC_START", "05/05/2009")
        t.set(r, "CLA_DATE_EPI_COMM", "05/05/2009")
        t.set(r, "CLA_DATE_EPI_CEASED", "20/06/2009")
        if t.get(r, "CLA_REC").strip() == "":
            t.set(r, "CLA_REC", "E13")
        t.set(r, "CLA_CLA_31_MARCH", "0")
    t.write()
    return _describe(
        "cla_episode_outside_year",
        [CLA],
        {CLA: [i + 1 for i in idx]},
        [t.pupil(t.rows[i]) for i in idx],
        spine,
        "a 2009 episode on a later year's row: quarantined, pupil still looked_after",
    )


# ---------------------------------------------------------------------------------------------
# (f) dates with a time part; flags as 1.0/0.0


def dates_with_time(clean, out, seed=0, style="iso") -> dict:
    """Every CLA date with a time part: style "iso" writes every date `yyyy-mm-dd 00:00:00` (an R
    POSIXct, pandas or SAS datetime export); style "dmy" appends ` 00:00` to each date as
    delivered (`dd/mm/yyyy 00:00`, `yyyy-mm-dd 00:00`)."""
    out = _copy(clean, out)
    spine = _spine(out)
    t = Table(out / CLA)

    def with_time(v: str) -> str | None:
        d = _parse(v) if v else None
        if d is None:
            return None
        return f"{d.isoformat()} 00:00:00" if style == "iso" else f"{v} 00:00"

    rows = _rewrite_cla_dates(t, with_time)
    t.write()
    return _describe(
        f"dates_with_time[{style}]",
        [CLA],
        {CLA: rows},
        [],
        spine,
        "every CLA date has a time part; levels must not change",
    )


def flags_as_float(clean, out, seed=0) -> dict:
    """Every 0/1 flag of CLA, CIN and the spine (KS4_FSM_EVER6) written 0.0/1.0 (a numeric
    export)."""
    out = _copy(clean, out)
    spine = _spine(out)
    rows = {}
    for name, cols in ((CLA, CLA_FLAGS), (CIN, CIN_FLAGS), (SPINE, ("KS4_FSM_EVER6",))):
        t = Table(out / name)
        rows[name] = []
        for i, r in enumerate(t.rows):
            hit = False
            for c in cols:
                v = t.get(r, c)
                if v in ("0", "1"):
                    t.set(r, c, v + ".0")
                    hit = True
            if hit:
                rows[name].append(i + 1)
        t.write()
    return _describe(
        "flags_as_float", [CLA, CIN, SPINE], rows, [], spine, "flags written 1.0/0.0; levels must not change"
    )


# ---------------------------------------------------------------------------------------------
# (g) CLA_REC -10 on open episodes


def cla_rec_minus10(clean, out, seed=0) -> dict:
    """CLA_REC written -10 (no end) on every open episode (no ceased date)."""
    out = _copy(clean, out)
    spine = _spine(out)
    t = Table(out / CLA)
    rows = []
    for i, r in enumerate(t.rows):
        if t.get(r, "CLA_DATE_EPI_CEASED").strip() == "" and t.get(r, "CLA_REC").strip() == "":
            t.set(r, "CLA_REC", "-10")
            rows.append(i + 1)
    t.write()
    return _describe(
        "cla_rec_minus10",
        [CLA],
        {CLA: rows},
        [t.pupil(t.rows[i - 1]) for i in rows],
        spine,
        "CLA_REC -10 on open episodes: missing, not an unknown code",
    )


# ---------------------------------------------------------------------------------------------
# (h) a tab-delimited file; (i) duplicated header names


def tab_delimited(clean, out, seed=0, file=CLA) -> dict:
    """`file` written tab-delimited (same header and values): the file is an error."""
    out = _copy(clean, out)
    spine = _spine(out)
    Table(out / file).write(sep="\t")
    return _describe(
        f"tab_delimited[{file}]", [file], {}, [], spine, "tab-delimited: the file is an error", file_error=True
    )


def header_duplicate_name(clean, out, seed=0, case=False) -> dict:
    """A header with a name twice. `case=False`: the CIN file gets a second CIN_CIN_AT31MARCH
    column (every value 0) at the end; `case=True`: the CLA file gets an extra
    cla_pupilmatchingrefanonymous column (every value blank), a name differing only in case from
    CLA_PupilMatchingRefAnonymous. Either way the file is an error (a reader that took the last
    copy would silently lose every child in need, or every looked-after child)."""
    out = _copy(clean, out)
    spine = _spine(out)
    name, extra, value = (CLA, "cla_pupilmatchingrefanonymous", "") if case else (CIN, "CIN_CIN_AT31MARCH", "0")
    t = Table(out / name)
    t.header.append(extra)
    for r in t.rows:
        r.append(value)
    t.write()
    return _describe(
        "header_duplicate_name[" + ("case" if case else "exact") + "]",
        [name],
        {},
        [],
        spine,
        f"{name}: header has {extra} twice (case-insensitively): the file is an error",
        file_error=True,
    )


# ---------------------------------------------------------------------------------------------
# (j) exact duplicates and conflicting rows


def duplicate_and_conflicting_rows(clean, out, seed=0, n_dup=8, n_conflict=4) -> dict:
    """CLA: `n_dup` rows delivered twice (the copy right after the original) and `n_conflict`
    episodes delivered twice with different placements (half of them the only CLA row of a spine
    pupil); CIN: `n_dup` rows delivered twice. Duplicates' later copies and every conflicting copy
    are quarantined; the levels must not change."""
    out = _copy(clean, out)
    spine = _spine(out)
    rng = random.Random(seed)
    cla, cin = Table(out / CLA), Table(out / CIN)
    groups = _by_pupil(cla)
    single = sorted(ix[0] for p, ix in groups.items() if p in spine and len(ix) == 1)
    conflict = set(rng.sample(single, min(n_conflict // 2, len(single))))
    others = sorted(i for p, ix in groups.items() if p in spine for i in ix if i not in conflict)
    conflict |= set(rng.sample(others, n_conflict - len(conflict)))
    dup = set(rng.sample(sorted({i for ix in groups.values() for i in ix} - conflict), n_dup))
    new_rows, touched, pupils = [], [], []
    for i, r in enumerate(cla.rows):
        new_rows.append(r)
        if i in dup or i in conflict:
            copy = list(r)
            if i in conflict:
                place = cla.get(r, "CLA_PLACEMENT")
                cla.set(copy, "CLA_PLACEMENT", "U6" if place != "U6" else "U4")
                touched.append(len(new_rows))  # the original is touched too (all copies)
                pupils.append(cla.pupil(r))
            new_rows.append(copy)
            touched.append(len(new_rows))
    cla.rows = new_rows
    cla.write()
    cin_groups = _by_pupil(cin)
    cin_dup = set(rng.sample(sorted(i for ix in cin_groups.values() for i in ix), n_dup))
    new_rows, cin_touched = [], []
    for i, r in enumerate(cin.rows):
        new_rows.append(r)
        if i in cin_dup:
            new_rows.append(list(r))
            cin_touched.append(len(new_rows))
    cin.rows = new_rows
    cin.write()
    return _describe(
        "duplicate_and_conflicting_rows",
        [CLA, CIN],
        {CLA: touched, CIN: cin_touched},
        pupils,
        spine,
        "exact copies (later copy quarantined) and conflicting copies of one episode (all "
        "copies quarantined); conflicting pupils stay looked_after",
    )


# ---------------------------------------------------------------------------------------------
# (k) a CIN child whose only CIN rows are quarantined


def cin_only_rows_quarantined(clean, out, seed=0, n=8) -> dict:
    """Every CIN row of `n` spine pupils who are not in CLA and were at least in need (a 31 March
    flag of 1 or a category of abuse on some row) given an unknown primary need code (N10): their
    rows are all quarantined and they become referral_only (membership only)."""
    out = _copy(clean, out)
    spine = _spine(out)
    cla_pupils = {p.upper() for p in _by_pupil(Table(out / CLA))}
    t = Table(out / CIN)
    groups = _by_pupil(t)

    def involved(ix):
        return any(
            t.get(t.rows[i], "CIN_CIN_AT31MARCH").strip() == "1"
            or t.get(t.rows[i], "CIN_CategoryOfAbuse").strip() != ""
            for i in ix
        )

    cand = sorted(p for p, ix in groups.items() if p in spine and p.upper() not in cla_pupils and involved(ix))
    chosen = random.Random(seed).sample(cand, min(n, len(cand)))
    rows = []
    for p in chosen:
        for i in groups[p]:
            t.set(t.rows[i], "CIN_PrimaryNeedCode", "N10")
            rows.append(i + 1)
    t.write()
    return _describe(
        "cin_only_rows_quarantined",
        [CIN],
        {CIN: rows},
        chosen,
        spine,
        "every CIN row of these pupils has an unknown need code: they are referral_only",
        expected_levels={p.upper(): "referral_only" for p in chosen},
    )


# ---------------------------------------------------------------------------------------------
# (l) plans recorded only by their latest category


def cpp_latest_category_only(clean, out, seed=0, n=8) -> dict:
    """Every CIN row of `n` spine pupils who are not in CLA and have a latest category of abuse on
    some row: the category of abuse, the initial category and the previous-plan count blanked, as
    a 2012/13+ return with the initial category left blank gives them. They stay CPP with method a
    on all three items (the default); with `cpp_method_a="guide"` they are not CPP."""
    out = _copy(clean, out)
    spine = _spine(out)
    cla_pupils = {p.upper() for p in _by_pupil(Table(out / CLA))}
    t = Table(out / CIN)
    groups = _by_pupil(t)
    cand = sorted(
        p
        for p, ix in groups.items()
        if p in spine
        and p.upper() not in cla_pupils
        and any(t.get(t.rows[i], "CIN_LatestCategoryOfAbuse").strip() for i in ix)
    )
    chosen = random.Random(seed).sample(cand, min(n, len(cand)))
    rows = []
    for p in chosen:
        for i in groups[p]:
            for c in ("CIN_CategoryOfAbuse", "CIN_InitialCategoryOfAbuse", "CIN_NumberOfPreviousCPP"):
                t.set(t.rows[i], c, "")
            rows.append(i + 1)
    t.write()
    return _describe(
        "cpp_latest_category_only",
        [CIN],
        {CIN: rows},
        chosen,
        spine,
        "these pupils' plans are recorded only by the latest category: CPP with all three items",
    )


# ---------------------------------------------------------------------------------------------
# Excel re-save (several representation faults together)


def excel_resave(clean, out, seed=0, trailing_share=0.3) -> dict:
    """CLA, CIN and spine as a UK Excel "CSV UTF-8" re-save leaves them: a byte-order mark before
    the header, CRLF line endings, every value (and header name) in double quotes, ISO dates
    rewritten dd/mm/yyyy, and trailing spaces inside the quotes of some values (chosen by the
    row's content, so exact duplicates stay exact). The levels must not change."""
    out = _copy(clean, out)
    spine = _spine(out)
    rows = {}
    for name in (CLA, CIN, SPINE):
        t = Table(out / name)
        date_cols = [t.col(c) for c in CLA_DATES] if name == CLA else []
        rows[name] = []
        for i, r in enumerate(t.rows):
            rng = _line_rng(seed, r)
            for j in date_cols:
                v = r[j].strip()
                if "-" in v:
                    r[j] = _parse(v).strftime("%d/%m/%Y")
            for j, v in enumerate(r):
                if v and rng.random() < trailing_share:
                    r[j] = v + "  "
            rows[name].append(i + 1)
        t.write(newline="\r\n", quote=True, bom=True)
    return _describe(
        "excel_resave",
        [CLA, CIN, SPINE],
        rows,
        [],
        spine,
        "BOM, CRLF, quoted values, dd/mm/yyyy dates, trailing spaces; levels must not change",
    )


# ---------------------------------------------------------------------------------------------
# Further kinds


def academic_year_forms(clean, out, seed=0) -> dict:
    """CLA and CIN academic years written 2012/13, 2012-2013 or 2012-13 (chosen by the row's
    content) instead of 2012/2013. The levels must not change."""
    out = _copy(clean, out)
    spine = _spine(out)
    rows = {}
    for name, col in ((CLA, "CLA_ACADYR"), (CIN, "CIN_ACADYR")):
        t = Table(out / name)
        rows[name] = []
        for i, r in enumerate(t.rows):
            start, end = t.get(r, col).split("/")
            form = _line_rng(seed, r).randrange(4)
            t.set(r, col, [f"{start}/{end}", f"{start}/{end[2:]}", f"{start}-{end}", f"{start}-{end[2:]}"][form])
            if form:
                rows[name].append(i + 1)
        t.write()
    return _describe(
        "academic_year_forms",
        [CLA, CIN],
        rows,
        [],
        spine,
        "academic years in the four accepted forms; levels must not change",
    )


def unreadable_rows(clean, out, seed=0, n=3) -> dict:
    """The only CLA row of `n` looked-after spine pupils made unreadable (alternately truncated,
    an extra field, bytes that are not UTF-8): unreadable rows give no membership (rule 10), so
    these pupils are no longer looked after (their level then comes from CIN, if any)."""
    out = _copy(clean, out)
    spine = _spine(out)
    t = Table(out / CLA)
    groups = _by_pupil(t)
    single = sorted(p for p, ix in groups.items() if p in spine and len(ix) == 1)
    chosen = random.Random(seed).sample(single, min(n, len(single)))
    lines = [",".join(t.header).encode()] + [",".join(r).encode() for r in t.rows]
    rows = []
    for k, p in enumerate(chosen):
        i = groups[p][0]
        line = lines[i + 1]
        if k % 3 == 0:
            line = b",".join(line.split(b",")[:-3])
        elif k % 3 == 1:
            line = line + b",EXTRA"
        else:
            parts = line.split(b",")
            parts[t.col("CLA_CLA_LA")] = b"2\xe901"
            line = b",".join(parts)
        lines[i + 1] = line
        rows.append(i + 1)
    (out / CLA).write_bytes(b"\n".join(lines) + b"\n")
    return _describe(
        "unreadable_rows",
        [CLA],
        {CLA: rows},
        chosen,
        spine,
        "the only CLA row of these pupils cannot be read: they are not looked_after "
        "(expected level from their CIN rows)",
    )


FAULTS = {
    "cla_all_rows_quarantined": cla_all_rows_quarantined,
    "lowercase_refs": lowercase_refs,
    "spine_lowercase_refs": spine_lowercase_refs,
    "spine_sex_lowercase": spine_sex_lowercase,
    "spine_sex_numeric": spine_sex_numeric,
    "missing_tokens_na": lambda clean, out, seed=0: missing_tokens(clean, out, seed, token="NA"),
    "missing_tokens_dot": lambda clean, out, seed=0: missing_tokens(clean, out, seed, token="."),
    "missing_tokens_mixed": lambda clean, out, seed=0: missing_tokens(clean, out, seed, token=None),
    "cla_month_first": cla_month_first,
    "cla_episode_outside_year": cla_episode_outside_year,
    "dates_with_time_iso": lambda clean, out, seed=0: dates_with_time(clean, out, seed, style="iso"),
    "dates_with_time_dmy": lambda clean, out, seed=0: dates_with_time(clean, out, seed, style="dmy"),
    "flags_as_float": flags_as_float,
    "cla_rec_minus10": cla_rec_minus10,
    "tab_delimited_cla": lambda clean, out, seed=0: tab_delimited(clean, out, seed, file=CLA),
    "tab_delimited_spine": lambda clean, out, seed=0: tab_delimited(clean, out, seed, file=SPINE),
    "header_duplicate_exact": lambda clean, out, seed=0: header_duplicate_name(clean, out, seed, case=False),
    "header_duplicate_case": lambda clean, out, seed=0: header_duplicate_name(clean, out, seed, case=True),
    "duplicate_and_conflicting_rows": duplicate_and_conflicting_rows,
    "cin_only_rows_quarantined": cin_only_rows_quarantined,
    "cpp_latest_category_only": cpp_latest_category_only,
    "excel_resave": excel_resave,
    "academic_year_forms": academic_year_forms,
    "unreadable_rows": unreadable_rows,
}


def inject(kind: str, clean, out, seed: int = 0) -> dict:
    """Write `out` as a copy of the clean world `clean` with fault `kind` (a key of FAULTS)."""
    return FAULTS[kind](clean, out, seed)

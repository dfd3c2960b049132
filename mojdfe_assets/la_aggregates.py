"""Research question 2: are criminal-justice outcomes equal across local authorities, compared with
the national average, once the LA's offending in its non-social-care population and its poverty
are allowed for?

The outcome is a caution or conviction (any PNC disposal), among spine pupils linked to MoJ data.
Each LA × intervention level is compared with two expectations:
- crude: its pupils × the national rate at that level;
- adjusted: the sum over its pupils of the probability a national logistic model gives them,
  from level, sex, KS4 cohort, FSM and two LA covariates: the LA's rate among pupils with no
  social-care contact (its non-social-care offending) and its IDACI score (poverty).
Observed / adjusted expected is the LA's standardised ratio against the national average; the
funnel plot sets it against Poisson control limits (95%, 99.8%) that narrow as the expected count
grows, so small LAs are not flagged for noise.
"""

from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd

from . import arrowops, geography, maps, plots
from .disclosure import (
    BASE,
    DEFAULT_POLICY,
    THRESHOLD,
    DisclosureRules,
    Policy,
    class_cells,
    determined_cells,
    memoised,
    one_blas_thread,
    protect_linked,
    publish_rate,
)
from .resources import RawExtracts
from .schemas import (
    LEVELS,
    OUTLIER_FLAGS,
    LaAggregates,
    LaAggregatesPublishable,
    RegionAggregates,
    RegionAggregatesPublishable,
)
from .stats import dummies, funnel_limits, poisson_ratio_ci
from .table_assets import Check, Out, Outcome, Table, table_asset, table_multi_asset

GROUP = "la_aggregates"
SOCIAL_CARE_LEVELS = [lv for lv in LEVELS if lv != "none"]


def _logit(p):
    p = np.clip(np.asarray(p, float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


CELL_KEYS = ["la", "level", "sex", "ks4_year", "fsm"]
DENSE_CELLS_UP_TO = 2**26  # possible cells counted by one bincount; beyond, only those present are numbered


def _text_cell(values: pd.Series) -> pd.Categorical:
    # as `astype("category")` of text: the values in sorted order, whatever order a categorical
    # read from Parquet's dictionary pages lists them in (the order of the cells' rows)
    return pd.Categorical(values)


def _sex_cell(values: pd.Series) -> pd.Categorical:
    return _text_cell(values).add_categories("unknown").fillna("unknown")


def _fsm_cell(values: pd.Series) -> pd.Categorical:
    fsm = pd.Categorical(values.map({True: "yes", False: "no"}), categories=["no", "yes", "unknown"])
    return fsm.fillna("unknown")


def _cell_codes(s: pd.Series, cell=_text_cell) -> tuple[np.ndarray, pd.Index]:
    """Each row's cell value of one key as a code (-1: in no cell), and the values. `cell` gives
    the cell value of each distinct value of the column (`arrowops.distinct`: once per value, not
    per row); `None`: a categorical's own codes, in its category order (as a group-by over it)."""
    if cell is None and isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(dtype=np.int64), s.cat.categories
    codes, values = arrowops.distinct(s)  # the last value is the missing one
    c = (cell or _text_cell)(values)
    return np.asarray(c.codes, dtype=np.int64)[codes], c.categories


def la_cells(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Linked pupils with an LA, collapsed to LA × level × sex × cohort × FSM cells: pupils and
    pupils cautioned or convicted. Pupils with sex or FSM missing form their own cell value.

    The cells and their order are a sorted group-by's over the five (text sorted, a categorical
    level in its category order, FSM no / yes / unknown), `la`, `sex` and `ks4_year` read as text
    or as categoricals alike: each pupil's cell is one integer of the five codes and the counts
    are bincounts of it (no text per pupil, no group-by of 10M rows)."""
    keep = (outcomes["most_severe_disposal"].notna() & outcomes["la"].notna()).to_numpy(dtype=bool)
    cell = np.zeros(len(outcomes), dtype=np.int64)
    values = []
    for col, make in zip(CELL_KEYS, (_text_cell, None, _sex_cell, _text_cell, _fsm_cell)):
        codes, cats = _cell_codes(outcomes[col], make)
        cell = cell * len(cats) + codes
        keep &= codes >= 0  # a missing level or cohort: in no cell (the group-by drops the row)
        values.append(cats)
    y = outcomes["first_cj_contact_date"].notna().to_numpy(dtype=bool)[keep]
    sizes = [len(c) for c in values]
    cell = cell[keep]
    present = None
    if np.prod(sizes, dtype=float) > DENSE_CELLS_UP_TO:
        present, cell = np.unique(cell, return_inverse=True)
    n = int(np.prod(sizes)) if present is None else len(present)
    pupils, cj = np.bincount(cell, minlength=n), np.bincount(cell[y], minlength=n)
    rows = np.flatnonzero(pupils > 0)
    codes = np.unravel_index(rows if present is None else present[rows], sizes)
    out = pd.DataFrame({c: pd.Categorical.from_codes(k, cats) for c, k, cats in zip(CELL_KEYS, codes, values)})
    out = out.astype(dict.fromkeys(CELL_KEYS, str))
    out["pupils"] = pupils[rows].astype(np.int64)
    out["cj"] = cj[rows].astype(np.int64)
    return out


def adjusted_expected(c: pd.DataFrame) -> np.ndarray:
    """Per cell, the expected count under a national binomial GLM (logit link) of caution or
    conviction on level, sex, cohort, FSM and the LA covariates (no LA effects): the national
    average for pupils like these in an LA like this."""
    x = pd.concat(
        [
            dummies(c["level"], LEVELS, "level"),
            dummies(c["sex"], sorted(c["sex"].unique()), "sex"),
            dummies(c["ks4_year"], sorted(c["ks4_year"].unique()), "ks4_year"),
            dummies(c["fsm"], sorted(c["fsm"].unique()), "fsm"),
        ],
        axis=1,
    )
    x["la_non_sc_logit"] = _logit(c["la_non_sc_rate"])
    x["la_idaci"] = c["la_idaci"].to_numpy(float)
    x = x.loc[:, x.std(axis=0) > 0]
    x.index = c.index
    import statsmodels.api as sm

    x = sm.add_constant(x, has_constant="add")
    res = sm.GLM(np.column_stack([c["cj"], c["pupils"] - c["cj"]]), x, family=sm.families.Binomial()).fit()
    return res.predict(x).to_numpy() * c["pupils"].to_numpy()


def flag(ratio, lo95, hi95, lo998, hi998) -> np.ndarray:
    return np.select(
        [ratio > hi998, ratio > hi95, ratio < lo998, ratio < lo95],
        ["high_99.8", "high_95", "low_99.8", "low_95"],
        "within",
    )


def empty_comparison() -> pd.DataFrame:
    """The LA comparison with no rows (no pupil linked to MoJ data), in the table's types."""
    cols = {}
    for name, col in LaAggregates.to_schema().columns.items():
        if name == "la":
            cols[name] = pd.Series([], dtype="string[pyarrow]")
        elif name == "level":
            cols[name] = pd.Categorical([], categories=list(LEVELS), ordered=True)
        elif name == "outlier":
            cols[name] = pd.Categorical([], categories=list(OUTLIER_FLAGS))
        else:
            cols[name] = pd.Series([], dtype=str(col.dtype))
    return pd.DataFrame(cols)


def compare_las(outcomes: pd.DataFrame, la_context: pd.DataFrame) -> pd.DataFrame:
    c = la_cells(outcomes)
    if c.empty:  # no pupil linked to MoJ data (or none with an LA): nothing to compare
        return empty_comparison()
    # LA covariates. The non-social-care rate is the LA's rate at level none (so the adjusted
    # comparison at level none is nearly 1 by construction: read it for the social-care levels).
    none = c[c["level"] == "none"].groupby("la")[["cj", "pupils"]].sum()
    national_none = none["cj"].sum() / max(none["pupils"].sum(), 1)
    non_sc = (none["cj"] / none["pupils"]).reindex(c["la"].unique()).fillna(national_none)
    idaci = la_context.set_index(la_context["la_code"].astype(str))["idaci_average_score"].astype(float)
    c["la_non_sc_rate"] = c["la"].map(non_sc).to_numpy(float)
    c["la_idaci"] = c["la"].map(idaci).astype(float)
    c["la_idaci"] = c["la_idaci"].fillna(c["la_idaci"].median())  # an LA missing from the context file
    c["adjusted_expected"] = adjusted_expected(c)

    national = c.groupby("level")[["cj", "pupils"]].sum()
    c["expected"] = c["pupils"] * c["level"].map(national["cj"] / national["pupils"]).to_numpy(float)
    g = (
        c.groupby(["la", "level"], observed=True)
        .agg(
            pupils=("pupils", "sum"),
            cj_contact=("cj", "sum"),
            expected=("expected", "sum"),
            adjusted_expected=("adjusted_expected", "sum"),
            la_non_sc_rate=("la_non_sc_rate", "first"),
        )
        .reset_index()
    )
    g["la_idaci"] = g["la"].map(idaci).astype(float)
    o = g["cj_contact"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        g["rate"] = o / g["pupils"].to_numpy(float)
        e, ea = g["expected"].to_numpy(float), g["adjusted_expected"].to_numpy(float)
        g["oe_ratio"] = np.where(e > 0, o / e, np.nan)
        g["oe_ci_low"], g["oe_ci_high"] = poisson_ratio_ci(o, np.where(e > 0, e, np.nan))
        g["adjusted_ratio"] = np.where(ea > 0, o / ea, np.nan)
        g["adjusted_ci_low"], g["adjusted_ci_high"] = poisson_ratio_ci(o, np.where(ea > 0, ea, np.nan))
    lo95, hi95 = funnel_limits(ea, 0.025)
    lo998, hi998 = funnel_limits(ea, 0.001)
    g["funnel_95_low"], g["funnel_95_high"] = np.maximum(lo95, 0), hi95
    g["funnel_998_low"], g["funnel_998_high"] = np.maximum(lo998, 0), hi998
    g["outlier"] = pd.Categorical(flag(g["adjusted_ratio"], lo95, hi95, lo998, hi998), categories=list(OUTLIER_FLAGS))
    g["level"] = pd.Categorical(g["level"], categories=list(LEVELS), ordered=True)
    g["la"] = g["la"].astype("string[pyarrow]")
    for col in ("pupils", "cj_contact"):
        g[col] = g[col].astype("int64")
    cols = list(LaAggregates.to_schema().columns)
    return g.sort_values(["la", "level"])[cols].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Disclosure control

COUNTS = {"pupils": ("yes", "no"), "cj_contact": ("yes",), "not_cj": ("no",)}  # each as LA x level x offended


def region_of(las) -> np.ndarray:
    """The 2018 region code of each LA code ('unknown' for a code that is not a 2018 authority)."""
    geo = geography.geography_2018().set_index("la_code")["region_code"]
    return pd.Series(np.asarray(las, dtype=object)).astype(str).map(geo).fillna("unknown").to_numpy(object)


def linked_counts(agg: pd.DataFrame, unit: str = "la") -> dict[str, pd.DataFrame]:
    """The area × level tables a reader can combine: pupils, cautioned or convicted, and not."""
    wide = {
        name: agg.pivot(index=unit, columns="level", values=col).reindex(columns=list(LEVELS)).fillna(0).astype("int64")
        for name, col in (("pupils", "pupils"), ("cj_contact", "cj_contact"))
    }
    wide["not_cj"] = wide["pupils"] - wide["cj_contact"]
    return {k: v.rename(index=str, columns=str) for k, v in wide.items()}


def region_counts(la_wide: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The LA tables summed over each region's authorities: what region_aggregates holds."""
    regions = region_of(la_wide["pupils"].index)
    return {k: v.groupby(regions).sum().rename_axis("region_code") for k, v in la_wide.items()}


def protect_la(
    agg: pd.DataFrame,
    threshold: int = THRESHOLD,
    base: int = BASE,
    policy: Policy = DEFAULT_POLICY,
    unit: str = "la",
    force: pd.DataFrame | None = None,
):
    """(linked tables, their protection, cells published but flagged for the checker, the
    class-disclosure masks) of one area table: zeros and full cells (every pupil cautioned or
    convicted, or none) are suppressed, flagged or published as `policy` says; `force`: further
    cells to suppress."""
    wide = linked_counts(agg, unit) if isinstance(agg, pd.DataFrame) else agg
    cls = class_cells(wide["pupils"], wide["cj_contact"])
    suppress, flagged = policy.masks(cls["zero"], cls["full"], cls["structural"])
    if force is not None:
        suppress = suppress | force.reindex(index=suppress.index, columns=suppress.columns, fill_value=False)
    prot = protect_linked(wide, threshold, base, force=suppress)
    return wide, prot, flagged & ~prot["pupils"].suppressed, cls


@dataclass
class AreaSystem:
    """Every count the LA and region tables publish (and the complements a reader forms), as sums
    of the LA × level × offended-or-not cells: the exact attacker's equations. `unit` names the
    cell a row is (kind, area, level), None for a total."""

    keys: list
    matrix: np.ndarray
    values: np.ndarray
    published: np.ndarray
    sensitive: np.ndarray
    structural: np.ndarray
    units: list
    zero: np.ndarray | None = None  # the cells the sign of counts shows empty (set by `leaks`)

    def leaks(self) -> list:
        """The sensitive counts (suppressed, or a small complement) the published counts determine,
        linear algebra and the sign of counts together; structural zeros (a 0 made only of cells
        inside published counts of 0: a line whose total is 0, a region's 0 over its LAs, an LA
        whose total is 0 with its neighbours' cells 0) are not leaks: the published zeros show them
        whatever is suppressed, and are themselves flagged for the checker."""
        from .linked_sums import determined, known_zero_cells

        shown_empty = (self.matrix[self.published & (self.values == 0)] > 0).any(axis=0)  # cells in a published 0
        shown = [
            i for i in np.flatnonzero(self.sensitive & (self.values == 0)) if shown_empty[self.matrix[i] > 0].all()
        ]
        self.structural[shown] = True
        targets = [i for i in np.flatnonzero(self.sensitive) if not self.structural[i]]
        self.zero = known_zero_cells(self.matrix, self.values, self.published)
        return determined(self.matrix, self.published, targets, zero_cells=self.zero) if targets else []


def area_system(
    la_wide: dict[str, pd.DataFrame], published: dict[str, dict[str, pd.DataFrame]], threshold: int = THRESHOLD
) -> AreaSystem:
    """The attacker's system of the LA table and the region table together (`units`: the cell
    (kind, area, level) or total (kind, area, "total"), (kind, "total", level) a row is, None for
    England's grand total).
    `published`: per kind
    ("la", "region"), the published pupils and cj_contact as area × level frames with a "total"
    row and column (missing = suppressed), as disclosure.protect gives them or the stored tables
    hold them. Regions are sums of their LAs (region_of), which is what ties the two tables."""
    las, lvs = list(la_wide["pupils"].index), list(la_wide["pupils"].columns)
    regions = region_of(las)
    nl, nv = len(las), len(lvs)
    m = nl * nv * 2
    if m == 0:  # no pupil linked with an LA: nothing is published but zeros
        empty = np.zeros(0, dtype=bool)
        return AreaSystem([], np.zeros((0, 0)), np.zeros(0), empty, empty, empty.copy(), [])
    x = np.empty(m)
    x[0::2] = la_wide["cj_contact"].to_numpy(float).ravel()
    x[1::2] = la_wide["not_cj"].to_numpy(float).ravel()
    members = {
        "la": {la: np.array([i]) for i, la in enumerate(las)},
        "region": {r: np.flatnonzero(regions == r) for r in dict.fromkeys(regions)},
    }
    keys, rows, pub, sens, struct, units = [], [], [], [], [], []
    for kind in ("la", "region"):
        if kind not in published:
            continue
        frames = published[kind]
        areas = list(members[kind])
        for name, parts in COUNTS.items():
            offsets = [0 if p == "yes" else 1 for p in parts]
            exact = {a: dict.fromkeys(lvs, 0.0) for a in areas}
            for a in areas:
                for j, lv in enumerate(lvs):
                    v = np.zeros(m)
                    for i in members[kind][a]:
                        for o in offsets:
                            v[(i * nv + j) * 2 + o] = 1
                    exact[a][lv] = float(v @ x)
                    rows.append(v)
                    keys.append((kind, name, a, lv))
                    units.append((kind, a, lv))
            line_total = {a: sum(exact[a].values()) for a in areas}
            col_total = {lv: sum(exact[a][lv] for a in areas) for lv in lvs}
            for a in areas:
                for lv in lvs:
                    shown = name != "not_cj" and pd.notna(frames[name].loc[a, lv])
                    hidden = pd.isna(frames["pupils"].loc[a, lv]) or pd.isna(frames["cj_contact"].loc[a, lv])
                    pub.append(bool(shown))
                    sens.append(bool(hidden or 0 < exact[a][lv] < threshold))
                    struct.append(exact[a][lv] == 0 and (line_total[a] == 0 or col_total[lv] == 0))
            # totals: each area's, each level's (England), and England's
            lines = (
                [(a, [(a, lv) for lv in lvs]) for a in areas]
                + [(("total", lv), [(a, lv) for a in areas]) for lv in lvs]
                + [(("total", "all"), None)]
            )
            first = len(rows) - len(areas) * nv
            for label, cells in lines:
                if cells is None:
                    v = np.sum(rows[first : first + len(areas) * nv], axis=0)
                    area, lv = "total", "total"
                else:
                    v = np.sum([rows[first + areas.index(a) * nv + lvs.index(b)] for a, b in cells], axis=0)
                    area, lv = (label, "total") if not isinstance(label, tuple) else label
                value = float(v @ x)
                shown = name != "not_cj" and pd.notna(frames[name].loc[area, lv])
                rows.append(v)
                keys.append((kind, name, area, "all" if lv == "total" else lv))
                units.append(None if area == "total" and lv == "total" else (kind, area, lv))
                pub.append(bool(shown))
                sens.append(bool(0 < value < threshold if name == "not_cj" else not shown))
                struct.append(False)
    matrix = np.vstack(rows) if rows else np.zeros((0, m))
    return AreaSystem(
        keys, matrix, matrix @ x, np.array(pub, bool), np.array(sens, bool), np.array(struct, bool), units
    )


def _frames(prot: dict) -> dict[str, pd.DataFrame]:
    return {name: prot[name].published for name in ("pupils", "cj_contact")}


def published_frames(table: pd.DataFrame, unit: str) -> dict[str, pd.DataFrame]:
    """A stored publishable table as the area × level frames `area_system` reads."""
    t = table.assign(**{unit: table[unit].astype(str), "level": table["level"].astype(str).replace("all", "total")})
    return {name: t.pivot(index=unit, columns="level", values=name) for name in ("pupils", "cj_contact")}


def _partner(system: AreaSystem, target: int, wide: dict, exclude: set) -> tuple | None:
    """A published cell (or total) whose suppression breaks a recovering combination of `target`:
    the combination using the fewest published counts (L1-smallest, linear programme; totals cost
    more than cells, England's totals most), then its smallest non-zero cell, LA cells before
    region cells, else its smallest area total (a tiny LA's total is otherwise its region's total
    less its neighbours'), else an England total by level (in worlds so small that a level has
    fewer than 10 pupils cautioned in England, the grand total less the other levels' gives it)."""
    from .linked_sums import _sparse_witness, known_zero_cells

    pub = np.flatnonzero(system.published)
    zero = system.zero if system.zero is not None else known_zero_cells(system.matrix, system.values, system.published)

    def cost(unit):
        return 1e6 if unit is None else 1e4 if unit[1] == "total" else 1e3 if unit[2] == "total" else 1.0

    costs = np.array([cost(system.units[i]) for i in pub])
    y = _sparse_witness(system.matrix[pub][:, ~zero], system.matrix[target][~zero], costs)
    candidates = []
    for i, w in zip(pub, y):
        unit = system.units[i]
        if abs(w) < 1e-9 or unit is None or unit in exclude:
            continue
        kind, area, lv = unit
        t = wide[kind]["pupils"]
        size = float(t[lv].sum() if area == "total" else t.loc[area].sum() if lv == "total" else t.loc[area, lv])
        if size > 0:
            candidates.append((cost(unit), kind != "la", size, unit))
    return min(candidates)[-1] if candidates else None


def _primary(prot: dict) -> pd.DataFrame:
    return prot["pupils"].primary | prot["cj_contact"].primary | prot["not_cj"].primary


@dataclass
class AreaProtection:
    """The LA and region tables protected together (`protect_areas`)."""

    wide: dict  # kind -> linked_counts (exact)
    prot: dict  # kind -> {name: disclosure.Protected}
    flagged: dict  # kind -> cells published and flagged for the checker
    cls: dict  # kind -> class_cells masks
    added: dict  # kind -> cells (and area totals, column "total") suppressed so that the two
    # tables together give none away
    unprotected: list  # sensitive counts still determined (empty unless protection failed)


def protect_areas(
    la_agg: pd.DataFrame,
    threshold: int = THRESHOLD,
    base: int = BASE,
    policy: Policy = DEFAULT_POLICY,
    max_rounds: int = 200,
    regions: bool = True,
) -> AreaProtection:
    """Protect the LA table and the region table (its LAs summed by region) as one system: each
    table by `protect_la`, then, while the exact attacker recovers a suppressed count from both
    tables together (a region's count less its published LAs gives the one LA hidden in it),
    a further cell of the recovering combination is suppressed (the smallest; an LA cell, else a
    region cell) and both tables are protected again. `regions=False`: the LA table alone."""
    la_wide = linked_counts(la_agg)
    wide = {"la": la_wide, "region": region_counts(la_wide)} if regions else {"la": la_wide}
    # cells and totals (row and column "total") suppressed for the two tables together
    added = {
        k: pd.DataFrame(False, index=[*w["pupils"].index, "total"], columns=[*w["pupils"].columns, "total"])
        for k, w in wide.items()
    }
    for _ in range(max_rounds):
        parts = {k: protect_la(wide[k], threshold, base, policy, force=added[k]) for k in wide}
        for k, (_, prot, _, _) in parts.items():
            for area, lv in added[k].stack()[added[k].stack()].index:
                if area == "total" or lv == "total":
                    for name in COUNTS:
                        prot[name].published.loc[area, lv] = pd.NA
        system = area_system(la_wide, {k: _frames(p[1]) for k, p in parts.items()}, threshold)
        leaks = system.leaks()
        if not leaks:
            break
        # One further suppression a round, for the first leak a partner is found for: small (primary)
        # cells first, since protecting them often closes what their partners gave away.
        hidden = {
            system.units[i]
            for i in np.flatnonzero(~system.published)
            if system.units[i] is not None and system.keys[i][1] != "not_cj"
        }
        primary = {(k, a, lv) for k in wide for (a, lv), v in _primary(parts[k][1]).stack().items() if v}
        progress, tried = False, set()
        for t in sorted(leaks, key=lambda i: (system.units[i] not in primary, i)):
            unit = system.units[t]
            if unit in tried:
                continue
            tried.add(unit)
            pick = _partner(system, t, wide, hidden | {unit})
            if pick is not None and not added[pick[0]].loc[pick[1], pick[2]]:
                added[pick[0]].loc[pick[1], pick[2]] = True
                progress = True
                break
        if not progress:
            break
    return AreaProtection(
        wide,
        {k: p[1] for k, p in parts.items()},
        {k: p[2] for k, p in parts.items()},
        {k: p[3] for k, p in parts.items()},
        added,
        [system.keys[i] for i in leaks],
    )


def publish_table(
    agg: pd.DataFrame,
    wide: dict,
    prot: dict,
    flagged: pd.DataFrame,
    unit: str,
    schema,
    threshold: int,
    base: int,
    policy: Policy,
) -> tuple[pd.DataFrame, dict]:
    """The published area × level table of a protection: rounded counts (missing where
    suppressed), with area totals (level 'all') and England totals (area 'total'); rates and the
    adjusted ratio from the published counts."""
    agg = agg.rename(columns={unit: "la"})
    long = {}
    for name in ("pupils", "cj_contact"):
        pub = prot[name].published.rename(columns={"total": "all"})
        long[name] = pub.stack(future_stack=True).rename(name)
    out = pd.concat(long.values(), axis=1).reset_index()
    out.columns = ["la", "level", "pupils", "cj_contact"]
    sup = prot["pupils"].suppressed.stack(future_stack=True).rename("suppressed").reset_index()
    sup.columns = ["la", "level", "suppressed"]
    out = out.merge(sup, on=["la", "level"], how="left")
    out["suppressed"] = (
        out["suppressed"].astype("boolean").fillna(False).to_numpy(bool)
        | out["pupils"].isna().to_numpy()
        | out["cj_contact"].isna().to_numpy()
    )
    out["rate"] = publish_rate(out["cj_contact"], out["pupils"])
    # The published ratio uses the published (rounded) count, so it reveals no more than the count.
    keyed = agg.assign(level=agg["level"].astype(str), la=agg["la"].astype(str)).set_index(["la", "level"])
    idx = pd.MultiIndex.from_frame(out[["la", "level"]].astype(str))
    shown = out["cj_contact"].notna().to_numpy() & idx.isin(keyed.index)
    expected = keyed["adjusted_expected"].reindex(idx).to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = out["cj_contact"].astype("float64").to_numpy() / expected
    out["adjusted_ratio"] = pd.array(np.where(shown & (expected > 0), np.round(ratio, 2), np.nan), dtype="Float64")
    out["outlier"] = pd.array(
        np.where(shown, keyed["outlier"].astype(str).reindex(idx).to_numpy(object), None), dtype="string[pyarrow]"
    )
    out["la"] = out["la"].astype("string[pyarrow]")
    out["level"] = out["level"].astype("string[pyarrow]")
    for col in ("pupils", "cj_contact"):
        out[col] = out[col].astype("Int64")
    out["suppressed"] = out["suppressed"].astype("boolean")
    leaks = sum(len(determined_cells(wide[n], prot[n].suppressed)) for n in wide)
    meta = {
        "threshold": threshold,
        "rounding_base": base,
        "area_level_cells": len(agg),
        "primary_suppressions": int(
            (prot["pupils"].primary | prot["cj_contact"].primary | prot["not_cj"].primary).to_numpy().sum()
        ),
        "suppressed_cells": int(prot["pupils"].suppressed.to_numpy().sum()),
        "recoverable_suppressed_cells": int(leaks),
        "flagged_cells": int(flagged.to_numpy().sum()),
        "policy": policy.describe(),
    }
    return out.rename(columns={"la": unit})[list(schema.to_schema().columns)], meta


@one_blas_thread
def publishable(
    agg: pd.DataFrame,
    threshold: int = THRESHOLD,
    base: int = BASE,
    unit: str = "la",
    schema=LaAggregatesPublishable,
    policy: Policy = DEFAULT_POLICY,
) -> tuple[pd.DataFrame, dict]:
    """One area × level table (`unit`: the LA, or the region) protected on its own: counts of
    pupils, of pupils with a caution or conviction, and of pupils without, protected together (a
    count suppressed in one is suppressed in all, so none can be recovered by subtraction), rounded
    to `base`, with England totals; rates recomputed from the published counts. Zeros and full
    cells (every pupil cautioned or convicted, or none) follow `policy`: by default published and
    flagged for the output checker (`meta["flagged_cells"]`). The assets protect the LA and region
    tables together (`publishable_areas`)."""
    wide, prot, flagged, _ = protect_la(agg, threshold, base, policy, unit)
    return publish_table(agg, wide, prot, flagged, unit, schema, threshold, base, policy)


@one_blas_thread
def publishable_areas(
    la_agg: pd.DataFrame,
    region_agg: pd.DataFrame,
    threshold: int = THRESHOLD,
    base: int = BASE,
    policy: Policy = DEFAULT_POLICY,
):
    """The LA and region tables for release, protected together (`protect_areas`): (LA table, its
    metadata, region table, its metadata, the protection)."""
    p = protect_areas(la_agg, threshold, base, policy)
    la, la_meta = publish_table(
        la_agg, p.wide["la"], p.prot["la"], p.flagged["la"], "la", LaAggregatesPublishable, threshold, base, policy
    )
    region, region_meta = publish_table(
        region_agg,
        p.wide["region"],
        p.prot["region"],
        p.flagged["region"],
        "region_code",
        RegionAggregatesPublishable,
        threshold,
        base,
        policy,
    )
    for meta, kind in ((la_meta, "la"), (region_meta, "region")):
        meta["suppressed_against_the_other_table"] = int(p.added[kind].to_numpy().sum())
        meta["recoverable_across_tables"] = len(p.unprotected)
    return la, la_meta, region, region_meta, p


# ---------------------------------------------------------------------------------------------
# Assets


@table_asset(
    LaAggregates,
    group=GROUP,
    ins={
        # LA, sex and cohort as categoricals from Parquet's dictionary pages: no text per pupil
        "pupil_outcomes": dg.AssetIn(
            metadata={
                "columns": ["la", "level", "sex", "ks4_year", "fsm", "most_severe_disposal", "first_cj_contact_date"],
                "dictionary_columns": ["la", "sex", "ks4_year"],
            }
        )
    },
)
def la_aggregates(pupil_outcomes: pd.DataFrame, la_context_clean: pd.DataFrame) -> Table:
    """Research question 2: for each local authority (the pupil's KS4 LA) and intervention level,
    the pupils linked to MoJ data, those cautioned or convicted, and the crude rate; the count
    expected from the national rate at that level, with observed/expected and its exact 95% CI;
    and the adjusted comparison: the count expected from a national logistic model of level, sex,
    KS4 cohort, FSM, the LA's offending rate among pupils with no social-care contact and its
    IDACI poverty score, so that observed/adjusted expected compares the LA with the national
    average for similar pupils in a similar LA. Funnel-plot control limits for that ratio at 95%
    and 99.8% and an outlier flag (beyond 99.8%: outlier; beyond 95%: alert). Stays in the SRS:
    small cells are not suppressed here (see la_aggregates_publishable). At level none the
    adjusted ratio is close to 1 by construction, since that level defines the covariate."""
    df = compare_las(pupil_outcomes, la_context_clean)
    sc = df[df["level"] != "none"]
    meta = {
        "las": int(df["la"].nunique()),
        "outliers_99_8_by_level": dg.MetadataValue.json(
            {
                lv: int(sc[(sc["level"] == lv) & sc["outlier"].isin(["high_99.8", "low_99.8"])].shape[0])
                for lv in SOCIAL_CARE_LEVELS
            }
        ),
        # About 5% expected by chance: a much larger share means between-LA variation that
        # the adjustment does not explain, and single flags should be read with care.
        "share_outside_95_social_care_levels": round(float((sc["outlier"] != "within").mean()), 4) if len(sc) else 0.0,
        "pupils_without_la_or_moj_link": int(len(pupil_outcomes) - df["pupils"].sum()),
    }
    if df.empty:
        meta["note"] = (
            "no spine pupil is linked to MoJ data with an LA (see pupil_outcomes' moj_link): "
            "there is nothing to compare, and the table is empty"
        )
    return Table(df, meta)


def disclosure_control(table: str, unit: str) -> Check:
    """On the published table alone: no count from 1 to threshold - 1, every count a multiple of
    the base, and no suppressed area × level cell determined by the published totals."""

    def control(t: dict[str, pd.DataFrame]) -> Outcome:
        df = t[table]
        counts = pd.concat([df["pupils"], df["cj_contact"]]).dropna().astype(int)
        bad = int(((counts > 0) & (counts < THRESHOLD)).sum() + (counts % BASE != 0).sum())
        cells = df[(df[unit] != "total") & (df["level"] != "all")]
        pattern = cells.pivot(index=unit, columns="level", values="suppressed").fillna(False).astype(bool)
        recoverable = len(determined_cells(pattern.astype(int), pattern))
        return Outcome(
            bad == 0 and recoverable == 0,
            {"small_or_unrounded_counts": bad, "recoverable_suppressed_cells": recoverable},
        )

    return Check(
        "disclosure_control",
        "No published count under 10 (except 0); no suppressed cell recoverable "
        "from the totals; every count a multiple of the rounding base",
        control,
    )


def region_aggregates_table(agg: pd.DataFrame) -> pd.DataFrame:
    """la_aggregates summed over each region's authorities (2018 geography), with the same
    adjusted comparison (the model's expected counts add up) and funnel flag."""
    geo = geography.geography_2018().set_index("la_code")
    la = agg["la"].astype(str)
    d = agg.assign(
        region_code=la.map(geo["region_code"]).fillna("unknown").to_numpy(),
        region_name=la.map(geo["region_name"]).fillna("LA not a 2018 authority").to_numpy(),
        level=agg["level"].astype(str),
    )
    g = (
        d.groupby(["region_code", "region_name", "level"], sort=True)
        .agg(
            las=("la", "nunique"),
            pupils=("pupils", "sum"),
            cj_contact=("cj_contact", "sum"),
            adjusted_expected=("adjusted_expected", "sum"),
        )
        .reset_index()
    )
    o, ea = g["cj_contact"].to_numpy(float), g["adjusted_expected"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        g["rate"] = o / g["pupils"].to_numpy(float)
        g["adjusted_ratio"] = np.where(ea > 0, o / ea, np.nan)
        g["adjusted_ci_low"], g["adjusted_ci_high"] = poisson_ratio_ci(o, np.where(ea > 0, ea, np.nan))
    lo95, hi95 = funnel_limits(ea, 0.025)
    lo998, hi998 = funnel_limits(ea, 0.001)
    g["outlier"] = pd.Categorical(flag(g["adjusted_ratio"], lo95, hi95, lo998, hi998), categories=list(OUTLIER_FLAGS))
    g["level"] = pd.Categorical(g["level"], categories=list(LEVELS), ordered=True)
    for c in ("region_code", "region_name"):
        g[c] = g[c].astype("string[pyarrow]")
    for c in ("las", "pupils", "cj_contact"):
        g[c] = g[c].astype("int64")
    cols = list(RegionAggregates.to_schema().columns)
    return g.sort_values(["region_code", "level"])[cols].reset_index(drop=True)


@table_asset(RegionAggregates, group=GROUP)
def region_aggregates(la_aggregates: pd.DataFrame) -> Table:
    """Research question 2 by region: la_aggregates summed over each region's authorities (the
    2018 geography of the LA code list), per intervention level: pupils linked to MoJ data, those
    cautioned or convicted, the adjusted expected count from the same national model, the
    region's standardised ratio with its exact 95% CI, and where it falls against the funnel
    limits. Stays in the SRS (see region_aggregates_publishable)."""
    df = region_aggregates_table(la_aggregates)
    return Table(
        df,
        {
            "regions": int(df["region_code"].nunique()),
            "las_not_2018_authorities": int((df["region_code"] == "unknown").sum()),
        },
    )


LA_PUBLISHABLE_DOC = (
    "la_aggregates prepared for release from the SRS under the output-checking rules: counts of 1 to 9 pupils "
    "are suppressed (primary); further cells are suppressed (secondary) so that no suppressed count can be "
    "recovered from the row (LA) or column (level) totals, by subtracting pupils cautioned or convicted from "
    "pupils, as a 0 (a row or column whose suppressed cells add up to 0), or from region_aggregates_publishable "
    "(a region's count less its published LAs); zeros and cells where every pupil (or none) was cautioned or "
    "convicted follow the disclosure policy (resource disclosure_rules; by default published and flagged for the "
    "output checker, as ACRO does; 'suppress' hides them); every published count, including the LA totals "
    "(level 'all') and England totals (LA 'total'), is rounded to the nearest 5. Rates, and the adjusted ratio "
    "(published count / adjusted expected, 2 decimals), are recomputed from the published, rounded counts; the "
    "ratio and the outlier flag (from la_aggregates) are shown only where the count of pupils cautioned or "
    "convicted is published. No pupil identifiers, no unrounded counts. Listed in the output-checking request."
)
REGION_PUBLISHABLE_DOC = (
    "region_aggregates prepared for release from the SRS under the same rules as la_aggregates_publishable and "
    "protected together with it (a region is the sum of its LAs): counts of pupils, of pupils cautioned or "
    "convicted and of those not protected together (threshold 10, secondary suppression, base-5 rounding, England "
    "totals; zeros and full cells by the disclosure policy), the ratio recomputed from the published count. "
    "Listed in the output-checking request."
)


@one_blas_thread
def no_cell_recoverable_across_tables(t: dict[str, pd.DataFrame]) -> Outcome:
    """The exact attacker on both published tables together (their stored suppression patterns)
    and the exact LA counts: no suppressed count, and no small complement, is determined."""
    system = area_system(
        linked_counts(t["la_aggregates"]),
        {
            "la": published_frames(t["la_aggregates_publishable"], "la"),
            "region": published_frames(t["region_aggregates_publishable"], "region_code"),
        },
    )
    leaks = system.leaks()
    return Outcome(
        not leaks,
        {"recoverable_counts": len(leaks), "sensitive_counts": int(system.sensitive.sum())},
        f"{len(leaks)} suppressed counts recoverable from the LA and region tables together" if leaks else None,
    )


ACROSS_TABLES = Check(
    "no_cell_recoverable_across_tables",
    (
        "No suppressed count (nor a small complement) of la_aggregates_publishable or region_aggregates_publishable "
        "is determined by the two tables together, given the exact published values and that counts are not "
        "negative"
    ),
    no_cell_recoverable_across_tables,
)


@table_multi_asset(
    {
        "la_aggregates_publishable": Out(
            LaAggregatesPublishable,
            LA_PUBLISHABLE_DOC,
            (disclosure_control("la_aggregates_publishable", "la"), ACROSS_TABLES),
            disclosure="for_export",
        ),
        "region_aggregates_publishable": Out(
            RegionAggregatesPublishable,
            REGION_PUBLISHABLE_DOC,
            (disclosure_control("region_aggregates_publishable", "region_code"),),
            disclosure="for_export",
        ),
    },
    group=GROUP,
    name="publishable_areas",
)
def publishable_areas_asset(
    la_aggregates: pd.DataFrame, region_aggregates: pd.DataFrame, disclosure_rules: DisclosureRules
) -> dict[str, Table]:
    la, la_meta, region, region_meta, p = memoised(
        publishable_areas,
        la_aggregates,
        region_aggregates,
        threshold=THRESHOLD,
        base=BASE,
        policy=disclosure_rules.policy(),
    )
    across = Outcome(not p.unprotected, {"recoverable_counts": len(p.unprotected)})
    return {
        "la_aggregates_publishable": Table(la, la_meta, {"no_cell_recoverable_across_tables": across}),
        "region_aggregates_publishable": Table(region, region_meta),
    }


def map_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The hex map's cells from an LA × level table: its ratio, flag and suppression (a table
    without a `suppressed` column, la_aggregates, suppresses nothing)."""
    suppressed = (
        table["suppressed"].astype("boolean").fillna(False)
        if "suppressed" in table
        else pd.Series(False, index=table.index)
    )
    return pd.DataFrame(
        {
            "la": table["la"].astype(str),
            "level": table["level"].astype(str),
            "ratio": table["adjusted_ratio"].astype(float),
            "outlier": table["outlier"].astype(object),
            "suppressed": suppressed.to_numpy(bool),
        }
    )


@plots.chart_asset("LA map (exact)", group=GROUP)
def la_map_chart(la_aggregates: pd.DataFrame, raw_extracts: RawExtracts) -> bytes:
    """Map of England's children's services authorities (hex layout), one panel per social-care
    level: each LA's adjusted ratio of pupils cautioned or convicted against the national average
    for similar pupils in a similar LA (la_aggregates.adjusted_ratio), on a diverging colour scale
    centred on 1 (red above, blue below), LAs beyond the funnel limits outlined (99.8% black,
    95% grey), region boundaries drawn. From exact counts: SRS only, not for release (see
    la_map_chart_export)."""
    return maps.draw_hex_map(
        map_cells(la_aggregates),
        "Caution or conviction against the national average (exact; SRS only)",
        raw_extracts.is_synthetic_world(),
    )


@plots.chart_asset("LA map (published values)", group=GROUP, disclosure="for_export")
def la_map_chart_export(la_aggregates_publishable: pd.DataFrame, raw_extracts: RawExtracts) -> bytes:
    """The LA map for release: drawn only from la_aggregates_publishable (ratios of the published,
    rounded counts; a suppressed cell is hatched grey and carries no value), so it discloses no
    more than that table."""
    return draw_la_map_export(la_aggregates_publishable, raw_extracts.is_synthetic_world())


def draw_la_map_export(la_aggregates_publishable: pd.DataFrame, synthetic: bool) -> bytes:
    """The for-export LA map, from the published table alone (the output-checking request redraws
    it to confirm the published chart is this one)."""
    return maps.draw_hex_map(
        map_cells(la_aggregates_publishable),
        "Caution or conviction against the national average (published values)",
        synthetic,
    )


def _la_names(la_context: pd.DataFrame) -> dict:
    names = dict(zip(geography.geography_2018()["la_code"], geography.geography_2018()["la_name"]))
    names.update({str(k): str(v) for k, v in zip(la_context["la_code"], la_context["la_name"]) if pd.notna(v)})
    return names


@plots.chart_asset("LA funnel plots (exact)", group=GROUP)
def la_funnel_chart(la_aggregates: pd.DataFrame, la_context_clean: pd.DataFrame, raw_extracts: RawExtracts) -> bytes:
    """Funnel plots from exact counts, one per social-care level: each LA's adjusted ratio
    (observed / expected from the national model) against its expected count, with 95% and 99.8%
    control limits; LAs beyond 99.8% are labelled by name. SRS only, not for release (see
    la_funnel_chart_export)."""
    return maps.draw_funnel_exact(la_aggregates, _la_names(la_context_clean), raw_extracts.is_synthetic_world())


@plots.chart_asset("LA funnel plots (published values)", group=GROUP, disclosure="for_export")
def la_funnel_chart_export(
    la_aggregates_publishable: pd.DataFrame, la_aggregates: pd.DataFrame, raw_extracts: RawExtracts
) -> bytes:
    """Funnel plots for release: only published cells (la_aggregates_publishable: ratios of the
    rounded counts), drawn against the adjusted expected count, with how many cells suppression
    hides per level and the curve 10 / expected below which no published count can lie."""
    return maps.draw_funnel_published(la_aggregates_publishable, la_aggregates, raw_extracts.is_synthetic_world())


la_assets = [
    la_aggregates,
    region_aggregates,
    publishable_areas_asset,
    la_map_chart,
    la_map_chart_export,
    la_funnel_chart,
    la_funnel_chart_export,
]

"""Research question 1 for export from the SRS: the outcome summary, the models and their chart
after disclosure control, and the output-checking request listing every for-export output. The
SRS-only assets (effects.py) are left as they are.

The summary's counts are protected as one system (`linked_sums`): every published count (n and
events per level and outcome, their totals over levels, and the LA table's England totals, which
count the same linked pupils) is a sum of fine cells, a fine cell being the pupils of one level
with one combination of every outcome. So a count hidden in one outcome cannot be rebuilt from
another over the same pupils (custodial = n - none - caution - non-custodial, while the binary
custodial and cj_contact rows publish the same pupils under other names), nor from the LA table
(its England totals by level are the same sums as this table's offending n and events):

- threshold: a count of 1-9 is suppressed, and so is a count whose complement (n - events, or
  the pupils of the other categories) is 1-9;
- secondary suppression until no suppressed count, nor such a complement, is determined by the
  published counts (exact attacker, `linked_sums.attack`: linear algebra, and the sign of counts
  for sums fixed at 0); the offending outcomes count linked pupils with an LA, the LA table's
  population, so both tables' England totals are the same sums;
- zeros and full cells follow `disclosure.Policy` (resource `disclosure_rules`; default: published
  and flagged for the checker);
- every published count is rounded to base 5; rates and Wilson intervals are recomputed from the
  rounded counts; a median is published with its n and suppressed with it, or when n < 10, and an
  interval end (an order statistic) only when at least 10 pupils lie at or beyond it on each side.

Models: each term is published with the model's n (rounded) and residual degrees of freedom
(ACRO's regression rule: at least 10), and only if every cell it rests on (the pupils with the
term's value, with and without the outcome) has at least 10 pupils; count-model terms whose sum
is dominated by one or two pupils (ACRO's NK and p-ratio rules) are published and flagged.

The request (`output_checking_request`) is built by `output_checking.py` and stored by the IO
manager in the run's folder as `output_checking_request/` beside its index table, so it is
published with the run's snapshot (`current/output_checking_request/`).
"""

from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from . import plots
from .disclosure import (
    BASE,
    DEFAULT_POLICY,
    THRESHOLD,
    DisclosureRules,
    Policy,
    dominance_rules,
    memoised,
    one_blas_thread,
    round_to_base,
)
from .effects import BINARY, CHART_OUTCOMES, COUNTS, COVARIATES, ORDINAL, OUTCOME_COLUMNS, outcome_frame
from .linked_sums import Sums, attack, protect_sums, sensitive_hidden
from .resources import RawExtracts
from .schemas import LEVELS, InterventionOutcomeModelsExport, InterventionOutcomeSummaryExport, OutputCheckingRequest
from .stats import wilson
from .table_assets import Check, Outcome, Table, shared, table_asset

GROUP = "exports"
ALL = "all"
MISSING = ""


# ---------------------------------------------------------------------------------------------
# Fine cells

OFFENDING = ("cj_contact", "custodial", "conviction_group", "most_severe_disposal")


def _codes(column: pd.Series, categories) -> np.ndarray:
    """Each value's position in `categories` by its text, -1 when missing or not one of them (the
    codes of pd.Categorical(column.astype("string"), categories)); a categorical's categories are
    looked up once, not a text per pupil."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return pd.Categorical(column.astype("string"), categories=list(categories)).codes.astype(np.int64)
    place = np.append(pd.Index(list(categories)).get_indexer(column.cat.categories.astype(str)), -1)
    return place[column.cat.codes.to_numpy()].astype(np.int64)


def export_frame(pupil_outcomes: pd.DataFrame, outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """outcome_frame (the RQ1 outcomes, no identifier; `outcomes` when already made) with whether
    the pupil has a KS4 LA. The offending outcomes are kept only for pupils with an LA:
    la_aggregates_publishable counts linked pupils with an LA, so the two exports then count the
    same pupils and their England totals agree exactly (otherwise the difference, the few linked
    pupils without an LA, would be a small count published by subtraction, and hiding it costs
    most of the offending rows)."""
    # (a shallow copy: its columns are replaced, never written into)
    df = outcome_frame(pupil_outcomes) if outcomes is None else outcomes.copy(deep=False)
    df["la_known"] = pupil_outcomes["la"].notna().to_numpy()
    no_la = ~df["la_known"].to_numpy()
    if no_la.any():
        for name in OFFENDING:
            df[name] = df[name].mask(no_la)
    return df


def fine_cells(df: pd.DataFrame) -> pd.DataFrame:
    """The cells every published count of the summary, and the LA table's England totals, are
    sums of: every combination of level, each outcome's value ('' = not recorded; counts: 'rec'
    when recorded) and whether the pupil has an LA, with its pupils (0 for most). The offending
    outcomes are one joint dimension holding the combinations that occur (they are defined from
    the same PNC records: custodial implies cautioned or convicted, and so on, and a reader knows
    it); the other outcomes are crossed in full, so the attacker is not told which combinations
    of independent outcomes happen to be empty. Vectorised: one mixed-radix code per pupil."""
    dims = [("level", _codes(df["level"], LEVELS), list(LEVELS))]
    off_parts = {}
    for name in BINARY:
        code = 2 - df[name].astype("boolean").to_numpy(dtype=np.int64, na_value=2)  # missing 0, yes 1, no 2
        if name in OFFENDING:
            off_parts[name] = code
        else:
            dims.append((name, code, [MISSING, "yes", "no"]))
    for name, (_, cats) in ORDINAL.items():
        off_parts[name] = _codes(df[name], cats) + 1
    for name in COUNTS:
        dims.append((name, df[name].notna().to_numpy().astype(np.int64), [MISSING, "rec"]))
    dims.append(("la_known", df["la_known"].to_numpy().astype(np.int64), ["no", "yes"]))
    labels = {name: [MISSING, "yes", "no"] for name in BINARY if name in OFFENDING}
    labels.update({name: [MISSING, *cats] for name, (_, cats) in ORDINAL.items()})
    joint, radix = np.zeros(len(df), dtype=np.int64), 1
    for name in OFFENDING:
        joint += off_parts[name] * radix
        radix *= len(labels[name])
    # the combinations present, in order, and each pupil's (np.unique's, by a count per code: no sort)
    combos = np.flatnonzero(np.bincount(joint, minlength=radix))
    rank = np.zeros(radix, dtype=np.int64)
    rank[combos] = np.arange(len(combos))
    off_code = rank[joint]
    if not len(combos):  # no pupil at all: one (empty) combination, nothing recorded
        combos = np.zeros(1, dtype=np.int64)
    dims.append(("offending", off_code.astype(np.int64), list(range(len(combos)))))
    code, radix, place = np.zeros(len(df), dtype=np.int64), 1, {}
    for name, c, cats in dims:
        code += c * radix
        place[name] = (radix, len(cats), cats)
        radix *= len(cats)
    counts = np.bincount(code, minlength=radix)
    cell = np.arange(radix)
    out = {}
    for name, (r, k, cats) in place.items():
        if name != "offending":
            out[name] = np.asarray(cats, dtype=object)[(cell // r) % k]
    off = combos[(cell // place["offending"][0]) % place["offending"][1]]
    r = 1
    for name in OFFENDING:
        out[name] = np.asarray(labels[name], dtype=object)[(off // r) % len(labels[name])]
        r *= len(labels[name])
    frame = pd.DataFrame(out)
    frame["pupils"] = counts.astype(np.int64)
    # Offending outcomes are defined only for pupils with an LA (export_frame): cells of linked
    # pupils without one are empty by definition, and the reader knows it.
    return frame[~((frame["la_known"] == "no") & (frame["cj_contact"] != MISSING))].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# The system of published sums


def _rows():
    """(outcome, measure, category) of each summary row, in the SRS summary's order."""
    rows = [(o, "rate", None) for o in BINARY] + [(o, "median", None) for o in COUNTS]
    rows += [(o, "share", c) for o, (_, cats) in ORDINAL.items() for c in cats]
    return rows


def summary_sums(cells: pd.DataFrame, la_published: pd.DataFrame | None = None) -> tuple[Sums, dict]:
    """Every count the summary publishes (and the implicit ones a reader can form) as sums of
    `cells`, with the LA table's England totals (status fixed by that table) if given.
    Returns the system and, per sum, its denominator's key (for zeros and full cells)."""
    keys, masks, implicit, fixed, total, published, denom = [], [], [], [], [], [], {}

    def add(key, mask, *, imp=False, fix=False, pub=True, den=None):
        keys.append(key)
        masks.append(np.asarray(mask, dtype=bool))
        implicit.append(imp)
        fixed.append(fix)
        total.append(key[-1] == ALL)
        published.append(pub and not imp)
        if den is not None:
            denom[key] = den

    la_status = {}  # level -> (England pupils published, England cj_contact published) in the LA table
    if la_published is not None:
        eng = la_published[la_published["la"].astype(str) == "total"]
        la_status = {str(r.level): (bool(pd.notna(r.pupils)), bool(pd.notna(r.cj_contact))) for r in eng.itertuples()}
    for lv in [*LEVELS, ALL]:
        at = np.ones(len(cells), dtype=bool) if lv == ALL else (cells["level"] == lv).to_numpy()
        for o in BINARY:
            val = cells[o].to_numpy()
            n = ("n", o, None, lv)
            add(n, at & (val != MISSING), den=("n", o, None, ALL) if lv != ALL else None)
            add(("events", o, None, lv), at & (val == "yes"), den=n)
            add(("non_events", o, None, lv), at & (val == "no"), imp=True, den=n)
        for o, (_, cats) in ORDINAL.items():
            val = cells[o].to_numpy()
            n = ("n", o, None, lv)
            add(n, at & (val != MISSING), den=("n", o, None, ALL) if lv != ALL else None)
            for c in cats:
                add(("events", o, c, lv), at & (val == c), den=n)
                add(("others", o, c, lv), at & (val != MISSING) & (val != c), imp=True, den=n)
        for o in COUNTS:
            add(
                ("n", o, None, lv),
                at & (cells[o].to_numpy() != MISSING),
                den=("n", o, None, ALL) if lv != ALL else None,
            )
        if la_status:
            linked = at & (cells["cj_contact"].to_numpy() != MISSING)
            la = cells["la_known"].to_numpy() == "yes"
            cj = cells["cj_contact"].to_numpy() == "yes"
            pub_n, pub_cj = la_status.get(lv, (True, True))
            add(("la_table", "pupils", None, lv), linked & la, fix=True, pub=pub_n)
            add(("la_table", "cj_contact", None, lv), linked & la & cj, fix=True, pub=pub_cj)
    weights = cells["pupils"].to_numpy(float)
    matrix = np.vstack(masks).astype(float) if masks else np.zeros((0, len(cells)))
    s = Sums(keys, matrix, matrix @ weights, published, implicit, fixed, total)
    return s, denom


@dataclass
class SummaryProtection:
    table: pd.DataFrame  # the export table
    sums: Sums  # the system, with the final published mask
    primary: np.ndarray  # small (1-9), or zero / full under policy "suppress"
    secondary: np.ndarray  # suppressed to protect them
    flagged: np.ndarray  # zero / full cells published and flagged
    zero: np.ndarray
    full: np.ndarray
    structural: np.ndarray
    unprotected: list  # sensitive sums that stay determined (by a fixed table): must be empty
    threshold: int
    base: int
    policy: Policy
    cells: pd.DataFrame  # the fine cells the sums are over

    def recoverable(self) -> list:
        s = self.sums
        targets = np.flatnonzero(sensitive_hidden(s, self.primary))
        return [s.keys[i] for i in attack(s, targets)]


def classify(s: Sums, denom: dict, threshold: int) -> tuple[np.ndarray, ...]:
    """(primary small, zero, full, structural) per sum."""
    v = s.values
    idx = s.index
    small = (v > 0) & (v < threshold)
    zero = np.zeros(len(v), dtype=bool)
    full = np.zeros(len(v), dtype=bool)
    structural = np.zeros(len(v), dtype=bool)
    for i, key in enumerate(s.keys):
        if s.implicit[i] or s.fixed[i]:
            continue
        d = v[idx[denom[key]]] if key in denom else None
        zero[i] = v[i] == 0
        if key[0] == "events" and d is not None and d > 0:
            full[i] = v[i] == d or (key[2] is None and v[i] == 0)
        if zero[i] or full[i]:
            # Structural: the line it sits in is empty (its level has no pupils with the outcome
            # recorded, or no level has a pupil with it), or it is itself a total.
            col_total = idx.get((key[0], key[1], key[2], ALL))
            structural[i] = (
                key[-1] == ALL
                or (d is not None and d == 0)
                or (col_total is not None and v[col_total] == 0 and zero[i])
            )
    return small, zero, full, structural


def hidden_england_levels(la_published: pd.DataFrame | None) -> list[str]:
    """The levels whose England total (pupils, or cautioned or convicted) the LA table hides: the
    counts the summary and the area tables share are these totals."""
    if la_published is None:
        return []
    eng = la_published[(la_published["la"].astype(str) == "total") & (la_published["level"].astype(str) != ALL)]
    return sorted(eng.loc[eng["pupils"].isna() | eng["cj_contact"].isna(), "level"].astype(str))


def stack(areas, s: Sums, cells: pd.DataFrame, la_wide: dict, primary: np.ndarray) -> tuple[Sums, np.ndarray, slice]:
    """One system of every exported count, for the attacker: the LA and region tables' counts over
    their LA cells (`la_aggregates.area_system`), the summary's sums over its fine cells, and the
    ties between them (the LA cells of a level, offended or not, add up to the summary's linked
    pupils with an LA at that level). Area counts never published themselves (complements) are
    implicit and sensitive when small. Zeros shown by published zeros (on either side, carried
    across by the ties) are not targets: the published zero shows them, and is flagged. Returns
    the system, its primary mask and the summary's rows."""
    ma, ms, nv = areas.matrix.shape[1], s.matrix.shape[1], la_wide["pupils"].shape[1]
    nl = la_wide["pupils"].shape[0]
    la_known = cells["la_known"].to_numpy() == "yes"
    ties = []
    for j, lv in enumerate(la_wide["pupils"].columns):
        for o, c in ((0, "yes"), (1, "no")):
            v = np.zeros(ma + ms)
            v[[(i * nv + j) * 2 + o for i in range(nl)]] = 1
            v[ma:] -= (cells["level"] == lv).to_numpy() & la_known & (cells["cj_contact"].to_numpy() == c)
            ties.append(v)
    na, nt = len(areas.keys), len(ties)
    matrix = np.vstack(
        [np.hstack([areas.matrix, np.zeros((na, ms))]), np.hstack([np.zeros((len(s.keys), ma)), s.matrix]), *ties]
    )
    x = np.r_[_area_cells(la_wide), cells["pupils"].to_numpy(float)]
    values = matrix @ x
    published = np.r_[areas.published, s.published, np.ones(nt, bool)]
    empty = _shown_empty(matrix, values, published, range(na + len(s.keys), na + len(s.keys) + nt))
    shown = (values == 0) & np.array([empty[row > 0].all() for row in matrix], dtype=bool)
    area_implicit = ~areas.published & (~areas.sensitive | shown[:na])
    area_implicit |= np.array([k[1] == "not_cj" for k in areas.keys], dtype=bool)
    area_primary = areas.sensitive & ~shown[:na] & area_implicit
    keys = [("area", *k) for k in areas.keys] + list(s.keys) + [("tie", i) for i in range(nt)]
    implicit = np.r_[area_implicit, s.implicit | (shown[na : na + len(s.keys)] & ~s.published), np.zeros(nt, bool)]
    out = Sums(
        keys,
        matrix,
        values,
        published,
        implicit,
        np.r_[np.ones(na, bool), s.fixed, np.ones(nt, bool)],
        np.r_[np.zeros(na, bool), s.total, np.zeros(nt, bool)],
    )
    return (
        out,
        np.r_[area_primary, primary & ~shown[na : na + len(s.keys)], np.zeros(nt, bool)],
        slice(na, na + len(s.keys)),
    )


def _shown_empty(matrix: np.ndarray, values: np.ndarray, published: np.ndarray, ties) -> np.ndarray:
    """The cells a published count of 0 shows empty, and through the ties (a sum of LA cells equal
    to a sum of summary cells) the cells of the other side when one side is all shown empty."""
    nonneg = (matrix >= 0).all(axis=1)
    empty = (matrix[published & nonneg & (values == 0)] > 0).any(axis=0)
    changed = True
    while changed:
        changed = False
        for r in ties:
            pos, neg = matrix[r] > 0, matrix[r] < 0
            for side, other in ((pos, neg), (neg, pos)):
                if empty[other].all() and not empty[side].all():
                    empty |= side
                    changed = True
    return empty


def _area_cells(la_wide: dict) -> np.ndarray:
    """The LA cells' values (offended, not), in area_system's order."""
    x = np.empty(la_wide["pupils"].size * 2)
    x[0::2] = la_wide["cj_contact"].to_numpy(float).ravel()
    x[1::2] = la_wide["not_cj"].to_numpy(float).ravel()
    return x


@one_blas_thread
def protect_summary(
    frame: pd.DataFrame,
    la_published: pd.DataFrame | None = None,
    la_aggregates: pd.DataFrame | None = None,
    region_published: pd.DataFrame | None = None,
    threshold: int = THRESHOLD,
    base: int = BASE,
    policy: Policy = DEFAULT_POLICY,
) -> SummaryProtection:
    """The protected export summary of `frame` (export_frame of pupil_outcomes), given the LA
    table's published England totals (its offending outcomes count the same pupils). When the LA
    table hides an England total by level (a world so small that a level has fewer than 10 linked
    pupils, or cautioned, in England), every offending count of that level and of all levels is
    suppressed here too, so the summary tells nothing about those pupils' offending that the LA
    table hides (`la_aggregates` and `region_published` are then used by the output-checking
    request's attacker, which checks both together in one system)."""
    cells = fine_cells(frame)
    s, denom = summary_sums(cells, la_published)
    small, zero, full, structural = classify(s, denom, threshold)
    force, flag = policy.masks(zero, full, structural)
    primary = (small | force) & ~s.fixed
    hidden_levels = hidden_england_levels(la_published)
    if hidden_levels:
        from .linked_sums import determined

        offending = (
            np.array(
                [k[0] in ("n", "events") and k[1] in OFFENDING and k[3] in {*hidden_levels, ALL} for k in s.keys],
                dtype=bool,
            )
            & ~s.fixed
            & ~s.implicit
        )
        # (those the LA table publishes anyway, e.g. the pupils of a level whose cautioned count
        # alone is hidden, stay published)
        public = determined(s.matrix, s.fixed & s.published, np.flatnonzero(offending))
        offending[public] = False
        primary |= offending
    secondary, stuck = protect_sums(s, primary)
    flagged = flag & s.published
    table = summary_table(frame, s, flagged, zero, full, threshold, base)
    return SummaryProtection(
        table, s, primary, secondary, flagged, zero, full, structural, stuck, threshold, base, policy, cells
    )


def _order_stat_ok(rank: int, n: int, threshold: int) -> bool:
    return min(rank, n - rank + 1) >= threshold


def median_row(values: np.ndarray, threshold: int) -> tuple[float, float, float]:
    """Median and its order-statistic 95% interval (the ranks stats.median_ci uses), each end
    published only with at least `threshold` pupils at or beyond it on both sides; all missing
    when n < threshold."""
    x = values[~np.isnan(values)]
    n = len(x)
    if n < threshold or n == 0:
        return np.nan, np.nan, np.nan
    from scipy import stats  # imported here: the code location loads without scipy

    lo = int(max(stats.binom.ppf(0.025, n, 0.5), 1))
    hi = int(min(stats.binom.ppf(0.975, n, 0.5) + 1, n))
    ranked = np.partition(x, [lo - 1, hi - 1])  # the two order statistics where a sort puts them (no full sort)
    return (
        float(np.median(x)),
        float(ranked[lo - 1]) if _order_stat_ok(lo, n, threshold) else np.nan,
        float(ranked[hi - 1]) if _order_stat_ok(hi, n, threshold) else np.nan,
    )


def summary_table(frame, s: Sums, flagged, zero, full, threshold: int, base: int) -> pd.DataFrame:
    level = _codes(frame["level"], LEVELS)
    counts = {o: frame[o].astype("Float64").to_numpy(dtype=float, na_value=np.nan) for o in COUNTS}
    rows = []
    for lv in [*LEVELS, ALL]:
        at = np.ones(len(frame), dtype=bool) if lv == ALL else level == LEVELS.index(lv)
        for o, measure, cat in _rows():
            n_i = s.index[("n", o, None, lv)]
            e_i = s.index.get(("events", o, cat, lv))
            n_pub = bool(s.published[n_i])
            e_pub = e_i is not None and bool(s.published[e_i])
            n = int(round_to_base([s.values[n_i]], base)[0]) if n_pub else pd.NA
            flags = set()
            for i in (n_i, e_i):
                if i is not None and flagged[i]:
                    flags |= {"zero"} if zero[i] else set()
                    flags |= {"full"} if full[i] else set()
            row = {
                "level": lv,
                "outcome": o,
                "measure": measure,
                "category": cat,
                "n": n,
                "events": pd.NA,
                "estimate": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "flag": ", ".join(sorted(flags)) or None,
            }
            if measure == "median":
                if n_pub:
                    row["estimate"], row["ci_low"], row["ci_high"] = median_row(counts[o][at], threshold)
                row["suppressed"] = not n_pub or np.isnan(row["estimate"])
            else:
                events = int(round_to_base([s.values[e_i]], base)[0]) if e_pub else pd.NA
                row["events"] = events
                if n_pub and e_pub and n > 0:
                    lo, hi = wilson([events], [n])
                    # unrounded: rounding a rate of a national-scale cell (10 in 250,000) to 0 would put it
                    # below its own interval
                    row["estimate"], row["ci_low"], row["ci_high"] = events / n, lo[0], hi[0]
                row["suppressed"] = not (n_pub and e_pub)
            rows.append(row)
    out = pd.DataFrame(rows)
    for c in ("level", "outcome", "measure", "category", "flag"):
        out[c] = out[c].astype("string[pyarrow]")
    for c in ("n", "events"):
        out[c] = out[c].astype("Int64")
    for c in ("estimate", "ci_low", "ci_high"):
        out[c] = out[c].astype("Float64")
    out["suppressed"] = out["suppressed"].astype("boolean")
    return out[list(InterventionOutcomeSummaryExport.to_schema().columns)]


# ---------------------------------------------------------------------------------------------
# Models


def _model_rows(df: pd.DataFrame, outcome: str) -> np.ndarray:
    """The pupils a model of effects.fit_models uses: outcome and covariates recorded (and, for
    a count with an exposure, the exposure recorded and positive)."""
    keep = df[outcome].notna() & df[["level", *COVARIATES]].notna().all(axis=1)
    exposure = COUNTS.get(outcome, (None, None))[1]
    if exposure:
        keep &= df[exposure].notna() & (df[exposure] > 0)
    return keep.to_numpy(dtype=bool)


def _coded(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A column as codes (-1 missing) and the text of each code: a categorical's own codes (no
    text per pupil), other columns factorised."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), [str(c) for c in column.cat.categories]
    codes, uniques = pd.factorize(column)
    return codes, [str(u) for u in uniques]


def _distinct(codes: np.ndarray, texts: list[str]) -> list[str]:
    """The texts of the codes present (a compare per code: they are few)."""
    return [t for i, t in enumerate(texts) if (codes == i).any()]


def _outcome_values(df: pd.DataFrame, outcome: str) -> np.ndarray:
    """The outcome per pupil, where recorded: yes or no (binary), the position of its category
    (ordinal, -1 for none of them) or the count."""
    if outcome in BINARY:
        return df[outcome].to_numpy(dtype=bool, na_value=False)
    if outcome in ORDINAL:
        return _codes(df[outcome], ORDINAL[outcome][1])
    return df[outcome].astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _term_mask(term: str, coded: dict, fsm: np.ndarray) -> np.ndarray:
    """The model's pupils with the term's value: FSM, or a covariate's value (`coded`: each
    covariate's codes over the pupils and their texts)."""
    if term == "fsm":
        return fsm
    var, _, value = term.partition(":")
    codes, texts = coded.get(var, (None, []))
    return codes == texts.index(value) if value in texts else np.zeros(len(fsm), dtype=bool)


def term_cells(y: np.ndarray, m: np.ndarray, outcome: str) -> tuple[int, bool]:
    """(the smallest cell a term rests on, whether its sum is dominated), from the model's pupils'
    outcome values `y` (`_outcome_values`) and the term's mask `m` over them. Binary: pupils with
    the term's value with and without the outcome; ordinal: each cumulative split (at or below a
    category, above it); count: pupils with the term's value and those of them with a count
    above 0 (the contributors to the sum), whose sum is checked for dominance."""
    n = int(np.count_nonzero(m))  # (counted in place: no copy of the term's pupils)
    if outcome in BINARY:
        yes = int(np.count_nonzero(y & m))
        return min(yes, n - yes), False
    if outcome in ORDINAL:
        splits = [int(np.count_nonzero(m & (y <= k))) for k in range(len(ORDINAL[outcome][1]) - 1)]
        return min([min(a, n - a) for a in splits] or [0]), False
    y = y[m]
    contributors = int((y > 0).sum())
    rules = dominance_rules(y) if len(y) else {"nk_rule": False, "p_ratio": False}
    return min(contributors, len(y)), rules["nk_rule"] or rules["p_ratio"]


def protect_models(
    models: pd.DataFrame, frame: pd.DataFrame, threshold: int = THRESHOLD, base: int = BASE
) -> tuple[pd.DataFrame, dict]:
    """intervention_outcome_models for export, and per outcome the checks behind it
    (residual df, smallest cell, dominated terms)."""
    rows, checks = [], {}
    covariates = {name: _coded(frame[name]) for name in ("level", "sex", "ks4_year")}
    fsm = frame["fsm"].to_numpy(dtype=bool, na_value=False)
    for outcome, part in models.groupby("outcome", sort=False):
        keep = _model_rows(frame, outcome)
        coded = {name: (codes[keep], texts) for name, (codes, texts) in covariates.items()}
        has_fsm = fsm[keep]
        y = _outcome_values(frame, outcome)[keep]
        n = int(part["n"].max())
        fitted = part["note"].fillna("").str.startswith("model not fitted").sum() < len(part)
        # Parameters of the fitted design (effects.design: treatment dummies of the levels,
        # sexes and cohorts present, FSM, and a constant or, for the ordinal model, thresholds),
        # counted from the sample (a term the data cannot identify is still a parameter).
        present = set(_distinct(*coded["level"]))
        slopes = (
            sum(lv in present for lv in LEVELS[1:])
            + max(len(_distinct(*coded["sex"])) - 1, 0)
            + max(len(_distinct(*coded["ks4_year"])) - 1, 0)
            + int(has_fsm.any() and not has_fsm.all())
        )
        if outcome in ORDINAL:
            codes, texts = _coded(frame[outcome])
            params = slopes + max(len(_distinct(codes[keep], texts)) - 1, 0)
        else:
            params = slopes + 1
        n_pub = int(round_to_base([n], base)[0])
        dof = n - params if fitted else None
        dof_ok = dof is not None and dof >= threshold
        info = {"dof_ok": dof_ok, "parameters": params, "terms": {}}
        for r in part.itertuples():
            m = _term_mask(r.term, coded, has_fsm)
            smallest, dom = term_cells(y, m, outcome) if fitted else (0, False)
            ok = smallest >= threshold
            note = r.note if isinstance(r.note, str) else None
            suppress = False
            if fitted and not dof_ok:
                suppress, note = True, f"suppressed: residual degrees of freedom under {threshold}"
            elif fitted and not ok and pd.notna(r.estimate):
                suppress, note = True, f"suppressed: rests on a cell of fewer than {threshold} pupils"
            elif dom and pd.notna(r.estimate):
                note = "for review: the outcome's sum in this group is dominated by one or two pupils (NK / p-ratio)"
            info["terms"][r.term] = {"cells_ok": ok, "dominated": dom, "suppressed": suppress}
            rows.append(
                {
                    "outcome": outcome,
                    "model": r.model,
                    "measure": r.measure,
                    "term": r.term,
                    "estimate": np.nan if suppress else r.estimate,
                    "ci_low": np.nan if suppress else r.ci_low,
                    "ci_high": np.nan if suppress else r.ci_high,
                    "p_value": np.nan if suppress else r.p_value,
                    "n": n_pub,
                    "residual_df": (n_pub - params) if fitted else pd.NA,
                    "cells_at_least_threshold": bool(ok),
                    "suppressed": bool(suppress),
                    "note": note,
                }
            )
        checks[outcome] = info
    out = pd.DataFrame(rows, columns=list(InterventionOutcomeModelsExport.to_schema().columns))
    for c in ("outcome", "model", "measure", "term", "note"):
        out[c] = out[c].astype("string[pyarrow]")
    for c in ("estimate", "ci_low", "ci_high", "p_value"):
        out[c] = out[c].astype("Float64")
    out["n"] = out["n"].astype("Int64")
    out["residual_df"] = out["residual_df"].astype("Int64")
    for c in ("cells_at_least_threshold", "suppressed"):
        out[c] = out[c].astype("boolean")
    return out, checks


# ---------------------------------------------------------------------------------------------
# Chart


def draw_outcomes_by_level_export(summary_export: pd.DataFrame, synthetic: bool = False) -> bytes:
    """The panels of effects.draw_outcomes_by_level (rates, and the median unauthorised absence,
    by level with 95% intervals), drawn only from the published values of the export summary:
    the rounded n under each bar, a suppressed value marked "suppressed" and no bar."""
    fig, axes = plots.figure(8.0, 9.0, ncols=2, nrows=3)
    labels = ["none", "referral\nonly", "child in\nneed", "protection\nplan", "looked\nafter"]
    for ax, (title, (name, measure)) in zip(axes.ravel(), CHART_OUTCOMES.items()):
        s = summary_export[(summary_export["outcome"] == name) & (summary_export["measure"] == measure)]
        s = s.set_index(s["level"].astype(str)).reindex(list(LEVELS))
        scale = 100 if measure == "rate" else 1
        est = s["estimate"].astype("Float64").to_numpy(dtype=float, na_value=np.nan) * scale
        lo = s["ci_low"].astype("Float64").to_numpy(dtype=float, na_value=np.nan) * scale
        hi = s["ci_high"].astype("Float64").to_numpy(dtype=float, na_value=np.nan) * scale
        n = s["n"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        # (clipped: an estimate from rounded counts can sit a rounding error outside its interval)
        err = np.clip(np.vstack([np.where(np.isnan(lo), 0, est - lo), np.where(np.isnan(hi), 0, hi - est)]), 0, None)
        x = np.arange(len(LEVELS))
        ax.bar(x, np.nan_to_num(est), yerr=np.where(np.isnan(est), 0, err), capsize=3, color="#4c72b0")
        top = np.nanmax(np.r_[hi[~np.isnan(hi)], est[~np.isnan(est)], 1.0])
        for i in np.flatnonzero(np.isnan(est)):
            ax.text(x[i], top * 0.04, "suppressed", ha="center", va="bottom", fontsize=6, color="#777777")
        ax.set_xticks(
            x, [f"{lab}\nn={'s' if np.isnan(v) else f'{int(v):,}'}" for lab, v in zip(labels, n)], fontsize=6.5
        )
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("% of pupils" if measure == "rate" else "sessions", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(
        "Outcomes by highest level of social-care involvement (95% CIs; published values, n rounded to 5)", fontsize=10
    )
    plots.mark_synthetic(fig, synthetic)
    return plots.render(fig)


# ---------------------------------------------------------------------------------------------
# Checks (functions of the tables by name: the same when the check runs alone on stored tables)

SUMMARY = "intervention_outcome_summary_export"
MODELS = "intervention_outcome_models_export"
REQUEST = "output_checking_request"


def _summary_protection(t: dict) -> SummaryProtection:
    return shared(
        t,
        "summary_protection",
        lambda: memoised(
            protect_summary,
            export_frame(t["pupil_outcomes"]),
            t["la_aggregates_publishable"],
            t["la_aggregates"],
            t["region_aggregates_publishable"],
            threshold=THRESHOLD,
            base=BASE,
            policy=t["disclosure_rules"].policy(),
        ),
    )


def _small_or_unrounded(df: pd.DataFrame, columns) -> int:
    v = pd.concat([pd.to_numeric(df[c], errors="coerce") for c in columns]).dropna()
    return int((((v > 0) & (v < THRESHOLD)) | (v % BASE != 0)).sum())


@one_blas_thread
def summary_control(t: dict) -> Outcome:
    p = _summary_protection(t)
    stored = t[SUMMARY].reset_index(drop=True)
    recoverable = p.recoverable()
    same = stored.astype(str).equals(p.table.reset_index(drop=True).astype(str))
    bad = _small_or_unrounded(stored, ["n", "events"])
    passed = not recoverable and not p.unprotected and bad == 0 and same
    return Outcome(
        passed,
        {
            "recoverable_suppressed_counts": len(recoverable),
            "small_or_unrounded_counts": bad,
            "table_equals_its_protection": same,
        },
        None
        if passed
        else f"{len(recoverable)} suppressed counts recoverable, {bad} small or unrounded "
        f"counts, table {'equals' if same else 'differs from'} its protection",
    )


SUMMARY_CONTROL = Check(
    "disclosure_control",
    (
        "No published count of 1-9 or off base 5; no suppressed count (nor its complement) determined by the published "
        "counts of this table and la_aggregates_publishable's England totals (exact attacker, sign of counts included); "
        "the table is its protection recomputed from pupil_outcomes"
    ),
    summary_control,
)


def models_control(t: dict) -> Outcome:
    df = t[MODELS]
    shown = df["estimate"].notna()
    low_dof = int((shown & ~(df["residual_df"].fillna(0) >= THRESHOLD)).sum())
    thin = int((shown & ~df["cells_at_least_threshold"].astype(bool)).sum())
    unrounded = int((df["n"] % BASE != 0).sum())
    passed = low_dof == 0 and thin == 0 and unrounded == 0
    return Outcome(
        passed,
        {"estimates_with_residual_df_under_10": low_dof, "estimates_on_cells_under_10": thin, "unrounded_n": unrounded},
    )


MODELS_CONTROL = Check(
    "disclosure_control",
    (
        "Every published estimate has residual degrees of freedom of at least 10 and rests on cells of at least 10 "
        "pupils; n is a multiple of 5"
    ),
    models_control,
)


def request_passes(t: dict) -> Outcome:
    index = t[REQUEST]
    counts = {k: int(v) for k, v in index["status"].value_counts().items()}
    failed = sorted(index.loc[index["status"] == "fail", "uid"].astype(str))
    return Outcome(
        not failed,
        {f"status_{k}": v for k, v in counts.items()},
        f"outputs failing: {', '.join(failed)}" if failed else None,
    )


# The outputs of the request: every for-export asset of the graph but the request (a test checks
# this list against the assets' disclosure tags).
REQUEST_OUTPUTS = (
    "la_aggregates_publishable",
    "region_aggregates_publishable",
    SUMMARY,
    MODELS,
    "la_funnel_chart_export",
    "la_map_chart_export",
    "outcomes_by_level_chart_export",
)


def request_is_complete(t: dict) -> Outcome:
    expected = set(REQUEST_OUTPUTS)
    listed = set(t[REQUEST]["uid"].astype(str))
    missing, extra = sorted(expected - listed), sorted(listed - expected)
    return Outcome(
        not missing and not extra,
        {
            "outputs": len(listed),
            "for_export_assets": len(expected),
            "missing": ", ".join(missing),
            "not_for_export": ", ".join(extra),
        },
        f"missing: {', '.join(missing)}; not for export: {', '.join(extra)}" if missing or extra else None,
    )


def output_file(data) -> bytes:
    """An output's file in the request: a chart's PNG, or a table as CSV (as ExportOutput writes it)."""
    return (
        data
        if isinstance(data, bytes)
        else data.reset_index(drop=True).to_csv(index=False, lineterminator="\n").encode()
    )


def request_matches_outputs(t: dict) -> Outcome:
    """Every file of the request is the output it names as it is stored now (its sha256): checked
    alone on a published warehouse, this finds a request older than a table published after it."""
    import hashlib

    index = t[REQUEST]
    stale = sorted(
        r.uid
        for r in index.itertuples()
        if r.uid in t and hashlib.sha256(output_file(t[r.uid])).hexdigest() != r.sha256
    )
    return Outcome(
        not stale,
        {"outputs_compared": int(index["uid"].isin(list(t)).sum()), "stale": ", ".join(stale)},
        f"files differing from the stored outputs: {', '.join(stale)}" if stale else None,
    )


REQUEST_CHECKS = (
    Check(
        "every_output_passes", "No for-export output has status fail (review is for the output checker)", request_passes
    ),
    Check(
        "lists_every_for_export_output",
        "The request lists every for-export table and chart (every asset "
        "tagged disclosure: for_export but itself), each once, and nothing else",
        request_is_complete,
    ),
    Check(
        "matches_the_stored_outputs",
        "Every file of the request is the stored output it names (sha256): a "
        "table or chart published after the request would fail this when checks run on the warehouse",
        request_matches_outputs,
    ),
)


# ---------------------------------------------------------------------------------------------
# Assets

PUPIL_COLUMNS = [*OUTCOME_COLUMNS, "la"]


@table_asset(
    InterventionOutcomeSummaryExport,
    group=GROUP,
    checks=[SUMMARY_CONTROL],
    disclosure="for_export",
    ins={"pupil_outcomes": dg.AssetIn(metadata={"columns": PUPIL_COLUMNS})},
)
def intervention_outcome_summary_export(
    pupil_outcomes: pd.DataFrame,
    la_aggregates_publishable: pd.DataFrame,
    la_aggregates: pd.DataFrame,
    region_aggregates_publishable: pd.DataFrame,
    disclosure_rules: DisclosureRules,
) -> Table:
    """intervention_outcome_summary prepared for release from the SRS: per level (and all
    levels) and outcome, n and events rounded to base 5, counts of 1-9 suppressed, with secondary
    suppression across every outcome over the same pupils and the LA table's England totals (no
    suppressed count, nor its complement, is determined by the published counts); zeros and full
    cells follow the disclosure policy (resource disclosure_rules; by default published and
    flagged for the output checker in `flag`); rates and Wilson intervals from the published
    counts; medians with their n, suppressed with it or when n < 10. Offending outcomes count
    linked pupils with an LA, as la_aggregates_publishable does (its England totals are the same
    pupils). Listed in the output-checking request."""
    tables = {
        "pupil_outcomes": pupil_outcomes,
        "la_aggregates_publishable": la_aggregates_publishable,
        "la_aggregates": la_aggregates,
        "region_aggregates_publishable": region_aggregates_publishable,
        "disclosure_rules": disclosure_rules,
    }
    p = _summary_protection(tables)
    tables[SUMMARY] = p.table
    meta = {
        "suppressed_rows": int(p.table["suppressed"].sum()),
        "flagged_rows": int(p.table["flag"].notna().sum()),
        "primary_suppressions": int(p.primary.sum()),
        "secondary_suppressions": int(p.secondary.sum()),
        "policy": p.policy.describe(),
    }
    return Table(p.table, meta, checks={"disclosure_control": summary_control(tables)})


@table_asset(
    InterventionOutcomeModelsExport,
    group=GROUP,
    checks=[MODELS_CONTROL],
    disclosure="for_export",
    ins={"pupil_outcomes": dg.AssetIn(metadata={"columns": PUPIL_COLUMNS})},
)
def intervention_outcome_models_export(
    intervention_outcome_models: pd.DataFrame, pupil_outcomes: pd.DataFrame
) -> Table:
    """intervention_outcome_models prepared for release from the SRS: n rounded to base 5 with
    the residual degrees of freedom (at least 10, as ACRO requires of regressions); a term whose
    cells (pupils with its value, with and without the outcome) hold fewer than 10 pupils is
    withheld; count-model terms whose sum is dominated by one or two pupils (ACRO's NK and
    p-ratio rules) are published and flagged for review in `note`. Listed in the output-checking
    request."""
    df, checks = memoised(
        protect_models, intervention_outcome_models, outcome_frame(pupil_outcomes), threshold=THRESHOLD, base=BASE
    )
    meta = {
        "suppressed_terms": int(df["suppressed"].sum()),
        "models": len(checks),
        "dominated_terms": sum(v["dominated"] for c in checks.values() for v in c["terms"].values()),
    }
    return Table(df, meta)


@plots.chart_asset("Outcomes by level (published values)", group=GROUP, disclosure="for_export")
def outcomes_by_level_chart_export(
    intervention_outcome_summary_export: pd.DataFrame, raw_extracts: RawExtracts
) -> bytes:
    """outcomes_by_level_chart for release: the same panels drawn only from the published values
    of intervention_outcome_summary_export (rates of rounded counts, medians published with their
    n, n rounded to 5 under each bar); a suppressed value has no bar and says so. Listed in the
    output-checking request."""
    return draw_outcomes_by_level_export(intervention_outcome_summary_export, raw_extracts.is_synthetic_world())


class RequestConfig(dg.Config):
    run_acro: bool = Field(
        default=True,
        description=(
            "Run ACRO (SACRO's acro package) on the pupil rows behind each table and keep its verdict in the request; "
            "false skips it (a few seconds at 200,000 pupils), and every other check still runs"
        ),
    )


@table_asset(
    OutputCheckingRequest,
    group=GROUP,
    checks=REQUEST_CHECKS,
    disclosure="for_export",
    lineage=False,
    ins={"pupil_outcomes": dg.AssetIn(metadata={"columns": PUPIL_COLUMNS})},
)
def output_checking_request(
    context: dg.AssetExecutionContext,
    config: RequestConfig,
    pupil_outcomes: pd.DataFrame,
    la_aggregates: pd.DataFrame,
    la_aggregates_publishable: pd.DataFrame,
    region_aggregates: pd.DataFrame,
    region_aggregates_publishable: pd.DataFrame,
    intervention_outcome_models: pd.DataFrame,
    intervention_outcome_summary_export: pd.DataFrame,
    intervention_outcome_models_export: pd.DataFrame,
    la_funnel_chart_export: bytes,
    la_map_chart_export: bytes,
    outcomes_by_level_chart_export: bytes,
    disclosure_rules: DisclosureRules,
    raw_extracts: RawExtracts,
) -> Table:
    """The output-checking request an SRS output checker reviews: every for-export table (CSV)
    and chart (PNG, the published file) in the folder `output_checking_request/` beside this table
    (published with the run: `<warehouse>/current/output_checking_request/`), with results.json in
    ACRO's format (per output: status pass / review / fail, the checks applied and their outcome,
    ACRO's own verdict on the pupil rows where it applies, a comment on the protection, sha256),
    config.json (the rules) and checksums/ (sha256 per file, as SACRO's viewer reads them). The
    protection of each table is recomputed to list the cells each rule acted on; the exact
    attacker is run on every exported count together; each chart is redrawn from its published
    table and must be the same file. This table lists the outputs with their status and checksum."""
    import time

    from .output_checking import build_request, index_table, request_outputs

    started = time.perf_counter()
    outputs, timings = request_outputs(
        pupil_outcomes,
        la_aggregates,
        la_aggregates_publishable,
        region_aggregates,
        region_aggregates_publishable,
        intervention_outcome_models,
        intervention_outcome_summary_export,
        intervention_outcome_models_export,
        charts={
            "la_funnel_chart_export": la_funnel_chart_export,
            "la_map_chart_export": la_map_chart_export,
            "outcomes_by_level_chart_export": outcomes_by_level_chart_export,
        },
        synthetic=raw_extracts.is_synthetic_world(),
        run_acro=config.run_acro,
        policy=disclosure_rules.policy(),
    )
    files, doc = build_request(outputs, policy=disclosure_rules.policy())
    index = index_table(doc)
    index.attrs["folder"] = files  # stored by the IO manager as output_checking_request/ in the run folder
    statuses = {k: int(v) for k, v in index["status"].value_counts().items()}
    meta = {
        "outputs": len(index),
        **{f"status_{k}": v for k, v in sorted(statuses.items())},
        "files": len(files),
        "acro_run": config.run_acro,
        "seconds": dg.MetadataValue.json(
            {k: round(v, 2) for k, v in {**timings, "total": time.perf_counter() - started}.items()}
        ),
    }
    context.log.info(
        f"output-checking request: {len(index)} outputs, " + ", ".join(f"{v} {k}" for k, v in sorted(statuses.items()))
    )
    return Table(index, meta)


export_assets = [
    intervention_outcome_summary_export,
    intervention_outcome_models_export,
    outcomes_by_level_chart_export,
    output_checking_request,
]

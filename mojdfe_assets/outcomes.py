"""Outcome assets: one row per spine pupil with the education and offending outcomes the
research questions use, and the order of social-care and criminal-justice contact.

Education outcomes join on `pupil_id`; offending (PNC) data carry only `moj_uid`, so offending
joins on `moj_uid`, and only where that link is unambiguous (`moj_links`): a MoJUID shared by
several pupils, or a pupil with several MoJUIDs across extracts, is left unlinked rather than give
one child another's cautions. A pupil with no exclusion row had no exclusion (0, not missing); a
pupil with no KS4 or absence row has those outcomes missing; several absence rows of a pupil
(pupils who changed school) are summed.
"""

import dagster as dg
import numpy as np
import pandas as pd

from . import arrowops, codelists, keys, years
from .arrowops import lookup
from .schemas import CONVICTION_GROUPS, MOJ_LINKS, SEVERITY, ContactSequence, PupilOutcomes
from .table_assets import Table, table_asset

GROUP = "outcomes"


def _to_pupils(per_code: pd.DataFrame, pupil_codes: np.ndarray, n: int) -> pd.DataFrame:
    """Per-key aggregates (indexed by distinct key codes, -1..n-1) placed on each pupil's row (a
    fresh RangeIndex); missing where none. `reindex` by position: a slot per code, no hash table."""
    rows = keys.positions(pupil_codes, per_code.index.to_numpy(), n)
    return pd.DataFrame({c: pd.api.extensions.take(per_code[c]._values, rows, allow_fill=True) for c in per_code})


def _per_pupil(codes: np.ndarray, pupil_codes: np.ndarray, n: int, weights=None) -> np.ndarray:
    """Per pupil, how many of a table's rows carry its key code (codes -1..n-1), or the sum of
    `weights` over them: a bincount (float sums of integers, exact below 2**53). Slot n holds
    code -1: missing matches missing, as in pandas."""
    counts = np.bincount(np.where(codes >= 0, codes, n), weights, n + 1)
    return counts[np.where(pupil_codes >= 0, pupil_codes, n)]


def _sums(values: pd.Series, codes: np.ndarray, pupil_codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per pupil, the sum of a table's integer `values` over its rows, and how many of those
    rows have a value."""
    v = values.to_numpy(dtype=float, na_value=np.nan)
    ok = ~np.isnan(v)
    return _per_pupil(codes[ok], pupil_codes, n, v[ok]).astype(np.int64), _per_pupil(codes[ok], pupil_codes, n)


def _spread(pairs: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Per group code (0..n-1), whether its values differ (smallest != largest) over the
    (group, value) pairs of several tables: one pass of ufunc.at each, no sort and no
    concatenation (at national scale the pairs number tens of millions)."""
    lo = np.full(max(n, 1), np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(max(n, 1), -1, dtype=np.int64)
    for groups, values in pairs:
        np.minimum.at(lo, groups, values)
        np.maximum.at(hi, groups, values)
    return (hi >= 0) & (lo != hi)


def moj_links(pupils: list[np.ndarray], mojs: list[np.ndarray]) -> tuple[np.ndarray, dict]:
    """Per spine pupil, the code (position in MOJ_LINKS) of whether offending records can be linked
    on its MoJUID: `no_moj_uid`, `shared_moj_uid` (another pupil reference carries the same MoJUID
    in the spine or any other table with pupil_id and moj_uid), `conflicting_moj_uids` (the pupil
    carries different MoJUIDs across them), else `linked`. `pupils` and `mojs` are the key codes
    (`keys.encode`, one shared dictionary each) of those tables' pupil_id and moj_uid, the spine's
    first. Integer work: over every (pupil, MoJUID) pair, whether a MoJUID has more than one pupil
    and a pupil more than one MoJUID."""
    n_p, n_m = keys.n_keys(*pupils), keys.n_keys(*mojs)
    sp, sm = pupils[0], mojs[0]
    pairs = []  # every (pupil, MoJUID) pair with both present
    for p, m in zip(pupils, mojs):
        if pairs and len(p) == len(sp) and np.array_equal(p, sp) and np.array_equal(m, sm):
            continue  # the spine's own pairs row by row (KS4 and absence in spine order): nothing new
        both = (p >= 0) & (m >= 0)
        pairs.append((p, m) if both.all() else (p[both], m[both]))
    several_mojs = _spread(pairs, n_p)  # per pupil
    several_pupils = _spread([(m, p) for p, m in pairs], n_m)  # per MoJUID
    has = sm >= 0
    shared = has & several_pupils[np.where(has, sm, 0)]
    conflicting = has & several_mojs[np.where(sp >= 0, sp, 0)]
    link = np.select([~has, shared, conflicting], [1, 2, 3], 0).astype(np.int8)  # codes of MOJ_LINKS
    counts = {k: int(c) for k, c in zip(MOJ_LINKS, np.bincount(link, minlength=len(MOJ_LINKS)))}
    return link, counts


def derive_pupil_outcomes(
    levels, ks4, absence, exclusions, offending, stats: dict | None = None, others=()
) -> pd.DataFrame:
    """Outcomes per spine pupil. Keys are hashed once into shared integer codes
    (`keys.encode`: one dictionary of the pupil ids of every table, one of the MoJUIDs); every
    group-by and join below is on those integers. `others`: further tables with pupil_id and
    moj_uid (CIN, CLA) whose pairs decide the MoJUID linkage, with those of the KS4, absence and
    exclusions extracts."""
    df = levels[["pupil_id", "level", "sex", "fsm", "ks4_year", "la"]].copy()
    tables = [ks4, absence, exclusions, *others]
    p_lv, *p_tables = keys.encode(levels["pupil_id"], *(t["pupil_id"] for t in tables))
    p_ks4, p_ab, p_exc = p_tables[:3]
    n = keys.n_keys(p_lv, *p_tables)
    # KS4: the pupil's latest row (same sort as before: by year, last kept). When no pupil has
    # two rows (the usual delivery), each row is its pupil's latest: no sort.
    if len(p_ks4) == 0 or np.bincount(p_ks4 + 1).max() <= 1:
        latest = pd.DataFrame({"ks4_level2_em": ks4["ks4_level2_em"].array, "ks4_att8": ks4["ks4_att8"].array})
        latest.index = p_ks4
    else:
        k = ks4[["academic_year_end", "ks4_level2_em", "ks4_att8"]].reset_index(drop=True)
        k = k.sort_values("academic_year_end")
        latest = pd.DataFrame(
            {"ks4_level2_em": k["ks4_level2_em"].array, "ks4_att8": k["ks4_att8"].array},
            index=p_ks4[k.index.to_numpy()],
        )
        latest = latest[~latest.index.duplicated(keep="last")]
    ks = _to_pupils(latest, p_lv, n)
    df["gcse_level2_em"] = ks["ks4_level2_em"].astype("boolean").array
    df["attainment8"] = ks["ks4_att8"].astype("Float64").array
    # Several absence rows of a pupil (pupils who changed school) are summed: that is the rule;
    # missing where none of its rows has a value.
    for col, out in [
        ("ab_sessions_unauthorised", "unauthorised_sessions"),
        ("ab_sessions_possible", "sessions_possible"),
    ]:
        total, recorded = _sums(absence[col], p_ab, p_lv, n)
        df[out] = pd.arrays.IntegerArray(total, recorded == 0)
    fixed = (exclusions["exc_category"] == "FIXD").to_numpy(dtype=bool)
    df["fixed_period_exclusions"] = pd.array(_per_pupil(p_exc[fixed], p_lv, n), dtype="Int64")
    sessions, _ = _sums(exclusions.loc[fixed, "exc_sessions"], p_exc[fixed], p_lv, n)
    df["fixed_period_sessions"] = pd.array(sessions, dtype="Int64")
    perm = (exclusions["exc_category"] == "PERM").to_numpy(dtype=bool)
    df["permanent_exclusion"] = pd.array(keys.member(p_lv, p_exc[perm & (p_exc >= 0)], n), dtype="boolean")
    # Offending, on moj_uid: severity per disposal code, worked out once per code (not per row).
    disposal = pd.Categorical(offending["pnc_disposal"])
    sev_of = codelists.groups("pnc_disposal")
    sev_cat = np.array([sev_of.get(c) for c in disposal.categories] + [None], dtype=object)
    rank_cat = np.array([SEVERITY.index(v) if v in SEVERITY else np.nan for v in sev_cat], dtype=float)
    dcode = disposal.codes  # -1 (missing) -> the trailing None / NaN slot
    sev = sev_cat[dcode]
    paired = [i for i, t in enumerate(tables) if "moj_uid" in t]
    m_lv, m_off, *m_paired = keys.encode(
        levels["moj_uid"], offending["moj_uid"], *(tables[i]["moj_uid"] for i in paired)
    )
    n_m = keys.n_keys(m_lv, m_off, *m_paired)
    o = (
        pd.DataFrame(
            {
                "caution": sev == "caution",
                "conviction": np.isin(sev, ["non_custodial", "custodial"]),
                "rank": rank_cat[dcode],
                "date": offending["pnc_disposal_date"].to_numpy(),
            }
        )
        .groupby(m_off)
        .agg(
            cautions=("caution", "sum"), convictions=("conviction", "sum"), rank=("rank", "max"), first=("date", "min")
        )
    )
    o = o[o.index >= 0]  # rows with no moj_uid link to nobody
    link, link_counts = moj_links([p_lv, *(p_tables[i] for i in paired)], [m_lv, *m_paired])
    df["moj_link"] = pd.Categorical.from_codes(link, categories=list(MOJ_LINKS))
    linked = link == 0
    op = _to_pupils(o, m_lv, n_m)

    def per_linked(column: str) -> np.ndarray:
        """A linked pupil's value, 0 if it has no offending record; -1 where not linked."""
        return np.where(linked, np.nan_to_num(op[column].to_numpy(dtype=float)), -1).astype(np.int64)

    df["cautions"] = pd.arrays.IntegerArray(per_linked("cautions"), ~linked)
    convictions = per_linked("convictions")
    df["convictions"] = pd.arrays.IntegerArray(convictions, ~linked)
    # none / one / two or more: the count capped at 2 is the group's code
    df["conviction_group"] = pd.Categorical.from_codes(
        np.where(linked, np.minimum(convictions, 2), -1), categories=list(CONVICTION_GROUPS), ordered=True
    )
    df["most_severe_disposal"] = pd.Categorical.from_codes(per_linked("rank"), categories=list(SEVERITY), ordered=True)
    df["first_cj_contact_date"] = op["first"].where(linked).astype("datetime64[ms]").array
    if stats is not None:
        stats["moj_link"] = link_counts
        stats["pupils_with_several_absence_rows"] = (
            int((np.bincount(p_ab[p_ab >= 0], minlength=n)[p_lv[p_lv >= 0]] > 1).sum()) if n else 0
        )
        unlinked = m_lv[(m_lv >= 0) & ~linked]
        stats["pnc_rows_of_moj_uids_left_unlinked"] = int(keys.member(m_off, unlinked, n_m).sum())
        stats["pnc_rows_not_linked_to_spine"] = int((~keys.member(m_off, m_lv[m_lv >= 0], n_m)).sum())
        stats["pupils_with_pnc_record"] = int(keys.member(m_lv, m_off, n_m).sum())
    return df


def _indexed_by_pupil(summary: pd.DataFrame, column: str) -> pd.Series:
    """A per-pupil summary's column indexed by pupil id: `set_index("pupil_id")[column]` without
    copying the whole summary first (2.8M CIN pupils at 10M)."""
    return pd.Series(summary[column].array, index=pd.Index(summary["pupil_id"].array, name="pupil_id"), name=column)


def derive_contact_sequence(outcomes, cla_summary, cin_summary) -> pd.DataFrame:
    keep = ((outcomes["level"] != "none") & outcomes["first_cj_contact_date"].notna()).to_numpy(dtype=bool)
    # each column filtered by the mask itself (`arrowops.rows`): the row labels are dropped at the end
    columns = ["pupil_id", "level", "first_cj_contact_date"]
    both = arrowops.rows(pd.DataFrame({c: outcomes[c] for c in columns}, copy=False), keep)
    cla_first = lookup(both["pupil_id"], _indexed_by_pupil(cla_summary, "first_care_date"))
    cin_year = lookup(both["pupil_id"], _indexed_by_pupil(cin_summary, "first_cin_year"))
    cin_first = years.first_day(cin_year)
    first_sc = pd.concat([cla_first, cin_first], axis=1).min(axis=1)
    df = pd.DataFrame(
        {
            "pupil_id": both["pupil_id"],
            "level": both["level"],
            "first_social_care_date": first_sc.astype("datetime64[ms]"),
            "first_cj_contact_date": both["first_cj_contact_date"],
        }
    )
    df = df[df["first_social_care_date"].notna()]
    gap = (df["first_cj_contact_date"] - df["first_social_care_date"]).dt.days
    df["social_care_first"] = (gap > 0).astype("boolean")
    df["gap_days"] = gap.astype("Int64")
    df["gap_group"] = pd.Categorical(
        np.select([gap <= 0, gap < 365], ["cj_first", "sc_first_under_1y"], "sc_first_1y_plus"),
        categories=["cj_first", "sc_first_under_1y", "sc_first_1y_plus"],
    )
    return df.reset_index(drop=True)


@table_asset(
    PupilOutcomes,
    group=GROUP,
    # Only the columns used are read from storage (see ParquetIOManager.load_input).
    ins={
        "intervention_level": dg.AssetIn(
            metadata={"columns": ["pupil_id", "moj_uid", "level", "sex", "fsm", "ks4_year", "la"]}
        ),
        "ks4_clean": dg.AssetIn(
            metadata={"columns": ["pupil_id", "moj_uid", "academic_year_end", "ks4_level2_em", "ks4_att8"]}
        ),
        "absence_clean": dg.AssetIn(
            metadata={"columns": ["pupil_id", "moj_uid", "ab_sessions_unauthorised", "ab_sessions_possible"]}
        ),
        "exclusions_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "moj_uid", "exc_category", "exc_sessions"]}),
        "offending_clean": dg.AssetIn(metadata={"columns": ["moj_uid", "pnc_disposal", "pnc_disposal_date"]}),
        "cin_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "moj_uid"]}),
        "cla_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "moj_uid"]}),
    },
)
def pupil_outcomes(
    intervention_level: pd.DataFrame,
    ks4_clean: pd.DataFrame,
    absence_clean: pd.DataFrame,
    exclusions_clean: pd.DataFrame,
    offending_clean: pd.DataFrame,
    cin_clean: pd.DataFrame,
    cla_clean: pd.DataFrame,
) -> Table:
    """One row per spine pupil: the intervention level with the outcomes of research question 1.
    Education: GCSE-or-equivalent attainment (level 2 incl. English and maths; Attainment 8 from
    2015/16), unauthorised absence sessions in secondary school, sessions missed through
    fixed-period exclusion, and permanent exclusion ever. Offending (PNC, linked on `moj_uid`):
    cautions, convictions grouped none / one / two or more, the most severe disposal (none <
    caution < non-custodial < custodial) and the date of the first caution or conviction.
    Outcomes with no record are missing (KS4, absence) or zero (exclusions, offending for a
    linked pupil). Unauthorised absence and sessions possible are summed over a pupil's absence
    rows: a pupil who changed school has a row per school, and summing them is the rule (the
    metadata counts such pupils, `pupils_with_several_absence_rows`).

    Offending is linked only where the MoJUID link is unambiguous (`moj_link`): the spine's
    MoJUID, carried by no other pupil reference and the only MoJUID of this pupil across the
    spine, CIN, CLA, KS4, absence and exclusion extracts. A pupil with no MoJUID, a MoJUID shared
    with another pupil, or several MoJUIDs has offending outcomes missing (never another child's
    cautions and convictions); the counts are in the metadata (`moj_link`)."""
    stats: dict = {}
    df = derive_pupil_outcomes(
        intervention_level,
        ks4_clean,
        absence_clean,
        exclusions_clean,
        offending_clean,
        stats,
        others=[cin_clean, cla_clean],
    )
    return Table(
        df,
        {
            "pupils": len(df),
            "pnc_rows_not_linked_to_spine": stats["pnc_rows_not_linked_to_spine"],
            "pupils_with_cj_contact": int(df["first_cj_contact_date"].notna().sum()),
            "pupils_with_pnc_record": stats["pupils_with_pnc_record"],
            "moj_link (pupils)": dg.MetadataValue.json(stats["moj_link"]),
            "pnc_rows_of_moj_uids_left_unlinked": stats["pnc_rows_of_moj_uids_left_unlinked"],
            "pupils_with_several_absence_rows": stats["pupils_with_several_absence_rows"],
        },
    )


@table_asset(
    ContactSequence,
    group=GROUP,
    # only the columns used are read (at 10M the whole pupil_outcomes table took ~8 s to load)
    ins={
        "pupil_outcomes": dg.AssetIn(metadata={"columns": ["pupil_id", "level", "first_cj_contact_date"]}),
        "cla_pupil_summary": dg.AssetIn(metadata={"columns": ["pupil_id", "first_care_date"]}),
        "cin_pupil_summary": dg.AssetIn(metadata={"columns": ["pupil_id", "first_cin_year"]}),
    },
)
def contact_sequence(
    pupil_outcomes: pd.DataFrame, cla_pupil_summary: pd.DataFrame, cin_pupil_summary: pd.DataFrame
) -> Table:
    """For pupils with both social-care contact and a caution or conviction: whether social care
    came first, and by how long. The field guide notes that social care usually precedes
    criminal-justice contact by a year or more, and that the reverse order (care following
    offending) matters for interpretation. CIN records carry only a collection year, so a CIN-only
    pupil's first contact is dated 1 April of that year: the gap is then an upper bound."""
    df = derive_contact_sequence(pupil_outcomes, cla_pupil_summary, cin_pupil_summary)
    return Table(df, {k: int(v) for k, v in df["gap_group"].value_counts().items()})


outcome_assets = [pupil_outcomes, contact_sequence]

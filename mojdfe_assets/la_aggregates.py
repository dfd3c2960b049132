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

import dagster as dg
import numpy as np
import pandas as pd

from . import geography, maps, plots
from .disclosure import BASE, THRESHOLD, determined_cells, protect_linked, publish_rate
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
from .table_assets import Check, Outcome, Table, table_asset

GROUP = "la_aggregates"
SOCIAL_CARE_LEVELS = [lv for lv in LEVELS if lv != "none"]


def _logit(p):
    p = np.clip(np.asarray(p, float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def la_cells(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Linked pupils with an LA, collapsed to LA × level × sex × cohort × FSM cells: pupils and
    pupils cautioned or convicted. Pupils with sex or FSM missing form their own cell value."""
    linked = outcomes["most_severe_disposal"].notna() & outcomes["la"].notna()
    sub = outcomes.loc[linked, ["la", "level", "sex", "ks4_year", "fsm", "first_cj_contact_date"]]
    frame = pd.DataFrame({"la": sub["la"].astype("category"), "level": sub["level"],
                          "sex": sub["sex"].astype("category").cat.add_categories("unknown").fillna("unknown"),
                          "ks4_year": sub["ks4_year"].astype("category"),
                          "fsm": sub["fsm"].map({True: "yes", False: "no"}).astype("category")
                          .cat.set_categories(["no", "yes", "unknown"]).fillna("unknown"),
                          "y": sub["first_cj_contact_date"].notna().to_numpy(int)})
    out = frame.groupby(["la", "level", "sex", "ks4_year", "fsm"], observed=True).agg(
        pupils=("y", "size"), cj=("y", "sum")).reset_index()
    out = out[out["pupils"] > 0].reset_index(drop=True)
    return out.astype(dict.fromkeys(("la", "level", "sex", "ks4_year", "fsm"), str))


def adjusted_expected(c: pd.DataFrame) -> np.ndarray:
    """Per cell, the expected count under a national binomial GLM (logit link) of caution or
    conviction on level, sex, cohort, FSM and the LA covariates (no LA effects): the national
    average for pupils like these in an LA like this."""
    x = pd.concat([dummies(c["level"], LEVELS, "level"), dummies(c["sex"], sorted(c["sex"].unique()), "sex"),
                   dummies(c["ks4_year"], sorted(c["ks4_year"].unique()), "ks4_year"),
                   dummies(c["fsm"], sorted(c["fsm"].unique()), "fsm")], axis=1)
    x["la_non_sc_logit"] = _logit(c["la_non_sc_rate"])
    x["la_idaci"] = c["la_idaci"].to_numpy(float)
    x = x.loc[:, x.std(axis=0) > 0]
    x.index = c.index
    import statsmodels.api as sm

    x = sm.add_constant(x, has_constant="add")
    res = sm.GLM(np.column_stack([c["cj"], c["pupils"] - c["cj"]]), x, family=sm.families.Binomial()).fit()
    return res.predict(x).to_numpy() * c["pupils"].to_numpy()


def flag(ratio, lo95, hi95, lo998, hi998) -> np.ndarray:
    return np.select([ratio > hi998, ratio > hi95, ratio < lo998, ratio < lo95],
                     ["high_99.8", "high_95", "low_99.8", "low_95"], "within")


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
    g = c.groupby(["la", "level"], observed=True).agg(
        pupils=("pupils", "sum"), cj_contact=("cj", "sum"), expected=("expected", "sum"),
        adjusted_expected=("adjusted_expected", "sum"), la_non_sc_rate=("la_non_sc_rate", "first")).reset_index()
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


def publishable(agg: pd.DataFrame, threshold: int = THRESHOLD, base: int = BASE, unit: str = "la",
                schema=LaAggregatesPublishable) -> tuple[pd.DataFrame, dict]:
    """Area × level counts (`unit`: the LA, or the region) of pupils, of pupils with a caution or
    conviction, and of pupils without, protected together (a count suppressed in one is suppressed
    in all, so none can be recovered by subtraction; a cell where every pupil offended is
    suppressed as well), rounded to `base`, with England totals; rates recomputed from the
    published counts."""
    agg = agg.rename(columns={unit: "la"})
    wide = {name: agg.pivot(index="la", columns="level", values=col).reindex(columns=list(LEVELS)).fillna(0)
            .astype("int64") for name, col in (("pupils", "pupils"), ("cj_contact", "cj_contact"))}
    wide["not_cj"] = wide["pupils"] - wide["cj_contact"]
    wide = {k: v.rename(columns=str) for k, v in wide.items()}
    everyone = (wide["not_cj"] == 0) & (wide["pupils"] > 0)
    prot = protect_linked(wide, threshold, base, force=everyone)
    long = {}
    for name in ("pupils", "cj_contact"):
        pub = prot[name].published.rename(columns={"total": "all"})
        long[name] = pub.stack(future_stack=True).rename(name)
    out = pd.concat(long.values(), axis=1).reset_index()
    out.columns = ["la", "level", "pupils", "cj_contact"]
    sup = prot["pupils"].suppressed.stack(future_stack=True).rename("suppressed").reset_index()
    sup.columns = ["la", "level", "suppressed"]
    out = out.merge(sup, on=["la", "level"], how="left")
    out["suppressed"] = (out["suppressed"].astype("boolean").fillna(False).to_numpy(bool)
                         | out["pupils"].isna().to_numpy() | out["cj_contact"].isna().to_numpy())
    out["rate"] = publish_rate(out["cj_contact"], out["pupils"])
    # The published ratio uses the published (rounded) count, so it reveals no more than the count.
    keyed = agg.assign(level=agg["level"].astype(str), la=agg["la"].astype(str)).set_index(["la", "level"])
    idx = pd.MultiIndex.from_frame(out[["la", "level"]].astype(str))
    shown = out["cj_contact"].notna().to_numpy() & idx.isin(keyed.index)
    expected = keyed["adjusted_expected"].reindex(idx).to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = out["cj_contact"].astype("float64").to_numpy() / expected
    out["adjusted_ratio"] = pd.array(np.where(shown & (expected > 0), np.round(ratio, 2), np.nan), dtype="Float64")
    out["outlier"] = pd.array(np.where(shown, keyed["outlier"].astype(str).reindex(idx).to_numpy(object), None),
                              dtype="string[pyarrow]")
    out["la"] = out["la"].astype("string[pyarrow]")
    out["level"] = out["level"].astype("string[pyarrow]")
    for col in ("pupils", "cj_contact"):
        out[col] = out[col].astype("Int64")
    out["suppressed"] = out["suppressed"].astype("boolean")
    leaks = sum(len(determined_cells(wide[n], prot[n].suppressed)) for n in wide)
    meta = {"threshold": threshold, "rounding_base": base,
            "la_level_cells": len(agg),
            "primary_suppressions": int((prot["pupils"].primary | prot["cj_contact"].primary
                                         | prot["not_cj"].primary).to_numpy().sum()),
            "suppressed_cells": int(prot["pupils"].suppressed.to_numpy().sum()),
            "recoverable_suppressed_cells": int(leaks)}
    return out.rename(columns={"la": unit})[list(schema.to_schema().columns)], meta


# ---------------------------------------------------------------------------------------------
# Assets


@table_asset(LaAggregates, group=GROUP,
             ins={"pupil_outcomes": dg.AssetIn(metadata={"columns": [
              "la", "level", "sex", "ks4_year", "fsm", "most_severe_disposal", "first_cj_contact_date"]})})
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
    meta = {"las": int(df["la"].nunique()),
            "outliers_99_8_by_level": dg.MetadataValue.json(
                {lv: int(sc[(sc["level"] == lv) & sc["outlier"].isin(["high_99.8", "low_99.8"])].shape[0])
                 for lv in SOCIAL_CARE_LEVELS}),
            # About 5% expected by chance: a much larger share means between-LA variation that
            # the adjustment does not explain, and single flags should be read with care.
            "share_outside_95_social_care_levels": round(float((sc["outlier"] != "within").mean()), 4) if len(sc) else 0.0,
            "pupils_without_la_or_moj_link": int(len(pupil_outcomes) - df["pupils"].sum())}
    if df.empty:
        meta["note"] = ("no spine pupil is linked to MoJ data with an LA (see pupil_outcomes' moj_link): "
                        "there is nothing to compare, and the table is empty")
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
        return Outcome(bad == 0 and recoverable == 0, {"small_or_unrounded_counts": bad,
                                                       "recoverable_suppressed_cells": recoverable})

    return Check("disclosure_control", "No published count under 10 (except 0); no suppressed cell recoverable "
                 "from the totals; every count a multiple of the rounding base", control)


@table_asset(LaAggregatesPublishable, group=GROUP, checks=[disclosure_control("la_aggregates_publishable", "la")],
             disclosure="for_export")
def la_aggregates_publishable(la_aggregates: pd.DataFrame) -> Table:
    """la_aggregates prepared for release from the SRS under the output-checking rules: counts
    of 1 to 9 pupils are suppressed (primary); further cells are suppressed (secondary) so that no
    suppressed count can be recovered from the row (LA) or column (level) totals, or by
    subtracting pupils cautioned or convicted from pupils, and a cell where every pupil was
    cautioned or convicted is suppressed; every published count, including the LA totals (level
    'all') and England totals (LA 'total'), is rounded to the nearest 5. Rates, and the adjusted
    ratio (published count / adjusted expected, 2 decimals), are recomputed from the published,
    rounded counts; the ratio and the outlier flag (from la_aggregates) are shown only where the
    count of pupils cautioned or convicted is published. No pupil identifiers, no unrounded
    counts."""
    df, meta = publishable(la_aggregates)
    return Table(df, meta)


def region_aggregates_table(agg: pd.DataFrame) -> pd.DataFrame:
    """la_aggregates summed over each region's authorities (2018 geography), with the same
    adjusted comparison (the model's expected counts add up) and funnel flag."""
    geo = geography.geography_2018().set_index("la_code")
    la = agg["la"].astype(str)
    d = agg.assign(region_code=la.map(geo["region_code"]).fillna("unknown").to_numpy(),
                   region_name=la.map(geo["region_name"]).fillna("LA not a 2018 authority").to_numpy(),
                   level=agg["level"].astype(str))
    g = d.groupby(["region_code", "region_name", "level"], sort=True).agg(
        las=("la", "nunique"), pupils=("pupils", "sum"), cj_contact=("cj_contact", "sum"),
        adjusted_expected=("adjusted_expected", "sum")).reset_index()
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
    return Table(df, {"regions": int(df["region_code"].nunique()),
                      "las_not_2018_authorities": int((df["region_code"] == "unknown").sum())})


@table_asset(RegionAggregatesPublishable, group=GROUP, disclosure="for_export",
             checks=[disclosure_control("region_aggregates_publishable", "region_code")])
def region_aggregates_publishable(region_aggregates: pd.DataFrame) -> Table:
    """region_aggregates prepared for release from the SRS under the same rules as
    la_aggregates_publishable: counts of pupils, of pupils cautioned or convicted and of those not
    protected together (threshold 10, secondary suppression, base-5 rounding, England totals), the
    ratio recomputed from the published count."""
    df, meta = publishable(region_aggregates, unit="region_code", schema=RegionAggregatesPublishable)
    return Table(df, meta)


def map_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The hex map's cells from an LA × level table: its ratio, flag and suppression (a table
    without a `suppressed` column, la_aggregates, suppresses nothing)."""
    suppressed = (table["suppressed"].astype("boolean").fillna(False) if "suppressed" in table
                  else pd.Series(False, index=table.index))
    return pd.DataFrame({"la": table["la"].astype(str), "level": table["level"].astype(str),
                         "ratio": table["adjusted_ratio"].astype(float), "outlier": table["outlier"].astype(object),
                         "suppressed": suppressed.to_numpy(bool)})


@plots.chart_asset("LA map (exact)", group=GROUP)
def la_map_chart(la_aggregates: pd.DataFrame, raw_extracts: RawExtracts) -> bytes:
    """Map of England's children's services authorities (hex layout), one panel per social-care
    level: each LA's adjusted ratio of pupils cautioned or convicted against the national average
    for similar pupils in a similar LA (la_aggregates.adjusted_ratio), on a diverging colour scale
    centred on 1 (red above, blue below), LAs beyond the funnel limits outlined (99.8% black,
    95% grey), region boundaries drawn. From exact counts: SRS only, not for release (see
    la_map_chart_export)."""
    return maps.draw_hex_map(map_cells(la_aggregates), "Caution or conviction against the national average "
                             "(exact; SRS only)", raw_extracts.is_synthetic_world())


@plots.chart_asset("LA map (published values)", group=GROUP, disclosure="for_export")
def la_map_chart_export(la_aggregates_publishable: pd.DataFrame, raw_extracts: RawExtracts) -> bytes:
    """The LA map for release: drawn only from la_aggregates_publishable (ratios of the published,
    rounded counts; a suppressed cell is hatched grey and carries no value), so it discloses no
    more than that table."""
    return maps.draw_hex_map(map_cells(la_aggregates_publishable), "Caution or conviction against the national "
                             "average (published values)", raw_extracts.is_synthetic_world())


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
def la_funnel_chart_export(la_aggregates_publishable: pd.DataFrame, la_aggregates: pd.DataFrame,
                           raw_extracts: RawExtracts) -> bytes:
    """Funnel plots for release: only published cells (la_aggregates_publishable: ratios of the
    rounded counts), drawn against the adjusted expected count, with how many cells suppression
    hides per level and the curve 10 / expected below which no published count can lie."""
    return maps.draw_funnel_published(la_aggregates_publishable, la_aggregates, raw_extracts.is_synthetic_world())


la_assets = [la_aggregates, la_aggregates_publishable, region_aggregates, region_aggregates_publishable, la_map_chart,
             la_map_chart_export, la_funnel_chart, la_funnel_chart_export]

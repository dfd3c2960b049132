"""Outcome assets: one row per spine pupil with the education and offending outcomes the
research questions use, and the order of social-care and criminal-justice contact.

Education outcomes join on `pupil_id`; offending (PNC) data carry only `moj_uid`, so offending
joins on `moj_uid`. A pupil with no exclusion row had no exclusion (0, not missing); a pupil with
no KS4 or absence row has those outcomes missing.
"""

import dagster as dg
import numpy as np
import pandas as pd

from . import codelists
from .checks import checked_output, schema_spec, table_schema
from .schemas import CONVICTION_GROUPS, SEVERITY, ContactSequence, PupilOutcomes

GROUP = "outcomes"
KINDS = {"pandas", "parquet"}
SOURCES = {"intervention_level", "ks4_clean", "absence_clean", "exclusions_clean", "offending_clean",
           "pupil_outcomes", "cla_pupil_summary", "cin_pupil_summary"}


def derive_pupil_outcomes(levels, ks4, absence, exclusions, offending) -> pd.DataFrame:
    df = levels[["pupil_id", "moj_uid", "level", "sex", "fsm", "ks4_year", "la"]].copy()
    k = ks4.sort_values("academic_year_end").drop_duplicates("pupil_id", keep="last").set_index("pupil_id")
    df["gcse_level2_em"] = df["pupil_id"].map(k["ks4_level2_em"]).astype("boolean")
    df["attainment8"] = df["pupil_id"].map(k["ks4_att8"]).astype("Float64")
    a = absence.groupby("pupil_id")[["ab_sessions_unauthorised", "ab_sessions_possible"]].sum(min_count=1)
    df["unauthorised_sessions"] = df["pupil_id"].map(a["ab_sessions_unauthorised"]).astype("Int64")
    df["sessions_possible"] = df["pupil_id"].map(a["ab_sessions_possible"]).astype("Int64")
    fixed = exclusions["exc_category"] == "FIXD"
    fx = exclusions[fixed].groupby("pupil_id").agg(n=("exc_category", "size"), s=("exc_sessions", "sum"))
    perm = set(exclusions.loc[exclusions["exc_category"] == "PERM", "pupil_id"])
    df["fixed_period_exclusions"] = df["pupil_id"].map(fx["n"]).fillna(0).astype("Int64")
    df["fixed_period_sessions"] = df["pupil_id"].map(fx["s"]).fillna(0).astype("Int64")
    df["permanent_exclusion"] = df["pupil_id"].isin(perm).astype("boolean")
    sev = offending["pnc_disposal"].astype("object").map(codelists.groups("pnc_disposal"))
    rank = sev.map({s: i for i, s in enumerate(SEVERITY)})
    o = pd.DataFrame({"moj_uid": offending["moj_uid"], "caution": sev == "caution",
                      "conviction": sev.isin(["non_custodial", "custodial"]), "rank": rank,
                      "date": offending["pnc_disposal_date"]}).groupby("moj_uid").agg(
        cautions=("caution", "sum"), convictions=("conviction", "sum"), rank=("rank", "max"), first=("date", "min"))
    linked = df["moj_uid"].notna()
    m = df["moj_uid"].map(o["convictions"])
    df["cautions"] = df["moj_uid"].map(o["cautions"]).where(linked).fillna(0).where(linked).astype("Int64")
    df["convictions"] = m.where(linked).fillna(0).where(linked).astype("Int64")
    n = df["convictions"].fillna(-1).to_numpy(dtype="int64")
    groups = np.select([n == 0, n == 1], ["none", "one"], "two_or_more")
    df["conviction_group"] = pd.Categorical(pd.Series(groups).where(linked.to_numpy()), categories=list(CONVICTION_GROUPS),
                                            ordered=True)
    worst = df["moj_uid"].map(o["rank"]).where(linked).fillna(0).where(linked)
    df["most_severe_disposal"] = pd.Categorical.from_codes(worst.fillna(-1).astype(int), categories=list(SEVERITY),
                                                           ordered=True)
    df["first_cj_contact_date"] = df["moj_uid"].map(o["first"]).astype("datetime64[ms]")
    return df.drop(columns=["moj_uid"])


def derive_contact_sequence(outcomes, cla_summary, cin_summary) -> pd.DataFrame:
    both = outcomes[(outcomes["level"] != "none") & outcomes["first_cj_contact_date"].notna()]
    cla_first = both["pupil_id"].map(cla_summary.set_index("pupil_id")["first_care_date"])
    cin_year = both["pupil_id"].map(cin_summary.set_index("pupil_id")["first_cin_year"])
    cin_first = pd.to_datetime((cin_year.astype("Float64") - 1).astype("Int64").astype("string") + "-04-01",
                               errors="coerce")
    first_sc = pd.concat([cla_first, cin_first], axis=1).min(axis=1)
    df = pd.DataFrame({"pupil_id": both["pupil_id"], "level": both["level"],
                       "first_social_care_date": first_sc.astype("datetime64[ms]"),
                       "first_cj_contact_date": both["first_cj_contact_date"]})
    df = df[df["first_social_care_date"].notna()]
    gap = (df["first_cj_contact_date"] - df["first_social_care_date"]).dt.days
    df["social_care_first"] = (gap > 0).astype("boolean")
    df["gap_days"] = gap.astype("Int64")
    df["gap_group"] = pd.Categorical(np.select([gap <= 0, gap < 365], ["cj_first", "sc_first_under_1y"],
                                               "sc_first_1y_plus"),
                                     categories=["cj_first", "sc_first_under_1y", "sc_first_1y_plus"])
    return df.reset_index(drop=True)


@dg.asset(group_name=GROUP, kinds=KINDS, check_specs=[schema_spec("pupil_outcomes", PupilOutcomes)],
          metadata={"dagster/column_schema": table_schema(PupilOutcomes)})
def pupil_outcomes(intervention_level: pd.DataFrame, ks4_clean: pd.DataFrame, absence_clean: pd.DataFrame,
                   exclusions_clean: pd.DataFrame, offending_clean: pd.DataFrame):
    """One row per spine pupil: the intervention level with the outcomes of research question 1.
    Education: GCSE-or-equivalent attainment (level 2 incl. English and maths; Attainment 8 from
    2015/16), unauthorised absence sessions in secondary school, sessions missed through
    fixed-period exclusion, and permanent exclusion ever. Offending (PNC, linked on `moj_uid`):
    cautions, convictions grouped none / one / two or more, the most severe disposal (none <
    caution < non-custodial < custodial) and the date of the first caution or conviction.
    Outcomes with no record are missing (KS4, absence) or zero (exclusions, offending for a
    linked pupil); a pupil with no `moj_uid` has offending outcomes missing."""
    df = derive_pupil_outcomes(intervention_level, ks4_clean, absence_clean, exclusions_clean, offending_clean)
    linked = set(offending_clean["moj_uid"])
    unmatched = int((~offending_clean["moj_uid"].isin(set(intervention_level["moj_uid"].dropna()))).sum())
    meta = {"pupils": len(df), "pnc_rows_not_linked_to_spine": unmatched,
            "pupils_with_cj_contact": int(df["first_cj_contact_date"].notna().sum()),
            "pupils_with_pnc_record": int(intervention_level["moj_uid"].isin(linked).sum())}
    yield from checked_output(df, PupilOutcomes, "pupil_outcomes", meta, upstream="intervention_level",
                              assets=SOURCES)


@dg.asset(group_name=GROUP, kinds=KINDS, check_specs=[schema_spec("contact_sequence", ContactSequence)],
          metadata={"dagster/column_schema": table_schema(ContactSequence)})
def contact_sequence(pupil_outcomes: pd.DataFrame, cla_pupil_summary: pd.DataFrame,
                     cin_pupil_summary: pd.DataFrame):
    """For pupils with both social-care contact and a caution or conviction: whether social care
    came first, and by how long. The field guide notes that social care usually precedes
    criminal-justice contact by a year or more, and that the reverse order (care following
    offending) matters for interpretation. CIN records carry only a collection year, so a CIN-only
    pupil's first contact is dated 1 April of that year: the gap is then an upper bound."""
    df = derive_contact_sequence(pupil_outcomes, cla_pupil_summary, cin_pupil_summary)
    counts = {k: int(v) for k, v in df["gap_group"].value_counts().items()}
    yield from checked_output(df, ContactSequence, "contact_sequence", counts, upstream="pupil_outcomes",
                              assets=SOURCES)


outcome_assets = [pupil_outcomes, contact_sequence]

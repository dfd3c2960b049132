"""A straightforward pandas translation of the field guide's dplyr recipe, as a researcher would
first write it: read everything as text, recode blanks cell by cell, parse dates and compute
episode durations row by row (`apply(axis=1)`), summarise per pupil with `groupby().apply` and
Python functions, then a row-wise `case_when` for the ordered intervention level.

This is the *baseline* of the benchmark (run_benchmark.py), not part of the pipeline. It follows
the same definitions as `mojdfe_assets.social_care` (CLA > CPP (coalesced categories of abuse, or
previous plans summed >= 1) > child in need (in need on any 31 March) > referral only > none), and
like the pipeline it drops CLA episodes that cease before they commence, so the two give the same
intervention level per spine pupil (run_benchmark.py prints the agreement).

    python benchmarks/naive_dplyr.py /path/to/world
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd

LEVELS = ["none", "referral_only", "child_in_need", "child_protection_plan", "looked_after"]


def clean_names(name: str) -> str:  # janitor::clean_names(., "snake") plus the guide's common keys
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s).lower()
    if s == "mo_juid":
        return "moj_uid"
    if s.endswith("pupil_matching_ref_anonymous"):
        return "pupil_id"
    if s.endswith("_acadyr"):
        return "academic_year"
    return s


def na_if_blank(v):  # mutate(across(everything(), ~ na_if(trimws(.x), "")))
    v = v.strip()
    return None if v == "" else v


def read_extract(folder: Path, file: str) -> pd.DataFrame:
    df = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
    df.columns = [clean_names(c) for c in df.columns]
    for col in df.columns:
        df[col] = df[col].map(na_if_blank)
    return df


def parse_date(v):  # lubridate::parse_date_time(x, c("dmy", "ymd"))
    if v is None or v != v:
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(v, fmt).date()
        except ValueError:
            pass
    return None


def separate_year(row):  # tidyr::separate(academic_year, c("start", "end"), "/")
    start, end = row["academic_year"].split("/")
    return pd.Series({"year_start": int(start), "year_end": int(end)})


def episode_row(row):
    comm, ceased = parse_date(row["cla_date_epi_comm"]), parse_date(row["cla_date_epi_ceased"])
    end = ceased if ceased is not None else date(row["year_end"], 3, 31)
    return pd.Series(
        {"comm": comm, "ceased": ceased, "end": end, "duration": (end - comm).days if comm is not None else None}
    )


def cla_summary(cla: pd.DataFrame) -> pd.DataFrame:
    cla = cla[cla["pupil_id"].notna()].copy()
    cla[["year_start", "year_end"]] = cla.apply(separate_year, axis=1)
    cla[["comm", "ceased", "end", "duration"]] = cla.apply(episode_row, axis=1)
    ok = cla.apply(lambda r: r["comm"] is not None and (r["ceased"] is None or r["ceased"] >= r["comm"]), axis=1)
    cla = cla[ok]
    return cla.groupby("pupil_id").apply(
        include_groups=False,
        func=lambda g: pd.Series(
            {
                "first_care_date": g["comm"].min(),
                "last_care_date": g["end"].max(),
                "episodes": len(g.drop_duplicates("comm")),
                "days": g["duration"].sum(),
            }
        ),
    )


def cin_summary(cin: pd.DataFrame) -> pd.DataFrame:
    cin = cin[cin["pupil_id"].notna()].copy()
    cin[["year_start", "year_end"]] = cin.apply(separate_year, axis=1)
    # CPP method a: coalesce the category-of-abuse items.
    cin["category"] = cin.apply(
        lambda r: next(
            (
                r[c]
                for c in ("cin_category_of_abuse", "cin_initial_category_of_abuse", "cin_latest_category_of_abuse")
                if r[c] is not None
            ),
            None,
        ),
        axis=1,
    )
    cin["prev_cpp"] = cin["cin_number_of_previous_cpp"].apply(lambda v: int(v) if v is not None else 0)

    def per_pupil(g):
        in_need = g.loc[g["cin_cin_at31march"] == "1", "year_end"].nunique()
        return pd.Series(
            {
                "years_in_need": in_need,
                "referral_only": in_need == 0,
                "cpp_a": g["category"].notna().any(),
                "cpp_b": g["prev_cpp"].sum() >= 1,
            }
        )

    out = cin.groupby("pupil_id").apply(per_pupil, include_groups=False)
    out["cpp"] = out.apply(lambda r: bool(r["cpp_a"] or r["cpp_b"]), axis=1)
    return out


def case_when(row) -> str:
    if row["in_cla"]:
        return "looked_after"
    if row["cpp"] is True:
        return "child_protection_plan"
    if row["years_in_need"] == row["years_in_need"] and row["years_in_need"] > 0:
        return "child_in_need"
    if row["in_cin"]:
        return "referral_only"
    return "none"


def intervention_levels(folder: Path) -> pd.DataFrame:
    """One row per spine pupil: pupil_id and level (text)."""
    folder = Path(folder)
    spine = read_extract(folder, "NPD_KS4_spine.csv")[["pupil_id"]].drop_duplicates("pupil_id")
    cla = cla_summary(read_extract(folder, "CLA_2006_to_2018.csv"))
    cin = cin_summary(read_extract(folder, "CIN_08-09_to_16-17.csv"))
    df = spine.merge(cin, left_on="pupil_id", right_index=True, how="left")
    df = df.merge(cla, left_on="pupil_id", right_index=True, how="left")
    df["in_cin"] = df["pupil_id"].isin(cin.index)
    df["in_cla"] = df["pupil_id"].isin(cla.index)
    df["level"] = df.apply(case_when, axis=1)
    df["level"] = pd.Categorical(df["level"], categories=LEVELS, ordered=True)
    return df[["pupil_id", "level"]].reset_index(drop=True)


if __name__ == "__main__":
    levels = intervention_levels(Path(sys.argv[1]))
    print(levels["level"].value_counts().sort_index().to_string())

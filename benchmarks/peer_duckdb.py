"""The field guide's intervention-level recipe as one DuckDB query: a researcher's short alternative
to the pipeline, used by run_benchmark.py as a peer.

    python benchmarks/peer_duckdb.py WORLD_FOLDER OUT.parquet

Written from the field guide ("Summary of comments on specific variables" and the ordered factor
child looked after > child protection plan > child in need > referral only > no contact), not
from the pipeline's code (it imports nothing of `mojdfe_assets`). The delivered file and column
names are hard-coded. Every CSV is read as text (`all_varchar`); a value that is blank or only
whitespace is missing (`NULLIF(TRIM(x), '')`). Per pupil:

- looked after: the pupil has any row in the CLA extract;
- child protection plan: any of CIN_CategoryOfAbuse / CIN_InitialCategoryOfAbuse /
  CIN_LatestCategoryOfAbuse recorded in any year (coalesced, method a), or
  CIN_NumberOfPreviousCPP summed over the pupil's rows >= 1 (method b);
- child in need: CIN_CIN_AT31MARCH = 1 in any year;
- referral only: in the CIN extract at all;
- none: otherwise;

left-joined onto the distinct pupils of the KS4 spine (one row per spine pupil), written as one
Parquet file with `pupil_id` and `level` (text; an ENUM in level order inside the query).
No validation, no quarantine: rows with no pupil reference simply match nobody, and a count or
flag that is not an integer makes the query fail. DuckDB's defaults (every core).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

CLA = "CLA_2006_to_2018.csv"
CIN = "CIN_08-09_to_16-17.csv"
SPINE = "NPD_KS4_spine.csv"
LEVELS = ("none", "referral_only", "child_in_need", "child_protection_plan", "looked_after")


def _text(col: str) -> str:
    """The delivered value with blanks and whitespace-only values as missing."""
    return f"NULLIF(TRIM({col}), '')"


def query(folder: Path) -> str:
    def src(file: str) -> str:
        path = str(Path(folder) / file).replace("'", "''")
        return f"read_csv('{path}', header = true, all_varchar = true)"

    levels = ", ".join(f"'{v}'" for v in LEVELS)
    return f"""
    WITH spine AS (
        SELECT DISTINCT {_text("KS4_PupilMatchingRefAnonymous")} AS pupil_id
        FROM {src(SPINE)}
    ),
    cla AS (
        SELECT DISTINCT {_text("CLA_PupilMatchingRefAnonymous")} AS pupil_id
        FROM {src(CLA)}
    ),
    cin AS (
        SELECT {_text("CIN_PupilMatchingRefAnonymous")} AS pupil_id,
               bool_or(COALESCE({_text("CIN_CategoryOfAbuse")}, {_text("CIN_InitialCategoryOfAbuse")},
                                {_text("CIN_LatestCategoryOfAbuse")}) IS NOT NULL) AS cpp_a,
               COALESCE(SUM(CAST({_text("CIN_NumberOfPreviousCPP")} AS INTEGER)), 0) >= 1 AS cpp_b,
               COALESCE(bool_or(CAST({_text("CIN_CIN_AT31MARCH")} AS INTEGER) = 1), false) AS in_need
        FROM {src(CIN)}
        GROUP BY 1
    )
    SELECT spine.pupil_id,
           CAST(CASE WHEN cla.pupil_id IS NOT NULL THEN 'looked_after'
                     WHEN cin.cpp_a OR cin.cpp_b THEN 'child_protection_plan'
                     WHEN cin.in_need THEN 'child_in_need'
                     WHEN cin.pupil_id IS NOT NULL THEN 'referral_only'
                     ELSE 'none' END AS ENUM({levels})) AS level
    FROM spine
    LEFT JOIN cla ON cla.pupil_id = spine.pupil_id
    LEFT JOIN cin ON cin.pupil_id = spine.pupil_id
    WHERE spine.pupil_id IS NOT NULL
    """


def run(folder: Path, out: Path) -> float:
    t = time.perf_counter()
    con = duckdb.connect()
    target = str(out).replace("'", "''")
    con.execute(f"COPY ({query(folder)}) TO '{target}' (FORMAT parquet)")
    con.close()
    return time.perf_counter() - t


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python benchmarks/peer_duckdb.py WORLD_FOLDER OUT.parquet")
    secs = run(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"peer_duckdb: {secs:.2f} s wall (query and Parquet write)")

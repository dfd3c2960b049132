"""The national comparison assets: the table and its chart."""

import dagster as dg
import pandas as pd
from pydantic import Field

from .. import plots
from ..resources import RawExtracts
from ..schemas import NationalComparison
from ..table_assets import Check, Outcome, Table, table_asset
from .comparison import compare, draw, summary
from .published import NATIONAL_SCALE_PUPILS, SHARE_WITHIN_FOR_PASS
from .tables import ComparisonTables

GROUP = "national"


class NationalComparisonConfig(dg.Config):
    count_scale: float | None = Field(
        default=None,
        description=(
            "Factor turning the extract's counts into national counts for the comparison with published "
            "figures (e.g. children looked after at 31 March); blank: 10,000,000 / spine pupils, the "
            "synthetic world's scale. Set 1 for a full national extract."
        ),
    )


def within_tolerance(t: dict[str, pd.DataFrame]) -> Outcome:
    s = summary(t["national_comparison"])
    passed = bool(s["compared"]) and s["share_within"] >= SHARE_WITHIN_FOR_PASS
    return Outcome(
        passed,
        {
            "within": s["within_tolerance"],
            "compared": s["compared"],
            "outside_tolerance": dg.MetadataValue.json(s["outside"]),
        },
        None
        if passed
        else f"{s['within_tolerance']} of {s['compared']} figures within tolerance "
        f"({s['share_within']:.1%}; at least {SHARE_WITHIN_FOR_PASS:.0%} expected)",
    )


WITHIN_TOLERANCE = Check(
    "within_published_tolerance",
    f"At least {SHARE_WITHIN_FOR_PASS:.0%} of the computable "
    "figures are within the published tolerance (a warning, never a blocker)",
    within_tolerance,
    blocking=False,
)


@table_asset(
    NationalComparison,
    group=GROUP,
    checks=[WITHIN_TOLERANCE],
    lineage=False,
    # Only the columns the figures use are read from storage, and low-cardinality text as categoricals
    # from Parquet's dictionary pages (see ParquetIOManager.load_input; `_by_value` takes either form).
    ins={
        "cla_clean": dg.AssetIn(
            metadata={
                "columns": [
                    "moj_uid",
                    "pupil_id",
                    "academic_year_end",
                    "cla_cla_la",
                    "cla_poc_start",
                    "cla_cat_need",
                    "cla_date_epi_comm",
                    "cla_date_epi_ceased",
                    "cla_legal_status",
                    "cla_placement",
                    "cla_rec",
                    "cla_cla_31_march",
                    "cla_cla_12_months",
                ],
                "dictionary_columns": ["cla_cla_la"],
            }
        ),
        "cin_clean": dg.AssetIn(
            metadata={
                "columns": [
                    "pupil_id",
                    "academic_year_end",
                    "cin_cin_at31march",
                    "cin_category_of_abuse",
                    "cin_initial_category_of_abuse",
                    "cin_latest_category_of_abuse",
                    "cin_primary_need_code",
                ]
            }
        ),
        "pupil_outcomes": dg.AssetIn(
            metadata={
                "columns": [
                    "pupil_id",
                    "level",
                    "sex",
                    "fsm",
                    "ks4_year",
                    "la",
                    "gcse_level2_em",
                    "attainment8",
                    "most_severe_disposal",
                    "first_cj_contact_date",
                ],
                "dictionary_columns": ["sex", "ks4_year", "la"],
            }
        ),
        "spine_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "ks4_year_of_birth", "ks4_month_of_birth"]}),
        "absence_clean": dg.AssetIn(
            metadata={
                "columns": [
                    "pupil_id",
                    "academic_year",
                    "ab_sessions_possible",
                    "ab_sessions_unauthorised",
                    "ab_sessions_authorised",
                ],
                "dictionary_columns": ["academic_year"],
            }
        ),
        "exclusions_clean": dg.AssetIn(metadata={"columns": ["pupil_id", "academic_year_end", "exc_category"]}),
        "offending_clean": dg.AssetIn(metadata={"columns": ["moj_uid", "pnc_disposal_date"]}),
    },
)
def national_comparison(
    config: NationalComparisonConfig,
    cla_clean: pd.DataFrame,
    cin_clean: pd.DataFrame,
    pupil_outcomes: pd.DataFrame,
    spine_clean: pd.DataFrame,
    absence_clean: pd.DataFrame,
    exclusions_clean: pd.DataFrame,
    offending_clean: pd.DataFrame,
    la_context_clean: pd.DataFrame,
) -> Table:
    """How the extract compares with England's published statistics, one row per figure: the
    published value (DfE, ONS and research sources; year, source and link in each row), the same
    figure computed from this extract, the tolerance band, and whether the extract falls within it.

    Read it as a quality check on a real extract (do counts, placement and legal-status mixes,
    category of need, child protection plans, education and offending gaps look like England's?),
    and as a realism check on the synthetic world. The published figures live in
    `mojdfe_assets/data/published_statistics.csv`: add or correct a figure there, not in code.

    The extract is not all of England's children: it is a spine of KS4 cohorts plus the social-care
    records of those and nearby children. Shares and ratios are compared directly; counts are
    multiplied by `count_scale` (by default 10,000,000 ÷ spine pupils, the synthetic generator's
    national scale; set it in the run config for a real extract, e.g. 1 if the CLA and CIN extracts
    hold every matched child). The `comparability` column says, for each figure, how the extract's
    figure is made comparable and what still differs (ages covered, 'ever' within the windows
    rather than before 18, one record per child per year). A figure outside tolerance is a prompt to
    look, not an error; the check `within_published_tolerance` warns when fewer than 90% are within."""
    spine_pupils = len(spine_clean)
    scale = (
        config.count_scale
        if config.count_scale is not None
        else (NATIONAL_SCALE_PUPILS / spine_pupils if spine_pupils else 1.0)
    )
    x = ComparisonTables(
        cla=cla_clean,
        cin=cin_clean,
        outcomes=pupil_outcomes,
        spine=spine_clean,
        absence=absence_clean,
        exclusions=exclusions_clean,
        offending=offending_clean,
        la_context=la_context_clean,
        count_scale=scale,
    )
    table = compare(x)
    s = summary(table)
    meta = {
        "figures_within_tolerance": s["within_tolerance"],
        "figures_compared": s["compared"],
        "summary": f"{s['within_tolerance']} of {s['compared']} figures within tolerance",
        "share_within": dg.MetadataValue.float(float(s["share_within"])),
        "outside_tolerance": dg.MetadataValue.json(s["outside"]),
        "not_computable": dg.MetadataValue.json(s["not_computable"]),
        "count_scale": dg.MetadataValue.float(float(scale)),
    }
    return Table(table, meta)


@plots.chart_asset("Extract vs published statistics", group=GROUP)
def national_comparison_chart(national_comparison: pd.DataFrame, raw_extracts: RawExtracts) -> bytes:
    """Chart of `national_comparison`: for every published figure, how far the extract's value lies
    from the published one, in units of the figure's tolerance (0 = the published value; the green
    band, ±1, is the tolerance). Red points are outside tolerance; the title counts those within.
    Stored as `national_comparison_chart.png` and shown here."""
    return draw(national_comparison, raw_extracts.is_synthetic_world())


national_assets = [national_comparison, national_comparison_chart]

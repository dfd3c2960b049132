"""The pipeline's intervention level per spine pupil, computed from a folder of delivered extracts
by the same functions, in the same order, as the assets (`cla_raw` ... `intervention_level`),
without Dagster: read (`load_extract`), clean (`clean_table`, with the quarantine tables' pupil
references), derive the episodes and summaries, the CPP flags and the level with membership from
the quarantined rows, and the two membership checks read from the raw extracts.

Used by the differential test (against `reference_levels.levels`, which shares no code with the
pipeline) and by the evidence printed in `test_reference_levels.py`. `test_differential.py` also
checks, on faulted worlds, that the Dagster assets store exactly these levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mojdfe_assets import extracts as X
from mojdfe_assets import social_care as S
from mojdfe_assets.codelists import INTERVENTION_LEVELS as LEVELS
from mojdfe_assets.reading import load_extract
from mojdfe_assets.rules import DEFAULT_RULES, CleaningRules, clean_table


@dataclass
class PipelineLevels:
    levels: pd.DataFrame  # pupil_id, level (text), in spine order
    report: dict  # intervention_level's linkage report
    cla_delivered_not_cla: int  # the cla_pupils_at_cla_level check's failures
    cin_delivered_below_referral: int  # the cin_pupils_at_least_referral check's failures
    quarantined: dict[str, int]  # extract -> quarantined rows


def pipeline_levels(folder, cpp_method_a: str = "all_three", rules: CleaningRules | None = None) -> PipelineLevels:
    folder, rules = Path(folder), rules or DEFAULT_RULES
    raw, cleaned = {}, {}
    for e in (X.CLA, X.CIN, X.SPINE):
        raw[e.name] = load_extract(folder / e.file, e)[0]
        cleaned[e.name] = clean_table(raw[e.name], e, rules)
    cla, cin, spine = (cleaned[k].clean for k in ("cla", "cin", "spine"))
    eps = S.derive_cla_episodes(cla)
    df, report = S.derive_intervention(
        spine,
        S.summarise_cin(cin),
        S.derive_cpp_flags(cin, cpp_method_a),
        S.summarise_cla(eps, cla),
        cin,
        cla,
        cleaned["cin"].quarantine,
        cleaned["cla"].quarantine,
    )
    tokens = rules.tokens()
    in_cla = S._delivered_in(df, S.delivered_pupils(raw["cla"], X.CLA, tokens))
    in_cin = S._delivered_in(df, S.delivered_pupils(raw["cin"], X.CIN, tokens))
    return PipelineLevels(
        pd.DataFrame({"pupil_id": df["pupil_id"].astype(str), "level": df["level"].astype(str)}),
        report,
        int((df.loc[in_cla, "level"] != LEVELS[4]).sum()),
        int((df.loc[in_cin, "level"] == LEVELS[0]).sum()),
        {k: len(c.quarantine) for k, c in cleaned.items()},
    )

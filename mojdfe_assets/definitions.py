"""The one Dagster `Definitions` object of the project: assets, checks and resources.

Data flow: sources (extracts as delivered) -> clean (typed, validated, quarantined) -> derived
tables. `dagster dev` in the repository root loads this module through `workspace.yaml`.
"""


import dagster as dg

from .clean import clean_asset_defs
from .effects import effect_assets
from .la_aggregates import la_assets
from .national import national_assets
from .outcomes import outcome_assets
from .resources import RawExtracts, io_manager_from_env
from .rules import CleaningRules
from .social_care import social_care_assets
from .sources import raw_assets

all_assets = [*raw_assets, *clean_asset_defs, *social_care_assets, *outcome_assets, *effect_assets, *la_assets,
              *national_assets]

defs = dg.Definitions(
    assets=all_assets,
    resources={"raw_extracts": RawExtracts.from_env(), "io_manager": io_manager_from_env(),
               "cleaning_rules": CleaningRules()},
)

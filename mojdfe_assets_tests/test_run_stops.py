"""Issue 15 through Dagster: a run never succeeds with an extract silently lost, and never
crashes on one. An extract quarantined wholesale stops the run naming the extract, column, share
and reason; the membership checks, read from the raw extracts, catch a derivation that loses
quarantined members; a blocking check's failure names the check, column and count; a spine with
no MoJUID at all runs to the end with every offending table empty or missing, not a crash.
"""

from __future__ import annotations

import shutil

import dagster as dg
import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from mojdfe_assets import social_care as S
from mojdfe_assets.definitions import all_assets
from mojdfe_assets.disclosure import DisclosureRules
from mojdfe_assets.resources import LaGeography, ParquetIOManager, RawExtracts, read_parquet
from mojdfe_assets.rules import CleaningRules
from mojdfe_assets.table_assets import table_asset
from mojdfe_assets.warehouse import Warehouse
from mojdfe_assets_tests import faults as F

SOCIAL_CARE_PATH = [f"{e}_{k}" for e in ("cla", "cin", "spine") for k in ("raw", "clean", "quarantine")] + [
    "cla_episodes",
    "cla_pupil_summary",
    "cin_pupil_summary",
    "cin_referral_agreement",
    "cpp_flags",
    "cpp_discrepancy",
    "intervention_level",
]


def materialize(folder, wh, selection=None, rules: CleaningRules | None = None, **kw):
    """Materialise and, when the run succeeds, publish it (as `mojdfe run` does)."""
    io = ParquetIOManager(base_dir=str(wh))
    result = dg.materialize(
        all_assets,
        selection=selection,
        raise_on_error=False,
        resources={
            "raw_extracts": RawExtracts(folder=str(folder), synthetic=False),
            "io_manager": io,
            "cleaning_rules": rules or CleaningRules(),
            "la_geography": LaGeography(),
            "disclosure_rules": DisclosureRules(),
        },
        **kw,
    )
    if result.success:
        io.publish([result.run_id])
    return result


def published(wh):
    return Warehouse(wh).current


def failure_message(result) -> str:
    (event,) = result.get_step_failure_events()
    return event.step_failure_data.error.message.removeprefix("dagster._core.definitions.events.Failure: ").strip()


def checks(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return F.clean_world(tmp_path_factory.mktemp("stops_world"), pupils=800, seed=4)


def test_an_extract_quarantined_wholesale_stops_the_run_naming_extract_column_share_and_reason(world, tmp_path):
    folder = tmp_path / "raw"
    shutil.copytree(world, folder)
    t = F.Table(folder / "EXCLUSIONS_2007_to_2018.csv")
    for r in t.rows:  # every start date written dd.mm.yyyy: no row can be read
        t.set(r, "EXC_START_DATE", t.get(r, "EXC_START_DATE").replace("/", "."))
    t.write()
    n = len(t.rows)
    selection = ["exclusions_raw", "exclusions_clean", "exclusions_quarantine"]
    result = materialize(folder, tmp_path / "wh", selection)
    assert not result.success
    assert failure_message(result) == (
        "blocking check(s) failed: exclusions_clean: quarantined_share (EXCLUSIONS_2007_to_2018.csv: 100.0% of "
        f"{n:,} rows quarantined (threshold 5.0%); column exc_start_date quarantines 100.0% of rows, most often for "
        "'exc_start_date: malformed or impossible date')"
    )
    check = checks(result)[("exclusions_clean", "quarantined_share")]
    assert not check.passed and check.metadata["worst_column"].value == "exc_start_date"
    # nothing stored for the outcome tables, nothing published
    assert not list((tmp_path / "wh").rglob("exclusions_clean.parquet")) and Warehouse(tmp_path / "wh").current is None
    # The threshold is configuration: allowing everything, the same extract is stored (all quarantined).
    allowed = materialize(folder, tmp_path / "wh2", selection, CleaningRules(max_quarantined_share=1.0))
    assert allowed.success and len(read_parquet(published(tmp_path / "wh2") / "exclusions_quarantine.parquet")) == n


def test_membership_checks_fail_on_a_derivation_that_loses_quarantined_members(world, tmp_path, monkeypatch):
    folder = tmp_path / "raw"
    d = F.inject("cla_all_rows_quarantined", world, folder, seed=2)
    e = F.inject("cin_only_rows_quarantined", folder, tmp_path / "raw2", seed=2)
    real = S.derive_intervention
    # the old rule: membership from clean rows only (an over-eager quarantine has the same effect)
    monkeypatch.setattr(S, "derive_intervention", lambda *a: real(*a[:6]))
    # (a small world: the faults quarantine more than 5% of its CLA rows, so the share is allowed)
    rules = CleaningRules(max_quarantined_share=0.5)
    result = materialize(tmp_path / "raw2", tmp_path / "wh", SOCIAL_CARE_PATH, rules)
    assert not result.success
    c = checks(result)
    assert (
        c[("intervention_level", "cla_pupils_at_cla_level")].metadata["not_at_cla_level"].value == len(d["pupils"]) == 6
    )
    assert (
        c[("intervention_level", "cin_pupils_at_least_referral")].metadata["below_referral_only"].value
        == len(e["pupils"])
        > 0
    )
    assert "cla_pupils_at_cla_level" in failure_message(result)
    monkeypatch.setattr(S, "derive_intervention", real)
    result = materialize(tmp_path / "raw2", tmp_path / "wh", SOCIAL_CARE_PATH, rules)
    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    meta = next(
        m.step_materialization_data.materialization.metadata
        for m in result.get_asset_materialization_events()
        if m.step_materialization_data.materialization.asset_key.to_user_string() == "intervention_level"
    )
    assert meta["pupils_at_level_only_from_quarantined_rows"].value == {
        "cla (looked_after)": 6,
        "cin (referral_only)": len(e["pupils"]),
    }


class Tiny(pa.DataFrameModel):
    count: Series[int] = pa.Field(ge=0, description="a count")


@table_asset(Tiny, group="test", lineage=False)
def tiny() -> pd.DataFrame:
    return pd.DataFrame({"count": [1, -1, -2]})


def test_a_blocking_check_failure_names_check_column_and_count():
    result = dg.materialize([tiny], raise_on_error=False)
    assert not result.success
    assert (
        failure_message(result) == "blocking check(s) failed: tiny: schema (count: greater_than_or_equal_to(0): 2 rows)"
    )


def test_a_spine_with_no_moj_uid_runs_to_the_end(small_world, tmp_path):
    """Every spine MoJUID blank (once `zero-size array` in la_aggregates): nobody is linked, the
    offending outcomes are missing, the LA comparison is an empty, schema-valid table with a note,
    and every chart and the national comparison are still made."""
    source, _ = small_world
    folder = tmp_path / "raw"
    shutil.copytree(source, folder)
    t = F.Table(folder / F.SPINE)
    for r in t.rows:
        t.set(r, "MoJUID", "")
    t.write()
    result = materialize(folder, tmp_path / "wh")
    assert result.success, [(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations() if not e.passed]
    assert all(e.passed for e in result.get_asset_check_evaluations() if e.check_name != "within_published_tolerance")
    out = read_parquet(published(tmp_path / "wh") / "pupil_outcomes.parquet")
    assert (out["moj_link"] == "no_moj_uid").all() and out["most_severe_disposal"].isna().all()
    assert len(read_parquet(published(tmp_path / "wh") / "la_aggregates.parquet")) == 0
    meta = {
        m.step_materialization_data.materialization.asset_key.to_user_string(): m.step_materialization_data.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    assert "no spine pupil is linked to MoJ data" in meta["la_aggregates"]["note"].value
    assert meta["pupil_outcomes"]["moj_link (pupils)"].value["no_moj_uid"] == len(out)
    for png in ("la_funnel_chart", "outcomes_by_level_chart", "national_comparison_chart"):
        assert (published(tmp_path / "wh") / f"{png}.png").stat().st_size > 0

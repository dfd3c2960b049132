"""Differential test (issue 15): the pipeline's level per spine pupil against an independent,
straightforward implementation of the same contract (`reference_levels.py`, which shares no code
with the pipeline), on a 3,000-pupil synthetic world and on a copy of it with each fault kind of
`faults.py` injected (Excel and SPSS/R-style exports, second deliveries, month-first re-saves,
...). For every fault kind they agree on every pupil, or, for the faults that make a file unusable,
both stop with a clear error naming the file.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mojdfe_assets.definitions import all_assets
from mojdfe_assets.reading import ExtractError
from mojdfe_assets.resources import read_parquet
from mojdfe_assets_tests import faults as F
from mojdfe_assets_tests import reference_levels as R
from mojdfe_assets_tests.pipeline_levels import pipeline_levels
from mojdfe_assets_tests.worlds import run_graph

# The file each file-level fault makes unusable, and what the pipeline's error says about it.
FILE_ERRORS = {
    "cla_month_first": (
        F.CLA,
        r"column CLA_(POC_START|DATE_EPI_COMM|DATE_EPI_CEASED): \d+ dates have a second field "
        r"over 12 and none a first field over 12: the file looks re-saved month-first",
    ),
    "tab_delimited_cla": (F.CLA, r"the header has no comma but \d+ tab characters: the file looks tab-delimited"),
    "tab_delimited_spine": (F.SPINE, r"the header has no comma but \d+ tab characters: the file looks tab-delimited"),
    "header_duplicate_exact": (F.CIN, r"duplicated column names .*'CIN_CIN_AT31MARCH', 'CIN_CIN_AT31MARCH'"),
    "header_duplicate_case": (
        F.CLA,
        r"duplicated column names .*'CLA_PupilMatchingRefAnonymous', "
        r"'cla_pupilmatchingrefanonymous'",
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return F.clean_world(tmp_path_factory.mktemp("differential_world"), pupils=3_000, seed=1)


@pytest.fixture(scope="module")
def faulted(world, tmp_path_factory):
    base = tmp_path_factory.mktemp("differential_faulted")
    return {kind: (base / kind, F.inject(kind, world, base / kind, seed=3)) for kind in F.FAULTS}


def compare(ref: pd.DataFrame, pipe: pd.DataFrame) -> pd.DataFrame:
    """Pupils of either side whose level differs (or who are on one side only)."""
    m = ref.merge(pipe, on="pupil_id", how="outer", suffixes=("_ref", "_pipe"), indicator=True)
    return m[(m["_merge"] != "both") | (m["level_ref"] != m["level_pipe"])]


def test_unfaulted_world_agrees_for_every_pupil(world):
    ref, pipe = R.levels(world), pipeline_levels(world)
    assert len(ref) == 3_000 and compare(ref, pipe.levels).empty
    assert ref["pupil_id"].tolist() == pipe.levels["pupil_id"].tolist()  # same spine, same order


def test_file_level_faults_are_the_ones_listed(faulted):
    assert {k for k, (_, d) in faulted.items() if d["file_error"]} == set(FILE_ERRORS)


@pytest.mark.parametrize("kind", list(F.FAULTS))
def test_pipeline_agrees_with_reference_on_faulted_world(faulted, kind):
    folder, d = faulted[kind]
    if d["file_error"]:
        file, message = FILE_ERRORS[kind]
        with pytest.raises(R.ReferenceFileError):
            R.levels(folder)
        with pytest.raises(ExtractError, match=rf"^{file.replace('.', r'[.]')}[:,] .*{message}"):
            pipeline_levels(folder)
        return
    assert kind not in FILE_ERRORS
    ref, pipe = R.levels(folder), pipeline_levels(folder)
    diff = compare(ref, pipe.levels)
    assert diff.empty, diff.head(10).to_string()
    assert ref["pupil_id"].tolist() == pipe.levels["pupil_id"].tolist()
    # The membership checks, read from the raw extracts, pass on every faulted world.
    assert pipe.cla_delivered_not_cla == 0 and pipe.cin_delivered_below_referral == 0
    for pupil, level in d["expected_levels"].items():
        assert pipe.levels.set_index("pupil_id").loc[pupil, "level"] == level


@pytest.mark.parametrize(
    "kind", ["cpp_latest_category_only", "lowercase_refs", "missing_tokens_mixed", "cin_only_rows_quarantined"]
)
def test_cpp_method_a_guide_agrees(world, faulted, kind):
    folder, d = faulted[kind]
    ref = R.levels(folder, cpp_method_a="guide")
    assert compare(ref, pipeline_levels(folder, cpp_method_a="guide").levels).empty
    if kind == "cpp_latest_category_only":  # the setting matters here: each of these pupils drops below CPP
        changed = compare(ref, R.levels(folder))
        # (pupils of the unfaulted world recorded only by the latest category differ there too)
        natural = set(compare(R.levels(world, cpp_method_a="guide"), R.levels(world))["pupil_id"])
        assert set(changed["pupil_id"]) - natural == set(d["pupils"]) and len(d["pupils"]) == 8
        assert (changed["level_pipe"] == "child_protection_plan").all()
        assert changed["level_ref"].isin(["child_in_need", "referral_only"]).all()


# intervention_level and everything upstream of it (multi-assets whole: they cannot be subset)
SOCIAL_CARE_PATH = [f"{e}_{k}" for e in ("cla", "cin", "spine") for k in ("raw", "clean", "quarantine")] + [
    "cla_episodes",
    "cla_pupil_summary",
    "cin_pupil_summary",
    "cin_referral_agreement",
    "cpp_flags",
    "cpp_discrepancy",
    "intervention_level",
]


@pytest.mark.parametrize("kind", ["cla_all_rows_quarantined", "missing_tokens_mixed"])
def test_dagster_assets_store_the_same_levels(faulted, tmp_path, kind):
    """The asset graph (raw -> clean -> social care) stores exactly the helper's levels, with every
    check passing, so the differential test above tests what the assets do."""
    folder, _ = faulted[kind]
    result, current = run_graph(all_assets, folder, tmp_path, selection=SOCIAL_CARE_PATH)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    stored = read_parquet(current / "intervention_level.parquet", columns=["pupil_id", "level"])
    stored = pd.DataFrame({"pupil_id": stored["pupil_id"].astype(str), "level": stored["level"].astype(str)})
    assert compare(R.levels(folder), stored).empty
    meta = {
        m.step_materialization_data.materialization.asset_key.to_user_string(): m.step_materialization_data.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    only_q = meta["intervention_level"]["pupils_at_level_only_from_quarantined_rows"].value
    if kind == "cla_all_rows_quarantined":
        assert only_q["cla (looked_after)"] == len(faulted[kind][1]["pupils"]) == 6


def test_differential_summary(faulted):
    """Printed (run with -s): per fault kind, what each side did and how many pupils differ."""
    print(f"\n{'fault':34s} {'reference':>10s} {'pipeline':>10s} {'differ':>7s}")
    for kind, (folder, _) in faulted.items():
        try:
            ref, r = R.levels(folder), "levels"
        except R.ReferenceFileError:
            ref, r = None, "raises"
        try:
            pipe, p = pipeline_levels(folder).levels, "levels"
        except ExtractError:
            pipe, p = None, "raises"
        n = len(compare(ref, pipe)) if ref is not None and pipe is not None else "-"
        print(f"{kind:34s} {r:>10s} {p:>10s} {n!s:>7s}")


def test_cpp_method_a_is_run_config_of_the_cpp_asset(faulted, tmp_path):
    """`cpp_method_a: guide` in the launchpad (run config of cpp_assets) gives the reference's
    guide levels; the default gives its all-three levels, and the metadata counts the pupils who
    are CPP only through the latest category."""
    folder, d = faulted["cpp_latest_category_only"]
    for setting in ("guide", "all_three"):
        result, current = run_graph(
            all_assets,
            folder,
            tmp_path,
            selection=SOCIAL_CARE_PATH,
            run_config={"ops": {"cpp_assets": {"config": {"cpp_method_a": setting}}}},
        )
        assert result.success
        stored = read_parquet(current / "intervention_level.parquet", columns=["pupil_id", "level"])
        stored = pd.DataFrame({"pupil_id": stored["pupil_id"].astype(str), "level": stored["level"].astype(str)})
        assert compare(R.levels(folder, cpp_method_a=setting), stored).empty
        meta = next(
            m.step_materialization_data.materialization.metadata
            for m in result.get_asset_materialization_events()
            if m.step_materialization_data.materialization.asset_key.to_user_string() == "cpp_flags"
        )
        assert meta["cpp_method_a_items"].value == setting
        assert meta["cpp_only_through_latest_category"].value >= len(d["pupils"]) == 8
    field = next(a for a in all_assets if "cpp_flags" in {k.to_user_string() for k in a.keys}).op.config_schema
    assert "latest" in field.config_type.fields["cpp_method_a"].description

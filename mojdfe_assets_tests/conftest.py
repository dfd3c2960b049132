"""Shared fixtures: small synthetic worlds, generated once per test session."""

from __future__ import annotations

import pytest

from mojdfe_assets import synthetic


@pytest.fixture(scope="session")
def small_world(tmp_path_factory):
    """A 4,000-pupil world in the current release format (one record per child per year)."""
    out = tmp_path_factory.mktemp("world_latest")
    manifest = synthetic.generate(out, pupils=4_000, seed=7)
    return out, manifest


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory):
    """A warehouse with one published run of the whole graph on a 1,200-pupil world, as `mojdfe
    run` leaves it: (warehouse folder, its current/ snapshot). Tests must not write into it."""
    from mojdfe_assets.definitions import all_assets
    from mojdfe_assets_tests.worlds import run_graph

    base = tmp_path_factory.mktemp("published")
    synthetic.generate(base / "raw", pupils=1_200, seed=5)
    result, current = run_graph(all_assets, base / "raw", base / "wh")
    assert result.success
    return base / "wh", current

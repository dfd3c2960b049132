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

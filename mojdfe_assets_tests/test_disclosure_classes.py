"""Every asset has exactly one disclosure class (governance.py, the Dagster tag `disclosure`),
following the rule, and every for-export asset is in the output-checking request."""

from __future__ import annotations

import pandera.pandas as pa
import pytest

from mojdfe_assets import governance
from mojdfe_assets.definitions import all_assets
from mojdfe_assets.exports import REQUEST_OUTPUTS, output_checking_request
from mojdfe_assets.schemas import IDENTIFIER_COLUMNS

from .test_disclosure import pupil_level_tables

FOR_EXPORT = {
    "la_aggregates_publishable",
    "region_aggregates_publishable",
    "la_map_chart_export",
    "la_funnel_chart_export",
    "intervention_outcome_summary_export",
    "intervention_outcome_models_export",
    "outcomes_by_level_chart_export",
    "output_checking_request",
}


def specs():
    return {s.key.to_user_string(): s for a in all_assets for s in a.specs}


def test_every_asset_has_exactly_one_class_by_the_rule():
    classes = governance.disclosure_classes(all_assets)
    assert len(classes) == len(specs()) == sum(len(list(a.specs)) for a in all_assets)  # each asset once
    assert set(classes.values()) == set(governance.DISCLOSURE_CLASSES)
    for name, spec in specs().items():
        schema = spec.metadata.get("dagster/column_schema")  # charts (PNG) have none
        columns = {c.name for c in schema.columns} if schema is not None else set()
        cls = classes[name]
        if cls == "for_export":
            assert name.endswith(governance.EXPORT_SUFFIXES) or name == governance.REQUEST, name
            assert not columns & IDENTIFIER_COLUMNS, name
        elif columns & IDENTIFIER_COLUMNS or name.endswith(("_raw", "_quarantine")):
            assert cls == "pupil_level", name
        else:
            assert cls == "srs_only", name
    counts = {k: sum(v == k for v in classes.values()) for k in governance.DISCLOSURE_CLASSES}
    assert counts["for_export"] == 8 and counts["pupil_level"] > 20 and counts["srs_only"] > 8
    # Every table the identifier scan calls pupil-level is pupil-level here.
    assert pupil_level_tables() <= {n for n, c in classes.items() if c == "pupil_level"}


def test_for_export_assets_are_the_request_and_its_outputs():
    assert set(governance.for_export(all_assets)) == FOR_EXPORT
    assert set(REQUEST_OUTPUTS) == FOR_EXPORT - {"output_checking_request"}
    # the request reads every output it lists (the stored table or chart itself)
    inputs = {k.to_user_string() for k in output_checking_request.keys_by_input_name.values()}
    assert set(REQUEST_OUTPUTS) <= inputs


def test_a_misdeclared_asset_is_refused():
    model = pa.DataFrameSchema({"n": pa.Column(int)})
    with pytest.raises(ValueError, match="for_export"):
        governance.disclosure_class("la_aggregates_publishable", model)  # named for export, not declared
    with pytest.raises(ValueError, match="for_export"):
        governance.disclosure_class("la_aggregates", model, "for_export")  # declared, not named so
    with pytest.raises(ValueError, match="identifier"):
        governance.disclosure_class("x_export", pa.DataFrameSchema({"pupil_id": pa.Column(str)}), "for_export")
    with pytest.raises(ValueError, match="unknown"):
        governance.disclosure_class("x", model, "public")
    assert governance.disclosure_class("x_export", model, "for_export") == "for_export"
    assert governance.disclosure_class("cla_raw", model) == "pupil_level"

import csv
import io
import re

from mojdfe_assets import lineage
from mojdfe_assets.definitions import all_assets
from mojdfe_assets.dictionary import build, documents
from mojdfe_assets.resources import PROJECT_ROOT


def test_committed_dictionary_and_lineage_are_current():
    for path, text in documents(PROJECT_ROOT / "docs" / "data_dictionary.md").items():
        assert path.read_text() == text, f"{path.name} is stale: run `mojdfe dictionary`"


def test_dictionary_covers_every_table_and_holds_no_data_values():
    text = build()
    for name in ("cla_clean", "cin_clean", "intervention_level", "cpp_flags", "cla_pupil_summary", "code_lookups"):
        assert f"### `{name}`" in text
    assert "| `level` | category | no |" in text and "cpp_flags.cpp" in text  # lineage in descriptions
    assert "| `U4` | Foster placement with other foster carer(s) - long term fostering | foster |" in text
    for doc in documents(PROJECT_ROOT / "docs" / "data_dictionary.md").values():
        assert not re.search(r"\bM?[0-9A-F]{16}\b", doc)  # nothing shaped like a pupil identifier


def test_every_derived_column_says_what_it_is_and_rests_on_delivered_columns():
    rows = list(csv.DictReader(io.StringIO(lineage.dictionary_csv(all_assets))))
    assert set(rows[0]) == set(lineage.CSV_COLUMNS)
    derived = [
        r
        for r in rows
        if r["stage"] not in ("sources",)
        and not r["table"].endswith("_quarantine")
        and r["table"] not in ("code_lookups", "national_comparison", "intervention_outcome_models")
    ]
    thin = [f"{r['table']}.{r['column']}" for r in derived if len(r["description"].split()) < 3]
    assert not thin, thin
    # every column of the derived tables (but labels and counts of tallies, and the output-checking
    # request's list of outputs) traces to delivered columns
    untraced = [
        f"{r['table']}.{r['column']}"
        for r in derived
        if not r["delivered"]
        and r["table"] not in ("cin_referral_agreement", "cpp_discrepancy", "output_checking_request")
        and r["column"] not in ("outcome", "measure", "category", "note", "model", "term")
    ]
    assert not untraced, untraced
    by = {(r["table"], r["column"]): r for r in rows}
    level = by[("intervention_level", "level")]
    assert "CLA_2006_to_2018.csv:CLA_PupilMatchingRefAnonymous" in level["delivered"]
    assert "CIN_08-09_to_16-17.csv:CIN_CIN_AT31MARCH" in level["delivered"]
    assert by[("cla_episodes", "duration_days")]["delivered"].count("CLA_DATE_EPI") == 2
    assert (
        "U4=Foster placement with other foster carer(s) - long term fostering"
        in by[("cla_clean", "cla_placement")]["codes"]
    )
    assert by[("cla_clean", "cla_date_epi_comm")]["type"] == "date"

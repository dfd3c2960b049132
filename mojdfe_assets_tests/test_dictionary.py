import re

from mojdfe_assets.dictionary import build
from mojdfe_assets.resources import PROJECT_ROOT


def test_committed_dictionary_is_current():
    assert (PROJECT_ROOT / "docs" / "data_dictionary.md").read_text() == build(), "run `mojdfe dictionary`"


def test_dictionary_covers_every_table_and_holds_no_data_values():
    text = build()
    for name in ("cla_clean", "cin_clean", "intervention_level", "cpp_flags", "cla_pupil_summary", "code_lookups"):
        assert f"### `{name}`" in text
    assert "| `level` | category | no |" in text and "cpp_flags.cpp" in text  # lineage in descriptions
    assert "| `U4` | Foster placement with other foster carer(s) - long term fostering | foster |" in text
    assert not re.search(r"\bM?[0-9A-F]{16}\b", text)  # nothing shaped like a pupil identifier

from mojdfe_assets import codelists


def test_code_lists_hold_the_dfe_codes():
    assert codelists.codes("cla_category_of_need") == [f"N{i}" for i in range(1, 9)]
    g = codelists.groups("cla_placement")
    assert (g["U4"], g["U1"], g["P1"], g["A5"], g["P2"]) == (
        "foster",
        "kinship",
        "with_parents",
        "adoption",
        "independent_living",
    )
    assert "K3" not in codelists.codes("cla_placement", 2018) and "K3" in codelists.codes("cla_placement", 2025)
    assert "RC9" not in codelists.codes("cin_reason_for_closure", 2017)
    assert "E1" not in codelists.codes("cla_legal_status", 2005) and "D1" not in codelists.codes(
        "cla_legal_status", 2010
    )
    assert codelists.labels("cin_category_of_abuse")["NEG"] == "Neglect"
    assert codelists.aliases("cin_primary_need")["A2"] == "N2"
    assert codelists.aliases("cla_placement") == {}


def test_every_list_non_empty_and_codes_unique():
    t = codelists.table()
    assert all(codelists.codes(name) for name in codelists.LIST_NAMES)
    assert not t.duplicated(["code_list", "code"]).any()
    assert (t["label"] != "").all()


def test_every_group_is_declared_once_with_a_label():
    t = codelists.table()
    used = t.loc[t["group"] != "", ["code_list", "group"]].drop_duplicates()
    for name, groups in used.groupby("code_list")["group"]:
        assert sorted(codelists.group_names(name)) == sorted(groups), name
        assert all(codelists.group_labels(name)[g] for g in groups)
    assert codelists.group_names("cla_placement")[:2] == ("foster", "kinship")
    assert codelists.group_names("pnc_disposal") == ("caution", "non_custodial", "custodial")


def test_unknown_list_is_a_clear_error():
    import pytest

    with pytest.raises(KeyError, match="unknown code list 'nope'"):
        codelists.codes("nope")

"""The LA code list as data: validity by collection year, harmonisation to 2018, the hex layout,
and a synthetic world that uses the real LA numbers (hand-derived cases)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mojdfe_assets import extracts as X
from mojdfe_assets import geography as G

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path("/work/shared/reference/geography")


def row(code: str) -> pd.Series:
    las = G.local_authorities().set_index("la_code")
    return las.loc[code]


def test_code_list_rows_and_columns():
    las = G.local_authorities()
    assert las["la_code"].str.fullmatch(r"\d{3}").all() and las["la_code"].is_unique
    assert {
        "la_code",
        "la_name",
        "gss_code",
        "gss_history",
        "region_code",
        "region_name",
        "la_type_code",
        "la_type",
        "valid_from",
        "valid_to",
        "successors",
        "source",
    } <= set(las.columns)
    assert set(las["la_type"]) == {"unitary authority", "metropolitan district", "London borough", "county"}
    assert las["region_code"].str.fullmatch(r"E1200000\d").all()
    assert len(G.codes_in_year(2018)) == 152  # incl. City of London and the Isles of Scilly (#54)
    assert len(G.codes_in_year(2008)) == 150  # before the 2009 reorganisation (#54)
    # Hand-checked rows: the 2009 reorganisation, year bounds by END year.
    assert (row("820")["valid_to"], row("820")["successors"], row("820")["la_type"]) == (2009, "822|823", "county")
    assert pd.isna(row("820")["valid_from"]) and row("822")["valid_from"] == 2010 and pd.isna(row("822")["valid_to"])
    assert row("875")["successors"] == "895|896" and row("896")["predecessors"] == "875"
    assert row("840")["successors"] == "" and pd.isna(row("840")["valid_from"])  # unitary, number kept
    assert row("202")["gss_code"] == "E09000007" and row("202")["region_name"] == "London"
    assert row("815")["gss_code"] == "E10000023"  # North Yorkshire: the county code of 2018
    # Small authorities and post-2018 authorities are there, so newer extracts validate.
    assert "Hackney" in row("201")["note"] and "Cornwall" in row("420")["note"]
    assert row("839")["valid_from"] == 2020 and row("838")["valid_from"] == 2020 and row("837")["valid_to"] == 2019
    assert row("940")["valid_from"] == 2022 and row("928")["valid_to"] == 2021 and row("943")["valid_from"] == 2024
    assert pd.isna(row("825")["valid_to"])  # Buckinghamshire kept its number as a unitary


def test_known_in_year():
    codes = ["820", "820", "822", "895", "201", "999", None, "940", "940", "875"]
    years = [2012, 2008, 2008, 2011, 2006, 2010, 2010, 2018, 2022, 2009]
    assert G.known_in_year(codes, years).tolist() == [False, True, False, True, True, False, False, False, True, True]
    # Boundaries: Bedford from 2009/10 (2010), Bedfordshire to 2008/09 (2009).
    assert G.known_in_year(["822", "822", "820", "820"], [2009, 2010, 2009, 2010]).tolist() == [
        False,
        True,
        True,
        False,
    ]
    # A missing year accepts any code that existed at some time; Series and pandas NA work.
    got = G.known_in_year(
        pd.Series(["820", "123", pd.NA], dtype="string"), pd.Series([pd.NA, pd.NA, 2010], dtype="Int64")
    )
    assert got.tolist() == [True, False, False]


def test_gss_and_delivered_codes_by_year():
    assert G.gss_in_year(["390", "390", "929", "929", "929", "820"], [2013, 2014, 2009, 2013, 2014, 2018]).tolist() == [
        "E08000020",
        "E08000037",
        "E10000022",
        "E06000048",
        "E06000057",
        None,
    ]
    assert G.code_in_year(
        ["822", "822", "823", "895", "896", "202", "840"], [2009, 2010, 2006, 2009, 2010, 2006, 2006]
    ).tolist() == ["820", "822", "820", "875", "896", "202", "840"]


def test_harmonise_to_2018_by_the_pupils_later_record():
    f = pd.DataFrame(
        [
            ("A", 2008, "820"),
            ("A", 2011, "822"),  # -> 822 for both
            ("B", 2007, "820"),
            ("B", 2009, "820"),  # no later record: stays 820
            ("C", 2008, "875"),
            ("C", 2012, "896"),
            ("C", 2015, "895"),  # latest successor decides: 895
            (None, 2008, "820"),  # no pupil reference: stays
            ("D", 2006, "840"),
            ("D", 2012, "840"),  # number kept: no mapping
            ("E", 2020, "839"),  # a newer authority: reported
        ],
        columns=["pupil_id", "end_year", "la"],
        index=list("abcdefghijk"),
    )
    la, report = G.harmonise_to_2018(f["pupil_id"], f["end_year"], f["la"])
    assert la.index.tolist() == f.index.tolist()
    assert la.tolist() == ["822", "822", "820", "820", "895", "896", "895", "820", "840", "840", "839"]
    assert report["rows_mapped_by_later_record"] == 2 and report["mapped"] == {"820->822": 1, "875->895": 1}
    assert report["rows_unresolved"] == 3 and report["unresolved_by_code"] == {"820": 3}
    assert report["pupils_unresolved"] == 1 and report["rows_unresolved_without_pupil_id"] == 1
    assert report["rows_not_in_target_geography"] == {"839": 1}
    # The same through harmonise(); 'as_delivered' is the identity.
    la2, _ = G.harmonise(f["pupil_id"], f["end_year"], f["la"], "harmonised_2018")
    assert la2.tolist() == la.tolist()
    same, rep = G.harmonise(f["pupil_id"], f["end_year"], f["la"], "as_delivered")
    assert same.tolist() == f["la"].tolist() and rep["rule"] == "as_delivered"
    with pytest.raises(ValueError):
        G.harmonise(f["pupil_id"], f["end_year"], f["la"], "whatever")


def test_harmonise_is_vectorised_at_scale():
    n = 200_000
    rng = np.random.default_rng(0)
    pid = pd.Series(rng.integers(0, 50_000, n).astype(str))
    year = pd.Series(rng.integers(2006, 2019, n))
    la = pd.Series(np.where(year <= 2009, "820", np.where(rng.random(n) < 0.5, "822", "823")))
    out, report = G.harmonise_to_2018(pid, year, la)
    assert out[year > 2009].isin(["822", "823"]).all()
    assert report["rows_mapped_by_later_record"] + report["rows_unresolved"] == int((year <= 2009).sum())


def test_hex_layout_of_2018():
    geo = G.geography_2018()
    assert len(geo) == 152 and not geo.duplicated(["q", "r"]).any()
    hexes = G.hexjson()["hexes"]
    assert G.hexjson()["layout"] == "odd-r" and len(hexes) == 151
    pos = geo.set_index("la_code")[["q", "r"]].apply(tuple, axis=1)
    assert pos["837"] == (hexes["E06000058"]["q"], hexes["E06000058"]["r"])  # Bournemouth on the BCP hex
    assert pos["835"] == (hexes["E06000059"]["q"], hexes["E06000059"]["r"])  # Dorset county on new Dorset's
    assert pos["836"] == (4, 1)  # Poole: an added hex, free in the layout
    las = G.local_authorities().set_index("la_code")
    for code, (q, r) in pos.items():  # every other authority on its own GSS code's hex
        hid = las.at[code, "hex_id"]
        if hid:
            assert (hexes[hid]["q"], hexes[hid]["r"]) == (q, r)
    # 149 on the hex of their own GSS code; Bournemouth, Poole and Dorset county as above.
    assert (las.loc[geo["la_code"], "hex_id"] == geo.set_index("la_code")["gss_code"]).sum() == 149


def test_figures_are_the_published_ones():
    fig = G.la_figures().set_index("la_code")
    assert set(fig.index) == set(G.codes_in_year(2018))
    score = fig["idaci_average_score"]
    # IoD2019 File 11 anchors (national-statistics.md 5.4).
    assert (score["872"], score["806"], score["890"], score["340"], score["341"], score["892"]) == (
        0.056,
        0.327,
        0.307,
        0.303,
        0.299,
        0.298,
    )
    main = score.drop(["201", "420"])
    assert main.min() == 0.056 and main.max() == 0.327 and main.median() == pytest.approx(0.177, abs=0.002)
    assert fig["child_population_0_17"].sum() == pytest.approx(11_012_300, rel=0.001)  # England, mid-2009
    assert fig.at["872", "child_population_0_17"] == 36_000


@pytest.mark.skipif(not REFERENCE.exists(), reason="reference files not on this machine")
def test_the_csv_is_what_the_script_builds():
    spec = importlib.util.spec_from_file_location("build_las", ROOT / "scripts" / "build_local_authorities.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = ROOT / "mojdfe_assets" / "data" / "local_authorities.csv"
    assert mod.render(mod.build(REFERENCE)) == out.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The synthetic world uses the real authorities


def read(folder, extract):
    return pd.read_csv(folder / extract.file, dtype=str, keep_default_na=False)


def test_synthetic_la_codes_are_real_and_valid_in_their_year(small_world):
    folder, _ = small_world
    cla = read(folder, X.CLA)
    year = cla["CLA_ACADYR"].str[-4:].astype(int)
    assert G.known_in_year(cla["CLA_CLA_LA"], year).all()
    # Each row carries the number of its year: 820 / 875 up to 2008/09, the new numbers after.
    truth = pd.read_parquet(folder / "_synthetic" / "truth.parquet")
    linked = cla[cla["MoJUID"] != ""].merge(truth[["moj_uid", "la"]], left_on="MoJUID", right_on="moj_uid")
    expected = G.code_in_year(linked["la"], linked["CLA_ACADYR"].str[-4:].astype(int))
    assert (linked["CLA_CLA_LA"].to_numpy() == expected).all()
    spine = read(folder, X.SPINE)
    assert spine["KS4_LA"].isin(G.codes_in_year(2018)).all()
    assert not spine["KS4_LA"].isin(["201", "420"]).any()  # folded into Hackney and Cornwall


def test_synthetic_reorganisation_rows(tmp_path):
    from mojdfe_assets import synthetic

    synthetic.generate(tmp_path, pupils=30_000, seed=4)
    cla = read(tmp_path, X.CLA)
    year = cla["CLA_ACADYR"].str[-4:].astype(int)
    la = cla["CLA_CLA_LA"]
    assert la[year <= 2009].isin(["820", "875"]).any() and not la[year <= 2009].isin(["822", "823", "895", "896"]).any()
    assert la[year >= 2010].isin(["822", "823", "895", "896"]).any() and not la[year >= 2010].isin(["820", "875"]).any()


def test_synthetic_la_context_is_the_2018_authorities(small_world):
    folder, _ = small_world
    lc = read(folder, X.LA_CONTEXT)
    assert len(lc) == 150 and lc["LA_CODE"].is_unique
    assert set(lc["LA_CODE"]) == set(G.codes_in_year(2018)) - {"201", "420"}
    names = G.local_authorities().set_index("la_code")["la_name"]
    assert (lc["LA_NAME"] == names.reindex(lc["LA_CODE"]).to_numpy()).all()
    assert "Bristol, City of" in set(lc["LA_NAME"])  # a name with a comma, quoted in the file
    fig = G.la_figures().set_index("la_code")
    pop = lc.set_index("LA_CODE")["CHILD_POPULATION_0_17"].astype(int)
    assert pop["204"] == fig.at["204", "child_population_0_17"] + fig.at["201", "child_population_0_17"]
    assert pop["872"] == fig.at["872", "child_population_0_17"]
    idaci = lc["IDACI_AVERAGE_SCORE"].astype(float)
    assert (idaci.min(), idaci.max()) == (0.056, 0.327) and idaci.median() == pytest.approx(0.177, abs=0.02)  # #57

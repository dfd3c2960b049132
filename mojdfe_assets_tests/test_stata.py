"""Stata files: values, variable labels and value labels survive a round trip (pyreadstat, and haven
when R has it); `mojdfe stata` writes only the aggregate tables unless told otherwise, and never
into the snapshot."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from mojdfe_assets import cli
from mojdfe_assets.schemas import IDENTIFIER_COLUMNS
from mojdfe_assets.stata import AGGREGATE_CLASSES, cut, disclosure_classes, parse_codes, write_dta

NEED = parse_codes("N1=Abuse or neglect|N2=Child's disability|N3=Parental illness or disability")
LONG = "A description longer than Stata allows for a variable label, so it is cut to eighty characters at most."
LABELS = {
    "need": ("Category of need (CLA_CAT_NEED)", NEED),
    "level": ("Highest level", {}),
    "start": ("Date the episode commenced", {}),
    "open": ("Still open at 31 March", {}),
    "rate": (LONG, {}),
    "pupils": ("Pupils", {}),
    "la": ("LA code", {}),
}


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "need": pd.Categorical(["N2", None, "N1", "N9"]),  # N9: a value the dictionary does not know
            "level": pd.Categorical(["low", "high", "low", "high"], categories=["low", "high"], ordered=True),
            "start": pd.Series([dt.date(2015, 3, 31), None, dt.date(2009, 4, 1), dt.date(2018, 1, 2)], dtype=object),
            "open": pd.array([True, False, None, True], dtype="boolean"),
            "rate": [0.25, np.nan, 1.5, 1e-3],
            "pupils": pd.array([10, None, 3_000_000, 0], dtype="Int64"),
            "la": pd.array(["301", None, "302", "301"], dtype="string"),
        }
    )


def test_a_table_round_trips_with_its_labels(tmp_path):
    path = write_dta(table(), tmp_path / "t.dta", LABELS, file_label="t (srs_only), snapshot s")
    df, meta = pyreadstat.read_dta(str(path))
    # coded columns: 1, 2, … in the dictionary's order, labelled "code label"; unknown values after them
    assert df["need"].tolist()[:1] + df["need"].tolist()[2:] == [2, 1, 4] and np.isnan(df["need"][1])
    assert meta.variable_value_labels["need"] == {
        1: "N1 Abuse or neglect",
        2: "N2 Child's disability",
        3: "N3 Parental illness or disability",
        4: "N9",
    }
    assert df["level"].tolist() == [1, 2, 1, 2] and meta.variable_value_labels["level"] == {1: "low", 2: "high"}
    assert meta.readstat_variable_types["level"] != "double"  # no missing: stored as an integer
    assert meta.original_variable_types["start"] == "%td"  # a Stata date
    assert df["start"].tolist()[:1] + df["start"].tolist()[2:] == [
        dt.date(2015, 3, 31),
        dt.date(2009, 4, 1),
        dt.date(2018, 1, 2),
    ]
    assert pd.isna(df["start"][1])
    assert df["open"].tolist()[:2] + df["open"].tolist()[3:] == [1, 0, 1] and np.isnan(df["open"][2])
    assert meta.variable_value_labels["open"] == {0: "no", 1: "yes"}
    assert df["rate"].tolist()[:1] + df["rate"].tolist()[2:] == [0.25, 1.5, 1e-3] and np.isnan(df["rate"][1])
    assert df["pupils"].tolist()[:1] + df["pupils"].tolist()[2:] == [10, 3_000_000, 0] and np.isnan(df["pupils"][1])
    assert df["la"].tolist() == ["301", "", "302", "301"]  # Stata's missing string is ""
    labels = meta.column_names_to_labels
    assert labels["need"] == "Category of need (CLA_CAT_NEED)" and labels["open"] == "Still open at 31 March"
    assert len(labels["rate"]) == 80 and labels["rate"].endswith("…") and LONG.startswith(labels["rate"][:-1])
    assert meta.file_label == "t (srs_only), snapshot s"
    assert set(meta.variable_value_labels) == {"need", "level", "open"}
    assert [p.name for p in tmp_path.iterdir()] == ["t.dta"]  # no temporary file left


def test_a_column_stata_cannot_name_is_an_error_and_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="not a Stata variable name"):
        write_dta(pd.DataFrame({"a_name_far_longer_than_thirty_two_chars": [1]}), tmp_path / "t.dta", {})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed (no Rscript on PATH)")
def test_haven_reads_the_labels_back(tmp_path):
    has_haven = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('haven', quietly = TRUE))"], capture_output=True
    )
    if has_haven.returncode:
        pytest.skip("R's haven package is not installed (apt-get install r-cran-haven)")
    path = write_dta(table(), tmp_path / "t.dta", LABELS)
    res = subprocess.run(
        [
            "Rscript",
            "--vanilla",
            "-e",
            f"""
x <- haven::read_dta("{path}")
cat(as.character(haven::as_factor(x$need)), sep = "|"); cat("\\n")
cat(attr(x$need, "label"), class(x$start), format(x$start[1]), sep = "|"); cat("\\n")
cat(as.character(haven::as_factor(x$open)), sep = "|"); cat("\\n")
""",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    need, meta, flags = res.stdout.splitlines()
    assert need == "N2 Child's disability|NA|N1 Abuse or neglect|N9"
    assert meta == "Category of need (CLA_CAT_NEED)|Date|2015-03-31"
    assert flags == "yes|no|NA|yes"


def files(folder):
    """Every file of a folder (the snapshot holds the output-checking request's folder too)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_command_writes_only_aggregate_tables_beside_the_snapshot(published_warehouse, tmp_path, capsys):
    wh, current = published_warehouse
    before = files(current)
    classes = disclosure_classes()
    assert cli.main(["stata", "--warehouse", str(wh)]) == 0
    out = wh / "current_stata"
    written = sorted(p.stem for p in out.glob("*.dta"))
    aggregates = sorted(p.stem for p in current.glob("*.parquet") if classes.get(p.stem) in AGGREGATE_CLASSES)
    assert written == aggregates and "la_aggregates_publishable" in written and "intervention_level" not in written
    for t in written:
        df, meta = pyreadstat.read_dta(str(out / f"{t}.dta"))
        assert classes[t] in AGGREGATE_CLASSES and not set(df.columns) & IDENTIFIER_COLUMNS
        assert len(df) == pd.read_parquet(current / f"{t}.parquet").shape[0]
        assert meta.file_label == cut(f"{t} ({classes[t]}), snapshot {current.name}")  # Stata's 80 characters
        assert all(meta.column_names_to_labels.values()), t  # every column labelled from the dictionary
    df, meta = pyreadstat.read_dta(str(out / "la_aggregates.dta"))
    assert meta.variable_value_labels["level"] == {
        1: "none",
        2: "referral_only",
        3: "child_in_need",
        4: "child_protection_plan",
        5: "looked_after",
    }
    assert files(current) == before  # the snapshot is never written to
    assert "la_aggregates_publishable" in capsys.readouterr().out

    # a pupil-level table only when named, and a table that is not published is an error
    assert cli.main(["stata", "--warehouse", str(wh), "--out", str(tmp_path), "--tables", "cla_clean"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["cla_clean.dta"]
    assert cli.main(["stata", "--warehouse", str(wh), "--out", str(tmp_path), "--tables", "nope"]) == 2
    assert "not a published table" in capsys.readouterr().err
    assert cli.main(["stata", "--warehouse", str(tmp_path / "none")]) == 2
    assert "nothing published" in capsys.readouterr().err

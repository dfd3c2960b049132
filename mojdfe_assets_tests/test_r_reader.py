"""R/read_mojdfe.R on a published warehouse: the snapshot folder, its tables, and the dictionary's
labels on real tables. R's arrow package is not in Debian, so the tables are handed to R as CSV
exports (outside the snapshot) through the script's `reader` argument: the label logic is the
script's own."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

from mojdfe_assets.resources import PROJECT_ROOT

RSCRIPT = shutil.which("Rscript")
SCRIPT = PROJECT_ROOT / "R" / "read_mojdfe.R"
pytestmark = pytest.mark.skipif(
    RSCRIPT is None,
    reason="R is not installed (no Rscript on PATH; apt-get install r-base-core to run the R reader tests)",
)

PRELUDE = """
source(Sys.getenv("MOJDFE_R"))
out <- function(key, value) cat(key, "\\t", paste(value, collapse = "|"), "\\n", sep = "")
"""


def run_r(code: str, tmp_path, **env) -> dict[str, str]:
    """Run R code after sourcing the script; its `out(key, value)` lines as a dict."""
    script = tmp_path / "test.R"
    script.write_text(PRELUDE + code)
    res = subprocess.run(
        [RSCRIPT, "--vanilla", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MOJDFE_R": str(SCRIPT), **env},
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    return dict(line.split("\t", 1) for line in res.stdout.splitlines() if "\t" in line)


def dictionary() -> dict[tuple[str, str], dict]:
    with open(PROJECT_ROOT / "docs" / "data_dictionary.csv", newline="") as f:
        return {(r["table"], r["column"]): r for r in csv.DictReader(f)}


def test_labels_and_value_labels_on_real_tables(published_warehouse, tmp_path):
    wh, current = published_warehouse
    exports = tmp_path / "csv"  # never into the snapshot
    exports.mkdir()
    for t in ("cla_clean", "intervention_level"):
        pd.read_parquet(current / f"{t}.parquet").to_csv(exports / f"{t}.csv", index=False)
    got = run_r(
        """
wh <- Sys.getenv("WH")
reader <- function(factors) function(path)
  read.csv(file.path(Sys.getenv("CSV"), sub("[.]parquet$", ".csv", basename(path))),
           stringsAsFactors = factors, na.strings = "")
cla <- mojdfe_read("cla_clean", wh, reader = reader(TRUE))  # the project's dictionary by default
out("cla.unlabelled", names(cla)[vapply(cla, function(x) is.null(attr(x, "label")), logical(1))])
p <- cla$cla_placement
out("placement.class", class(p))
out("placement.label", attr(p, "label"))
out("placement.U4", names(attr(p, "labels"))[attr(p, "labels") == "U4"])
out("placement.n_labels", length(attr(p, "labels")))
out("placement.first", as.character(p[1]))
out("placement.first_label", as.character(mojdfe_label_values(p)[1]))
need <- mojdfe_label_values(cla$cla_cat_need)
out("need.class", class(need))
out("need.levels", levels(need))
out("need.levels_from", levels(cla$cla_cat_need))
out("need.na_kept", sum(is.na(need)) == sum(is.na(cla$cla_cat_need)))
out("date.label", attr(cla$cla_date_epi_comm, "label"))
out("date.labels", is.null(attr(cla$cla_date_epi_comm, "labels")))
lvl <- mojdfe_read("intervention_level", wh, reader = reader(FALSE))
out("level.class", class(lvl$level))
out("level.labels", paste(names(attr(lvl$level, "labels")), attr(lvl$level, "labels"), sep = "="))
out("level.values", class(mojdfe_label_values(lvl$level)))
out("fsm.label", attr(lvl$fsm, "label"))
tabs <- mojdfe_tables(wh)
out("tables.columns", names(tabs))
out("tables.cla_clean", c(tabs$rows[tabs$table == "cla_clean"], tabs$run_id[tabs$table == "cla_clean"]))
out("tables.chart_rows", tabs$rows[tabs$table == "la_funnel_chart"])
out("current", mojdfe_current(wh))
""",
        tmp_path,
        WH=str(wh),
        CSV=str(exports),
    )
    d = dictionary()
    cla = pd.read_parquet(current / "cla_clean.parquet")
    codes = dict(pair.split("=", 1) for pair in d["cla_clean", "cla_placement"]["codes"].split("|"))
    assert got["cla.unlabelled"] == ""  # every column of the real table is in the dictionary
    assert got["placement.class"] == "factor"  # a factor stays a factor
    assert got["placement.label"] == d["cla_clean", "cla_placement"]["description"]
    assert got["placement.U4"] == codes["U4"] == "Foster placement with other foster carer(s) - long term fostering"
    assert int(got["placement.n_labels"]) == len(codes)
    first = cla["cla_placement"].iloc[0]
    assert got["placement.first"] == first and got["placement.first_label"] == codes[first]
    need_codes = dict(pair.split("=", 1) for pair in d["cla_clean", "cla_cat_need"]["codes"].split("|"))
    assert got["need.class"] == "factor"
    assert got["need.levels"].split("|") == [need_codes[c] for c in got["need.levels_from"].split("|")]
    assert got["need.na_kept"] == "TRUE"
    assert got["date.label"] == d["cla_clean", "cla_date_epi_comm"]["description"] and got["date.labels"] == "TRUE"
    assert got["level.class"] == "character"
    assert got["level.labels"].split("|") == [
        f"{v}={v}" for v in ("none", "referral_only", "child_in_need", "child_protection_plan", "looked_after")
    ]
    assert got["level.values"] == "character"
    assert got["fsm.label"] == "Eligible for free school meals in the last 6 years"
    manifest = json.loads((current / "_snapshot.json").read_text())
    assert got["tables.columns"] == "table|rows|run_id|written|bytes"
    entry = manifest["tables"]["cla_clean"]
    assert got["tables.cla_clean"] == f"{entry['rows']}|{entry['run_id']}" and entry["rows"] == len(cla)
    assert got["tables.chart_rows"] == "NA"
    assert got["current"] == str(current)


def test_the_snapshot_is_found_without_the_link_and_nothing_published_is_an_error(published_warehouse, tmp_path):
    _, current = published_warehouse
    linkless = tmp_path / "linkless"  # as on a share that does not keep symlinks: CURRENT names the snapshot
    (linkless / "snapshots").mkdir(parents=True)
    (linkless / "snapshots" / current.name).symlink_to(current)
    (linkless / "CURRENT").write_text(current.name + "\n")
    (tmp_path / "empty").mkdir()
    got = run_r(
        """
out("linkless", basename(mojdfe_current(Sys.getenv("LINKLESS"))))
out("linkless.rows", nrow(mojdfe_tables(Sys.getenv("LINKLESS"))) > 10)
for (wh in c("empty", "missing")) {
  out(wh, tryCatch(mojdfe_current(wh), error = conditionMessage))
  out(paste0(wh, ".read"), tryCatch(mojdfe_read("cla_clean", wh, reader = stop), error = conditionMessage))
}
out("no_table", tryCatch(mojdfe_read("nope", Sys.getenv("LINKLESS"), reader = stop), error = conditionMessage))
""",
        tmp_path,
        LINKLESS=str(linkless),
    )
    assert got["linkless"] == current.name and got["linkless.rows"] == "TRUE"
    for wh in ("empty", "missing"):
        assert got[wh].startswith(f"nothing published in {wh} (no current/ snapshot)")
        assert got[f"{wh}.read"] == got[wh]
    assert got["no_table"].startswith("no table nope in ")

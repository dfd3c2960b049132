"""Regenerate `mojdfe_assets/data/local_authorities.csv` (and optionally `la_figures.csv`) from
the reference files. The pipeline reads only the CSVs; this script is how they were made.

    python scripts/build_local_authorities.py [--reference /work/shared/reference/geography]
    python scripts/build_local_authorities.py --figures SFR27_2010_March.csv File_11_IoD2019_IDACI.csv

Inputs (see `mojdfe_assets/data/README.md`):
- `la_codes_gias_england.csv`: DfE LA number, name, GSS code (GIAS, via dfeR EnglishLaNameCodes.csv);
- `la_codes_ons_dfe.csv`: GSS code with dates of operation / termination, region, type (dfeR las.csv);
- `england_utla_hexmap.hexjson`: Open Innovations upper-tier LA hex layout (MIT), about 2020.
For `--figures`: DfE SFR27/2010 underlying data `SFR27_2010_March.csv` (columns geog_l, geog_c,
MarTotal_2010, Mid2009Pop0-17) and the IDACI sheet of IoD2019 File 11 saved as CSV (columns
"Upper Tier Local Authority District code (2019)", "IDACI - Average score ").

Conventions: collection years are named by their END year (2008/09 = 2009). An authority created
on 1 April Y has valid_from Y+1; one abolished at the end of 31 March Y has valid_to Y. Blank
bounds are open (the authority existed before 2005/06 / still exists).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "mojdfe_assets" / "data"
REFERENCE = Path("/work/shared/reference/geography")
FIRST_YEAR = 2006  # the extracts begin with collection year 2005/06

REGIONS = {
    "E12000001": "North East",
    "E12000002": "North West",
    "E12000003": "Yorkshire and The Humber",
    "E12000004": "East Midlands",
    "E12000005": "West Midlands",
    "E12000006": "East of England",
    "E12000007": "London",
    "E12000008": "South East",
    "E12000009": "South West",
}
TYPES = {"E06": "unitary authority", "E08": "metropolitan district", "E09": "London borough", "E10": "county"}

# 1 April 2009: these county councils became unitary authorities keeping their DfE LA number (the
# GSS code changed from the county's E10 code, in use only from January 2009, to an E06 code).
# ONS lists the new unitary codes as starting on 1 April 2009; the LA numbers are older.
KEPT_NUMBER_2009 = {"840": "E10000010", "893": "E10000026", "908": "E10000005", "865": "E10000033", "929": "E10000022"}
# The Isles of Scilly council existed throughout; ONS dates its own E06 code from 1 April 2009 because
# until then the county code E10000005 covered "Cornwall and Isles of Scilly".
KEPT_NUMBER_2009["420"] = "E10000005"

SUCCESSORS = {
    "820": "822|823",
    "875": "895|896",
    # after the extracts (kept so newer extracts validate and can be mapped):
    "835": "838|839",
    "836": "839",
    "837": "839",
    "928": "940|941",
    "909": "942|943",
}

# Hex layout of the 2018 geography. The hexjson is of about 2020: Bournemouth, Christchurch and
# Poole (E06000058) and the new Dorset (E06000059) stand where Bournemouth 837, Poole 836 and Dorset
# county 835 were. Decision: Bournemouth takes the BCP hex (the larger part of BCP), Dorset county
# takes the new-Dorset hex (the county less Christchurch), and Poole gets a hex of its own at the
# free position (4, 1), which borders both (odd-r layout, rows counted from the south).
POOLE_HEX = (4, 1)
HEX_2018 = {"837": ("E06000058", None), "835": ("E06000059", None), "836": (None, POOLE_HEX)}
# Counties that became unitary after the extracts keeping their LA number (GSS code changed).
KEPT_NUMBER_LATER = {"825", "815", "933"}

NOTES = {
    "201": "City of London: very few children (about 900 aged 0-17); published children's social care "
    "statistics are often shown with Hackney (204) or suppressed. A valid code in the extracts.",
    "420": "Isles of Scilly: very few children (about 400 aged 0-17); published statistics usually fold it "
    "into Cornwall (908). A valid code in the extracts.",
    "820": "Bedfordshire county council, abolished 1 April 2009: split into Bedford (822) and Central "
    "Bedfordshire (823).",
    "875": "Cheshire county council, abolished 1 April 2009: split into Cheshire East (895) and Cheshire West "
    "and Chester (896).",
    "822": "Created 1 April 2009 from Bedfordshire (820).",
    "823": "Created 1 April 2009 from Bedfordshire (820).",
    "895": "Created 1 April 2009 from Cheshire (875).",
    "896": "Created 1 April 2009 from Cheshire (875).",
    "840": "Durham: county council to 31 March 2009, then unitary (County Durham), LA number kept.",
    "893": "Shropshire: county council to 31 March 2009, then unitary, LA number kept.",
    "908": "Cornwall: county council to 31 March 2009, then unitary, LA number kept.",
    "865": "Wiltshire: county council to 31 March 2009, then unitary, LA number kept.",
    "929": "Northumberland: county council to 31 March 2009, then unitary, LA number kept; GSS code "
    "E06000048 replaced by E06000057 on 1 April 2013.",
    "390": "Gateshead: GSS code E08000020 replaced by E08000037 on 1 April 2013 (boundary correction).",
    "835": "Dorset county council, abolished 1 April 2019 (Dorset 838; Christchurch to BCP 839). Map: drawn "
    "on the new-Dorset hex.",
    "836": "Poole, abolished 1 April 2019 (into BCP 839). Map: a hex added at (4, 1), next to BCP and Dorset.",
    "837": "Bournemouth, abolished 1 April 2019 (into BCP 839). Map: drawn on the BCP hex.",
    "838": "Dorset unitary from 1 April 2019 (Dorset county 835 less Christchurch).",
    "839": "Bournemouth, Christchurch and Poole from 1 April 2019 (836, 837 and Christchurch from 835).",
    "825": "Buckinghamshire: county council to 31 March 2020, then unitary, LA number kept "
    "(GSS E10000002 then E06000060).",
    "815": "North Yorkshire: county council to 31 March 2023, then unitary, LA number kept "
    "(GSS E10000023 then E06000065).",
    "933": "Somerset: county council to 31 March 2023, then unitary, LA number kept (GSS E10000027 then E06000066).",
    "928": "Northamptonshire county council, abolished 1 April 2021 (North 940, West 941).",
    "940": "Created 1 April 2021 from Northamptonshire (928).",
    "941": "Created 1 April 2021 from Northamptonshire (928).",
    "909": "Cumbria county council, abolished 1 April 2023 (Cumberland 942, Westmorland and Furness 943).",
    "942": "Created 1 April 2023 from Cumbria (909).",
    "943": "Created 1 April 2023 from Cumbria (909).",
}

COLUMNS = [
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
    "predecessors",
    "hex_id",
    "hex_q",
    "hex_r",
    "note",
    "source",
]


def _day(text: str) -> date | None:
    if not text:
        return None
    d, m, y = (int(x) for x in text.split("/"))
    return date(y, m, d)


def _from_year(d: date | None) -> int | None:
    """First collection year (end year) an authority or code created on day d is in force for."""
    if d is None or d <= date(2009, 1, 1):  # GSS codes start 1 January 2009: the authority is older
        return None
    return d.year + 1 if (d.month, d.day) >= (4, 1) else d.year


def _to_year(d: date | None) -> int | None:
    """Last collection year (end year) of an authority or code ending on day d."""
    if d is None:
        return None
    return d.year if (d.month, d.day) <= (3, 31) else d.year + 1


def _covers(lo, hi, year) -> bool:
    return (lo is None or lo <= year) and (hi is None or year <= hi)


def build(reference: Path) -> list[dict]:
    with open(reference / "la_codes_gias_england.csv", newline="", encoding="utf-8") as fh:
        gias = list(csv.reader(fh))[1:]
    with open(reference / "la_codes_ons_dfe.csv", newline="", encoding="utf-8") as fh:
        ons = list(csv.DictReader(fh))
    hexes = json.loads((reference / "england_utla_hexmap.hexjson").read_text(encoding="utf-8"))["hexes"]
    by_gss = {}
    for r in ons:
        by_gss.setdefault(r["new_la_code"], []).append(r)

    rows = []
    for gias_name, code, gias_gss in gias:
        if gias_gss == "X999999":  # authorities abolished before the extracts (1996-1998)
            continue
        # Every ONS code the LA number has carried; the 2009 predecessors are listed by ONS with
        # LA number 'x', so they are found through their GIAS GSS code.
        periods = [r for r in ons if r["old_la_code"] == code]
        periods += [r for r in by_gss.get(gias_gss, []) if r not in periods]
        if code in KEPT_NUMBER_2009:
            county = by_gss[KEPT_NUMBER_2009[code]][0]
            periods.append({**county, "date_of_operation": "", "old_la_code": code})
        history = sorted(
            ((_from_year(_day(r["date_of_operation"])), _to_year(_day(r["date_of_termination"])), r) for r in periods),
            key=lambda h: -1 if h[0] is None else h[0],
        )
        in_2018 = [h for h in history if _covers(h[0], h[1], 2018)]
        if in_2018:
            current = in_2018[0]
        elif history[-1][1] is not None and history[-1][1] < 2018:
            current = history[-1]  # ended before 2018: its last code
        else:
            current = history[0]  # created after 2018: its first code
        r = current[2]
        lo_all = [h[0] for h in history]
        hi_all = [h[1] for h in history]
        valid_from = None if code in KEPT_NUMBER_2009 or None in lo_all else min(lo_all)
        valid_to = None if None in hi_all else max(hi_all)
        if code in KEPT_NUMBER_LATER:
            valid_to = None
        gss_history = "|".join(
            f"{h[2]['new_la_code']}:{'' if h[0] is None else h[0]}..{'' if h[1] is None else h[1]}" for h in history
        )
        region = r["parent_geography_code"]
        spans = ", ".join(
            f"{h[2]['new_la_code']} {h[2]['date_of_operation'] or 'before 2009'}-"
            f"{h[2]['date_of_termination'] or 'live'}"
            for h in history
        )
        source = (
            f"GIAS LA codes (dfeR EnglishLaNameCodes.csv) {gias_name!r}; ONS codes and dates (dfeR las.csv) {spans}"
        )
        rows.append(
            dict(
                la_code=code,
                la_name=r["la_name"],
                gss_code=r["new_la_code"],
                gss_history=gss_history,
                region_code=region,
                region_name=REGIONS[region],
                la_type_code=r["entity_code"],
                la_type=TYPES[r["entity_code"]],
                valid_from=valid_from,
                valid_to=valid_to,
                successors=SUCCESSORS.get(code, ""),
                note=NOTES.get(code, ""),
                source=source,
            )
        )

    rows = [r for r in rows if r["valid_to"] is None or r["valid_to"] >= FIRST_YEAR]
    preds = {}
    for r in rows:
        for s in filter(None, r["successors"].split("|")):
            preds.setdefault(s, []).append(r["la_code"])
    for r in rows:
        r["predecessors"] = "|".join(sorted(preds.get(r["la_code"], [])))
        r["hex_id"], r["hex_q"], r["hex_r"] = "", None, None
        if _covers(r["valid_from"], r["valid_to"], 2018):
            hex_id, pos = HEX_2018.get(r["la_code"], (r["gss_code"], None))
            if hex_id is not None:
                if hex_id not in hexes:
                    raise SystemExit(f"no hex for {r['la_code']} {r['la_name']} ({hex_id})")
                pos = (hexes[hex_id]["q"], hexes[hex_id]["r"])
            r["hex_id"] = hex_id or ""
            r["hex_q"], r["hex_r"] = pos
    positions = [(r["hex_q"], r["hex_r"]) for r in rows if r["hex_q"] is not None]
    if len(set(positions)) != len(positions):
        raise SystemExit("two 2018 authorities share a hex")
    if any((v["q"], v["r"]) == POOLE_HEX for v in hexes.values()):
        raise SystemExit(f"Poole's added hex {POOLE_HEX} is taken in the layout")
    rows.sort(key=lambda r: r["la_code"])
    return rows


def render(rows: list[dict]) -> str:
    """The CSV text of the code list (blank for missing)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else r[k] for k in COLUMNS})
    return buf.getvalue()


def build_figures(las: list[dict], sfr27: Path, idaci_csv: Path) -> list[dict]:
    """Child population (mid-2009, as used by DfE for 2010 rates) and IDACI average score (IoD2019)
    for every authority of the 2018 geography."""
    with open(sfr27, newline="", encoding="utf-8", errors="replace") as fh:
        ud = {r["geog_c"].strip(): r for r in csv.DictReader(fh) if r["geog_l"] == "LA"}
    with open(idaci_csv, newline="", encoding="utf-8") as fh:
        iod = {r["Upper Tier Local Authority District code (2019)"]: r for r in csv.DictReader(fh)}
    out = []
    for la in las:
        if not _covers(la["valid_from"], la["valid_to"], 2018):
            continue
        u = ud[la["la_code"]]
        gss = la["gss_code"]
        note = ""
        if la["la_code"] in ("837", "836"):
            gss, note = "E06000058", "IoD2019 has no figure for Bournemouth or Poole alone: BCP's score (E06000058)"
        elif la["la_code"] == "835":
            gss, note = (
                "E06000059",
                "IoD2019 has no figure for Dorset county: the 2019 Dorset unitary's score (E06000059)",
            )
        score = round(float(iod[gss]["IDACI - Average score "]), 3)
        out.append(
            dict(
                la_code=la["la_code"],
                la_name=la["la_name"],
                child_population_0_17=int(u["Mid2009Pop0-17"]),
                cla_31_march_2010=u["MarTotal_2010"],
                idaci_average_score=f"{score:.3f}",
                idaci_gss_code=gss,
                note=note,
                source="Population and CLA: DfE SFR27/2010 underlying data SFR27_2010_March.csv "
                "(Mid2009Pop0-17, MarTotal_2010); IDACI: MHCLG IoD2019 File 11, sheet IDACI "
                "(upper-tier LAs, 2019 boundaries)",
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", type=Path, default=REFERENCE)
    ap.add_argument("--figures", nargs=2, type=Path, metavar=("SFR27_2010_MARCH_CSV", "IOD2019_IDACI_CSV"))
    a = ap.parse_args()
    rows = build(a.reference)
    (DATA / "local_authorities.csv").write_text(render(rows), encoding="utf-8")
    print(f"local_authorities.csv: {len(rows)} LA numbers")
    if a.figures:
        fig = build_figures(rows, *a.figures)
        cols = list(fig[0])
        with open(DATA / "la_figures.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, cols, lineterminator="\n")
            w.writeheader()
            w.writerows(fig)
        print(f"la_figures.csv: {len(fig)} authorities of 2018")


if __name__ == "__main__":
    main()

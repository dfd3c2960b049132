"""The tables the published figures are computed from, with the row attributes the measures share.

`ComparisonTables` holds the cleaned and derived tables as stored; the attributes several measures
use (years, flags, codes, each row's pupil position) are numpy arrays worked out once per run, so
a measure is then a few boolean operations on them. Text columns are evaluated once per distinct
value (`arrowops.distinct`), never row by row.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import arrowops, years
from ..codelists import INTERVENTION_LEVELS as LEVELS
from ..schemas import SEVERITY


def pct(num, den) -> float:
    return float(100.0 * num / den) if den else float("nan")


def share(mask: np.ndarray, base: np.ndarray) -> tuple[float, int]:
    """Percentage of `base` rows where `mask` holds."""
    n = int(base.sum())
    return pct(int((mask & base).sum()), n), n


def _end_year(label: pd.Series) -> pd.Series:
    """'2016/2017' -> 2017."""
    return pd.to_numeric(label.astype("string").str[-4:], errors="coerce").astype("Int64")


def by_value(s: pd.Series, f, missing, dtype) -> np.ndarray:
    """`f` (vectorised over a Series) worked out once per distinct value of column `s`, not once per
    row, and taken back to the rows; `missing` where `s` is missing. A categorical column (read from
    Parquet's dictionary pages, see the `dictionary_columns` of the asset's inputs) gives its
    categories directly (`arrowops.distinct`)."""
    codes, values = arrowops.distinct(s)
    lookup = np.append(np.asarray(f(values.iloc[:-1]), dtype=dtype), np.array([missing], dtype=dtype))
    return lookup[codes]  # a missing row -> the trailing `missing`


_NO_YEAR = np.iinfo(np.int16).min  # below any year a label's last four characters can give


def _years(label: pd.Series) -> np.ndarray:
    """`_end_year` of each label as int16, `_NO_YEAR` where missing or not a year."""
    return by_value(label, lambda v: _end_year(v).fillna(_NO_YEAR), _NO_YEAR, np.int16)


def floats(s: pd.Series) -> np.ndarray:
    """A numeric column as float64, NaN where missing (comparisons with NaN are false)."""
    return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def flags(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A true/false column as (true, recorded) boolean arrays."""
    b = s.astype("boolean")
    return b.fillna(False).to_numpy(dtype=bool), b.notna().to_numpy(dtype=bool)


def _arrow_text(s: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow strings (no copy for Arrow-backed columns)."""
    arr = pa.array(s.astype(pd.StringDtype("pyarrow")).array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


@dataclass
class ComparisonTables:
    """The tables the figures are computed from (cleaned and derived tables, as stored).

    Row attributes the measures share (years, flags, codes, positions) are numpy arrays worked out
    once per extract; a measure is then a few boolean operations on them."""

    cla: pd.DataFrame  # cla_clean
    cin: pd.DataFrame  # cin_clean
    outcomes: pd.DataFrame  # pupil_outcomes (level, sex, fsm, ks4_year, education and offending)
    spine: pd.DataFrame  # spine_clean (birth year/month, moj_uid)
    absence: pd.DataFrame  # absence_clean
    exclusions: pd.DataFrame  # exclusions_clean
    offending: pd.DataFrame  # offending_clean
    la_context: pd.DataFrame  # la_context_clean
    count_scale: float = 1.0

    # --- CLA -------------------------------------------------------------------------------
    @cached_property
    def cla_year(self) -> np.ndarray:
        return floats(self.cla["academic_year_end"])

    @cached_property
    def cla_at31(self) -> np.ndarray:
        flag = self.cla["cla_cla_31_march"].astype("boolean")
        return flag.fillna(self.cla["cla_date_epi_ceased"].isna()).to_numpy(dtype=bool)

    @cached_property
    def cla_starter(self) -> np.ndarray:
        """Rows whose period of care began in the row's collection year."""
        return floats(years.collection_year(self.cla["cla_poc_start"])) == self.cla_year

    @cached_property
    def cla_ended(self) -> np.ndarray:
        """Rows whose episode ceased with care ending (reason other than X1)."""
        not_x1 = by_value(self.cla["cla_rec"], lambda v: v.astype("string") != "X1", False, bool)
        return self.cla["cla_date_epi_ceased"].notna().to_numpy(dtype=bool) & not_x1

    def cla_years(self, yf: int, yt: int) -> np.ndarray:
        return (self.cla_year >= yf) & (self.cla_year <= yt)

    @cached_property
    def cla_care_days(self) -> pd.Series:
        return (self.cla["cla_date_epi_ceased"] - self.cla["cla_poc_start"]).dt.days

    # --- CIN -------------------------------------------------------------------------------
    @cached_property
    def cin_year(self) -> np.ndarray:
        return floats(self.cin["academic_year_end"])

    @cached_property
    def cin_at31(self) -> np.ndarray:
        return self.cin["cin_cin_at31march"].astype("boolean").fillna(False).to_numpy(dtype=bool)

    @cached_property
    def cpp_category(self) -> pd.Series:
        """Initial category of abuse, else the older single category, else the latest (a categorical:
        chosen on category codes, no text per row)."""
        cols = [
            pd.Categorical(self.cin[c])
            for c in ("cin_initial_category_of_abuse", "cin_category_of_abuse", "cin_latest_category_of_abuse")
        ]
        cats = cols[0].categories.union(cols[1].categories).union(cols[2].categories)
        initial, older, latest = (c.set_categories(cats).codes for c in cols)
        codes = np.where(initial >= 0, initial, np.where(older >= 0, older, latest))
        return pd.Series(pd.Categorical.from_codes(codes, cats), index=self.cin.index)

    @cached_property
    def cpp_at31(self) -> np.ndarray:
        return self.cin_at31 & self.cpp_category.notna().to_numpy(dtype=bool)

    def cin_years(self, yf: int, yt: int) -> np.ndarray:
        return (self.cin_year >= yf) & (self.cin_year <= yt)

    # --- spine and outcomes ------------------------------------------------------------------
    # Pupil attributes are numpy arrays aligned with the rows of `outcomes` (one row per spine
    # pupil); other tables find their pupils' rows in `positions` / `positions_of` (hash joins, no
    # Python objects).

    @cached_property
    def positions(self) -> dict[str, np.ndarray]:
        """Row of `outcomes` holding the pupil of each row of the spine, CLA, absence and exclusion
        tables (-1 when not a spine pupil or missing). CIN rows are placed only where a measure
        asks (`positions_of`): few of its rows are at 31 March of a compared year.

        `outcomes` has one row per spine pupil, in spine order (`clean_spine` keeps one row per
        pupil id; `intervention_level` one row per spine row), so its ids are unique and a table
        whose ids equal them row by row (the spine; absence when delivered one row per spine pupil)
        needs no lookup. That equality is checked here (a cheap comparison), not assumed. The other
        tables' ids go through one lookup (`arrowops.index_in`), not one per table."""
        tables = {"spine": self.spine, "cla": self.cla, "absence": self.absence, "exclusions": self.exclusions}
        return self._place({k: _arrow_text(t["pupil_id"]) for k, t in tables.items()})

    @cached_property
    def _pupils(self) -> pa.ChunkedArray:
        return _arrow_text(self.outcomes["pupil_id"])

    def _place(self, ids: dict[str, pa.ChunkedArray]) -> dict[str, np.ndarray]:
        pupils = self._pupils
        ids = {k: a.cast(pupils.type) for k, a in ids.items()}
        out = {k: np.arange(len(a), dtype=np.int32) for k, a in ids.items() if a.null_count == 0 and a.equals(pupils)}
        rest = [k for k in ids if k not in out]
        if rest:
            chunks = pa.chunked_array([c for k in rest for c in ids[k].chunks], type=pupils.type)
            idx = arrowops.index_in(chunks, pupils).astype(np.int32)
            ends = np.cumsum([len(ids[k]) for k in rest])
            out.update(zip(rest, np.split(idx, ends[:-1])))
        return out

    @cached_property
    def _placed_rows(self) -> dict:
        return {}

    def positions_of(self, table: str, rows: np.ndarray) -> np.ndarray:
        """`positions[table][rows]` for a boolean mask `rows`, the CIN table included: only the
        selected rows are looked up (once per mask: figures of one base share it)."""
        if table != "cin":
            return self.positions[table][rows]
        key = (table, len(rows), np.packbits(rows).tobytes())
        if key not in self._placed_rows:
            ids = _arrow_text(getattr(self, table)["pupil_id"]).filter(pa.array(rows))
            self._placed_rows[key] = self._place({table: ids})[table]
        return self._placed_rows[key]

    def pupil_values(self, values: np.ndarray, pos: np.ndarray, missing=np.nan) -> np.ndarray:
        """`values` (aligned with outcomes rows) at positions `pos`; `missing` where pos is -1."""
        return np.where(pos >= 0, values[np.maximum(pos, 0)], missing)

    @cached_property
    def birth_month(self) -> np.ndarray:
        """Months since year 0 of each pupil's birth (month precision, from the spine), NaN if unknown."""
        s = self.spine
        # float64 arithmetic, NaN where either is missing: the values masked Float64 arithmetic gives
        months = floats(s["ks4_year_of_birth"]) * 12 + floats(s["ks4_month_of_birth"]) - 1
        pos = self.positions["spine"]
        out = np.full(len(self.outcomes), np.nan)
        ok = pos >= 0
        out[pos[ok]] = months[ok]
        return out

    @cached_property
    def youth_sanctioned(self) -> np.ndarray:
        """Pupils whose first caution or conviction came before they were 18 (month precision)."""
        first = self.outcomes["first_cj_contact_date"]
        known = first.notna().to_numpy(dtype=bool)
        first = first[known]  # only pupils with a first contact (the others are False anyway)
        first_month = (first.dt.year * 12 + first.dt.month - 1).astype(float).to_numpy()
        out = np.zeros(len(known), dtype=bool)
        out[known] = (first_month - self.birth_month[known]) < 18 * 12
        return out

    @cached_property
    def attainment8(self) -> pd.api.extensions.ExtensionArray:
        return self.outcomes["attainment8"].astype("Float64").array

    @cached_property
    def male(self) -> np.ndarray:
        return by_value(self.outcomes["sex"], lambda v: v.astype("string") == "M", False, bool)

    @cached_property
    def sex_known(self) -> np.ndarray:
        return by_value(self.outcomes["sex"], lambda v: v.astype("string").isin(["M", "F"]), False, bool)

    @cached_property
    def la_code(self) -> pd.Categorical:
        return pd.Categorical(self.outcomes["la"])

    @cached_property
    def level_code(self) -> np.ndarray:
        """Ordered level as 0..4 (index into LEVELS), -1 if missing or unknown, one per outcomes row."""
        return by_value(self.outcomes["level"], lambda v: pd.Categorical(v, categories=list(LEVELS)).codes, -1, np.int8)

    @cached_property
    def disposal(self) -> np.ndarray:
        """Most severe disposal as an index into SEVERITY (len(SEVERITY) for any other text), -1 when
        the pupil has no linked offending record, one per outcomes row."""
        return by_value(
            self.outcomes["most_severe_disposal"],
            lambda v: [SEVERITY.index(d) if d in SEVERITY else len(SEVERITY) for d in v.astype("string")],
            -1,
            np.int8,
        )

    @cached_property
    def absence_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """KS4 year, sessions missed (authorised + unauthorised) and possible, per absence row."""
        a = self.absence
        missed = (
            a["ab_sessions_authorised"].astype("Float64").fillna(0)
            + a["ab_sessions_unauthorised"].astype("Float64").fillna(0)
        ).to_numpy(dtype=float)
        return _years(a["academic_year"]), missed, floats(a["ab_sessions_possible"])

    @cached_property
    def absence_level(self) -> np.ndarray:
        """`level_code` of each absence row's pupil (-1 if not a spine pupil): once for every group."""
        return self.pupil_values(self.level_code, self.positions["absence"], -1)

    @cached_property
    def cohort(self) -> np.ndarray:
        """KS4 year (end year) of each pupil, `_NO_YEAR` if unknown."""
        return _years(self.outcomes["ks4_year"])

    def cohorts(self, yf: int, yt: int) -> np.ndarray:
        return (self.cohort >= yf) & (self.cohort <= yt)

    def level_mask(self, group: str) -> np.ndarray:
        """A level name, 'min_<level>' (that level or higher), 'not_looked_after', or 'all'."""
        if group == "all":
            return np.ones(len(self.outcomes), dtype=bool)
        if group == "not_looked_after":
            return self.level_code != LEVELS.index("looked_after")
        if group.startswith("min_"):  # this level or higher
            return self.level_code >= LEVELS.index(group[4:])
        return self.level_code == LEVELS.index(group)

    def la_rates(self, counts: pd.Series) -> pd.Series:
        """Counts by LA code -> per 10,000 children (LA context population), every LA with a population."""
        la = self.la_context
        pop = pd.Series(
            la["child_population_0_17"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            index=la["la_code"].astype(object),
        )
        pop = pop[pop > 0]
        n = counts.reindex(pop.index).fillna(0).astype(float)
        return n / pop * 10_000

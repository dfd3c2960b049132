"""Collection years: the one place that says how a date falls into a year of the extracts.

Social-care data are collected by the year ending 31 March, named by its end year (2017/2018 =
2018), which is how the extracts label it. A collection year Y runs from 1 April of Y - 1 to 31
March of Y. (The synthetic generator does the same arithmetic on integer day numbers in
`synthetic/timeline.py`; a test holds the two to each other.)
"""

from __future__ import annotations

import pandas as pd

from . import arrowops

FIRST_MONTH = 4  # a collection year starts on 1 April


def _per_year(end_years: pd.Series, month_day: str, offset: int) -> pd.Series:
    """The date `month_day` of year (end year + offset) for each row, worked out once per
    distinct year; NaT where the year is missing."""
    codes, years = arrowops.distinct(end_years)
    text = (years.astype("Float64") + offset).astype("Int64").astype("string") + month_day
    dates = pd.to_datetime(text, errors="coerce").to_numpy(dtype="datetime64[ns]")
    return pd.Series(dates[codes], index=end_years.index)


def march31(end_years: pd.Series) -> pd.Series:
    """31 March of each row's collection year (its last day): no date of the row can be later."""
    return _per_year(end_years, "-03-31", 0)


def first_day(end_years: pd.Series) -> pd.Series:
    """1 April before each row's collection year ends (the year's first day)."""
    return _per_year(end_years, "-04-01", -1)


def collection_year(dates: pd.Series) -> pd.Series:
    """End year of the collection year (1 April - 31 March) holding each date."""
    return (dates.dt.year + (dates.dt.month >= FIRST_MONTH)).astype("Int64")

"""The delivered extracts: file names and column names exactly as they arrive in the SRS.

One place shared by the synthetic generator (which writes these files) and the raw assets
(which read and check them), so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extract:
    name: str            # asset-friendly name
    file: str            # file name in the extract folder (CSV)
    columns: tuple[str, ...]
    description: str
    optional: tuple[str, ...] = ()  # requested items that a release may lack


CLA = Extract(
    "cla", "CLA_2006_to_2018.csv",
    ("MoJUID", "CLA_ACADYR", "CLA_PupilMatchingRefAnonymous", "CLA_CLA_LA", "CLA_PROCESSING_YEAR",
     "CLA_POC_START", "CLA_POC_LENGTH", "CLA_CAT_NEED", "CLA_DATE_EPI_COMM", "CLA_DATE_EPI_CEASED",
     "CLA_LEGAL_STATUS", "CLA_PLACEMENT", "CLA_REC", "CLA_CLA_31_MARCH", "CLA_CLA_6_MONTHS",
     "CLA_CLA_12_MONTHS", "CLA_CLA_PP_6_MONTHS", "CLA_CLA_PP_1_DAY", "CLA_REASON_PLACE_CHANGE"),
    "Children looked after (SSDA903), collection years 2005/2006 to 2017/2018. The current release "
    "holds one row per child per year: the most recent episode of that year.",
    optional=("CLA_CLA_6_MONTHS", "CLA_CLA_12_MONTHS", "CLA_CLA_PP_6_MONTHS", "CLA_CLA_PP_1_DAY",
              "CLA_REASON_PLACE_CHANGE"),
)

CIN = Extract(
    "cin", "CIN_08-09_to_16-17.csv",
    ("MoJUID", "CIN_ACADYR", "CIN_PupilMatchingRefAnonymous", "CIN_CIN_AT31MARCH", "CIN_CategoryOfAbuse",
     "CIN_InitialCategoryOfAbuse", "CIN_LatestCategoryOfAbuse", "CIN_NumberOfPreviousCPP",
     "CIN_PrimaryNeedCode", "CIN_ReferralNFA", "CIN_ReasonForClosure", "CIN_AgeStartOfCINPeriod",
     "CIN_AgeEndOfCINPeriod"),
    "Children in need census, collection years 2008/2009 to 2016/2017, one row per child per year "
    "(the most recent CIN period of the year).",
)

SPINE = Extract(
    "spine", "NPD_KS4_spine.csv",
    ("MoJUID", "KS4_PupilMatchingRefAnonymous", "KS4_ACADYR", "KS4_LA", "KS4_GENDER", "KS4_YEAR_OF_BIRTH",
     "KS4_MONTH_OF_BIRTH", "KS4_FSM_EVER6"),
    "The pupil spine: every pupil of the KS4 cohorts the linked data is built on, one row each.",
)

KS4 = Extract(
    "ks4", "KS4_2011_to_2018.csv",
    ("MoJUID", "KS4_PupilMatchingRefAnonymous", "KS4_ACADYR", "KS4_LEVEL2_EM", "KS4_ATT8"),
    "Key stage 4 attainment: 5+ A*-C (or 9-4) incl. English and maths or equivalent; Attainment 8 "
    "from 2015/2016.",
)

ABSENCE = Extract(
    "absence", "ABSENCE_secondary.csv",
    ("MoJUID", "AB_PupilMatchingRefAnonymous", "AB_KS4_ACADYR", "AB_SESSIONS_POSSIBLE",
     "AB_SESSIONS_UNAUTHORISED", "AB_SESSIONS_AUTHORISED"),
    "Absence over secondary school (years 7 to 11), in half-day sessions, one row per pupil.",
)

EXCLUSIONS = Extract(
    "exclusions", "EXCLUSIONS_2007_to_2018.csv",
    ("MoJUID", "EXC_PupilMatchingRefAnonymous", "EXC_ACADYR", "EXC_CATEGORY", "EXC_SESSIONS", "EXC_START_DATE"),
    "School exclusions, one row per exclusion: FIXD (fixed period, sessions missed) or PERM (permanent).",
)

PNC = Extract(
    "offending", "PNC_sanctions_2000_to_2021.csv",
    ("MoJUID", "PNC_OFFENCE_DATE", "PNC_DISPOSAL_DATE", "PNC_DISPOSAL"),
    "Police National Computer: cautions and convictions, one row per disposal, to the end of 2021.",
)

LA_CONTEXT = Extract(
    "la_context", "LA_context.csv",
    ("LA_CODE", "LA_NAME", "CHILD_POPULATION_0_17", "IDACI_AVERAGE_SCORE", "RECORDED_CRIME_RATE_PER_1000"),
    "Local authority context: child population, income deprivation affecting children (poverty rate) "
    "and community recorded crime rate.",
)

ALL = (CLA, CIN, SPINE, KS4, ABSENCE, EXCLUSIONS, PNC, LA_CONTEXT)
BY_NAME = {e.name: e for e in ALL}

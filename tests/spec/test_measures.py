"""What is counted: patients, events (proportions of events and rates), survey scores; and the census shortcut
for age/sex-only populations giving the same numbers as the patient-by-patient path."""

from datetime import date

import pytest
from .spec_support import (
    ANTIBIOTICS, IHD, OTHER_PRACTICE, PENICILLIN_V, PRACTICE, Patient, Spec, check, dx, events, measure_indicator,
    proportion, rx, survey, window,
)

from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.engine import _census_path

R = date(2026, 1, 31)
BORN = date(1950, 5, 5)
CHILD = date(2015, 5, 5)
W12 = window(12)
J01 = events("prescription", ANTIBIOTICS, W12)
PCV = events("prescription", PENICILLIN_V, W12)
HAS_IHD = m.HasEvents(events("diagnosis", IHD, m.EVER))
ADULT = m.AgeRange(18, None)

RATE_ALL = measure_indicator(m.EventRate(J01), name="MEA-1")
RATE_ADULTS = measure_indicator(m.EventRate(J01), ADULT, name="MEA-2")
RATE_IHD = measure_indicator(m.EventRate(J01), HAS_IHD, name="MEA-3")
SHARE_ALL = measure_indicator(m.EventProportion(PCV, J01), name="MEA-4")
SHARE_ADULT_MEN = measure_indicator(m.EventProportion(PCV, J01), m.AllOf((ADULT, m.SexIs("M"))), name="MEA-5")
SHARE_EXCL = measure_indicator(m.EventProportion(PCV, J01), exclusions=HAS_IHD, name="MEA-6")
MANY_DRUGS_65 = proportion(m.HasDistinctCodes(events("prescription", None, W12), 3), m.AgeRange(65, None),
                           name="MEA-7")
ANY_AGE_SEX = proportion(m.HasEvents(J01), m.AnyOf((m.AgeRange(None, 17), m.SexIs("F"))), name="MEA-8")
SURVEY = measure_indicator(m.SurveyMean(("item_01", "item_02"), W12), None, name="MEA-9")


def antibiotic_patients() -> list[Patient]:
    return [
        Patient(1, BORN, [rx("J01CE02", date(2025, 3, 1)), rx("J01CE02", date(2025, 9, 1)),
                          rx("J01CA04", date(2025, 10, 1)), rx("J01CA04", date(2024, 10, 1))], sex="M"),
        Patient(2, BORN, sex="M"),
        Patient(3, CHILD, [rx("J01CA04", date(2025, 10, 1))], sex="M"),
        Patient(4, BORN, [rx("J01CE02", date(2025, 10, 1)), dx("K74", date(2020, 1, 1))], sex="F"),
        Patient(5, BORN, [rx("J01CE02", date(2025, 10, 1))], sex="M",
                listed=[(OTHER_PRACTICE, date(2000, 1, 1), None)]),
    ]


SPECS = [
    Spec("a rate counts events of everyone listed", RATE_ALL, R, antibiotic_patients(),
         {1: (3, 1), 2: (0, 1), 3: (1, 1), 4: (1, 1)}),
    Spec("a rate among adults", RATE_ADULTS, R, antibiotic_patients(), {1: (3, 1), 2: (0, 1), 4: (1, 1)}),
    Spec("a rate in a disease population", RATE_IHD, R, antibiotic_patients(), {4: (1, 1)}),
    Spec("a share of events: numerator events among denominator events", SHARE_ALL, R, antibiotic_patients(),
         {1: (2, 3), 2: (0, 0), 3: (0, 1), 4: (1, 1)}),
    Spec("a share of events among adult men", SHARE_ADULT_MEN, R, antibiotic_patients(), {1: (2, 3), 2: (0, 0)}),
    Spec("a share of events with exclusions", SHARE_EXCL, R, antibiotic_patients(),
         {1: (2, 3), 2: (0, 0), 3: (0, 1)}),
    Spec("patients 65+ with three or more substances", MANY_DRUGS_65, R,
         [Patient(1, BORN, [rx("A02BC01", date(2025, 3, 1)), rx("C10AA05", date(2025, 3, 1)),
                            rx("C09AA05", date(2025, 3, 1))]),
          Patient(2, BORN, [rx("A02BC01", date(2025, 3, 1)), rx("A02BC01", date(2025, 4, 1)),
                            rx("C09AA05", date(2025, 3, 1))]),
          Patient(3, date(1962, 1, 31), [rx("A02BC01", date(2025, 3, 1)), rx("C10AA05", date(2025, 3, 1)),
                                         rx("C09AA05", date(2025, 3, 1))])],
         {1: (1, 1), 2: (0, 1)}),
    Spec("an age-or-sex population", ANY_AGE_SEX, R, antibiotic_patients(), {3: (1, 1), 4: (1, 1)}),
    Spec("a survey mean: the practice's scores in the window, empty items are no score", SURVEY, R, [],
         {0: (12, 3)},
         surveys=[survey(date(2025, 5, 1), item_01=4, item_02=5), survey(date(2025, 6, 1), item_01=3, item_02=None),
                  survey(date(2024, 6, 1), item_01=1, item_02=1),
                  survey(date(2025, 6, 1), practice=OTHER_PRACTICE, item_01=1, item_02=1)]),
]


def test_census_shortcut_is_used_where_it_should_be():
    assert _census_path(RATE_ALL) and _census_path(RATE_ADULTS) and _census_path(SHARE_ADULT_MEN)
    assert _census_path(MANY_DRUGS_65) and _census_path(ANY_AGE_SEX)
    assert not _census_path(RATE_IHD) and not _census_path(SHARE_EXCL) and not _census_path(SURVEY)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_spec(spec, engine, spec_outcomes):
    check(spec, spec_outcomes(engine)[spec.name])


@pytest.mark.spark
def test_engines_agree(spec_outcomes):
    assert spec_outcomes("spark") == spec_outcomes("duckdb")

"""Who counts on a reference date: listing periods, death, moves, age on the birthday, sex."""

from datetime import date

import pytest
from .spec_support import OTHER_PRACTICE, PRACTICE, Patient, Spec, check, proportion

from kvalitetsplatform.indicators import model as m

R = date(2026, 1, 31)
EVERYONE = proportion(m.EVERYONE, name="LIST-1")
ADULTS = proportion(m.EVERYONE, m.AgeRange(18, None), name="LIST-2")
TWENTY = proportion(m.EVERYONE, m.AgeRange(20, None), name="LIST-5")
UNDER_80 = proportion(m.EVERYONE, m.AgeRange(None, 79), name="LIST-3")
MEN = proportion(m.EVERYONE, m.SexIs("M"), name="LIST-4")
BORN = date(1960, 6, 1)

SPECS = [
    Spec("listed from the reference date counts", EVERYONE, R,
         [Patient(1, BORN, listed=[(PRACTICE, R, None)]), Patient(2, BORN, listed=[(PRACTICE, date(2026, 2, 1), None)])],
         {1: (1, 1)}),
    Spec("listed until the reference date counts, until the day before does not", EVERYONE, R,
         [Patient(1, BORN, listed=[(PRACTICE, date(2000, 1, 1), R)]),
          Patient(2, BORN, listed=[(PRACTICE, date(2000, 1, 1), date(2026, 1, 30))])],
         {1: (1, 1)}),
    Spec("a patient who died on the reference date no longer counts", EVERYONE, R,
         [Patient(1, BORN, died=R), Patient(2, BORN, died=date(2026, 2, 1)), Patient(3, BORN, died=date(2025, 6, 1))],
         {2: (1, 1)}),
    Spec("a death recorded on another practice's listing counts", EVERYONE, R,
         [Patient(1, BORN, listed=[(OTHER_PRACTICE, date(1990, 1, 1), date(1999, 12, 31), {"death_date": R}),
                                   (PRACTICE, date(2000, 1, 1), None)]),
          Patient(2, BORN)],
         {2: (1, 1)}),
    Spec("a patient who moved counts at the new practice", EVERYONE, R,
         [Patient(1, BORN, listed=[(PRACTICE, date(2000, 1, 1), date(2025, 12, 15)),
                                   (OTHER_PRACTICE, date(2025, 12, 16), None)])],
         {1: (1, 1)}, practice=OTHER_PRACTICE),
    Spec("a patient who moved does not count at the old practice", EVERYONE, R,
         [Patient(1, BORN, listed=[(PRACTICE, date(2000, 1, 1), date(2025, 12, 15)),
                                   (OTHER_PRACTICE, date(2025, 12, 16), None)]),
          Patient(2, BORN)],
         {2: (1, 1)}),
    Spec("a move on the reference date counts at both practices that day", EVERYONE, R,
         [Patient(1, BORN, listed=[(PRACTICE, date(2000, 1, 1), R), (OTHER_PRACTICE, R, None)])],
         {1: (1, 1)}, practice=OTHER_PRACTICE),
    Spec("two overlapping listings at one practice count once", EVERYONE, R,
         [Patient(1, BORN, listed=[(PRACTICE, date(2000, 1, 1), None), (PRACTICE, date(2020, 1, 1), None)])],
         {1: (1, 1)}),
    Spec("age is completed years: 18 on the birthday", ADULTS, R,
         [Patient(1, date(2008, 1, 31)), Patient(2, date(2008, 2, 1)), Patient(3, date(1950, 1, 1))],
         {1: (1, 1), 3: (1, 1)}),
    Spec("born 29 February: not a year older on 28 February", ADULTS, date(2026, 2, 28),
         [Patient(1, date(2008, 2, 29))], {}),
    Spec("born 29 February: a year older on 1 March", ADULTS, date(2026, 3, 1),
         [Patient(1, date(2008, 2, 29))], {1: (1, 1)}),
    Spec("born 29 February: a year older on 29 February in a leap year", TWENTY, date(2032, 2, 29),
         [Patient(1, date(2012, 2, 29)), Patient(2, date(2012, 3, 1))], {1: (1, 1)}),
    Spec("an upper age limit includes the last year", UNDER_80, R,
         [Patient(1, date(1946, 2, 1)), Patient(2, date(1946, 1, 31))], {1: (1, 1)}),
    Spec("sex", MEN, R, [Patient(1, BORN, sex="M"), Patient(2, BORN, sex="F")], {1: (1, 1)}),
    Spec("birth date and sex come from the newest listing", MEN, R,
         [Patient(1, BORN, sex="M", listed=[(OTHER_PRACTICE, date(1990, 1, 1), date(1999, 12, 31), {"sex": "F"}),
                                            (PRACTICE, date(2000, 1, 1), None)])],
         {1: (1, 1)}),
    Spec("a patient listed elsewhere does not count here", EVERYONE, R,
         [Patient(1, BORN, listed=[(OTHER_PRACTICE, date(2000, 1, 1), None)]), Patient(2, BORN)], {2: (1, 1)}),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_spec(spec, engine, spec_outcomes):
    check(spec, spec_outcomes(engine)[spec.name])


@pytest.mark.spark
def test_engines_agree(spec_outcomes):
    assert spec_outcomes("spark") == spec_outcomes("duckdb")

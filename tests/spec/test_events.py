"""Event selections: codelists (exact, prefix, exclusions, code systems), counts, distinct codes, required flags."""

from datetime import date

import pytest
from .spec_support import (
    ANNUAL_REVIEW, ANTIPSYCHOTICS, COPD_ADMISSION, IHD, STATINS, Patient, Spec, admission, check, codes, contact, dx,
    events, proportion, rx, window,
)

from kvalitetsplatform.indicators import model as m

R = date(2026, 1, 31)
BORN = date(1950, 5, 5)
W12 = window(12)
ALL_DRUGS = events("prescription", None, W12)


def has(table: str, codelist: m.Codelist | None, at_least: int = 1, name: str = "EV", require=()) -> m.Indicator:
    return proportion(m.HasEvents(events(table, codelist, W12, require), at_least), name=name)


MIXED = codes("mixed/ldl", "NPU", "NPU01568")  # an NPU list must not match the same code text in another system
TWO_LISTS = m.Events("prescription", (STATINS, codes("atc/ezetimibe", "ATC", "C10AX09")), W12)

SPECS = [
    Spec("a prefix codelist matches the code and its subcodes, not a neighbour", has("prescription", STATINS, name="EV-1"),
         R, [Patient(1, BORN, [rx("C10AA05", date(2025, 6, 1))]), Patient(2, BORN, [rx("C10AA", date(2025, 6, 1))]),
             Patient(3, BORN, [rx("C10AX09", date(2025, 6, 1))])],
         {1: (1, 1), 2: (1, 1), 3: (0, 1)}),
    Spec("an exact codelist does not match longer codes", has("diagnosis", IHD, name="EV-2"), R,
         [Patient(1, BORN, [dx("K74", date(2025, 6, 1))]), Patient(2, BORN, [dx("K749", date(2025, 6, 1))])],
         {1: (1, 1), 2: (0, 1)}),
    Spec("a code taken out by the codelist's exclusions does not match", has("prescription", ANTIPSYCHOTICS,
                                                                              name="EV-3"),
         R, [Patient(1, BORN, [rx("N05AH04", date(2025, 6, 1))]), Patient(2, BORN, [rx("N05AN01", date(2025, 6, 1))])],
         {1: (1, 1), 2: (0, 1)}),
    Spec("a code from another code system does not match", has("diagnosis", IHD, name="EV-4"), R,
         [Patient(1, BORN, [dx("K74", date(2025, 6, 1), system="SKS")]), Patient(2, BORN, [dx("K74", date(2025, 6, 1))])],
         {1: (0, 1), 2: (1, 1)}),
    Spec("any of several codelists", proportion(m.HasEvents(TWO_LISTS), name="EV-5"), R,
         [Patient(1, BORN, [rx("C10AX09", date(2025, 6, 1))]), Patient(2, BORN, [rx("C09AA05", date(2025, 6, 1))])],
         {1: (1, 1), 2: (0, 1)}),
    Spec("no codelist: every row of the table", has("prescription", None, name="EV-6"), R,
         [Patient(1, BORN, [rx("A02BC01", date(2025, 6, 1))]), Patient(2, BORN)],
         {1: (1, 1), 2: (0, 1)}),
    Spec("at least 2: one is not enough, events outside the window do not count", has("prescription", STATINS, 2,
                                                                                        name="EV-7"),
         R, [Patient(1, BORN, [rx("C10AA05", date(2025, 6, 1)), rx("C10AA05", date(2025, 7, 1))]),
             Patient(2, BORN, [rx("C10AA05", date(2025, 6, 1)), rx("C10AA05", date(2024, 6, 1))]),
             Patient(3, BORN, [rx("C10AA05", date(2025, 6, 1)), rx("C10AA05", date(2025, 6, 1))])],
         {1: (1, 1), 2: (0, 1), 3: (1, 1)}),
    Spec("contacts by ydelseskode", has("contact", ANNUAL_REVIEW, name="EV-8"), R,
         [Patient(1, BORN, [contact("0120", date(2025, 3, 3))]), Patient(2, BORN, [contact("0101", date(2025, 3, 3))])],
         {1: (1, 1), 2: (0, 1)}),
    Spec("a required flag: only acute admissions, an unknown flag is not acute",
         has("hospital_admission", COPD_ADMISSION, name="EV-9", require=("acute",)), R,
         [Patient(1, BORN, [admission("DJ441", date(2025, 3, 3), acute=True)]),
          Patient(2, BORN, [admission("DJ441", date(2025, 3, 3), acute=False)]),
          Patient(3, BORN, [admission("DJ441", date(2025, 3, 3), acute=None)])],
         {1: (1, 1), 2: (0, 1), 3: (0, 1)}),
    Spec("distinct codes: the same substance twice is one", proportion(m.HasDistinctCodes(ALL_DRUGS, 3),
                                                                        name="EV-10"), R,
         [Patient(1, BORN, [rx("C10AA05", date(2025, 6, 1)), rx("C10AA05", date(2025, 7, 1)),
                            rx("A02BC01", date(2025, 6, 1))]),
          Patient(2, BORN, [rx("C10AA05", date(2025, 6, 1)), rx("C10AA07", date(2025, 7, 1)),
                            rx("A02BC01", date(2025, 6, 1))]),
          Patient(3, BORN, [rx("C10AA05", date(2025, 6, 1)), rx("C10AA07", date(2025, 7, 1)),
                            rx("A02BC01", date(2024, 6, 1))])],
         {1: (0, 1), 2: (1, 1), 3: (0, 1)}),
    Spec("distinct codes: a later prescription of the same code, or an earlier one outside the window, changes "
         "nothing", proportion(m.HasDistinctCodes(ALL_DRUGS, 2), name="EV-12"), R,
         [Patient(1, BORN, [rx("A02BC01", date(2025, 6, 1)), rx("A02BC01", date(2026, 3, 1)),
                            rx("C09AA05", date(2024, 12, 1)), rx("C09AA05", date(2025, 7, 1)),
                            rx("C10AA05", date(2025, 1, 15))]),
          Patient(2, BORN, [rx("C10AA05", date(2025, 1, 15)), rx("A02BC01", date(2025, 1, 31)),
                            rx("C09AA05", date(2025, 2, 1))])],
         {1: (1, 1), 2: (0, 1)}),
    Spec("facts recorded at another practice belong to the patient",
         has("prescription", STATINS, name="EV-11"), R,
         [Patient(1, BORN, [rx("C10AA05", date(2025, 6, 1))],
                  listed=[("000002", date(2000, 1, 1), date(2025, 10, 1)), ("000001", date(2025, 10, 2), None)])],
         {1: (1, 1)}),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_spec(spec, engine, spec_outcomes):
    check(spec, spec_outcomes(engine)[spec.name])


@pytest.mark.spark
def test_engines_agree(spec_outcomes):
    assert spec_outcomes("spark") == spec_outcomes("duckdb")

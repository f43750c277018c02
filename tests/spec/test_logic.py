"""all / any / not, exclusions and chronic-care enrolment, in populations and numerators."""

from datetime import date

import pytest
from .spec_support import (
    IHD, STATINS, Patient, Spec, check, codes, dx, enrolled, events, proportion, rx, window,
)

from kvalitetsplatform.indicators import model as m

R = date(2026, 1, 31)
BORN = date(1950, 5, 5)
YOUNG = date(2010, 5, 5)
T2D = codes("icpc2dk/t2d", "ICPC2DK", "T90")
T1D = codes("icpc2dk/t1d", "ICPC2DK", "T89")
HAS_IHD = m.HasEvents(events("diagnosis", IHD, m.EVER))
HAS_T2D = m.HasEvents(events("diagnosis", T2D, m.EVER))
HAS_T1D = m.HasEvents(events("diagnosis", T1D, m.EVER))
STATIN = m.HasEvents(events("prescription", STATINS, window(12)))
ADULT = m.AgeRange(18, None)

SPECS = [
    Spec("any: either diagnosis puts the patient in the population",
         proportion(STATIN, m.AnyOf((HAS_IHD, HAS_T2D)), name="LOG-1"), R,
         [Patient(1, BORN, [dx("K74", date(2020, 1, 1))]), Patient(2, BORN, [dx("T90", date(2020, 1, 1))]),
          Patient(3, BORN, [dx("T89", date(2020, 1, 1))])],
         {1: (0, 1), 2: (0, 1)}),
    Spec("all: age and diagnosis", proportion(STATIN, m.AllOf((ADULT, HAS_IHD)), name="LOG-2"), R,
         [Patient(1, BORN, [dx("K74", date(2020, 1, 1)), rx("C10AA05", date(2025, 5, 1))]),
          Patient(2, YOUNG, [dx("K74", date(2020, 1, 1))]), Patient(3, BORN)],
         {1: (1, 1)}),
    Spec("not: a numerator met by having no statin", proportion(m.Not(STATIN), HAS_IHD, name="LOG-3"), R,
         [Patient(1, BORN, [dx("K74", date(2020, 1, 1)), rx("C10AA05", date(2025, 5, 1))]),
          Patient(2, BORN, [dx("K74", date(2020, 1, 1)), rx("C10AA05", date(2024, 5, 1))])],
         {1: (0, 1), 2: (1, 1)}),
    Spec("not in the population: everyone without the diagnosis",
         proportion(STATIN, m.AllOf((ADULT, m.Not(HAS_IHD))), name="LOG-4"), R,
         [Patient(1, BORN, [dx("K74", date(2020, 1, 1))]), Patient(2, BORN, [rx("C10AA05", date(2025, 5, 1))]),
          Patient(3, YOUNG)],
         {2: (1, 1)}),
    Spec("any with an age part reaches everyone listed",
         proportion(STATIN, m.AnyOf((m.AgeRange(None, 17), HAS_IHD)), name="LOG-5"), R,
         [Patient(1, BORN, [dx("K74", date(2020, 1, 1))]), Patient(2, YOUNG), Patient(3, BORN)],
         {1: (0, 1), 2: (0, 1)}),
    Spec("exclusions take patients out of the population",
         proportion(STATIN, HAS_T2D, exclusions=HAS_T1D, name="LOG-6"), R,
         [Patient(1, BORN, [dx("T90", date(2020, 1, 1))]),
          Patient(2, BORN, [dx("T90", date(2020, 1, 1)), dx("T89", date(2021, 1, 1))])],
         {1: (0, 1)}),
    Spec("nested: all of (adult, any of (IHD, T2D), not T1D)",
         proportion(m.AnyOf((m.AllOf((HAS_IHD, STATIN)), m.AllOf((m.Not(HAS_IHD), m.Not(STATIN))))),
                    m.AllOf((ADULT, m.AnyOf((HAS_IHD, HAS_T2D)), m.Not(HAS_T1D))), name="LOG-7"), R,
         [Patient(1, BORN, [dx("K74", date(2020, 1, 1)), rx("C10AA05", date(2025, 5, 1))]),
          Patient(2, BORN, [dx("K74", date(2020, 1, 1))]),
          Patient(3, BORN, [dx("T90", date(2020, 1, 1))]),
          Patient(4, BORN, [dx("T90", date(2020, 1, 1)), rx("C10AA05", date(2025, 5, 1))]),
          Patient(5, BORN, [dx("T90", date(2020, 1, 1)), dx("T89", date(2020, 1, 1))])],
         {1: (1, 1), 2: (0, 1), 3: (1, 1), 4: (0, 1)}),
    Spec("enrolment: from the start day, to the end day, not after or before",
         proportion(m.EnrolledOn("T2D"), HAS_T2D, name="LOG-8"), R,
         [Patient(1, BORN, [dx("T90", date(2020, 1, 1)), enrolled("T2D", R)]),
          Patient(2, BORN, [dx("T90", date(2020, 1, 1)), enrolled("T2D", date(2020, 1, 1), R)]),
          Patient(3, BORN, [dx("T90", date(2020, 1, 1)), enrolled("T2D", date(2020, 1, 1), date(2026, 1, 30))]),
          Patient(4, BORN, [dx("T90", date(2020, 1, 1)), enrolled("T2D", date(2026, 2, 1))]),
          Patient(5, BORN, [dx("T90", date(2020, 1, 1)), enrolled("COPD", date(2020, 1, 1))]),
          Patient(6, BORN, [dx("T90", date(2020, 1, 1)), enrolled("T2D", date(2020, 1, 1))])],
         {1: (1, 1), 2: (1, 1), 3: (0, 1), 4: (0, 1), 5: (0, 1), 6: (1, 1)}),
    Spec("enrolment as the population", proportion(STATIN, m.EnrolledOn("COPD"), name="LOG-9"), R,
         [Patient(1, BORN, [enrolled("COPD", date(2020, 1, 1)), rx("C10AA05", date(2025, 5, 1))]),
          Patient(2, BORN, [enrolled("COPD", date(2020, 1, 1), date(2024, 1, 1))])],
         {1: (1, 1)}),
    Spec("a diagnosis recorded after the reference date does not count yet",
         proportion(STATIN, HAS_IHD, name="LOG-10"), R,
         [Patient(1, BORN, [dx("K74", date(2026, 2, 1))]), Patient(2, BORN, [dx("K74", R)])],
         {2: (0, 1)}),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_spec(spec, engine, spec_outcomes):
    check(spec, spec_outcomes(engine)[spec.name])


@pytest.mark.spark
def test_engines_agree(spec_outcomes):
    assert spec_outcomes("spark") == spec_outcomes("duckdb")

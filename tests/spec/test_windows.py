"""Windows: which event days count for a reference date R (model.Window: R - start < day <= R - end)."""

from datetime import date, time, timedelta

import pytest
from .spec_support import LDL, STATINS, Patient, Spec, check, events, lab, proportion, rx, window

from kvalitetsplatform.indicators import model as m

R = date(2026, 1, 31)
BORN = date(1950, 5, 5)


def statin_within(w: m.Window, name: str) -> m.Indicator:
    return proportion(m.HasEvents(events("prescription", STATINS, w)), name=name)


def two(spec_name: str, indicator: m.Indicator, ref: date, inside: date, outside: date) -> Spec:
    """Patient 1 has a statin on `inside`, patient 2 on `outside`."""
    return Spec(spec_name, indicator, ref,
                [Patient(1, BORN, [rx("C10AA05", inside)]), Patient(2, BORN, [rx("C10AA05", outside)])],
                {1: (1, 1), 2: (0, 1)})


W12 = statin_within(window(12), "WIN-1")
W1 = statin_within(window(1), "WIN-2")
D30 = statin_within(window(30, unit="days"), "WIN-3")
WK2 = statin_within(window(2, unit="weeks"), "WIN-4")
Y2 = statin_within(window(2, unit="years"), "WIN-5")
FROM_24_TO_12 = statin_within(window(24, until=12), "WIN-6")
EVER = statin_within(m.EVER, "WIN-7")
EVER_UNTIL_12 = statin_within(window(None, until=12), "WIN-8")
LAB_12 = proportion(m.HasEvents(events("lab_result", LDL, window(12))), name="WIN-9")

SPECS = [
    two("12 months: exactly 12 months before is outside, the next day inside", W12, R, date(2025, 2, 1),
        date(2025, 1, 31)),
    two("the reference date itself is inside, the day after outside", W12, R, R, date(2026, 2, 1)),
    two("1 month before 31 March is 28 February", W1, date(2025, 3, 31), date(2025, 3, 1), date(2025, 2, 28)),
    two("1 month before 31 March in a leap year is 29 February", W1, date(2024, 3, 31), date(2024, 3, 1),
        date(2024, 2, 29)),
    two("12 months before 29 February is 28 February", W12, date(2024, 2, 29), date(2023, 3, 1),
        date(2023, 2, 28)),
    two("12 months before 28 February in a leap year's successor is 28 February", W12, date(2025, 2, 28),
        date(2024, 2, 29), date(2024, 2, 28)),
    two("30 days", D30, R, R - timedelta(days=29), R - timedelta(days=30)),
    two("2 weeks", WK2, R, R - timedelta(days=13), R - timedelta(days=14)),
    two("2 years", Y2, R, date(2024, 2, 1), date(2024, 1, 31)),
    two("from 24 to 12 months before: the later edge is inside", FROM_24_TO_12, R, date(2025, 1, 31),
        date(2025, 2, 1)),
    two("from 24 to 12 months before: the earlier edge is outside", FROM_24_TO_12, R, date(2024, 2, 1),
        date(2024, 1, 31)),
    two("ever reaches far back but not past the reference date", EVER, R, date(1990, 1, 1), date(2026, 2, 1)),
    two("ever until 12 months before", EVER_UNTIL_12, R, date(2025, 1, 31), date(2025, 2, 1)),
    Spec("a timestamp late on the reference date is that day", LAB_12, R,
         [Patient(1, BORN, [lab("NPU01568", R, 2.0, at=time(23, 59))]),
          Patient(2, BORN, [lab("NPU01568", date(2026, 2, 1), 2.0, at=time(0, 0))])],
         {1: (1, 1), 2: (0, 1)}),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_spec(spec, engine, spec_outcomes):
    check(spec, spec_outcomes(engine)[spec.name])


@pytest.mark.spark
def test_engines_agree(spec_outcomes):
    assert spec_outcomes("spark") == spec_outcomes("duckdb")

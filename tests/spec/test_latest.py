"""The latest value in a window against a threshold, and the deciding fact a worklist shows."""

from datetime import date, time

import pytest
from .spec_support import (
    HBA1C, LDL, SMOKING, STATINS, Patient, Spec, check, events, lab, meas, proportion, rx, window,
)

from kvalitetsplatform.indicators import model as m

R = date(2026, 1, 31)
BORN = date(1950, 5, 5)
LDL_12 = events("lab_result", LDL, window(12))
LDL_EVER = events("lab_result", LDL, m.EVER)


def latest(test, name: str, sel: m.Events = LDL_12, fact: m.Events | None = LDL_EVER) -> m.Indicator:
    return proportion(m.LatestValue(sel, test), fact=fact, name=name)


BELOW_18 = latest(m.NumberTest("<", 1.8, unit="mmol/L"), "LAT-1")
AT_MOST_18 = latest(m.NumberTest("<=", 1.8), "LAT-2")
ABOVE_18 = latest(m.NumberTest(">", 1.8), "LAT-3")
AT_LEAST_75 = proportion(m.LatestValue(events("lab_result", HBA1C, window(12)), m.NumberTest(">=", 75)),
                         name="LAT-4")
BETWEEN = latest(m.NumberTest("between", 1.4, 1.8), "LAT-5")
SMOKER = proportion(m.LatestValue(events("measurement", SMOKING, window(12)), m.TextTest(("dagligryger",
                                                                                         "lejlighedsvis"))),
                    fact=events("measurement", SMOKING, m.EVER), name="LAT-6")
STATIN_FACT = proportion(m.HasEvents(events("prescription", STATINS, window(12))),
                         fact=events("prescription", STATINS, m.EVER), name="LAT-7")

SPECS = [
    Spec("exactly on the threshold: < fails, <= holds, > fails", BELOW_18, R,
         [Patient(1, BORN, [lab("NPU01568", date(2025, 11, 3), 1.8)]),
          Patient(2, BORN, [lab("NPU01568", date(2025, 11, 3), 1.79)])],
         {1: (0, 1), 2: (1, 1)}, fact={1: (date(2025, 11, 3), 1.8), 2: (date(2025, 11, 3), 1.79)}),
    Spec("<= includes the threshold", AT_MOST_18, R, [Patient(1, BORN, [lab("NPU01568", date(2025, 11, 3), 1.8)])],
         {1: (1, 1)}),
    Spec("> excludes the threshold", ABOVE_18, R, [Patient(1, BORN, [lab("NPU01568", date(2025, 11, 3), 1.8)]),
                                                   Patient(2, BORN, [lab("NPU01568", date(2025, 11, 3), 1.81)])],
         {1: (0, 1), 2: (1, 1)}),
    Spec(">= includes the threshold", AT_LEAST_75, R,
         [Patient(1, BORN, [lab("NPU27300", date(2025, 11, 3), 75, unit="mmol/mol")]),
          Patient(2, BORN, [lab("NPU27300", date(2025, 11, 3), 74.9, unit="mmol/mol")])],
         {1: (1, 1), 2: (0, 1)}),
    Spec("between includes both ends", BETWEEN, R,
         [Patient(1, BORN, [lab("NPU01568", date(2025, 11, 3), 1.4)]), Patient(2, BORN, [lab("NPU01568", R, 1.8)]),
          Patient(3, BORN, [lab("NPU01568", R, 1.81)])],
         {1: (1, 1), 2: (1, 1), 3: (0, 1)}),
    Spec("the newest value decides, not the best", BELOW_18, R,
         [Patient(1, BORN, [lab("NPU01568", date(2025, 3, 1), 1.2), lab("NPU01568", date(2025, 11, 3), 2.6)]),
          Patient(2, BORN, [lab("NPU01568", date(2025, 3, 1), 2.6), lab("NPU01568", date(2025, 11, 3), 1.2)])],
         {1: (0, 1), 2: (1, 1)}, fact={1: (date(2025, 11, 3), 2.6), 2: (date(2025, 11, 3), 1.2)}),
    Spec("the same day: the later time decides", BELOW_18, R,
         [Patient(1, BORN, [lab("NPU01568", date(2025, 11, 3), 1.2, at=time(8)),
                            lab("NPU01568", date(2025, 11, 3), 2.6, at=time(14))])],
         {1: (0, 1)}, fact={1: (date(2025, 11, 3), 2.6)}),
    Spec("the same time: the highest value wins", BELOW_18, R,
         [Patient(1, BORN, [lab("NPU01568", date(2025, 11, 3), 1.2), lab("NPU01568", date(2025, 11, 3), 2.6)])],
         {1: (0, 1)}, fact={1: (date(2025, 11, 3), 2.6)}),
    Spec("a newer result without a number is passed over by a number test", BELOW_18, R,
         [Patient(1, BORN, [lab("NPU01568", date(2025, 6, 1), 1.2),
                            lab("NPU01568", date(2025, 11, 3), None, text="hæmolyse")])],
         {1: (1, 1)}, fact={1: (date(2025, 11, 3), "hæmolyse")}),
    Spec("a value reported beyond a limit is compared as its number", BELOW_18, R,
         [Patient(1, BORN, [lab("NPU01568", date(2025, 11, 3), 0.5, comparator="<")])],
         {1: (1, 1)}),
    Spec("the latest in the window: an older low value does not count when the window has none", BELOW_18, R,
         [Patient(1, BORN, [lab("NPU01568", date(2024, 11, 3), 1.2)]), Patient(2, BORN)],
         {1: (0, 1), 2: (0, 1)}, fact={1: (date(2024, 11, 3), 1.2), 2: None}),
    Spec("a text test: the newest text decides, the highest text on a tie", SMOKER, R,
         [Patient(1, BORN, [meas("RYGESTATUS", date(2025, 3, 1), text="aldrig ryger"),
                            meas("RYGESTATUS", date(2025, 9, 1), text="dagligryger")]),
          Patient(2, BORN, [meas("RYGESTATUS", date(2025, 9, 1), text="dagligryger"),
                            meas("RYGESTATUS", date(2025, 9, 1), text="tidligere ryger")]),
          Patient(3, BORN, [meas("RYGESTATUS", date(2025, 9, 1), text="lejlighedsvis"),
                            meas("RYGESTATUS", date(2025, 9, 1), value=3.0)])],
         {1: (1, 1), 2: (0, 1), 3: (1, 1)},
         fact={1: (date(2025, 9, 1), "dagligryger"), 2: (date(2025, 9, 1), "tidligere ryger"),
               3: (date(2025, 9, 1), 3.0)}),
    Spec("the deciding fact of a prescription: the newest, however old", STATIN_FACT, R,
         [Patient(1, BORN, [rx("C10AA05", date(2023, 2, 1)), rx("C10AA07", date(2024, 2, 1))]), Patient(2, BORN)],
         {1: (0, 1), 2: (0, 1)}, fact={1: (date(2024, 2, 1), None), 2: None}),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_spec(spec, engine, spec_outcomes):
    check(spec, spec_outcomes(engine)[spec.name])


@pytest.mark.spark
def test_engines_agree(spec_outcomes):
    assert spec_outcomes("spark") == spec_outcomes("duckdb")

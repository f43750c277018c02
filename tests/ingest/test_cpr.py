"""CPR classification: real numbers, the substitute convention, replacement numbers; modulus 11 never decides."""

from datetime import date

import pytest

from kvalitetsplatform.ingest.cpr import classify


@pytest.mark.parametrize("value, kind, birth", [
    ("0707614285", "cpr", date(1961, 7, 7)),
    ("070761-4285", "cpr", date(1961, 7, 7)),
    ("0707614286", "cpr", date(1961, 7, 7)),  # fails modulus 11: still a valid CPR
    ("0101104285", "cpr", date(2010, 1, 1)),  # digit 7 = 4, YY ≤ 36: 2000s
    ("0101584285", "cpr", date(1958, 1, 1)),  # digit 7 = 4, YY > 36: 1900s
    ("0101575285", "cpr", date(2057, 1, 1)),  # digit 7 = 5, YY ≤ 57: 2000s
    ("0101585285", "cpr", date(1858, 1, 1)),  # digit 7 = 5, YY > 57: 1800s
    ("0101990285", "cpr", date(1999, 1, 1)),  # digit 7 = 0-3: 1900s
    ("0101369285", "cpr", date(2036, 1, 1)),  # digit 7 = 9, YY ≤ 36: 2000s
    (" 070761-4285", "cpr", date(1961, 7, 7)),  # surrounding spaces do not matter
    ("6707614285", "cpr_substitute", date(1961, 7, 7)),  # day + 60
    ("010165-1AB2", "ecpr_national", date(1965, 1, 1)),
    ("010105-7XY3", "ecpr_national", date(2005, 1, 1)),
    ("010165-0AB2", "ecpr_local", None),
    ("0101655ABC", "ecpr_local", None),
    ("3102614285", "invalid", None),  # 31 February
    ("9902614285", "invalid", None),  # day 99 - 60 = 39
    ("320165-1AB2", "invalid", None),  # national form with an impossible date
    ("12345", "invalid", None),
    (None, "invalid", None),
])
def test_classification(value, kind, birth):
    assert classify([value]) == [(kind, birth)]

"""The query model: window arithmetic, code matching, value tests, and its tie to the contract and warehouse."""

from dataclasses import FrozenInstanceError
from datetime import date

import pytest

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.indicators import load_catalogue
from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.warehouse.schema import LOADED

R = date(2026, 1, 31)


@pytest.mark.parametrize("day, duration, expected", [
    (date(2025, 3, 31), m.Duration(1, "months"), date(2025, 2, 28)),
    (date(2024, 3, 31), m.Duration(1, "months"), date(2024, 2, 29)),
    (date(2024, 2, 29), m.Duration(12, "months"), date(2023, 2, 28)),
    (date(2024, 2, 29), m.Duration(1, "years"), date(2023, 2, 28)),
    (date(2026, 1, 31), m.Duration(12, "months"), date(2025, 1, 31)),
    (date(2026, 1, 31), m.Duration(13, "months"), date(2024, 12, 31)),
    (date(2025, 8, 31), m.Duration(6, "months"), date(2025, 2, 28)),
    (date(2026, 1, 31), m.Duration(8, "weeks"), date(2025, 12, 6)),
    (date(2026, 3, 1), m.Duration(1, "days"), date(2026, 2, 28)),
    (date(2026, 1, 31), m.Duration(0, "days"), date(2026, 1, 31)),
])
def test_durations_step_back_in_calendar_months_clipped_to_the_month_end(day, duration, expected):
    assert duration.before(day) == expected


def test_within_12_months_excludes_the_day_exactly_12_months_before():
    window = m.Window(m.Duration(12, "months"))
    assert window.bounds(R) == (date(2025, 1, 31), R)
    assert not window.contains(date(2025, 1, 30), R)
    assert not window.contains(date(2025, 1, 31), R)
    assert window.contains(date(2025, 2, 1), R)
    assert window.contains(R, R)
    assert not window.contains(date(2026, 2, 1), R)


def test_an_earlier_window_excludes_its_far_edge_and_includes_its_near_edge():
    window = m.Window(m.Duration(24, "months"), m.Duration(12, "months"))
    assert window.bounds(R) == (date(2024, 1, 31), date(2025, 1, 31))
    assert not window.contains(date(2024, 1, 31), R)
    assert window.contains(date(2024, 2, 1), R)
    assert window.contains(date(2025, 1, 31), R)
    assert not window.contains(date(2025, 2, 1), R)
    assert window.months == 12


def test_ever_has_no_lower_bound_but_ends_on_the_reference_date():
    assert m.EVER.contains(date(1900, 1, 1), R) and m.EVER.contains(R, R)
    assert not m.EVER.contains(date(2026, 2, 1), R)
    assert m.EVER.months is None
    assert m.Window(m.Duration(2, "years")).months == 24
    assert m.Window(m.Duration(8, "weeks")).months is None


def _codelist(match, codes, exclude=(), system="ATC"):
    return m.Codelist("test", "test", match, tuple(m.Code(system, c) for c in codes),
                      tuple(m.Code(system, c) for c in exclude))


def test_prefix_codelists_match_longer_codes_and_honour_exclusions():
    antipsychotics = _codelist("prefix", ["N05A"], exclude=["N05AN"])
    assert antipsychotics.matches("N05AH04")
    assert antipsychotics.matches("N05A")
    assert not antipsychotics.matches("N05AN01")
    assert not antipsychotics.matches("N05BA01")


def test_exact_codelists_match_only_the_code_itself():
    pcv = _codelist("exact", ["J01CE02"])
    assert pcv.matches("J01CE02")
    assert not pcv.matches("J01CE0")
    assert not pcv.matches("J01CE021")


def test_a_code_matches_only_within_its_code_system():
    ldl = m.Codelist("test", "LDL", "exact", (m.Code("NPU", "NPU01568"), m.Code("DNK", "DNK35308")))
    assert ldl.matches("DNK35308", "DNK")
    assert not ldl.matches("DNK35308", "NPU")
    assert ldl.systems == ("DNK", "NPU")


@pytest.mark.parametrize("test, value, holds", [
    (m.NumberTest("<", 1.8), 1.8, False), (m.NumberTest("<", 1.8), 1.79, True),
    (m.NumberTest("<=", 58), 58, True), (m.NumberTest(">", 3), 3, False), (m.NumberTest(">=", 75), 75, True),
    (m.NumberTest("between", 53, 58), 53, True), (m.NumberTest("between", 53, 58), 58, True),
    (m.NumberTest("between", 53, 58), 58.1, False), (m.NumberTest("between", 53, 58), 52.9, False),
])
def test_number_tests_at_their_edges(test, value, holds):
    assert test.holds(value) is holds


def test_event_tables_name_contract_fields_or_the_warehouse_days_beside_timestamps():
    for source in m.EVENT_TABLES.values():
        contract = TABLES[source.name].columns
        warehouse = set(next(t for t in LOADED.values() if t.name == source.name).column_names)
        for name in (source.day, source.time, source.code, source.system, source.value, source.text, *source.flags):
            if name is not None:
                assert name in warehouse, (source.name, name)
        assert source.day in contract and contract[source.day].type == "date" or \
            contract[source.day.removesuffix("_date") + "_ts"].type == "timestamp"
        assert contract[source.time].type in ("date", "timestamp")
        assert contract[source.code].type == "string"
        assert all(contract[f].type == "bool" for f in source.flags)
        if source.value:
            assert contract[source.value].type == "float" and contract[source.text].type == "string"
    assert m.EVENT_TABLES["diagnosis"].systems == ("ICPC2DK", "SKS")
    assert m.EVENT_TABLES["prescription"].systems == ("ATC",)
    assert m.EVENT_TABLES["contact"].systems == ("ydelseskode",)


def test_the_model_is_immutable_and_hashable():
    catalogue = load_catalogue()
    indicators = catalogue.indicators()
    assert len({hash(i) for i in indicators}) == len(indicators)
    with pytest.raises(FrozenInstanceError):
        indicators[0].measure.numerator = m.EVERYONE
    with pytest.raises(FrozenInstanceError):
        m.EVER.start = m.Duration(1, "days")


def test_walk_visits_every_node():
    a, b, c = m.SexIs("F"), m.AgeRange(18, None), m.EnrolledOn("T2D")
    tree = m.AllOf((a, m.AnyOf((b, m.Not(c)))))
    assert list(m.walk(tree)) == [tree, a, tree.parts[1], b, tree.parts[1].parts[1], c]

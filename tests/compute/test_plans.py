"""Kept plans: an evaluation's SQL depends on the definitions, the number of dates and whether practices are
limited — never on which dates or practices — so a later run can run it again (compute.plans)."""

from __future__ import annotations

from datetime import date

import ibis
import pytest

from kvalitetsplatform.compute.rows import load_rows
from kvalitetsplatform.indicators import load_catalogue
from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.engine import Evaluation, NotReusable, _placeholders

INDICATORS = [i for p in load_catalogue().packages for i in p.indicators]


def _plan(con, dates: list[date], practices: list[str] | None):
    warehouse = load_rows(con, {})
    with Evaluation(warehouse, dates, INDICATORS, practices=practices) as ev:
        for n, ind in enumerate(INDICATORS):
            ev.stage(ev.cells(ind), f"kp_stage_cell_{n}", ("cell", ind.id))
            if not isinstance(ind.measure, m.SurveyMean):
                events_only = isinstance(ind.measure, (m.EventRate, m.EventProportion))
                ev.stage(ev.patients(ind, events_only=events_only), f"kp_stage_flags_{n}", ("flags", ind.id))
        plan = ev.plan()
    for n in range(len(INDICATORS)):
        con.drop_table(f"kp_stage_cell_{n}", database="temp.main", force=True)
        con.drop_table(f"kp_stage_flags_{n}", database="temp.main", force=True)
    return plan


@pytest.mark.parametrize("scoped", [False, True])
def test_the_sql_is_the_same_for_other_dates_and_practices(scoped):
    con = ibis.duckdb.connect()
    one = _plan(con, [date(2026, 10, 31), date(2026, 9, 30)], ["000001"] if scoped else None)
    other = _plan(con, [date(2025, 2, 28), date(2024, 2, 29)], ["000002", "000003"] if scoped else None)
    assert len(one.statements) > len(INDICATORS)
    assert one == other
    text = " ".join(s.insert for s in one.statements)
    for literal in ("2026", "2025", "2024", "000001"):
        assert literal not in text


def test_sql_with_a_date_or_another_table_is_not_kept():
    names = {"kp_refs_1": "«0»"}
    assert _placeholders('SELECT * FROM "temp"."main"."kp_refs_1"', names) == 'SELECT * FROM "temp"."main"."«0»"'
    with pytest.raises(NotReusable):
        _placeholders('SELECT * FROM "kp_refs_1" WHERE d > MAKE_DATE(2026, 10, 31)', names)
    with pytest.raises(NotReusable):
        _placeholders('SELECT * FROM "kp_rows_7"', names)
    assert "9999" in _placeholders("SELECT COALESCE(d, MAKE_DATE(9999, 12, 31))", names)

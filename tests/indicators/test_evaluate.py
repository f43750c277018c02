"""The plain-Python evaluator on hand-built warehouse rows and nodes (no package files involved)."""

from datetime import date, datetime

from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.evaluate import (
    Totals, age_on, fact, holds, patient_outcomes, patient_records, practice_results, value,
)

R = date(2026, 1, 31)
HBA1C = m.Codelist("npu/hba1c", "HbA1c", "exact", (m.Code("NPU", "NPU27300"),))
J01 = m.Codelist("atc/j01", "J01", "prefix", (m.Code("ATC", "J01"),))
LAST_YEAR = m.Window(m.Duration(12, "months"))


def listing(key, ydernummer="000001", start=date(2000, 1, 1), end=None, birth=date(1960, 6, 1), sex="F",
            death=None):
    return {"patient_key": key, "ydernummer": ydernummer, "list_start": start, "list_end": end,
            "birth_date": birth, "sex": sex, "death_date": death}


def lab(key, ts, value_num=None, value_text=None, code="NPU27300"):
    return {"patient_key": key, "code_system": "NPU", "code": code, "value_num": value_num,
            "value_text": value_text, "sampled_ts": ts, "sampled_date": ts.date()}


def prescription(key, day, atc):
    return {"patient_key": key, "prescribed_date": day, "atc": atc}


def indicator(measure, population=m.EVERYONE, exclusions=None, fact_events=None):
    return m.Indicator("T-1", m.Text("t", "t"), m.Text("t", "t"), "higher_is_better", None, population, exclusions,
                       measure, fact_events)


def test_age_is_completed_years_and_a_leap_day_birthday_comes_on_1_march():
    assert age_on(date(2008, 1, 31), R) == 18
    assert age_on(date(2008, 2, 1), R) == 17
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_birth_date_and_sex_come_from_the_newest_listing_and_a_death_from_any():
    tables = {"listing": [listing(1, "000001", date(2000, 1, 1), date(2020, 1, 1), sex="M"),
                          listing(1, "000002", date(2020, 1, 2), None, sex="F", death=date(2026, 3, 1))]}
    [record] = patient_records(tables)
    assert (record.sex, record.death_date) == ("F", date(2026, 3, 1))
    assert record.listed_at(R) == ["000002"]
    assert record.listed_at(date(2026, 3, 1)) == []


def test_the_latest_numeric_value_skips_rows_without_a_number():
    rows = [lab(1, datetime(2025, 6, 1, 8), 50), lab(1, datetime(2025, 9, 1, 8), value_text="hæmolyseret")]
    [record] = patient_records({"listing": [listing(1)], "lab_result": rows})
    events = m.Events("lab_result", (HBA1C,), LAST_YEAR)
    assert holds(m.LatestValue(events, m.NumberTest("<", 59)), record, R)
    assert holds(m.LatestValue(events, m.TextTest(("hæmolyseret",))), record, R)
    assert fact(events, record, R)["date"] == date(2025, 9, 1)


def test_at_the_same_time_the_highest_value_is_the_latest():
    ts = datetime(2025, 6, 1, 8)
    [record] = patient_records({"listing": [listing(1)], "lab_result": [lab(1, ts, 80), lab(1, ts, 50)]})
    events = m.Events("lab_result", (HBA1C,), LAST_YEAR)
    assert not holds(m.LatestValue(events, m.NumberTest("<", 59)), record, R)
    assert fact(events, record, R)["value"] == 80


def test_distinct_codes_count_substances_not_prescriptions():
    rows = [prescription(1, date(2025, 5, 1), atc) for atc in ("C10AA01", "C10AA01", "C07AB02", "B01AC06")]
    [record] = patient_records({"listing": [listing(1)], "prescription": rows})
    everything = m.Events("prescription", (), LAST_YEAR)
    assert holds(m.HasDistinctCodes(everything, 3), record, R)
    assert not holds(m.HasDistinctCodes(everything, 4), record, R)
    assert holds(m.HasEvents(everything, 4), record, R)


def test_enrolment_is_active_from_its_first_to_its_last_day():
    def enrolled(start, end):
        rows = [{"patient_key": 1, "condition": "T2D", "start_date": start, "end_date": end}]
        [record] = patient_records({"listing": [listing(1)], "chronic_enrolment": rows})
        return holds(m.EnrolledOn("T2D"), record, R)
    assert enrolled(R, None) and enrolled(date(2020, 1, 1), R)
    assert not enrolled(date(2026, 2, 1), None) and not enrolled(date(2020, 1, 1), date(2026, 1, 30))


def test_practice_results_sum_patients_and_include_practices_without_any():
    tables = {
        "practice_period": [{"ydernummer": y} for y in ("000001", "000002", "000003")],
        "listing": [listing(1), listing(2), listing(3, "000002"), listing(4, "000002", death=date(2026, 1, 1))],
        "prescription": [prescription(1, date(2025, 5, 1), "J01CE02"), prescription(1, date(2025, 6, 1), "J01CA04"),
                         prescription(3, date(2025, 1, 31), "J01CE02"), prescription(4, date(2025, 5, 1), "J01CE02")],
    }
    events = m.Events("prescription", (J01,), LAST_YEAR)
    share = indicator(m.PatientProportion(m.HasEvents(events)))
    assert practice_results(share, tables, R) == {"000001": Totals(1, 2), "000002": Totals(0, 1),
                                                  "000003": Totals(0, 0)}
    rate = indicator(m.EventRate(events))
    results = practice_results(rate, tables, R)
    assert results["000001"] == Totals(2, 2)
    assert value(rate, results["000001"]) == 1000.0
    half_year = indicator(m.EventRate(m.Events("prescription", (J01,), m.Window(m.Duration(6, "months")))))
    assert value(half_year, Totals(1, 4)) == 500.0
    assert value(share, Totals(0, 0)) is None


def test_exclusions_remove_patients_from_the_denominator():
    tables = {"listing": [listing(1), listing(2)],
              "prescription": [prescription(2, date(2025, 5, 1), "J01CE02")]}
    events = m.Events("prescription", (J01,), LAST_YEAR)
    share = indicator(m.PatientProportion(m.SexIs("F")), exclusions=m.HasEvents(events))
    outcomes = {o.patient_key: (o.denominator, o.numerator) for o in patient_outcomes(share, tables, R)}
    assert outcomes == {1: (1, 1), 2: (0, 0)}


def test_survey_means_sum_scores_and_skip_empty_items():
    tables = {"survey_response": [
        {"ydernummer": "000001", "answered_date": date(2025, 4, 1), "item_01": 5, "item_02": None},
        {"ydernummer": "000001", "answered_date": date(2025, 9, 1), "item_01": 3, "item_02": 4},
        {"ydernummer": "000001", "answered_date": date(2025, 1, 31), "item_01": 1, "item_02": 1},
    ]}
    mean = indicator(m.SurveyMean(("item_01", "item_02"), LAST_YEAR), population=None)
    totals = practice_results(mean, tables, R)["000001"]
    assert totals == Totals(12, 3) and value(mean, totals) == 4.0

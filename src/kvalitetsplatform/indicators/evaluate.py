"""A plain-Python evaluator of the query model over warehouse-shaped rows: the oracle.

Deliberately straightforward (loops over rows, no engine): it is the independent reference that the Ibis engine is
checked against, and it runs the packages' test patients (`kp packages test`). Input is a dict of warehouse tables,
each a list of row dicts (`listing`, `diagnosis`, `lab_result`, …, `survey_response`), as `testpatients.
warehouse_tables` makes them. The semantics it implements are stated in `model`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kvalitetsplatform.indicators import model as m


@dataclass(frozen=True)
class Totals:
    numerator: float = 0
    denominator: float = 0

    def __add__(self, other: "Totals") -> "Totals":
        return Totals(self.numerator + other.numerator, self.denominator + other.denominator)


@dataclass(frozen=True)
class PatientOutcome:
    """One listed patient's part in an indicator at one practice: what a worklist shows."""

    patient_key: int
    ydernummer: str
    denominator: float  # 1/0 for patient counts, else the number of events
    numerator: float
    fact: dict[str, Any] | None  # the latest deciding row: {"date", "code", "value", "text"}; None if none


@dataclass
class PatientRecord:
    key: int
    birth_date: date
    sex: str
    death_date: date | None
    listings: list[tuple[str, date, date | None]]
    rows: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))

    def listed_at(self, reference_date: date) -> list[str]:
        """Practices the patient is listed with, alive, on the reference date."""
        if self.death_date is not None and self.death_date <= reference_date:
            return []
        return sorted({p for p, start, end in self.listings
                       if start <= reference_date and (end is None or end >= reference_date)})


def patient_records(tables: dict[str, list[dict]]) -> list[PatientRecord]:
    """Group the rows by patient; birth date and sex from the newest listing, the death date if any listing has one
    (as the warehouse's `patient` view does)."""
    by_key: dict[int, list[dict]] = defaultdict(list)
    for row in tables.get("listing", []):
        by_key[row["patient_key"]].append(row)
    records = {}
    for key, listings in by_key.items():
        newest = max(listings, key=lambda r: r["list_start"])
        deaths = [r["death_date"] for r in listings if r.get("death_date")]
        records[key] = PatientRecord(key, newest["birth_date"], newest["sex"], max(deaths) if deaths else None,
                                     [(r["ydernummer"], r["list_start"], r.get("list_end")) for r in listings])
    for table in (*m.EVENT_TABLES, "chronic_enrolment"):
        for row in tables.get(table, []):
            if row["patient_key"] in records:
                records[row["patient_key"]].rows[table].append(row)
    return list(records.values())


# --- criteria ------------------------------------------------------------------------------------------------------


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def select(events: m.Events, record: PatientRecord, reference_date: date) -> list[dict]:
    source = events.source
    found = []
    for row in record.rows.get(events.table, []):
        day = row[source.day]
        if day is None or not events.window.contains(_day(day), reference_date):
            continue
        if events.codelists:
            system = row[source.system] if source.system else None
            if not any(c.matches(row[source.code], system) for c in events.codelists):
                continue
        if not all(row.get(flag) is True for flag in events.require):
            continue
        found.append(row)
    return found


def _latest(rows: list[dict], source: m.EventTable, column: str | None) -> dict | None:
    """The newest row; at the same time the highest value in `column` wins (empty values lowest)."""
    if not rows:
        return None
    return max(rows, key=lambda r: (r[source.time], r.get(column) is not None if column else True,
                                    r.get(column) if column and r.get(column) is not None else 0))


def holds(criterion: m.Criterion, record: PatientRecord, reference_date: date) -> bool:
    match criterion:
        case m.AllOf(parts):
            return all(holds(p, record, reference_date) for p in parts)
        case m.AnyOf(parts):
            return any(holds(p, record, reference_date) for p in parts)
        case m.Not(part):
            return not holds(part, record, reference_date)
        case m.AgeRange(minimum, maximum):
            age = age_on(record.birth_date, reference_date)
            return (minimum is None or age >= minimum) and (maximum is None or age <= maximum)
        case m.SexIs(sex):
            return record.sex == sex
        case m.EnrolledOn(condition):
            return any(r["condition"] == condition and r["start_date"] <= reference_date
                       and (r.get("end_date") is None or r["end_date"] >= reference_date)
                       for r in record.rows.get("chronic_enrolment", []))
        case m.HasEvents(events, at_least):
            return len(select(events, record, reference_date)) >= at_least
        case m.HasDistinctCodes(events, at_least):
            rows = select(events, record, reference_date)
            return len({r[events.source.code] for r in rows}) >= at_least
        case m.LatestValue(events, test):
            source = events.source
            column = source.value if isinstance(test, m.NumberTest) else source.text
            rows = [r for r in select(events, record, reference_date) if r.get(column) is not None]
            latest = _latest(rows, source, column)
            return latest is not None and test.holds(latest[column])
    raise TypeError(f"unknown criterion {criterion!r}")


def fact(events: m.Events, record: PatientRecord, reference_date: date) -> dict[str, Any] | None:
    """The newest row; at the same time one with a number first and the highest number, then likewise the text,
    then the lowest code and row id (the engine's rule, so a worklist never depends on row order)."""
    source = events.source
    rows = select(events, record, reference_date)
    if not rows:
        return None

    def rank(r: dict) -> tuple:
        value = r.get(source.value) if source.value else None
        text = r.get(source.text) if source.text else None
        return (r[source.time], value is not None, value if value is not None else 0, text is not None, text or "")

    best = max(rank(r) for r in rows)
    latest = min((r for r in rows if rank(r) == best), key=lambda r: (r[source.code], r.get("row_id") or 0))
    return {"date": _day(latest[source.day]), "code": latest[source.code],
            "value": latest.get(source.value) if source.value else None,
            "text": latest.get(source.text) if source.text else None}


# --- indicators ----------------------------------------------------------------------------------------------------


def patient_outcome(indicator: m.Indicator, record: PatientRecord, reference_date: date,
                    practice: str) -> PatientOutcome:
    """The patient's numerator and denominator at `practice` on the reference date (zero when not in the
    population there)."""
    measure = indicator.measure
    if isinstance(measure, m.SurveyMean):
        raise TypeError(f"{indicator.id} is a survey indicator; it has no patients")
    in_population = (practice in record.listed_at(reference_date)
                     and holds(indicator.population, record, reference_date)
                     and not (indicator.exclusions is not None and holds(indicator.exclusions, record, reference_date)))
    the_fact = fact(indicator.fact, record, reference_date) if indicator.fact is not None else None
    if not in_population:
        return PatientOutcome(record.key, practice, 0, 0, the_fact)
    if isinstance(measure, m.PatientProportion):
        numerator, denominator = int(holds(measure.numerator, record, reference_date)), 1
    elif isinstance(measure, m.EventRate):
        numerator, denominator = len(select(measure.events, record, reference_date)), 1
    else:
        numerator = len(select(measure.numerator, record, reference_date))
        denominator = len(select(measure.denominator, record, reference_date))
    return PatientOutcome(record.key, practice, denominator, numerator, the_fact)


def patient_outcomes(indicator: m.Indicator, tables: dict[str, list[dict]], reference_date: date
                     ) -> list[PatientOutcome]:
    """Every listed patient's outcome at each practice they are listed with on the reference date."""
    return [patient_outcome(indicator, record, reference_date, practice)
            for record in patient_records(tables) for practice in record.listed_at(reference_date)]


def practice_results(indicator: m.Indicator, tables: dict[str, list[dict]], reference_date: date
                     ) -> dict[str, Totals]:
    """Numerator and denominator per practice, every practice in `practice_period` included (zero-filled)."""
    results = {row["ydernummer"]: Totals() for row in tables.get("practice_period", [])}
    measure = indicator.measure
    if isinstance(measure, m.SurveyMean):
        for row in tables.get("survey_response", []):
            if not measure.window.contains(row["answered_date"], reference_date):
                continue
            scores = [row[item] for item in measure.items if row.get(item) is not None]
            results[row["ydernummer"]] = results.get(row["ydernummer"], Totals()) + Totals(sum(scores), len(scores))
        return results
    for outcome in patient_outcomes(indicator, tables, reference_date):
        results[outcome.ydernummer] = results.get(outcome.ydernummer, Totals()) + Totals(outcome.numerator,
                                                                                         outcome.denominator)
    return results


def value(indicator: m.Indicator, totals: Totals) -> float | None:
    """The indicator's figure from summed totals: a fraction, events per `per` per year, or a mean score."""
    if not totals.denominator:
        return None
    ratio = totals.numerator / totals.denominator
    if isinstance(indicator.measure, m.EventRate):
        return ratio * indicator.measure.per * indicator.measure.per_year
    return ratio

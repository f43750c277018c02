"""Spec cases for the engine: tiny hand-built warehouses, one indicator each, and the outcome written by hand.

A `Spec` is one statement about the semantics ("a prescription exactly 12 months before the reference date is
outside 'within 12 months'"). Its patients are built with the helpers below in warehouse shape. All specs of a
test module are loaded into one warehouse per engine (patients and practices renumbered so they never meet) and
evaluated together — a Spark query costs seconds, so one evaluation per module, not per spec — and each test then
checks its own spec's rows. Every spec is also run through the plain-Python oracle (`indicators.evaluate`), so a
wrong hand-written expectation cannot hide an engine bug or the other way round.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import ibis

from kvalitetsplatform.compute.rows import load_rows
from kvalitetsplatform.indicators import evaluate
from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.engine import Evaluation

PRACTICE = "000001"
OTHER_PRACTICE = "000002"

# --- codelists ---------------------------------------------------------------------------------------------------


def codes(ref: str, system: str, *values: str, match: str = "exact", exclude: tuple[str, ...] = ()) -> m.Codelist:
    return m.Codelist(ref, ref, match, tuple(m.Code(system, v) for v in values),
                      tuple(m.Code(system, v) for v in exclude))


IHD = codes("icpc2dk/ihd", "ICPC2DK", "K74", "K75", "K76")
LDL = codes("npu/ldl", "NPU", "NPU01568")
HBA1C = codes("npu/hba1c", "NPU", "NPU27300")
STATINS = codes("atc/statins", "ATC", "C10AA", match="prefix")
ANTIBIOTICS = codes("atc/antibiotics", "ATC", "J01", match="prefix")
PENICILLIN_V = codes("atc/penicillin_v", "ATC", "J01CE02")
ANTIPSYCHOTICS = codes("atc/antipsychotics", "ATC", "N05A", match="prefix", exclude=("N05AN",))
SMOKING = codes("kp/smoking", "KP", "RYGESTATUS")
ANNUAL_REVIEW = codes("ydelseskode/annual", "ydelseskode", "0120")
COPD_ADMISSION = codes("sks/copd", "SKS", "DJ44", match="prefix")


def window(months: int | None = None, *, until: int = 0, unit: str = "months") -> m.Window:
    start = m.Duration(months, unit) if months is not None else None
    return m.Window(start, m.Duration(until, unit) if until else m.ZERO)


def events(table: str, codelist: m.Codelist | None, within: m.Window, require: tuple[str, ...] = ()) -> m.Events:
    return m.Events(table, (codelist,) if codelist else (), within, require)


def proportion(numerator: m.Criterion, population: m.Criterion = m.EVERYONE, *, exclusions: m.Criterion | None = None,
               fact: m.Events | None = None, name: str = "SPEC-1") -> m.Indicator:
    return m.Indicator(name, m.Text(name, name), m.Text("", ""), "higher_is_better", None, population, exclusions,
                       m.PatientProportion(numerator), fact)


def measure_indicator(measure: m.Measure, population: m.Criterion | None = m.EVERYONE, *,
                      exclusions: m.Criterion | None = None, name: str = "SPEC-2") -> m.Indicator:
    return m.Indicator(name, m.Text(name, name), m.Text("", ""), "none", None, population, exclusions, measure, None)


# --- rows --------------------------------------------------------------------------------------------------------

_ids = iter(range(1, 10**9))


def _at(day: date, at: time | None) -> datetime:
    return datetime.combine(day, at or time(8, 0))


def dx(code: str, day: date, system: str = "ICPC2DK") -> tuple[str, dict]:
    return "diagnosis", {"diagnosis_id": f"D{next(_ids)}", "code_system": system, "code": code, "recorded_date": day,
                         "source": "lps", "status": "active"}


def lab(code: str, day: date, value: float | None = None, *, text: str | None = None, at: time | None = None,
        system: str = "NPU", unit: str | None = "mmol/L", comparator: str | None = None) -> tuple[str, dict]:
    ts = _at(day, at)
    return "lab_result", {"lab_id": f"L{next(_ids)}", "code_system": system, "code": code, "value_num": value,
                          "value_text": text, "unit": unit, "comparator": comparator, "sampled_ts": ts,
                          "sampled_date": ts.date()}


def meas(code: str, day: date, value: float | None = None, *, text: str | None = None, at: time | None = None,
         system: str = "KP", unit: str | None = None) -> tuple[str, dict]:
    ts = _at(day, at)
    return "measurement", {"measurement_id": f"M{next(_ids)}", "code_system": system, "code": code,
                           "value_num": value, "value_text": text, "unit": unit, "measured_ts": ts,
                           "measured_date": ts.date()}


def rx(atc: str, day: date) -> tuple[str, dict]:
    return "prescription", {"prescription_id": f"R{next(_ids)}", "prescribed_date": day, "atc": atc,
                            "drug_name": atc, "n_packs": 1}


def contact(code: str, day: date, at: time | None = None) -> tuple[str, dict]:
    ts = _at(day, at)
    return "contact", {"contact_id": f"C{next(_ids)}", "contact_ts": ts, "contact_date": ts.date(),
                       "ydelseskode": code, "channel": "physical"}


def enrolled(condition: str, start: date, end: date | None = None) -> tuple[str, dict]:
    return "chronic_enrolment", {"enrolment_id": f"E{next(_ids)}", "condition": condition, "start_date": start,
                                 "end_date": end}


def admission(code: str, day: date, acute: bool | None = True) -> tuple[str, dict]:
    return "hospital_admission", {"admission_id": f"H{next(_ids)}", "admitted_date": day, "diagnosis_code": code,
                                  "acute": acute}


def survey(day: date, practice: str = PRACTICE, **items: int | None) -> dict:
    return {"ydernummer": practice, "response_id": f"S{next(_ids)}", "wave": str(day.year), "answered_date": day,
            **items}


@dataclass
class Patient:
    key: int
    born: date
    facts: list[tuple[str, dict]] = field(default_factory=list)
    sex: str = "F"
    # (practice, list_start, list_end) or (practice, list_start, list_end, {column: value on this row only})
    listed: list[tuple] = field(default_factory=lambda: [(PRACTICE, date(2000, 1, 1), None)])
    died: date | None = None
    kommune: str = "751"


@dataclass
class Spec:
    """`expect`: {patient key: (numerator, denominator)} at `practice` on `ref` — a patient not named is outside
    the population there. For survey indicators, {0: (sum of scores, number of scores)}. `fact`: {patient key:
    (date, value or text) or None}."""

    name: str
    indicator: m.Indicator
    ref: date
    patients: list[Patient] = field(default_factory=list)
    expect: dict[int, tuple[float, float]] = field(default_factory=dict)
    practice: str = PRACTICE
    surveys: list[dict] = field(default_factory=list)
    fact: dict[int, tuple[date, Any] | None] | None = None

    def __str__(self) -> str:
        return self.name


def spec_tables(spec: Spec) -> dict[str, list[dict]]:
    """The spec's rows in warehouse shape (its own numbering)."""
    tables: dict[str, list[dict]] = defaultdict(list)
    for p in spec.patients:
        for practice, start, end, *extra in p.listed:
            tables["listing"].append({"ydernummer": practice, "patient_key": p.key, "birth_date": p.born, "sex": p.sex,
                                      "kommune_code": p.kommune, "sikringsgruppe": 1, "list_start": start,
                                      "list_end": end, "death_date": p.died, **(extra[0] if extra else {})})
        first = p.listed[0][0]
        for table, row in p.facts:
            tables[table].append({"ydernummer": first, "patient_key": p.key, **row})
    for row in spec.surveys:
        tables["survey_response"].append(dict(row))
    practices = {spec.practice, *(li[0] for p in spec.patients for li in p.listed),
                 *(s["ydernummer"] for s in spec.surveys)}
    for practice in sorted(practices):
        tables["practice_period"].append({"ydernummer": practice, "valid_from": date(2000, 1, 1), "name": practice,
                                          "region_code": "1082", "kommune_code": "751", "cluster_id": "K1",
                                          "cluster_name": "K1", "practice_type": "solo", "n_gp": 1,
                                          "lps_vendor": "TEST"})
    return tables


def oracle(spec: Spec) -> dict[int, tuple[float, float]]:
    """The plain-Python evaluator's outcome for the spec, in `expect` form."""
    tables = spec_tables(spec)
    if isinstance(spec.indicator.measure, m.SurveyMean):
        totals = evaluate.practice_results(spec.indicator, tables, spec.ref).get(spec.practice)
        return {0: (totals.numerator, totals.denominator)} if totals and totals.denominator else {}
    return {o.patient_key: (o.numerator, o.denominator)
            for o in evaluate.patient_outcomes(spec.indicator, tables, spec.ref)
            if o.ydernummer == spec.practice and (o.numerator or o.denominator or _in_population(spec, o))}


def _in_population(spec: Spec, outcome: evaluate.PatientOutcome) -> bool:
    record = next(r for r in evaluate.patient_records(spec_tables(spec)) if r.key == outcome.patient_key)
    ind = spec.indicator
    return (evaluate.holds(ind.population, record, spec.ref)
            and not (ind.exclusions is not None and evaluate.holds(ind.exclusions, record, spec.ref)))


# --- a module's specs evaluated on one engine ----------------------------------------------------------------------


def _renumber(specs: list[Spec]) -> tuple[dict[str, list[dict]], dict[str, dict[str, str]]]:
    """All specs' rows in one warehouse: patient keys offset by 1000 per spec, practices renamed per spec."""
    merged: dict[str, list[dict]] = defaultdict(list)
    practice_names: dict[str, dict[str, str]] = {}
    for i, spec in enumerate(specs):
        names: dict[str, str] = {}

        def rename(practice: str) -> str:
            return names.setdefault(practice, f"{i + 1:03d}{len(names) + 1:03d}")

        rename(spec.practice)
        for table, rows in spec_tables(spec).items():
            for row in rows:
                row = dict(row)
                if "patient_key" in row:
                    row["patient_key"] += 1000 * (i + 1)
                row["ydernummer"] = rename(row["ydernummer"])
                merged[table].append(row)
        practice_names[spec.name] = names
    return merged, practice_names


@dataclass
class Outcome:
    """One spec's rows from one engine: patient flags (or survey totals) and the practice's cells."""

    flags: list[dict]
    cells: list[dict]

    def expect_form(self, spec: Spec) -> dict[int, tuple[float, float]]:
        if isinstance(spec.indicator.measure, m.SurveyMean):
            return {0: (r["numerator"], r["denominator"]) for r in self.flags}
        return {r["patient_key"]: (r["numerator"], r["denominator"]) for r in self.flags}

    def facts(self) -> dict[int, tuple[date, Any] | None]:
        return {r["patient_key"]: None if r["fact_date"] is None else
                (r["fact_date"], r["fact_value"] if r["fact_value"] is not None else r["fact_text"])
                for r in self.flags}

    def cell_totals(self) -> tuple[float, float]:
        return (sum(c["numerator"] for c in self.cells), sum(c["denominator"] for c in self.cells))


def evaluate_specs(con: Any, specs: list[Spec], prefix: str) -> dict[str, Outcome]:
    """Load the specs into `con` (tables named with `prefix`) and evaluate them all together."""
    merged, names = _renumber(specs)
    wh = load_rows(con, merged, prefix=prefix)
    refs = sorted({s.ref for s in specs})
    out: dict[str, Outcome] = {}
    with Evaluation(wh, refs, [s.indicator for s in specs]) as ev:
        flag_parts, cell_parts = [], []
        for i, spec in enumerate(specs):
            practice = names[spec.name][spec.practice]
            tag = ibis.literal(spec.name)
            if isinstance(spec.indicator.measure, m.SurveyMean):
                rows = ev.survey(spec.indicator)
                rows = rows.filter(rows.ydernummer == practice, rows.ref_date == spec.ref)
                flag_parts.append(rows.select(spec=tag, patient_key=ibis.literal(0, "int64"),
                                              numerator=rows.numerator.cast("float64"),
                                              denominator=rows.denominator.cast("float64"),
                                              fact_date=ibis.null("date"), fact_value=ibis.null("float64"),
                                              fact_text=ibis.null("string")))
            else:
                rows = ev.patients(spec.indicator)
                rows = rows.filter(rows.ydernummer == practice, rows.ref_date == spec.ref)
                flag_parts.append(rows.select(spec=tag, patient_key=rows.patient_key - 1000 * (i + 1),
                                              numerator=rows.numerator.cast("float64"),
                                              denominator=rows.denominator.cast("float64"),
                                              fact_date=rows.fact_date, fact_value=rows.fact_value,
                                              fact_text=rows.fact_text))
            cells = ev.cells(spec.indicator)
            cells = cells.filter(cells.ydernummer == practice, cells.ref_date == spec.ref)
            cell_parts.append(cells.select(spec=tag, numerator=cells.numerator, denominator=cells.denominator,
                                           age_band=cells.age_band, sex=cells.sex))
        flags = sorted(ibis.union(*flag_parts).to_pyarrow().to_pylist(), key=lambda r: (r["spec"], r["patient_key"]))
        cells = sorted(ibis.union(*cell_parts).to_pyarrow().to_pylist(),
                       key=lambda c: (c["spec"], c["age_band"] or "", c["sex"] or ""))
    for spec in specs:
        out[spec.name] = Outcome([r for r in flags if r["spec"] == spec.name],
                                 [c for c in cells if c["spec"] == spec.name])
    return out


def check(spec: Spec, outcome: Outcome) -> None:
    """The engine's outcome equals the hand-written one and the oracle's; the cells add up to the same totals."""
    got = outcome.expect_form(spec)
    assert got == spec.expect, f"{spec.name}: motoren gav {got}, forventet {spec.expect}"
    assert oracle(spec) == spec.expect, f"{spec.name}: oraklet gav {oracle(spec)}, forventet {spec.expect}"
    totals = (sum(n for n, _ in spec.expect.values()), sum(d for _, d in spec.expect.values()))
    assert outcome.cell_totals() == totals, f"{spec.name}: cellerne summer til {outcome.cell_totals()}"
    if spec.fact is not None:
        assert outcome.facts() == spec.fact, f"{spec.name}: afgørende oplysning {outcome.facts()}"

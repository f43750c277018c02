"""Test patients: small records in contract terms with the outcome each indicator must give (like ehrQL's assure).

A test case in a package file:

    - name: LDL exactly on the threshold does not count
      reference_date: 2026-01-31
      patient:
        age: 67                       # or birth_date; age n means born n years and 6 months before the reference date
        sex: M                        # default F
        listed: [{practice: "000001", from: 2010-01-01, to: 2025-06-30}]   # default: 000001 since birth
        died: 2025-12-01
        diagnoses:     [{code: K75, date: 2021-04-02}]            # ICPC2DK or SKS, told apart by the terminology
        labs:          [{code: NPU01568, value: 1.8, date: 2025-11-03}]
        measurements:  [{code: RYGESTATUS, text: dagligryger, date: 2025-11-03}]
        prescriptions: [{atc: C10AA05, date: 2025-01-30}]
        contacts:      [{ydelseskode: "0120", date: 2025-06-01}]
        enrolments:    [{condition: T2D, from: 2022-02-01, to: 2025-12-31}]
        admissions:    [{code: DJ441, date: 2025-03-02, acute: true}]
      expect:
        IHD-3: {denominator: true, numerator: false, fact: {date: 2025-11-03, value: 1.8}}
        AB-1: {denominator: true, numerator: 2}           # a rate: the number of events counted

A survey case gives `survey: [{answered: 2025-04-22, item_01: 5, all_items: 4}, …]` instead of a patient, and expects
{numerator: sum of scores, denominator: number of scores}.

`contract_deliveries` turns a case into one delivery per practice in contract shape (what a practice system would
send), and `warehouse_tables` into the warehouse's shape (what ingestion makes of them): the compiler's spec tests
load the first, the plain-Python evaluator reads the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.source import ANY_KEY, Node, PackageError, Reader
from kvalitetsplatform.terminology import code_system

DEFAULT_PRACTICE = "000001"
DEFAULT_TIME = time(8, 0)
CASE_FIELDS = ("name", "reference_date", "practice", "patient", "survey", "expect")
PATIENT_FIELDS = ("age", "birth_date", "sex", "listed", "died", "diagnoses", "labs", "measurements",
                  "prescriptions", "contacts", "enrolments", "admissions")
SURVEY_ITEMS = tuple(f.name for f in TABLES["survey_response"].fields if f.name.startswith("item_"))


@dataclass(frozen=True)
class Listing:
    practice: str
    start: date
    end: date | None


@dataclass(frozen=True)
class TestPatient:
    __test__ = False  # not a pytest test class

    birth_date: date
    sex: str
    death_date: date | None
    listings: tuple[Listing, ...]
    facts: dict[str, tuple[dict[str, Any], ...]]  # contract table → rows in contract shape (without cpr)


@dataclass(frozen=True)
class Expectation:
    numerator: float  # patients (0/1), events, or the sum of survey scores
    denominator: float
    fact: dict[str, Any] | None = None  # {"date": …, "value"/"text": …}, {} = no fact, None = not checked
    line: int = 0


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class

    name: str
    line: int
    reference_date: date
    practice: str  # whose figures the expectations are about
    patient: TestPatient | None
    survey: tuple[dict[str, Any], ...]
    expect: dict[str, Expectation]


# --- reading -----------------------------------------------------------------------------------------------------


def read_tests(r: Reader, node: Node, package: m.Package, indicator_nodes: dict[str, Node],
               broken: set[str] = frozenset()) -> tuple[TestCase, ...]:
    """The test cases; expectations for `broken` indicators (whose errors are already reported) are skipped."""
    cases = []
    for i, item in enumerate(r.attempt(r.sequence, node, "tests") or []):
        case = r.attempt(_case, r, item, f"tests[{i}]", package, i, broken)
        if case is not None:
            cases.append(case)
    if not r.errors:  # coverage is judged on a package without other mistakes (they would hide cases)
        _check_coverage(r, package, cases, indicator_nodes)
    return tuple(cases)


def _case(r: Reader, node: Node, field: str, package: m.Package, number: int, broken: set[str]) -> TestCase:
    c = r.mapping(node, field, CASE_FIELDS, ("name", "reference_date", "expect"))
    name = r.text(c["name"], f"{field}.name")
    field = f"tests[{name}]"
    reference_date = r.date(c["reference_date"], f"{field}.reference_date")
    if ("patient" in c) == ("survey" in c):
        r.fail(node, field, "et testtilfælde har enten 'patient' eller 'survey'")
    patient = _patient(r, c["patient"], f"{field}.patient", reference_date, number) if "patient" in c else None
    survey = _survey(r, c["survey"], f"{field}.survey", number) if "survey" in c else ()
    if "practice" in c:
        practice = _ydernummer(r, c["practice"], f"{field}.practice")
    elif patient is not None:
        listed = [li for li in patient.listings if li.start <= reference_date and (li.end is None or
                                                                                     li.end >= reference_date)]
        practice = (listed or patient.listings)[0].practice
    else:
        practice = DEFAULT_PRACTICE
    expect = {}
    expected = r.mapping(c["expect"], f"{field}.expect", ANY_KEY)
    for indicator_id, e_node in expected.items():
        where = f"{field}.expect.{indicator_id}"
        if indicator_id in broken:
            continue
        try:
            indicator = package.indicator(indicator_id)
        except KeyError:
            r.fail(e_node, where, f"pakken har ingen indikator {indicator_id}; den har "
                                  f"{', '.join(i.id for i in package.indicators)}")
        if (indicator.kind == "mean") != (patient is None):
            r.fail(e_node, where, f"{indicator_id} er kind: {indicator.kind}; den testes med "
                                  f"{'survey' if indicator.kind == 'mean' else 'patient'}")
        expect[indicator_id] = _expectation(r, e_node, where, indicator)
    if not expected:
        r.fail(c["expect"], f"{field}.expect", "testtilfældet forventer ingenting")
    return TestCase(name, node.line, reference_date, practice, patient, survey, expect)


def _expectation(r: Reader, node: Node, field: str, indicator: m.Indicator) -> Expectation:
    e = r.mapping(node, field, ("denominator", "numerator", "fact"), ("denominator", "numerator"))
    measure = indicator.measure
    fact = None
    if "fact" in e:
        if indicator.fact is None:
            r.fail(e["fact"], f"{field}.fact", f"{indicator.id} har ingen afgørende oplysning ('fact')")
        if e["fact"].value is None:
            fact = {}
        else:
            f = r.mapping(e["fact"], f"{field}.fact", ("date", "value", "text"), ("date",))
            fact = {"date": r.date(f["date"], f"{field}.fact.date")}
            if "value" in f:
                fact["value"] = r.number(f["value"], f"{field}.fact.value")
            if "text" in f:
                fact["text"] = r.text(f["text"], f"{field}.fact.text")
    if isinstance(measure, m.PatientProportion):
        den = r.boolean(e["denominator"], f"{field}.denominator")
        num = r.boolean(e["numerator"], f"{field}.numerator")
    elif isinstance(measure, m.EventRate):
        den = r.boolean(e["denominator"], f"{field}.denominator")
        num = r.integer(e["numerator"], f"{field}.numerator", minimum=0)
    elif isinstance(measure, m.EventProportion):
        den = r.integer(e["denominator"], f"{field}.denominator", minimum=0)
        num = r.integer(e["numerator"], f"{field}.numerator", minimum=0)
    else:
        den = r.integer(e["denominator"], f"{field}.denominator", minimum=0)
        num = r.integer(e["numerator"], f"{field}.numerator", minimum=0)
    if num and not den:
        r.fail(node, field, "tælleren er en delmængde af nævneren: uden for nævneren kan tælleren ikke være "
                            f"{e['numerator'].value}")
    if isinstance(measure, m.EventProportion) and num > den:
        r.fail(node, field, f"tælleren ({num}) kan ikke være større end nævneren ({den})")
    return Expectation(float(num), float(den), fact, node.line)


def _ydernummer(r: Reader, node: Node, field: str) -> str:
    value = r.text(node, field)
    if not (len(value) == 6 and value.isdigit()):
        r.fail(node, field, f"et ydernummer er 6 cifre i anførselstegn (fx \"000001\"), fik '{value}'")
    return value


def _patient(r: Reader, node: Node, field: str, reference_date: date, number: int) -> TestPatient:
    p = r.mapping(node, field, PATIENT_FIELDS)
    if ("age" in p) == ("birth_date" in p):
        r.fail(node, field, "angiv enten 'age' eller 'birth_date'")
    if "age" in p:
        age = r.integer(p["age"], f"{field}.age", minimum=0)
        birth_date = m.Duration(12 * age + 6, "months").before(reference_date)
    else:
        birth_date = r.date(p["birth_date"], f"{field}.birth_date")
    sex = r.choice(p["sex"], f"{field}.sex", ("F", "M")) if "sex" in p else "F"
    death_date = r.date(p["died"], f"{field}.died") if "died" in p else None
    listings = []
    if "listed" in p:
        for i, item in enumerate(r.sequence(p["listed"], f"{field}.listed")):
            where = f"{field}.listed[{i}]"
            li = r.mapping(item, where, ("practice", "from", "to"), ("practice", "from"))
            listing = Listing(_ydernummer(r, li["practice"], f"{where}.practice"), r.date(li["from"], f"{where}.from"),
                              r.date(li["to"], f"{where}.to") if "to" in li else None)
            if listing.end is not None and listing.end < listing.start:
                r.fail(item, where, "'to' ligger før 'from'")
            listings.append(listing)
        if not listings:
            r.fail(p["listed"], f"{field}.listed", "patienten skal have mindst én tilmelding")
    else:
        listings.append(Listing(DEFAULT_PRACTICE, birth_date, None))
    facts = {}
    counter = _Ids(number)
    for key, (table, read_row) in _FACT_READERS.items():
        if key in p:
            rows = [read_row(r, item, f"{field}.{key}[{i}]", counter)
                    for i, item in enumerate(r.sequence(p[key], f"{field}.{key}"))]
            facts[table] = tuple(_contract_row(table, row) for row in rows)
    return TestPatient(birth_date, sex, death_date, tuple(listings), facts)


class _Ids:
    """Row identifiers unique across a package's test cases."""

    def __init__(self, case_number: int):
        self.case = case_number
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}T{self.case:03d}{self.n:04d}"


def _contract_row(table: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f.name: values.get(f.name) for f in TABLES[table].fields if not f.identifies_person}


def _system_of(r: Reader, node: Node, field: str, code: str, table: str, column: str) -> str:
    """The code system a code belongs to among those the table may hold."""
    columns = TABLES[table].columns
    systems = columns[column].choices if column == "code_system" else (columns[column].code_system,)
    found = [s for s in systems if code in code_system(s)]
    if not found:
        r.fail(node, field, f"koden {code} findes ikke i {'/'.join(systems)}")
    return found[0]


def _when(r: Reader, node: Node, field: str) -> datetime:
    text = r.text(node, field)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), DEFAULT_TIME)
        return datetime.fromisoformat(text)
    except ValueError:
        r.fail(node, field, f"forventede en dato ÅÅÅÅ-MM-DD eller et tidspunkt ÅÅÅÅ-MM-DDTTT:MM, fik '{text}'")


def _value(r: Reader, f: dict[str, Node], field: str, system: str, code: str) -> dict[str, Any]:
    concept = code_system(system)[code]
    if ("value" in f) == ("text" in f):
        r.fail(f.get("value") or f["code"], field, "angiv enten 'value' (et tal) eller 'text'")
    if "value" in f:
        if concept.allowed_values:
            r.fail(f["value"], f"{field}.value", f"{code} har tekstværdier ({', '.join(concept.allowed_values)}); "
                                                 "brug 'text'")
        value = r.number(f["value"], f"{field}.value")
        low, high = concept.plausible_range
        if (low is not None and value < low) or (high is not None and value > high):
            r.fail(f["value"], f"{field}.value", f"{value:g} {concept.unit or ''} er ikke en mulig værdi for {code} "
                                                 f"({low:g}–{high:g})")
        return {"value_num": value, "unit": concept.unit}
    text = r.text(f["text"], f"{field}.text")
    if not concept.allowed_values or text not in concept.allowed_values:
        r.fail(f["text"], f"{field}.text", f"'{text}' er ikke en mulig værdi for {code}; mulige: "
                                           f"{', '.join(concept.allowed_values) or 'kun tal'}")
    return {"value_text": text}


def _diagnosis(r: Reader, node: Node, field: str, ids: _Ids) -> dict:
    f = r.mapping(node, field, ("code", "date"), ("code", "date"))
    code = r.text(f["code"], f"{field}.code")
    system = _system_of(r, f["code"], f"{field}.code", code, "diagnosis", "code_system")
    return {"diagnosis_id": ids("D"), "code_system": system, "code": code, "text": code_system(system).label(code),
            "recorded_date": r.date(f["date"], f"{field}.date"), "status": "active",
            "source": "lps" if system == "ICPC2DK" else "discharge_letter"}


def _lab(r: Reader, node: Node, field: str, ids: _Ids) -> dict:
    f = r.mapping(node, field, ("code", "value", "text", "date"), ("code", "date"))
    code = r.text(f["code"], f"{field}.code")
    system = _system_of(r, f["code"], f"{field}.code", code, "lab_result", "code_system")
    return {"lab_id": ids("L"), "code_system": system, "code": code, "sampled_ts": _when(r, f["date"], f"{field}.date"),
            **_value(r, f, field, system, code)}


def _measurement(r: Reader, node: Node, field: str, ids: _Ids) -> dict:
    f = r.mapping(node, field, ("code", "value", "text", "date"), ("code", "date"))
    code = r.text(f["code"], f"{field}.code")
    system = _system_of(r, f["code"], f"{field}.code", code, "measurement", "code_system")
    return {"measurement_id": ids("M"), "code_system": system, "code": code,
            "measured_ts": _when(r, f["date"], f"{field}.date"), **_value(r, f, field, system, code)}


def _prescription(r: Reader, node: Node, field: str, ids: _Ids) -> dict:
    f = r.mapping(node, field, ("atc", "date"), ("atc", "date"))
    atc = r.text(f["atc"], f"{field}.atc")
    _system_of(r, f["atc"], f"{field}.atc", atc, "prescription", "atc")
    return {"prescription_id": ids("R"), "prescribed_date": r.date(f["date"], f"{field}.date"), "atc": atc,
            "drug_name": code_system("ATC").label(atc), "n_packs": 1}


def _contact(r: Reader, node: Node, field: str, ids: _Ids) -> dict:
    f = r.mapping(node, field, ("ydelseskode", "date"), ("ydelseskode", "date"))
    code = r.text(f["ydelseskode"], f"{field}.ydelseskode")
    _system_of(r, f["ydelseskode"], f"{field}.ydelseskode", code, "contact", "ydelseskode")
    return {"contact_id": ids("C"), "contact_ts": _when(r, f["date"], f"{field}.date"), "ydelseskode": code,
            "channel": code_system("ydelseskode")[code].extra.get("channel") or "physical"}


def _enrolment(r: Reader, node: Node, field: str, ids: _Ids) -> dict:
    f = r.mapping(node, field, ("condition", "from", "to"), ("condition", "from"))
    start = r.date(f["from"], f"{field}.from")
    end = r.date(f["to"], f"{field}.to") if "to" in f else None
    if end is not None and end < start:
        r.fail(node, field, "'to' ligger før 'from'")
    return {"enrolment_id": ids("E"), "start_date": start, "end_date": end,
            "condition": r.choice(f["condition"], f"{field}.condition",
                                  TABLES["chronic_enrolment"].columns["condition"].choices)}


def _admission(r: Reader, node: Node, field: str, ids: _Ids) -> dict:
    f = r.mapping(node, field, ("code", "date", "acute", "discharged"), ("code", "date"))
    code = r.text(f["code"], f"{field}.code")
    _system_of(r, f["code"], f"{field}.code", code, "hospital_admission", "diagnosis_code")
    return {"admission_id": ids("H"), "admitted_date": r.date(f["date"], f"{field}.date"), "diagnosis_code": code,
            "discharged_date": r.date(f["discharged"], f"{field}.discharged") if "discharged" in f else None,
            "acute": r.boolean(f["acute"], f"{field}.acute") if "acute" in f else True}


_FACT_READERS = {
    "diagnoses": ("diagnosis", _diagnosis), "labs": ("lab_result", _lab), "measurements": ("measurement", _measurement),
    "prescriptions": ("prescription", _prescription), "contacts": ("contact", _contact),
    "enrolments": ("chronic_enrolment", _enrolment), "admissions": ("hospital_admission", _admission),
}


def _survey(r: Reader, node: Node, field: str, number: int) -> tuple[dict, ...]:
    rows = []
    ids = _Ids(number)
    for i, item in enumerate(r.sequence(node, field)):
        where = f"{field}[{i}]"
        s = r.mapping(item, where, ("answered", "all_items", *SURVEY_ITEMS), ("answered",))
        answered = r.date(s["answered"], f"{where}.answered")
        scores = {}
        if "all_items" in s:
            score = r.integer(s["all_items"], f"{where}.all_items")
            scores = dict.fromkeys(SURVEY_ITEMS, score)
        for item_name in SURVEY_ITEMS:
            if item_name in s:
                scores[item_name] = None if s[item_name].value is None else r.integer(s[item_name],
                                                                                      f"{where}.{item_name}")
        for item_name, score in scores.items():
            if score is not None and not 1 <= score <= 5:
                r.fail(s.get(item_name, s.get("all_items")), f"{where}.{item_name}",
                       f"en DanPEP-score er 1–5 eller tom, fik {score}")
        rows.append(_contract_row("survey_response", {"response_id": ids("S"), "wave": str(answered.year),
                                                      "answered_date": answered, **scores}))
    return tuple(rows)


def _check_coverage(r: Reader, package: m.Package, cases: list[TestCase], nodes: dict[str, Node]) -> None:
    """Every indicator needs test patients on both sides of its numerator and outside its denominator."""
    for indicator in package.indicators:
        outcomes = [c.expect[indicator.id] for c in cases if indicator.id in c.expect]
        needs = {
            "en patient i tælleren": any(e.numerator > 0 for e in outcomes),
            "en patient i nævneren men ikke i tælleren": any(e.denominator > e.numerator for e in outcomes)
            if isinstance(indicator.measure, (m.PatientProportion, m.EventProportion)) else True,
            "en patient uden for nævneren": any(e.denominator == 0 for e in outcomes)
            if isinstance(indicator.measure, (m.PatientProportion, m.EventRate)) else True,
        }
        if isinstance(indicator.measure, m.SurveyMean):
            needs = {"et besvaret spørgeskema": any(e.denominator > 0 for e in outcomes)}
        missing = [need for need, met in needs.items() if not met]
        if missing and indicator.id in nodes:
            node = nodes[indicator.id]
            r.errors.append(PackageError(r.file, node.line, f"indicators[{indicator.id}]",
                                         f"testpatienterne dækker ikke {indicator.id}: mangler " + "; ".join(missing)))


# --- rows ----------------------------------------------------------------------------------------------------------


def patient_cpr(case: TestCase, number: int = 0) -> str:
    """A CPR-shaped replacement number (letters in the serial part mark it as no real person's)."""
    b = case.patient.birth_date if case.patient else date(2000, 1, 1)
    return f"{b:%d%m%y}T{number % 1000:03d}"


def _practice_for(patient: TestPatient, day: date) -> str:
    """The practice that recorded a fact: where the patient was listed that day, else the nearest listing."""
    for listing in patient.listings:
        if listing.start <= day and (listing.end is None or listing.end >= day):
            return listing.practice
    later = [li for li in patient.listings if li.start > day]
    return (min(later, key=lambda li: li.start) if later else patient.listings[-1]).practice


def contract_deliveries(case: TestCase, number: int = 0) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """One delivery per practice, in contract shape: {ydernummer: {contract table: [rows]}}."""
    deliveries: dict[str, dict[str, list[dict]]] = {}

    def delivery(ydernummer: str) -> dict[str, list[dict]]:
        if ydernummer not in deliveries:
            deliveries[ydernummer] = {
                "practice": [_contract_row("practice", {
                    "ydernummer": ydernummer, "valid_from": date(2000, 1, 1), "name": f"Testpraksis {ydernummer}",
                    "region_code": "1082", "kommune_code": "751", "cluster_id": "K082-T", "cluster_name": "Testklynge",
                    "practice_type": "solo", "n_gp": 1, "lps_vendor": "TEST"})],
                "clinician": [_contract_row("clinician", {"clinician_id": "L01", "initials": "TL", "role": "gp"})],
                "patient": [],
            }
        return deliveries[ydernummer]

    delivery(case.practice)
    patient = case.patient
    if patient is not None:
        cpr = patient_cpr(case, number)
        for listing in patient.listings:
            delivery(listing.practice)["patient"].append({"cpr": cpr, "name": f"Testpatient {number}",
                                                          **_contract_row("patient", {
                "birth_date": patient.birth_date, "sex": patient.sex, "kommune_code": "751", "sikringsgruppe": 1,
                "list_start": listing.start, "list_end": listing.end, "death_date": patient.death_date})})
        for table, rows in patient.facts.items():
            day_field = _day_field(table)
            for row in rows:
                day = row[day_field]
                day = day.date() if isinstance(day, datetime) else day
                delivery(_practice_for(patient, day)).setdefault(table, []).append({"cpr": cpr, **row})
    if case.survey:
        delivery(case.practice)["survey_response"] = [dict(row) for row in case.survey]
    return deliveries


def _day_field(table: str) -> str:
    if table in m.EVENT_TABLES:
        return m.EVENT_TABLES[table].time
    return {"chronic_enrolment": "start_date", "survey_response": "answered_date"}[table]


WAREHOUSE_NAMES = {"patient": "listing", "practice": "practice_period"}


def warehouse_tables(deliveries: dict[str, dict[str, list[dict]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows as the warehouse holds them: `patient` becomes `listing`, CPR and name give way to a numeric
    `patient_key`, every row carries the delivering practice's `ydernummer`, and every `<name>_ts` gets a
    `<name>_date` beside it."""
    keys: dict[str, int] = {}
    tables: dict[str, list[dict]] = {}
    for ydernummer, delivery in deliveries.items():
        for table, rows in delivery.items():
            contract = TABLES[table]
            out = tables.setdefault(WAREHOUSE_NAMES.get(table, table), [])
            for row in rows:
                new: dict[str, Any] = {"ydernummer": ydernummer}
                if contract.per_patient:
                    new["patient_key"] = keys.setdefault(row["cpr"], len(keys) + 1)
                for f in contract.fields:
                    if f.identifies_person:
                        continue
                    new[f.name] = row.get(f.name)
                    if f.type == "timestamp" and f.name.endswith("_ts"):
                        value = row.get(f.name)
                        new[f.name.removesuffix("_ts") + "_date"] = value.date() if value else None
                out.append(new)
    return tables


def check_contract_rows(deliveries: dict[str, dict[str, list[dict]]]) -> list[str]:
    """Rows that break the contract (a required field empty, a value outside its choices); empty when all is well."""
    problems = []
    for ydernummer, delivery in deliveries.items():
        for table, rows in delivery.items():
            for i, row in enumerate(rows):
                for f in TABLES[table].fields:
                    value = row.get(f.name)
                    if f.required and value is None:
                        problems.append(f"{ydernummer}/{table} række {i + 1}: {f.name} mangler")
                    if value is not None and f.choices and str(value) not in f.choices:
                        problems.append(f"{ydernummer}/{table} række {i + 1}: {f.name}={value!r} ikke i "
                                        f"{f.choices}")
    return problems



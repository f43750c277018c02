"""Row checks, generated from the contract and run as SQL over a whole file at once.

Each check is a pair of SQL conditions over the staged file (`applies`: the rows it concerns, the quality report's
denominator; `fails`: the rows that break it) plus a Danish reason a person understands. Checks that quarantine
keep a bad row out of the warehouse; the others are plausibility warnings that only count in the quality report.
The categories follow OHDSI's Data Quality Dashboard (Kahn): completeness, conformance, plausibility.

The staged relation (`chk`, see `staging_sql`) has per contract field `<field>` (typed) and, for CSV, `<field>__raw`
(the text as delivered), `_row` (1-based data row), per-patient columns `_key`, `_kind`, `_birth`, `_death`,
`_listed`, `_cpr_birth`, per code field `<field>__known`, for measured values `_unit`, `_low`, `_high`, `_values`,
and `_clinician_known` where a clinician is referenced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kvalitetsplatform.contract import Field, Table

Category = Literal["completeness", "conformance", "plausibility"]

# Pairs of dates that must come in order (start, end, whether the end may lie after the extract: a planned end).
ORDERED_DATES: tuple[tuple[str, str, str, bool], ...] = (
    ("practice", "valid_from", "valid_to", True),
    ("patient", "list_start", "list_end", True),
    ("chronic_enrolment", "start_date", "end_date", True),
    ("hospital_admission", "admitted_date", "discharged_date", False),
    ("prescription", "prescribed_date", "redeemed_date", False),
)
MAY_BE_PLANNED = {(t, end) for t, _, end, planned in ORDERED_DATES if planned}
# The patient's own dates: the during-life checks compare other tables' dates with these.
PATIENT_DATES = ("birth_date", "death_date")

TYPE_WORDS = {"int": "et heltal", "float": "et tal (med punktum som decimaltegn)", "date": "en dato (ÅÅÅÅ-MM-DD)",
              "timestamp": "et tidspunkt (ÅÅÅÅ-MM-DDTtt:mm:ss)", "bool": "sand/falsk (true/false)"}
TEXT_PATTERNS = {
    "int": "[+-]?[0-9]+",
    "float": "[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?",
    "date": "[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "timestamp": "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?",
}


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def event_date(table: Table) -> Field | None:
    """The date that places a fact in time: the table's first required date or timestamp."""
    return next((f for f in table.fields if f.type in ("date", "timestamp") and f.required), None)


def measured_value(table: Table) -> bool:
    """Tables whose rows carry a value of a coded analysis (`code`, `value_num`, `unit`)."""
    return all(n in table.columns for n in ("code", "value_num", "unit"))


def code_fields(table: Table) -> list[Field]:
    return [f for f in table.fields if f.code_system]


def key_fields(table: Table) -> list[str]:
    return list(table.key)


@dataclass(frozen=True)
class Check:
    rule: str
    category: Category
    table: str
    field: str | None
    applies: str
    fails: str
    reason: str  # SQL expression giving the Danish reason
    value: str  # SQL expression giving the offending value (never a person's identity)
    quarantine: bool = True
    # When cheaper than testing `fails` row by row: an aggregate counting the failures, and window columns the
    # query collecting the failing rows needs (used by the duplicate check).
    count_failed: str | None = None
    window: str | None = None

    @property
    def name(self) -> str:
        return f"{self.table}.{self.field or '*'}.{self.rule}"


def text_of(f: Field, csv: bool) -> str:
    """SQL for the value as delivered, as text."""
    return f"{q(f.name + '__raw')}" if csv and f.type != "string" else f"CAST({q(f.name)} AS VARCHAR)"


def shown(f: Field, csv: bool) -> str:
    """The value as it may be kept in quarantine: identifying fields are never kept."""
    return "NULL" if f.identifies_person else f"left({text_of(f, csv)}, 200)"


def da_date(expr: str) -> str:
    return f"strftime({expr}, '%d.%m.%Y')"


def da_number(expr: str) -> str:
    return f"replace(CAST({expr} AS VARCHAR), '.', ',')"


def typed_sql(f: Field, source: str, csv: bool) -> str:
    """SQL turning the delivered column into the contract type (CSV: strict text parsing; Parquet: widening)."""
    from kvalitetsplatform.warehouse.schema import SQL_TYPES

    col = q(source)
    if f.type == "string":
        return f"NULLIF({col}, '')" if csv else col
    if not csv:
        return f"CAST({col} AS {SQL_TYPES[f.type]})"
    if f.type == "bool":
        return (f"CASE lower({col}) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'false' THEN false "
                f"WHEN '0' THEN false END")
    return (f"CASE WHEN regexp_full_match({col}, {lit(TEXT_PATTERNS[f.type])}) "
            f"THEN TRY_CAST({col} AS {SQL_TYPES[f.type]}) END")


def checks_for(table: Table, *, csv: bool, ydernummer: str, extract_ts: str, period: tuple[str, str],
               has_clinicians: bool) -> list[Check]:
    """All checks of one table's file. `extract_ts` and `period` are SQL literals of the manifest's values."""
    t = table.name
    out: list[Check] = []
    present = {}  # field → SQL condition "has a usable typed value"
    for f in table.fields:
        col, raw = q(f.name), text_of(f, csv)
        # Text columns are not normalised in staging (that costs a pass over every string): empty text is empty.
        present[f.name] = f"{col} <> ''" if f.type == "string" else f"{col} IS NOT NULL"
        delivered = f"{q(f.name + '__raw')} IS NOT NULL" if csv and f.type != "string" else present[f.name]
        if f.required:
            out.append(Check("required", "completeness", t, f.name, "true", f"NOT coalesce({delivered}, false)",
                             lit("feltet skal udfyldes, men er tomt"), "NULL"))
        if csv and f.type != "string":
            out.append(Check("type", "conformance", t, f.name, delivered, f"{col} IS NULL",
                             f"{lit('værdien ')} || {raw} || {lit(' er ikke ' + TYPE_WORDS[f.type])}",
                             shown(f, csv)))
        if f.choices:
            allowed = ", ".join(lit(c) for c in f.choices)
            out.append(Check("choice", "conformance", t, f.name, present[f.name],
                             f"CAST({col} AS VARCHAR) NOT IN ({allowed})",
                             f"{lit('værdien ')} || {raw} || {lit(' er ikke tilladt; tilladt er ' + ', '.join(f.choices))}",
                             shown(f, csv)))
        if f.pattern and f.name == "cpr":
            # A CPR that identifies a listed patient passed these checks in the patient table.
            out.append(Check("cpr", "conformance", t, f.name, present[f.name],
                             f"NOT _listed AND (NOT regexp_full_match({col}, {lit(f.pattern)}) OR _kind = 'invalid')",
                             lit("ugyldigt CPR-nummer: forventede DDMMÅÅ-NNNN med en gyldig dato eller et "
                                 "erstatningsnummer med bogstaver i de sidste fire tegn"), "NULL"))
        elif f.pattern:
            out.append(Check("pattern", "conformance", t, f.name, present[f.name],
                             f"NOT regexp_full_match({col}, {lit(f.pattern)})",
                             f"{lit('værdien ')} || {raw} || {lit(' har ikke det rette format (' + f.pattern + ')')}",
                             shown(f, csv)))
        if f.code_system:
            system = q("code_system") if f.code_system == "@code_system" else lit(f.code_system)
            out.append(Check("code", "conformance", t, f.name, f"{present[f.name]} AND {system} IS NOT NULL",
                             f"NOT {q(f.name + '__known')}",
                             f"{lit('koden ')} || {raw} || {lit(' findes ikke i kodesystemet ')} || {system}",
                             shown(f, csv)))
        if f.type in ("date", "timestamp") and (t, f.name) not in MAY_BE_PLANNED:
            limit = extract_ts if f.type == "timestamp" else f"CAST({extract_ts} AS DATE)"
            out.append(Check("future", "plausibility", t, f.name, present[f.name], f"{col} > {limit}",
                             f"{lit('datoen ')} || {da_date(col)} || {lit(' ligger efter udtrækstidspunktet ')} "
                             f"|| {da_date(extract_ts)}", shown(f, csv)))
    for name, start, end, _ in ORDERED_DATES:
        if name == t:
            out.append(Check("date_order", "plausibility", t, end, f"{q(start)} IS NOT NULL AND {q(end)} IS NOT NULL",
                             f"{q(end)} < {q(start)}",
                             f"{lit(end + ' (')} || {da_date(q(end))} || {lit(') ligger før ' + start + ' (')} || "
                             f"{da_date(q(start))} || ')'", shown(table.columns[end], csv)))
    if table.per_patient:
        out += _patient_checks(table, csv, present)
    if measured_value(table):
        out += _measured_value_checks(table, csv)
    if t == "practice":
        out.append(Check("ydernummer", "conformance", t, "ydernummer", present["ydernummer"],
                         f"ydernummer <> {lit(ydernummer)}",
                         f"{lit('ydernummeret ')} || ydernummer || {lit(' er ikke leverancens (' + ydernummer + ')')}",
                         "ydernummer"))
    keys = key_fields(table)
    key_sql = ["_key" if k == "cpr" else q(k) for k in keys]  # a CPR counts as the person it identifies
    has_key = " AND ".join("_key IS NOT NULL" if k == "cpr" else present[k] for k in keys)
    out.append(Check("duplicate", "conformance", t, ", ".join(keys), has_key, "_first_row < _row",
                     f"{lit('dublet: samme nøgle (' + ', '.join(keys) + ') som række ')} || _first_row || "
                     f"{lit('; den første er beholdt')}",
                     "NULL" if any(table.columns[k].identifies_person for k in keys)
                     else f"left(concat_ws(', ', {', '.join(f'CAST({q(k)} AS VARCHAR)' for k in keys)}), 200)",
                     count_failed=f"count(*) FILTER (WHERE {has_key}) - "
                                  f"count(DISTINCT ({', '.join(key_sql)})) FILTER (WHERE {has_key})",
                     window=f"min(_row) OVER (PARTITION BY {', '.join(key_sql)}) AS _first_row"))
    event = event_date(table)
    if event is not None and t not in ("patient", "practice"):
        col = q(event.name)
        day = f"CAST({col} AS DATE)"
        out.append(Check("outside_period", "plausibility", t, event.name, present[event.name],
                         f"{day} NOT BETWEEN {period[0]} AND {period[1]}",
                         f"{lit('datoen ')} || {da_date(col)} || {lit(' ligger uden for leverancens periode')}",
                         shown(event, csv), quarantine=False))
    if "clinician_id" in table.columns and t != "clinician" and has_clinicians:
        out.append(Check("unknown_clinician", "conformance", t, "clinician_id", present["clinician_id"],
                         "NOT _clinician_known",
                         f"{lit('behandleren ')} || clinician_id || {lit(' findes ikke i clinician')}",
                         "clinician_id", quarantine=False))
    return out


def _patient_checks(table: Table, csv: bool, present: dict[str, str]) -> list[Check]:
    t = table.name
    out = []
    valid = "cpr IS NOT NULL AND _kind <> 'invalid'"
    if t == "patient":
        out.append(Check("cpr_birth_date", "plausibility", t, "birth_date",
                         f"{valid} AND _kind = 'cpr' AND birth_date IS NOT NULL",
                         "_cpr_birth <> birth_date",
                         lit("fødselsdatoen passer ikke med CPR-nummeret"), "CAST(birth_date AS VARCHAR)",
                         quarantine=False))
        for f in table.fields:
            if f.type == "date" and f.name != "birth_date":
                out.append(Check("before_birth", "plausibility", t, f.name,
                                 f"{present[f.name]} AND birth_date IS NOT NULL", f"{q(f.name)} < birth_date",
                                 f"{lit('datoen ')} || {da_date(q(f.name))} || {lit(' ligger før fødslen (')} || "
                                 f"{da_date('birth_date')} || ')'", shown(f, csv)))
        return out
    out.append(Check("unknown_patient", "conformance", t, "cpr", valid, "NOT _listed",
                     lit("CPR-nummeret findes ikke i leverancens patienttabel"), "NULL"))
    for f in table.fields:
        if f.type not in ("date", "timestamp"):
            continue
        col, day = q(f.name), f"CAST({q(f.name)} AS DATE)"
        out.append(Check("before_birth", "plausibility", t, f.name, f"{present[f.name]} AND _birth IS NOT NULL",
                         f"{day} < _birth",
                         f"{lit('datoen ')} || {da_date(col)} || {lit(' ligger før patientens fødsel (')} || "
                         f"{da_date('_birth')} || ')'", shown(f, csv)))
        out.append(Check("after_death", "plausibility", t, f.name, f"{present[f.name]} AND _death IS NOT NULL",
                         f"{day} > _death",
                         f"{lit('datoen ')} || {da_date(col)} || {lit(' ligger efter patientens død (')} || "
                         f"{da_date('_death')} || ')'", shown(f, csv)))
    return out


def _measured_value_checks(table: Table, csv: bool) -> list[Check]:
    t = table.name
    known = "code__known"
    unit, text = "NULLIF(unit, '')", "NULLIF(value_text, '')"
    unit_ok = f"(_unit IS NULL AND {unit} IS NULL OR {unit} = _unit)"
    return [
        Check("unit", "conformance", t, "unit", f"{known} AND (value_num IS NOT NULL OR {unit} IS NOT NULL)",
              f"NOT {unit_ok}",
              f"CASE WHEN {unit} IS NULL THEN 'enheden mangler; ' || code || ' måles i ' || _unit "
              "WHEN _unit IS NULL THEN 'enheden ' || unit || ' passer ikke: ' || code || ' har ingen enhed' "
              "ELSE 'enheden ' || unit || ' passer ikke til ' || code || ' (forventet ' || _unit || ')' END",
              shown(table.columns["unit"], csv)),
        Check("range", "plausibility", t, "value_num",
              f"{known} AND value_num IS NOT NULL AND {unit_ok} AND (_low IS NOT NULL OR _high IS NOT NULL)",
              "value_num < _low OR value_num > _high OR isnan(value_num) OR isinf(value_num)",
              f"{lit('værdien ')} || {da_number('value_num')} || {lit(' ligger uden for det plausible interval ')} "
              f"|| coalesce({da_number('_low')}, '') || '–' || coalesce({da_number('_high')}, '') || "
              f"coalesce(' ' || _unit, '') || {lit(' for ')} || code", shown(table.columns["value_num"], csv)),
        Check("value_text", "conformance", t, "value_text", f"{known} AND {text} IS NOT NULL AND _values IS NOT NULL",
              "NOT list_contains(_values, value_text)",
              f"{lit('værdien ')} || value_text || {lit(' er ikke tilladt for ')} || code || "
              f"{lit('; tilladt er ')} || array_to_string(_values, ', ')", shown(table.columns["value_text"], csv)),
    ]

"""The query model: a small, closed set of immutable nodes that package files compile to.

Engines (the plain-Python oracle in `evaluate`, and Ibis over the warehouse) interpret exactly these nodes; nothing
about YAML survives here. Semantics, stated once:

Reference date R, practice P.
- A patient is *listed* at P on R when a listing row for P has list_start <= R and (list_end is empty or
  list_end >= R), and the patient is alive on R (death_date is empty or death_date > R: a patient who died on R no
  longer counts).
- An indicator's *population* on (P, R) = listed at P on R AND `population` AND NOT `exclusions`.
- Facts (diagnoses, labs, prescriptions, …) belong to the patient, whichever practice recorded them.
- A `Window` selects event days d with R - start < d <= R - end (start empty = no lower bound). Months are calendar
  months clipped to the month's end: 31.03 - 1 month = 28/29.02. "within 12 months" is (R - 12 months, R], so a
  prescription exactly 12 months before R is outside.
- Age is completed years on R (a patient born 29.02 turns a year older on 01.03 in other years).
- The *latest* row of a selection is the one with the newest time (the `time` column); among rows at the same time
  the highest value wins (numbers for numeric tests, text in code-point order for text tests). Numeric tests look
  only at rows with a number (value_num), text tests only at rows with a text (value_text). A value reported beyond
  a limit ("<0.5", `comparator`) is compared as its number.

Measures (what an indicator counts; numerator and denominator are sums over population patients, or over survey
answers, so practice figures add up to cluster, region and national figures):
- `PatientProportion`: denominator = population patients; numerator = those who also meet `numerator`.
- `EventProportion`: denominator = events in `denominator` of population patients; numerator = events in
  `numerator` (validated to be a subset of the denominator's events).
- `EventRate`: events per `per` population patients per year: numerator = events in `events` of population
  patients, denominator = population patients; rate = numerator / denominator * per * 12 / window months.
- `SurveyMean`: numerator = sum of the scores of `items` in the practice's survey answers in `window`, denominator =
  number of such scores (an empty item, "cannot judge", is not a score).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from kvalitetsplatform.contract import TABLES

# --- time --------------------------------------------------------------------------------------------------------

DurationUnit = Literal["days", "weeks", "months", "years"]


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: DurationUnit

    def before(self, day: date) -> date:
        """`day` minus this duration; months and years are calendar steps clipped to the month's end."""
        if self.unit in ("days", "weeks"):
            from datetime import timedelta
            return day - timedelta(days=self.amount * (7 if self.unit == "weeks" else 1))
        months = self.amount * (12 if self.unit == "years" else 1)
        total = day.year * 12 + (day.month - 1) - months
        year, month = divmod(total, 12)
        month += 1
        return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

    @property
    def months(self) -> int | None:
        """The duration in whole months, or None for days/weeks."""
        if self.amount == 0:
            return 0
        return {"months": self.amount, "years": 12 * self.amount}.get(self.unit)

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


ZERO = Duration(0, "days")


@dataclass(frozen=True)
class Window:
    """Days d with R - start < d <= R - end; `start` None means no lower bound ("ever")."""

    start: Duration | None
    end: Duration = ZERO

    def bounds(self, reference_date: date) -> tuple[date | None, date]:
        """(after, until): an event day d is inside when (after is None or d > after) and d <= until."""
        after = self.start.before(reference_date) if self.start else None
        return after, self.end.before(reference_date)

    def contains(self, day: date, reference_date: date) -> bool:
        after, until = self.bounds(reference_date)
        return (after is None or day > after) and day <= until

    @property
    def months(self) -> int | None:
        """Length in whole months when both edges are whole months (needed to annualise a rate)."""
        if self.start is None or self.start.months is None or self.end.months is None:
            return None
        return self.start.months - self.end.months

    def __str__(self) -> str:
        if self.start is None:
            return "ever" if self.end == ZERO else f"ever until {self.end} before"
        if self.end == ZERO:
            return f"within {self.start}"
        return f"from {self.start} to {self.end} before"


EVER = Window(None)

# --- codes ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    system: str  # a terminology code system name: ICPC2DK, SKS, NPU, DNK, MCS, KP, ATC, ydelseskode
    code: str
    label: str = field(default="", compare=False)


@dataclass(frozen=True)
class Codelist:
    """A versioned list of codes. With match "prefix" a listed code also matches every code that begins with it
    (ATC C10AA matches C10AA05); "exact" matches only the code itself. A code matched by `exclude` (same match rule)
    is not in the list."""

    ref: str  # e.g. "atc/statins@2026-01"; "inline" for codes written in the package itself
    title: str
    match: Literal["exact", "prefix"]
    codes: tuple[Code, ...]
    exclude: tuple[Code, ...] = ()
    title_en: str = field(default="", compare=False)

    def label(self, lang: str = "da") -> str:
        return self.title_en if lang == "en" and self.title_en else self.title

    def _hit(self, codes: tuple[Code, ...], system: str | None, code: str) -> bool:
        for c in codes:
            if system is not None and c.system != system:
                continue
            if code == c.code or (self.match == "prefix" and code.startswith(c.code)):
                return True
        return False

    def matches(self, code: str, system: str | None = None) -> bool:
        """Whether a recorded code (in `system`, when the table records one) is in the list."""
        return self._hit(self.codes, system, code) and not self._hit(self.exclude, system, code)

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(sorted({c.system for c in self.codes}))


# --- the warehouse tables events come from -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventTable:
    """Where a kind of event lives in the warehouse (contract fields; `patient_key` replaces `cpr`)."""

    name: str
    day: str  # the day that windows select on (a DATE column)
    time: str  # what "latest" orders by (the timestamp where there is one, else the day)
    code: str
    system: str | None = None  # column holding the code system, when the table mixes systems
    value: str | None = None  # numeric value column
    text: str | None = None  # text value column
    flags: tuple[str, ...] = ()  # boolean columns a selection may require

    @property
    def systems(self) -> tuple[str, ...]:
        """Code systems the table may hold, taken from the contract."""
        columns = TABLES[self.name].columns
        if self.system:
            return columns[self.system].choices or ()
        return (columns[self.code].code_system,)


def _timestamp_day(ts_field: str) -> str:
    return ts_field.removesuffix("_ts") + "_date"  # the warehouse adds <name>_date beside every <name>_ts


EVENT_TABLES: dict[str, EventTable] = {t.name: t for t in (
    EventTable("diagnosis", "recorded_date", "recorded_date", "code", system="code_system"),
    EventTable("lab_result", _timestamp_day("sampled_ts"), "sampled_ts", "code", system="code_system",
               value="value_num", text="value_text"),
    EventTable("measurement", _timestamp_day("measured_ts"), "measured_ts", "code", system="code_system",
               value="value_num", text="value_text"),
    EventTable("prescription", "prescribed_date", "prescribed_date", "atc"),
    EventTable("contact", _timestamp_day("contact_ts"), "contact_ts", "ydelseskode"),
    EventTable("hospital_admission", "admitted_date", "admitted_date", "diagnosis_code", flags=("acute",)),
)}

# --- selections and criteria ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Events:
    """A patient's rows in `table` whose code is in any of `codelists` (all rows when empty), on a day in `window`,
    with every column in `require` true."""

    table: str
    codelists: tuple[Codelist, ...]
    window: Window
    require: tuple[str, ...] = ()

    @property
    def source(self) -> EventTable:
        return EVENT_TABLES[self.table]


class Criterion:
    """A yes/no statement about a patient on the reference date."""

    __slots__ = ()


@dataclass(frozen=True)
class HasEvents(Criterion):
    """At least `at_least` rows in the selection."""

    events: Events
    at_least: int = 1


@dataclass(frozen=True)
class HasDistinctCodes(Criterion):
    """At least `at_least` different codes among the selected rows (e.g. active substances, ATC level 5)."""

    events: Events
    at_least: int


@dataclass(frozen=True)
class NumberTest:
    op: Literal["<", "<=", ">", ">=", "between"]
    value: float
    upper: float | None = None  # for "between": value <= x <= upper
    unit: str = ""

    def holds(self, x: float) -> bool:
        return {"<": x < self.value, "<=": x <= self.value, ">": x > self.value, ">=": x >= self.value,
                "between": self.upper is not None and self.value <= x <= self.upper}[self.op]

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.op == "between":
            return f"between {self.value:g} and {self.upper:g}{unit}"
        return f"{self.op} {self.value:g}{unit}"


@dataclass(frozen=True)
class TextTest:
    values: tuple[str, ...]

    def holds(self, x: str) -> bool:
        return x in self.values


@dataclass(frozen=True)
class LatestValue(Criterion):
    """The latest selected row that has a value (number or text, as the test needs) passes `test`."""

    events: Events
    test: NumberTest | TextTest


@dataclass(frozen=True)
class AgeRange(Criterion):
    """Age in completed years on the reference date within [minimum, maximum] (either may be open)."""

    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class SexIs(Criterion):
    sex: Literal["F", "M"]


@dataclass(frozen=True)
class EnrolledOn(Criterion):
    """A chronic-care enrolment for `condition` active on the reference date: start_date <= R and (end_date empty or
    end_date >= R)."""

    condition: str


@dataclass(frozen=True)
class AllOf(Criterion):
    """Every part holds; with no parts, true."""

    parts: tuple[Criterion, ...]


@dataclass(frozen=True)
class AnyOf(Criterion):
    """At least one part holds."""

    parts: tuple[Criterion, ...]


@dataclass(frozen=True)
class Not(Criterion):
    part: Criterion


EVERYONE = AllOf(())

# --- measures ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientProportion:
    numerator: Criterion
    kind: str = field(default="proportion", init=False)


@dataclass(frozen=True)
class EventProportion:
    numerator: Events
    denominator: Events
    kind: str = field(default="proportion", init=False)


@dataclass(frozen=True)
class EventRate:
    events: Events
    per: int = 1000
    kind: str = field(default="rate", init=False)

    @property
    def per_year(self) -> float:
        """Factor from events in the window to events per year."""
        return 12 / self.events.window.months


@dataclass(frozen=True)
class SurveyMean:
    items: tuple[str, ...]  # survey_response columns, e.g. ("item_01", "item_02")
    window: Window  # on answered_date
    kind: str = field(default="mean", init=False)


Measure = PatientProportion | EventProportion | EventRate | SurveyMean

# --- indicators and packages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    da: str
    en: str

    def __call__(self, lang: str = "da") -> str:
        return self.da if lang == "da" else self.en


@dataclass(frozen=True)
class Standard:
    """The target: an indicator value `op` `value` meets it (`value` is a fraction for proportions)."""

    op: Literal["<", "<=", ">", ">="] | None
    value: float | None
    source: str
    note: str = ""

    def met(self, x: float) -> bool | None:
        if self.op is None or self.value is None:
            return None
        return NumberTest(self.op, self.value).holds(x)


@dataclass(frozen=True)
class Indicator:
    id: str
    title: Text
    description: Text
    direction: Literal["higher_is_better", "lower_is_better", "none"]
    standard: Standard | None
    population: Criterion | None  # None for survey indicators (no patients)
    exclusions: Criterion | None
    measure: Measure
    fact: Events | None  # the latest of these rows is the fact shown on a worklist (e.g. the latest LDL)
    line: int = field(default=0, compare=False)  # where the indicator starts in its package file

    @property
    def kind(self) -> str:
        return self.measure.kind


@dataclass(frozen=True)
class ChangeLogEntry:
    date: date
    version: str
    description: str
    by: str


@dataclass(frozen=True)
class Package:
    id: str
    version: str
    title: Text
    why: Text
    audience: tuple[str, ...]
    author: str
    checked_by: str
    review_by: date
    changes: tuple[ChangeLogEntry, ...]
    codelists: dict[str, Codelist] = field(compare=False, hash=False)
    indicators: tuple[Indicator, ...]
    tests: tuple = ()  # tuple[testpatients.TestCase, ...]
    file: str = ""

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)


def walk(criterion: Criterion):
    """Every node of a criterion tree, the root first."""
    yield criterion
    if isinstance(criterion, (AllOf, AnyOf)):
        for part in criterion.parts:
            yield from walk(part)
    elif isinstance(criterion, Not):
        yield from walk(criterion.part)

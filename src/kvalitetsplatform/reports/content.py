"""What every report reads and how it says it: figures through the gate, trends, arrows and Danish formats.

All figures come from `gate.results_many(principal, …)` for the report's recipient: the rows, their labels (names or
letters) and their suppression are the gate's. This module only picks and phrases them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from kvalitetsplatform.indicators.model import Indicator, Package
from kvalitetsplatform.reports.charts import SUPPRESSED, ChartLocale, Series, ValueKind
from kvalitetsplatform.reports.i18n import chart_locale, translations

MINUS = "\u2212"
LEVEL_ORDER = ("practice", "cluster", "region", "municipality", "national")


@dataclass(frozen=True)
class Cell:
    """One total figure (no strata) of one org unit on one reference date, as the recipient may see it."""

    day: date
    level: str
    code: str  # ydernummer, letter, cluster id, region code, kommune code, DK
    label: str
    own: bool
    numerator: float | None
    denominator: float | None
    value: float | None  # None: suppressed, or no patients
    low: float | None
    high: float | None
    percentile: float | None
    cluster_rank: int | None
    target_met: bool | None
    suppressed: bool


@dataclass
class Figures:
    """An indicator's figures for the recipient: every date, every unit in their view (totals only)."""

    indicator: Indicator
    cells: list[Cell]

    def __post_init__(self):
        self._index = {(c.day, c.level, c.code): c for c in self.cells}
        self.dates = sorted({c.day for c in self.cells})

    def get(self, day: date | None, level: str, code: str) -> Cell | None:
        return self._index.get((day, level, code)) if day else None

    def on(self, day: date, level: str) -> list[Cell]:
        return [c for c in self.cells if c.day == day and c.level == level]

    def own(self, day: date) -> Cell | None:
        return next((c for c in self.cells if c.day == day and c.own and c.level == "practice"), None)

    def series(self, level: str, code: str) -> tuple[tuple[date, float | None], ...]:
        return tuple((d, c.value if (c := self.get(d, level, code)) else None) for d in self.dates)


def read(gate, principal, indicators: list[Indicator]) -> list[Figures]:
    """Every date of each indicator for `principal`, totals only, in one call through the gate (`results_many`:
    the kept protected views, at most one results-store read for those not yet protected).

    The dates are those the results store holds for any of the indicators. Not logged per indicator: the report's
    build is recorded in the library and every opening through the gate."""
    ids = [ind.id for ind in indicators]
    dates = store_dates(gate, indicators)
    rows = gate.results_many(principal, ids, dates, stratum_dim="total") if dates else {}
    return [Figures(ind, [_cell(r) for day in dates for r in rows[(ind.id, day)]]) for ind in indicators]


def store_dates(gate, indicators: list[Indicator]) -> list[date]:
    """The reference dates the results store holds for any of the indicators, oldest first (read once per results
    version: every report of a monthly build shares the read)."""
    wanted = {ind.id for ind in indicators}
    contents = _contents(gate.store, gate.store.version())
    return sorted({d for i, days in contents.items() if i in wanted for d in days})


@lru_cache(maxsize=4)
def _contents(store, version: str) -> dict[str, list[date]]:
    return store.contents()


def _cell(r: dict) -> Cell:
    return Cell(r["ref_date"], r["org_level"], r["org_id"], r["org_name"], bool(r["own"]), r["numerator"],
                r["denominator"], r["rate"], r["ci_low"], r["ci_high"], r["percentile"], r["cluster_rank"],
                r["target_met"], bool(r["suppressed"]))


# --- words and numbers ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """The reader's language: translation plus number, date and change formats."""

    lang: str

    @property
    def _(self) -> Callable[[str], str]:
        return translations(self.lang).gettext

    @property
    def loc(self) -> ChartLocale:
        return chart_locale(self.lang)

    def day(self, d: date) -> str:
        return self.loc.day(d)

    def month(self, d: date) -> str:
        return self.loc.month(d)

    def count(self, n: float | None) -> str:
        return SUPPRESSED if n is None else self.loc.number(n, 0)

    def value(self, indicator: Indicator, v: float | None) -> str:
        if v is None:
            return SUPPRESSED
        return value_kind(indicator).format(self.loc, v)

    def interval(self, indicator: Indicator, low: float | None, high: float | None) -> str:
        if low is None or high is None:
            return ""
        return f"{self.value(indicator, low)}–{self.value(indicator, high)}"

    def change(self, indicator: Indicator, delta: float) -> str:
        """A signed change: percentage points for proportions, the indicator's unit otherwise."""
        _ = self._
        sign = "+" if delta > 0 else (MINUS if delta < 0 else "±")
        if indicator.kind == "proportion":
            return f"{sign}{self.loc.number(abs(delta) * 100, 1)} " + _("%-point")
        return f"{sign}{self.loc.number(abs(delta), 2 if indicator.kind == 'mean' else 1)}"

    def target(self, indicator: Indicator) -> str:
        s = indicator.standard
        if s is None or s.op is None or s.value is None:
            return "–"
        op = {">=": "≥", "<=": "≤"}.get(s.op, s.op)
        return f"{op} {self.value(indicator, s.value)}"


def value_kind(indicator: Indicator) -> ValueKind:
    return ValueKind(indicator.kind, getattr(indicator.measure, "per", 1000))


def target_value(indicator: Indicator) -> float | None:
    s = indicator.standard
    return s.value if s is not None and s.op is not None else None


def sign(indicator: Indicator) -> int:
    return {"higher_is_better": 1, "lower_is_better": -1}.get(indicator.direction, 0)


@dataclass(frozen=True)
class Trend:
    direction: str  # up | down | flat
    tone: str  # good | bad | neutral
    delta: float
    text: str


def trend(words: Words, indicator: Indicator, before: float | None, now: float | None) -> Trend | None:
    """The change since the last report, with an arrow when it is more than noise-sized: 1 percentage point for
    proportions, 2 % of the earlier value for rates, 0,05 for mean scores."""
    if before is None or now is None:
        return None
    delta = now - before
    if indicator.kind == "proportion":
        flat = abs(delta) < 0.01
    elif indicator.kind == "rate":
        flat = abs(delta) < 0.02 * abs(before) if before else delta == 0
    else:
        flat = abs(delta) < 0.05
    direction = "flat" if flat else ("up" if delta > 0 else "down")
    s = sign(indicator)
    tone = "neutral" if flat or s == 0 else ("good" if delta * s > 0 else "bad")
    return Trend(direction, tone, delta, words.change(indicator, delta))


def target_status(cell: Cell | None) -> str | None:
    if cell is None or cell.target_met is None:
        return None
    return "met" if cell.target_met else "missed"


def previous_date(dates: Iterable[date], latest: date, previous: date | None, months: int = 3) -> date | None:
    """The date compared with: the last report's period when there was one, else `months` earlier (the usual
    time between cluster meetings), or the earliest date there is."""
    dates = sorted(d for d in dates if d < latest)
    if not dates:
        return None
    if previous is not None and previous in dates:
        return previous
    total = latest.year * 12 + latest.month - 1 - months
    wanted = (total // 12, total % 12 + 1)
    earlier = [d for d in dates if (d.year, d.month) <= wanted]
    return earlier[-1] if earlier else dates[0]


def series_of(figures: Figures, units: list[tuple[str, str, str]]) -> list[Series]:
    """Chart series for (level, code, label) units that have any value."""
    out = []
    for level, code, label in units:
        points = figures.series(level, code)
        if any(v is not None for _d, v in points):
            out.append(Series(level, label, points))
    return out


def package_facts(words: Words, package: Package) -> list[list[str]]:
    _ = words._
    return [[_("Pakke"), f"{package.title(words.lang)} ({package.id})"], [_("Pakkeversion"), package.version]]


def codelist_refs(package: Package) -> list[str]:
    return sorted({c.ref for c in package.codelists.values() if c.ref != "inline"})

"""Vega-Lite chart specs, built server-side: one place for the web pages (vega-embed) and the PDF reports
(vl-convert → SVG).

Every builder returns a `Chart`: the spec with its data inline (no network when rendered), the rows it shows,
the columns a "download data" CSV has (exactly what the chart shows, suppressed cells as "<5"), and a text
alternative for screen readers and PDF/UA. Number and time formats follow the viewer's language: the spec carries
its own `config.locale` (Danish: comma decimals, "." thousands, "72,1 %", Danish month names), so the browser and
vl-convert render it alike.

Values: proportions are fractions (0.721), rates are per `per` patients per year, means are plain numbers. A
suppressed value is None with `suppressed=True` on its row; it is never drawn and shows as "<5" in text and CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

# --- locale ----------------------------------------------------------------------------------------------------------

# d3 locales (d3-format / d3-time-format), with the Danish "72,1 %" (a no-break space before %).
D3_NUMBER = {
    "da": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " kr."], "percent": "\u00a0%"},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["", " DKK"]},
}
D3_TIME = {
    "da": {"dateTime": "%A den %d. %B %Y %X", "date": "%d.%m.%Y", "time": "%H:%M:%S", "periods": ["AM", "PM"],
           "days": ["søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"],
           "shortDays": ["søn", "man", "tir", "ons", "tor", "fre", "lør"],
           "months": ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
                      "oktober", "november", "december"],
           "shortMonths": ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]},
    "en": {"dateTime": "%a %e %b %Y %X", "date": "%d/%m/%Y", "time": "%H:%M:%S", "periods": ["AM", "PM"],
           "days": ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
           "shortDays": ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
           "months": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"],
           "shortMonths": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]},
}
SUPPRESSED = "<5"

# Colours: a calm palette with WCAG AA contrast against white for text-bearing marks.
OWN = "#b8400f"  # the viewer's own practice: warm, stands out
PEER = "#56708a"
LEVEL_COLOURS = {"practice": OWN, "cluster": "#1f6fb2", "region": "#6a5a9c", "national": "#4a4a4a",
                 "municipality": "#2f7d5b"}
TARGET = "#2f7d5b"


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class ChartLocale:
    """Language, translation and number/date formatting for charts and their text alternatives."""

    lang: str = "da"
    gettext: Callable[[str], str] = _identity

    @property
    def babel(self) -> str:
        return "da_DK" if self.lang == "da" else "en_GB"

    def number(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return SUPPRESSED
        return format_decimal(value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=self.babel)

    def percent(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return SUPPRESSED
        pattern = f"#,##0.{'0' * digits} %" if digits else "#,##0 %"
        text = format_percent(value, format=pattern, locale=self.babel).replace("\xa0", " ")
        return text.replace(" %", "\xa0%") if self.lang == "da" else text.replace(" ", "")

    def day(self, value: date) -> str:
        return format_date(value, "dd.MM.yyyy" if self.lang == "da" else "d MMM yyyy", locale=self.babel)

    def month(self, value: date) -> str:
        return format_date(value, "MMM yyyy", locale=self.babel).replace(".", "")

    def d3(self) -> dict:
        return {"number": D3_NUMBER[self.lang], "time": D3_TIME[self.lang]}


@dataclass(frozen=True)
class ValueKind:
    """How an indicator's values are shown: a proportion (fraction), a rate per `per` a year, or a mean."""

    kind: str = "proportion"  # proportion | rate | mean
    per: int = 1000

    def format(self, loc: ChartLocale, value: float | None) -> str:
        if self.kind == "proportion":
            return loc.percent(value)
        return loc.number(value, 2 if self.kind == "mean" else 1)

    @property
    def d3(self) -> str:
        return {"proportion": ".0%", "rate": ",.0f", "mean": ".1f"}[self.kind]

    @property
    def d3_precise(self) -> str:
        return {"proportion": ".1%", "rate": ",.1f", "mean": ".2f"}[self.kind]

    def axis_title(self, loc: ChartLocale) -> str:
        _ = loc.gettext
        if self.kind == "proportion":
            return _("Andel")
        if self.kind == "rate":
            return _("Pr. {per} patienter pr. år").format(per=loc.number(self.per, 0))
        return _("Gennemsnit")

    def csv(self, loc: ChartLocale, value: float | None) -> str:
        """A CSV cell: the number in the viewer's notation, percentages as numbers (72,1), "<5" when suppressed."""
        if value is None:
            return SUPPRESSED
        if self.kind == "proportion":
            return loc.number(value * 100, 1).replace("\xa0", "")
        return loc.number(value, 2 if self.kind == "mean" else 1).replace("\xa0", "")


# --- the chart -------------------------------------------------------------------------------------------------------


@dataclass
class Chart:
    id: str  # unique on the page; also the CSV file name
    title: str
    spec: dict
    columns: list[tuple[str, str]]  # (row key, CSV header)
    rows: list[dict]  # what the chart shows, as CSV cells (already formatted for the viewer)
    description: str  # the text alternative
    table: list[list[str]] = field(default_factory=list)  # optional: a small table for the text alternative

    def csv(self) -> str:
        """The data behind the chart: semicolon-separated (opens in a Danish spreadsheet), UTF-8 with BOM."""
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([header for _, header in self.columns])
        for row in self.rows:
            writer.writerow(["" if row.get(key) is None else row[key] for key, _ in self.columns])
        return "\ufeff" + out.getvalue()


def _base(loc: ChartLocale, title: str | None, width: int | str = "container", height: int = 260) -> dict:
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": width, "height": height, "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {
            "locale": loc.d3(),
            "font": "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
            "axis": {"labelColor": "#333", "titleColor": "#333", "gridColor": "#e6e6e6", "labelFontSize": 12,
                     "titleFontSize": 12, "titleFontWeight": "normal"},
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
            "view": {"stroke": None},
        },
    }
    if title:
        spec["title"] = {"text": title, "anchor": "start", "fontSize": 14, "fontWeight": 600}
    return spec


def _iso(d: date) -> str:
    return d.isoformat()


# --- sparkline ---------------------------------------------------------------------------------------------------------


def sparkline(chart_id: str, points: Sequence[tuple[date, float | None]], kind: ValueKind, loc: ChartLocale,
              label: str) -> Chart:
    """A tile's small trend line, without axes; the last point marked."""
    _ = loc.gettext
    data = [{"period": _iso(d), "value": v} for d, v in points if v is not None]
    spec = _base(loc, None, width="container", height=36)
    spec["config"]["axis"] = {"disable": True}
    spec["padding"] = {"top": 4, "bottom": 4, "left": 2, "right": 6}
    spec["data"] = {"values": data}
    x = {"field": "period", "type": "temporal", "axis": None}
    y = {"field": "value", "type": "quantitative", "axis": None, "scale": {"zero": False}}
    spec["layer"] = [
        {"mark": {"type": "line", "color": PEER, "strokeWidth": 1.5, "interpolate": "monotone"},
         "encoding": {"x": x, "y": y}},
        {"transform": [{"window": [{"op": "rank", "as": "r"}], "sort": [{"field": "period", "order": "descending"}]},
                       {"filter": "datum.r === 1"}],
         "mark": {"type": "point", "filled": True, "color": OWN, "size": 30},
         "encoding": {"x": x, "y": y}},
    ]
    rows = [{"period": loc.month(d), "value": kind.csv(loc, v)} for d, v in points]
    shown = [(d, v) for d, v in points if v is not None]
    if shown:
        description = _("{label}: fra {first} i {start} til {last} i {end}.").format(
            label=label, first=kind.format(loc, shown[0][1]), start=loc.month(shown[0][0]),
            last=kind.format(loc, shown[-1][1]), end=loc.month(shown[-1][0]))
    else:
        description = _("{label}: ingen værdier at vise.").format(label=label)
    return Chart(chart_id, label, spec, [("period", _("Periode")), ("value", _("Værdi"))], rows, description)


# --- trend: practice against cluster, region and nation ------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    level: str  # practice | cluster | region | municipality | national
    label: str  # e.g. "Lægerne i Byen", "Klynge Vest", "Region Midtjylland", "Hele landet"
    points: tuple[tuple[date, float | None], ...]


def trend(chart_id: str, title: str, series: Sequence[Series], kind: ValueKind, loc: ChartLocale,
          target: float | None = None, points: bool = True, month_step: int | None = None) -> Chart:
    """Monthly values of several org units over time, with the target as a dashed rule; `points` marks every month
    (print leaves them out of long series, where they only thicken the line); `month_step` labels the time axis
    every so many months (print: so that the labels fit its fixed width at regular intervals)."""
    _ = loc.gettext
    labels = [s.label for s in series]
    data = [{"period": _iso(d), "unit": s.label, "value": v}
            for s in series for d, v in s.points if v is not None]
    spec = _base(loc, title)
    spec["data"] = {"values": data}
    colour = {"domain": labels, "range": [LEVEL_COLOURS.get(s.level, PEER) for s in series]}
    x = {"field": "period", "type": "temporal", "timeUnit": "yearmonth", "title": None,
         "axis": {"format": "%b %Y", "labelAngle": 0,
                  "tickCount": {"interval": "month", "step": month_step} if month_step else 6}}
    y = {"field": "value", "type": "quantitative", "title": kind.axis_title(loc),
         "axis": {"format": kind.d3}, "scale": {"zero": kind.kind != "mean"}}
    layers = [{
        "mark": {"type": "line", **({"point": {"size": 18}} if points else {}), "strokeWidth": 2},
        "encoding": {
            "x": x, "y": y,
            "color": {"field": "unit", "type": "nominal", "title": None, "scale": colour, "sort": labels},
            "strokeWidth": {"condition": {"test": f"datum.unit === {labels[0]!r}", "value": 3}, "value": 1.6}
            if labels else {"value": 2},
            "tooltip": [{"field": "unit", "title": _("Enhed")},
                        {"field": "period", "type": "temporal", "title": _("Periode"), "format": "%B %Y"},
                        {"field": "value", "type": "quantitative", "title": _("Værdi"), "format": kind.d3_precise}],
        },
    }]
    if target is not None:
        layers.append({"data": {"values": [{"target": target}]},
                       "mark": {"type": "rule", "color": TARGET, "strokeDash": [6, 4], "strokeWidth": 1.5},
                       "encoding": {"y": {"field": "target", "type": "quantitative"}}})
    spec["layer"] = layers
    periods = sorted({d for s in series for d, _v in s.points})
    rows = []
    for d in periods:
        row = {"period": loc.month(d)}
        for i, s in enumerate(series):
            row[f"s{i}"] = kind.csv(loc, dict(s.points).get(d))
        rows.append(row)
    columns = [("period", _("Periode"))] + [(f"s{i}", s.label) for i, s in enumerate(series)]
    parts = []
    for s in series:
        shown = [(d, v) for d, v in s.points if v is not None]
        if shown:
            parts.append(_("{unit} {value} i {period}").format(unit=s.label, value=kind.format(loc, shown[-1][1]),
                                                               period=loc.month(shown[-1][0])))
        else:
            parts.append(_("{unit} uden viste værdier").format(unit=s.label))
    description = _("Linjediagram over {n} måneder: {title}.").format(n=len(periods), title=title) + " " + \
        _("Senest: {parts}.").format(parts="; ".join(parts))
    if target is not None:
        description += " " + _("Målet er {target}.").format(target=kind.format(loc, target))
    return Chart(chart_id, title, spec, columns, rows, description)


# --- caterpillar: where the practice stands among all practices ---------------------------------------------------


@dataclass(frozen=True)
class Standing:
    label: str  # "" for practices the viewer may not name
    value: float | None
    low: float | None
    high: float | None
    own: bool = False


def caterpillar(chart_id: str, title: str, practices: Sequence[Standing], kind: ValueKind, loc: ChartLocale,
                target: float | None = None) -> Chart:
    """Every practice's value with its 95 % confidence interval, sorted; deciles shaded, the own practice marked."""
    _ = loc.gettext
    shown = sorted((p for p in practices if p.value is not None), key=lambda p: (p.value, p.label))
    n = len(shown)
    data = [{"rank": i + 1, "value": p.value, "low": p.low, "high": p.high, "own": p.own,
             "label": p.label if p.own else ""} for i, p in enumerate(shown)]
    spec = _base(loc, title, height=240)
    spec["data"] = {"values": data}
    x = {"field": "rank", "type": "quantitative", "title": _("Praksis, sorteret efter værdi"),
         "axis": {"labels": False, "ticks": False, "grid": False}, "scale": {"domain": [0, n + 1], "nice": False}}
    y = {"field": "value", "type": "quantitative", "title": kind.axis_title(loc), "axis": {"format": kind.d3}}
    own_test = "datum.own"
    layers = [
        {"mark": {"type": "rule", "strokeWidth": 1},
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"}, "y2": {"field": "high"},
                      "color": {"condition": {"test": own_test, "value": OWN}, "value": "#b9c4cf"}}},
        {"mark": {"type": "point", "filled": True},
         "encoding": {"x": x, "y": y,
                      "color": {"condition": {"test": own_test, "value": OWN}, "value": PEER},
                      "size": {"condition": {"test": own_test, "value": 110}, "value": 30},
                      "tooltip": [{"field": "value", "type": "quantitative", "title": _("Værdi"),
                                   "format": kind.d3_precise},
                                  {"field": "low", "type": "quantitative", "title": _("95 %-sikkerhedsinterval, fra"),
                                   "format": kind.d3_precise},
                                  {"field": "high", "type": "quantitative", "title": _("til"),
                                   "format": kind.d3_precise}]}},
        {"transform": [{"filter": own_test}],
         "mark": {"type": "text", "align": "left", "dx": 8, "dy": -10, "fontWeight": 600, "color": OWN},
         "encoding": {"x": x, "y": y, "text": {"field": "label"}}},
    ]
    if target is not None:
        layers.insert(0, {"data": {"values": [{"target": target}]},
                          "mark": {"type": "rule", "color": TARGET, "strokeDash": [6, 4]},
                          "encoding": {"y": {"field": "target", "type": "quantitative"}}})
    spec["layer"] = layers
    rows = [{"rank": str(i + 1), "practice": p.label or "", "value": kind.csv(loc, p.value),
             "low": kind.csv(loc, p.low), "high": kind.csv(loc, p.high), "own": _("ja") if p.own else ""}
            for i, p in enumerate(shown)]
    columns = [("rank", _("Placering")), ("practice", _("Praksis")), ("value", _("Værdi")),
               ("low", _("Nedre 95 %-grænse")), ("high", _("Øvre 95 %-grænse")), ("own", _("Egen praksis"))]
    own = next(((i + 1, p) for i, p in enumerate(shown) if p.own), None)
    description = _("Punktdiagram over {n} praksis sorteret efter værdi, med 95 %-sikkerhedsintervaller.").format(n=n)
    if n:
        description += " " + _("Laveste {low}, median {median}, højeste {high}.").format(
            low=kind.format(loc, shown[0].value), median=kind.format(loc, shown[n // 2].value),
            high=kind.format(loc, shown[-1].value))
    if own:
        description += " " + _("Egen praksis: {value}, nummer {rank} af {n} fra laveste.").format(
            value=kind.format(loc, own[1].value), rank=own[0], n=n)
    return Chart(chart_id, title, spec, columns, rows, description)


# --- forest: a cluster's practices side by side, with intervals -----------------------------------------------------


def forest(chart_id: str, title: str, practices: Sequence[Standing], kind: ValueKind, loc: ChartLocale,
           target: float | None = None, reference: tuple[str, float] | None = None) -> Chart:
    """One row per practice (in the given order, labelled as the viewer may see them): the value with its 95 %
    confidence interval, the own practice marked; the target and a reference (e.g. the cluster) as vertical rules.
    Practices without a value (suppressed) keep their row, with "<5" and no mark."""
    _ = loc.gettext
    order = [p.label for p in practices]
    data = [{"unit": p.label, "value": p.value, "low": p.low, "high": p.high, "own": p.own,
             "text": kind.format(loc, p.value)} for p in practices]
    spec = _base(loc, title, height=max(80, 20 * len(practices)))
    spec["data"] = {"values": data}
    own_label = next((p.label for p in practices if p.own), None)
    is_own = "datum.value === " + ("null" if own_label is None else repr(own_label))
    y = {"field": "unit", "type": "nominal", "title": None, "sort": order,
         "axis": {"labelLimit": 200, "labelFontWeight": {"condition": {"test": is_own, "value": "bold"},
                                                         "value": "normal"},
                  "labelColor": {"condition": {"test": is_own, "value": OWN}, "value": "#333"}}}
    x = {"field": "value", "type": "quantitative", "title": kind.axis_title(loc),
         "axis": {"format": kind.d3, "tickCount": 6}, "scale": {"zero": kind.kind != "mean", "nice": True}}
    own_test = "datum.own"
    layers = [
        {"mark": {"type": "rule", "strokeWidth": 2},
         "encoding": {"y": y, "x": {"field": "low", "type": "quantitative"}, "x2": {"field": "high"},
                      "color": {"condition": {"test": own_test, "value": OWN}, "value": "#9fb0c0"}}},
        {"mark": {"type": "point", "filled": True, "size": 70},
         "encoding": {"y": y, "x": x, "color": {"condition": {"test": own_test, "value": OWN}, "value": PEER},
                      "tooltip": [{"field": "unit", "title": _("Praksis")}, {"field": "text", "title": _("Værdi")}]}},
        # the value as text at the right edge of the plot, so it reads like a table column
        {"mark": {"type": "text", "align": "left", "x": {"expr": "width"}, "dx": 6, "fontSize": 11},
         "encoding": {"y": y, "text": {"field": "text"},
                      "fontWeight": {"condition": {"test": own_test, "value": "bold"}, "value": "normal"},
                      "color": {"condition": {"test": own_test, "value": OWN}, "value": "#1d1d1d"}}},
    ]
    for value, colour, dash in ((target, TARGET, [6, 4]), (reference[1] if reference else None, "#4a4a4a", [2, 3])):
        if value is not None:
            layers.insert(0, {"data": {"values": [{"x": value}]},
                              "mark": {"type": "rule", "color": colour, "strokeDash": dash, "strokeWidth": 1.5},
                              "encoding": {"x": {"field": "x", "type": "quantitative"}}})
    spec["layer"] = layers
    spec["padding"] = {"left": 16, "right": 56}  # room for the bold own label and the values column
    rows = [{"practice": p.label, "value": kind.csv(loc, p.value), "low": kind.csv(loc, p.low),
             "high": kind.csv(loc, p.high), "own": _("ja") if p.own else ""} for p in practices]
    columns = [("practice", _("Praksis")), ("value", _("Værdi")), ("low", _("Nedre 95 %-grænse")),
               ("high", _("Øvre 95 %-grænse")), ("own", _("Egen praksis"))]
    description = _("Punktdiagram med 95 %-sikkerhedsintervaller for {n} praksis: {title}.").format(
        n=len(practices), title=title) + " " + "; ".join(f"{p.label} {kind.format(loc, p.value)}"
                                                         for p in practices) + "."
    if target is not None:
        description += " " + _("Målet er {target}.").format(target=kind.format(loc, target))
    if reference is not None:
        description += " " + _("{label}: {value}.").format(label=reference[0], value=kind.format(loc, reference[1]))
    return Chart(chart_id, title, spec, columns, rows, description)


# --- breakdown by age band and sex ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stratum:
    age_band: str
    sex: str  # label, e.g. "Kvinder"
    value: float | None
    denominator: int | None  # None when suppressed


def breakdown(chart_id: str, title: str, strata: Sequence[Stratum], kind: ValueKind, loc: ChartLocale) -> Chart:
    """Grouped bars: the value per age band, one bar per sex; suppressed strata are left out and named."""
    _ = loc.gettext
    bands = list(dict.fromkeys(s.age_band for s in strata))
    sexes = list(dict.fromkeys(s.sex for s in strata))
    data = [{"age_band": s.age_band, "sex": s.sex, "value": s.value} for s in strata if s.value is not None]
    spec = _base(loc, title, height=220)
    spec["data"] = {"values": data}
    spec["mark"] = {"type": "bar", "cornerRadiusEnd": 2}
    spec["encoding"] = {
        "x": {"field": "age_band", "type": "nominal", "title": _("Aldersgruppe"), "sort": bands,
              "axis": {"labelAngle": 0}},
        "xOffset": {"field": "sex", "sort": sexes},
        "y": {"field": "value", "type": "quantitative", "title": kind.axis_title(loc), "axis": {"format": kind.d3}},
        "color": {"field": "sex", "type": "nominal", "title": None, "sort": sexes,
                  "scale": {"range": ["#1f6fb2", "#c2571a", "#6a5a9c"]}},
        "tooltip": [{"field": "age_band", "title": _("Aldersgruppe")}, {"field": "sex", "title": _("Køn")},
                    {"field": "value", "type": "quantitative", "title": _("Værdi"), "format": kind.d3_precise}],
    }
    rows = [{"age_band": s.age_band, "sex": s.sex, "value": kind.csv(loc, s.value),
             "denominator": SUPPRESSED if s.denominator is None else str(s.denominator)} for s in strata]
    columns = [("age_band", _("Aldersgruppe")), ("sex", _("Køn")), ("value", _("Værdi")),
               ("denominator", _("Nævner"))]
    hidden = [f"{s.age_band} {s.sex}" for s in strata if s.value is None]
    description = _("Søjlediagram efter aldersgruppe og køn: {title}.").format(title=title) + " " + "; ".join(
        f"{s.age_band} {s.sex} {kind.format(loc, s.value)}" for s in strata if s.value is not None) + "."
    if hidden:
        description += " " + _("Ikke vist (for få patienter): {cells}.").format(cells=", ".join(hidden))
    return Chart(chart_id, title, spec, columns, rows, description)


# --- heat map: indicators × practices (cluster view) ---------------------------------------------------------------


@dataclass(frozen=True)
class HeatCell:
    indicator: str  # label
    practice: str  # label (a name or a letter, per the cluster's setting)
    value: float | None
    kind: ValueKind
    score: float | None  # 0 … 1, how good the value is (percentile with the direction applied); None: no colour
    own: bool = False


def heatmap(chart_id: str, title: str, cells: Sequence[HeatCell], loc: ChartLocale) -> Chart:
    """Indicators (rows) × practices (columns); the colour says how good each value is among all practices."""
    _ = loc.gettext
    indicators = list(dict.fromkeys(c.indicator for c in cells))
    practices = list(dict.fromkeys(c.practice for c in cells))
    data = [{"indicator": c.indicator, "practice": c.practice, "score": c.score,
             "text": c.kind.format(loc, c.value) if c.value is not None else SUPPRESSED, "own": c.own}
            for c in cells]
    spec = _base(loc, title, width=max(320, 64 * len(practices)), height=30 * max(1, len(indicators)))
    spec["autosize"] = {"type": "pad"}
    spec["data"] = {"values": data}
    x = {"field": "practice", "type": "nominal", "title": None, "sort": practices,
         "axis": {"orient": "top", "labelAngle": 0, "labelLimit": 90}}
    y = {"field": "indicator", "type": "nominal", "title": None, "sort": indicators, "axis": {"labelLimit": 260}}
    spec["layer"] = [
        {"mark": {"type": "rect", "stroke": "white", "strokeWidth": 2},
         "encoding": {"x": x, "y": y,
                      "color": {"field": "score", "type": "quantitative", "title": _("Bedre end andre"),
                                "scale": {"domain": [0, 1], "range": ["#e8845c", "#f6efe1", "#5aa27c"]},
                                "legend": {"format": ".0%", "orient": "bottom", "gradientLength": 160}},
                      "tooltip": [{"field": "indicator", "title": _("Indikator")},
                                  {"field": "practice", "title": _("Praksis")},
                                  {"field": "text", "title": _("Værdi")}]}},
        {"mark": {"type": "text", "fontSize": 11},
         "encoding": {"x": x, "y": y, "text": {"field": "text"},
                      "fontWeight": {"condition": {"test": "datum.own", "value": "bold"}, "value": "normal"},
                      "color": {"value": "#1d1d1d"}}},
    ]
    rows = [{"indicator": c.indicator, "practice": c.practice, "value": c.kind.csv(loc, c.value)} for c in cells]
    columns = [("indicator", _("Indikator")), ("practice", _("Praksis")), ("value", _("Værdi"))]
    description = _("Varmekort med {i} indikatorer for {p} praksis; farven viser, hvor godt værdien ligger blandt alle "
                    "landets praksis (grøn er bedst). Tabellen herunder viser de samme tal.").format(
        i=len(indicators), p=len(practices))
    table = [[""] + practices] + [
        [ind] + [next((d["text"] for d in data if d["indicator"] == ind and d["practice"] == p), "")
                 for p in practices] for ind in indicators]
    return Chart(chart_id, title, spec, columns, rows, description, table)


# --- comparison bars (regions, municipalities, clusters) -----------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: suppressed
    numerator: int | None
    denominator: int | None
    highlight: bool = False


def comparison(chart_id: str, title: str, bars: Sequence[Bar], kind: ValueKind, loc: ChartLocale,
               reference: tuple[str, float] | None = None) -> Chart:
    """Horizontal bars, one per org unit; suppressed units are listed with "<5" and no bar."""
    _ = loc.gettext
    order = [b.label for b in bars]
    data = [{"unit": b.label, "value": b.value, "text": kind.format(loc, b.value), "highlight": b.highlight}
            for b in bars]
    spec = _base(loc, title, height=max(60, 22 * len(bars)))
    spec["data"] = {"values": data}
    y = {"field": "unit", "type": "nominal", "title": None, "sort": order, "axis": {"labelLimit": 200}}
    x = {"field": "value", "type": "quantitative", "title": kind.axis_title(loc), "axis": {"format": kind.d3}}
    layers = [
        {"mark": {"type": "bar", "cornerRadiusEnd": 2, "height": {"band": 0.7}},
         "encoding": {"y": y, "x": x,
                      "color": {"condition": {"test": "datum.highlight", "value": OWN}, "value": "#7f9bb5"},
                      "tooltip": [{"field": "unit", "title": _("Enhed")}, {"field": "text", "title": _("Værdi")}]}},
        # the value as text at the bar's end; a suppressed unit has no bar and its "<5" stands at zero
        {"transform": [{"calculate": "datum.value == null ? 0 : datum.value", "as": "xpos"}],
         "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11, "color": "#1d1d1d"},
         "encoding": {"y": y, "x": {"field": "xpos", "type": "quantitative"}, "text": {"field": "text"}}},
    ]
    if reference is not None:
        layers.append({"data": {"values": [{"ref": reference[1]}]},
                       "mark": {"type": "rule", "color": "#4a4a4a", "strokeDash": [4, 3]},
                       "encoding": {"x": {"field": "ref", "type": "quantitative"}}})
    spec["layer"] = layers
    rows = [{"unit": b.label, "numerator": SUPPRESSED if b.numerator is None else str(b.numerator),
             "denominator": SUPPRESSED if b.denominator is None else str(b.denominator),
             "value": kind.csv(loc, b.value)} for b in bars]
    columns = [("unit", _("Enhed")), ("numerator", _("Tæller")), ("denominator", _("Nævner")),
               ("value", _("Værdi"))]
    description = _("Søjlediagram: {title}.").format(title=title) + " " + "; ".join(
        f"{b.label} {kind.format(loc, b.value)}" for b in bars) + "."
    if reference is not None:
        description += " " + _("{label}: {value}.").format(label=reference[0], value=kind.format(loc, reference[1]))
    return Chart(chart_id, title, spec, columns, rows, description)


# --- active users per month (administration) ------------------------------------------------------------------------


def active_users(chart_id: str, title: str, counts: Iterable[tuple[str, str, str, int]], loc: ChartLocale) -> Chart:
    """Stacked bars: active users per month (YYYY-MM) by role, one panel per region. `counts` are
    (month, role label, region label, users)."""
    _ = loc.gettext
    counts = sorted(counts)
    data = [{"month": f"{m}-01", "role": role, "region": region, "users": n} for m, role, region, n in counts]
    regions = sorted({region for _m, _r, region, _n in counts})
    spec = _base(loc, title, width=560, height=max(60, 150 // max(1, len(regions))))
    spec["autosize"] = {"type": "pad"}
    spec["data"] = {"values": data}
    spec["mark"] = {"type": "bar"}
    spec["encoding"] = {
        "x": {"field": "month", "type": "ordinal", "timeUnit": "yearmonth", "title": None,
              "axis": {"format": "%b %Y", "labelAngle": 0}},
        "y": {"field": "users", "type": "quantitative", "aggregate": "sum", "title": _("Aktive brugere"),
              "axis": {"format": "d"}},
        "color": {"field": "role", "type": "nominal", "title": _("Rolle"),
                  "scale": {"scheme": "tableau10"}},
        "row": {"field": "region", "type": "nominal", "title": None, "sort": regions,
                "header": {"labelAngle": 0, "labelAlign": "left", "labelFontWeight": 600}},
        "tooltip": [{"field": "month", "type": "temporal", "timeUnit": "yearmonth", "title": _("Måned"),
                     "format": "%B %Y"},
                    {"field": "region", "title": _("Region")}, {"field": "role", "title": _("Rolle")},
                    {"field": "users", "type": "quantitative", "aggregate": "sum", "title": _("Brugere")}],
    }
    rows = [{"month": loc.month(date.fromisoformat(f"{m}-01")), "role": role, "region": region, "users": str(n)}
            for m, role, region, n in counts]
    columns = [("month", _("Måned")), ("role", _("Rolle")), ("region", _("Region")), ("users", _("Aktive brugere"))]
    months: dict[str, int] = {}
    for m, _r, _g, n in counts:
        months[m] = months.get(m, 0) + n
    description = _("Søjlediagram over aktive brugere pr. måned fordelt på rolle og region.") + " " + "; ".join(
        f"{loc.month(date.fromisoformat(m + '-01'))}: {n}" for m, n in sorted(months.items())) + "."
    return Chart(chart_id, title, spec, columns, rows, description)

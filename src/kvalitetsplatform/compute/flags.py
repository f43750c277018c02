"""Worklist wording: the fact that decides a patient's place in an indicator, in words a GP reads at a glance."""

from __future__ import annotations

from datetime import date
from typing import Any

from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.terminology import code_system

UNITS_DA = {"days": ("dag", "dage"), "weeks": ("uge", "uger"), "months": ("måned", "måneder"), "years": ("år", "år")}
UNITS_EN = {"days": ("day", "days"), "weeks": ("week", "weeks"), "months": ("month", "months"),
            "years": ("year", "years")}


def _duration(d: m.Duration, lang: str) -> str:
    one, many = (UNITS_DA if lang == "da" else UNITS_EN)[d.unit]
    return f"{d.amount} {one if d.amount == 1 else many}"


def window_words(window: m.Window, lang: str = "da") -> str:
    """"inden for 12 måneder", "nogensinde", "fra 24 til 12 måneder før"."""
    if window.start is None:
        if window.end == m.ZERO:
            return "nogensinde" if lang == "da" else "ever"
        return (f"indtil {_duration(window.end, lang)} før" if lang == "da"
                else f"until {_duration(window.end, lang)} before")
    if window.end == m.ZERO:
        return f"inden for {_duration(window.start, lang)}" if lang == "da" else f"in the last {_duration(window.start, lang)}"
    if window.start.unit == window.end.unit:
        unit = (UNITS_DA if lang == "da" else UNITS_EN)[window.start.unit][1]
        span = f"{window.start.amount} {'til' if lang == 'da' else 'to'} {window.end.amount} {unit}"
    else:
        span = f"{_duration(window.start, lang)} {'til' if lang == 'da' else 'to'} {_duration(window.end, lang)}"
    return f"fra {span} før" if lang == "da" else f"from {span} before"


def _number(x: float, lang: str) -> str:
    text = f"{x:g}"
    return text.replace(".", ",") if lang == "da" else text


def _day(d: date, lang: str) -> str:
    return d.strftime("%d.%m.%Y") if lang == "da" else d.isoformat()


def _label(system: str | None, code: str, lang: str) -> str:
    try:
        concept = code_system(system).concepts.get(code) if system else None
    except KeyError:
        concept = None
    if concept is None:
        return code
    return concept.label_da if lang == "da" else concept.label_en


def deciding_events(indicator: m.Indicator) -> m.Events | None:
    """The selection whose absence explains a missing numerator (a one-event numerator), if any."""
    measure = indicator.measure
    if isinstance(measure, m.PatientProportion) and isinstance(measure.numerator, (m.HasEvents, m.LatestValue)):
        return measure.numerator.events
    if isinstance(measure, m.EventRate):
        return measure.events
    return indicator.fact


def describe_fact(flag: dict[str, Any], indicator: m.Indicator, lang: str = "da") -> str:
    """A worklist row's deciding fact: "Seneste LDL-kolesterol 3,1 mmol/L den 12.03.2025", "Seneste
    statin: Atorvastatin (C10AA05) den 02.01.2025", or "Ingen statiner inden for 12 måneder"."""
    if flag.get("fact_date") is not None:
        label = _label(flag.get("fact_system"), flag["fact_code"], lang)
        what = label if label == flag["fact_code"] else f"{label} ({flag['fact_code']})"
        parts = [("Seneste " if lang == "da" else "Latest ") + what]
        if flag.get("fact_value") is not None:
            unit = f" {flag['fact_unit']}" if flag.get("fact_unit") else ""
            parts.append(_number(flag["fact_value"], lang) + unit)
        elif flag.get("fact_text"):
            parts[-1] += ":"
            parts.append(str(flag["fact_text"]))
        parts.append(("den " if lang == "da" else "on ") + _day(flag["fact_date"], lang))
        return " ".join(parts)
    events = deciding_events(indicator)
    if events is None:
        return "Ingen afgørende registrering" if lang == "da" else "No deciding record"
    titles = " / ".join(c.title for c in events.codelists) or events.table
    return (f"Ingen {titles.lower()} {window_words(events.window, lang)}" if lang == "da"
            else f"No {titles.lower()} {window_words(events.window, lang)}")

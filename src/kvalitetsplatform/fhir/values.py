"""FHIR data types → contract values: dates and times in Danish local time, names, codings, quantities."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kvalitetsplatform.fhir import systems

DANISH_TIME = ZoneInfo("Europe/Copenhagen")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL = re.compile(r"^\d{4}(-\d{2})?$")


class Partial(ValueError):
    """A FHIR date with only a year or a month: a valid FHIR value the contract cannot hold."""


def parse_datetime(value: object) -> datetime | None:
    """A FHIR date, dateTime or instant as a naive timestamp in Danish local time, to the second.

    Times with a zone are converted to Copenhagen time; a time whose offset already is Copenhagen's for that
    wall time is kept as written (so a time written by contract_to_fhir reads back unchanged, also across DST
    changes). A date alone means midnight. Raises Partial for "2023" / "2023-09", ValueError for anything
    malformed."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"forventede en dato eller et tidspunkt, fik {value!r}")
    if _PARTIAL.match(value):
        raise Partial(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"ugyldigt tidspunkt {value!r}") from None
    if parsed.tzinfo is not None:
        wall = parsed.replace(tzinfo=None)
        if wall.replace(tzinfo=DANISH_TIME).utcoffset() != parsed.utcoffset():
            wall = parsed.astimezone(DANISH_TIME).replace(tzinfo=None)
        parsed = wall
    return parsed.replace(microsecond=0)


def parse_date(value: object) -> date:
    """A FHIR date or dateTime as a date (the Danish local date of a dateTime)."""
    if isinstance(value, str) and _DATE.match(value):
        return date.fromisoformat(value)
    return parse_datetime(value).date()


def format_datetime(value: datetime) -> str:
    """A naive Danish local timestamp as a FHIR dateTime with the Copenhagen offset of that wall time."""
    offset = value.replace(tzinfo=DANISH_TIME).utcoffset() or timedelta(0)
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{value.replace(microsecond=0).isoformat()}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def codings(concept: object) -> list[dict]:
    """The codings of a CodeableConcept (a Coding alone counts as one), dicts only."""
    if not isinstance(concept, dict):
        return []
    if "coding" not in concept and ("code" in concept or "system" in concept):
        return [concept]
    items = concept.get("coding")
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def has_coding(concept: object, system: str, code: str) -> bool:
    return any(c.get("system") == system and c.get("code") == code for c in codings(concept))


def concept_text(concept: object) -> str | None:
    """What a person would read for a CodeableConcept: its text, else the first display, else the first code."""
    if not isinstance(concept, dict):
        return None
    if concept.get("text"):
        return str(concept["text"])
    for c in codings(concept):
        if c.get("display"):
            return str(c["display"])
    for c in codings(concept):
        if c.get("code"):
            return str(c["code"])
    return None


def human_name(names: object) -> str | None:
    """The person's name for the contract: the official name (else the first), given names then family name,
    as the text when there are no parts. Prefixes ("Mr") are left out."""
    if not isinstance(names, list):
        return None
    candidates = [n for n in names if isinstance(n, dict)]
    name = next((n for n in candidates if n.get("use") == "official"), None) or next(
        (n for n in candidates if n.get("use") not in ("old", "maiden")), None)
    if name is None:
        return None
    given = [g for g in name.get("given") or [] if isinstance(g, str)]
    family = name.get("family") if isinstance(name.get("family"), str) else None
    parts = [*given, *([family] if family else [])]
    if parts:
        return " ".join(parts)
    return name.get("text") or None


def initials(name: str | None) -> str | None:
    """Initials as practice systems show them: the first letter of each name part ("Sidsel Andersen" → "SA")."""
    if not name:
        return None
    letters = [part[0] for part in re.split(r"[\s\-]+", name) if part and part[0].isalpha()]
    return "".join(letters).upper() or None


def unit_of(quantity: dict) -> str | None:
    """The unit as the terminology writes it: the human unit, else the UCUM code, with known synonyms merged."""
    unit = quantity.get("unit") or quantity.get("code")
    if not isinstance(unit, str) or not unit:
        return None
    return systems.UNIT_SYNONYMS.get(unit, unit)


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def extension(element: object, url: str) -> dict | None:
    if not isinstance(element, dict):
        return None
    for ext in element.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            return ext
    return None


def ydernummer(value: str) -> str:
    """A ydernummer as the contract writes it: 6 digits. Senders sometimes drop the leading zero ("77410")."""
    value = value.strip()
    return value.zfill(6) if value.isdigit() and 4 <= len(value) < 6 else value


def municipality(code: str) -> str:
    """DK Core writes municipality codes with 4 digits ("0330"); the contract with 3 ("330")."""
    code = code.strip()
    return code[1:] if len(code) == 4 and code.startswith("0") and code.isdigit() else code

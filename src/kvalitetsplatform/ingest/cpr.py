"""CPR numbers and replacement numbers: what kind of identifier a value is, and the birth date it carries.

Rules (shared/reference/security-and-disclosure.md §3.1; cpr.dk): a CPR is DDMMYY-NNNN, with or without the hyphen;
digit 7 with YY gives the century; modulus 11 is *not* required (numbers without it have been issued since 2007).
Kinds:
- `cpr`: a real CPR whose first six digits are a date;
- `cpr_substitute`: the substitute convention that adds 6 to the first day digit (day + 60); the synthetic
  population uses it, so its numbers can never be mistaken for real ones;
- `ecpr_national`: a national replacement number DDMMYY C AA G with C = 1 (1900s) or 7 (2000s), two letters and a
  digit, whose first six digits are a date;
- `ecpr_local`: another replacement number with letters in positions 7–10 (decentral schemes vary);
- `invalid`: anything else (including a national-looking number whose date does not exist).

Classification runs once per distinct person in a delivery, beside the HMAC that must run in Python anyway; the
per-row checks stay in SQL.
"""

from __future__ import annotations

import re
from datetime import date

from kvalitetsplatform.warehouse.vault import normalise_cpr

# The SQL twin of warehouse.vault.normalise_cpr, used to join facts to patients (a test keeps them in step).
NORMALISE_SQL = "upper(replace(trim({x}), '-', ''))"
MACROS = f"CREATE OR REPLACE TEMP MACRO kp_norm_cpr(x) AS {NORMALISE_SQL.format(x='x')};"

_SHAPE = re.compile(r"[0-9]{6}[0-9A-Z]{4}")
_DIGITS = re.compile(r"[0-9]{4}")
_NATIONAL = re.compile(r"[17][A-Z]{2}[0-9]")

def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _century(digit7: str, yy: int) -> int:
    if digit7 in "0123":
        return 1900
    if digit7 in "49":
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def classify_one(normalised: str | None) -> tuple[str, date | None]:
    """(kind, embedded birth date) of a normalised identifier (see warehouse.vault.normalise_cpr)."""
    if not normalised or not _SHAPE.fullmatch(normalised):
        return "invalid", None
    day, month, yy, tail = int(normalised[:2]), int(normalised[2:4]), int(normalised[4:6]), normalised[6:]
    if _DIGITS.fullmatch(tail):
        year = _century(tail[0], yy) + yy
        if (born := _date(year, month, day)) is not None:
            return "cpr", born
        if day > 60 and (born := _date(year, month, day - 60)) is not None:
            return "cpr_substitute", born
        return "invalid", None
    if _NATIONAL.fullmatch(tail):
        born = _date((1900 if tail[0] == "1" else 2000) + yy, month, day)
        return ("ecpr_national", born) if born else ("invalid", None)
    return "ecpr_local", None


def install(con) -> None:
    """Define the SQL normalisation macro on a connection."""
    con.execute(MACROS)


def classify(values: list[str | None]) -> list[tuple[str, date | None]]:
    """(kind, embedded birth date) per raw value."""
    return [classify_one(normalise_cpr(v) if v is not None else None) for v in values]

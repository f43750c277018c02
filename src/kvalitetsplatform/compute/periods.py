"""Reference dates: month ends, the newest first covered by the loaded deliveries."""

from __future__ import annotations

import calendar
from datetime import date


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def previous_month_end(day: date) -> date:
    """The last month end on or before `day`."""
    if day == month_end(day):
        return day
    first = day.replace(day=1)
    return date.fromordinal(first.toordinal() - 1)


def month_ends(end: date, periods: int) -> list[date]:
    """`periods` month ends up to and including the month end on or before `end`, oldest first."""
    if periods < 1:
        raise ValueError("antallet af perioder skal være mindst 1")
    last = previous_month_end(end)
    out = []
    year, month = last.year, last.month
    for _ in range(periods):
        out.append(date(year, month, calendar.monthrange(year, month)[1]))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]

"""Synthetic identities: CPR numbers that can never be real, and plausible Danish names.

CPR convention (documented in docs/synthetic-data.md): a *substitute* CPR has the day of birth + 60 in its first two
digits (DD+60, so 61–91), the real month and year, a century digit consistent with the birth year (0–3 for 1900–1999,
4–9 for 2000–2036) and a last digit that is odd for men and even for women. No real CPR has a day above 31, so no
synthetic number can belong to a person. About 0.3 % get a national replacement number (eCPR) instead: DDMMYY, the
century digit 1 (born 1900–1999) or 7 (born 2000 or later), two letters A–Z and a sex digit (odd = man).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DATA = Path(__file__).parent / "data"


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of days since 1970-01-01."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _digits(value: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative ints as an (n, width) uint8 matrix of ASCII codes."""
    out = np.empty((len(value), width), np.uint8)
    v = value.astype(np.int64).copy()
    for i in range(width - 1, -1, -1):
        out[:, i] = 48 + v % 10
        v //= 10
    return out


def make_cprs(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray, ecpr: np.ndarray) -> np.ndarray:
    """Unique CPR strings (numpy 'S10') for people born on `birth` (days since epoch)."""
    year, month, day = ymd(birth)
    n = len(birth)
    head = np.empty((n, 6), np.uint8)
    head[:, 0:2] = _digits(np.where(ecpr, day, day + 60), 2)
    head[:, 2:4] = _digits(month, 2)
    head[:, 4:6] = _digits(year % 100, 2)
    out = np.empty((n, 10), np.uint8)
    out[:, :6] = head
    # The same number as an integer, to find duplicates fast: head digits, century, middle part, sex digit.
    head_key = ((np.where(ecpr, day, day + 60) * 100 + month) * 100 + year % 100).astype(np.int64)
    key = np.zeros(n, np.int64)
    todo = np.arange(n)
    while len(todo):
        k = len(todo)
        e, y, m = ecpr[todo], year[todo], male[todo]
        century = np.where(y < 2000, rng.integers(0, 4, k), rng.integers(4, 10, k))
        century = np.where(e, np.where(y < 2000, 1, 7), century)
        sex = rng.integers(0, 5, k) * 2 + m.astype(np.int64)
        mid = rng.integers(0, 100, k)
        letters = rng.integers(0, 26, (k, 2))
        out[todo, 6] = 48 + century
        out[todo, 7:9] = np.where(e[:, None], (65 + letters).astype(np.uint8), _digits(mid, 2))
        out[todo, 9] = 48 + sex
        middle = np.where(e, 100 + letters[:, 0] * 26 + letters[:, 1], mid)
        key[todo] = ((head_key[todo] * 10 + century) * 1000 + middle) * 10 + sex
        order = np.argsort(key)  # any tie order will do: it is the same every run
        repeated = np.zeros(n, bool)
        repeated[order[1:]] = key[order[1:]] == key[order[:-1]]  # every copy after the first
        todo = np.flatnonzero(repeated)
    return out.view("S10").ravel().copy()


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def name_lists() -> dict[str, tuple[list[str], np.ndarray]]:
    """First names (women, men) and surnames with sampling weights, from the files shipped in synth/data."""
    women, men = _lines("fornavne_kvinder.txt"), _lines("fornavne_maend.txt")
    surnames = [line.split(",") for line in _lines("efternavne.txt")]
    # Common first names are a little more common: a gentle Zipf weight by list position.
    zipf = lambda k: 1 / np.arange(1, k + 1) ** 0.4
    return {
        "F": (women, zipf(len(women)) / zipf(len(women)).sum()),
        "M": (men, zipf(len(men)) / zipf(len(men)).sum()),
        "last": ([s for s, _ in surnames],
                 np.array([float(w) for _, w in surnames]) / sum(float(w) for _, w in surnames)),
    }


def draw_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """Name parts per person as an (n, 3) int16 matrix: first name, middle name (surname list, -1 none), surname."""
    lists = name_lists()
    n = len(male)
    first = np.where(male, rng.choice(len(lists["M"][0]), n, p=lists["M"][1]),
                     rng.choice(len(lists["F"][0]), n, p=lists["F"][1]))
    last = rng.choice(len(lists["last"][0]), n, p=lists["last"][1])
    middle = np.where(rng.random(n) < 0.22, rng.choice(len(lists["last"][0]), n, p=lists["last"][1]), -1)
    middle = np.where(middle == last, -1, middle)
    return np.stack([first, middle, last], axis=1).astype(np.int16)


def full_names(parts: np.ndarray, male: np.ndarray) -> pa.Array:
    lists = name_lists()
    women, men, last = (pa.array(lists[k][0]) for k in ("F", "M", "last"))
    first = pc.if_else(pa.array(male), men.take(pa.array(np.where(male, parts[:, 0], 0))),
                       women.take(pa.array(np.where(male, 0, parts[:, 0]))))
    middle = last.take(pa.array(np.where(parts[:, 1] >= 0, parts[:, 1], 0)), )
    middle = pc.if_else(pa.array(parts[:, 1] >= 0), middle, pa.nulls(len(parts), pa.string()))
    return pc.binary_join_element_wise(first, middle, last.take(pa.array(parts[:, 2])), " ",
                                       null_handling="skip")


def initials(names: list[str]) -> list[str]:
    return ["".join(part[0] for part in name.split())[:3].upper() for name in names]

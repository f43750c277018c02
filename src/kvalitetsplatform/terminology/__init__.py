"""Code systems: versioned files with Danish (and English) labels, the vocabulary every layer validates against.

Each code system is one CSV file `codesystems/<NAME>@<version>.csv` with at least `code,label_da,label_en`;
measurement systems add `unit,plausible_low,plausible_high` (and `values` for coded text). A code is valid when it is
in the file: the platform knows exactly the codes it ships.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CODESYSTEM_DIR = Path(__file__).parent / "codesystems"


@dataclass(frozen=True)
class Concept:
    code: str
    label_da: str
    label_en: str
    extra: dict[str, str]

    def label(self, lang: str = "da") -> str:
        return self.label_da if lang == "da" else self.label_en

    @property
    def unit(self) -> str | None:
        return self.extra.get("unit") or None

    @property
    def plausible_range(self) -> tuple[float | None, float | None]:
        low, high = self.extra.get("plausible_low"), self.extra.get("plausible_high")
        return (float(low) if low else None, float(high) if high else None)

    @property
    def allowed_values(self) -> tuple[str, ...]:
        values = self.extra.get("values")
        return tuple(values.split("|")) if values else ()


@dataclass(frozen=True)
class CodeSystem:
    name: str
    version: str
    concepts: dict[str, Concept]

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def __contains__(self, code: object) -> bool:
        return code in self.concepts

    def __getitem__(self, code: str) -> Concept:
        return self.concepts[code]

    def get(self, code: str) -> Concept | None:
        return self.concepts.get(code)

    def label(self, code: str, lang: str = "da") -> str:
        concept = self.concepts.get(code)
        return concept.label(lang) if concept else code


def _files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(CODESYSTEM_DIR.glob("*@*.csv")):
        name = path.stem.split("@", 1)[0]
        found[name] = path  # sorted: the newest version of each name wins
    return found


@cache
def code_system(name: str) -> CodeSystem:
    """The current version of a code system, e.g. `code_system("ICPC2DK")`."""
    files = _files()
    if name not in files:
        raise KeyError(f"unknown code system {name!r}; known: {', '.join(sorted(files))}")
    path = files[name]
    concepts: dict[str, Concept] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            code = row.pop("code")
            concepts[code] = Concept(code, row.pop("label_da"), row.pop("label_en"), row)
    return CodeSystem(name, path.stem.split("@", 1)[1], concepts)


def code_systems() -> list[str]:
    return sorted(_files())

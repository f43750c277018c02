"""What an import found: problems named by file, resource and element, and counts of what was and wasn't
mapped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["fejl", "advarsel", "info"]


@dataclass(frozen=True)
class Issue:
    """One finding. `fejl`: something in the input could not be imported; `advarsel`: imported, but a value
    was lost or left empty; `info`: a deliberate choice the mapping made (a supplement code dropped, a
    duplicate merged)."""

    severity: Severity
    file: str
    message: str
    resource: str = ""  # "Observation/abc"
    position: str = ""  # where in the file: "linje 4", "Bundle.entry[3]"
    element: str = ""  # FHIR path: "Patient.identifier[0].value"

    def __str__(self) -> str:
        where = ", ".join(p for p in (self.file, self.position, self.resource, self.element) if p)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "file": self.file, "position": self.position,
                "resource": self.resource, "element": self.element, "message": self.message}


class FhirImportError(ValueError):
    """The input cannot be read as FHIR R4 at all (malformed JSON, wrong FHIR version, a broken Bundle).
    Nothing is written. Lists every such problem found, not just the first."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        shown = "\n".join(f"  - {i}" for i in issues[:20])
        more = f"\n  … og {len(issues) - 20} mere" if len(issues) > 20 else ""
        super().__init__(f"FHIR-importen kan ikke læse input ({len(issues)} fejl):\n{shown}{more}")


@dataclass
class MappingReport:
    files: list[str] = field(default_factory=list)
    resources: Counter = field(default_factory=Counter)  # resources read, per type
    bundles: Counter = field(default_factory=Counter)  # Bundles read, per Bundle.type
    mapped: Counter = field(default_factory=Counter)  # resources that became at least one row, per type
    rows: dict[str, int] = field(default_factory=dict)  # rows written, per contract table
    unmapped_types: Counter = field(default_factory=Counter)  # resource types the contract has no table for
    unknown_profiles: Counter = field(default_factory=Counter)  # meta.profile values this importer does not know
    duplicates: int = 0  # identical copies of a resource (same type and id) read more than once
    issues: list[Issue] = field(default_factory=list)

    def add(self, severity: Severity, file: str, message: str, *, resource: str = "", position: str = "",
            element: str = "") -> None:
        self.issues.append(Issue(severity, file, message, resource, position, element))

    def of(self, severity: Severity) -> list[Issue]:
        return [i for i in self.issues if i.severity == severity]

    @property
    def errors(self) -> list[Issue]:
        return self.of("fejl")

    @property
    def warnings(self) -> list[Issue]:
        return self.of("advarsel")

    def to_dict(self) -> dict:
        return {
            "files": self.files, "resources": dict(self.resources), "bundles": dict(self.bundles),
            "mapped": dict(self.mapped), "rows": self.rows, "unmapped_types": dict(self.unmapped_types),
            "unknown_profiles": dict(self.unknown_profiles), "duplicates": self.duplicates,
            "issues": [i.to_dict() for i in self.issues],
        }

    def summary(self) -> str:
        """A short Danish summary for the command line."""
        def counts(c: Counter | dict) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "ingen"

        lines = [
            f"Filer: {len(self.files)}; ressourcer læst: {sum(self.resources.values())} ({counts(self.resources)})",
            f"Rækker pr. tabel: {counts(self.rows)}",
            f"Ikke importeret (ingen tabel i kontrakten): {counts(self.unmapped_types)}",
            f"Ukendte profiler: {len(self.unknown_profiles)}; dubletter fjernet: {self.duplicates}",
            f"Fejl: {len(self.errors)}; advarsler: {len(self.warnings)}; info: {len(self.of('info'))}",
        ]
        return "\n".join(lines)

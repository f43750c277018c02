"""The indicator language: package files (YAML) → a typed, immutable query model (`model`) → engines.

- `packages/*.yaml` — the shipped packages; `codelists/<system>/<name>@<version>.yaml` — their codelists.
- `package.load_package` reads one file and reports every mistake with file, line and field.
- `evaluate` is the plain-Python reference engine; `assurance` runs each package's test patients with it.
- `testpatients.contract_deliveries` turns a test patient into contract rows for an engine's own spec tests.

The format is documented for package authors in docs/packages.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kvalitetsplatform.indicators.model import Indicator, Package
from kvalitetsplatform.indicators.package import load_package, read_package
from kvalitetsplatform.indicators.source import PackageError, PackageFileError

PACKAGE_DIR = Path(__file__).parent / "packages"


@dataclass
class Catalogue:
    """Packages read together, with every error and warning found."""

    packages: list[Package] = field(default_factory=list)
    errors: list[PackageError] = field(default_factory=list)
    warnings: list[PackageError] = field(default_factory=list)
    files: int = 0

    def package(self, package_id: str) -> Package:
        for p in self.packages:
            if p.id == package_id:
                return p
        raise KeyError(package_id)

    def indicators(self) -> list[Indicator]:
        return [i for p in self.packages for i in p.indicators]


def shipped_package_files() -> list[Path]:
    return sorted(PACKAGE_DIR.glob("*.yaml"))


def load_catalogue(paths: list[Path] | None = None) -> Catalogue:
    """Read package files (default: the shipped ones); indicator ids must be unique across them all."""
    catalogue = Catalogue()
    owner: dict[str, tuple[str, int]] = {}
    for path in paths if paths is not None else shipped_package_files():
        catalogue.files += 1
        package, reader = load_package(path)
        catalogue.errors.extend(reader.errors)
        catalogue.warnings.extend(reader.warnings)
        if package is None:
            continue
        duplicate = False
        for indicator in package.indicators:
            if indicator.id in owner:
                other_file, other_line = owner[indicator.id]
                catalogue.errors.append(PackageError(reader.file, indicator.line,
                                                     f"indicators[{indicator.id}].id",
                                                     f"indikator-id'et {indicator.id} bruges også i {other_file} "
                                                     f"(linje {other_line})"))
                duplicate = True
            owner.setdefault(indicator.id, (reader.file, indicator.line))
        if not duplicate:
            catalogue.packages.append(package)
    return catalogue


__all__ = ["Catalogue", "PACKAGE_DIR", "Indicator", "Package", "PackageError", "PackageFileError", "load_catalogue",
           "load_package", "read_package", "shipped_package_files"]

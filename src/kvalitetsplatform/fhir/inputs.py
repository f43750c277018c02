"""FHIR files handed to `kp ingest`: recognised, converted into ordinary deliveries, then loaded like any other.

The practice's master data (cluster, region, practice type …), which FHIR does not carry, is taken from the
warehouse's newest period of that practice when the practice has delivered before.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from kvalitetsplatform.contract import MANIFEST_NAME, TABLES
from kvalitetsplatform.fhir import systems
from kvalitetsplatform.fhir.delivery import to_delivery
from kvalitetsplatform.fhir.reader import FHIR_SUFFIXES, fhir_files
from kvalitetsplatform.fhir.report import MappingReport
from kvalitetsplatform.settings import Settings


def fhir_imports(path: Path) -> list[Path]:
    """The FHIR imports a path holds, each to become one delivery: every folder with a Bulk Data export
    manifest; else a FHIR file, or a folder of FHIR files that holds no delivery (manifest.json)."""
    path = Path(path)
    if path.is_file():
        return [path] if path.name.lower().endswith(FHIR_SUFFIXES) and path.name != MANIFEST_NAME else []
    if not path.is_dir():
        return []
    exports = sorted({m.parent for m in path.rglob(systems.BULK_MANIFEST_NAME)
                      if not (m.parent / MANIFEST_NAME).exists()})
    if exports:
        return exports
    if any(path.rglob(MANIFEST_NAME)):
        return []
    return [path] if fhir_files([path]) else []


def warehouse_practice(settings: Settings) -> Callable[[str], dict | None]:
    """A look-up of a practice's newest master data in the warehouse (None when unknown or no warehouse yet)."""
    def lookup(ydernummer: str) -> dict | None:
        from kvalitetsplatform.warehouse import WarehouseError, connect

        try:
            con = connect(settings)
        except WarehouseError:
            return None
        try:
            practice = con.table("practice")
            fields = [f.name for f in TABLES["practice"].fields if f.name in practice.columns]
            rows = practice.filter(practice.ydernummer == ydernummer).select(fields).to_pyarrow().to_pylist()
        finally:
            con.disconnect()
        return rows[0] if rows else None

    return lookup


def prepare_for_ingest(paths: Iterable[Path], settings: Settings,
                       reports: list[MappingReport] | None = None) -> list[Path]:
    """The paths to ingest with every FHIR import converted into a delivery folder (under
    $KP_HOME/deliveries/fhir/<delivery id>); a path holding deliveries stays. Raises FhirImportError when a
    FHIR input cannot be read."""
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        imports = fhir_imports(path)
        if not imports or (path.is_dir() and any(path.rglob(MANIFEST_NAME))):
            out.append(path)
        for source in imports:
            out.append(_convert(source, settings, reports))
    return out


def _convert(source: Path, settings: Settings, reports: list[MappingReport] | None) -> Path:
    target = settings.deliveries_dir / "fhir"
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".konvertering-", dir=target))
    try:
        manifest, report = to_delivery([source], staging, practice=warehouse_practice(settings))
        final = target / manifest.delivery_id
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if reports is not None:
        reports.append(report)
    return final

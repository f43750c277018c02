"""Ingestion: validate a delivery against the contract, quarantine bad rows, pseudonymise CPR, load atomically.

`ingest(paths, settings)` finds deliveries (folders holding manifest.json, searched recursively) and loads each in
its own transaction; see `loader` for the order of work, `files` for whole-file checks, `checks` for row checks,
`quality` for the data-quality report and `cpr` for CPR classification.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kvalitetsplatform.contract import MANIFEST_NAME
from kvalitetsplatform.contract.delivery import ContractError, read_manifest
from kvalitetsplatform.ingest.loader import IngestResult, Loader
from kvalitetsplatform.settings import Settings
from kvalitetsplatform.warehouse import open_for_loading

__all__ = ["IngestResult", "Reporter", "find_deliveries", "ingest"]


class Reporter:
    """Hooks for progress display; the default does nothing."""

    def start(self, total: int) -> None: ...

    def delivery(self, folder: Path) -> None: ...

    def step(self, text: str) -> None: ...

    def done(self, result: IngestResult) -> None: ...


def find_deliveries(paths: Iterable[Path]) -> list[Path]:
    """Delivery folders under the given paths, oldest extract first (so a correction follows what it corrects)."""
    found: set[Path] = set()
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path} findes ikke")
        if (path / MANIFEST_NAME).is_file():
            found.add(path)
        elif path.is_dir():
            found.update(m.parent for m in path.rglob(MANIFEST_NAME))

    def order(folder: Path):
        try:
            return (0, read_manifest(folder).extract_ts.isoformat(), str(folder))
        except ContractError:
            return (1, "", str(folder))

    return sorted(found, key=order)


def ingest(paths: Iterable[Path], settings: Settings, reporter: Reporter | None = None) -> list[IngestResult]:
    from kvalitetsplatform.fhir.inputs import prepare_for_ingest

    reporter = reporter or Reporter()
    folders = find_deliveries(prepare_for_ingest(paths, settings))  # FHIR files become ordinary deliveries first
    reporter.start(len(folders))
    results = []
    con = open_for_loading(settings)
    try:
        loader = Loader(con, settings)
        for folder in folders:
            reporter.delivery(folder)
            result = loader.load(folder, reporter.step)
            reporter.done(result)
            results.append(result)
    finally:
        con.close()
    return results

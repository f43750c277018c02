"""Ingestion: validate a delivery against the contract, quarantine bad rows, pseudonymise CPR, load atomically.

`ingest(paths, settings)` finds deliveries (folders holding manifest.json, searched recursively) and loads each in
its own transaction; see `loader` for the order of work, `files` for whole-file checks, `checks` for row checks,
`quality` for the data-quality report and `cpr` for CPR classification.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kvalitetsplatform.contract import MANIFEST_NAME
from kvalitetsplatform.contract.delivery import ContractError, read_manifest
from kvalitetsplatform.ingest.loader import IngestResult, Loader, VaultClaims
from kvalitetsplatform.settings import Settings
from kvalitetsplatform.warehouse import open_for_loading

__all__ = ["IngestResult", "Reporter", "find_deliveries", "ingest"]

LOG_BYTES = 16 * 1024 ** 2  # DuckDB's own default checkpoint threshold


class Reporter:
    """Hooks for progress display; the default does nothing."""

    def start(self, total: int) -> None: ...

    def delivery(self, folder: Path) -> None: ...

    def step(self, text: str) -> None: ...

    def done(self, result: IngestResult) -> None: ...


def _manifest_or_none(folder: Path):
    try:
        return read_manifest(folder)
    except ContractError:
        return None


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
        manifest = _manifest_or_none(folder)
        return (0, manifest.extract_ts.isoformat(), str(folder)) if manifest else (1, "", str(folder))

    return sorted(found, key=order)


def _shares(folders: list[Path], workers: int) -> list[list[Path]]:
    """Split deliveries between workers: all of one practice's go to the same worker, in order (they depend on
    each other), and the work (bytes to read) is spread evenly."""
    practices: dict[str, list[Path]] = {}
    for folder in folders:
        manifest = _manifest_or_none(folder)
        practices.setdefault(manifest.ydernummer if manifest else str(folder), []).append(folder)

    def size(group: list[Path]) -> int:
        return sum(f.stat().st_size for folder in group for f in folder.iterdir() if f.is_file())

    shares: list[list[Path]] = [[] for _ in range(workers)]
    load = [0] * workers
    for group in sorted(practices.values(), key=size, reverse=True):
        i = load.index(min(load))
        shares[i] += group
        load[i] += size(group)
    return shares


def ingest(paths: Iterable[Path], settings: Settings, reporter: Reporter | None = None,
           workers: int = 2) -> list[IngestResult]:
    """Load every delivery under `paths`, each in its own transaction; `workers` practices load side by side."""
    reporter = reporter or Reporter()
    folders = find_deliveries(paths)
    reporter.start(len(folders))
    results: dict[Path, IngestResult] = {}
    lock = threading.Lock()
    claims = VaultClaims()
    shares = [s for s in _shares(folders, max(1, workers)) if s]
    con = open_for_loading(settings)

    def work(share: list[Path]) -> None:
        cursor = con.cursor()
        cursor.execute("SET enable_progress_bar = false")
        try:
            loader = Loader(cursor, settings, claims)
            for folder in share:
                with lock:
                    reporter.delivery(folder)
                result = loader.load(folder, reporter.step)
                with lock:
                    results[folder] = result
                    reporter.done(result)
        finally:
            cursor.close()

    try:
        # Each worker's queries run on one thread (small queries waste less on coordination); the warehouse file is
        # checkpointed every gigabyte of log and at the end rather than after each delivery, so rows appended to a
        # table's last row group are compressed once instead of at every commit.
        con.execute(f"SET threads = {max(1, (os.cpu_count() or 2) // max(1, len(shares)))}")
        con.execute("SET checkpoint_threshold = '1GB'")
        if len(shares) <= 1:
            for share in shares:
                work(share)
        else:
            with ThreadPoolExecutor(max_workers=len(shares)) as pool:
                for future in [pool.submit(work, share) for share in shares]:
                    future.result()
        _checkpoint_or_leave(con, settings)
    finally:
        con.close()
    return [results[folder] for folder in folders]


def _checkpoint_or_leave(con, settings: Settings) -> None:
    """Write the log into the warehouse file once it holds `LOG_BYTES`; until then leave it (also when closing).

    A delivery is durable at its commit (the write-ahead log is synced), and readers replay the log. A checkpoint
    rewrites the last row groups of every table a delivery touched: ≈ 0.3–0.5 s after one practice's monthly
    delivery into the national warehouse, more than the load itself, so small loads share one."""
    log = Path(f"{settings.warehouse_path}.wal")
    if log.exists() and log.stat().st_size >= LOG_BYTES:
        con.execute("CHECKPOINT")
    else:
        con.execute("PRAGMA disable_checkpoint_on_shutdown")

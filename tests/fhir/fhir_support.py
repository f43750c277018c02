"""Helpers for the FHIR import tests: where the published examples are, running an import, and loading its
delivery with the real ingestion to see what is quarantined."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.fhir import to_delivery
from kvalitetsplatform.ingest import ingest
from kvalitetsplatform.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
EXTRACT_TS = datetime(2026, 11, 26, 8, 0)  # a fixed "now": the MedCom note of 12.12.2026 lies after it
LISTED_FROM = date(2020, 1, 1)


def shared_examples() -> Path:
    """The published HL7 Denmark / MedCom examples: $KP_SHARED_DIR/fhir-examples, else ../shared beside the
    repo."""
    base = Path(os.environ["KP_SHARED_DIR"]) if os.environ.get("KP_SHARED_DIR") else REPO.parent / "shared"
    return base / "fhir-examples"


def import_fhir(paths, out: Path, **kwargs):
    """Run the import and read the written delivery back: (manifest, report, {table: rows})."""
    kwargs.setdefault("extract_ts", EXTRACT_TS)
    manifest, report = to_delivery(paths, out, **kwargs)
    tables = {f.table: pq.read_table(out / f.path).to_pylist() for f in manifest.files}
    return manifest, report, tables


def key_of(table_name: str, row: dict) -> str:
    return "|".join(str(row[k]) for k in TABLES[table_name].key)


KEYS = {"KP_PSEUDONYM_KEY": "p" * 64, "KP_VAULT_KEY": "v" * 64, "KP_SESSION_SECRET": "s" * 64}


def ingest_delivery(folder: Path, home: Path):
    """Load a written delivery with the real ingestion into a fresh warehouse under `home`: (result, {(table,
    row number): [(field, rule), …]}) for every quarantined row."""
    settings = load_settings({"KP_HOME": str(home), **KEYS})
    [result] = ingest([folder], settings)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute("SELECT table_name, row_number, field, rule FROM quarantine WHERE delivery_id = ? "
                           "ORDER BY 1, 2, 3, 4", [result.delivery_id]).fetchall()
    finally:
        con.close()
    refused: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for table, row, field, rule in rows:
        refused.setdefault((table, row), []).append((field, rule))
    return result, refused

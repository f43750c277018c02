"""Shared helpers for the FHIR import tests: where the published examples are, running an import, and what the
contract refuses in a row (what ingestion will quarantine)."""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.fhir import to_delivery
from kvalitetsplatform.terminology import code_system, code_systems

REPO = Path(__file__).resolve().parents[2]
EXTRACT_TS = datetime(2026, 11, 26, 8, 0)  # a fixed "now": the MedCom note of 12.12.2026 lies after it
LISTED_FROM = date(2020, 1, 1)


def shared_examples() -> Path:
    """The published HL7 Denmark / MedCom examples: $KP_SHARED_DIR/fhir-examples, else ../shared beside the
    repo."""
    base = Path(os.environ["KP_SHARED_DIR"]) if os.environ.get("KP_SHARED_DIR") else REPO.parent / "shared"
    return base / "fhir-examples"


@pytest.fixture(scope="session")
def examples() -> Path:
    folder = shared_examples()
    assert (folder / "INDEX.md").exists(), (
        f"the FHIR examples are not at {folder}; set KP_SHARED_DIR to the folder holding fhir-examples/")
    return folder


def import_fhir(paths, out: Path, **kwargs):
    """Run the import and read the written delivery back: (manifest, report, {table: rows})."""
    kwargs.setdefault("extract_ts", EXTRACT_TS)
    manifest, report = to_delivery(paths, out, **kwargs)
    tables = {f.table: pq.read_table(out / f.path).to_pylist() for f in manifest.files}
    return manifest, report, tables


def violations(table_name: str, row: dict, extract_ts: datetime = EXTRACT_TS) -> set[str]:
    """The fields of a row the contract refuses — what ingestion is specified to quarantine (issue 2 §4): a
    missing required value, a value outside its choices or pattern, a code not in its code system, a unit that
    is not the analysis' unit, an implausible value, a date after the extract. Read from the contract and the
    terminology."""
    table = TABLES[table_name]
    bad: set[str] = set()
    for f in table.fields:
        value = row.get(f.name)
        if value is None or value == "":
            if f.required:
                bad.add(f.name)
            continue
        if f.choices and str(value) not in f.choices:
            bad.add(f.name)
        if f.pattern and not re.fullmatch(f.pattern, str(value)):
            bad.add(f.name)
        if f.code_system:
            name = row.get("code_system") if f.code_system == "@code_system" else f.code_system
            if name in code_systems() and str(value) not in code_system(name):
                bad.add(f.name)
        if isinstance(value, datetime) and value > extract_ts:
            bad.add(f.name)
        elif isinstance(value, date) and not isinstance(value, datetime) and value > extract_ts.date():
            bad.add(f.name)
    if table_name in ("lab_result", "measurement") and row.get("code_system") in code_systems():
        concept = code_system(row["code_system"]).get(row.get("code") or "")
        if concept is not None:
            if row.get("unit") and concept.unit and row["unit"] != concept.unit:
                bad.add("unit")
            low, high = concept.plausible_range
            value = row.get("value_num")
            if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
                bad.add("value_num")
    return bad


def key_of(table_name: str, row: dict) -> str:
    return "|".join(str(row[k]) for k in TABLES[table_name].key)

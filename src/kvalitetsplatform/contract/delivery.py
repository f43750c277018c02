"""Deliveries on disk: writing one (used by `kp synth`, the FHIR import and tests) and reading its manifest.

A delivery is a folder holding `manifest.json` and one file per table. The manifest is the delivery's promise: the
contract version, the practice, the period covered and, per file, its table, format, row count and SHA-256. Reading
checks the manifest's own shape only; checking files against it is ingestion's job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kvalitetsplatform.contract import CONTRACT_VERSION, MANIFEST_NAME, TABLES, Table

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s"),
    "bool": pa.bool_(),
}


class ContractError(ValueError):
    """A delivery breaks the contract. The message names the file, and the row and field where there is one."""

    def __init__(self, file: str | Path, message: str, *, row: int | None = None, field: str | None = None):
        self.file, self.row, self.field = str(file), row, field
        where = str(file) + (f", række {row}" if row is not None else "") + (f", felt '{field}'" if field else "")
        super().__init__(f"{where}: {message}")


def arrow_schema(table: Table) -> pa.Schema:
    """Column types of a table's file. Every column is nullable: a missing required value is a row fault that
    ingestion quarantines with its row and field, not something a writer can refuse for the whole file."""
    return pa.schema([pa.field(f.name, ARROW_TYPES[f.type]) for f in table.fields])


@dataclass(frozen=True)
class ManifestFile:
    table: str
    path: str
    format: str  # "parquet" | "csv"
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    delivery_id: str
    ydernummer: str
    vendor: str
    extract_ts: datetime
    period_start: date
    period_end: date
    files: tuple[ManifestFile, ...] = field(default_factory=tuple)
    contract_version: str = CONTRACT_VERSION

    def to_json(self) -> str:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        return json.dumps(data, ensure_ascii=False, indent=2, default=str)

    def file_for(self, table: str) -> ManifestFile | None:
        return next((f for f in self.files if f.table == table), None)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_delivery(folder: Path, *, delivery_id: str, ydernummer: str, vendor: str, extract_ts: datetime,
                   period_start: date, period_end: date, tables: dict[str, pa.Table],
                   fmt: str = "parquet") -> Manifest:
    """Write the tables (already in contract shape) and a truthful manifest into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, data in tables.items():
        table = TABLES[name]
        data = data.select([f.name for f in table.fields]).cast(arrow_schema(table))
        path = folder / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(data, path, compression="zstd")
        elif fmt == "csv":
            pacsv.write_csv(data, path)
        else:
            raise ValueError(f"unknown format {fmt!r}")
        files.append(ManifestFile(name, path.name, fmt, data.num_rows, sha256_of(path)))
    manifest = Manifest(delivery_id, ydernummer, vendor, extract_ts, period_start, period_end, tuple(files))
    (folder / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _parse(value: object, kind: type, path: Path, name: str):
    try:
        if kind is date:
            return date.fromisoformat(str(value))
        if kind is datetime:
            return datetime.fromisoformat(str(value))
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError
            return value
        if not isinstance(value, str) or not value:
            raise ValueError
        return value
    except ValueError:
        expected = {date: "en dato (ÅÅÅÅ-MM-DD)", datetime: "et tidspunkt (ISO 8601)", int: "et heltal",
                    str: "en ikke-tom tekst"}[kind]
        raise ContractError(path, f"forventede {expected}, fik {value!r}", field=name) from None


def read_manifest(folder: Path) -> Manifest:
    """Read and check the shape of a delivery's manifest; a problem raises ContractError naming the field."""
    path = folder / MANIFEST_NAME
    if not path.exists():
        raise ContractError(path, "manifestet mangler (hver leverance skal have manifest.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ContractError(path, f"filen er ikke UTF-8 ({e.reason} ved byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ContractError(path, f"ugyldig JSON: {e.msg}", row=e.lineno) from None
    if not isinstance(data, dict):
        raise ContractError(path, "manifestet skal være et JSON-objekt")
    for name in ("contract_version", "delivery_id", "ydernummer", "vendor", "extract_ts", "period_start",
                 "period_end", "files"):
        if name not in data:
            raise ContractError(path, "feltet mangler", field=name)
    if data["contract_version"] != CONTRACT_VERSION:
        raise ContractError(path, f"kontraktversion {data['contract_version']!r} understøttes ikke (forventede "
                                  f"{CONTRACT_VERSION})", field="contract_version")
    ydernummer = _parse(data["ydernummer"], str, path, "ydernummer")
    if not (len(ydernummer) == 6 and ydernummer.isdigit()):
        raise ContractError(path, f"ydernummer skal være 6 cifre, fik {ydernummer!r}", field="ydernummer")
    period_start = _parse(data["period_start"], date, path, "period_start")
    period_end = _parse(data["period_end"], date, path, "period_end")
    if period_end < period_start:
        raise ContractError(path, "period_end ligger før period_start", field="period_end")
    if not isinstance(data["files"], list):
        raise ContractError(path, "skal være en liste af filer", field="files")
    files = []
    for i, entry in enumerate(data["files"]):
        where = f"files[{i}]"
        if not isinstance(entry, dict):
            raise ContractError(path, "skal være et objekt", field=where)
        for name in ("table", "path", "format", "rows", "sha256"):
            if name not in entry:
                raise ContractError(path, "feltet mangler", field=f"{where}.{name}")
        if entry["table"] not in TABLES:
            raise ContractError(path, f"ukendt tabel {entry['table']!r}; kontrakten kender "
                                      f"{', '.join(TABLES)}", field=f"{where}.table")
        if entry["format"] not in ("parquet", "csv"):
            raise ContractError(path, f"format skal være parquet eller csv, fik {entry['format']!r}",
                                field=f"{where}.format")
        rows = _parse(entry["rows"], int, path, f"{where}.rows")
        if rows < 0:
            raise ContractError(path, "rækkeantal kan ikke være negativt", field=f"{where}.rows")
        files.append(ManifestFile(entry["table"], _parse(entry["path"], str, path, f"{where}.path"),
                                  entry["format"], rows, _parse(entry["sha256"], str, path, f"{where}.sha256")))
    tables = [f.table for f in files]
    if len(set(tables)) != len(tables):
        raise ContractError(path, "en tabel er nævnt to gange", field="files")
    return Manifest(
        delivery_id=_parse(data["delivery_id"], str, path, "delivery_id"),
        ydernummer=ydernummer,
        vendor=_parse(data["vendor"], str, path, "vendor"),
        extract_ts=_parse(data["extract_ts"], datetime, path, "extract_ts"),
        period_start=period_start,
        period_end=period_end,
        files=tuple(files),
    )

"""Whole-file checks: the files the manifest promises are there, unchanged, readable and shaped as the contract says.

Any failure here rejects the whole delivery with a ContractError naming the file (and row or field where there is
one); row-level problems are the row checks' business (`checks`).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kvalitetsplatform.contract import MANIFEST_NAME, REQUIRED_TABLES, TABLES, Table
from kvalitetsplatform.contract.delivery import ContractError, Manifest, ManifestFile

DATA_SUFFIXES = (".parquet", ".csv")
BLOCK = 1 << 20


@dataclass(frozen=True)
class DeliveryFile:
    entry: ManifestFile
    path: Path
    table: Table
    columns: tuple[str, ...]  # as delivered, in file order

    @property
    def csv(self) -> bool:
        return self.entry.format == "csv"


def _digest_and_check_text(path: Path, is_csv: bool) -> str:
    """SHA-256 of the file; for CSV also that it is UTF-8, naming the byte and line where it is not."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")() if is_csv else None
    offset = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            digest.update(block)
            if decoder is not None:
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as e:
                    at = offset - pending + e.start
                    row, line = _csv_position(path, at)
                    raise ContractError(path.name, f"filen er ikke UTF-8: byten 0x{e.object[e.start]:02X} ved "
                                                   f"byte {at} (linje {line}) kan ikke læses. Gem filen som UTF-8.",
                                        row=row or None) from None
            offset += len(block)
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ContractError(path.name, f"filen er ikke UTF-8: den slutter midt i et tegn (byte {offset}). "
                                           "Gem filen som UTF-8.") from None
    return digest.hexdigest()


def _csv_position(path: Path, offset: int) -> tuple[int, int]:
    """(data row, physical line) of a byte in a CSV file: a newline ends a record only outside quotes."""
    with path.open("rb") as f:
        data = np.frombuffer(f.read(offset), dtype=np.uint8)
    newlines = np.flatnonzero(data == ord("\n"))
    quotes_before = np.searchsorted(np.flatnonzero(data == ord('"')), newlines)
    record_ends = int(np.count_nonzero(quotes_before % 2 == 0))
    return record_ends, len(newlines) + 1  # the header's end is the first record end


def _parquet_columns(path: Path, entry: ManifestFile, table: Table) -> tuple[str, ...]:
    try:
        meta = pq.ParquetFile(path)
        schema, rows = meta.schema_arrow, meta.metadata.num_rows
    except (pa.ArrowException, OSError) as e:
        raise ContractError(entry.path, f"filen kan ikke læses som Parquet ({e})") from None
    if rows != entry.rows:
        raise ContractError(entry.path, f"manifestet lover {entry.rows} rækker, men filen har {rows}")
    for f in schema:
        spec = table.columns.get(f.name)
        if spec is not None and not _compatible(f.type, spec.type):
            raise ContractError(entry.path, f"kolonnen har typen {f.type}, men kontrakten kræver {spec.type}",
                                field=f.name)
    return tuple(schema.names)


def _compatible(arrow: pa.DataType, contract_type: str) -> bool:
    if pa.types.is_null(arrow):
        return True
    if pa.types.is_dictionary(arrow):
        arrow = arrow.value_type
    return {
        "string": pa.types.is_string(arrow) or pa.types.is_large_string(arrow),
        "int": pa.types.is_integer(arrow),
        "float": pa.types.is_floating(arrow) or pa.types.is_integer(arrow) or pa.types.is_decimal(arrow),
        "date": pa.types.is_date(arrow),
        "timestamp": pa.types.is_timestamp(arrow) and arrow.tz is None,
        "bool": pa.types.is_boolean(arrow),
    }[contract_type]


def _csv_header(path: Path, entry: ManifestFile) -> tuple[str, ...]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise ContractError(entry.path, "filen mangler kolonneoverskrifter (første linje)", row=0)
    return tuple(header)


def _check_columns(entry: ManifestFile, table: Table, columns: tuple[str, ...]) -> None:
    seen = set()
    for name in columns:
        if name in seen:
            raise ContractError(entry.path, "kolonnen findes to gange", field=name)
        seen.add(name)
        if name not in table.columns:
            raise ContractError(entry.path, f"kolonnen kendes ikke i kontraktens tabel {table.name} (kendte "
                                            f"kolonner: {', '.join(table.columns)})", field=name)
    for name in table.columns:
        if name not in seen:
            raise ContractError(entry.path, f"kolonnen mangler (tabellen {table.name} skal have alle kontraktens "
                                            "kolonner; tomme værdier er tilladt i valgfrie felter)", field=name)


def check_files(folder: Path, manifest: Manifest) -> list[DeliveryFile]:
    """Every listed file is present, unchanged (SHA-256), readable, and has the contract's columns and types."""
    manifest_path = Path(folder.name) / MANIFEST_NAME
    listed = {entry.table for entry in manifest.files}
    for name in REQUIRED_TABLES:
        if name not in listed:
            raise ContractError(manifest_path, f"tabellen {name} mangler; den skal være med i hver leverance",
                                field="files")
    root = folder.resolve()
    paths = {}
    for entry in manifest.files:
        path = (folder / entry.path).resolve()
        if root not in path.parents:
            raise ContractError(manifest_path, f"stien {entry.path!r} peger uden for leverancens mappe",
                                field="files.path")
        paths[entry.table] = path
    unlisted = sorted(p.name for p in folder.iterdir()
                      if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and p.resolve() not in paths.values())
    if unlisted:
        raise ContractError(unlisted[0], "filen ligger i leverancen, men er ikke nævnt i manifestet")
    out = []
    for entry in manifest.files:
        path, table = paths[entry.table], TABLES[entry.table]
        if not path.is_file():
            raise ContractError(entry.path, "filen mangler (den er nævnt i manifestet)")
        if path.stat().st_size == 0:
            raise ContractError(entry.path, f"filen er tom (0 byte), men manifestet lover {entry.rows} rækker")
        if _digest_and_check_text(path, entry.format == "csv") != entry.sha256.lower():
            raise ContractError(entry.path, "filens SHA-256 passer ikke med manifestet: filen er ændret eller "
                                            "ufuldstændig efter udtrækket")
        columns = _csv_header(path, entry) if entry.format == "csv" else _parquet_columns(path, entry, table)
        _check_columns(entry, table, columns)
        out.append(DeliveryFile(entry, path, table, columns))
    return out

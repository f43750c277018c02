"""FHIR files → an ordinary delivery folder (contract tables + manifest), which ingestion then treats like any
other."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.contract.delivery import Manifest, arrow_schema, write_delivery
from kvalitetsplatform.fhir.mapping import TABLES as FHIR_TABLES
from kvalitetsplatform.fhir.mapping import Mapper
from kvalitetsplatform.fhir.reader import Reader, fhir_files
from kvalitetsplatform.fhir.report import FhirImportError, Issue, MappingReport
from kvalitetsplatform.fhir import systems
from kvalitetsplatform.fhir.values import DANISH_TIME, parse_datetime
from kvalitetsplatform.fhir.values import ydernummer as normalise_ydernummer

# The date or time that places each fact table's row in time (the delivery's period is taken from these).
FACT_DATES = {"contact": "contact_ts", "diagnosis": "recorded_date", "lab_result": "sampled_ts",
              "measurement": "measured_ts", "prescription": "prescribed_date", "chronic_enrolment": "start_date",
              "hospital_admission": "admitted_date", "journal_note": "note_ts"}


def to_table(name: str, rows: list[dict]) -> pa.Table:
    """Rows as a contract-shaped Arrow table. Columns are nullable here: a required value FHIR did not carry
    stays empty, and ingestion quarantines the row (write_delivery casts to the contract schema, so the
    nullability is relaxed for the cast and the files keep the contract's types)."""
    schema = arrow_schema(TABLES[name])
    relaxed = pa.schema([f.with_nullable(True) for f in schema])
    columns = {f.name: [row.get(f.name) for row in rows] for f in schema}
    return pa.table({f.name: pa.array(columns[f.name], type=f.type) for f in relaxed}, schema=relaxed)


def to_delivery(paths: Iterable[Path], out_dir: Path, ydernummer: str | None = None, *,
                vendor: str | None = None, extract_ts: datetime | None = None,
                period: tuple[date, date] | None = None,
                practice: dict | Callable[[str], dict | None] | None = None,
                listed_from: date | None = None, delivery_id: str | None = None) -> tuple[Manifest, MappingReport]:
    """Read FHIR R4 files (JSON resources, Bundles, NDJSON; folders are searched) and write them as one
    delivery.

    `ydernummer` names the delivering practice when the data holds several or none. `extract_ts` is when the
    extract was taken and `period` what it covers; by default they come from a Bulk Data export manifest among
    the files (its transactionTime, and the delivery the platform's extension names), else now (Danish time)
    and the first to the last fact date, not beyond the extract date. `practice` supplies practice master data
    FHIR does not carry (cluster, region, practice type …), or a function giving it for the chosen ydernummer;
    values in the FHIR Organization win. `listed_from`: patients whose data carries no listing (FHIR has no
    element for it; see docs/fhir.md) are taken as listed, sikringsgruppe 1, from this date — without it such
    patients cannot be written and are reported. Raises FhirImportError, writing nothing, when the input cannot
    be read as FHIR R4 or names no single practice."""
    paths = [Path(p) for p in paths]
    report = MappingReport()
    reader = Reader(report)
    resources = reader.read(paths)
    export = _export_metadata(reader.bulk_manifests)
    mapped = Mapper(resources, report, ydernummer or export.get("ydernummer"), practice, listed_from).run()
    yder = mapped.ydernummer
    if yder is None:
        found = sorted({normalise_ydernummer(str(i["value"])) for r in resources.of_type("Organization")
                        for i in r.data.get("identifier") or []
                        if isinstance(i, dict) and i.get("system") == systems.YDERNUMMER and i.get("value")})
        message = (f"input nævner flere praksis (ydernumre {', '.join(found)}); angiv hvilken der leverer"
                   if found else "intet ydernummer: ingen Organization med ydernummer (urn:oid:1.2.208.176.1.4), og "
                                 "ydernummer er ikke angivet")
        raise FhirImportError([Issue("fejl", ", ".join(str(p) for p in paths), message)])
    extract_ts = extract_ts or export.get("extract_ts") or datetime.now(DANISH_TIME).replace(tzinfo=None,
                                                                                              microsecond=0)
    period_start, period_end = period or export.get("period") or _period(mapped.rows, extract_ts.date())
    tables = {name: to_table(name, mapped.rows[name]) for name in FHIR_TABLES}
    manifest = write_delivery(
        out_dir, delivery_id=delivery_id or export.get("delivery_id") or f"{yder}-fhir-{_fingerprint(paths)}",
        ydernummer=yder, vendor=vendor or export.get("vendor") or "FHIR", extract_ts=extract_ts,
        period_start=period_start, period_end=period_end, tables=tables)
    return manifest, report


def _export_metadata(manifests: list[tuple[str, dict]]) -> dict:
    """What a Bulk Data export manifest says about the delivery: extract_ts (transactionTime) and, in the
    platform's extension, delivery_id, ydernummer, vendor and period."""
    found: dict = {}
    for file, data in manifests:
        meta: dict = {}
        try:
            meta["extract_ts"] = parse_datetime(data["transactionTime"])
            ours = (data.get("extension") or {}).get(systems.BULK_DELIVERY) or {}
            if ours.get("period_start") and ours.get("period_end"):
                meta["period"] = (date.fromisoformat(ours["period_start"]), date.fromisoformat(ours["period_end"]))
        except (ValueError, TypeError, AttributeError) as e:
            raise FhirImportError([Issue("fejl", file, f"eksportmanifestet kan ikke læses: {e}",
                                         element="transactionTime")]) from None
        meta.update({k: ours[k] for k in ("delivery_id", "ydernummer", "vendor") if ours.get(k)})
        if found and meta != found:
            raise FhirImportError([Issue("fejl", file, "input har flere eksportmanifester, som ikke beskriver samme "
                                                       "udtræk; importér dem hver for sig")])
        found = meta
    return found


def _period(rows: dict[str, list[dict]], extract_day: date) -> tuple[date, date]:
    days = [value.date() if isinstance(value, datetime) else value
            for table, column in FACT_DATES.items() for row in rows[table]
            if (value := row.get(column)) is not None]
    days = [d for d in days if d <= extract_day]  # a date after the extract is an error ingestion will name
    if not days:
        return extract_day, extract_day
    return min(days), max(days)


def _fingerprint(paths: list[Path]) -> str:
    """A short digest of the input's content: the same files give the same delivery id, so a repeated import
    is a repeated delivery (idempotent at ingestion), and changed files a new one."""
    digest = hashlib.sha256()
    for path in fhir_files(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]

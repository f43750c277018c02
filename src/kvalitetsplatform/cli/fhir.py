"""`kp fhir import` and `kp fhir export`: FHIR R4 files to a delivery folder and back."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from kvalitetsplatform.cli.main import app, console, emit_json, settings

out = Console()
fhir_app = typer.Typer(help="FHIR R4 (HL7 Denmark DK Core, MedCom): convert to and from the extract contract.",
                       no_args_is_help=True)
app.add_typer(fhir_app, name="fhir")


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            pass
    console.print(f"[red]Fejl:[/red] {option} skal være en dato (dd.mm.åååå eller åååå-mm-dd), fik {value!r}")
    raise typer.Exit(2)


@fhir_app.command("import")
def import_command(
    paths: list[Path] = typer.Argument(..., help="FHIR-filer (.json, .ndjson, evt. .gz) eller mapper med dem."),
    out_dir: Path = typer.Option(..., "--out", help="Mappen leverancen skrives i (kontraktens tabeller + "
                                                    "manifest.json)."),
    ydernummer: str | None = typer.Option(None, help="Den leverende praksis, når data nævner flere eller ingen."),
    listed_from: str | None = typer.Option(None, "--tilmeldt-fra", help="Patienter uden tilmeldingsoplysninger "
                                           "regnes som tilmeldt (sikringsgruppe 1) fra denne dato."),
    vendor: str | None = typer.Option(None, "--leverandoer", help="LPS-leverandøren, som manifestet nævner "
                                                                 "(standard: eksportmanifestets, ellers FHIR)."),
    from_warehouse: bool = typer.Option(True, "--praksis-fra-lager/--uden-praksis-fra-lager",
                                        help="Hent praksisoplysninger, som FHIR ikke bærer (klynge, region …), fra "
                                             "datavarehuset, hvis praksis har leveret før."),
    as_json: bool = typer.Option(False, "--json", help="Skriv importrapporten som JSON."),
) -> None:
    """Read FHIR R4 (single resources, Bundles of any type, NDJSON bulk exports) and write it as an ordinary
    delivery, which `kp ingest` then validates, quarantines, pseudonymises and loads like any other. Problems
    are named by file, resource and element; see docs/fhir.md for what is mapped and what is reported."""
    from kvalitetsplatform.fhir import FhirImportError, to_delivery
    from kvalitetsplatform.fhir.inputs import warehouse_practice

    practice = warehouse_practice(settings()) if from_warehouse else None
    try:
        with console.status("Læser FHIR …"):
            manifest, report = to_delivery(paths, out_dir, ydernummer, vendor=vendor, practice=practice,
                                           listed_from=_date(listed_from, "--tilmeldt-fra"))
    except FhirImportError as e:
        if as_json:
            emit_json({"error": str(e), "issues": [i.to_dict() for i in e.issues]})
        else:
            console.print(f"[red]Fejl:[/red] {escape(str(e))}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        emit_json({"delivery_id": manifest.delivery_id, "folder": str(out_dir), "ydernummer": manifest.ydernummer,
                   "period_start": manifest.period_start, "period_end": manifest.period_end,
                   "report": report.to_dict()})
        return
    out.print(f"Leverance [bold]{manifest.delivery_id}[/bold] skrevet i {out_dir} (praksis {manifest.ydernummer}, "
              f"{manifest.period_start:%d.%m.%Y}–{manifest.period_end:%d.%m.%Y})")
    out.print(escape(report.summary()), highlight=False)
    for issue in report.issues:
        colour = {"fejl": "red", "advarsel": "yellow"}.get(issue.severity, "dim")
        out.print(f"[{colour}]{issue.severity}[/{colour}] {escape(str(issue))}", highlight=False)


@fhir_app.command("export")
def export_command(
    delivery: Path = typer.Argument(..., help="En leverancemappe (manifest.json + tabeller i Parquet eller CSV)."),
    out_dir: Path = typer.Option(..., "--out", help="Mappen FHIR-filerne skrives i."),
    bundle: str | None = typer.Option(None, help="Skriv én Bundle af denne type (collection, transaction, "
                                                 "batch, searchset) i stedet for NDJSON pr. ressourcetype."),
    as_json: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON."),
) -> None:
    """Write a delivery as FHIR R4 in DK Core / MedCom shape (NDJSON with a Bulk Data export manifest, or one
    Bundle), so that `kp fhir import` gives the same tables back."""
    import json

    from kvalitetsplatform.contract.delivery import ContractError
    from kvalitetsplatform.fhir.writer import contract_to_fhir, read_delivery, to_bundle, write_bulk_export

    try:
        manifest, tables = read_delivery(delivery)
    except ContractError as e:
        console.print(f"[red]Fejl:[/red] {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    resources = contract_to_fhir(tables, manifest.ydernummer)
    if bundle:
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{manifest.delivery_id}.json"
        target.write_text(json.dumps(to_bundle(resources, bundle, manifest.delivery_id, manifest.extract_ts),
                                     ensure_ascii=False, indent=1), encoding="utf-8")
        written = [target]
    else:
        written = write_bulk_export(out_dir, resources, manifest)
    if as_json:
        emit_json({"resources": len(resources), "files": [str(p) for p in written]})
        return
    out.print(f"{len(resources)} FHIR-ressourcer skrevet i {out_dir} ({len(written)} fil(er)).")

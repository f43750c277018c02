"""`kp synth`: write a synthetic Danish GP population as deliveries in the extract contract."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from kvalitetsplatform.cli.main import app, console, emit_json


def _danish_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Mappe til leverancerne (DIR/<ydernummer>/<leverance-id>/)."),
    scale: str = typer.Option("demo", help="demo (én klynge, ~20.000 patienter), regional (Region Nordjylland) "
                                           "eller national (5,9 mio. patienter, ~1.575 praksis)."),
    patients: int | None = typer.Option(None, help="Antal personer i stedet for skalaens (praksis og klynger "
                                                   "skaleres med)."),
    seed: int = typer.Option(1, help="Samme seed giver byte-identiske filer."),
    end_date: str | None = typer.Option(None, "--end-date", help="Sidste dag i de 36 måneder (ÅÅÅÅ-MM-DD); "
                                                                 "standard: sidste dag i måneden før 1. november "
                                                                 "2026."),
    errors: float = typer.Option(0.0, help="Andel rækker med indlagte fejl (0–0,5); facit skrives til "
                                           "DIR/injected_errors.jsonl."),
    fmt: str = typer.Option("parquet", "--format", help="parquet, csv eller fhir (FHIR R4 som NDJSON med "
                                                         "eksportmanifest pr. leverance; kp ingest læser det)."),
    workers: int = typer.Option(2, help="Antal arbejdsprocesser."),
    as_json: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON."),
) -> None:
    """Skriv en syntetisk dansk almen praksis-population som leverancer efter udtrækskontrakten: for hver praksis
    en første leverance (måned 1–35) og en månedsleverance (måned 36). CPR-numre er aldrig ægte (dag + 60)."""
    from kvalitetsplatform.synth.generator import Options, SynthError, synthesise

    try:
        end = date.fromisoformat(end_date) if end_date else None
    except ValueError:
        console.print(f"[red]Fejl:[/red] --end-date skal være en dato (ÅÅÅÅ-MM-DD), fik {end_date!r}")
        raise typer.Exit(2) from None
    if fmt == "fhir" and errors > 0:  # planted faults live in Parquet/CSV files (rows without CPR have no FHIR form)
        console.print("[red]Fejl:[/red] --errors kan ikke bruges med --format fhir; brug parquet eller csv")
        raise typer.Exit(2)
    options = Options(out=out, scale=scale, patients=patients, seed=seed, end_date=end, errors=errors,
                      fmt="parquet" if fmt == "fhir" else fmt, workers=workers)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rows]} rækker"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=as_json) as progress:
        task = progress.add_task("Syntetiserer praksis", total=None, rows="0")
        written = 0

        def step(done: int, total: int, rows: dict) -> None:
            nonlocal written
            written += sum(rows.values())
            progress.update(task, completed=done, total=total, rows=_danish_int(written))

        try:
            report = synthesise(options, progress=step)
        except SynthError as e:
            console.print(f"[red]Fejl:[/red] {e}")
            raise typer.Exit(2) from None
    if fmt == "fhir":
        from kvalitetsplatform.fhir.writer import export_tree

        with console.status("Skriver leverancerne som FHIR …"):
            export_tree(out)
    if as_json:
        emit_json(report.as_dict() | {"seconds": round(report.seconds, 1), "out": str(out)})
        return
    console.print(f"Skrev {_danish_int(report.deliveries)} leverancer fra {_danish_int(report.practices)} praksis "
                  f"i {_danish_int(report.clusters)} klynger ({_danish_int(report.patients)} personer, "
                  f"{report.end_date:%d.%m.%Y} som sidste dag) til {out} på "
                  f"{f'{report.seconds:.1f}'.replace('.', ',')} s")
    for table, n in sorted(report.rows.items()):
        console.print(f"  {table:<20} {_danish_int(n):>14}")
    if options.errors > 0:
        console.print(f"Indlagte fejl: {_danish_int(report.injected_errors)} (facit i {out / 'injected_errors.jsonl'})")

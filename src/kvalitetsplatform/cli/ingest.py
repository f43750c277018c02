"""`kp ingest` and `kp deliveries`: load deliveries into the warehouse and look at the catalogue."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from kvalitetsplatform.cli.main import app, console, emit_json, settings


def _out() -> Console:
    """Standard output; wide when it is not a terminal, so tables in logs and pipes are not cut."""
    return Console(width=None if sys.stdout.isatty() else 160)

STATUS_DA = {"loaded": "indlæst", "unchanged": "uændret (allerede indlæst)", "replaced": "erstattet",
             "rejected": "afvist"}


def _n(value: int | None) -> str:
    return "–" if value is None else f"{value:,}".replace(",", ".")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %".replace(".", ",")


def _when(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value)


class _RichReporter:
    def __init__(self, progress: Progress):
        self.progress, self.task, self.name = progress, None, ""

    def start(self, total: int) -> None:
        self.task = self.progress.add_task("Indlæser leverancer", total=total)

    def delivery(self, folder: Path) -> None:
        self.name = folder.name
        self.progress.update(self.task, description=f"{self.name}")

    def step(self, text: str) -> None:
        self.progress.update(self.task, description=f"{self.name}: {text}")

    def done(self, result) -> None:
        self.progress.advance(self.task)
        if result.status == "rejected":
            self.progress.console.print(f"[red]Afvist[/red] {result.source}: {result.error}")


@app.command("ingest")
def ingest_command(
    paths: list[Path] = typer.Argument(..., help="Leverancemapper, eller mapper med leverancer (søges rekursivt); "
                                                 "FHIR-filer (.json, .ndjson) konverteres først (kp fhir import)."),
    as_json: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON."),
    workers: int = typer.Option(2, help="Antal praksis, der indlæses side om side."),
) -> None:
    """Validate and load deliveries into the warehouse: bad rows are quarantined with a reason, CPR is
    pseudonymised, and each delivery loads in one transaction (all or nothing). Re-running a delivery changes
    nothing; a corrected delivery for the same practice and period replaces the earlier one."""
    from kvalitetsplatform.fhir import FhirImportError
    from kvalitetsplatform.fhir.inputs import prepare_for_ingest
    from kvalitetsplatform.ingest import ingest
    from kvalitetsplatform.warehouse import WarehouseError

    cfg = settings()
    try:
        paths = prepare_for_ingest(paths, cfg)  # FHIR files become ordinary deliveries first
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True, disable=as_json) as progress:
            results = ingest(paths, cfg, _RichReporter(progress), workers=workers)
    except (FileNotFoundError, WarehouseError, FhirImportError) as e:
        console.print(f"[red]Fejl:[/red] {e}")
        raise typer.Exit(2) from None
    out = _out()
    if as_json:
        emit_json([{"delivery_id": r.delivery_id, "source": r.source, "ydernummer": r.ydernummer,
                    "status": r.status, "replaced": r.replaced, "rows_received": r.total("received"),
                    "rows_loaded": r.total("loaded"), "rows_quarantined": r.total("quarantined"),
                    "tables": r.counts, "error": r.error, "seconds": round(r.seconds, 3)} for r in results])
    else:
        table = Table(title=f"{len(results)} leverance(r)")
        for column in ("Leverance", "Ydernr.", "Status", "Modtaget", "Indlæst", "I karantæne", "Sek."):
            table.add_column(column, justify="right" if column in ("Modtaget", "Indlæst", "I karantæne", "Sek.")
                             else "left")
        for r in results:
            status = STATUS_DA[r.status] + (f", erstatter {r.replaced}" if r.status == "loaded" and r.replaced
                                            else "")
            table.add_row(r.delivery_id, r.ydernummer or "–", status, _n(r.total("received")),
                          _n(r.total("loaded")), _n(r.total("quarantined")), f"{r.seconds:.2f}".replace(".", ","))
        out.print(table)
        for r in results:
            if r.error:
                out.print(f"[red]{r.delivery_id}[/red]: {r.error}")
    if any(r.status == "rejected" for r in results):
        raise typer.Exit(1)


deliveries_app = typer.Typer(help="The deliveries catalogue: status and data quality of every delivery.",
                             invoke_without_command=True, no_args_is_help=False)
app.add_typer(deliveries_app, name="deliveries")


def _catalogue_call(fn, *args, **kwargs):
    from kvalitetsplatform.warehouse import WarehouseError

    try:
        return fn(settings(), *args, **kwargs)
    except WarehouseError as e:
        console.print(f"[red]Fejl:[/red] {e}")
        raise typer.Exit(2) from None


@deliveries_app.callback()
def deliveries(
    ctx: typer.Context,
    ydernummer: str | None = typer.Option(None, help="Kun denne praksis."),
    status: str | None = typer.Option(None, help="Kun denne status: loaded, replaced eller rejected."),
    as_json: bool = typer.Option(False, "--json", help="Skriv listen som JSON."),
) -> None:
    """List deliveries with status, row counts and quality scores (completeness, conformance, plausibility)."""
    if ctx.invoked_subcommand:
        return
    from kvalitetsplatform.warehouse.catalogue import list_deliveries

    rows = _catalogue_call(list_deliveries, ydernummer=ydernummer, status=status)
    out = _out()
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} leverance(r)")
    for column in ("Leverance", "Ydernr.", "Periode", "Udtrukket", "Status", "Indlæst", "Karantæne",
                   "Fuldstændighed", "Overensstemmelse", "Plausibilitet"):
        table.add_column(column)
    for r in rows:
        q = r["quality"]
        table.add_row(r["id"], r["ydernummer"] or "–", f"{_when(r['period_start'])}–{_when(r['period_end'])}",
                      _when(r["extract_ts"]), STATUS_DA.get(r["status"], r["status"]), _n(r["rows_loaded"]),
                      _n(r["rows_quarantined"]), _pct(q.get("completeness_pct")), _pct(q.get("conformance_pct")),
                      _pct(q.get("plausibility_pct")))
    out.print(table)


@deliveries_app.command("show")
def show(
    delivery_id: str = typer.Argument(..., help="Leverancens id."),
    as_json: bool = typer.Option(False, "--json", help="Skriv leverancen som JSON."),
) -> None:
    """Show one delivery: status, row counts per table, quality report and a summary of its quarantine."""
    from kvalitetsplatform.warehouse.catalogue import get_delivery

    row = _catalogue_call(get_delivery, delivery_id)
    if row is None:
        console.print(f"[red]Leverancen {delivery_id} findes ikke i kataloget.[/red]")
        raise typer.Exit(1)
    if as_json:
        emit_json(row)
        return
    out = _out()
    out.print(f"[bold]Leverance {row['id']}[/bold] fra ydernummer {row['ydernummer'] or '–'} "
              f"({row['vendor'] or '–'})")
    out.print(f"Periode {_when(row['period_start'])}–{_when(row['period_end'])}, udtrukket {_when(row['extract_ts'])}, "
              f"status: {STATUS_DA.get(row['status'], row['status'])}"
              + (f" af {row['replaced_by']}" if row["replaced_by"] else "") + f", behandlet {_when(row['loaded_at'])}")
    if row["error"]:
        out.print(f"[red]Fejl:[/red] {row['error']}")
    if row["row_counts"]:
        counts = Table(title="Rækker pr. tabel")
        for column in ("Tabel", "Modtaget", "Indlæst", "I karantæne"):
            counts.add_column(column, justify="left" if column == "Tabel" else "right")
        for name, c in row["row_counts"].items():
            counts.add_row(name, _n(c["received"]), _n(c["loaded"]), _n(c["quarantined"]))
        out.print(counts)
    quality = row["quality"]
    if quality:
        s = quality["summary"]
        out.print(f"Datakvalitet: fuldstændighed {_pct(s['completeness_pct'])}, overensstemmelse "
                  f"{_pct(s['conformance_pct'])}, plausibilitet {_pct(s['plausibility_pct'])}; "
                  f"{s['checks_failed']} af {s['checks_run']} kontroller fandt fejl.")
        shares = quality["patients"]["share_pct"]
        if shares:
            out.print("Andel af listede patienter med data: " + ", ".join(
                f"{t} {_pct(v)}" for t, v in sorted(shares.items())))
        failed = [c for c in quality["checks"] if c["status"] == "failed"]
        if failed:
            checks = Table(title="Kontroller med fejl")
            for column in ("Kontrol", "Kategori", "Kontrolleret", "Fejl", "Bestået", "Karantæne"):
                checks.add_column(column)
            for c in failed:
                checks.add_row(c["check"], c["category"], _n(c["checked"]), _n(c["failed"]), _pct(c["pass_pct"]),
                               "ja" if c["quarantines"] else "nej (advarsel)")
            out.print(checks)
    examples = row["quarantine"]["examples"]
    if examples:
        table = Table(title="Rækker i karantæne (de første)")
        for column in ("Fil", "Række", "Felt", "Værdi", "Årsag"):
            table.add_column(column)
        for e in examples:
            table.add_row(e["file"], _n(e["row_number"]), e["field"] or "–", e["value"] or "–", e["reason"])
        out.print(table)

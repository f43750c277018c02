"""`kp audit …`: verify the hash-chained audit log, expire old entries, export a patient's access history, usage."""

from __future__ import annotations

import csv
import os
import sys

import typer
from rich.table import Table

from kvalitetsplatform.cli.main import app, console, emit_json, settings

audit_app = typer.Typer(help="Revisionsloggen: kontrol, sletning efter opbevaringstid, indsigt, brug.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _log():
    from kvalitetsplatform.access.audit import AuditLog
    from kvalitetsplatform.access.db import open_appdb

    s = settings()
    engine = open_appdb(s)
    return s, engine, AuditLog.from_settings(engine, s)


@audit_app.command("verify")
def verify(json_out: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON.")) -> None:
    """Gennemgå hele kæden: finder ændrede, slettede og ombyttede poster. Afslutter med kode 1 ved fejl."""
    _, _, log = _log()
    result = log.verify()
    if json_out:
        emit_json(result.as_dict())
    elif result.ok:
        console.print(f"[green]Revisionsloggen er intakt[/green]: {result.entries} poster "
                      f"({result.first_seq}–{result.last_seq}), {result.checkpoints} kontrolpunkt(er).")
    else:
        console.print(f"[red]Revisionsloggen er ændret[/red] ({len(result.problems)} fund):")
        for p in result.problems:
            console.print(f"  • {p}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("expire")
def expire(retention_days: int = typer.Option(int(os.environ.get("KP_AUDIT_RETENTION_DAYS", 730)),
                                              "--retention-days", min=1,
                                              help="Opbevaringstid i dage (standard 730 = 2 år; "
                                                   "KP_AUDIT_RETENTION_DAYS)."),
           json_out: bool = typer.Option(False, "--json")) -> None:
    """Slet poster ældre end opbevaringstiden; et signeret kontrolpunkt holder kæden verificerbar."""
    _, _, log = _log()
    result = log.expire(retention_days)
    emit_json(result) if json_out else console.print(f"Slettede {result['expired']} poster ældre end "
                                                     f"{retention_days} dage.")


@audit_app.command("export-patient")
def export_patient(cpr: str = typer.Option(None, "--cpr", help="Patientens CPR-nummer (indsigtsanmodning)."),
                   patient_key: int = typer.Option(None, "--patient-key", help="Eller patientens pseudonymnøgle."),
                   json_out: bool = typer.Option(False, "--json", help="JSON i stedet for CSV.")) -> None:
    """En patients egen adgangshistorik (dato, praksis og formål — ikke medarbejdernes navne), til indsigt."""
    from kvalitetsplatform.warehouse.vault import Pseudonymiser

    if (cpr is None) == (patient_key is None):
        console.print("[red]Fejl:[/red] angiv enten --cpr eller --patient-key")
        raise typer.Exit(2)
    s, _, log = _log()
    key = patient_key if patient_key is not None else Pseudonymiser(s.pseudonym_key).patient_key(cpr)
    history = log.patient_history(key)
    if json_out:
        emit_json(history)
        return
    writer = csv.writer(sys.stdout, delimiter=";")
    writer.writerow(["Dato", "Tidspunkt", "Handling", "Ydernummer", "Praksis", "Formål"])
    for h in history:
        writer.writerow([h["dato"], h["tidspunkt"], h["handling"], h["ydernummer"], h["praksis"], h["formål"]])
    console.print(f"{len(history)} opslag")


@audit_app.command("usage")
def usage(json_out: bool = typer.Option(False, "--json")) -> None:
    """Aktive brugere pr. måned fordelt på rolle og region (platformens hovedtal for udbredelse)."""
    from kvalitetsplatform.access.usage import UsageRecorder

    _, engine, _ = _log()
    rows = UsageRecorder(engine).active_users()
    if json_out:
        emit_json(rows)
        return
    table = Table("Måned", "Rolle", "Region", "Aktive brugere")
    for r in rows:
        table.add_row(r["month"], r["role"], r["region_code"] or "hele landet", str(r["active_users"]))
    console.print(table)

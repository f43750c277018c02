"""`kp users …`: users, roles and scopes, organisations, cluster display choice, launch vendors."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.table import Table

from kvalitetsplatform.cli.main import app, console, emit_json, settings

users_app = typer.Typer(help="Brugere, roller og adgangsområder (app-databasen).", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _context():
    from kvalitetsplatform.access.audit import AuditLog
    from kvalitetsplatform.access.db import open_appdb

    s = settings()
    engine = open_appdb(s)
    return s, engine, AuditLog.from_settings(engine, s)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(e: Exception) -> None:
    console.print(f"[red]Fejl:[/red] {e}")
    raise typer.Exit(1)


@users_app.command("create")
def create(username: str = typer.Argument(..., help="Brugernavn (uden mellemrum)."),
           name: str = typer.Option("", "--name", help="Fulde navn."),
           password: bool = typer.Option(True, "--password/--no-password",
                                         help="Spørg efter adgangskode (--no-password: kun start fra lægesystemet)."),
           json_out: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON.")) -> None:
    """Opret en bruger (adgangskoden gemmes som argon2id)."""
    from kvalitetsplatform.access.users import UserError, create_user

    secret = typer.prompt("Adgangskode", hide_input=True, confirmation_prompt=True) if password else None
    _, engine, audit = _context()
    try:
        user_id = create_user(engine, audit, username, name, secret, actor=_actor())
    except UserError as e:
        _fail(e)
    emit_json({"id": user_id, "username": username}) if json_out else console.print(f"Oprettede {username}")


@users_app.command("list")
def list_(all_grants: bool = typer.Option(False, "--all", help="Vis også tilbagekaldte roller."),
          json_out: bool = typer.Option(False, "--json", help="Skriv listen som JSON.")) -> None:
    """Vis brugere med deres roller."""
    from kvalitetsplatform.access.users import list_users

    _, engine, _ = _context()
    rows = list_users(engine, include_revoked=all_grants)
    if json_out:
        emit_json([u.as_dict() for u in rows])
        return
    table = Table("Bruger", "Navn", "Status", "Roller")
    for u in rows:
        grants = ", ".join(f"{g.role.value}@{g.scope_code}" + (" (tilbagekaldt)" if g.revoked_at else "")
                           for g in u.grants)
        table.add_row(u.username, u.display_name, "spærret" if u.disabled else "aktiv", grants or "–")
    console.print(table)


@users_app.command("grant")
def grant_(username: str, role: str = typer.Argument(..., help="gp, practice_staff, cluster_coordinator, "
                                                           "regional_quality_unit, municipality, public_viewer, "
                                                           "kiap_admin"),
           scope: str = typer.Argument(None, help="Ydernummer, klynge-id, regionskode eller kommunekode."),
           json_out: bool = typer.Option(False, "--json")) -> None:
    """Giv en bruger en rolle for et område."""
    from kvalitetsplatform.access.users import grant

    _, engine, audit = _context()
    try:
        grant_id = grant(engine, audit, username, role, scope, actor=_actor())
    except ValueError as e:
        _fail(e)
    emit_json({"grant_id": grant_id}) if json_out else console.print(f"{username}: {role} {scope or ''}".strip())


@users_app.command("revoke")
def revoke_(username: str, role: str, scope: str = typer.Argument(None),
            json_out: bool = typer.Option(False, "--json")) -> None:
    """Tilbagekald en brugers rolle (for ét område, eller alle områder)."""
    from kvalitetsplatform.access.users import revoke

    _, engine, audit = _context()
    try:
        n = revoke(engine, audit, username, role, scope, actor=_actor())
    except ValueError as e:
        _fail(e)
    emit_json({"revoked": n}) if json_out else console.print(f"Tilbagekaldte {n} rolle(r)")


@users_app.command("disable")
def disable_(username: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Spær en bruger: ingen log-ind, ingen start fra lægesystemet, åbne sessioner stopper."""
    from kvalitetsplatform.access.users import disable

    _, engine, audit = _context()
    try:
        disable(engine, audit, username, actor=_actor())
    except ValueError as e:
        _fail(e)
    emit_json({"disabled": username}) if json_out else console.print(f"Spærrede {username}")


@users_app.command("sync-orgs")
def sync_orgs(json_out: bool = typer.Option(False, "--json")) -> None:
    """Hent praksis, klynger, regioner og kommuner (med medlemskab over tid) fra datavarehuset."""
    from kvalitetsplatform.access.orgs import sync_from_warehouse
    from kvalitetsplatform.warehouse import WarehouseError

    s, engine, _ = _context()
    try:
        counts = sync_from_warehouse(engine, s)
    except WarehouseError as e:
        _fail(e)
    if json_out:
        emit_json(counts)
    else:
        console.print(", ".join(f"{v} {k}" for k, v in counts.items()))


@users_app.command("cluster-display")
def cluster_display(cluster_id: str, display: str = typer.Argument(..., help="names eller letters")) -> None:
    """Klyngens valg: vises praksis for hinanden med navn (names) eller som bogstaver (letters)?"""
    from kvalitetsplatform.access.orgs import set_peer_display

    _, engine, audit = _context()
    try:
        set_peer_display(engine, cluster_id, display)
    except ValueError as e:
        _fail(e)
    audit.record("cluster_display", username=_actor(), object=f"cluster:{cluster_id}", details={"display": display})
    console.print(f"Klynge {cluster_id}: {display}")


@users_app.command("cluster-packages")
def cluster_packages(cluster_id: str,
                     packages: list[str] = typer.Argument(None, help="Pakkernes id (fx ihd t2d); ingen: alle pakker.")
                     ) -> None:
    """De pakker klyngen følger: praksissernes cockpit viser dem (vælges ingen, vises alle pakker)."""
    from kvalitetsplatform.access.orgs import set_followed_packages
    from kvalitetsplatform.indicators import load_catalogue

    _, engine, audit = _context()
    try:
        chosen = set_followed_packages(engine, cluster_id, packages or [],
                                       known=[p.id for p in load_catalogue().packages])
    except ValueError as e:
        _fail(e)
    audit.record("cluster_packages", username=_actor(), object=f"cluster:{cluster_id}",
                 details={"packages": list(chosen)})
    console.print(f"Klynge {cluster_id} følger: {', '.join(chosen) if chosen else 'alle pakker'}")


@users_app.command("vendor-add")
def vendor_add(name: str = typer.Argument(..., help="Leverandørens navn (tokenets iss)."),
               public_key: Path = typer.Option(..., "--public-key", exists=True, help="Offentlig nøgle (PEM)."),
               algorithm: str = typer.Option("RS256", "--algorithm", help="RS256 eller ES256.")) -> None:
    """Registrér et lægesystems offentlige nøgle, så det kan starte platformen (Klinikkens Cockpit)."""
    from kvalitetsplatform.access.auth import register_vendor

    _, engine, audit = _context()
    try:
        register_vendor(engine, audit, name, public_key.read_text(encoding="utf-8"), algorithm)
    except ValueError as e:
        _fail(e)
    console.print(f"Registrerede {name} ({algorithm})")

"""`kp protect`: protect every scope's views ahead of the first request (after `kp compute`).

The gate keeps every protected view it builds (`access.views`, `$KP_HOME/protected_views.sqlite`); this fills that
store in batch so no page waits for the disclosure audit. Scopes: every active user's grants in the app DB and a
GP of every practice (the scope a practice's doctors get). Work is spread over a process pool, one task per scope
and reference date (all indicators from one results-store read). By default only each indicator's newest
date (what the cockpits and overviews show first); `--all-dates` protects the whole history.

Subscribed reports are built after each monthly compute and show 36 months, so every active subscription's
audience (a practice, a cluster's coordinators, a region's quality unit) is protected for all dates of its
package's indicators: the reports `kp reports notify` builds next then read kept views only.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kvalitetsplatform.cli.main import app, console, emit_json, settings

_worker: dict = {}


def scopes(engine) -> list[tuple]:
    """The distinct grant sets to protect: each active user's, and a GP of every practice."""
    from sqlalchemy import select

    from kvalitetsplatform.access.db import user_account
    from kvalitetsplatform.access.orgs import load_organisation
    from kvalitetsplatform.access.principal import Grant, load_principal
    from kvalitetsplatform.access.roles import ROLES, Role

    found: set[tuple] = set()
    with engine.connect() as conn:
        for (user_id,) in conn.execute(select(user_account.c.id).where(user_account.c.disabled.is_(False))):
            grants = load_principal(conn, user_id).grants
            if any(ROLES[g.role].sees_results for g in grants):
                found.add(grants)
        org = load_organisation(conn)
    for unit in org.units_at("practice"):
        found.add((Grant(Role.GP, "practice", unit.code),))
    return sorted(found)


def report_scopes(engine, catalogue) -> dict[tuple, set[str]]:
    """The audience of every active subscription (as the grants the report is read with) → the indicators of
    the packages subscribed for it."""
    from sqlalchemy import select

    from kvalitetsplatform.reports.audience import Audience
    from kvalitetsplatform.reports.tables import subscription

    indicators = {p.id: {i.id for i in p.indicators} for p in catalogue.packages}
    found: dict[tuple, set[str]] = {}
    with engine.connect() as conn:
        for kind, code, package in conn.execute(select(subscription.c.kind, subscription.c.scope_code,
                                                       subscription.c.package).where(subscription.c.active)):
            grants = Audience(kind, code).principal().grants
            found.setdefault(grants, set()).update(indicators.get(package, ()))
    return found


def _by_date(contents: dict, newest_only: bool = False) -> dict:
    """Reference date → the indicators with results on it (each indicator's newest date only, if asked)."""
    out: dict = {}
    for indicator_id, periods in contents.items():
        for day in (periods[-1:] if newest_only else periods):
            out.setdefault(day, set()).add(indicator_id)
    return out


def _start() -> None:
    from kvalitetsplatform.access.db import open_appdb
    from kvalitetsplatform.access.gate import gate_for
    from kvalitetsplatform.indicators import load_catalogue

    s = settings()
    _worker["gate"] = gate_for(s, open_appdb(s), load_catalogue())


def _protect(grants: tuple, day, indicator_ids: list[str]) -> int:
    from kvalitetsplatform.access.principal import Principal

    if not _worker:
        _start()
    return _worker["gate"].protect_views(Principal(0, "", grants), indicator_ids, [day])


@app.command("protect")
def protect_command(
    all_dates: bool = typer.Option(False, "--all-dates", help="Alle referencedatoer (standard: kun den nyeste, "
                                                               "som overblikkene viser)."),
    workers: int = typer.Option(0, help="Antal processer (standard: antal kerner)."),
    json_out: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON."),
) -> None:
    """Diskretionér alle brugeres visninger på forhånd, så ingen side venter på beskyttelsen."""
    from kvalitetsplatform.access.db import open_appdb
    from kvalitetsplatform.access.gate import views_path
    from kvalitetsplatform.access.results import ResultStore
    from kvalitetsplatform.access.views import ViewStore
    from kvalitetsplatform.compute.store import results_path
    from kvalitetsplatform.indicators import load_catalogue

    s = settings()
    if not results_path(s).exists():
        console.print("[red]Fejl:[/red] Der er ingen resultater endnu. Kør `kp compute` først.")
        raise typer.Exit(1)
    store = ResultStore.from_settings(s)
    contents = store.contents()
    by_date = _by_date(contents, newest_only=not all_dates)
    engine = open_appdb(s)
    found = scopes(engine)
    pruned = ViewStore(views_path(s)).prune(store.version())
    tasks = [(grants, day, sorted(ids)) for grants in found for day, ids in sorted(by_date.items())]
    reports = report_scopes(engine, load_catalogue())
    every_date = sorted(_by_date(contents).items())
    for grants, wanted in sorted(reports.items()):
        tasks += [(grants, day, sorted(wanted & ids)) for day, ids in every_date if wanted & ids]
    started = time.perf_counter()
    views = 0
    with Progress(TextColumn("Diskretionerer"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=json_out) as progress:
        bar = progress.add_task("", total=len(tasks))
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            for future in as_completed([pool.submit(_protect, *task) for task in tasks]):
                views += future.result()
                progress.advance(bar)
    result = {"scopes": len(found), "dates": len(by_date), "report_audiences": len(reports), "views": views,
              "pruned": pruned,
              "seconds": round(time.perf_counter() - started, 1)}
    if json_out:
        emit_json(result)
    else:
        console.print(f"Beskyttede {views} visninger for {len(found)} adgangsområder og {len(by_date)} "
                      f"referencedato(er) og {len(reports)} abonnerede rapporters modtagere (alle datoer) på "
                      f"{result['seconds']} s (fjernede {pruned} forældede).")

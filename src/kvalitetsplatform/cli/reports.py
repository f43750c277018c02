"""`kp reports build|list|subscribe|unsubscribe|subscriptions|notify`: static PDF reports and the report library."""

from __future__ import annotations

import calendar
from datetime import date

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kvalitetsplatform.cli.main import app, console, emit_json

reports_app = typer.Typer(help="Statiske rapporter (PDF) og rapportbiblioteket.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")

JSON = typer.Option(False, "--json", help="Skriv resultatet som JSON.")


def _settings():
    from kvalitetsplatform.settings import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as e:
        console.print(f"[red]Konfigurationsfejl:[/red] {escape(str(e))}")
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 1):
    console.print(f"[red]Fejl:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def parse_period(text: str | None) -> date | None:
    """YYYY-MM → the month's last day (the reference date)."""
    if text is None:
        return None
    try:
        year, month = (int(x) for x in text.split("-"))
        return date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        raise typer.BadParameter(f"perioden skal skrives ÅÅÅÅ-MM, fx 2026-10, ikke {text!r}") from None


def _audience(practice: str | None, cluster: str | None, region: str | None):
    from kvalitetsplatform.reports.audience import Audience

    given = [(k, v) for k, v in (("practice", practice), ("cluster", cluster), ("region", region)) if v]
    if len(given) != 1:
        raise typer.BadParameter("angiv præcis én af --practice, --cluster og --region")
    return Audience(*given[0])


@reports_app.command("build")
def build(practice: str = typer.Option(None, "--practice", help="Praksisrapport for dette ydernummer."),
          cluster: str = typer.Option(None, "--cluster", help="Klyngepakke til mødet for denne klynge."),
          region: str = typer.Option(None, "--region", help="Regionalt overblik og klyngepakker for alle regionens "
                                                            "klynger (regionskode, fx 1082)."),
          package: str = typer.Option(None, "--package", help="Pakke-id; uden: alle pakker til målgruppen."),
          period: str = typer.Option(None, "--period", help="Opgørelsesmåned ÅÅÅÅ-MM; uden: den nyeste."),
          lang: str = typer.Option("da", "--lang", help="Sprog: da eller en."),
          json: bool = JSON) -> None:
    """Build reports as their recipients see them and store them in the report library."""
    from kvalitetsplatform.access.orgs import load_organisation
    from kvalitetsplatform.reports.audience import Audience
    from kvalitetsplatform.reports.common import ReportError
    from kvalitetsplatform.reports.service import open_services, provenance

    audience = _audience(practice, cluster, region)
    day = parse_period(period)
    services = open_services(_settings())
    library = services.library
    audiences = [audience]
    if audience.kind == "region":
        with services.engine.connect() as conn:
            org = load_organisation(conn)
        clusters = sorted({m.cluster_id for m in org.in_region(audience.code)
                           if day is None or m.covers(day) or m.valid_to is None})
        if not clusters and org.unit("region", audience.code) is None:
            _fail(f"regionen {audience.code!r} findes ikke (synkronisér organisationer med `kp users sync-orgs`)")
        audiences += [Audience("cluster", c) for c in clusters]
    jobs = []
    for a in audiences:
        try:
            packages = [library.package(package)] if package else library.packages_for(a.kind)
        except ReportError as e:
            _fail(str(e))
        jobs += [(a, p) for p in packages if a.kind in p.audience]
    if not jobs:
        _fail("ingen pakker at lave rapporter for")
    run = provenance(services.settings)
    built, failed = [], []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, disable=json) as progress:
        task = progress.add_task("Laver rapporter", total=len(jobs))
        for a, p in jobs:
            progress.update(task, description=f"{a.kind} {a.code} · {p.id}")
            try:
                built.append(library.build(a, p.id, day, lang, created_by="kp reports build", provenance=run))
            except ReportError as e:
                failed.append({"kind": a.kind, "code": a.code, "package": p.id, "error": str(e)})
            progress.advance(task)
    if json:
        emit_json({"built": [e.as_dict() for e in built], "failed": failed})
    else:
        for e in built:
            console.print(f"[green]✓[/green] {escape(e.title)} · {e.period:%d.%m.%Y} · {e.pages} sider → "
                          f"reports/{escape(e.file)}", highlight=False)
        for f in failed:
            console.print(f"[red]✗[/red] {f['kind']} {f['code']} · {f['package']}: {escape(f['error'])}",
                          highlight=False)
    if failed and not built:
        raise typer.Exit(1)


@reports_app.command("list")
def list_reports(kind: str = typer.Option(None, "--kind", help="Kun denne type: practice, cluster eller region."),
                 code: str = typer.Option(None, "--code", help="Kun denne enhed (ydernummer, klynge, region)."),
                 json: bool = JSON) -> None:
    """List the report library (for operators; users see their own reports in the web library)."""
    from kvalitetsplatform.access.db import open_appdb
    from kvalitetsplatform.reports.library import all_reports

    entries = all_reports(open_appdb(_settings()), kind, code)
    if json:
        emit_json({"reports": [e.as_dict() for e in entries]})
        return
    table = Table(title="Rapportbiblioteket")
    for column in ("Id", "Titel", "Opgjort pr.", "Sprog", "Version", "Sider", "Dannet"):
        table.add_column(column)
    for e in entries:
        table.add_row(e.id, escape(e.title), f"{e.period:%d.%m.%Y}", e.lang, str(e.version), str(e.pages),
                      f"{e.created_at:%d.%m.%Y %H:%M}")
    console.print(table)


@reports_app.command("subscribe")
def subscribe(user: str = typer.Option(..., "--user", help="Brugernavn på den, der abonnerer."),
              practice: str = typer.Option(None, "--practice", help="Praksisrapporten for dette ydernummer."),
              cluster: str = typer.Option(None, "--cluster", help="Klyngepakken for denne klynge."),
              region: str = typer.Option(None, "--region", help="Det regionale overblik for denne region."),
              package: str = typer.Option(..., "--package", help="Pakke-id."),
              email: str = typer.Option(..., "--email", help="Hvor beskeden om nye rapporter sendes hen."),
              lang: str = typer.Option("da", "--lang", help="Sprog: da eller en."),
              json: bool = JSON) -> None:
    """Subscribe a user to a package report for one of their practices, clusters or regions."""
    from sqlalchemy import select

    from kvalitetsplatform.access.db import user_account
    from kvalitetsplatform.access.users import UserError
    from kvalitetsplatform.reports.common import ReportError
    from kvalitetsplatform.reports.service import open_services
    from kvalitetsplatform.reports.subscriptions import subscribe as add

    audience = _audience(practice, cluster, region)
    services = open_services(_settings())
    with services.engine.connect() as conn:
        user_id = conn.execute(select(user_account.c.id).where(user_account.c.username == user)).scalar()
    if user_id is None:
        _fail(f"brugeren {user!r} findes ikke")
    try:
        sub = add(services.engine, services.library, user_id, audience, package, email, lang)
    except (UserError, ReportError, ValueError) as e:
        _fail(str(e))
    if json:
        emit_json(sub.as_dict())
    else:
        console.print(f"Abonnement {sub.id}: {escape(user)} får besked på {escape(sub.email)} om nye "
                      f"{sub.package}-rapporter for {sub.kind} {sub.scope_code}.", highlight=False)


@reports_app.command("unsubscribe")
def unsubscribe(subscription_id: int = typer.Argument(..., help="Abonnementets nummer.")) -> None:
    """End a subscription."""
    from kvalitetsplatform.access.db import open_appdb
    from kvalitetsplatform.access.users import UserError
    from kvalitetsplatform.reports.subscriptions import unsubscribe as end

    try:
        end(open_appdb(_settings()), subscription_id)
    except UserError as e:
        _fail(str(e))
    console.print(f"Abonnement {subscription_id} er afmeldt.")


@reports_app.command("subscriptions")
def list_subscriptions(json: bool = JSON) -> None:
    """List active subscriptions."""
    from kvalitetsplatform.access.db import open_appdb
    from kvalitetsplatform.reports.subscriptions import subscriptions

    subs = subscriptions(open_appdb(_settings()))
    if json:
        emit_json({"subscriptions": [s.as_dict() for s in subs]})
        return
    table = Table(title="Abonnementer")
    for column in ("Nr.", "Bruger-id", "Rapport", "Pakke", "Sprog", "E-mail"):
        table.add_column(column)
    for s in subs:
        table.add_row(str(s.id), str(s.user_id), f"{s.kind} {s.scope_code}", s.package, s.lang, escape(s.email))
    console.print(table)


@reports_app.command("notify")
def notify(json: bool = JSON) -> None:
    """After a monthly compute: build the subscribed reports that are due and e-mail each subscriber a link
    (SMTP settings: KP_SMTP_HOST, KP_SMTP_PORT, KP_SMTP_SENDER, KP_BASE_URL)."""
    from kvalitetsplatform.reports.mail import Mailer, MailError, MailSettings
    from kvalitetsplatform.reports.service import open_services, provenance
    from kvalitetsplatform.reports.subscriptions import notify_due

    settings = _settings()
    try:
        mail = MailSettings.load(settings.home)
    except MailError as e:
        _fail(str(e), 2)
    services = open_services(settings)
    try:
        outcome = notify_due(services.engine, services.library, Mailer(mail), mail.base_url,
                             provenance(settings))
    except MailError as e:
        _fail(str(e))
    if json:
        emit_json(outcome.as_dict())
        return
    console.print(f"Lavet {len(outcome.built)} rapporter, sendt {len(outcome.sent)} beskeder, "
                  f"{len(outcome.failed)} fejlede, {len(outcome.skipped)} sprunget over.")
    for s, r, e in outcome.failed:
        console.print(f"[red]✗[/red] abonnement {s} {r}: {escape(e)}", highlight=False)
    if outcome.failed:
        raise typer.Exit(1)

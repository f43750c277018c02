"""`kp compute` and `kp results`: compute the indicators and look at the figures."""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from kvalitetsplatform.cli.main import app, console, emit_json, settings

out = Console()
LEVELS_DA = {"practice": "praksis", "cluster": "klynge", "region": "region", "municipality": "kommune",
             "national": "landet"}
MODES_DA = {"full": "fuld beregning", "incremental": "trinvis opdatering", "unchanged": "intet at opdatere"}


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    console.print(f"[red]Fejl:[/red] {option} skal være en dato som 2026-10-31 eller 31.10.2026, ikke {text!r}")
    raise typer.Exit(2)


def _dk(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def format_value(value: float | None, kind: str) -> str:
    """A figure as a Dane reads it: 74,6 % for a proportion, 312,4 for a rate per 1.000, 4,21 for a mean."""
    if value is None:
        return "–"
    if kind == "proportion":
        return f"{value * 100:.1f} %".replace(".", ",")
    if kind == "rate":
        return f"{value:,.1f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"{value:.2f}".replace(".", ",")


def format_standard(op: str | None, value: float | None, kind: str) -> str:
    if op is None or value is None:
        return "–"
    return f"{op.replace('>=', '≥').replace('<=', '≤')} {format_value(value, kind)}"


@app.command("compute")
def compute_command(
    package: list[str] = typer.Option(None, "--package", "-p", help="Kun denne pakke (kan gentages)."),
    periods: int = typer.Option(36, help="Antal månedlige referencedatoer (månedsultimo)."),
    end: str = typer.Option(None, help="Seneste referencedato (ÅÅÅÅ-MM-DD); standard: den seneste månedsultimo, "
                                       "som de indlæste leverancer dækker."),
    full: bool = typer.Option(False, "--full", help="Beregn alt forfra i stedet for kun det, nye leverancer og "
                                                    "perioder berører."),
    as_json: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON."),
) -> None:
    """Compute every indicator for every monthly reference date and every org level (practice, cluster, region,
    municipality, nation) and stratum (all, age band, sex), with confidence intervals, percentiles, cluster
    ranks and targets, and the worklist flags of the newest date. After new deliveries only what they touch is
    recomputed. Results go to results.duckdb under KP_HOME."""
    from kvalitetsplatform.compute import ComputeError, StoreError, compute, national_summary
    from kvalitetsplatform.warehouse import WarehouseError

    cfg = settings()
    end_date = _date(end, "--end")
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True, disable=as_json) as progress:
            task = progress.add_task("Beregner indikatorer", total=None)

            def tick(what: str, done: int, total: int) -> None:
                progress.update(task, description=f"Beregnet {what}", completed=done, total=total)

            report = compute(cfg, package_ids=package or None, periods=periods, end=end_date, full=full,
                             progress=tick)
        summary = national_summary(cfg)
    except (ComputeError, StoreError, WarehouseError, ValueError) as e:
        console.print(f"[red]Fejl:[/red] {e}")
        raise typer.Exit(2) from None
    if as_json:
        emit_json({**report.as_dict(), "national": summary})
        return
    out.print(f"Kørsel {report.run_id}: {MODES_DA[report.mode]}, {len(report.ref_dates)} perioder "
              f"{_dk(report.ref_dates[0])}–{_dk(report.ref_dates[-1])}, "
              f"{f'{report.seconds:.1f}'.replace('.', ',')} s"
              + (f" (gemt SQL genbrugt for {report.plans['reused']} af "
                 f"{sum(report.plans.values())} beregninger)." if report.plans["reused"] else "."))
    table = Table(title="Pakker")
    for col in ("pakke", "indikatorer", "beregnet"):
        table.add_column(col)
    for package_id, work in report.packages.items():
        n = sum(1 for row in summary if row["package"] == package_id)
        table.add_row(package_id, str(n), work["reason"])
    out.print(table)
    _print_national(summary)


def _print_national(summary: list[dict]) -> None:
    if not summary:
        return
    table = Table(title=f"Landstal {_dk(summary[0]['ref_date'])}")
    for col, justify in (("indikator", "left"), ("titel", "left"), ("landstal", "right"), ("95 %-KI", "right"),
                         ("standard", "right"), ("praksis der når den", "right")):
        table.add_column(col, justify=justify)
    for row in summary:
        ci = (f"{format_value(row['ci_low'], row['kind'])}–{format_value(row['ci_high'], row['kind'])}"
              if row["ci_low"] is not None else "–")
        share = (f"{row['practices_meeting']} af {row['practices_with_value']}" if row["practices_with_value"]
                 else "–")
        table.add_row(row["indicator"], row["title_da"], format_value(row["value"], row["kind"]), ci,
                      format_standard(row["standard_op"], row["standard_value"], row["kind"]),
                      share if row["standard_op"] else "–")
    out.print(table)


@app.command("results")
def results_command(
    indicator: str = typer.Option(None, "--indicator", "-i", help="Indikator-id, fx IHD-1 (standard: alle)."),
    level: str = typer.Option("national", help="practice, cluster, region, municipality eller national."),
    unit: str = typer.Option(None, help="Ydernummer, klynge-id, regionskode eller kommunekode."),
    stratum: str = typer.Option("all", help="all, age eller sex."),
    on: str = typer.Option(None, "--date", help="Referencedato (standard: den seneste)."),
    limit: int = typer.Option(50, help="Højst så mange rækker."),
    as_json: bool = typer.Option(False, "--json", help="Skriv rækkerne som JSON."),
) -> None:
    """Show computed figures: numerator, denominator, value with its 95 % interval, percentile, cluster rank and
    whether the target is met."""
    from kvalitetsplatform.compute import StoreError, results

    cfg = settings()
    if level not in LEVELS_DA:
        console.print(f"[red]Fejl:[/red] --level skal være en af {', '.join(LEVELS_DA)}, ikke {level!r}")
        raise typer.Exit(2)
    try:
        store = results(cfg)
    except StoreError as e:
        console.print(f"[red]Fejl:[/red] {e}")
        raise typer.Exit(2) from None
    try:
        r = store.result
        when = _date(on, "--date")
        if when is None:
            when = r.ref_date.max().execute()
            if when is None:
                console.print("Der er ingen resultater endnu. Kør `kp compute`.")
                raise typer.Exit(1)
        r = r.filter(r.level == level, r.stratum == stratum, r.ref_date == when)
        if indicator:
            r = r.filter(r.indicator == indicator)
        if unit:
            r = r.filter(r.unit == unit)
        rows = r.order_by(["package", "indicator", "unit", "stratum_value"]).limit(limit).to_pyarrow().to_pylist()
    finally:
        store.close()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        out.print("Ingen rækker matcher.")
        return
    table = Table(title=f"Resultater {_dk(when)}, {LEVELS_DA[level]}")
    for col, justify in (("indikator", "left"), ("enhed", "left"), ("stratum", "left"), ("tæller", "right"),
                         ("nævner", "right"), ("værdi", "right"), ("95 %-KI", "right"), ("percentil", "right"),
                         ("klyngeplads", "right"), ("mål nået", "left")):
        table.add_column(col, justify=justify)
    for row in rows:
        ci = (f"{format_value(row['ci_low'], row['kind'])}–{format_value(row['ci_high'], row['kind'])}"
              if row["ci_low"] is not None else "–")
        pct = "–" if row["percentile"] is None else f"{row['percentile']:.0f}"
        rank = "–" if row["cluster_rank"] is None else f"{row['cluster_rank']} af {row['cluster_practices']}"
        met = {True: "ja", False: "nej", None: "–"}[row["target_met"]]
        table.add_row(row["indicator"], row["unit"], row["stratum_value"], _num(row["numerator"]),
                      _num(row["denominator"]), format_value(row["value"], row["kind"]), ci, pct, rank, met)
    out.print(table)


def _num(x: float) -> str:
    text = f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"
    return text.replace(",", "X").replace(".", ",").replace("X", ".")

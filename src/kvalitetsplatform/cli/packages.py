"""`kp packages list|show|validate|test`: the indicator packages, their definitions and their test patients."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kvalitetsplatform.cli.main import app, console, emit_json

out = Console()
packages_app = typer.Typer(help="Indikatorpakker: se, kontrollér og afprøv pakkefilerne.", no_args_is_help=True)
app.add_typer(packages_app, name="packages")

KINDS_DA = {"proportion": "andel", "rate": "rate", "mean": "gennemsnit"}
DIRECTIONS_DA = {"higher_is_better": "højere er bedre", "lower_is_better": "lavere er bedre", "none": "ingen retning"}


def _catalogue(paths: list[Path] | None = None):
    from kvalitetsplatform.indicators import load_catalogue

    return load_catalogue(paths)


def _standard_text(indicator, lang: str = "da") -> str:
    from kvalitetsplatform.indicators.describe import number

    s = indicator.standard
    if s is None or s.op is None:
        return "–"
    if indicator.kind == "proportion":
        return f"{s.op} {number(round(s.value * 100, 4), lang)} %"
    return f"{s.op} {number(s.value, lang)}"


def _print_errors(catalogue) -> None:
    for error in catalogue.errors:
        console.print(f"[red]Fejl:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
    for warning in catalogue.warnings:
        console.print(f"[yellow]Advarsel:[/yellow] {escape(str(warning))}", highlight=False, soft_wrap=True)


@packages_app.command("list")
def list_packages(json: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON.")) -> None:
    """List the shipped packages: id, version, title and number of indicators and test patients."""
    catalogue = _catalogue()
    rows = [{"package": p.id, "version": p.version, "title": p.title.da, "title_en": p.title.en,
             "indicators": len(p.indicators), "tests": len(p.tests), "review_by": p.review_by.isoformat(),
             "file": Path(p.file).name} for p in catalogue.packages]
    if json:
        emit_json({"packages": rows, "errors": [e.as_dict() for e in catalogue.errors]})
    else:
        table = Table(title="Indikatorpakker")
        for column in ("Pakke", "Version", "Titel", "Indikatorer", "Testpatienter", "Revideres senest"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["package"], row["version"], row["title"], str(row["indicators"]), str(row["tests"]),
                          f"{catalogue.package(row['package']).review_by:%d.%m.%Y}")
        out.print(table)
        out.print(f"{len(rows)} pakker, {sum(r['indicators'] for r in rows)} indikatorer.")
        _print_errors(catalogue)
    if catalogue.errors:
        raise typer.Exit(1)


@packages_app.command()
def show(package_id: str = typer.Argument(..., help="Pakkens id, fx ihd."),
         lang: str = typer.Option("da", help="Sprog: da eller en."),
         json: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON.")) -> None:
    """Show a package's card and every indicator's definition in words."""
    from kvalitetsplatform.indicators import describe

    catalogue = _catalogue()
    try:
        p = catalogue.package(package_id)
    except KeyError:
        known = ", ".join(x.id for x in catalogue.packages)
        console.print(f"[red]Ukendt pakke '{package_id}'.[/red] Kendte pakker: {known}")
        raise typer.Exit(2) from None
    indicators = []
    for ind in p.indicators:
        indicators.append({
            "id": ind.id, "title": ind.title(lang), "description": ind.description(lang), "kind": ind.kind,
            "direction": ind.direction, "standard": _standard_text(ind, lang),
            "standard_source": ind.standard.source if ind.standard else None,
            "standard_note": ind.standard.note if ind.standard else None,
            "population": describe.criterion(ind.population, lang) if ind.population is not None else None,
            "exclusions": describe.criterion(ind.exclusions, lang) if ind.exclusions is not None else None,
            "measure": describe.measure(ind.measure, lang),
            "fact": describe.events(ind.fact, lang) if ind.fact is not None else None,
        })
    card = {"package": p.id, "version": p.version, "title": p.title(lang), "why": p.why(lang),
            "audience": list(p.audience), "author": p.author, "checked_by": p.checked_by,
            "review_by": p.review_by.isoformat(),
            "changes": [{"date": c.date.isoformat(), "version": c.version, "by": c.by, "description": c.description}
                        for c in p.changes],
            "codelists": {alias: c.ref for alias, c in p.codelists.items()}, "indicators": indicators,
            "tests": len(p.tests)}
    if json:
        emit_json(card)
        return
    da = lang == "da"
    out.print(f"[bold]{escape(card['title'])}[/bold] ({p.id} {p.version})")
    out.print(escape(card["why"]))
    out.print(escape(f"{'Forfatter' if da else 'Author'}: {p.author} · {'Kontrolleret af' if da else 'Checked by'}: "
                     f"{p.checked_by} · {'Revideres senest' if da else 'Review by'}: {p.review_by:%d.%m.%Y}"))
    for c in p.changes:
        out.print(escape(f"  {c.date:%d.%m.%Y} {c.version}: {c.description} ({c.by})"))
    for ind in indicators:
        out.print(f"\n[bold]{escape(ind['id'] + ' ' + ind['title'])}[/bold] — "
                  + escape(f"{KINDS_DA[ind['kind']] if da else ind['kind']}, "
                           f"{DIRECTIONS_DA[ind['direction']] if da else ind['direction']}, standard {ind['standard']}"
                           + (f" ({ind['standard_source']})" if ind["standard_source"] else "")))
        if ind["standard_note"]:
            out.print(escape(f"  {ind['standard_note']}"))
        out.print(escape(ind["description"]))
        if ind["population"]:
            out.print("  Population (" + ("ud over tilmeldt og i live" if da else "besides listed and alive") + "):")
            for line in ind["population"]:
                out.print(f"    {escape(line)}", highlight=False)
        if ind["exclusions"]:
            out.print(f"  {'Undtaget' if da else 'Excluded'}:")
            for line in ind["exclusions"]:
                out.print(f"    {escape(line)}", highlight=False)
        for part, lines in ind["measure"].items():
            out.print(f"  {part.capitalize()}:")
            for line in lines:
                out.print(f"    {escape(line)}", highlight=False)
        if ind["fact"]:
            out.print(f"  {'Afgørende oplysning' if da else 'Deciding fact'}: {'seneste' if da else 'latest'} "
                      f"{escape(ind['fact'])}", highlight=False)


@packages_app.command()
def validate(paths: list[Path] = typer.Argument(None, help="Pakkefiler; uden argumenter de medfølgende pakker."),
             json: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON.")) -> None:
    """Check package files (and the codelists they use): every mistake with file, line and field. Exits 1 on
    errors."""
    for path in paths or []:
        if not path.exists():
            console.print(f"[red]Fejl:[/red] {path}: filen findes ikke")
            raise typer.Exit(2)
    catalogue = _catalogue(list(paths) if paths else None)
    if json:
        emit_json({"files": catalogue.files, "packages": [p.id for p in catalogue.packages],
                   "indicators": sum(len(p.indicators) for p in catalogue.packages),
                   "errors": [e.as_dict() for e in catalogue.errors],
                   "warnings": [w.as_dict() for w in catalogue.warnings]})
    else:
        _print_errors(catalogue)
        if catalogue.errors:
            console.print(f"[red]{len(catalogue.errors)} fejl[/red] i {catalogue.files} filer.")
        else:
            n = sum(len(p.indicators) for p in catalogue.packages)
            out.print(f"[green]OK[/green]: {len(catalogue.packages)} pakker med {n} indikatorer er gyldige.")
    if catalogue.errors:
        raise typer.Exit(1)


@packages_app.command("test")
def test_packages(package_ids: list[str] = typer.Argument(None, help="Pakker at afprøve; uden argumenter alle."),
                  json: bool = typer.Option(False, "--json", help="Skriv resultatet som JSON.")) -> None:
    """Run every package's test patients through the plain-Python reference evaluator. Exits 1 when an outcome
    differs from the expected one."""
    from kvalitetsplatform.indicators.assurance import run_package

    catalogue = _catalogue()
    if catalogue.errors:
        _print_errors(catalogue)
        raise typer.Exit(1)
    chosen = catalogue.packages
    if package_ids:
        unknown = [i for i in package_ids if i not in {p.id for p in catalogue.packages}]
        if unknown:
            console.print(f"[red]Ukendte pakker:[/red] {', '.join(unknown)}")
            raise typer.Exit(2)
        chosen = [p for p in catalogue.packages if p.id in package_ids]
    results = [r for p in chosen for r in run_package(p)]
    failed = [r for r in results if not r.passed]
    if json:
        emit_json({"engine": "python", "checks": len(results), "passed": len(results) - len(failed),
                   "failed": [r.as_dict() for r in failed],
                   "packages": {p.id: {"cases": len(p.tests),
                                       "checks": sum(1 for r in results if r.package == p.id)} for p in chosen}})
    else:
        table = Table(title="Testpatienter (Python-referencemotoren)")
        for column in ("Pakke", "Tilfælde", "Kontroller", "Bestået"):
            table.add_column(column)
        for p in chosen:
            mine = [r for r in results if r.package == p.id]
            table.add_row(p.id, str(len(p.tests)), str(len(mine)), str(sum(r.passed for r in mine)))
        out.print(table)
        for r in failed:
            console.print("[red]Fejlet:[/red] " + escape(f"{r.package}.yaml, linje {r.line}, {r.indicator} "
                                                           f"«{r.case}»: " + "; ".join(r.problems)), highlight=False,
                          soft_wrap=True)
        if not failed:
            out.print(f"[green]OK[/green]: alle {len(results)} kontroller bestået.")
    if failed:
        raise typer.Exit(1)

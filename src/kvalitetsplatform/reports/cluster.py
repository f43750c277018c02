"""The cluster meeting pack: every practice of the cluster side by side, the cluster against region and nation,
the strongest and weakest indicators, the largest improvements and declines, and room for the meeting's notes.

Made for the cluster's coordinators (the audience principal holds a cluster-coordinator grant): practices appear
by name or as letters exactly as the gate shows them, which follows the cluster's own setting.
"""

from __future__ import annotations

from datetime import date

from kvalitetsplatform.access.orgs import load_organisation
from kvalitetsplatform.reports import render
from kvalitetsplatform.reports.charts import Standing, forest
from kvalitetsplatform.reports.charts import trend as trend_chart
from kvalitetsplatform.reports.common import ReportError, Request, colophon, definition, labels, meta
from kvalitetsplatform.reports.content import (
    Cell, Figures, Words, previous_date, read, series_of, sign, target_status, target_value, trend, value_kind,
)

HIGHLIGHTS = 3
MOVERS = 5


def _score(figures: Figures, cell: Cell) -> float | None:
    """How good a practice's value is among all practices, 0 … 1 (its percentile with the direction applied)."""
    s = sign(figures.indicator)
    if cell.percentile is None or s == 0:
        return None
    return cell.percentile / 100 if s > 0 else 1 - cell.percentile / 100


def _relative(indicator, before: float, now: float) -> float:
    """A change made comparable across indicators: percentage points for proportions, relative otherwise; the
    indicator's direction applied (positive = better)."""
    delta = now - before if indicator.kind == "proportion" else ((now - before) / abs(before) if before else 0.0)
    return delta * sign(indicator)


def _compact(words: Words, indicator, value: float | None) -> str:
    """A value short enough for the side-by-side table: whole percent, whole rates, means with one decimal."""
    if value is None:
        return "<5"
    if indicator.kind == "proportion":
        return words.loc.number(value * 100, 0)
    return words.loc.number(value, 1 if indicator.kind == "mean" else 0)


def _unit(figures_list: list[Figures], day: date, level: str, prefer: str | None = None) -> Cell | None:
    cells = figures_list[0].on(day, level)
    if prefer is not None:
        cells = [c for c in cells if c.code == prefer] or cells
    return cells[0] if cells else None


def build(gate, principal, cluster_id: str, request: Request) -> dict:
    words = Words(request.lang)
    _ = words._
    package = request.package
    all_figures = read(gate, principal, package.indicators)
    dates = sorted({c.day for f in all_figures for c in f.cells if c.level == "cluster" and c.code == cluster_id})
    if not dates:
        raise ReportError(f"ingen resultater for klynge {cluster_id} i pakken {package.id}, som modtageren må se")
    period = request.period or dates[-1]
    if period not in dates:
        raise ReportError(f"klynge {cluster_id} har ingen resultater pr. {period.isoformat()} i pakken {package.id}; "
                          f"nyeste er {dates[-1].isoformat()}")
    compared = previous_date(dates, period, request.previous)
    cluster = _unit(all_figures, period, "cluster", cluster_id)
    region = _unit(all_figures, period, "region")
    practices = sorted({c.label for f in all_figures for c in f.on(period, "practice")})
    with gate.engine.connect() as conn:  # the cluster's own choice (names or letters); the gate applies it
        lettered = load_organisation(conn).shows_letters(cluster_id)
    heat, overview_rows, standing_rows, moves, pages = [], [], [], [], []
    codes = {c.label: c.code for f in all_figures for c in f.on(period, "practice")}
    short = {label: (codes[label] if lettered else label) for label in practices}  # a lettered code is its letter
    for i, figures in enumerate(all_figures):
        ind = figures.indicator
        c_now = figures.get(period, "cluster", cluster_id)
        c_before = figures.get(compared, "cluster", cluster_id)
        r_now = figures.get(period, "region", region.code) if region else None
        n_now = next(iter(figures.on(period, "national")), None)
        change = trend(words, ind, c_before.value if c_before else None, c_now.value if c_now else None)
        by_label = {c.label: c for c in figures.on(period, "practice")}
        heat.append({"title": ind.title(words.lang), "cells": [
            {"text": _compact(words, ind, by_label[label].value) if label in by_label else "",
             "score": _score(figures, by_label[label]) if label in by_label else None} for label in practices]})
        for cell in by_label.values():
            before = figures.get(compared, "practice", cell.code)
            if before is not None and before.value is not None and cell.value is not None and sign(ind):
                moves.append((_relative(ind, before.value, cell.value), cell.label, ind, before, cell))
        overview_rows.append([ind.title(words.lang),
                              {"text": words.value(ind, c_now.value if c_now else None), "strong": True,
                               **({"status": target_status(c_now)} if target_status(c_now) else {})},
                              words.value(ind, r_now.value if r_now else None),
                              words.value(ind, n_now.value if n_now else None), words.target(ind),
                              None if change is None else {"direction": change.direction, "tone": change.tone,
                                                           "text": change.text}])
        if c_now is not None and n_now is not None and c_now.value is not None and n_now.value and sign(ind):
            standing_rows.append((_relative(ind, n_now.value, c_now.value), ind, c_now, n_now))
        pages.append(_indicator_page(words, figures, i, len(all_figures), period, compared, cluster_id,
                                     region.code if region else None))

    heat_table = {"practices": [short[label] for label in practices], "rotate": not lettered,
                  "corner": _("Indikator"), "rows": heat,
                  "caption": _("Praksis pr. {day}; andele i procent. Farven viser, hvor godt tallet ligger blandt "
                               "alle landets praksis: grøn bedst, orange dårligst, ingen farve uden retning eller "
                               "når tallet er skjult («<5»).").format(day=words.day(period))}
    standing_rows.sort(key=lambda r: r[0], reverse=True)

    def standing_item(row) -> list[str]:
        _score_, ind, c, n = row
        return [ind.title(words.lang), _("klyngen {c} mod landet {n}").format(c=words.value(ind, c.value),
                                                                           n=words.value(ind, n.value))]

    moves.sort(key=lambda m: m[0], reverse=True)

    def move_item(move) -> list[str]:
        _s, label, ind, before, now = move
        return [f"{label} · {ind.title(words.lang)}",
                f"{words.value(ind, before.value)} → {words.value(ind, now.value)} "
                f"({words.change(ind, now.value - before.value)})"]

    improvements = [move_item(m) for m in moves if m[0] > 0][:MOVERS]
    declines = [move_item(m) for m in reversed(moves) if m[0] < 0][:MOVERS]
    best = [standing_item(r) for r in standing_rows if r[0] > 0][:HIGHLIGHTS]
    worst = [standing_item(r) for r in reversed(standing_rows) if r[0] < 0][:HIGHLIGHTS]

    cluster_name = cluster.label if cluster else cluster_id
    display = (_("Praksis vises med bogstaver, som klyngen har valgt.") if lettered
               else _("Praksis vises med navn, som klyngen har valgt."))
    first = min(f.dates[0] for f in all_figures if f.dates)
    recipient = _("{cluster}: klyngens koordinator(er)").format(cluster=cluster_name)
    title = f"{package.title(words.lang)} – {cluster_name}"
    return {
        "kind": "cluster", "lang": words.lang, "region": "DK" if words.lang == "da" else "GB",
        "meta": meta(words, title, _("Klyngepakke til mødet pr. {day}").format(day=words.day(period)), request,
                     [cluster_id]),
        "labels": labels(words),
        "period": period.isoformat(), "compared": compared.isoformat() if compared else None,
        "header": {"left": f"{package.title(words.lang)} · {cluster_name}",
                   "right": _("Opgjort pr. {day}").format(day=words.day(period))},
        "footer": "Kvalitetsplatformen · " + _("Klyngepakke") + f" · {package.id} {package.version}",
        "cover": {
            "platform": "Kvalitetsplatformen", "audience": _("Til klyngens møde"),
            "kicker": _("Klyngepakke til mødet"), "title": package.title(words.lang), "subtitle": cluster_name,
            "facts": [[_("Klynge"), cluster_name], [_("Region"), region.label if region else "–"],
                      [_("Praksis"), _("{n} praksis. {display}").format(n=len(practices), display=display)],
                      [_("Opgjort pr."), words.day(period)],
                      [_("Sammenlignet med"), words.day(compared) if compared else "–"],
                      [_("Pakke"), f"{package.id} · version {package.version} · "
                                   + _("{n} indikatorer").format(n=len(package.indicators))]],
            "intro_title": _("Om pakken"), "intro": package.why(words.lang),
            "contents": {"title": _("I pakken"), "items": [
                {"label": "overview", "text": _("Overblik")}, {"label": "highlights", "text": _("Højdepunkter")}]
                + [{"label": f"ind-{i + 1}", "text": ind.title(words.lang)} for i, ind in enumerate(package.indicators)]
                + [{"label": "notes", "text": _("Noter fra mødet")}, {"label": "colophon", "text": _("Om rapporten")}]},
            "notice": _("Pakken er dannet til {cluster}s møde og viser klyngens praksis, som klyngen har valgt at "
                        "vise dem, klyngen samlet, regionen og hele landet. Den indeholder ingen oplysninger om "
                        "enkelte patienter.").format(cluster=cluster_name),
        },
        "overview": {
            "title": _("Overblik"),
            "intro": _("Klyngens praksis side om side pr. {day}, og klyngen samlet mod regionen og hele landet. "
                       "Pilen viser klyngens udvikling siden {before}.").format(
                day=words.day(period), before=words.day(compared) if compared else "–"),
            "heat": heat_table,
            "columns": ["1fr", "auto", "auto", "auto", "auto", "auto"],
            "header": [_("Indikator"), _("Klyngen"), _("Region"), _("Landet"), _("Mål"), _("Siden sidst")],
            "aligns": ["left", "right", "right", "right", "right", "left"],
            "rows": overview_rows,
            "legend": {"met": _("målet er nået"), "missed": _("målet er ikke nået"),
                       "arrows": _("bedre / dårligere end sidst")},
        },
        "highlights": {
            "title": _("Højdepunkter"),
            "intro": _("Hvor klyngen ligger bedst og dårligst i forhold til hele landet, og hvilke praksis der har "
                       "flyttet sig mest siden {before}.").format(before=words.day(compared) if compared else "–"),
            "blocks": [
                {"title": _("Klyngens stærkeste indikatorer"), "tone": "good", "items": best,
                 "empty": _("Ingen indikatorer, hvor klyngen ligger bedre end landet.")},
                {"title": _("Klyngens svageste indikatorer"), "tone": "bad", "items": worst,
                 "empty": _("Ingen indikatorer, hvor klyngen ligger dårligere end landet.")},
                {"title": _("Største forbedringer"), "tone": "good", "items": improvements,
                 "empty": _("Ingen forbedringer at vise.")},
                {"title": _("Største tilbagegange"), "tone": "bad", "items": declines,
                 "empty": _("Ingen tilbagegange at vise.")},
            ],
            "note": _("Forbedringer og tilbagegange sammenlignes i procentpoint for andele og i procent af det "
                      "tidligere tal for rater og gennemsnit."),
        },
        "indicators": pages,
        "notes": {"title": _("Noter fra mødet"),
                  "fields": [[_("Dato"), ""], [_("Deltagere"), ""]],
                  "discussion": _("Drøftelse"), "actions": _("Aftaler"),
                  "action_header": [_("Hvad"), _("Hvem"), _("Hvornår")],
                  "next": _("Næste møde")},
        "colophon": colophon(words, request, period, first, compared, recipient, []),
    }


def _indicator_page(words: Words, figures: Figures, index: int, count: int, period: date, compared: date | None,
                    cluster_id: str, region_code: str | None) -> dict:
    _ = words._
    ind = figures.indicator
    kind = value_kind(ind)
    goal = target_value(ind)
    s = sign(ind) or 1
    cells = sorted(figures.on(period, "practice"), key=lambda c: (c.value is None, -s * (c.value or 0), c.label))
    cluster = figures.get(period, "cluster", cluster_id)
    forest_fig = render.figure(
        forest(f"practices-{ind.id}", _("Klyngens praksis"), [Standing(c.label, c.value, c.low, c.high)
                                                              for c in cells], kind, words.loc, goal,
               (_("Klyngen"), cluster.value) if cluster and cluster.value is not None else None),
        caption=_("Praksis pr. {day}, bedst øverst, med 95 %-sikkerhedsintervaller; den prikkede linje er klyngen "
                  "samlet.").format(day=words.day(period)) + (" " + _("Den stiplede linje er målet.") if goal else ""),
        width=render.FULL, height=max(90, (17 if len(cells) <= 12 else 14) * len(cells)))
    units = [("cluster", cluster_id, cluster.label if cluster else cluster_id)]
    region = figures.get(period, "region", region_code) if region_code else None
    if region is not None:
        units.append(("region", region.code, region.label))
    national = next(iter(figures.on(period, "national")), None)
    if national is not None:
        units.append(("national", national.code, national.label))
    trend_fig = render.figure(
        trend_chart(f"trend-{ind.id}", ind.title(words.lang), series_of(figures, units), kind, words.loc, goal,
                    **render.trend_options(len(figures.dates), render.HALF)),
        caption=_("Klyngen, regionen og hele landet måned for måned, {first} – {last}.").format(
            first=words.month(figures.dates[0]), last=words.month(period)), width=render.HALF, height=150)
    rows = []
    for c in cells:
        before = figures.get(compared, "practice", c.code)
        change = trend(words, ind, before.value if before else None, c.value)
        rows.append([c.label, {"text": words.value(ind, c.value), "strong": True,
                               **({"status": target_status(c)} if target_status(c) else {})},
                     f"{words.count(c.numerator)} / {words.count(c.denominator)}",
                     None if change is None else {"direction": change.direction, "tone": change.tone,
                                                  "text": change.text}])
    d = definition(words, ind)
    return {
        "kicker": _("Indikator {i} af {n}").format(i=index + 1, n=count) + f" · {ind.id}",
        "title": ind.title(words.lang),
        "definition": {"paragraphs": d["paragraphs"][:1], "facts": [f for f in d["facts"]
                                                                   if f[0] in (_("Mål"), _("Retning"))]},
        "standing": forest_fig,
        "trend": trend_fig,
        "table": {"columns": ["1fr", "auto", "auto", "auto"],
                  "header": [_("Praksis"), _("Værdi"), _("Tæller / nævner"), _("Siden sidst")],
                  "aligns": ["left", "right", "right", "left"], "rows": rows},
        "discussion": _("Hvad ser vi? Hvad kan forklare forskellene? Hvad vil vi gøre?"),
    }

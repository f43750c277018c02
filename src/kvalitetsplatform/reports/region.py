"""The regional overview for non-clinical users: the region against the nation, its clusters and its
municipalities (by the patients' residence), disclosure-controlled. Aggregates only: no practice and no patient
appears, and a value the gate suppressed is shown as «<5», never as a number.

Made for the region's quality unit (the audience principal holds a regional-quality-unit grant).
"""

from __future__ import annotations

from datetime import date

from kvalitetsplatform.reports import render
from kvalitetsplatform.reports.charts import Bar, comparison
from kvalitetsplatform.reports.charts import trend as trend_chart
from kvalitetsplatform.reports.common import ReportError, Request, colophon, definition, labels, meta
from kvalitetsplatform.reports.content import (
    Cell, Figures, Words, previous_date, read, series_of, sign, target_status, target_value, trend, value_kind,
)

ROW_PX = 16


def _bars(figures: Figures, cells: list[Cell]) -> list[Bar]:
    s = sign(figures.indicator) or 1
    cells = sorted(cells, key=lambda c: (c.value is None, -s * (c.value or 0), c.label))
    return [Bar(c.label, c.value, _int(c.numerator), _int(c.denominator)) for c in cells]


def _int(x: float | None) -> int | None:
    return None if x is None else int(round(x))


def build(gate, principal, region_code: str, request: Request) -> dict:
    words = Words(request.lang)
    _ = words._
    package = request.package
    all_figures = read(gate, principal, package.indicators)
    dates = sorted({c.day for f in all_figures for c in f.cells if c.level == "region" and c.code == region_code})
    if not dates:
        raise ReportError(f"ingen resultater for region {region_code} i pakken {package.id}, som modtageren må se")
    period = request.period or dates[-1]
    if period not in dates:
        raise ReportError(f"region {region_code} har ingen resultater pr. {period.isoformat()} i pakken "
                          f"{package.id}; nyeste er {dates[-1].isoformat()}")
    compared = previous_date(dates, period, request.previous)
    region = all_figures[0].get(period, "region", region_code)
    region_name = region.label if region else region_code
    clusters = {c.code for f in all_figures for c in f.on(period, "cluster")}
    municipalities = {c.code for f in all_figures for c in f.on(period, "municipality")}

    rows, pages = [], []
    for i, figures in enumerate(all_figures):
        ind = figures.indicator
        now = figures.get(period, "region", region_code)
        before = figures.get(compared, "region", region_code)
        national = next(iter(figures.on(period, "national")), None)
        change = trend(words, ind, before.value if before else None, now.value if now else None)
        cluster_cells = figures.on(period, "cluster")
        met = [c for c in cluster_cells if c.target_met]
        judged = [c for c in cluster_cells if c.target_met is not None]
        rows.append([ind.title(words.lang),
                     {"text": words.value(ind, now.value if now else None), "strong": True,
                      **({"status": target_status(now)} if target_status(now) else {})},
                     words.value(ind, national.value if national else None), words.target(ind),
                     _("{met} af {n}").format(met=len(met), n=len(judged)) if judged else "–",
                     None if change is None else {"direction": change.direction, "tone": change.tone,
                                                  "text": change.text}])
        pages.append(_indicator_page(words, figures, i, len(all_figures), period, compared, region_code, now,
                                     before, national, change))

    first = min(f.dates[0] for f in all_figures if f.dates)
    recipient = _("{region}: regionens kvalitetsenhed").format(region=region_name)
    title = f"{package.title(words.lang)} – {region_name}"
    return {
        "kind": "region", "lang": words.lang, "region": "DK" if words.lang == "da" else "GB",
        "meta": meta(words, title, _("Regionalt overblik pr. {day}").format(day=words.day(period)), request,
                     [region_code]),
        "labels": labels(words),
        "period": period.isoformat(), "compared": compared.isoformat() if compared else None,
        "header": {"left": f"{package.title(words.lang)} · {region_name}",
                   "right": _("Opgjort pr. {day}").format(day=words.day(period))},
        "footer": "Kvalitetsplatformen · " + _("Regionalt overblik") + f" · {package.id} {package.version}",
        "cover": {
            "platform": "Kvalitetsplatformen", "audience": _("Til regionens kvalitetsenhed"),
            "kicker": _("Regionalt overblik"), "title": package.title(words.lang), "subtitle": region_name,
            "facts": [[_("Region"), region_name], [_("Klynger"), words.count(len(clusters))],
                      [_("Kommuner"), words.count(len(municipalities))],
                      [_("Opgjort pr."), words.day(period)],
                      [_("Sammenlignet med"), words.day(compared) if compared else "–"],
                      [_("Pakke"), f"{package.id} · version {package.version} · "
                                   + _("{n} indikatorer").format(n=len(package.indicators))]],
            "intro_title": _("Om pakken"), "intro": package.why(words.lang),
            "contents": {"title": _("I overblikket"), "items": [{"label": "summary", "text": _("Overblik")}] + [
                {"label": f"ind-{i + 1}", "text": ind.title(words.lang)} for i, ind in enumerate(package.indicators)]
                + [{"label": "colophon", "text": _("Om rapporten")}]},
            "notice": _("Overblikket viser samlede tal for regionen, dens klynger og kommuner (efter patienternes "
                        "bopæl). Tal, der bygger på færre end 5 patienter, og tal, som de kunne regnes ud fra, er "
                        "skjult og vises som «<5». Der er ingen tal for enkelte praksis og ingen oplysninger om "
                        "enkelte patienter."),
        },
        "summary": {
            "title": _("Overblik"),
            "intro": _("Regionen pr. {day} mod hele landet, og hvor mange af regionens klynger der når målet. "
                       "Pilen viser udviklingen siden {before}.").format(
                day=words.day(period), before=words.day(compared) if compared else "–"),
            "columns": ["1fr", "auto", "auto", "auto", "auto", "auto"],
            "header": [_("Indikator"), _("Regionen"), _("Landet"), _("Mål"), _("Klynger med målet nået"),
                       _("Siden sidst")],
            "aligns": ["left", "right", "right", "right", "right", "left"],
            "rows": rows,
            "legend": {"met": _("målet er nået"), "missed": _("målet er ikke nået"),
                       "arrows": _("bedre / dårligere end sidst"),
                       "note": _("«<5»: skjult af hensyn til diskretionen.")},
        },
        "indicators": pages,
        "colophon": colophon(words, request, period, first, compared, recipient, []),
    }


def _indicator_page(words: Words, figures: Figures, index: int, count: int, period: date, compared: date | None,
                    region_code: str, now: Cell | None, before: Cell | None, national: Cell | None,
                    change) -> dict:
    _ = words._
    ind = figures.indicator
    kind = value_kind(ind)
    goal = target_value(ind)
    units = [("region", region_code, now.label if now else region_code)]
    if national is not None:
        units.append(("national", national.code, national.label))
    trend_fig = render.figure(
        trend_chart(f"trend-{ind.id}", ind.title(words.lang), series_of(figures, units), kind, words.loc, goal,
                    **render.trend_options(len(figures.dates), render.MAIN)),
        caption=_("Regionen og hele landet måned for måned, {first} – {last}.").format(
            first=words.month(figures.dates[0]), last=words.month(period)), width=render.MAIN, height=150)
    reference = (_("Hele landet"), national.value) if national and national.value is not None else None
    clusters = _bars(figures, figures.on(period, "cluster"))
    municipalities = _bars(figures, figures.on(period, "municipality"))
    cluster_fig = render.figure(
        comparison(f"clusters-{ind.id}", _("Klynger"), clusters, kind, words.loc, reference),
        caption=_("Regionens klynger pr. {day}; den stiplede linje er hele landet.").format(day=words.day(period)),
        width=render.HALF, height=max(60, ROW_PX * len(clusters)))
    municipality_fig = render.figure(
        comparison(f"municipalities-{ind.id}", _("Kommuner"), municipalities, kind, words.loc, reference),
        caption=_("Regionens kommuner (patienternes bopæl) pr. {day}.").format(day=words.day(period)),
        width=render.HALF, height=max(60, ROW_PX * len(municipalities)))
    keyrows = [[_("Tæller / nævner"),
                f"{words.count(now.numerator)} / {words.count(now.denominator)}" if now else "–"],
               [_("Hele landet"), words.value(ind, national.value if national else None)],
               [_("Mål"), words.target(ind)]]
    if change is not None and before is not None:
        keyrows.append([_("Siden {day}").format(day=words.day(compared)), change.text])
    interval = words.interval(ind, now.low, now.high) if now else ""
    d = definition(words, ind)
    return {
        "kicker": _("Indikator {i} af {n}").format(i=index + 1, n=count) + f" · {ind.id}",
        "title": ind.title(words.lang),
        "definition": {"paragraphs": d["paragraphs"][:1], "facts": []},
        "keyfigures": {"title": _("Regionen pr. {day}").format(day=words.day(period)),
                       "value": words.value(ind, now.value if now else None),
                       "value_note": _("95 %-sikkerhedsinterval {ci}").format(ci=interval) if interval else None,
                       "rows": keyrows},
        "trend": trend_fig, "clusters": cluster_fig, "municipalities": municipality_fig,
    }

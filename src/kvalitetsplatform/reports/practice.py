"""The practice package report: cover, a one-page summary, one page per indicator, colophon.

Made for the practice's clinical users (the audience principal holds a GP grant for the practice): the own
practice by name, the cluster's other practices as the cluster decided (names or letters), cluster, region and
nation; nothing about single patients.
"""

from __future__ import annotations

from datetime import date

from kvalitetsplatform.reports import render
from kvalitetsplatform.reports.charts import Standing, forest
from kvalitetsplatform.reports.charts import trend as trend_chart
from kvalitetsplatform.reports.common import ReportError, Request, colophon, definition, labels, meta
from kvalitetsplatform.reports.content import (
    Cell, Figures, Words, previous_date, read, series_of, sign, target_status, target_value, trend, value_kind,
)


def _home(figures: Figures, day: date) -> tuple[Cell | None, Cell | None, Cell | None, Cell | None]:
    """The own practice, its cluster, its region and the nation on `day`."""
    own = figures.own(day)
    clusters = figures.on(day, "cluster")
    regions = figures.on(day, "region")
    national = figures.on(day, "national")
    return (own, clusters[0] if len(clusters) == 1 else None, regions[0] if len(regions) == 1 else None,
            national[0] if national else None)


def _ranked(figures: Figures, day: date, indicator) -> list[Cell]:
    """The cluster's practices on `day`, best first (by value; suppressed last)."""
    cells = figures.on(day, "practice")
    s = sign(indicator) or 1
    return sorted(cells, key=lambda c: (c.value is None, -s * (c.value or 0), c.label))


def build(gate, principal, ydernummer: str, request: Request) -> dict:
    """The document of one practice's report (see templates/practice.typ), read through the gate for
    `principal`."""
    words = Words(request.lang)
    _ = words._
    package = request.package
    all_figures = read(gate, principal, package.indicators)
    own_dates = sorted({c.day for f in all_figures for c in f.cells if c.own and c.level == "practice"
                        and c.code == ydernummer})
    if not own_dates:
        raise ReportError(f"ingen resultater for praksis {ydernummer} i pakken {package.id}, som modtageren må se")
    period = request.period or own_dates[-1]
    if period not in own_dates:
        raise ReportError(f"praksis {ydernummer} har ingen resultater pr. {period.isoformat()} i pakken "
                          f"{package.id}; nyeste er {own_dates[-1].isoformat()}")
    compared = previous_date(own_dates, period, request.previous)
    practice_name = next(c.label for f in all_figures for c in f.cells if c.own and c.day == period)
    home = _home(all_figures[0], period)
    cluster_name = home[1].label if home[1] else "–"
    region_name = home[2].label if home[2] else "–"

    summary_rows = []
    pages = []
    for i, figures in enumerate(all_figures):
        ind = figures.indicator
        own, cluster, region, national = _home(figures, period)
        before = figures.own(compared) if compared else None
        change = trend(words, ind, before.value if before else None, own.value if own else None)

        def cell(c: Cell | None, strong: bool = False, status: bool = False) -> dict:
            out = {"text": words.value(ind, c.value if c else None), "strong": strong}
            if status and target_status(c):
                out["status"] = target_status(c)
            return out

        summary_rows.append([ind.title(words.lang), cell(own, True, True), cell(cluster), cell(region),
                             cell(national), words.target(ind),
                             None if change is None else {"direction": change.direction, "tone": change.tone,
                                                          "text": change.text}])
        pages.append(_indicator_page(words, figures, i, len(all_figures), period, compared, own, cluster, region,
                                     national, before, change))

    first = min(f.dates[0] for f in all_figures if f.dates)
    deliveries = [f"{d['id']} (" + _("udtrukket") + f" {words.day(d['extract_ts'].date())})"
                  for d in gate.deliveries(principal) if d["ydernummer"] == ydernummer][-3:]
    recipient = _("{practice} (ydernummer {y}): praksisens læger og personale").format(practice=practice_name,
                                                                                       y=ydernummer)
    title = f"{package.title(words.lang)} – {practice_name}"
    return {
        "kind": "practice", "lang": words.lang, "region": "DK" if words.lang == "da" else "GB",
        "meta": meta(words, title, _("Pakkerapport for praksis pr. {day}").format(day=words.day(period)), request,
                     [ydernummer]),
        "labels": labels(words),
        "period": period.isoformat(), "compared": compared.isoformat() if compared else None,
        "header": {"left": f"{package.title(words.lang)} · {practice_name}",
                   "right": _("Opgjort pr. {day}").format(day=words.day(period))},
        "footer": "Kvalitetsplatformen · " + _("Pakkerapport for praksis") + f" · {package.id} {package.version}",
        "cover": {
            "platform": "Kvalitetsplatformen", "audience": _("Til praksisens læger og personale"),
            "kicker": _("Pakkerapport for praksis"), "title": package.title(words.lang), "subtitle": practice_name,
            "facts": [[_("Praksis"), f"{practice_name} · " + _("ydernummer") + f" {ydernummer}"],
                      [_("Klynge"), cluster_name], [_("Region"), region_name],
                      [_("Opgjort pr."), words.day(period)],
                      [_("Sammenlignet med"), words.day(compared) if compared else "–"],
                      [_("Pakke"), f"{package.id} · version {package.version} · "
                                   + _("{n} indikatorer").format(n=len(package.indicators))]],
            "intro_title": _("Om pakken"), "intro": package.why(words.lang),
            "contents": {"title": _("I rapporten"), "items": [{"label": "summary", "text": _("Overblik")}] + [
                {"label": f"ind-{i + 1}", "text": ind.title(words.lang)} for i, ind in enumerate(package.indicators)]
                + [{"label": "colophon", "text": _("Om rapporten")}]},
            "notice": _("Rapporten er dannet til {practice} og viser praksisens egne tal, klyngens praksis som "
                        "klyngen har valgt at vise dem, regionen og hele landet. Den indeholder ingen oplysninger "
                        "om enkelte patienter.").format(practice=practice_name),
        },
        "summary": {
            "title": _("Overblik"),
            "intro": _("Praksisens tal pr. {day} for hver indikator ved siden af klyngen, regionen og hele landet. "
                       "Pilen viser udviklingen siden {before}.").format(
                day=words.day(period), before=words.day(compared) if compared else "–"),
            "columns": ["1fr", "auto", "auto", "auto", "auto", "auto", "auto"],
            "header": [_("Indikator"), _("Praksis"), _("Klynge"), _("Region"), _("Landet"), _("Mål"),
                       _("Siden sidst")],
            "aligns": ["left", "right", "right", "right", "right", "right", "left"],
            "rows": summary_rows,
            "legend": {"met": _("målet er nået"), "missed": _("målet er ikke nået"),
                       "arrows": _("bedre / dårligere end sidst"),
                       "note": _("Tal, der bygger på færre end 5 patienter, vises som «<5» for andre end praksis "
                                 "selv.")},
        },
        "indicators": pages,
        "colophon": colophon(words, request, period, first, compared, recipient, deliveries),
    }


def _indicator_page(words: Words, figures: Figures, index: int, count: int, period: date, compared: date | None,
                    own: Cell | None, cluster: Cell | None, region: Cell | None, national: Cell | None,
                    before: Cell | None, change) -> dict:
    _ = words._
    ind = figures.indicator
    kind = value_kind(ind)
    goal = target_value(ind)
    loc = words.loc
    units = [("practice", own.code, own.label)] if own else []
    units += [(c.level, c.code, c.label) for c in (cluster, region, national) if c is not None]
    trend_fig = render.figure(
        trend_chart(f"trend-{ind.id}", ind.title(words.lang), series_of(figures, units), kind, loc, goal,
                    **render.trend_options(len(figures.dates), render.FULL)),
        caption=_("Udvikling måned for måned, {first} – {last}; den stiplede linje er målet.").format(
            first=words.month(figures.dates[0]), last=words.month(period)) if goal is not None else
        _("Udvikling måned for måned, {first} – {last}.").format(first=words.month(figures.dates[0]),
                                                                 last=words.month(period)),
        width=render.FULL, height=170)
    peers = _ranked(figures, period, ind)
    standing = [Standing(c.label, c.value, c.low, c.high, c.own) for c in peers]
    forest_fig = render.figure(
        forest(f"cluster-{ind.id}", _("Klyngens praksis"), standing, kind, loc, goal,
               (_("Klyngen"), cluster.value) if cluster and cluster.value is not None else None),
        caption=_("Klyngens praksis pr. {day} med 95 %-sikkerhedsintervaller; den prikkede linje er klyngen "
                  "samlet.").format(day=words.day(period)),
        width=render.MAIN, height=max(90, 17 * len(standing)))
    allpractices = None
    if own is not None and own.percentile is not None:
        s = sign(ind)
        p = own.percentile
        if s > 0:
            text = _("Praksis ligger bedre end {p} % af landets praksis.").format(p=loc.number(p, 0))
        elif s < 0:
            text = _("Praksis ligger bedre end {p} % af landets praksis.").format(p=loc.number(100 - p, 0))
        else:
            text = _("{p} % af landets praksis har en lavere værdi.").format(p=loc.number(p, 0))
        allpractices = {"title": _("Blandt alle praksis"), "percentile": p, "text": text,
                        "low": _("laveste værdi"), "high": _("højeste værdi")}
    keyrows = [[_("Tæller / nævner"),
                f"{words.count(own.numerator)} / {words.count(own.denominator)}" if own else "–"]]
    for label, c in ((_("Klyngen"), cluster), (_("Regionen"), region), (_("Hele landet"), national)):
        keyrows.append([label, words.value(ind, c.value if c else None)])
    keyrows.append([_("Mål"), words.target(ind)])
    if own is not None and own.cluster_rank is not None:
        keyrows.append([_("Placering i klyngen"), _("nr. {rank} af {n}").format(
            rank=own.cluster_rank, n=len([c for c in figures.on(period, "practice") if c.value is not None]))])
    interval = words.interval(ind, own.low, own.high) if own else ""
    return {
        "kicker": _("Indikator {i} af {n}").format(i=index + 1, n=count) + f" · {ind.id}",
        "title": ind.title(words.lang),
        "definition": definition(words, ind),
        "keyfigures": {"title": _("Praksis pr. {day}").format(day=words.day(period)),
                       "value": words.value(ind, own.value if own else None),
                       "value_note": _("95 %-sikkerhedsinterval {ci}").format(ci=interval) if interval else None,
                       "rows": keyrows},
        "trend": trend_fig,
        "standing": forest_fig,
        "allpractices": allpractices,
        "changes": {"title": _("Siden sidste opgørelse"),
                    "items": _changes(words, figures, period, compared, own, cluster, before, change)},
    }


def _changes(words: Words, figures: Figures, period: date, compared: date | None, own: Cell | None,
             cluster: Cell | None, before: Cell | None, change) -> list[str]:
    _ = words._
    ind = figures.indicator
    if compared is None or before is None or own is None:
        return [_("Der er ingen tidligere opgørelse at sammenligne med.")]
    items = []
    if change is not None:
        items.append(_("{before} pr. {then} → {now} pr. {day} ({change}).").format(
            before=words.value(ind, before.value), then=words.day(compared), now=words.value(ind, own.value),
            day=words.day(period), change=change.text))
    else:
        items.append(_("{before} pr. {then} → {now} pr. {day}.").format(
            before=words.value(ind, before.value), then=words.day(compared), now=words.value(ind, own.value),
            day=words.day(period)))
    items.append(_("Tæller / nævner: {n0} / {d0} → {n1} / {d1}.").format(
        n0=words.count(before.numerator), d0=words.count(before.denominator), n1=words.count(own.numerator),
        d1=words.count(own.denominator)))
    if before.target_met is not None and own.target_met is not None:
        goal = words.target(ind)
        if own.target_met and not before.target_met:
            items.append(_("Målet ({goal}) er nu nået.").format(goal=goal))
        elif before.target_met and not own.target_met:
            items.append(_("Målet ({goal}) er ikke længere nået.").format(goal=goal))
        elif own.target_met:
            items.append(_("Målet ({goal}) er nået begge gange.").format(goal=goal))
        else:
            items.append(_("Målet ({goal}) er endnu ikke nået.").format(goal=goal))
    if before.cluster_rank is not None and own.cluster_rank is not None and before.cluster_rank != own.cluster_rank:
        items.append(_("Placering i klyngen: nr. {a} → nr. {b}.").format(a=before.cluster_rank, b=own.cluster_rank))
    cluster_before = figures.get(compared, "cluster", cluster.code) if cluster else None
    if cluster is not None and cluster_before is not None and cluster_before.value is not None:
        items.append(_("Klyngen: {a} → {b}.").format(a=words.value(ind, cluster_before.value),
                                                     b=words.value(ind, cluster.value)))
    return items


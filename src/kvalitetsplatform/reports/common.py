"""What the three report builders share: the request, the cover, the colophon and the indicator's card."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from kvalitetsplatform.indicators import describe
from kvalitetsplatform.indicators.model import Indicator, Package
from kvalitetsplatform.reports.content import Words, codelist_refs

PLATFORM = "Kvalitetsplatformen"


class ReportError(RuntimeError):
    """A report cannot be made as asked (no access, no data, unknown package or period); the message says why."""


@dataclass(frozen=True)
class Request:
    """One report to make: for whom (the audience's principal), about what and in which language."""

    package: Package
    period: date | None = None  # the reference date; None: the newest the recipient has
    previous: date | None = None  # the period of the last report to the same audience, when there was one
    lang: str = "da"
    generated_at: datetime = field(default_factory=lambda: datetime.now().replace(microsecond=0))
    provenance: dict | None = None  # the compute run the results come from (packages, codelists, deliveries)
    report_id: str = ""


def labels(words: Words) -> dict:
    _ = words._
    return {"page": _("Side"), "of": _("af"), "figure": _("Figur")}


def meta(words: Words, title: str, subject: str, request: Request, scope_keywords: list[str]) -> dict:
    return {"title": title, "subject": subject, "author": PLATFORM,
            "keywords": [request.package.id, request.package.version, *scope_keywords, words.lang]}


def definition(words: Words, indicator: Indicator) -> dict:
    """The indicator's card in plain words: what it counts, for whom, the target and where it comes from."""
    _ = words._
    lang = words.lang
    facts = []
    if indicator.population is not None:
        lines = [line.strip() for line in describe.criterion(indicator.population, lang)]
        facts.append([_("Hvem tæller med"), "; ".join(lines).replace(":;", ":")])
    if indicator.exclusions is not None:
        lines = [line.strip() for line in describe.criterion(indicator.exclusions, lang)]
        facts.append([_("Undtaget"), "; ".join(lines).replace(":;", ":")])
    s = indicator.standard
    if s is not None and s.op is not None:
        facts.append([_("Mål"), f"{words.target(indicator)} ({s.source})"])
    direction = {"higher_is_better": _("Højere er bedre"), "lower_is_better": _("Lavere er bedre"),
                 "none": _("Ingen retning; tallet beskriver praksis")}[indicator.direction]
    facts.append([_("Retning"), direction])
    paragraphs = [indicator.description(lang)]
    if s is not None and s.note:
        paragraphs.append(s.note)
    return {"paragraphs": paragraphs, "facts": facts}


def colophon(words: Words, request: Request, period: date, first: date | None, compared: date | None,
             recipient: str, deliveries: list[str], extra_rows: list[list[str]] | None = None) -> dict:
    _ = words._
    package = request.package
    rows = [[_("Modtager"), recipient],
            [_("Opgjort pr."), words.day(period)],
            [_("Dataperiode"), f"{words.day(first)} – {words.day(period)}" if first else words.day(period)],
            [_("Sammenlignet med"), words.day(compared) if compared else _("ingen tidligere opgørelse")],
            [_("Pakke"), f"{package.title(words.lang)} ({package.id}), version {package.version}"],
            [_("Kodelister"), ", ".join(codelist_refs(package)) or "–"]]
    run = request.provenance
    if run:
        versions = ", ".join(f"{k} {v}" for k, v in sorted((run.get("packages") or {}).items()))
        rows.append([_("Beregning"), _("kørsel {run} afsluttet {day}; pakkeversioner: {versions}").format(
            run=run.get("run_id", "?"), day=words.day(run["finished_at"].date()) if run.get("finished_at") else "?",
            versions=versions or "–")])
    rows.append([_("Leverancer"), "; ".join(deliveries) if deliveries else "–"])
    rows += extra_rows or []
    rows.append([_("Dannet"), f"{words.day(request.generated_at.date())} {request.generated_at:%H:%M}"])
    if request.report_id:
        rows.append([_("Rapport-id"), request.report_id])
    sections = [
        {"title": _("Sådan læses tallene"), "paragraphs": [
            _("Et 95 %-sikkerhedsinterval viser, hvor meget tallet kunne svinge alene ved tilfældighed; ved få "
              "patienter er intervallet bredt. Overlapper to intervaller, er forskellen ikke nødvendigvis reel."),
            _("Pilene viser udviklingen siden sidste opgørelse: grøn er en ændring i den gode retning, rød i den "
              "dårlige. Ændringer under 1 procentpoint (andele), 2 % (rater) eller 0,05 (gennemsnit) vises som en "
              "vandret pil."),
        ]},
        {"title": _("Diskretionering"), "paragraphs": [
            _("Tal, der bygger på færre end 5 patienter, vises ikke for andre end praksis selv og står som «<5». "
              "Enkelte andre tal kan være skjult, så de skjulte tal ikke kan regnes ud.")]},
    ]
    return {"title": _("Om rapporten"), "rows": rows, "sections": sections}

"""The pages: cockpit, indicator, worklist, cluster, region/municipality/national overviews, report library and
administration. Each page is a builder (what it shows, with its charts) and a route; a chart's "download data" route
calls the same builder, so the CSV is exactly what the chart shows.

Access: every figure comes from the ReportSource (the gate). A page the viewer may not see answers 403 (a unit the
source does not know for them: 404), and its fragments and downloads answer the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kvalitetsplatform.access.roles import ROLES, Role
from kvalitetsplatform.indicators import Catalogue, load_catalogue
from kvalitetsplatform.indicators.model import Indicator, Package
from kvalitetsplatform.reports import charts
from kvalitetsplatform.reports.charts import Chart, ValueKind
from kvalitetsplatform.web.app import (LANG_COOKIE, Page, WebAuth, chart_context, csv_response, render,
                                       request_language)
from kvalitetsplatform.web.i18n import LANGUAGES, translations
from kvalitetsplatform.web.source import Figure, OrgRef, ReportSource, WorkItem

router = APIRouter(include_in_schema=False)
TREND_MONTHS = 36
AGE_BANDS = ("18-39", "40-59", "60-69", "70-79", "80+")
PURPOSES = ("42d", "42a")
WORKLIST_PAGE = 200


class NotSignedIn(Exception):
    pass


_catalogue: list[Catalogue] = []


def use_catalogue(found: Catalogue) -> None:
    """The packages the platform was started with (the same the gate knows)."""
    _catalogue[:] = [found]


def catalogue() -> Catalogue:
    """The packages' metadata cards (definitions, not data)."""
    if not _catalogue:
        _catalogue.append(load_catalogue())
    return _catalogue[0]


def indicator_of(indicator_id: str) -> tuple[Package, Indicator]:
    for package in catalogue().packages:
        for indicator in package.indicators:
            if indicator.id == indicator_id:
                return package, indicator
    raise HTTPException(404, "ukendt indikator")


def package_of(indicator_id: str) -> Package:
    return indicator_of(indicator_id)[0]


def value_kind(indicator: Indicator) -> ValueKind:
    return ValueKind(indicator.kind, getattr(indicator.measure, "per", 1000))


def page_for(request: Request) -> Page:
    auth: WebAuth = request.app.state.kp_auth
    principal = auth.principal(request)
    if principal is None:
        raise NotSignedIn()
    return Page(request, principal, request.app.state.kp_source, auth, request_language(request))


def forbidden(page: Page, message: str | None = None) -> HTMLResponse:
    return page.render("message.html", status_code=403, title=page._("Ingen adgang"),
                       message=message or page._("Du har ikke adgang til denne side med dine nuværende roller."))


# --- navigation ----------------------------------------------------------------------------------------------------


def landing_url(principal) -> str | None:
    for grant in principal.grants:
        if grant.role in (Role.GP, Role.PRACTICE_STAFF):
            return f"/praksis/{grant.scope_code}"
    for grant in principal.grants:
        if grant.role == Role.CLUSTER_COORDINATOR:
            return f"/klynge/{grant.scope_code}"
        if grant.role == Role.REGIONAL_QUALITY_UNIT:
            return f"/oversigt/region/{grant.scope_code}"
        if grant.role == Role.MUNICIPALITY:
            return f"/oversigt/municipality/{grant.scope_code}"
        if grant.role == Role.PUBLIC_VIEWER:
            return "/oversigt/national/DK"
        if grant.role == Role.KIAP_ADMIN:
            return "/admin"
    return None


def navigation(page: Page) -> list[tuple[str, str]]:
    _ = page._
    items: list[tuple[str, str]] = []
    for grant in page.principal.grants:
        code = grant.scope_code
        if grant.role in (Role.GP, Role.PRACTICE_STAFF):
            items.append((f"/praksis/{code}", _("Min praksis")))
        elif grant.role == Role.CLUSTER_COORDINATOR:
            items.append((f"/klynge/{code}", _("Klyngen")))
        elif grant.role == Role.REGIONAL_QUALITY_UNIT:
            items.append((f"/oversigt/region/{code}", _("Regionen")))
        elif grant.role == Role.MUNICIPALITY:
            items.append((f"/oversigt/municipality/{code}", _("Kommunen")))
        elif grant.role == Role.PUBLIC_VIEWER:
            items.append(("/oversigt/national/DK", _("Landsoversigt")))
        elif grant.role == Role.KIAP_ADMIN:
            items.append(("/admin", _("Administration")))
    items.append(("/rapporter", _("Rapporter")))
    return list(dict.fromkeys(items))


def role_label(role: str, _) -> str:
    return {
        "gp": _("Praktiserende læge"), "practice_staff": _("Praksispersonale"),
        "cluster_coordinator": _("Klyngekoordinator"), "regional_quality_unit": _("Regional kvalitetsenhed"),
        "municipality": _("Kommune"), "public_viewer": _("Offentlig oversigt"), "kiap_admin": _("KiAP-administrator"),
    }.get(role, role)


def level_label(level: str, _) -> str:
    return {"practice": _("Praksis"), "cluster": _("Klynge"), "region": _("Region"), "municipality": _("Kommune"),
            "national": _("Hele landet")}.get(level, level)


def delivery_status(status: str, _) -> str:
    return {"loaded": _("indlæst"), "rejected": _("afvist"), "replaced": _("erstattet")}.get(status, status)


def sex_label(sex: str, _) -> str:
    return {"F": _("Kvinder"), "M": _("Mænd")}.get(sex, sex)


OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def target_text(indicator: Indicator, kind: ValueKind, loc) -> str:
    """The target as a Dane writes it: "≥ 90 %", "≤ 350"."""
    standard = indicator.standard
    if standard is None or standard.value is None:
        return ""
    if kind.kind == "proportion":
        digits = 0 if round(standard.value * 100, 6).is_integer() else 1
        shown = loc.percent(standard.value, digits)
    else:
        shown = loc.number(standard.value, 0 if float(standard.value).is_integer() else 1)
    return f"{OPS.get(standard.op, standard.op)} {shown}"


def common(page: Page, **context) -> dict:
    context.setdefault("nav", navigation(page))
    context.setdefault("target_text", lambda ind, kind: target_text(ind, kind, page.loc))
    context.setdefault("role_label", lambda r: role_label(r, page._))
    return context


# --- figures → display ------------------------------------------------------------------------------------------


@dataclass
class Tile:
    indicator: Indicator
    kind: ValueKind
    current: Figure | None
    cluster: Figure | None
    national: Figure | None
    spark: Chart | None
    attention: int  # 0: target missed, 1: worse than the nation, 2: no target/fine, 3: target met
    gap: float  # how far from the target (for sorting within the attention group)

    @property
    def status(self) -> str:
        return {0: "attention", 1: "attention", 2: "none", 3: "met"}[self.attention]


def attention(indicator: Indicator, current: Figure | None, national: Figure | None) -> tuple[int, float]:
    """What needs acting on first: a missed target, then a value worse than the nation's."""
    if current is None or current.value is None:
        return 2, 0.0
    standard = indicator.standard
    if standard is not None and standard.value is not None and current.target_met is not None:
        gap = abs(current.value - standard.value) / (abs(standard.value) or 1.0)
        if current.target_met is False:
            return 0, -gap
        return 3, gap
    if national is not None and national.value is not None and indicator.direction != "none":
        worse = current.value < national.value if indicator.direction == "higher_is_better" \
            else current.value > national.value
        if worse:
            return 1, -abs(current.value - national.value)
    return 2, 0.0


def series_of(figures: list[Figure], periods: list[date]) -> tuple[tuple[date, float | None], ...]:
    by_period = {f.period: f.value for f in figures}
    return tuple((p, by_period.get(p)) for p in periods)


def target_of(indicator: Indicator) -> float | None:
    return indicator.standard.value if indicator.standard is not None else None


def chart_csv_url(base: str, chart_id: str, query: dict | None = None) -> str:
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{base}/diagram/{quote(chart_id)}.csv{suffix}"


# --- what the viewer sees of one indicator ----------------------------------------------------------------------


def require_results(page: Page) -> None:
    """Result pages exist only for roles that see results (not for KiAP administrators or users without roles)."""
    if not any(ROLES[g.role].sees_results for g in page.principal.grants):
        raise HTTPException(404)


def latest_period(page: Page) -> date | None:
    periods = page.source.periods(page.principal)
    return periods[-1] if periods else None


def total(figures: list[Figure], level: str, code: str | None = None, period: date | None = None) -> Figure | None:
    for f in figures:
        if f.unit.level == level and (code is None or f.unit.code == code) and (period is None or f.period == period):
            return f
    return None


def visible_practice(page: Page, ydernummer: str, figures: list[Figure]) -> bool:
    """A practice page opens for its own clinicians, and for others only when the gate shows them the practice
    by its ydernummer (a named peer, a practice in the viewer's region)."""
    return ydernummer in page.principal.clinical_practices or \
        any(f.unit.level == "practice" and f.unit.code == ydernummer for f in figures)


def parents(page: Page, ydernummer: str, period: date) -> dict[str, str]:
    """The practice's cluster, region and municipality codes on the date (structure only, no figures)."""
    org = page.source.structure()
    for m in org.of_practice(ydernummer):
        if m.covers(period):
            return {"cluster": m.cluster_id, "region": m.region_code, "municipality": m.kommune_code}
    return {}


def packages_for(audience: str) -> list[Package]:
    return [pk for pk in catalogue().packages if audience in pk.audience]


# --- cockpit --------------------------------------------------------------------------------------------------------

SPARK_MONTHS = 12


def build_cockpit(page: Page, ydernummer: str, every_package: bool = False) -> dict:
    """The tiles with the newest figures of the packages the practice's cluster follows (all packages when it
    follows none, or on request); each package's trend lines come as a fragment (`build_trends`), so the page
    answers with one protected view per indicator."""
    require_results(page)
    p, source = page.principal, page.source
    period = latest_period(page)
    up = parents(page, ydernummer, period) if period else {}
    sections, needs, seen, practice_label, cluster_label = [], 0, False, None, None
    published = packages_for("practice")
    followed = source.structure().follows(up["cluster"]) if up.get("cluster") else ()
    packages = published if every_package or not followed else [pk for pk in published if pk.id in followed]
    newest = source.figures_many(p, [i.id for pk in packages for i in pk.indicators], [period]) if period else {}
    for pk in packages:
        tiles = []
        for ind in pk.indicators:
            figures = newest.get(ind.id, [])
            seen = seen or visible_practice(page, ydernummer, figures)
            current = total(figures, "practice", ydernummer)
            cluster = total(figures, "cluster", up.get("cluster")) if up else None
            national = total(figures, "national")
            practice_label = practice_label or (current.unit.label if current else None)
            cluster_label = cluster_label or (cluster.unit.label if cluster else None)
            level, gap = attention(ind, current, national)
            tiles.append(Tile(ind, value_kind(ind), current, cluster, national, None, level, gap))
        tiles.sort(key=lambda t: (t.attention, t.gap, t.indicator.id))
        attention_count = sum(1 for t in tiles if t.attention <= 1)
        needs += attention_count
        sections.append({"package": pk, "tiles": tiles, "attention": attention_count,
                         "has_values": any(t.current is not None for t in tiles)})
    if not seen and ydernummer not in p.clinical_practices:
        raise HTTPException(404)
    sections.sort(key=lambda s: (-s["attention"], not s["has_values"], s["package"].title(page.lang)))
    base = f"/praksis/{ydernummer}"
    return {"practice": OrgRef("practice", ydernummer, practice_label or ydernummer),
            "cluster": OrgRef("cluster", up["cluster"], cluster_label) if up and cluster_label else None,
            "period": period, "sections": sections, "needs": needs, "base": base,
            "clinical": ydernummer in p.clinical_practices,
            "followed": len([pk for pk in published if pk.id in followed]), "published": len(published),
            "every_package": every_package}


def build_trends(page: Page, ydernummer: str, package_id: str) -> dict[str, Chart]:
    """The sparklines of one package's tiles: the practice's own values over the last 12 months."""
    require_results(page)
    p, source, loc = page.principal, page.source, page.loc
    package = next((pk for pk in packages_for("practice") if pk.id == package_id), None)
    if package is None:
        raise HTTPException(404)
    recent = source.periods(p)[-SPARK_MONTHS:]
    out, seen = {}, ydernummer in p.clinical_practices
    own = source.figures_many(p, [i.id for i in package.indicators], recent, "practice", ydernummer) if recent else {}
    for ind in package.indicators:
        figures = own.get(ind.id, [])
        seen = seen or bool(figures)
        out[f"spark-{ind.id}"] = charts.sparkline(f"spark-{ind.id}", series_of(figures, recent), value_kind(ind),
                                                  loc, ind.title(page.lang))
    if not seen:
        raise HTTPException(404)
    return out


@router.get("/praksis/{ydernummer}", response_class=HTMLResponse)
def cockpit(request: Request, ydernummer: str, alle: bool = False):
    page = page_for(request)
    response = page.render_kept("cockpit.html", (ydernummer, alle), lambda: common(
        page, **build_cockpit(page, ydernummer, every_package=alle), chart_context=chart_context), nav=navigation(page))
    page.source.record_view(page.principal, "cockpit", ydernummer)
    return response


@router.get("/praksis/{ydernummer}/tendenser/{package_id}", response_class=HTMLResponse)
def cockpit_trends(request: Request, ydernummer: str, package_id: str):
    """A fragment: one package's sparklines, swapped into the tiles' placeholders (out of band)."""
    page = page_for(request)
    trends = build_trends(page, ydernummer, package_id)
    return page.render("trends.html", trends=trends, base=f"/praksis/{ydernummer}", chart_context=chart_context)


@router.get("/praksis/{ydernummer}/diagram/{chart_id}.csv")
def cockpit_chart(request: Request, ydernummer: str, chart_id: str):
    page = page_for(request)
    package = next((pk for pk in packages_for("practice")
                    if any(f"spark-{i.id}" == chart_id for i in pk.indicators)), None)
    if package is None:
        raise HTTPException(404)
    chart = build_trends(page, ydernummer, package.id)[chart_id]
    return csv_response(chart.csv(), f"{chart_id}.csv")


# --- indicator page -------------------------------------------------------------------------------------------------


def build_indicator(page: Page, ydernummer: str, indicator_id: str) -> dict:
    require_results(page)
    p, source, loc, _ = page.principal, page.source, page.loc, page._
    package, ind = indicator_of(indicator_id)
    kind = value_kind(ind)
    base = f"/praksis/{ydernummer}/indikator/{indicator_id}"
    periods = source.periods(p)[-TREND_MONTHS:]
    period = periods[-1] if periods else None
    figures = source.figures(p, ind.id, periods) if period else []
    if not visible_practice(page, ydernummer, figures):
        raise HTTPException(404)
    common_model = {"package": package, "indicator": ind, "period": period, "kind": kind, "base": base,
                    "definition": definition(ind, page.lang), "clinical": ydernummer in p.clinical_practices,
                    "csv": lambda cid: chart_csv_url(base, cid)}
    if period is None:
        return {**common_model, "practice": OrgRef("practice", ydernummer, ydernummer), "charts": {},
                "current": None}
    up = parents(page, ydernummer, period)
    own = [f for f in figures if f.unit.level == "practice" and f.unit.code == ydernummer]
    current = total(own, "practice", ydernummer, period)
    practice = OrgRef("practice", ydernummer, current.unit.label if current else ydernummer)
    series = [charts.Series("practice", practice.label, series_of(own, periods))]
    for level in ("cluster", "region"):
        figs = [f for f in figures if f.unit.level == level and f.unit.code == up.get(level)]
        if figs:
            series.append(charts.Series(level, figs[0].unit.label, series_of(figs, periods)))
    national = [f for f in figures if f.unit.level == "national"]
    series.append(charts.Series("national", _("Hele landet"), series_of(national, periods)))
    trend = charts.trend("trend", _("Udvikling over {n} måneder").format(n=len(periods)), series, kind, loc,
                         target_of(ind))
    peers = [f for f in figures if f.unit.level == "practice" and f.period == period]
    standing = charts.caterpillar(
        "standing", _("Praksis, du kan sammenligne med ({n})").format(n=len(peers)),
        [charts.Standing(f.unit.label if f.own or f.unit.code == ydernummer else "", f.value, f.ci_low, f.ci_high,
                         own=f.unit.code == ydernummer) for f in peers], kind, loc, target_of(ind))
    strata = source.figures(p, ind.id, [period], "practice", ydernummer, strata=True)
    by_stratum = {(f.age_band, f.sex): f for f in strata}
    sexes = [f for f in strata if f.sex is not None]
    bands = [f for f in strata if f.age_band is not None]
    rows = [charts.Stratum(_("Alle aldre"), sex_label(f.sex, _), f.value, _int(f.denominator)) for f in sexes] + \
        [charts.Stratum(f.age_band, _("Begge køn"), f.value, _int(f.denominator))
         for f in sorted(bands, key=lambda f: band_order(f.age_band))]
    del by_stratum
    breakdown = charts.breakdown("breakdown", _("Efter køn og aldersgruppe"), rows, kind, loc)
    return {**common_model, "practice": practice, "current": current,
            "charts": {c.id: c for c in (trend, standing, breakdown)}}


def band_order(band: str | None) -> int:
    try:
        return int((band or "0").split("-")[0].rstrip("+"))
    except ValueError:
        return 999


def definition(ind: Indicator, lang: str) -> dict:
    from kvalitetsplatform.indicators import describe

    population = describe.criterion(ind.population, lang) if ind.population is not None else []
    exclusions = describe.criterion(ind.exclusions, lang) if ind.exclusions is not None else []
    return {"population": population, "exclusions": exclusions, "measure": describe.measure(ind.measure, lang)}


@router.get("/praksis/{ydernummer}/indikator/{indicator_id}", response_class=HTMLResponse)
def indicator_page(request: Request, ydernummer: str, indicator_id: str):
    page = page_for(request)
    response = page.render_kept("indicator.html", (ydernummer, indicator_id), lambda: common(
        page, **build_indicator(page, ydernummer, indicator_id), chart_context=chart_context), nav=navigation(page))
    page.source.record_view(page.principal, f"indicator:{indicator_id}", ydernummer)
    return response


@router.get("/praksis/{ydernummer}/indikator/{indicator_id}/diagram/{chart_id}.csv")
def indicator_chart(request: Request, ydernummer: str, indicator_id: str, chart_id: str):
    page = page_for(request)
    chart = build_indicator(page, ydernummer, indicator_id)["charts"].get(chart_id)
    if chart is None:
        raise HTTPException(404)
    return csv_response(chart.csv(), f"{indicator_id}-{chart_id}.csv")


# --- worklist -------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def concept_labels() -> dict[str, tuple[str, str]]:
    """code → (Danish, English) label, over every code system (the deciding fact names its code only)."""
    from kvalitetsplatform.terminology import code_system, code_systems

    out: dict[str, tuple[str, str]] = {}
    for name in code_systems():
        for code, concept in code_system(name).concepts.items():
            out.setdefault(code, (concept.label_da, concept.label_en))
    return out


def fact_words(w: WorkItem, page: Page) -> str:
    """The deciding fact as a clinician reads it: "LDL-kolesterol 2,2 mmol/L", or that nothing was registered."""
    if w.fact_code is None and w.fact_value is None and not w.fact_text:
        return page._("Ingen registrering i perioden")
    labels = concept_labels().get(w.fact_code or "")
    what = (labels[0] if page.lang == "da" else labels[1]) if labels else (w.fact_code or "")
    if w.fact_value is not None:
        digits = 0 if float(w.fact_value).is_integer() else (1 if round(w.fact_value, 1) == w.fact_value else 2)
        return " ".join(x for x in (what, page.loc.number(w.fact_value, digits), w.fact_unit or "") if x)
    return " ".join(x for x in (what, w.fact_text or "") if x)


SORTS = {"age": lambda w: (w.age, w.patient_key), "sex": lambda w: (w.sex, w.age, w.patient_key),
         "fact": lambda w: (w.fact_date or date.min, w.patient_key)}


def filtered_worklist(items: list[WorkItem], sex: str, band: str, sort: str, descending: bool) -> list[WorkItem]:
    out = [w for w in items if (not sex or w.sex == sex) and (not band or in_band(w.age, band))]
    return sorted(out, key=SORTS.get(sort, SORTS["fact"]), reverse=descending)


def in_band(age: int, band: str) -> bool:
    if band.endswith("+"):
        return age >= int(band[:-1])
    low, high = band.split("-")
    return int(low) <= age <= int(high)


def worklist_model(page: Page, ydernummer: str, indicator_id: str, sex: str, band: str, sort: str,
                   direction: str) -> dict:
    p, source = page.principal, page.source
    package, ind = indicator_of(indicator_id)
    items = source.worklist(p, ydernummer, ind.id)
    sex = sex if sex in ("F", "M") else ""
    band = band if band in AGE_BANDS else ""
    sort = sort if sort in SORTS else "fact"
    descending = direction == "desc"
    rows = filtered_worklist(items, sex, band, sort, descending)
    return {"practice": OrgRef("practice", ydernummer, page._("Praksis") + " " + ydernummer), "package": package,
            "indicator": ind, "rows": rows, "total": len(items), "sex": sex, "band": band, "sort": sort,
            "direction": "desc" if descending else "asc", "bands": AGE_BANDS, "purposes": PURPOSES,
            "identities": {}, "purpose": "", "page_size": WORKLIST_PAGE,
            "base": f"/praksis/{ydernummer}/indikator/{indicator_id}/arbejdsliste",
            "sex_label": lambda s: sex_label(s, page._), "fact": lambda w: fact_words(w, page)}


@router.get("/praksis/{ydernummer}/indikator/{indicator_id}/arbejdsliste", response_class=HTMLResponse)
def worklist(request: Request, ydernummer: str, indicator_id: str, sex: str = "", band: str = "",
             sort: str = "fact", direction: str = "asc"):
    page = page_for(request)
    if ydernummer not in page.principal.clinical_practices:
        return forbidden(page, page._("Arbejdslisten er kun for klinikere i patienternes egen praksis."))
    model = worklist_model(page, ydernummer, indicator_id, sex, band, sort, direction)
    template = "worklist_table.html" if request.headers.get("HX-Request") == "true" else "worklist.html"
    return page.render(template, **common(page, **model))


@router.post("/praksis/{ydernummer}/indikator/{indicator_id}/arbejdsliste/identiteter", response_class=HTMLResponse)
def worklist_identities(request: Request, ydernummer: str, indicator_id: str, purpose: str = Form(""),
                        csrf_token: str = Form(""), sex: str = Form(""), band: str = Form(""),
                        sort: str = Form("fact"), direction: str = Form("asc")):
    """Show CPR and name for the rows on screen, through the identity vault (each look-up is audit-logged)."""
    page = page_for(request)
    if ydernummer not in page.principal.clinical_practices:
        return forbidden(page, page._("Arbejdslisten er kun for klinikere i patienternes egen praksis."))
    if not page.auth.csrf_ok(request, csrf_token or request.headers.get("X-CSRF-Token")):
        return forbidden(page, page._("Formularen er udløbet. Genindlæs siden og prøv igen."))
    if purpose not in PURPOSES:
        raise HTTPException(422, "ukendt formål")
    model = worklist_model(page, ydernummer, indicator_id, sex, band, sort, direction)
    shown = model["rows"][:WORKLIST_PAGE]
    if shown:
        model["identities"] = page.source.reveal(page.principal, ydernummer, [w.patient_key for w in shown],
                                                 purpose)
    model["purpose"] = purpose
    return page.render("worklist_table.html", **common(page, **model))


@router.post("/praksis/{ydernummer}/indikator/{indicator_id}/arbejdsliste.csv")
def worklist_csv(request: Request, ydernummer: str, indicator_id: str, csrf_token: str = Form(""),
                 identified: str = Form(""), purpose: str = Form("42d"), sex: str = Form(""), band: str = Form(""),
                 sort: str = Form("fact"), direction: str = Form("asc")):
    """The worklist as CSV (logged); with CPR and name only when asked, through the vault (logged per patient)."""
    import csv
    import io

    page = page_for(request)
    _ = page._
    if ydernummer not in page.principal.clinical_practices:
        return forbidden(page, _("Arbejdslisten er kun for klinikere i patienternes egen praksis."))
    if not page.auth.csrf_ok(request, csrf_token):
        return forbidden(page, _("Formularen er udløbet. Genindlæs siden og prøv igen."))
    if purpose not in PURPOSES:
        raise HTTPException(422, "ukendt formål")
    model = worklist_model(page, ydernummer, indicator_id, sex, band, sort, direction)
    rows = model["rows"]
    identities: dict = {}
    if identified and rows:
        for start in range(0, len(rows), 500):  # the vault answers at most 500 keys at a time
            identities.update(page.source.reveal(page.principal, ydernummer,
                                                 [w.patient_key for w in rows[start:start + 500]], purpose))
    page.source.record_export(page.principal, ydernummer, indicator_id, len(rows), bool(identified))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    header = [_("Patient (pseudonym)"), _("Alder"), _("Køn"), _("Afgørende fakta"), _("Dato")]
    if identified:
        header = [_("CPR-nummer"), _("Navn")] + header
    writer.writerow(header)
    for w in rows:
        line = [str(w.patient_key), str(w.age), sex_label(w.sex, _), fact_words(w, page),
                page.loc.day(w.fact_date) if w.fact_date else ""]
        if identified:
            who = identities.get(w.patient_key)
            line = [who.cpr if who else "", who.name if who else ""] + line
        writer.writerow(line)
    return csv_response("\ufeff" + out.getvalue(), f"arbejdsliste-{ydernummer}-{indicator_id}.csv")


# --- cluster view ---------------------------------------------------------------------------------------------------


def cluster_package(package_id: str) -> Package:
    """The package asked for, or the first a cluster sees."""
    packages = packages_for("cluster")
    return next((pk for pk in packages if pk.id == package_id), packages[0])


def build_cluster(page: Page, cluster_id: str, package_id: str) -> dict:
    require_results(page)
    p, source, loc, _ = page.principal, page.source, page.loc, page._
    packages = packages_for("cluster")
    package = cluster_package(package_id)
    period = latest_period(page)
    rows, cells, members, label = [], [], {}, None
    newest = source.figures_many(p, [i.id for i in package.indicators], [period]) if period else {}
    for ind in package.indicators:
        kind = value_kind(ind)
        figures = newest.get(ind.id, [])
        cluster = total(figures, "cluster", cluster_id)
        if cluster is None:
            continue
        label = label or cluster.unit.label
        # the cluster's practices as the gate shows them (named or lettered); structure gives the membership
        in_cluster = {m.ydernummer for m in source.structure().in_cluster(cluster_id) if m.covers(period)}
        practices = [f for f in figures if f.unit.level == "practice"
                     and (f.unit.code in in_cluster or len(f.unit.code) <= 2)]
        for f in practices:
            members.setdefault(f.unit.code, f.unit.label)
        rows.append({"indicator": ind, "kind": kind, "cells": {f.unit.code: f for f in practices},
                     "cluster": cluster, "national": total(figures, "national")})
    if label is None:
        raise HTTPException(404)
    own = p.clinical_practices
    order = sorted(members, key=lambda c: (c not in own, len(members[c]), members[c]))
    for r in rows:
        ind = r["indicator"]
        for code in order:
            f = r["cells"].get(code)
            score = None
            if f is not None and f.percentile is not None and ind.direction != "none":
                score = f.percentile / 100 if ind.direction == "higher_is_better" else 1 - f.percentile / 100
            cells.append(charts.HeatCell(f"{ind.id} {ind.title(page.lang)}", members[code],
                                         f.value if f else None, r["kind"], score, own=code in own))
        r["cells"] = [r["cells"].get(code) for code in order]
    heat = charts.heatmap("heatmap", _("{package}: praksis i klyngen").format(package=package.title(page.lang)),
                          cells, loc)
    base = f"/klynge/{cluster_id}"
    return {"cluster": OrgRef("cluster", cluster_id, label), "packages": packages, "package": package,
            "period": period, "members": [OrgRef("practice", c, members[c]) for c in order], "rows": rows,
            "charts": {heat.id: heat}, "base": base, "own": own,
            "letters": any(len(c) <= 2 for c in order if c not in own),
            "csv": lambda cid: chart_csv_url(base, cid, {"package": package.id})}


@router.get("/klynge/{cluster_id}", response_class=HTMLResponse)
def cluster_view(request: Request, cluster_id: str, package: str = ""):
    page = page_for(request)
    chosen = cluster_package(package).id
    response = page.render_kept("cluster.html", (cluster_id, chosen), lambda: common(
        page, **build_cluster(page, cluster_id, chosen), chart_context=chart_context), nav=navigation(page))
    page.source.record_view(page.principal, f"cluster:{cluster_id}:{chosen}")
    return response


@router.get("/klynge/{cluster_id}/diagram/{chart_id}.csv")
def cluster_chart(request: Request, cluster_id: str, chart_id: str, package: str = ""):
    page = page_for(request)
    chart = build_cluster(page, cluster_id, package)["charts"].get(chart_id)
    if chart is None:
        raise HTTPException(404)
    return csv_response(chart.csv(), f"klynge-{cluster_id}-{chart_id}.csv")


# --- region, municipality and national overviews ------------------------------------------------------------------

COMPARE = {"region": ("cluster", "municipality"), "municipality": (), "national": ("region",)}


def build_overview(page: Page, level: str, code: str, indicator_id: str) -> dict:
    require_results(page)
    p, source, loc, _ = page.principal, page.source, page.loc, page._
    if level not in COMPARE:
        raise HTTPException(404)
    packages = packages_for(level) if level != "national" else list(catalogue().packages)
    indicators = [i for pk in packages for i in pk.indicators if i.kind != "mean"]
    ind = next((i for i in indicators if i.id == indicator_id), indicators[0])
    kind = value_kind(ind)
    periods = source.periods(p)[-TREND_MONTHS:]
    period = periods[-1] if periods else None
    base = f"/oversigt/{level}/{code}"
    figures = source.figures(p, ind.id, periods) if period else []
    unit_figs = [f for f in figures if f.unit.level == level and (level == "national" or f.unit.code == code)]
    if period and not unit_figs:
        raise HTTPException(404)
    unit = OrgRef(level, code, unit_figs[0].unit.label if unit_figs else code)
    charts_by_id: dict[str, Chart] = {}
    table = []
    if period:
        series = []
        if level != "national":
            series.append(charts.Series(level, unit.label, series_of(unit_figs, periods)))
        national = [f for f in figures if f.unit.level == "national"]
        series.append(charts.Series("national", _("Hele landet"), series_of(national, periods)))
        trend = charts.trend("trend", _("Udvikling over {n} måneder").format(n=len(periods)), series, kind, loc,
                             target_of(ind))
        charts_by_id[trend.id] = trend
        nat_now = total(figures, "national", None, period)
        org = source.structure()
        for member_level in COMPARE[level]:
            inside = members_of(org, level, code, member_level, period)
            bars = [charts.Bar(f.unit.label, f.value, _int(f.numerator), _int(f.denominator))
                    for f in sorted((f for f in figures if f.unit.level == member_level and f.period == period
                                     and (inside is None or f.unit.code in inside)), key=lambda f: f.unit.label)]
            if bars:
                chart = charts.comparison(
                    f"compare-{member_level}", _("Sammenligning: {level}").format(level=level_label(member_level, _)),
                    bars, kind, loc, (_("Hele landet"), nat_now.value) if nat_now and nat_now.value is not None
                    else None)
                charts_by_id[chart.id] = chart
        newest = source.figures_many(p, [i.id for i in indicators if i.id != ind.id], [period])
        for i in indicators:
            figs = figures if i.id == ind.id else newest[i.id]
            table.append({"indicator": i, "kind": value_kind(i), "package": package_of(i.id),
                          "current": total(figs, level, None if level == "national" else code, period),
                          "national": total(figs, "national", None, period)})
    return {"unit": unit, "level": level, "indicator": ind, "indicators": indicators, "period": period,
            "table": table, "charts": charts_by_id, "base": base, "kind": kind,
            "level_label": lambda lv: level_label(lv, _),
            "csv": lambda cid: chart_csv_url(base, cid, {"indicator": ind.id})}


def members_of(org, level: str, code: str, member_level: str, day: date) -> set[str] | None:
    """Codes of the member units inside a unit (None: every unit of that level, for the nation)."""
    if level == "national":
        return None
    if level == "region" and member_level == "cluster":
        return {m.cluster_id for m in org.in_region(code) if m.covers(day)}
    if level == "region" and member_level == "municipality":
        return {u.code for u in org.units_at("municipality") if u.region_code == code}
    return set()


def _int(x: float | None) -> int | None:
    return None if x is None else int(x)


@router.get("/oversigt/{level}/{code}", response_class=HTMLResponse)
def overview(request: Request, level: str, code: str, indicator: str = ""):
    page = page_for(request)
    model = build_overview(page, level, code, indicator)
    page.source.record_view(page.principal, f"overview:{level}:{code}")
    template = "overview_body.html" if request.headers.get("HX-Request") == "true" else "overview.html"
    return page.render(template, **common(page, **model, chart_context=chart_context))


@router.get("/oversigt/{level}/{code}/diagram/{chart_id}.csv")
def overview_chart(request: Request, level: str, code: str, chart_id: str, indicator: str = ""):
    page = page_for(request)
    chart = build_overview(page, level, code, indicator)["charts"].get(chart_id)
    if chart is None:
        raise HTTPException(404)
    return csv_response(chart.csv(), f"{level}-{code}-{chart_id}.csv")


# --- report library ---------------------------------------------------------------------------------------------


@router.get("/rapporter", response_class=HTMLResponse)
def library(request: Request, q: str = "", package: str = "", audience: str = "", kind: str = ""):
    page = page_for(request)
    entries = page.source.library(page.principal)
    packages = sorted({(e.package_id, e.package_title) for e in entries}, key=lambda x: x[1])
    audiences = sorted({a for e in entries for a in e.audience})
    needle = q.strip().casefold()
    shown = [e for e in entries
             if (not needle or needle in f"{e.title} {e.package_title} {e.topic}".casefold())
             and (not package or e.package_id == package) and (not audience or audience in e.audience)
             and (not kind or e.kind == kind)]
    template = "library_results.html" if request.headers.get("HX-Request") == "true" else "library.html"
    return page.render(template, **common(page, entries=shown, total=len(entries), q=q, package=package,
                                          audience=audience, kind=kind, packages=packages, audiences=audiences,
                                          level_label=lambda lv: level_label(lv, page._)))


@router.get("/rapporter/{report_id}")
def library_report(report_id: str):
    """Where a subscription's notice e-mail links: the report itself (its audience is checked there)."""
    return RedirectResponse(f"/rapporter/pdf/{quote(report_id, safe='')}", status_code=303)


@router.get("/rapporter/pdf/{report_id}")
def library_pdf(request: Request, report_id: str):
    """A static report as PDF, for its audience only (the view is logged)."""
    from kvalitetsplatform.access.gate import AccessDenied

    page = page_for(request)
    try:
        name, pdf = page.source.open_pdf(page.principal, report_id)
    except AccessDenied:
        return forbidden(page, page._("Du har ikke adgang til denne rapport."))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


# --- administration -----------------------------------------------------------------------------------------------


def admin_page(request: Request) -> Page | HTMLResponse:
    page = page_for(request)
    if not page.principal.holds(Role.KIAP_ADMIN):
        return forbidden(page)
    return page


def build_usage(page: Page) -> Chart:
    _ = page._
    names = {u.code: u.name for u in page.source.structure().units_at("region")}
    counts = [(a.month, role_label(a.role, _), names.get(a.region_code, a.region_code) or _("Hele landet"), a.users)
              for a in page.source.active_users(page.principal)]
    return charts.active_users("active-users", _("Aktive brugere pr. måned"), counts, page.loc)


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request):
    page = admin_page(request)
    if isinstance(page, HTMLResponse):
        return page
    usage = build_usage(page)
    return page.render("admin.html", **common(
        page, users=page.source.users(page.principal), packages=page.source.package_status(page.principal),
        deliveries=page.source.deliveries(page.principal), usage=usage, chart_context=chart_context,
        csv=lambda cid: f"/admin/diagram/{cid}.csv", status=lambda v: delivery_status(v, page._)))


@router.get("/admin/diagram/{chart_id}.csv")
def admin_chart(request: Request, chart_id: str):
    page = admin_page(request)
    if isinstance(page, HTMLResponse):
        return page
    if chart_id != "active-users":
        raise HTTPException(404)
    return csv_response(build_usage(page).csv(), "aktive-brugere.csv")


@router.get("/admin/leverancer/{delivery_id}", response_class=HTMLResponse)
def admin_delivery(request: Request, delivery_id: str):
    page = admin_page(request)
    if isinstance(page, HTMLResponse):
        return page
    delivery = next((d for d in page.source.deliveries(page.principal) if d.id == delivery_id), None)
    if delivery is None:
        raise HTTPException(404)
    return page.render("delivery.html", **common(page, delivery=delivery))


# --- sign-in, launch, language --------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    auth: WebAuth = request.app.state.kp_auth
    principal = auth.principal(request)
    if principal is None:
        return RedirectResponse("/log-ind", status_code=303)
    target = landing_url(principal)
    if target is None:
        page = page_for(request)
        return page.render("message.html", **common(page, title=page._("Ingen roller"), message=page._(
            "Din bruger har ingen aktive roller. Kontakt KiAP, hvis du skal have adgang.")))
    return RedirectResponse(target, status_code=303)


@router.get("/log-ind", response_class=HTMLResponse)
def signin_form(request: Request, next: str = ""):
    return signin_page(request, next, None, "", 200)


def signin_page(request: Request, next: str, error: str | None, username: str, status_code: int) -> HTMLResponse:
    """The sign-in form with a fresh sign-in CSRF token (double-submit: a cookie and the form field)."""
    auth: WebAuth = request.app.state.kp_auth
    token = auth.new_signin_token()
    response = render(request, "signin.html", request_language(request), status_code=status_code,
                      next=safe_next(next), error=error, username=username, signin_csrf=token)
    auth.set_signin_cookie(response, token)
    return response


@router.post("/log-ind", response_class=HTMLResponse)
def signin(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form(""),
           csrf_token: str = Form("")):
    auth: WebAuth = request.app.state.kp_auth
    lang = request_language(request)
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    error = auth.sign_in(request, response, username, password, csrf_token)
    if error is not None:
        return signin_page(request, next, translations(lang).gettext(error), username, 401)
    return response


@router.post("/log-ud")
def signout(request: Request, csrf_token: str = Form("")):
    auth: WebAuth = request.app.state.kp_auth
    response = RedirectResponse("/log-ind", status_code=303)
    if auth.principal(request) is not None and auth.csrf_ok(request, csrf_token):
        auth.sign_out(request, response)
    return response


@router.get("/praksis/{ydernummer}/patient/{patient_key}", response_class=HTMLResponse)
def patient(request: Request, ydernummer: str, patient_key: int):
    """Where a launch with a patient lands: the patient's place on the practice's worklists."""
    page = page_for(request)
    if ydernummer not in page.principal.clinical_practices:
        return forbidden(page, page._("Arbejdslisten er kun for klinikere i patienternes egen praksis."))
    missing = []
    for pk in packages_for("practice"):
        for ind in pk.indicators:
            if ind.kind == "mean":
                continue
            for w in page.source.worklist(page.principal, ydernummer, ind.id):
                if w.patient_key == patient_key:
                    missing.append((pk, ind, w))
    return page.render("patient.html", **common(page, ydernummer=ydernummer, patient_key=patient_key,
                                                 missing=missing, fact=lambda w: fact_words(w, page)))


@router.get("/sprog/{lang}")
def language(request: Request, lang: str, next: str = "/"):
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


def safe_next(target: str) -> str:
    """Only paths on this site (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""

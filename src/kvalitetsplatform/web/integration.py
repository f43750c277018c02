"""The web's ReportSource answered by the access gate: the gate's rows turned into the shapes the pages arrange.

Nothing here decides access: scope, grain, disclosure control, letters for peers and audit are the gate's. What is
added is presentation (labels, the deciding fact in words); protected views are kept by the gate (in this process
and on disk), and a page asks for all the indicators and dates it shows in one call (`figures_many`). The reference
dates are cached here by scope key and results version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from threading import Lock

from kvalitetsplatform.access.gate import AccessDenied, Gate
from kvalitetsplatform.access.orgs import Organisation
from kvalitetsplatform.access.principal import Principal
from kvalitetsplatform.access.roles import Role
from kvalitetsplatform.access.users import list_users
from kvalitetsplatform.web.app import Kept
from kvalitetsplatform.web.source import (ActiveUsers, DeliveryEntry, Figure, Identity, OrgRef, PackageEntry,
                                          ReportEntry, UserEntry, WorkItem)


def N_(message: str) -> str:
    """Marks a message for the catalogue; the page translates it when shown."""
    return message


class GateSource:
    def __init__(self, gate: Gate, cache_size: int = 4096, reports=None):
        self.gate = gate
        self.reports = reports  # reports.library.Library: the static PDF reports, when the platform has them
        self._cache = Kept(cache_size)

    # -- cache ----------------------------------------------------------------------------------------------------

    def _cached(self, principal: Principal, key: tuple, compute):
        full = (principal.scope_key, self.gate.store.version(), *key)
        value = self._cache.get(full)
        if value is None:
            value = compute()
            self._cache.put(full, value)
        return value

    # -- results --------------------------------------------------------------------------------------------------

    def periods(self, principal: Principal) -> list[date]:
        catalogue = self.gate.catalogue
        if catalogue is None or not catalogue.packages:
            return []
        first = catalogue.packages[0].indicators[0].id
        return self._cached(principal, ("periods", first), lambda: list(self.gate.periods(principal, first)))

    def figures(self, principal: Principal, indicator_id: str, ref_dates: Sequence[date] | None = None,
                level: str | None = None, code: str | None = None, strata: bool = False) -> list[Figure]:
        return self.figures_many(principal, [indicator_id], ref_dates, level, code, strata)[indicator_id]

    def figures_many(self, principal: Principal, indicator_ids: Sequence[str], ref_dates: Sequence[date] | None = None,
                     level: str | None = None, code: str | None = None,
                     strata: bool = False) -> dict[str, list[Figure]]:
        """One gate call for all of them: the practice's own figures read raw (nothing of anyone else's is
        protected for them), everything else from the gate's protected views."""
        days = list(ref_dates) if ref_dates is not None else self.periods(principal)
        ids = list(dict.fromkeys(indicator_ids))
        if level == "practice" and code is not None and any(
                g.role in (Role.GP, Role.PRACTICE_STAFF) and g.scope_code == code for g in principal.grants):
            rows = self.gate.own_results(principal, code, ids, days, stratum_dim=None if strata else "total")
        else:
            rows = self.gate.results_many(principal, ids, days, org_level=level, org_id=code,
                                          stratum_dim=None if strata else "total")
        return {i: [_figure(r) for day in days for r in rows[(i, day)] if (r["stratum_dim"] != "total") == strata]
                for i in ids}

    def structure(self) -> Organisation:
        return self.gate.organisation()

    def version(self, principal: Principal) -> tuple:
        return self.gate.version(principal)

    # -- patient level --------------------------------------------------------------------------------------------

    def worklist(self, principal: Principal, ydernummer: str, indicator_id: str) -> list[WorkItem]:
        try:
            rows = self.gate.worklist(principal, indicator_id, ydernummer=ydernummer, status="missing")
        except AccessDenied:
            return []
        return [WorkItem(int(r["patient_key"]), int(r["age"]), r["sex"], r["fact_date"], r.get("fact_code"),
                         r.get("fact_value"), r.get("fact_unit"), r.get("fact_text")) for r in rows]

    def reveal(self, principal: Principal, ydernummer: str, patient_keys: list[int],
               purpose: str) -> dict[int, Identity]:
        rows = self.gate.identities(principal, patient_keys, purpose, ydernummer=ydernummer)
        return {int(r["patient_key"]): Identity(r["cpr"], r["name"]) for r in rows}

    def record_export(self, principal: Principal, ydernummer: str, indicator_id: str, rows: int,
                      identified: bool) -> None:
        self.gate.record_report_view(principal, f"worklist-export:{indicator_id}:{'cpr' if identified else 'pseudo'}"
                                     f":{rows}", ydernummer=ydernummer)

    def record_view(self, principal: Principal, page: str, ydernummer: str | None = None) -> None:
        self.gate.record_report_view(principal, page, ydernummer=ydernummer)

    # -- library and administration ---------------------------------------------------------------------------------

    def library(self, principal: Principal) -> list[ReportEntry]:
        """The interactive pages of every package the person's roles may open (static PDF reports join this list
        when the report layer registers them)."""
        packages = self.gate.packages(principal)
        periods = self.periods(principal)
        period = periods[-1] if periods else None
        entries: list[ReportEntry] = []
        for g in principal.grants:
            for pk in packages:
                for audience, url, title in _pages_for(g, pk):
                    entries.append(ReportEntry(f"{url}", title, pk.id, pk.title.da, (audience,), period,
                                               pk.version, "interactive", url, topic=pk.why.da))
        if self.reports is not None:
            from kvalitetsplatform.reports.library import visible_reports

            titles = {pk.id: pk.title.da for pk in packages}
            for r in visible_reports(self.gate.engine, principal):
                entries.append(ReportEntry(r.id, r.title, r.package, titles.get(r.package, r.package), (r.kind,),
                                           r.period, f"{r.package_version} · v{r.version}", "pdf",
                                           f"/rapporter/pdf/{r.id}", topic=r.lang))
        unique = {e.id: e for e in entries}
        return sorted(unique.values(), key=lambda e: (e.package_title, e.kind, e.title))

    def open_pdf(self, principal: Principal, report_id: str) -> tuple[str, bytes]:
        if self.reports is None:
            raise AccessDenied("Du har ikke adgang til denne rapport.")
        entry, pdf = self.reports.open(principal, report_id)
        return f"{entry.id}.pdf", pdf

    def users(self, principal: Principal) -> list[UserEntry]:
        if not principal.holds(Role.KIAP_ADMIN):
            raise AccessDenied("Kun KiAP-administratorer kan se brugerne.")
        return [UserEntry(u.username, u.display_name, u.disabled,
                          tuple((g.role.value, g.scope_level, g.scope_code) for g in u.grants))
                for u in list_users(self.gate.engine)]

    def package_status(self, principal: Principal) -> list[PackageEntry]:
        if not principal.holds(Role.KIAP_ADMIN):
            raise AccessDenied("Kun KiAP-administratorer kan se pakkernes status.")
        return _package_status()

    def deliveries(self, principal: Principal) -> list[DeliveryEntry]:
        if not principal.holds(Role.KIAP_ADMIN):
            raise AccessDenied("Kun KiAP-administratorer kan se alle leverancer.")
        return [DeliveryEntry(r["id"], r["ydernummer"], r.get("loaded_at"), r["status"], int(r.get("rows_loaded") or 0),
                              int(r.get("rows_quarantined") or 0), r.get("quality") or {})
                for r in self.gate.deliveries(principal)]

    def active_users(self, principal: Principal) -> list[ActiveUsers]:
        return [ActiveUsers(r["month"], r["role"], r["region_code"], r["active_users"])
                for r in self.gate.active_users(principal)]


def _figure(r: dict) -> Figure:
    dim, stratum = r["stratum_dim"], r["stratum"]
    return Figure(
        indicator_id=r["indicator_id"], period=r["ref_date"], unit=OrgRef(r["org_level"], r["org_id"], r["org_name"]),
        numerator=r["numerator"], denominator=r["denominator"], value=r["rate"], ci_low=r["ci_low"],
        ci_high=r["ci_high"], percentile=r["percentile"], cluster_rank=r["cluster_rank"], target_met=r["target_met"],
        age_band=stratum if dim == "age_band" else None, sex=stratum if dim == "sex" else None, own=bool(r["own"]))


def _pages_for(grant, package) -> list[tuple[str, str, str]]:
    """The interactive pages a grant opens for a package: (audience, url, title)."""
    title = package.title.da
    code = grant.scope_code
    first = package.indicators[0].id
    if grant.role in (Role.GP, Role.PRACTICE_STAFF) and "practice" in package.audience:
        return [("practice", f"/praksis/{code}/indikator/{first}", f"{title} – praksis {code}")]
    if grant.role == Role.CLUSTER_COORDINATOR and "cluster" in package.audience:
        return [("cluster", f"/klynge/{code}?package={package.id}", f"{title} – klyngen")]
    if grant.role == Role.REGIONAL_QUALITY_UNIT and "region" in package.audience:
        return [("region", f"/oversigt/region/{code}?indicator={first}", f"{title} – regionen")]
    if grant.role == Role.MUNICIPALITY and "municipality" in package.audience:
        return [("municipality", f"/oversigt/municipality/{code}?indicator={first}", f"{title} – kommunen")]
    if grant.role == Role.PUBLIC_VIEWER and package.indicators[0].kind != "mean":
        return [("national", f"/oversigt/national/DK?indicator={first}", f"{title} – hele landet")]
    return []


_STATUS: dict[str, PackageEntry] = {}
_STATUS_LOCK = Lock()


def _package_status() -> list[PackageEntry]:
    """Every shipped package with its validation result; its test patients are run once per process in the
    background (a few seconds for all packages), and show as not yet run until then."""
    from kvalitetsplatform.indicators import load_catalogue

    catalogue = load_catalogue()
    problems: dict[str, list[str]] = {}
    for e in catalogue.errors:
        problems.setdefault(str(e.file), []).append(str(e))
    with _STATUS_LOCK:
        done = dict(_STATUS)
    return [done.get(pk.id) or PackageEntry(pk.id, pk.version, pk.title.da, len(pk.indicators),
                                            not problems.get(pk.file), tuple(problems.get(pk.file, ())))
            for pk in catalogue.packages]


def run_package_tests_in_background() -> None:
    import threading

    def work() -> None:
        from kvalitetsplatform.indicators import load_catalogue
        from kvalitetsplatform.indicators.assurance import run_package

        for pk in load_catalogue().packages:
            try:
                checks = run_package(pk)
                passed, failed = sum(c.passed for c in checks), sum(not c.passed for c in checks)
            except Exception:  # noqa: BLE001 - a broken test set is shown as failed, not a broken page
                passed, failed = 0, len(pk.tests) or 1
            with _STATUS_LOCK:
                _STATUS[pk.id] = PackageEntry(pk.id, pk.version, pk.title.da, len(pk.indicators), True, (),
                                              passed, failed)

    threading.Thread(target=work, name="kp-package-tests", daemon=True).start()


# --- sign-in: the access layer's sessions behind the pages -------------------------------------------------------


class SessionAuth:
    """The pages' WebAuth over access.auth: the same session cookie, CSRF tokens and rate limits as the API."""

    def __init__(self, engine, audit):
        self.engine = engine
        self.audit = audit

    def _session(self, request):
        from kvalitetsplatform.access.auth import resolve_session
        from kvalitetsplatform.api.app import SESSION_COOKIE

        if not hasattr(request.state, "kp_session"):
            request.state.kp_session = resolve_session(self.engine, request.cookies.get(SESSION_COOKIE))
        return request.state.kp_session

    def principal(self, request) -> Principal | None:
        from kvalitetsplatform.access.principal import load_principal

        if not hasattr(request.state, "kp_principal"):
            session = self._session(request)
            found = None
            if session is not None:
                with self.engine.connect() as conn:
                    found = load_principal(conn, session.user_id, session.launch_ydernummer,
                                           session.launch_patient_key)
            request.state.kp_principal = found
        return request.state.kp_principal

    def display_name(self, request) -> str:
        from sqlalchemy import select

        from kvalitetsplatform.access.db import user_account

        principal = self.principal(request)
        if principal is None:
            return ""
        with self.engine.connect() as conn:
            name = conn.execute(select(user_account.c.display_name)
                                .where(user_account.c.id == principal.user_id)).scalar()
        return name or principal.username

    def csrf_token(self, request) -> str:
        session = self._session(request)
        return session.csrf_token if session else ""

    def csrf_ok(self, request, token: str | None) -> bool:
        from kvalitetsplatform.access.auth import csrf_ok

        session = self._session(request)
        return session is not None and csrf_ok(session, token)

    def new_signin_token(self) -> str:
        import secrets

        return secrets.token_urlsafe(32)

    def set_signin_cookie(self, response, token: str) -> None:
        from kvalitetsplatform.api.app import SIGNIN_CSRF_COOKIE

        response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, secure=True, samesite="strict", path="/")

    def sign_in(self, request, response, username: str, password: str, csrf_token: str) -> str | None:
        import hmac

        from kvalitetsplatform.access.auth import RateLimited, SignInError, sign_in
        from kvalitetsplatform.api.app import SIGNIN_CSRF_COOKIE
        from kvalitetsplatform.api.signin import set_session_cookie

        expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
        if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
            return N_("Formularen er udløbet. Genindlæs siden og prøv igen.")
        client = request.client.host if request.client else "ukendt"
        try:
            _, token, _ = sign_in(self.engine, self.audit, username, password, client)
        except RateLimited:
            return N_("For mange forkerte forsøg. Vent et kvarter, og prøv igen.")
        except SignInError:
            return N_("Forkert brugernavn eller adgangskode.")
        set_session_cookie(response, token)
        response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/", secure=True, httponly=True)
        return None

    def sign_out(self, request, response) -> None:
        from kvalitetsplatform.access.auth import end_session
        from kvalitetsplatform.api.app import SESSION_COOKIE

        end_session(self.engine, request.cookies.get(SESSION_COOKIE))
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True)


def create_platform_app(settings=None, **kwargs):
    """The whole platform: the API app factory (sign-in, launch, /api/v1) with the web pages installed on it."""
    from kvalitetsplatform.api.app import create_app
    from kvalitetsplatform.web.app import install

    from kvalitetsplatform.web import pages

    app = create_app(settings, **kwargs)
    services = app.state.services
    if services.gate.catalogue is not None:
        pages.use_catalogue(services.gate.catalogue)
    from kvalitetsplatform.reports.library import Library

    reports = Library(services.engine, services.settings.home, services.gate, services.gate.catalogue)
    install(app, GateSource(services.gate, reports=reports), SessionAuth(services.engine, services.audit))
    return app

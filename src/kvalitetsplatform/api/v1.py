"""The JSON API, version 1. Every data call: the session's Principal → the gate."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints

from kvalitetsplatform.access.auth import end_session, sign_in
from kvalitetsplatform.access.principal import Principal
from kvalitetsplatform.access.roles import ORG_LEVELS
from kvalitetsplatform.api.app import SESSION_COOKIE, Services
from kvalitetsplatform.api.deps import client_of, csrf_checked, current_session, principal, services
from kvalitetsplatform.api.signin import set_session_cookie

router = APIRouter()

OrgLevel = Literal["practice", "cluster", "region", "municipality", "national"]
StratumDim = Literal["total", "sex", "age_band"]
Status = Literal["all", "missing", "met"]
PurposeCode = Literal["42a", "42d"]
assert set(OrgLevel.__args__) == set(ORG_LEVELS)
IndicatorId = Query(..., min_length=1, max_length=100, description="Indikatorens id, fx IHD-LDL")
Ydernummer = Query(None, pattern=r"^\d{6}$", description="Praksis (kun hvis du har adgang til flere)")

# --- models ---------------------------------------------------------------------------------------------------------


class Credentials(BaseModel):
    username: str = Field(max_length=120)
    password: str = Field(max_length=1000)


class GrantOut(BaseModel):
    role: str
    scope_level: str
    scope_code: str


class SessionOut(BaseModel):
    username: str
    grants: list[GrantOut]
    csrf_token: str
    launch_ydernummer: str | None = None


class IndicatorOut(BaseModel):
    id: str
    package: str
    title: str
    description: str
    kind: str
    direction: str


class PackageOut(BaseModel):
    id: str
    version: str
    title: str
    why: str
    audience: list[str]
    indicators: list[IndicatorOut]


class ResultRow(BaseModel):
    indicator_id: str
    ref_date: date
    org_level: str
    org_id: str
    org_name: str
    stratum_dim: str
    stratum: str
    own: bool
    suppressed: bool = Field(description="Tal skjult af diskretionering (tæller eller nævner under grænsen)")
    numerator: int | None
    denominator: int | None
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    percentile: float | None
    cluster_rank: int | None
    target_met: bool | None


class WorklistRow(BaseModel):
    patient_key: str = Field(description="Pseudonym (tekst: tallet er større end JavaScripts heltal)")
    ydernummer: str
    indicator_id: str
    ref_date: date
    age: int | None
    sex: str | None
    in_numerator: bool
    fact_date: date | None
    fact_code: str | None
    fact_value: float | None
    fact_text: str | None
    fact_unit: str | None


PatientKey = Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,19}$")]


class IdentityRequest(BaseModel):
    patient_keys: list[PatientKey] = Field(min_length=1, max_length=500)
    purpose: PurposeCode
    ydernummer: str | None = Field(None, pattern=r"^\d{6}$")


class IdentityOut(BaseModel):
    patient_key: str
    cpr: str
    name: str


# The warehouse keeps local (Danish) times without a zone; RFC 3339 date-time would demand one.
LocalDateTime = Annotated[str, BeforeValidator(lambda v: v.isoformat() if isinstance(v, datetime) else v),
                          Field(description="Lokal tid uden tidszone, ÅÅÅÅ-MM-DDTtt:mm:ss")]


class DeliveryOut(BaseModel):
    id: str
    ydernummer: str
    vendor: str | None
    extract_ts: LocalDateTime | None
    period_start: date | None
    period_end: date | None
    status: str | None
    loaded_at: LocalDateTime | None
    rows_loaded: int | None
    rows_quarantined: int | None


class ActiveUsers(BaseModel):
    month: str
    role: str
    region_code: str
    active_users: int


ERRORS = {401: {"description": "Ikke logget ind"}, 403: {"description": "Ingen adgang"},
          422: {"description": "Ugyldig forespørgsel"}}

# --- session --------------------------------------------------------------------------------------------------------


def _session_out(p: Principal, csrf: str, launch: str | None) -> SessionOut:
    return SessionOut(username=p.username, grants=[GrantOut(role=g.role.value, scope_level=g.scope_level,
                                                            scope_code=g.scope_code) for g in p.grants],
                      csrf_token=csrf, launch_ydernummer=launch)


@router.post("/session", response_model=SessionOut, tags=["session"],
             responses={401: {"description": "Forkert brugernavn eller adgangskode"},
                        429: {"description": "For mange forsøg"}})
def create_session_(credentials: Credentials, request: Request, response: Response,
                    svc: Services = Depends(services)):
    """Sign in with username and password; sets the session cookie and returns the CSRF token."""
    from kvalitetsplatform.access.principal import load_principal

    user_id, token, csrf = sign_in(svc.engine, svc.audit, credentials.username, credentials.password,
                                   client_of(request))
    set_session_cookie(response, token)
    with svc.engine.connect() as conn:
        return _session_out(load_principal(conn, user_id), csrf, None)


@router.get("/session", response_model=SessionOut, tags=["session"], responses=ERRORS)
def read_session(session=Depends(current_session), p: Principal = Depends(principal)):
    return _session_out(p, session.csrf_token, session.launch_ydernummer)


@router.delete("/session", status_code=204, tags=["session"], responses=ERRORS)
def delete_session(request: Request, _session=Depends(csrf_checked), svc: Services = Depends(services)):
    end_session(svc.engine, request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True)
    return response

# --- packages and indicators ----------------------------------------------------------------------------------------


def _indicator_out(ind, package_id: str) -> IndicatorOut:
    return IndicatorOut(id=ind.id, package=package_id, title=ind.title("da"), description=ind.description("da"),
                        kind=ind.kind, direction=ind.direction)


@router.get("/packages", response_model=list[PackageOut], tags=["indikatorer"], responses=ERRORS)
def list_packages(p: Principal = Depends(principal), svc: Services = Depends(services)):
    return [PackageOut(id=pk.id, version=pk.version, title=pk.title("da"), why=pk.why("da"),
                       audience=list(pk.audience), indicators=[_indicator_out(i, pk.id) for i in pk.indicators])
            for pk in svc.gate.packages(p)]


@router.get("/indicators", response_model=list[IndicatorOut], tags=["indikatorer"], responses=ERRORS)
def list_indicators(package_id: str | None = Query(None, max_length=100), p: Principal = Depends(principal),
                    svc: Services = Depends(services)):
    return [_indicator_out(i, pk.id) for pk in svc.gate.packages(p) if package_id in (None, pk.id)
            for i in pk.indicators]

# --- results ---------------------------------------------------------------------------------------------------------


@router.get("/results", response_model=list[ResultRow], tags=["resultater"], responses=ERRORS)
def results(indicator_id: str = IndicatorId, ref_date: date | None = None, org_level: OrgLevel | None = None,
            org_id: str | None = Query(None, max_length=40), stratum_dim: StratumDim | None = None,
            stratum: str | None = Query(None, max_length=40), p: Principal = Depends(principal),
            svc: Services = Depends(services)):
    """Results you may see, after disclosure control: per reference date, org unit and stratum."""
    return svc.gate.results(p, indicator_id, ref_date, org_level, org_id, stratum_dim, stratum)


@router.get("/results/periods", response_model=list[date], tags=["resultater"], responses=ERRORS)
def periods(indicator_id: str = IndicatorId, p: Principal = Depends(principal), svc: Services = Depends(services)):
    return svc.gate.periods(p, indicator_id)


@router.get("/worklists", response_model=list[WorklistRow], tags=["arbejdslister"], responses=ERRORS)
def worklist(indicator_id: str = IndicatorId, ref_date: date | None = None, ydernummer: str | None = Ydernummer,
             status: Status = "missing", purpose: PurposeCode = "42d", p: Principal = Depends(principal),
             svc: Services = Depends(services)):
    """Your practice's patients in the indicator's denominator (by pseudonym), with the deciding fact."""
    return svc.gate.worklist(p, indicator_id, ref_date, ydernummer, status, purpose)


@router.post("/identities", response_model=list[IdentityOut], tags=["arbejdslister"], responses=ERRORS)
def identities(body: IdentityRequest, _session=Depends(csrf_checked), p: Principal = Depends(principal),
               svc: Services = Depends(services)):
    """CPR and name behind pseudonyms on your practice's worklist; every look-up is logged with its purpose."""
    return svc.gate.identities(p, body.patient_keys, body.purpose, body.ydernummer)

# --- exports ---------------------------------------------------------------------------------------------------------

MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
EXPORT_RESPONSES = {**ERRORS, 200: {"content": {m: {} for m in MEDIA.values()}, "description": "Filen"}}


def _file(data: bytes, fmt: str, name: str) -> Response:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120]  # a header value: ASCII only, nothing a client could misread
    return Response(data, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@router.get("/exports/results", tags=["eksport"], responses=EXPORT_RESPONSES, response_class=Response)
def export_results(indicator_id: str = IndicatorId, format: Literal["csv", "parquet"] = "csv",
                   ref_date: date | None = None, org_level: OrgLevel | None = None,
                   org_id: str | None = Query(None, max_length=40), stratum_dim: StratumDim | None = None,
                   p: Principal = Depends(principal), svc: Services = Depends(services)):
    data = svc.gate.export_results(p, format, indicator_id, ref_date=ref_date, org_level=org_level, org_id=org_id,
                                   stratum_dim=stratum_dim)
    return _file(data, format, f"resultater-{indicator_id}")


@router.get("/exports/worklist", tags=["eksport"], responses=EXPORT_RESPONSES, response_class=Response)
def export_worklist(indicator_id: str = IndicatorId, format: Literal["csv", "parquet"] = "csv",
                    ref_date: date | None = None, ydernummer: str | None = Ydernummer, status: Status = "missing",
                    purpose: PurposeCode = "42d", p: Principal = Depends(principal),
                    svc: Services = Depends(services)):
    data = svc.gate.export_worklist(p, format, indicator_id, ref_date=ref_date, ydernummer=ydernummer,
                                    status=status, purpose=purpose)
    return _file(data, format, f"arbejdsliste-{indicator_id}")

# --- deliveries and usage -------------------------------------------------------------------------------------------


@router.get("/deliveries", response_model=list[DeliveryOut], tags=["leverancer"], responses=ERRORS)
def deliveries(p: Principal = Depends(principal), svc: Services = Depends(services)):
    return svc.gate.deliveries(p)


@router.get("/usage/active-users", response_model=list[ActiveUsers], tags=["brug"], responses=ERRORS)
def active_users(p: Principal = Depends(principal), svc: Services = Depends(services)):
    """Active users per month by role and region: the platform's headline adoption figure (KiAP only)."""
    return svc.gate.active_users(p)


@router.get("/health", tags=["drift"], include_in_schema=False)
def health():
    return JSONResponse({"status": "ok"})


"""The FastAPI app factory: sign-in, launch from the practice system, and the JSON API under /api/v1.

Thin: every data call goes through `access.gate.Gate` with the request's Principal; this module only handles HTTP
(cookies, CSRF, status codes). The app refuses to start in production mode with weak or development secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from kvalitetsplatform.access.audit import AuditLog
from kvalitetsplatform.access.auth import LaunchError, RateLimited, SignInError
from kvalitetsplatform.access.gate import AccessDenied, Gate, InvalidQuery, gate_for
from kvalitetsplatform.settings import SECRET_NAMES, ConfigError, Settings

API_VERSION = "v1"
SESSION_COOKIE = "__Host-kp_session"  # __Host-: Secure, Path=/, no Domain
SIGNIN_CSRF_COOKIE = "__Host-kp_signin"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    audit: AuditLog
    gate: Gate


def ensure_safe_for_production(settings: Settings) -> None:
    """In production every secret must be long and random-looking; the app does not start otherwise."""
    if not settings.production:
        return
    for name in SECRET_NAMES:
        value = getattr(settings, name)
        if len(value) < 32 or len(set(value)) < 10:
            raise ConfigError(f"KP_{name.upper()} er for kort eller for ensformig til produktion "
                              "(mindst 32 tilfældige bytes, hex).")


def create_app(settings: Settings | None = None, *, engine: Engine | None = None, store=None, catalogue=None,
               reveal=None) -> FastAPI:
    from kvalitetsplatform.access.db import open_appdb
    from kvalitetsplatform.settings import load_settings

    settings = settings or load_settings()
    ensure_safe_for_production(settings)
    engine = engine or open_appdb(settings)
    if catalogue is None:
        from kvalitetsplatform.indicators import load_catalogue

        catalogue = load_catalogue()
    gate = gate_for(settings, engine, catalogue, store, reveal)
    audit = gate.audit
    app = FastAPI(title="Kvalitetsplatformen API", version="1.0",
                  description="Kvalitetsindikatorer for almen praksis. Alle kald går gennem adgangslaget: du ser "
                              "præcis det, dine roller giver adgang til. Log ind med `POST /api/v1/session`; "
                              f"ændrende kald kræver headeren {CSRF_HEADER}.",
                  openapi_url=f"/api/{API_VERSION}/openapi.json", docs_url=f"/api/{API_VERSION}/docs",
                  redoc_url=None)
    app.state.services = Services(settings, engine, audit, gate)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        return response

    from kvalitetsplatform.compute.store import StoreError
    from kvalitetsplatform.warehouse import WarehouseError

    for error, status in ((AccessDenied, 403), (LaunchError, 403), (InvalidQuery, 422), (SignInError, 401),
                          (RateLimited, 429), (StoreError, 503), (WarehouseError, 503)):
        app.add_exception_handler(error, _handler(status))

    from kvalitetsplatform.api import signin, v1

    app.include_router(signin.router)
    app.include_router(v1.router, prefix=f"/api/{API_VERSION}")
    return app


def _handler(status: int):
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle

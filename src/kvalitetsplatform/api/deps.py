"""Request → Principal, and CSRF for state-changing calls. The Principal comes from the session, never from
parameters."""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request

from kvalitetsplatform.access.auth import SessionInfo, csrf_ok, resolve_session
from kvalitetsplatform.access.principal import Principal, load_principal
from kvalitetsplatform.api.app import CSRF_HEADER, SESSION_COOKIE, Services


def services(request: Request) -> Services:
    return request.app.state.services


def current_session(request: Request, svc: Services = Depends(services)) -> SessionInfo:
    session = resolve_session(svc.engine, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise HTTPException(401, "Log ind først (eller sessionen er udløbet).")
    return session


def principal(session: SessionInfo = Depends(current_session), svc: Services = Depends(services)) -> Principal:
    with svc.engine.connect() as conn:
        return load_principal(conn, session.user_id, session.launch_ydernummer, session.launch_patient_key)


def csrf_checked(request: Request, session: SessionInfo = Depends(current_session)) -> SessionInfo:
    if not csrf_ok(session, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"CSRF-token mangler eller er forkert (headeren {CSRF_HEADER}).")
    return session


def client_of(request: Request) -> str:
    return request.client.host if request.client else "ukendt"

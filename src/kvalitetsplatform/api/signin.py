"""The minimal sign-in form and the launch endpoint the practice system posts to (HTML pages come later)."""

from __future__ import annotations

import hmac
import html
import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kvalitetsplatform.access.auth import LaunchError, RateLimited, SignInError, create_session, sign_in, \
    verify_launch
from kvalitetsplatform.api.app import SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Services
from kvalitetsplatform.api.deps import client_of, services

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>Log ind — Kvalitetsplatformen</title></head>
<body><main>
<h1>Log ind</h1>
{message}
<form method="post" action="/sign-in">
<input type="hidden" name="csrf_token" value="{csrf}">
<p><label>Brugernavn <input name="username" autocomplete="username" required></label></p>
<p><label>Adgangskode <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Log ind</button></p>
</form>
</main></body></html>"""


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, secure=True, samesite="lax", path="/")


def _form(message: str = "", status: int = 200) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    body = PAGE.format(message=f'<p role="alert">{html.escape(message)}</p>' if message else "", csrf=csrf)
    response = HTMLResponse(body, status_code=status)
    response.set_cookie(SIGNIN_CSRF_COOKIE, csrf, httponly=True, secure=True, samesite="strict", path="/")
    return response


@router.get("/sign-in")
def sign_in_form() -> HTMLResponse:
    return _form()


@router.post("/sign-in")
def sign_in_submit(request: Request, username: str = Form(""), password: str = Form(""),
                   csrf_token: str = Form(""), svc: Services = Depends(services)) -> Response:
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _form("Formularen er udløbet. Prøv igen.", 403)
    try:
        _, token, _ = sign_in(svc.engine, svc.audit, username, password, client_of(request))
    except RateLimited as e:
        return _form(str(e), 429)
    except SignInError as e:
        return _form(str(e), 401)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, token)
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/", secure=True, httponly=True)
    return response


@router.post("/launch")
def launch(request: Request, launch_token: str = Form(""), svc: Services = Depends(services)) -> Response:
    """The practice system opens the platform by POSTing a signed launch token (never in the URL: it may name a
    patient). On success: a new session narrowed to that practice, and a redirect to the right page."""
    from kvalitetsplatform.warehouse.vault import Pseudonymiser, normalise_cpr

    pseudonymiser = Pseudonymiser(svc.settings.pseudonym_key)

    def patient_key_of(cpr: str) -> int:
        if len(normalise_cpr(cpr)) != 10:
            raise ValueError(cpr)
        return pseudonymiser.patient_key(cpr)

    try:
        launched = verify_launch(svc.engine, svc.audit, launch_token, patient_key_of)
    except LaunchError as e:
        return HTMLResponse(f'<!doctype html><html lang="da"><body><h1>Start fra lægesystemet afvist</h1>'
                            f'<p role="alert">{html.escape(str(e))}</p></body></html>', status_code=403)
    token, _ = create_session(svc.engine, launched.user_id, launched.ydernummer, launched.patient_key,
                              launched.vendor)
    response = RedirectResponse(launched.target, status_code=303)
    set_session_cookie(response, token)
    return response

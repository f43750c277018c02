"""The web platform mounted on the API's FastAPI app: templates, languages, static assets and the page routers.

`install(app, source, auth)` adds the HTML pages and `/static` to an existing app (the access layer's app factory
makes the app; `web.integration` builds the source and auth that answer through the gate). Pages are rendered on
the server with Jinja2; htmx swaps fragments; charts are Vega-Lite specs (reports/charts.py) drawn by vega-embed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI, Request
from urllib.parse import quote

from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from kvalitetsplatform.access.principal import Principal
from kvalitetsplatform.kept import Kept
from kvalitetsplatform.reports.charts import Chart, ChartLocale
from kvalitetsplatform.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, chart_locale, translations
from kvalitetsplatform.web.source import ReportSource

HERE = Path(__file__).parent
ASSETS = HERE / "assets" / "node_modules"
# The browser libraries, served under /static/vendor/<name> from the npm packages setup.sh installs.
VENDOR = {
    "htmx.min.js": ASSETS / "htmx.org" / "dist" / "htmx.min.js",
    "vega.min.js": ASSETS / "vega" / "build" / "vega.min.js",
    "vega-lite.min.js": ASSETS / "vega-lite" / "build" / "vega-lite.min.js",
    "vega-embed.min.js": ASSETS / "vega-embed" / "build" / "vega-embed.min.js",
}
OWN_STATIC = {"kp.css": HERE / "static" / "kp.css", "kp.js": HERE / "static" / "kp.js"}
LANG_COOKIE = "kp_lang"
# Scripts only from the app itself, no eval (Vega runs its expression interpreter: vega-embed's `ast`); inline
# styles are allowed for the attributes Vega and htmx set on elements they draw.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class WebAuth(Protocol):
    """Sign-in as the pages need it; the access layer's sessions, CSRF tokens and rate limits behind it."""

    def principal(self, request: Request) -> Principal | None: ...

    def display_name(self, request: Request) -> str: ...

    def csrf_token(self, request: Request) -> str: ...

    def csrf_ok(self, request: Request, token: str | None) -> bool: ...

    def new_signin_token(self) -> str: ...

    def set_signin_cookie(self, response: Response, token: str) -> None: ...

    def sign_in(self, request: Request, response: Response, username: str, password: str,
                csrf_token: str) -> str | None:
        """Sets the session cookie on `response`; returns None, or why not (a Danish message id)."""

    def sign_out(self, request: Request, response: Response) -> None: ...


def missing_assets() -> list[str]:
    return [name for name, path in VENDOR.items() if not path.exists()]


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.filters["json"] = lambda v: Markup(json.dumps(v, ensure_ascii=False).replace("</", "<\\/"))
    return env


@dataclass
class Page:
    """Everything a request needs to render: who, in which language, and the source to read through."""

    request: Request
    principal: Principal
    source: ReportSource
    auth: WebAuth
    lang: str

    @property
    def loc(self) -> ChartLocale:
        return chart_locale(self.lang)

    def _(self, text: str) -> str:
        return translations(self.lang).gettext(text)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, self.lang, status_code=status_code, principal=self.principal,
                      auth=self.auth, **context)

    def render_kept(self, template: str, key: tuple, build: Callable[[], dict], **frame: Any) -> HTMLResponse:
        """Render a page whose blocks depend only on what the person may see (`source.version`: scope, results,
        organisation), the language and `key` (the route's parameters): they are rendered once per such key and
        kept in this process; the frame around them (who is signed in, the CSRF token, `frame`) at every request.
        The blocks are rendered without the person (no CSRF token, no name), so nothing of one person's is kept."""
        kept: Kept = self.request.app.state.kp_kept
        full = (template, self.source.version(self.principal), self.lang, *key)
        blocks = kept.get(full)
        if blocks is None:
            blocks = render_blocks(template, self.lang, **build())
            kept.put(full, blocks)
        return self.render("kept.html", blocks=blocks, **frame)


def request_language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def language_context(lang: str) -> dict:
    t = translations(lang)
    return {"lang": lang, "_": t.gettext, "gettext": t.gettext, "ngettext": t.ngettext, "loc": chart_locale(lang)}


def render_blocks(template: str, lang: str, **context: Any) -> dict[str, Markup]:
    """The blocks a page template defines, rendered without a request or a person (`Page.render_kept`); a block
    imports the macros it uses itself, as a template's top-level imports are not run for a lone block."""
    t = environment().get_template(template)
    ctx = t.new_context({**language_context(lang), "request": None, "principal": None, "path": "", "csrf": "",
                         "display_name": "", **context})
    return {name: Markup("".join(block(ctx))) for name, block in t.blocks.items()}


def render(request: Request, template: str, lang: str, status_code: int = 200, principal: Principal | None = None,
           auth: WebAuth | None = None, **context: Any) -> HTMLResponse:
    base = {
        **language_context(lang), "request": request, "principal": principal, "path": request.url.path,
        "csrf": auth.csrf_token(request) if auth and principal else "",
        "display_name": auth.display_name(request) if auth and principal else "",
    }
    base.update(context)
    html = environment().get_template(template).render(base)
    return HTMLResponse(html, status_code=status_code,
                        headers={"Cache-Control": "no-store", "Content-Language": lang, "Vary": "Cookie, HX-Request"})


def chart_context(chart: Chart, csv_url: str | None) -> dict:
    """What the chart macro needs: the spec (inline JSON), the text alternative, and the data download link."""
    return {"id": chart.id, "title": chart.title, "spec": chart.spec, "description": chart.description,
            "table": chart.table, "csv_url": csv_url, "columns": chart.columns, "rows": chart.rows}


def csv_response(text: str, filename: str) -> Response:
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def install(app: FastAPI, source: ReportSource, auth: WebAuth) -> None:
    """Add the HTML pages and the static assets to `app`."""
    from kvalitetsplatform.web import pages

    app.state.kp_source = source
    app.state.kp_auth = auth
    app.state.kp_kept = Kept()

    @app.get("/static/vendor/{name}", include_in_schema=False)
    def vendor_asset(name: str) -> Response:
        path = VENDOR.get(name)
        if path is None or not path.exists():
            return Response("ikke fundet", status_code=404, media_type="text/plain; charset=utf-8")
        return FileResponse(path, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400, immutable"})

    @app.get("/static/{name}", include_in_schema=False)
    def own_asset(name: str) -> Response:
        path = OWN_STATIC.get(name)
        if path is None:
            return Response("ikke fundet", status_code=404, media_type="text/plain; charset=utf-8")
        media = "text/css" if name.endswith(".css") else "text/javascript"
        return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=300"})

    @app.exception_handler(pages.NotSignedIn)
    async def not_signed_in(request: Request, _exc: Exception) -> Response:
        target = "/log-ind?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    previous = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Pages answer errors as pages; the API keeps its JSON."""
        if request.url.path.startswith("/api/") or exc.status_code not in (403, 404, 422):
            return await (previous or http_exception_handler)(request, exc)
        lang = request_language(request)
        t = translations(lang)
        title = {403: t.gettext("Ingen adgang"), 404: t.gettext("Siden findes ikke"),
                 422: t.gettext("Ugyldig forespørgsel")}[exc.status_code]
        message = {403: t.gettext("Du har ikke adgang til denne side med dine nuværende roller."),
                   404: t.gettext("Siden findes ikke, eller du har ikke adgang til den."),
                   422: t.gettext("Forespørgslen kunne ikke forstås.")}[exc.status_code]
        return render(request, "message.html", lang, status_code=exc.status_code, title=title, message=message)

    from kvalitetsplatform.compute.store import StoreError
    from kvalitetsplatform.warehouse import WarehouseError

    for unavailable in (StoreError, WarehouseError):
        api_handler = app.exception_handlers.get(unavailable)

        async def not_ready(request: Request, exc: Exception, api_handler=api_handler) -> Response:
            """No results yet (or the store is busy): the API keeps its JSON, pages say so in words."""
            if request.url.path.startswith("/api/") and api_handler is not None:
                return await api_handler(request, exc)
            lang = request_language(request)
            t = translations(lang)
            return render(request, "message.html", lang, status_code=503,
                          title=t.gettext("Tallene er ikke klar"), message=str(exc))

        app.add_exception_handler(unavailable, not_ready)

    @app.middleware("http")
    async def page_security(request: Request, call_next):
        response = await call_next(request)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Content-Security-Policy"] = CSP
        return response

    app.include_router(pages.router)


def today() -> date:
    return date.today()

"""The demo: a user for every role on the synthetic data, and a stand-in practice system that launches the platform.

`seed_demo(settings)` (development mode only) syncs the organisations from the warehouse, creates one demo user per
role scoped to the first practice, its cluster, region and municipality, and registers "demo-lps": a practice-system
vendor whose ES256 key pair lives in KP_HOME. `GET /demo/start/{username}` (development mode only) then plays the
practice system: it signs a fresh launch token with that key and posts it to `/launch`, as the "Klinikkens
Cockpit" button in a real LPS would. Everything goes through the access layer's own functions.
"""

from __future__ import annotations

import html
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kvalitetsplatform.settings import Settings

DEMO_PASSWORD = "kvalitet-demo-2026"  # development mode only; seed_demo refuses production
VENDOR = "demo-lps"
DEMO_PACKAGES = ("ihd", "t2d", "copd", "antibiotics", "polypharmacy")  # what the demo cluster follows


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    scope: str | None
    landing: str


class DemoError(RuntimeError):
    """The demo cannot be seeded; the message says why (Danish)."""


def key_path(settings: Settings) -> Path:
    return settings.home / "demo-lps-private.pem"


def seed_demo(settings: Settings) -> list[DemoUser]:
    """Create (or keep) the demo users and the demo practice-system vendor; returns the users."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from kvalitetsplatform.access import users
    from kvalitetsplatform.access.audit import AuditLog, audit_key
    from kvalitetsplatform.access.auth import register_vendor
    from kvalitetsplatform.access.db import open_appdb
    from kvalitetsplatform.access.orgs import load_organisation, set_followed_packages, sync_from_warehouse
    from kvalitetsplatform.indicators import load_catalogue

    if settings.production:
        raise DemoError("Demobrugere kan kun oprettes i udviklingstilstand (KP_MODE=development).")
    engine = open_appdb(settings)
    sync_from_warehouse(engine, settings)
    audit = AuditLog(engine, audit_key(settings.session_secret))
    with engine.connect() as conn:
        org = load_organisation(conn)
    current = [m for m in org.memberships if m.valid_to is None] or list(org.memberships)
    if not current:
        raise DemoError("Warehouse har ingen praksis endnu. Kør `kp synth` og `kp ingest` først.")
    first = sorted(current, key=lambda m: m.ydernummer)[0]
    if not org.follows(first.cluster_id):  # the demo cluster follows a cluster's usual choice (unless changed)
        set_followed_packages(engine, first.cluster_id, DEMO_PACKAGES, [p.id for p in load_catalogue().packages])
    plan = [
        DemoUser("demo-laege", "Anne Demo, praktiserende læge", "gp", first.ydernummer,
                 f"/praksis/{first.ydernummer}"),
        DemoUser("demo-personale", "Bo Demo, sygeplejerske", "practice_staff", first.ydernummer,
                 f"/praksis/{first.ydernummer}"),
        DemoUser("demo-koordinator", "Carla Demo, klyngekoordinator", "cluster_coordinator", first.cluster_id,
                 f"/klynge/{first.cluster_id}"),
        DemoUser("demo-region", "Dorte Demo, regional kvalitetsenhed", "regional_quality_unit", first.region_code,
                 f"/oversigt/region/{first.region_code}"),
        DemoUser("demo-kommune", "Erik Demo, kommune", "municipality", first.kommune_code,
                 f"/oversigt/municipality/{first.kommune_code}"),
        DemoUser("demo-offentlig", "Frida Demo, politiker", "public_viewer", None, "/oversigt/national/DK"),
        DemoUser("demo-kiap", "Gustav Demo, KiAP", "kiap_admin", None, "/admin"),
    ]
    for u in plan:
        try:
            users.create_user(engine, audit, u.username, u.display_name, DEMO_PASSWORD, actor="kp serve --demo")
        except users.UserError:
            users.set_password(engine, audit, u.username, DEMO_PASSWORD, actor="kp serve --demo")
        users.grant(engine, audit, u.username, u.role, u.scope, actor="kp serve --demo")
    path = key_path(settings)
    if not path.exists():
        private = ec.generate_private_key(ec.SECP256R1())
        path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        path.chmod(0o600)
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    register_vendor(engine, audit, VENDOR, public_pem, "ES256")
    engine.dispose()
    return plan


def launch_token(settings: Settings, username: str, ydernummer: str, patient_cpr: str | None = None) -> str:
    """A launch token as the demo practice system signs it: valid for 2 minutes, used once."""
    import jwt

    from kvalitetsplatform.access.auth import LAUNCH_AUDIENCE

    now = int(time.time())
    claims = {"iss": VENDOR, "aud": LAUNCH_AUDIENCE, "sub": username, "ydernummer": ydernummer, "iat": now,
              "exp": now + 120, "jti": uuid.uuid4().hex}
    if patient_cpr:
        claims["patient"] = patient_cpr
    return jwt.encode(claims, key_path(settings).read_bytes(), algorithm="ES256")


def install_demo_launcher(app, settings: Settings) -> None:
    """`GET /demo/start/{username}`: the demo practice system's button (development mode only)."""
    from fastapi.responses import HTMLResponse
    from sqlalchemy import select

    from kvalitetsplatform.access.db import role_grant, user_account

    if settings.production:
        return

    @app.get("/demo/start/{username}", include_in_schema=False, response_class=HTMLResponse)
    def demo_start(username: str) -> HTMLResponse:
        engine = app.state.services.engine
        with engine.connect() as conn:
            practice = conn.execute(
                select(role_grant.c.scope_code).join(user_account, user_account.c.id == role_grant.c.user_id)
                .where(user_account.c.username == username, role_grant.c.role.in_(("gp", "practice_staff")),
                       role_grant.c.revoked_at.is_(None))).scalar()
        if practice is None or not key_path(settings).exists():
            return HTMLResponse("<!doctype html><html lang=da><title>Demo</title><p>Ukendt demobruger eller "
                                "ingen demo-lægesystemnøgle (kør <code>kp serve --demo</code>).</p></html>",
                                status_code=404)
        token = launch_token(settings, username, practice)
        body = f"""<!doctype html><html lang="da"><head><meta charset="utf-8"><title>Demo-lægesystem</title>
<link rel="stylesheet" href="/static/kp.css"><script src="/static/kp.js" defer></script></head>
<body><main><div class="card signin"><h1>Demo-lægesystem</h1>
<p>Lægesystemet åbner Kvalitetsplatformen for {html.escape(username)} i praksis {html.escape(practice)} med et
signeret starttoken (gyldigt i 2 minutter, kan bruges én gang).</p>
<form method="post" action="/launch" data-kp-autosubmit>
<input type="hidden" name="launch_token" value="{html.escape(token)}">
<button type="submit">Åbn Kvalitetsplatformen</button></form></div></main></body></html>"""
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

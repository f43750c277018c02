"""The whole platform app (API factory + web pages + the real gate) over the web test world, with a signed-in
client per role; used by tests/web and tests/browser."""

from __future__ import annotations

import ibis
import pytest
from fastapi.testclient import TestClient

from kvalitetsplatform.access import users
from kvalitetsplatform.access.audit import AuditLog, audit_key
from kvalitetsplatform.access.auth import create_session
from kvalitetsplatform.access.db import make_engine, migrate
from kvalitetsplatform.access.orgs import replace_organisation
from kvalitetsplatform.access.results import ResultStore
from kvalitetsplatform.access.testing import world_organisation
from kvalitetsplatform.api.app import SESSION_COOKIE
from kvalitetsplatform.settings import load_settings
from kvalitetsplatform.warehouse.vault import VaultCipher
from kvalitetsplatform.web.integration import create_platform_app
from kvalitetsplatform.web.pages import catalogue
from . import web_world as world

ROLES = {
    "gp1": [("gp", "000001")], "staff2": [("practice_staff", "000002")], "coord": [("cluster_coordinator", "K1")],
    "region": [("regional_quality_unit", "1082")], "kommune": [("municipality", "751")],
    "public": [("public_viewer", None)], "admin": [("kiap_admin", None)], "nobody": [],
}
PASSWORD = "demo-adgangskode-1"


class _Identity:
    def __init__(self, cpr, name):
        self.cpr, self.name = cpr, name


class Platform:
    def __init__(self, app, engine, audit, ids, settings, warehouse):
        self.app, self.engine, self.audit, self.ids = app, engine, audit, ids
        self.settings, self.warehouse = settings, warehouse

    def client(self, role: str | None = None, lang: str | None = None) -> TestClient:
        c = TestClient(self.app, base_url="https://testserver", follow_redirects=False)
        if role is not None:
            token, csrf = create_session(self.engine, self.ids[role])
            c.cookies.set(SESSION_COOKIE, token)
            c.csrf = csrf
        if lang:
            c.cookies.set("kp_lang", lang)
        return c


def make_platform(tmp_path, monkeypatch) -> Platform:
    monkeypatch.setenv("KP_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'kp.sqlite'}"
    monkeypatch.setenv("KP_DATABASE_URL", url)
    settings = load_settings()
    path = tmp_path / "warehouse.duckdb"
    world.build(path, settings.vault_key)
    engine = make_engine(url)
    migrate(engine)
    replace_organisation(engine, *world_organisation())
    audit = AuditLog(engine, audit_key(settings.session_secret))
    ids = {}
    for name, grants in ROLES.items():
        ids[name] = users.create_user(engine, audit, name, name.title(), PASSWORD)
        for role, scope in grants:
            users.grant(engine, audit, name, role, scope)

    def reveal(keys):
        con = ibis.duckdb.connect(str(path), read_only=True)
        t = con.table("identity_vault")
        rows = t.filter(t.patient_key.isin(list(keys))).to_pyarrow().to_pylist()
        con.disconnect()
        c = VaultCipher(settings.vault_key)
        return {r["patient_key"]: _Identity(c.decrypt("cpr", r["pseudonym"], r["cpr_enc"]),
                                            c.decrypt("name", r["pseudonym"], r["name_enc"])) for r in rows}

    store = ResultStore(lambda: ibis.duckdb.connect(str(path), read_only=True), version=lambda: "1")
    app = create_platform_app(settings, engine=engine, store=store, reveal=reveal, catalogue=catalogue())
    return Platform(app, engine, audit, ids, settings, path)

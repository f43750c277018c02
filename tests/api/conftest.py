import ibis
import pytest
from fastapi.testclient import TestClient

from kvalitetsplatform.access import users
from kvalitetsplatform.access.audit import AuditLog, audit_key
from kvalitetsplatform.access.auth import create_session
from kvalitetsplatform.access.orgs import replace_organisation
from kvalitetsplatform.access.results import ResultStore
from kvalitetsplatform.access.testing import (  # noqa: F401
    WORLD_VAULT_KEY, appdb_engine, appdb_url, world_organisation, world_warehouse,
)
from kvalitetsplatform.api.app import SESSION_COOKIE, create_app
from kvalitetsplatform.settings import load_settings

ROLES = {
    "gp1": [("gp", "000001")], "staff2": [("practice_staff", "000002")], "coord": [("cluster_coordinator", "K1")],
    "region": [("regional_quality_unit", "1082")], "kommune": [("municipality", "751")],
    "public": [("public_viewer", None)], "admin": [("kiap_admin", None)], "nobody": [],
}


class Api:
    """The app over a results-shaped warehouse, with a signed-in client per role."""

    def __init__(self, app, engine, audit, ids, settings):
        self.app, self.engine, self.audit, self.ids, self.settings = app, engine, audit, ids, settings

    def client(self, role: str | None) -> TestClient:
        c = TestClient(self.app, base_url="https://testserver")
        if role is not None:
            token, csrf = create_session(self.engine, self.ids[role])
            c.cookies.set(SESSION_COOKIE, token)
            c.headers["X-CSRF-Token"] = csrf
        return c


@pytest.fixture(scope="session")
def catalogue():
    from kvalitetsplatform.indicators import load_catalogue

    return load_catalogue()


@pytest.fixture
def api(appdb_url, tmp_path, monkeypatch, world_warehouse, catalogue):
    monkeypatch.setenv("KP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KP_DATABASE_URL", appdb_url)
    monkeypatch.setenv("KP_VAULT_KEY", WORLD_VAULT_KEY)
    settings = load_settings()
    path = world_warehouse
    from kvalitetsplatform.access.db import make_engine

    engine = make_engine(appdb_url)
    replace_organisation(engine, *world_organisation())
    audit = AuditLog(engine, audit_key(settings.session_secret))
    ids = {}
    for name, grants in ROLES.items():
        ids[name] = users.create_user(engine, audit, name, name.title())
        for role, scope in grants:
            users.grant(engine, audit, name, role, scope)

    def reveal(keys):
        from kvalitetsplatform.warehouse.vault import VaultCipher
        con = ibis.duckdb.connect(str(path), read_only=True)
        t = con.table("identity_vault")
        rows = t.filter(t.patient_key.isin(list(keys))).to_pyarrow().to_pylist()
        con.disconnect()
        cipher = VaultCipher(settings.vault_key)

        class Identity:
            def __init__(self, r):
                self.cpr = cipher.decrypt("cpr", r["pseudonym"], r["cpr_enc"])
                self.name = cipher.decrypt("name", r["pseudonym"], r["name_enc"])

        return {r["patient_key"]: Identity(r) for r in rows}

    store = ResultStore(lambda: ibis.duckdb.connect(str(path), read_only=True))
    app = create_app(settings, engine=engine, store=store, reveal=reveal, catalogue=catalogue)
    yield Api(app, engine, audit, ids, settings)
    engine.dispose()

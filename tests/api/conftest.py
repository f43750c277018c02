import pytest
from fastapi.testclient import TestClient

from kvalitetsplatform.access import users
from kvalitetsplatform.access.audit import AuditLog, audit_key
from kvalitetsplatform.access.auth import create_session
from kvalitetsplatform.access.orgs import replace_organisation
from kvalitetsplatform.access.testing import (  # noqa: F401
    WORLD_VAULT_KEY, _sqlite_template, appdb_engine, appdb_url, world_home, world_organisation,
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
def api(appdb_url, monkeypatch, world_home, catalogue):
    """The app as production wires it (results store, warehouse and vault from KP_HOME), on a test app DB."""
    monkeypatch.setenv("KP_HOME", str(world_home))
    monkeypatch.setenv("KP_DATABASE_URL", appdb_url)
    monkeypatch.setenv("KP_VAULT_KEY", WORLD_VAULT_KEY)
    settings = load_settings()
    from kvalitetsplatform.access.db import make_engine

    engine = make_engine(appdb_url)
    replace_organisation(engine, *world_organisation())
    audit = AuditLog(engine, audit_key(settings.session_secret))
    ids = {}
    for name, grants in ROLES.items():
        ids[name] = users.create_user(engine, audit, name, name.title())
        for role, scope in grants:
            users.grant(engine, audit, name, role, scope)
    app = create_app(settings, engine=engine, catalogue=catalogue)
    yield Api(app, engine, audit, ids, settings)
    engine.dispose()

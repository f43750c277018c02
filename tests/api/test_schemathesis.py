"""Property-based API tests from the OpenAPI document (schemathesis), as every role: no server errors, responses
as documented, and nothing outside the role's scope whatever the generated parameters."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from kvalitetsplatform.access import users
from kvalitetsplatform.access.audit import AuditLog, audit_key
from kvalitetsplatform.access.auth import create_session
from kvalitetsplatform.access.db import make_engine, migrate
from kvalitetsplatform.access.orgs import replace_organisation
from kvalitetsplatform.access.testing import WORLD_VAULT_KEY, world_organisation
from kvalitetsplatform.api.app import SESSION_COOKIE, create_app
from kvalitetsplatform.settings import load_settings
from .conftest import ROLES
from .test_api_roles import CLINICAL, VISIBLE, units


@pytest.fixture(scope="module")
def served(tmp_path_factory, world_home, catalogue):
    """One app for the whole module (its own SQLite app DB); sessions are made per generated case."""
    db = tmp_path_factory.mktemp("schemathesis") / "kp.sqlite"
    env = {"KP_HOME": str(world_home), "KP_VAULT_KEY": WORLD_VAULT_KEY, "KP_DATABASE_URL": f"sqlite:///{db}"}
    settings_ = load_settings(env)
    engine = make_engine(settings_.database_url)
    migrate(engine)
    replace_organisation(engine, *world_organisation())
    audit = AuditLog(engine, audit_key(settings_.session_secret))
    ids = {}
    for name, grants in ROLES.items():
        ids[name] = users.create_user(engine, audit, name, name.title())
        for role, scope in grants:
            users.grant(engine, audit, name, role, scope)
    app = create_app(settings_, engine=engine, catalogue=catalogue)
    yield app, engine, ids
    engine.dispose()


def operations(app):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_as_every_role(served):
    """Generated requests for every documented operation, each sent as every role in turn."""
    app, engine, ids = served
    ops = operations(app)
    assert len(ops) == 13
    for operation in ops:

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            for role in ROLES:
                token, csrf = create_session(engine, ids[role])
                response = case.call(headers={"X-CSRF-Token": csrf}, cookies={SESSION_COOKIE: token})
                assert response.status_code < 500, (operation.label, role, response.text)
                case.validate_response(response)
                if response.status_code == 200 and "json" in response.headers.get("content-type", ""):
                    check_scope(operation.path, role, response.json())

        run()


def check_scope(path: str, role: str, body) -> None:
    if path == "/results":
        assert units(body) <= VISIBLE[role]
        assert all(r["own"] or r["numerator"] is None or not 1 <= r["numerator"] <= 4 for r in body)
    elif path in ("/worklists", "/identities"):
        assert role in CLINICAL
        assert all(r.get("ydernummer", CLINICAL[role]) == CLINICAL[role] for r in body)
    elif path == "/deliveries":
        assert role == "admin" or {d["ydernummer"] for d in body} <= {CLINICAL.get(role)}
    elif path == "/usage/active-users":
        assert role == "admin"

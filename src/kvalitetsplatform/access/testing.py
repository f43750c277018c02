"""Test support for every layer that needs the app database: the same test on SQLite and on PostgreSQL.

Import the fixtures into a conftest (`from kvalitetsplatform.access.testing import appdb_engine  # noqa: F401`).
PostgreSQL is the server on 127.0.0.1:5432 (KP_TEST_POSTGRES_URL overrides); each test gets its own schema, dropped
afterwards. In CI (CI=true) an unreachable server fails the test; locally it is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from kvalitetsplatform.access.db import make_engine, migrate

POSTGRES_URL = os.environ.get("KP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SESSION_TAG = uuid.uuid4().hex[:8]


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required in CI: {reason}")
    pytest.skip(f"PostgreSQL at {POSTGRES_URL} unreachable: {reason}")


def postgres_schema_url() -> tuple[str, str]:
    """A fresh schema on the test server; returns (url with search_path set, schema)."""
    schema = f"kp_test_{SESSION_TAG}_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except Exception as e:  # noqa: BLE001 - any connection failure means "no server"
        _postgres_unavailable(str(e).splitlines()[0])
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", schema


def drop_postgres_schema(schema: str) -> None:
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def appdb_url(request, tmp_path):
    """A migrated, empty app database URL on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kp.sqlite'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
        return
    url, schema = postgres_schema_url()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    try:
        yield url
    finally:
        drop_postgres_schema(schema)


@pytest.fixture
def appdb_engine(appdb_url) -> Engine:
    engine = make_engine(appdb_url)
    yield engine
    engine.dispose()

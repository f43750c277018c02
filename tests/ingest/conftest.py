"""Fixtures for ingestion tests: isolated settings (own KP_HOME and keys) and warehouse snapshots."""

from __future__ import annotations

import duckdb
import pytest

from kvalitetsplatform.ingest import ingest
from kvalitetsplatform.settings import load_settings
from kvalitetsplatform.warehouse.schema import all_table_names

KEYS = {"KP_PSEUDONYM_KEY": "p" * 64, "KP_VAULT_KEY": "v" * 64, "KP_SESSION_SECRET": "s" * 64}


def make_settings(home):
    return load_settings({"KP_HOME": str(home), **KEYS})


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "home")


def ingest_one(folder, settings):
    [result] = ingest([folder], settings)
    return result


def query(settings, sql, params=None):
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def snapshot(settings, exclude=()) -> dict[str, list]:
    """Every warehouse table's rows, sorted: two snapshots are equal when the warehouse holds the same data."""
    if not settings.warehouse_path.exists():
        return {}
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        out = {}
        for name in all_table_names():
            if name in exclude:
                continue
            rows = con.execute(f'SELECT * FROM "{name}"').fetchall()
            out[name] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def quarantined(settings, delivery_id=None) -> set[tuple]:
    sql = "SELECT table_name, row_number, field, rule FROM quarantine"
    rows = query(settings, sql + (" WHERE delivery_id = ?" if delivery_id else ""),
                 [delivery_id] if delivery_id else None)
    return set(rows)

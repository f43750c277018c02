"""Test support for every layer that needs the app database: the same test on SQLite and on PostgreSQL.

Import the fixtures into a conftest (`from kvalitetsplatform.access.testing import appdb_engine  # noqa: F401`).
PostgreSQL is the server on 127.0.0.1:5432 (KP_TEST_POSTGRES_URL overrides); each test gets its own schema, dropped
afterwards. In CI (CI=true) an unreachable server fails the test; locally it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import date, datetime

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


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    """A migrated SQLite app DB, copied for each test (migrating takes longer than copying)."""
    path = tmp_path_factory.mktemp("appdb") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def appdb_url(request, tmp_path, _sqlite_template):
    """A migrated, empty app database URL on each engine. A test module may narrow it to SQLite with
    `pytest.mark.parametrize("appdb_url", ["sqlite"], indirect=True)` when it exercises no SQL of its own."""
    if request.param == "sqlite":
        path = tmp_path / "kp.sqlite"
        shutil.copyfile(_sqlite_template, path)
        yield f"sqlite:///{path}"
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


# --- a small results-shaped world: organisations, results, patient flags, vault, deliveries -----------------------

WORLD_INDICATOR = "TEST-LDL"
WORLD_DATES = (date(2025, 6, 30), date(2025, 12, 31))
WORLD_PRACTICES = {  # ydernummer: (name, [(valid_from, valid_to, cluster, region, kommune)])
    "000001": ("Lægerne i Vestergade", [(date(2020, 1, 1), None, "K1", "1082", "751")]),
    "000002": ("Lægehuset Øst", [(date(2020, 1, 1), None, "K1", "1082", "751")]),
    "000003": ("Skovbrynet Lægepraksis", [(date(2020, 1, 1), date(2025, 6, 30), "K1", "1082", "751"),
                                          (date(2025, 7, 1), None, "K2", "1082", "751")]),
    "000004": ("Havnens Læger", [(date(2020, 1, 1), None, "K2", "1082", "751")]),
    "000005": ("Lægerne ved Torvet", [(date(2020, 1, 1), None, "K2", "1082", "751")]),
    "000006": ("Nordens Lægehus", [(date(2020, 1, 1), None, "K3", "1081", "101")]),
    "000007": ("Fjordens Læger", [(date(2020, 1, 1), None, "K3", "1081", "101")]),
}
# (numerator, denominator) per practice and sex; small counts on purpose
WORLD_COUNTS = {
    "000001": {"F": (12, 20), "M": (9, 15)}, "000002": {"F": (2, 9), "M": (14, 18)},
    "000003": {"F": (7, 11), "M": (3, 4)}, "000004": {"F": (25, 30), "M": (20, 28)},
    "000005": {"F": (1, 6), "M": (10, 13)}, "000006": {"F": (30, 41), "M": (22, 35)},
    "000007": {"F": (8, 12), "M": (6, 9)},
}
WORLD_NAMES = {1: "Karen Hansen", 2: "Jens Nielsen", 3: "Mette Larsen", 4: "Peter Sørensen"}


def world_organisation():
    from kvalitetsplatform.access.orgs import Membership, OrgUnit

    units = [OrgUnit("region", "1082", "Region Midtjylland", "1082"),
             OrgUnit("region", "1081", "Region Nordjylland", "1081"),
             OrgUnit("municipality", "751", "Aarhus", "1082"), OrgUnit("municipality", "101", "København", "1081"),
             OrgUnit("cluster", "K1", "Klynge Vest", "1082"), OrgUnit("cluster", "K2", "Klynge Øst", "1082"),
             OrgUnit("cluster", "K3", "Klynge Nord", "1081")]
    members = []
    for y, (name, periods) in WORLD_PRACTICES.items():
        units.append(OrgUnit("practice", y, name, periods[-1][3]))
        members += [Membership(y, f, t, c, r, k) for f, t, c, r, k in periods]
    return units, members


def world_rows():
    """Results for every org level and stratum, summed from the practices as compute does; plus patient flags."""
    from collections import defaultdict

    results = []
    for day in WORLD_DATES:
        sums: dict = defaultdict(lambda: [0, 0])
        for y, (_, periods) in WORLD_PRACTICES.items():
            _, _, cluster, region, kommune = next(p for p in periods if p[0] <= day and (p[1] is None or day <= p[1]))
            for sex, (n, d) in WORLD_COUNTS[y].items():
                for unit in (("practice", y), ("cluster", cluster), ("region", region), ("municipality", kommune),
                             ("national", "DK")):
                    for stratum in (("total", ""), ("sex", sex)):
                        cell = sums[(*unit, *stratum)]
                        cell[0] += n
                        cell[1] += d
        for (level, org_id, dim, value), (n, d) in sorted(sums.items()):
            rate = n / d if d else None
            results.append(dict(package="TEST", indicator=WORLD_INDICATOR, kind="proportion", ref_date=day,
                                level=level, unit=org_id, stratum="all" if dim == "total" else dim,
                                stratum_value=value or "all", numerator=float(n), denominator=float(d), patients=d,
                                value=rate, ci_low=None if rate is None else max(0.0, rate - 0.1),
                                ci_high=None if rate is None else min(1.0, rate + 0.1),
                                percentile=50.0 if level == "practice" else None,
                                cluster_rank=1 if level == "practice" else None,
                                target_met=None if rate is None else rate >= 0.6, run_id=1))
    flags = []
    for i, y in enumerate(WORLD_PRACTICES):
        for day in WORLD_DATES:
            for j in range(1, 5):
                flags.append(dict(package="TEST", ydernummer=y, patient_key=world_patient_key(i, j),
                                  indicator=WORLD_INDICATOR, ref_date=day, age=60 + j, sex="F" if j % 2 else "M",
                                  in_denominator=j != 4, in_numerator=j == 1, numerator=int(j == 1),
                                  denominator=int(j != 4), fact_date=day, fact_system="NPU", fact_code="NPU01568",
                                  fact_value=2.0 + j, fact_text=None, fact_unit="mmol/L", run_id=1))
    return results, flags


def world_patient_key(practice_index: int, j: int) -> int:
    return 9_000_000_000_000_000_000 // 10 * (practice_index + 1) + j  # large: beyond JavaScript's 2**53


def build_world(home, vault_key: bytes, single_file: str | None = None) -> None:
    """Under `home` (a KP_HOME): `results.duckdb` with compute's `result` and `patient_flag` tables, and
    `warehouse.duckdb` with the `delivery` catalogue and the `identity_vault`, in the real schemas (all four in
    `single_file` when given)."""
    import duckdb
    import pyarrow as pa

    from kvalitetsplatform.compute.store import ARROW_TYPES, TABLES
    from kvalitetsplatform.warehouse.schema import OWN_TABLES
    from kvalitetsplatform.warehouse.vault import VaultCipher

    def arrow(columns, rows):
        types = {"BLOB": pa.binary(), "TIMESTAMP": pa.timestamp("us"), **ARROW_TYPES}
        schema = pa.schema([(c, types[t]) for c, t in columns])
        return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema)

    results, flags = world_rows()
    cipher = VaultCipher(vault_key)
    vault = []
    for i, _y in enumerate(WORLD_PRACTICES):
        for j in range(1, 5):
            key = world_patient_key(i, j)
            pseudonym = f"{key:x}"
            cpr = f"0101{50 + i:02d}{1000 + j:04d}"
            vault.append(dict(patient_key=key, pseudonym=pseudonym, cpr_kind="cpr",
                              cpr_enc=cipher.encrypt("cpr", pseudonym, cpr),
                              name_enc=cipher.encrypt("name", pseudonym, WORLD_NAMES[j])))
    deliveries = [dict(id=f"{y}-2025-12", ydernummer=y, vendor="XMO", extract_ts=datetime(2025, 12, 31, 23),
                       period_start=date(2025, 12, 1), period_end=date(2025, 12, 31), status="loaded",
                       loaded_at=datetime(2026, 1, 1, 2), rows_loaded=1000 + i, rows_quarantined=i)
                  for i, y in enumerate(WORLD_PRACTICES)]
    files = (("results.duckdb", {"result": (TABLES["result"], results),
                                 "patient_flag": (TABLES["patient_flag"], flags)}),
             ("warehouse.duckdb", {"delivery": (OWN_TABLES["delivery"], deliveries),
                                   "identity_vault": (OWN_TABLES["identity_vault"], vault)}))
    if single_file:
        files = ((single_file, {**files[0][1], **files[1][1]}),)
    for file, tables in files:
        con = duckdb.connect(str(home / file))
        for name, (columns, rows) in tables.items():
            data = arrow(columns, rows)  # noqa: F841 - read by DuckDB's replacement scan below
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM data")
        con.close()


def build_world_warehouse(path, vault_key: bytes) -> None:
    """The whole world in one DuckDB file (results, flags, deliveries, vault): for layers whose fixtures add or
    replace tables in one file."""
    build_world(path.parent, vault_key, single_file=path.name)


def world_store(home):
    """A ResultStore on the world (as `ResultStore.from_settings` opens the real files)."""
    import ibis

    from kvalitetsplatform.access.results import ResultStore

    return ResultStore(lambda: ibis.duckdb.connect(str(home / "results.duckdb"), read_only=True),
                       lambda: ibis.duckdb.connect(str(home / "warehouse.duckdb"), read_only=True))


WORLD_VAULT_KEY = "world-vault-key-for-tests-only-0123456789abcdef"


@pytest.fixture(scope="session")
def world_home(tmp_path_factory):
    """A KP_HOME with the world's results store and warehouse, built once per test session (read-only)."""
    home = tmp_path_factory.mktemp("world")
    build_world(home, WORLD_VAULT_KEY.encode())
    return home

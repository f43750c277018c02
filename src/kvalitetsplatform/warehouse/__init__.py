"""The warehouse: a star schema in a DuckDB file under KP_HOME, read by every later layer through Ibis.

`connect(settings)` is the one way in for readers (an Ibis backend, read-only by default), so no layer above writes
engine-specific SQL. Ingestion is the engine-specific loader and opens the file for writing with
`open_for_loading(settings)`. The schema is derived from the contract (see `schema`).
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from kvalitetsplatform.settings import Settings
from kvalitetsplatform.terminology import code_system, code_systems
from kvalitetsplatform.warehouse.schema import (
    LOADED,
    OWN_TABLES,
    SCHEMA_VERSION,
    calendar_sql,
    table_ddl,
    view_ddl,
)


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or would be left inconsistent; the message says why in Danish."""


def _locked(e: Exception) -> bool:
    text = str(e).lower()
    return "lock" in text or "conflicting" in text


def connect(settings: Settings, read_only: bool = True):
    """An Ibis backend on the warehouse. Readers must use this, never the DuckDB file directly."""
    import ibis

    path = settings.warehouse_path
    if read_only and not path.exists():
        raise WarehouseError(f"Datavarehuset {path} findes ikke endnu. Indlæs først leverancer med `kp ingest`.")
    try:
        return ibis.duckdb.connect(database=str(path), read_only=read_only)
    except duckdb.IOException as e:
        if _locked(e):
            raise WarehouseError(f"Datavarehuset {path} er låst af en anden proces (fx en igangværende `kp ingest`); "
                                 "prøv igen, når den er færdig.") from None
        raise


def open_for_loading(settings: Settings, memory_limit: str = "12GB") -> duckdb.DuckDBPyConnection:
    """A read-write DuckDB connection with the schema in place. Only ingestion loads data."""
    path = settings.warehouse_path
    path.parent.mkdir(parents=True, exist_ok=True)
    spill = settings.home / "tmp"
    spill.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), config={"memory_limit": memory_limit, "temp_directory": str(spill)})
    except duckdb.IOException as e:
        if _locked(e):
            raise WarehouseError(f"Datavarehuset {path} er låst af en anden proces (fx en anden `kp ingest`); "
                                 "prøv igen, når den er færdig.") from None
        raise
    con.execute("SET enable_progress_bar = false")  # ingestion shows its own progress
    ensure_schema(con)
    return con


def _info(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM warehouse_info").fetchall())


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schema if absent and (re)load the terminology dimensions when the code system files changed."""
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'warehouse_info'").fetchone()[0]
    if exists:
        version = _info(con).get("schema_version")
        if version != str(SCHEMA_VERSION):
            raise WarehouseError(f"Datavarehuset har skemaversion {version}, programmet forventer {SCHEMA_VERSION}. "
                                 "Indlæs leverancerne igen i et nyt datavarehus (tom KP_HOME).")
    terminology = ",".join(code_system(n).id for n in code_systems())
    if exists and _info(con).get("terminology") == terminology:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        if not exists:
            for statement in table_ddl():
                con.execute(statement)
            con.execute(calendar_sql())
            con.execute("INSERT INTO warehouse_info VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        _load_terminology(con)
        con.execute("DELETE FROM warehouse_info WHERE key = 'terminology'")
        con.execute("INSERT INTO warehouse_info VALUES ('terminology', ?)", [terminology])
        for statement in view_ddl():
            con.execute(statement)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _load_terminology(con: duckdb.DuckDBPyConnection) -> None:
    """Fill `concept`, `region` and `municipality` from the terminology's code-system files."""
    rows: dict[str, list] = {name: [] for name, _ in OWN_TABLES["concept"]}
    for name in code_systems():
        cs = code_system(name)
        for concept in cs.concepts.values():
            low, high = concept.plausible_range
            for column, value in (("system", cs.name), ("version", cs.version), ("code", concept.code),
                                  ("label_da", concept.label_da), ("label_en", concept.label_en),
                                  ("unit", concept.unit), ("plausible_low", low), ("plausible_high", high),
                                  ("allowed_values", list(concept.allowed_values) or None)):
                rows[column].append(value)
    concepts = pa.table(rows)
    regions = code_system("region")
    region = pa.table({"region_code": list(regions.concepts),
                       "name": [c.label_da for c in regions.concepts.values()],
                       "name_en": [c.label_en for c in regions.concepts.values()]})
    kommuner = code_system("kommune").concepts.values()
    municipality = pa.table({
        "kommune_code": [c.code for c in kommuner], "name": [c.label_da for c in kommuner],
        "name_en": [c.label_en for c in kommuner], "region_code": [c.extra.get("region_code") for c in kommuner],
        "population_thousands": pa.array([int(c.extra["population_thousands"]) if c.extra.get("population_thousands")
                                          else None for c in kommuner], pa.int64())})
    for table, data in (("concept", concepts), ("region", region), ("municipality", municipality)):
        con.register("_terminology", data)
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _terminology")
        con.unregister("_terminology")



def loaded_table_names() -> dict[str, str]:
    """Contract table name → warehouse table name."""
    return {name: t.name for name, t in LOADED.items()}


def dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, default=str, sort_keys=True)

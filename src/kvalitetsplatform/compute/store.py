"""The results store: `results.duckdb` under KP_HOME, beside the warehouse.

A separate file, because the warehouse is written by ingestion (one writer at a time) and read by everyone: compute
attaches the warehouse read-only (`wh`), reads it through Ibis and writes only here, so an ingest and a compute
never fight over one file's write lock, and a broken compute can never damage loaded data. Readers open the store
read-only through `results(settings)`, which gives Ibis tables.

Tables (documented in docs/compute.md):
- `compute_run`: one row per run, with its provenance (package versions, codelist versions, deliveries).
- `computed`: which package was computed for which reference date, from which definition (its fingerprint).
- `indicator`: the definitions computed (title, kind, direction, standard), per indicator with the run that last
  computed it and a fingerprint of its definition.
- `practice_membership`: each practice's cluster and region on each reference date.
- `cell`: numerator and denominator per indicator, practice, reference date, municipality, age band and sex —
  everything the org levels add up from.
- `result`: the figures per indicator, reference date, org level and unit, and stratum.
- `patient_flag`: the worklist rows on the newest reference date.
- `compiled_plan`: the SQL of earlier evaluations, reused by later runs of the same kind (`compute.plans`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from kvalitetsplatform.settings import Settings
from kvalitetsplatform.warehouse import WarehouseError

SCHEMA_VERSION = 1
WAREHOUSE_CATALOG = "wh"

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "store_info": (("key", "VARCHAR"), ("value", "VARCHAR")),
    "compute_run": (
        ("run_id", "BIGINT"), ("started_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"),
        ("status", "VARCHAR"),  # running | done | failed
        ("mode", "VARCHAR"),  # full | incremental | unchanged
        ("end_date", "DATE"), ("periods", "INTEGER"), ("ref_dates", "VARCHAR"),  # JSON list
        ("packages", "VARCHAR"),  # JSON {package: version}
        ("codelists", "VARCHAR"),  # JSON {package: [codelist refs with versions]}
        ("deliveries", "VARCHAR"),  # JSON list: every loaded delivery the run's data came from
        ("new_deliveries", "VARCHAR"),  # JSON list: those not in the previous run (what triggered the work)
        ("recomputed", "VARCHAR"),  # JSON {package: {"dates": [...], "practices": n | "all"}}
        ("seconds", "DOUBLE"), ("error", "VARCHAR"),
    ),
    "indicator": (
        ("package", "VARCHAR"), ("package_version", "VARCHAR"), ("indicator", "VARCHAR"), ("kind", "VARCHAR"),
        ("measure", "VARCHAR"), ("direction", "VARCHAR"), ("direction_sign", "INTEGER"),
        ("standard_op", "VARCHAR"), ("standard_value", "DOUBLE"), ("standard_source", "VARCHAR"),
        ("per", "INTEGER"), ("per_year", "DOUBLE"), ("title_da", "VARCHAR"), ("title_en", "VARCHAR"),
        ("codelists", "VARCHAR"), ("fingerprint", "VARCHAR"), ("run_id", "BIGINT"),
    ),
    "computed": (("package", "VARCHAR"), ("ref_date", "DATE"), ("fingerprint", "VARCHAR"), ("run_id", "BIGINT")),
    "practice_membership": (
        ("ref_date", "DATE"), ("ydernummer", "VARCHAR"), ("cluster_id", "VARCHAR"), ("region_code", "VARCHAR"),
        ("practice_kommune_code", "VARCHAR"),
    ),
    "cell": (
        ("package", "VARCHAR"), ("indicator", "VARCHAR"), ("ref_date", "DATE"), ("ydernummer", "VARCHAR"),
        ("kommune_code", "VARCHAR"), ("age_band", "VARCHAR"), ("sex", "VARCHAR"), ("numerator", "DOUBLE"),
        ("denominator", "DOUBLE"), ("sum_squares", "DOUBLE"), ("patients", "BIGINT"), ("run_id", "BIGINT"),
    ),
    "result": (
        ("package", "VARCHAR"), ("indicator", "VARCHAR"), ("kind", "VARCHAR"), ("ref_date", "DATE"),
        ("level", "VARCHAR"),  # practice | cluster | region | municipality | national
        ("unit", "VARCHAR"),  # ydernummer | cluster_id | region_code | kommune_code | DK
        ("cluster_id", "VARCHAR"), ("region_code", "VARCHAR"),  # the practice's (practice rows), the cluster's
        ("stratum", "VARCHAR"),  # all | age | sex
        ("stratum_value", "VARCHAR"),  # all | 0-17 … 80+ | F | M
        ("numerator", "DOUBLE"), ("denominator", "DOUBLE"), ("patients", "BIGINT"), ("value", "DOUBLE"),
        ("ci_low", "DOUBLE"), ("ci_high", "DOUBLE"),
        ("percentile", "DOUBLE"),  # practices only: percent rank among all practices, 0–100
        ("cluster_rank", "INTEGER"), ("cluster_practices", "INTEGER"),  # practices only: 1 = best in the cluster
        ("target_met", "BOOLEAN"), ("run_id", "BIGINT"),
    ),
    "patient_flag": (
        ("package", "VARCHAR"), ("indicator", "VARCHAR"), ("ref_date", "DATE"), ("ydernummer", "VARCHAR"),
        ("patient_key", "BIGINT"), ("age", "BIGINT"), ("sex", "VARCHAR"), ("in_denominator", "BOOLEAN"),
        ("in_numerator", "BOOLEAN"), ("numerator", "BIGINT"), ("denominator", "BIGINT"), ("fact_date", "DATE"),
        ("fact_system", "VARCHAR"), ("fact_code", "VARCHAR"), ("fact_value", "DOUBLE"), ("fact_text", "VARCHAR"),
        ("fact_unit", "VARCHAR"), ("run_id", "BIGINT"),
    ),
    "compiled_plan": (("key", "VARCHAR"), ("statements", "VARCHAR"), ("created_run", "BIGINT"),
                      ("last_used", "BIGINT")),
}


ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(),
               "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_()}


class StoreError(RuntimeError):
    """The results store cannot be opened or is from another version; the message says why (Danish)."""


def results_path(settings: Settings) -> Path:
    return settings.home / "results.duckdb"


def _locked(e: Exception) -> bool:
    text = str(e).lower()
    return "lock" in text or "conflicting" in text


def ddl() -> list[str]:
    return [f'CREATE TABLE IF NOT EXISTS "{name}" (' + ", ".join(f'"{c}" {t}' for c, t in columns) + ")"
            for name, columns in TABLES.items()]


@dataclass
class Store:
    """An open results store: `con` is the Ibis backend (the warehouse attached as `wh` when writing)."""

    con: Any
    path: Path

    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        return self.con.con

    def execute(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.raw.execute(sql, params or []).fetchall()

    def table(self, name: str):
        return self.con.table(name)

    def close(self) -> None:
        self.con.disconnect()


def open_for_compute(settings: Settings, memory_limit: str = "12GB") -> Store:
    """The store opened for writing, with the warehouse attached read-only; creates the store if absent."""
    import ibis

    warehouse = settings.warehouse_path
    if not warehouse.exists():
        raise WarehouseError(f"Datavarehuset {warehouse} findes ikke endnu. Indlæs først leverancer med `kp ingest`.")
    path = results_path(settings)
    spill = settings.home / "tmp"
    spill.mkdir(parents=True, exist_ok=True)
    try:
        con = ibis.duckdb.connect(database=str(path), memory_limit=memory_limit, temp_directory=str(spill),
                                  preserve_insertion_order=False)
    except duckdb.IOException as e:
        if _locked(e):
            raise StoreError(f"Resultatdatabasen {path} er låst af en anden proces (fx en igangværende "
                             "`kp compute` eller webserveren); prøv igen, når den er færdig.") from None
        raise
    try:
        con.raw_sql(f"ATTACH '{warehouse}' AS {WAREHOUSE_CATALOG} (READ_ONLY)")
    except duckdb.IOException as e:
        con.disconnect()
        if _locked(e):
            raise StoreError(f"Datavarehuset {warehouse} er låst af en anden proces (fx en igangværende "
                             "`kp ingest`); prøv igen, når den er færdig.") from None
        raise
    store = Store(con, path)
    _ensure_schema(store)
    return store


def _ensure_schema(store: Store) -> None:
    for statement in ddl():
        store.execute(statement)
    found = dict(store.execute("SELECT key, value FROM store_info"))
    if "schema_version" not in found:
        store.execute("INSERT INTO store_info VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    elif found["schema_version"] != str(SCHEMA_VERSION):
        raise StoreError(f"Resultatdatabasen har skemaversion {found['schema_version']}, programmet forventer "
                         f"{SCHEMA_VERSION}. Slet {store.path} og kør `kp compute` igen.")


@dataclass
class Results:
    """Read-only Ibis tables of the results store (`result`, `patient_flag`, `cell`, `indicator`,
    `compute_run`, `practice_membership`)."""

    con: Any

    def __getattr__(self, name: str):
        if name in TABLES:
            return self.con.table(name)
        raise AttributeError(name)

    def latest_run(self) -> dict | None:
        runs = self.con.table("compute_run")
        done = runs.filter(runs.status == "done").order_by(runs.run_id.desc()).limit(1).to_pyarrow().to_pylist()
        return done[0] if done else None

    def close(self) -> None:
        self.con.disconnect()


def results(settings: Settings) -> Results:
    """The results for readers (web, reports, API): Ibis tables over the store opened read-only."""
    import ibis

    path = results_path(settings)
    if not path.exists():
        raise StoreError(f"Der er ingen resultater endnu ({path} findes ikke). Kør `kp compute`.")
    try:
        return Results(ibis.duckdb.connect(database=str(path), read_only=True))
    except duckdb.IOException as e:
        if _locked(e):
            raise StoreError(f"Resultatdatabasen {path} er låst, mens `kp compute` skriver; prøv igen om lidt.") \
                from None
        raise

"""A warehouse built from row dicts in any Ibis backend: for spec tests, test patients and the property test.

The rows are warehouse-shaped (as `indicators.testpatients.warehouse_tables` makes them); every loaded table of
the warehouse schema is created, empty when no rows are given, with the schema's column types, so an engine sees
exactly the tables and types ingestion would give it.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from kvalitetsplatform.indicators.engine import Warehouse
from kvalitetsplatform.warehouse.schema import LOADED

ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "DATE": pa.date32(),
               "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_()}


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a loaded warehouse table (`listing`, `lab_result`, …)."""
    loaded = next(t for t in LOADED.values() if t.name == table)
    return pa.schema([(c.name, ARROW_TYPES[c.sql_type]) for c in loaded.columns])


def warehouse_tables() -> list[str]:
    return [t.name for t in LOADED.values()]


def load_rows(con: Any, tables: dict[str, list[dict[str, Any]]], prefix: str = "") -> Warehouse:
    """Create every warehouse table in `con` from `tables` ({name: [row, …]}); returns the Warehouse to read.
    Unknown table names or columns are an error (a typo would otherwise silently test nothing)."""
    unknown = set(tables) - set(warehouse_tables())
    if unknown:
        raise ValueError(f"ukendte tabeller: {sorted(unknown)}")
    for name in warehouse_tables():
        schema = arrow_schema(name)
        rows = tables.get(name, [])
        for i, row in enumerate(rows):
            extra = set(row) - set(schema.names)
            if extra:
                raise ValueError(f"{name} række {i + 1}: ukendte felter {sorted(extra)}")
        data = pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema)
        if con.name == "duckdb":
            con.create_table(prefix + name, ibis.memtable(data), overwrite=True)
        else:  # Spark: a temporary view of the rows (no files written)
            from pyspark.sql import SparkSession

            SparkSession.getActiveSession().createDataFrame(data).createOrReplaceTempView(prefix + name)
    return Warehouse(con) if not prefix else _Prefixed(con, prefix)


class _Prefixed(Warehouse):
    def __init__(self, con: Any, prefix: str):
        super().__init__(con)
        self.prefix = prefix

    def table(self, name: str):
        return self.con.table(self.prefix + name)

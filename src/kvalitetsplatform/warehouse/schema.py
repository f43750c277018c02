"""The warehouse's star schema, derived from the extract contract.

Every contract table becomes one warehouse table whose columns are the contract's fields minus those that identify a
person (CPR, name), plus the delivering practice (`ydernummer`), the patient's pseudonymous `patient_key`, the
`delivery_id` the row came from, and a `<name>_date` beside every `<name>_ts` timestamp (most indicators count by
day). Nothing here re-declares a field: change the contract and the schema follows.

Two kinds of loaded table:
- *facts* (contact, diagnosis, …, survey_response) are events within the delivery's period and are appended per
  delivery;
- *state* tables (practice_period, clinician, listing) describe the practice and its list as of the extract; a row
  is identified by the practice and the contract's natural key, and the newest extract wins.

Beside them: `delivery` (the catalogue), `quarantine`, `identity_vault`, the dimensions `region`, `municipality`,
`calendar` and `concept` (all code systems), and the views `practice`, `cluster` and `patient`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kvalitetsplatform.contract import TABLES, Table

SCHEMA_VERSION = 1

SQL_TYPES = {"string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "timestamp": "TIMESTAMP",
             "bool": "BOOLEAN"}

# Contract tables whose warehouse name says better what a row is.
RENAMED = {"patient": "listing", "practice": "practice_period"}
STATE_TABLES = ("practice", "clinician", "patient")


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    source: str | None = None  # the contract field it is loaded from; None for columns ingestion adds


@dataclass(frozen=True)
class LoadedTable:
    """A warehouse table loaded from one contract table."""

    name: str
    contract: Table
    kind: Literal["fact", "state"]
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # identifies a row within a practice (state tables: the newest extract's row wins)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def derived_date(field_name: str) -> str:
    """`contact_ts` → `contact_date`."""
    return field_name.removesuffix("_ts") + "_date"


def _loaded_table(table: Table) -> LoadedTable:
    columns: list[Column] = []
    if "ydernummer" not in table.columns:
        columns.append(Column("ydernummer", "VARCHAR"))
    if table.per_patient:
        columns.append(Column("patient_key", "BIGINT"))
    for f in table.fields:
        if f.identifies_person:
            continue
        columns.append(Column(f.name, SQL_TYPES[f.type], f.name))
        if f.type == "timestamp" and f.name.endswith("_ts"):
            columns.append(Column(derived_date(f.name), "DATE"))
    columns.append(Column("delivery_id", "VARCHAR"))
    key = tuple("patient_key" if k == "cpr" else k for k in table.key)
    if "ydernummer" not in key:
        key = ("ydernummer", *key)
    kind = "state" if table.name in STATE_TABLES else "fact"
    return LoadedTable(RENAMED.get(table.name, table.name), table, kind, tuple(columns), key)


LOADED: dict[str, LoadedTable] = {name: _loaded_table(t) for name, t in TABLES.items()}  # by contract table name

# Tables of the warehouse itself (not loaded from a contract table).
OWN_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "warehouse_info": (("key", "VARCHAR"), ("value", "VARCHAR")),
    "delivery": (
        ("id", "VARCHAR"), ("ydernummer", "VARCHAR"), ("vendor", "VARCHAR"), ("extract_ts", "TIMESTAMP"),
        ("period_start", "DATE"), ("period_end", "DATE"), ("contract_version", "VARCHAR"),
        ("status", "VARCHAR"),  # loaded | replaced | rejected
        ("loaded_at", "TIMESTAMP"), ("replaced_by", "VARCHAR"), ("source", "VARCHAR"),
        ("rows_received", "BIGINT"), ("rows_loaded", "BIGINT"), ("rows_quarantined", "BIGINT"),
        ("row_counts", "VARCHAR"),  # JSON: {table: {received, loaded, quarantined}}
        ("files", "VARCHAR"),  # JSON: the manifest's file list with checksums
        ("quality", "VARCHAR"),  # JSON: the data-quality report
        ("error", "VARCHAR"),  # why a rejected delivery was rejected
    ),
    "quarantine": (
        ("delivery_id", "VARCHAR"), ("file", "VARCHAR"), ("table_name", "VARCHAR"), ("row_number", "BIGINT"),
        ("field", "VARCHAR"), ("value", "VARCHAR"), ("rule", "VARCHAR"), ("reason", "VARCHAR"),
    ),
    "identity_vault": (
        ("patient_key", "BIGINT"), ("pseudonym", "VARCHAR"), ("cpr_kind", "VARCHAR"), ("cpr_enc", "BLOB"),
        ("name_enc", "BLOB"),
    ),  # patient_key is unique without an index: the loader adds only unknown keys, one worker at a time (an
    # index costs a lookup per added person and is rewritten whole at every checkpoint: 1.6 s for 5.9 M keys)
    "region": (("region_code", "VARCHAR"), ("name", "VARCHAR"), ("name_en", "VARCHAR")),
    "municipality": (("kommune_code", "VARCHAR"), ("name", "VARCHAR"), ("name_en", "VARCHAR"),
                     ("region_code", "VARCHAR"), ("population_thousands", "BIGINT")),
    "concept": (("system", "VARCHAR"), ("version", "VARCHAR"), ("code", "VARCHAR"), ("label_da", "VARCHAR"),
                ("label_en", "VARCHAR"), ("unit", "VARCHAR"), ("plausible_low", "DOUBLE"),
                ("plausible_high", "DOUBLE"), ("allowed_values", "VARCHAR[]")),
    "calendar": (
        ("date", "DATE"), ("year", "INTEGER"), ("quarter", "INTEGER"), ("month", "INTEGER"), ("day", "INTEGER"),
        ("iso_year", "INTEGER"), ("iso_week", "INTEGER"), ("weekday", "INTEGER"), ("is_weekend", "BOOLEAN"),
        ("month_start", "DATE"), ("month_end", "DATE"), ("month_name_da", "VARCHAR"),
    ),
}

MONTHS_DA = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
             "november", "december")
CALENDAR_RANGE = ("1900-01-01", "2050-12-31")

VIEWS = {
    # The practice as it is now: its newest period.
    "practice": "SELECT * FROM practice_period QUALIFY row_number() OVER (PARTITION BY ydernummer "
                "ORDER BY valid_from DESC) = 1",
    # A cluster's name and region as its newest practice period states them.
    "cluster": "SELECT cluster_id, arg_max(cluster_name, valid_from) AS name, "
               "arg_max(region_code, valid_from) AS region_code FROM practice_period GROUP BY cluster_id",
    # One row per person: birth date and sex from the newest listing, the death date if any listing has one.
    "patient": "SELECT patient_key, arg_max(birth_date, list_start) AS birth_date, arg_max(sex, list_start) AS sex, "
               "max(death_date) AS death_date FROM listing GROUP BY patient_key",
}


def table_ddl() -> list[str]:
    """CREATE TABLE statements for every warehouse table."""
    statements = []
    for name, columns in OWN_TABLES.items():
        cols = ", ".join(f'"{c}" {t}' for c, t in columns)
        statements.append(f'CREATE TABLE IF NOT EXISTS "{name}" ({cols})')
    for loaded in LOADED.values():
        cols = ", ".join(f'"{c.name}" {c.sql_type}' for c in loaded.columns)
        statements.append(f'CREATE TABLE IF NOT EXISTS "{loaded.name}" ({cols})')
    return statements


def view_ddl() -> list[str]:
    return [f'CREATE OR REPLACE VIEW "{name}" AS {sql}' for name, sql in VIEWS.items()]


def calendar_sql() -> str:
    months = ", ".join(f"'{m}'" for m in MONTHS_DA)
    first, last = CALENDAR_RANGE
    return (
        "INSERT INTO calendar SELECT d, year(d), quarter(d), month(d), day(d), isoyear(d), week(d), isodow(d), "
        "isodow(d) >= 6, date_trunc('month', d)::DATE, last_day(d), "
        f"[{months}][month(d)] FROM (SELECT unnest(generate_series(DATE '{first}', DATE '{last}', "
        "INTERVAL 1 DAY))::DATE AS d)"
    )


def all_table_names() -> list[str]:
    return [*OWN_TABLES, *(t.name for t in LOADED.values())]

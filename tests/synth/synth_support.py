"""Helpers for the synth tests: read a synthesised folder of deliveries with DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.synth.generator import default_end_date

DEMO_SEED = 11


class Extract:
    """A synthesised folder of deliveries, queryable with DuckDB: one view per contract table over all deliveries,
    with `ydernummer`, `delivery_id` and `monthly` (the month-36 delivery) added."""

    def __init__(self, folder: Path, report=None, fmt: str = "parquet"):
        self.folder, self.report = folder, report
        self.con = duckdb.connect()
        last = (report.end_date if report else default_end_date()).strftime("%Y%m%dT")
        for name in TABLES:
            reader = "read_parquet" if fmt == "parquet" else "read_csv_auto"
            self.con.execute(f"""
                CREATE VIEW {name} AS SELECT *, split_part(filename, '/', -3) AS ydernummer,
                       split_part(filename, '/', -2) AS delivery_id,
                       split_part(filename, '/', -2) LIKE '%-{last}%' AS monthly
                FROM {reader}('{folder}/*/*/{name}.{fmt}', filename=true)""")

    def rows(self, sql: str, *params) -> list[tuple]:
        return self.con.execute(sql, params).fetchall()

    def one(self, sql: str, *params):
        return self.con.execute(sql, params).fetchone()[0]


from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.synth.generator import Options, default_end_date, synthesise

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


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Extract:
    """The demo scale as `kp synth --scale demo` writes it (one cluster, 20,000 people)."""
    out = tmp_path_factory.mktemp("synth") / "demo"
    report = synthesise(Options(out=out, scale="demo", seed=DEMO_SEED, workers=2))
    return Extract(out, report)

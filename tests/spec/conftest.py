"""Engine fixtures for the spec tests: DuckDB and PySpark (local mode), one Spark session for the whole run.

Spark tests carry the `spark` marker so they can be selected (`-m spark`) or, locally, left out
(`-m "not spark"`); CI runs them all.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import ibis
import pytest

ENGINES = ("duckdb", pytest.param("spark", marks=pytest.mark.spark))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spark: runs on PySpark in local mode (slow to start; CI runs it)")


@pytest.fixture(scope="session")
def spark_session():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    folder = tempfile.mkdtemp(prefix="kp-spark-")
    session = (SparkSession.builder.master("local[2]").appName("kp-spec")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.warehouse.dir", os.path.join(folder, "warehouse"))
               .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.sql.adaptive.enabled", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


class Backends:
    """One backend per engine for the session, created on first use."""

    def __init__(self, request: pytest.FixtureRequest):
        self.request = request
        self.cons: dict[str, Any] = {}
        self.runs: dict[tuple[str, str], Any] = {}

    def con(self, engine: str) -> Any:
        if engine not in self.cons:
            if engine == "duckdb":
                self.cons[engine] = ibis.duckdb.connect()
            else:
                self.cons[engine] = ibis.pyspark.connect(self.request.getfixturevalue("spark_session"))
        return self.cons[engine]

    def cached(self, key: tuple[str, str], make):
        """A result computed once per (module, engine)."""
        if key not in self.runs:
            self.runs[key] = make()
        return self.runs[key]


@pytest.fixture(scope="session")
def backends(request: pytest.FixtureRequest) -> Backends:
    return Backends(request)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def spec_outcomes(backends: Backends, request: pytest.FixtureRequest):
    """Evaluate a module's SPECS on an engine (once) and return {spec name: Outcome}."""
    from .spec_support import evaluate_specs

    def get(engine: str) -> dict:
        module = request.module
        prefix = module.__name__.rsplit(".", 1)[-1].removeprefix("test_") + "_"
        return backends.cached((module.__name__, engine),
                               lambda: evaluate_specs(backends.con(engine), module.SPECS, prefix))
    return get

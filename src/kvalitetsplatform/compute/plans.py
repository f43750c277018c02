"""Kept plans: the SQL of an evaluation, reused by later runs of the same kind.

Building and compiling the Ibis expressions of a month's run costs far more than DuckDB spends running them (a
month's incremental run on the demo: about 7 of 60 s in DuckDB), and they come out the same every time for the
same definitions: the dates and practices reach the SQL only through the evaluation's parameter tables (see
`indicators.engine`). So a run keeps the statements of each evaluation in the results store (`compiled_plan`),
keyed by everything they depend on — the engine's code, the packages' definitions, the number of dates, whether
practices are limited, what is staged — and a later run of the same kind runs the kept SQL on its own parameter
tables instead of building it again. Plans no run has used for a while are dropped.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Iterable

import duckdb
import ibis

from kvalitetsplatform.compute.store import Store
from kvalitetsplatform.indicators import engine
from kvalitetsplatform.indicators import model as m

# A plan not used by the newest this many runs is dropped.
KEEP_RUNS = 12


@cache
def _code_version() -> str:
    """Changes whenever the code that writes the SQL changes (or the libraries that compile and run it)."""
    from kvalitetsplatform.compute import run

    digest = hashlib.sha256(f"{ibis.__version__} {duckdb.__version__}".encode())
    for module in (engine, m, run):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def key(packages: Iterable[tuple[str, str]], dates: int, scoped: bool, cells: bool, flags: bool,
        warehouse: object) -> str:
    """The plan's key: the packages as (id, definition fingerprint), in order, the number of reference dates,
    whether the practices are limited, whether cells and flags are staged, and where the warehouse is read."""
    what = {"code": _code_version(), "packages": list(packages), "dates": dates, "scoped": scoped,
            "cells": cells, "flags": flags, "warehouse": repr(warehouse)}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def find(store: Store, plan_key: str, run_id: int) -> engine.Plan | None:
    rows = store.execute("SELECT statements FROM compiled_plan WHERE key = ?", [plan_key])
    if not rows:
        return None
    store.execute("UPDATE compiled_plan SET last_used = ? WHERE key = ?", [run_id, plan_key])
    return engine.Plan.from_json(json.loads(rows[0][0]))


def save(store: Store, plan_key: str, plan: engine.Plan, run_id: int) -> None:
    drop(store, plan_key)
    store.execute("INSERT INTO compiled_plan VALUES (?, ?, ?, ?)",
                  [plan_key, json.dumps(plan.as_json(), ensure_ascii=False), run_id, run_id])


def drop(store: Store, plan_key: str) -> None:
    store.execute("DELETE FROM compiled_plan WHERE key = ?", [plan_key])


def forget(store: Store, run_id: int) -> None:
    store.execute("DELETE FROM compiled_plan WHERE last_used <= ?", [run_id - KEEP_RUNS])

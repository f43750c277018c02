"""Wiring for the commands: the app DB, the gate (`access.gate.gate_for`, as the API makes it, so letters and
suppression match the web), the library and the compute run the results come from."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from kvalitetsplatform.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    gate: object
    library: object


def open_services(settings: Settings) -> Services:
    from kvalitetsplatform.access.db import open_appdb
    from kvalitetsplatform.access.gate import gate_for
    from kvalitetsplatform.indicators import load_catalogue
    from kvalitetsplatform.reports.library import Library

    engine = open_appdb(settings)
    catalogue = load_catalogue()
    gate = gate_for(settings, engine, catalogue)
    return Services(settings, engine, gate, Library(engine, settings.home, gate, catalogue))


def provenance(settings: Settings) -> dict | None:
    """The newest finished compute run (package versions, codelists, deliveries), or None before the first."""
    from kvalitetsplatform.compute.store import StoreError, results

    try:
        store = results(settings)
    except StoreError:
        return None
    try:
        run = store.latest_run()
    finally:
        store.close()
    if run is None:
        return None
    for key in ("packages", "codelists", "deliveries", "new_deliveries", "ref_dates"):
        if isinstance(run.get(key), str):
            run[key] = json.loads(run[key])
    return run

"""A small results-shaped world (dementia package, 3 clusters, 3 months, one tiny practice) written once per
session in the real store schemas; each test gets the organisations in its own app DB and a real gate."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from kvalitetsplatform.access.db import make_engine
from kvalitetsplatform.access.orgs import replace_organisation
from kvalitetsplatform.access.testing import _sqlite_template, appdb_engine, appdb_url  # noqa: F401
from kvalitetsplatform.indicators import load_catalogue
from kvalitetsplatform.reports.testing import World, build_world
from kvalitetsplatform.settings import load_settings

PACKAGE = "dementia"


@dataclass
class Env:
    home: Path
    settings: object
    engine: object
    services: object
    world: World

    @property
    def library(self):
        return self.services.library

    @property
    def gate(self):
        return self.services.gate


@pytest.fixture(scope="session")
def world_files(tmp_path_factory, _sqlite_template):  # noqa: F811
    import shutil

    home = tmp_path_factory.mktemp("reports-world")
    shutil.copyfile(_sqlite_template, home / "orgs.sqlite")
    engine = make_engine(f"sqlite:///{home / 'orgs.sqlite'}")
    world = build_world(home, engine, load_catalogue().package(PACKAGE), clusters=3, practices_per_cluster=5,
                        months=3, tiny=True)
    engine.dispose()
    return home, world


def make_env(world_files, home: Path, url: str) -> Env:
    import shutil

    from kvalitetsplatform.reports.service import open_services

    source, world = world_files
    for name in ("results.duckdb", "warehouse.duckdb"):
        shutil.copyfile(source / name, home / name)
    settings = load_settings({"KP_HOME": str(home), "KP_DATABASE_URL": url})
    services = open_services(settings)
    replace_organisation(services.engine, world.units, world.memberships)
    return Env(home, settings, services.engine, services, world)


@pytest.fixture
def env(world_files, tmp_path, appdb_url) -> Env:  # noqa: F811
    e = make_env(world_files, tmp_path, appdb_url)
    yield e
    e.engine.dispose()


@pytest.fixture(scope="module")
def shared_env(world_files, tmp_path_factory, _sqlite_template) -> Env:  # noqa: F811
    """One SQLite env per module, for tests that only read reports (the gate's cache is shared)."""
    import shutil

    home = tmp_path_factory.mktemp("reports-shared")
    shutil.copyfile(_sqlite_template, home / "kp.sqlite")
    e = make_env(world_files, home, f"sqlite:///{home / 'kp.sqlite'}")
    yield e
    e.engine.dispose()

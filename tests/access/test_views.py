"""Protected views kept on disk: reused across gates, never after the data changed; the batched and own reads give
exactly what the single calls give; `kp protect` fills the store with the views the gate would protect itself."""

import shutil
from dataclasses import replace
from datetime import date

import duckdb
import ibis
import pytest
from typer.testing import CliRunner

from kvalitetsplatform.access.db import make_engine
from kvalitetsplatform.access.gate import AccessDenied, Gate
from kvalitetsplatform.access.principal import load_principal
from kvalitetsplatform.access.results import ResultStore
from kvalitetsplatform.access.testing import WORLD_INDICATOR
from kvalitetsplatform.access.views import ViewStore

from .conftest import seed_world

pytestmark = pytest.mark.parametrize("appdb_url", ["sqlite"], indirect=True)

DEC, JUN = date(2025, 12, 31), date(2025, 6, 30)
GRANTS = {"gp1": [("gp", "000001")], "coord": [("cluster_coordinator", "K1")],
          "region": [("regional_quality_unit", "1082")], "public": [("public_viewer", None)],
          "multi": [("gp", "000004"), ("public_viewer", None)]}


@pytest.fixture
def world(appdb_engine, world_home, tmp_path):
    """The access world over a private copy of its results store, whose version the test turns."""
    shutil.copyfile(world_home / "results.duckdb", tmp_path / "results.duckdb")
    audit, ids = seed_world(appdb_engine, GRANTS)
    version = ["1"]
    store = ResultStore(lambda: ibis.duckdb.connect(str(tmp_path / "results.duckdb"), read_only=True),
                        version=lambda: version[0])

    def gate(views: ViewStore | None = None) -> Gate:
        return Gate(appdb_engine, store, audit, b"l" * 32, views=views)

    def principal(name):
        with appdb_engine.connect() as c:
            return load_principal(c, ids[name])

    return gate, principal, version, tmp_path


def set_rate(path, practice: str, value: float) -> None:
    con = duckdb.connect(str(path / "results.duckdb"))
    con.execute("UPDATE result SET value = ? WHERE indicator = ? AND level = 'practice' AND unit = ? "
                "AND stratum = 'all' AND ref_date = ?", [value, WORLD_INDICATOR, practice, DEC])
    con.close()


def own_rate(gate: Gate, principal) -> float:
    rows = gate.results(principal, WORLD_INDICATOR, DEC, org_level="practice", stratum_dim="total", record=False)
    return next(r["rate"] for r in rows if r["own"])


def test_a_kept_view_is_reused_by_another_gate_and_not_after_the_results_changed(world):
    gate, principal, version, path = world
    views = ViewStore(path / "protected_views.sqlite")
    gp1 = principal("gp1")
    before = own_rate(gate(views), gp1)
    assert views.count("1") == 1
    set_rate(path, "000001", 0.125)  # the data change; the version (still "1") says it did not
    again = gate(ViewStore(path / "protected_views.sqlite"))  # a restarted server
    assert own_rate(again, gp1) == before != 0.125  # served from the kept view, nothing protected again
    version[0] = "2"  # a compute run
    assert own_rate(again, gp1) == 0.125
    assert views.count("2") == 1 and views.prune("2") == 1 and views.count() == 1


def test_a_kept_view_is_never_served_to_another_scope(world):
    gate, principal, _, path = world
    views = ViewStore(path / "protected_views.sqlite")
    first = gate(views)
    for name in GRANTS:
        first.results(principal(name), WORLD_INDICATOR, DEC, record=False)
    assert views.count() == 2 * len(GRANTS)  # each whole view, and its totals made on the way
    fresh = gate()  # nothing kept: protects on demand
    for name in GRANTS:
        p = principal(name)
        assert gate(ViewStore(path / "protected_views.sqlite")).results(p, WORLD_INDICATOR, DEC, record=False) \
            == fresh.results(p, WORLD_INDICATOR, DEC, record=False)


@pytest.mark.parametrize("filters", [{}, {"org_level": "practice"}, {"stratum_dim": "total"},
                                     {"org_level": "cluster", "org_id": "K1", "stratum_dim": "sex"}])
def test_the_batched_call_gives_exactly_the_single_calls(world, filters):
    gate, principal, _, _ = world
    for name in GRANTS:
        p = principal(name)
        many = gate().results_many(p, [WORLD_INDICATOR, "NO-SUCH"], [JUN, DEC], **filters)
        single = gate()
        assert many == {(i, d): single.results(p, i, d, record=False, **filters)
                        for i in (WORLD_INDICATOR, "NO-SUCH") for d in (JUN, DEC)}


def test_a_request_for_totals_gets_the_totals_of_the_whole_view_without_protecting_the_strata(world):
    gate, principal, _, _ = world
    for name in GRANTS:
        p = principal(name)
        alone = gate()  # asked for totals first: protects the totals only
        totals = alone.results_many(p, [WORLD_INDICATOR], [JUN, DEC], stratum_dim="total")
        assert alone.views.count() == 2
        whole = gate().results_many(p, [WORLD_INDICATOR], [JUN, DEC])
        assert totals == {pair: [r for r in rows if r["stratum_dim"] == "total"] for pair, rows in whole.items()}
        assert any(r["stratum_dim"] != "total" for rows in whole.values() for r in rows)


def test_own_figures_read_raw_are_the_own_rows_of_the_protected_view(world):
    gate, principal, _, _ = world
    gp1 = principal("gp1")
    own = gate().own_results(gp1, "000001", [WORLD_INDICATOR], [JUN, DEC])
    for day in (JUN, DEC):
        protected = gate().results(gp1, WORLD_INDICATOR, day, org_level="practice", org_id="000001", record=False)
        assert own[(WORLD_INDICATOR, day)] == protected and protected and all(r["own"] for r in protected)
    with pytest.raises(AccessDenied):
        gate().own_results(gp1, "000002", [WORLD_INDICATOR], [DEC])
    with pytest.raises(AccessDenied):
        gate().own_results(principal("region"), "000001", [WORLD_INDICATOR], [DEC])


def test_kp_protect_fills_the_store_with_the_views_the_gate_protects_on_demand(world, appdb_url, monkeypatch):
    from kvalitetsplatform.access.gate import gate_for
    from kvalitetsplatform.cli.main import app
    from kvalitetsplatform.settings import load_settings

    _, principal, _, path = world
    monkeypatch.setenv("KP_HOME", str(path))
    monkeypatch.setenv("KP_DATABASE_URL", appdb_url)
    result = CliRunner().invoke(app, ["protect", "--all-dates", "--workers", "2", "--json"])
    assert result.exit_code == 0, result.output
    settings = load_settings()
    views = ViewStore(path / "protected_views.sqlite")
    kept = replace(gate_for(settings, make_engine(appdb_url)), views=views)
    on_demand = replace(gate_for(settings, make_engine(appdb_url)), views=ViewStore(None))
    count = views.count()
    for name in GRANTS:
        p = principal(name)
        for day in (JUN, DEC):
            assert kept.results(p, WORLD_INDICATOR, day, record=False) == \
                on_demand.results(p, WORLD_INDICATOR, day, record=False)
    assert views.count() == count > len(GRANTS)  # every view was already there; users plus every practice's GP

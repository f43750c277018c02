"""`kp ingest` and `kp deliveries` as a user runs them."""

from __future__ import annotations

import json

import pytest
from .conftest import KEYS
from .delivery_builder import build_rows, write
from typer.testing import CliRunner

from kvalitetsplatform.cli.main import app


@pytest.fixture
def kp(settings, monkeypatch):
    for name, value in {"KP_HOME": str(settings.home), **KEYS}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_ingest_then_list_and_show_deliveries(tmp_path, kp):
    rows = build_rows()
    rows["contact"][0]["channel"] = "fax"
    write(tmp_path / "deliveries" / "012345" / "d1", rows)
    run = kp("ingest", tmp_path / "deliveries", "--json")
    assert run.exit_code == 0, run.output
    [loaded] = json.loads(run.stdout)
    assert (loaded["status"], loaded["rows_quarantined"]) == ("loaded", 1)

    again = kp("ingest", tmp_path / "deliveries")
    assert again.exit_code == 0 and "uændret" in again.stdout

    listing = json.loads(kp("deliveries", "--json").stdout)
    assert [(d["id"], d["status"], d["rows_quarantined"]) for d in listing] == \
        [("012345-20251201T020000", "loaded", 1)]
    assert listing[0]["quality"]["conformance_pct"] < 100

    shown = json.loads(kp("deliveries", "show", "012345-20251201T020000", "--json").stdout)
    assert shown["row_counts"]["contact"] == {"received": 24, "loaded": 23, "quarantined": 1}
    assert shown["quarantine"]["by_rule"] == [{"table_name": "contact", "field": "channel", "rule": "choice",
                                               "rows": 1}]
    human = kp("deliveries", "show", "012345-20251201T020000")
    assert human.exit_code == 0
    assert "Datakvalitet" in human.stdout and "fax" in human.stdout and "contact.parquet" in human.stdout

    table = kp("deliveries")
    assert table.exit_code == 0 and "indlæst" in table.stdout


def test_unknown_delivery_and_missing_warehouse_are_clear(tmp_path, kp):
    missing = kp("deliveries")
    assert missing.exit_code == 2 and "kp ingest" in missing.output
    write(tmp_path / "d", build_rows())
    kp("ingest", tmp_path / "d")
    unknown = kp("deliveries", "show", "findes-ikke")
    assert unknown.exit_code == 1 and "findes ikke" in unknown.output


def test_ingest_of_a_path_that_does_not_exist(tmp_path, kp):
    run = kp("ingest", tmp_path / "nowhere")
    assert run.exit_code == 2 and "findes ikke" in run.output

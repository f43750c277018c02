"""The warehouse schema follows the contract, reaches readers through Ibis, and never holds a person's identity."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest


from tests.ingest.conftest import ingest_one, make_settings
from tests.ingest.delivery_builder import build_rows, write

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.terminology import code_system
from kvalitetsplatform.warehouse import WarehouseError, connect, open_for_loading
from kvalitetsplatform.warehouse.schema import LOADED, SQL_TYPES


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "home")


def _columns(con, table):
    return dict(con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                            [table]).fetchall())


def test_every_contract_field_has_its_column_and_no_identifying_field_does(settings):
    open_for_loading(settings).close()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    for name, table in TABLES.items():
        columns = _columns(con, LOADED[name].name)
        for f in table.fields:
            if f.identifies_person:
                assert f.name not in columns, (name, f.name)
            else:
                assert columns[f.name] == SQL_TYPES[f.type], (name, f.name)
        assert columns["ydernummer"] == "VARCHAR" and columns["delivery_id"] == "VARCHAR"
        assert ("patient_key" in columns) == table.per_patient
    for fact, derived in (("contact", "contact_date"), ("lab_result", "sampled_date"),
                          ("measurement", "measured_date"), ("journal_note", "note_date")):
        assert _columns(con, fact)[derived] == "DATE"
    assert set(_columns(con, "listing")) == {"patient_key", "ydernummer", "list_start", "list_end", "birth_date",
                                             "sex", "kommune_code", "sikringsgruppe", "death_date", "delivery_id"}
    con.close()


def test_dimensions_come_from_the_terminology(settings):
    open_for_loading(settings).close()
    backend = connect(settings)
    regions = backend.table("region").to_pyarrow().to_pylist()
    assert {r["region_code"] for r in regions} == set(code_system("region").concepts)
    municipality = backend.table("municipality")
    assert municipality.count().execute() == len(code_system("kommune").concepts)
    concept = backend.table("concept")
    hba1c = concept.filter(concept.code == "NPU27300").to_pyarrow().to_pylist()[0]
    assert (hba1c["unit"], hba1c["plausible_low"], hba1c["plausible_high"]) == ("mmol/mol", 15.0, 200.0)
    calendar = backend.table("calendar")
    day = calendar.filter(calendar.date == "2025-11-03").to_pyarrow().to_pylist()[0]
    assert (day["weekday"], day["iso_week"], day["month_name_da"], str(day["month_end"])) == \
        (1, 45, "november", "2025-11-30")
    backend.disconnect()


def test_readers_get_ibis_and_the_views_answer(tmp_path, settings):
    rows = build_rows()
    write(tmp_path / "d", rows)
    ingest_one(tmp_path / "d", settings)
    backend = connect(settings)
    patient = backend.table("patient")
    assert patient.count().execute() == len(rows["patient"])
    assert patient.filter(patient.death_date.notnull()).count().execute() == 1
    practice = backend.table("practice").to_pyarrow().to_pylist()
    assert [(p["ydernummer"], p["cluster_id"]) for p in practice] == [("012345", "K082-07")]
    contacts = backend.table("contact")
    per_day = contacts.group_by("contact_date").aggregate(n=contacts.count()).execute()
    assert per_day["n"].sum() == len(rows["contact"])
    with pytest.raises(duckdb.InvalidInputException, match="read-only"):
        backend.raw_sql("DELETE FROM contact")
    backend.disconnect()


def test_a_missing_warehouse_gives_a_clear_message(tmp_path):
    with pytest.raises(WarehouseError, match="kp ingest"):
        connect(make_settings(tmp_path / "empty"))


def test_a_warehouse_held_by_a_loader_is_reported_as_locked(tmp_path, settings):
    import subprocess

    open_for_loading(settings).close()
    script = (f"import duckdb, time; c = duckdb.connect({str(settings.warehouse_path)!r}); "
              "print('ok', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(WarehouseError, match="låst"):
            connect(settings)
    finally:
        holder.kill()
        holder.wait()

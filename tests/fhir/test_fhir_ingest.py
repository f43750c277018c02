"""`kp ingest` given FHIR: converted to a delivery (the practice's master data from the warehouse), then loaded like
any other; an unreadable FHIR file stops before anything is loaded."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
from typer.testing import CliRunner

from .fhir_support import KEYS
from kvalitetsplatform.cli.main import app
from kvalitetsplatform.contract.delivery import write_delivery
from kvalitetsplatform.fhir.delivery import to_table
from kvalitetsplatform.fhir.systems import EXT
from .test_fhir_roundtrip import ONE_OF_EACH, YDER


def ingest(paths, home):
    result = CliRunner().invoke(app, ["ingest", *map(str, paths), "--json"], env={"KP_HOME": str(home), **KEYS})
    return result, (json.loads(result.stdout) if result.exit_code in (0, 1) else None)


def rows(home, sql):
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def fhir_message() -> dict:
    """What a practice's system might send: its Organization (ydernummer, SOR, no master data), a patient with the
    platform's listing, one HbA1c and one diagnosis."""
    gp = {"reference": "Organization/praksis", "extension": [
        {"url": EXT["listing-period"], "valuePeriod": {"start": "2015-03-01"}},
        {"url": EXT["sikringsgruppe"], "valueInteger": 1}]}
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (
        {"resourceType": "Organization", "id": "praksis", "name": "Lægerne i Vestergade",
         "identifier": [{"system": "urn:oid:1.2.208.176.1.4", "value": YDER}]},
        {"resourceType": "Patient", "id": "p1", "identifier": [{"system": "urn:oid:1.2.208.176.1.2",
                                                                "value": "0707614285"}],
         "name": [{"given": ["Karen"], "family": "Hansen"}], "gender": "female", "birthDate": "1961-07-07",
         "address": [{"extension": [{"url": "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes",
                                     "valueCodeableConcept": {"coding": [{"code": "0751"}]}}]}],
         "generalPractitioner": [gp]},
        {"resourceType": "Observation", "id": "hba1c-1", "status": "final", "subject": {"reference": "Patient/p1"},
         "code": {"coding": [{"system": "urn:oid:1.2.208.176.2.1", "code": "NPU27300"}]},
         "effectiveDateTime": "2025-12-03T08:05:00+01:00", "valueQuantity": {"value": 61, "unit": "mmol/mol"}},
        {"resourceType": "Condition", "id": "dx-1", "subject": {"reference": "Patient/p1"},
         "code": {"coding": [{"system": "urn:oid:1.2.208.176.2.31", "code": "T90"}]}, "recordedDate": "2025-12-03"},
    )]}


def test_fhir_from_a_practice_the_warehouse_knows_loads_with_its_master_data(tmp_path):
    home = tmp_path / "home"
    write_delivery(tmp_path / "first", delivery_id="012345-20251130T233000", ydernummer=YDER, vendor="XMO",
                   extract_ts=datetime(2025, 11, 30, 23, 30), period_start=date(2025, 1, 1),
                   period_end=date(2025, 11, 30), tables={n: to_table(n, r) for n, r in ONE_OF_EACH.items()})
    result, loaded = ingest([tmp_path / "first"], home)
    assert result.exit_code == 0 and loaded[0]["status"] == "loaded"

    message = tmp_path / "besked.json"
    message.write_text(json.dumps(fhir_message()), encoding="utf-8")
    result, loaded = ingest([message], home)
    assert result.exit_code == 0, result.output
    [delivery] = loaded
    assert delivery["status"] == "loaded" and delivery["rows_quarantined"] == 0
    assert delivery["tables"]["lab_result"]["loaded"] == 1 and delivery["tables"]["diagnosis"]["loaded"] == 1
    # the practice row: FHIR's name, the rest from the warehouse's newest period (cluster K082-08 since 1.7.2024)
    assert rows(home, "SELECT name, cluster_id, n_gp, lps_vendor FROM practice") == [
        ("Lægerne i Vestergade", "K082-08", 4, "XMO")]
    assert rows(home, "SELECT code, value_num FROM lab_result WHERE delivery_id LIKE '%-fhir-%'") == [
        ("NPU27300", 61.0)]

    again, loaded = ingest([message], home)  # the same file again is the same delivery: nothing changes
    assert again.exit_code == 0 and loaded[0]["status"] == "unchanged"


def test_an_unreadable_fhir_file_stops_ingest_before_anything_is_loaded(tmp_path):
    good = tmp_path / "god.json"
    good.write_text(json.dumps(fhir_message()), encoding="utf-8")
    bad = tmp_path / "Observation.ndjson"
    bad.write_text('{"resourceType": "Observation", "id": "o1"}\n{"resourceType": \n', encoding="utf-8")
    result, _ = ingest([good, bad], tmp_path / "home")
    assert result.exit_code == 2
    output = result.output.replace("\n", "")  # the console wraps long lines
    assert f"{bad}, linje 2, kolonne 18: ugyldig JSON" in output
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()

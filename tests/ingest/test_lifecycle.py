"""A delivery's life in the warehouse: re-runs change nothing, corrections replace, overlaps are refused, months
add up, practices change cluster, patients move — and a killed load leaves the warehouse as it was."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from .conftest import KEYS, ingest_one, make_settings, query, snapshot
from .delivery_builder import build_rows, write

from kvalitetsplatform.ingest import ingest
from kvalitetsplatform.ingest.loader import HOLD_ENV

DEC = dict(delivery_id="012345-20260101T020000", period=(date(2025, 12, 1), date(2025, 12, 31)),
           extract_ts=datetime(2026, 1, 1, 2))


def test_ingesting_the_same_delivery_again_changes_nothing(tmp_path, settings):
    write(tmp_path / "d", build_rows())
    assert ingest_one(tmp_path / "d", settings).status == "loaded"
    before = snapshot(settings)
    again = ingest_one(tmp_path / "d", settings)
    assert again.status == "unchanged" and again.counts == {}
    assert snapshot(settings) == before


def test_the_same_data_as_parquet_or_csv_gives_the_same_warehouse(tmp_path):
    rows = build_rows()
    contents = []
    for fmt in ("parquet", "csv"):
        cfg = make_settings(tmp_path / f"home-{fmt}")
        write(tmp_path / fmt, rows, fmt=fmt)
        assert ingest_one(tmp_path / fmt, cfg).status == "loaded"
        found = snapshot(cfg, exclude=("delivery", "quarantine"))
        contents.append(found)
        files = query(cfg, "SELECT files FROM delivery")[0][0]
        assert fmt in files
    assert contents[0] == contents[1]


def test_patient_key_is_the_keyed_hmac_of_the_cpr_and_no_cpr_or_name_is_stored_in_clear(tmp_path, settings):
    rows = build_rows()
    write(tmp_path / "d", rows)
    ingest_one(tmp_path / "d", settings)
    key = KEYS["KP_PSEUDONYM_KEY"].encode()
    for patient in rows["patient"]:
        normalised = patient["cpr"].replace("-", "")
        digest = hmac.new(key, normalised.encode(), hashlib.sha256).digest()
        expected = int.from_bytes(digest[:8], "big", signed=True)
        assert query(settings, "SELECT count(*) FROM listing WHERE patient_key = ?", [expected]) == [(1,)]
        assert query(settings, "SELECT pseudonym FROM identity_vault WHERE patient_key = ?", [expected]) == \
            [(digest.hex(),)]
    log = Path(f"{settings.warehouse_path}.wal")
    raw = settings.warehouse_path.read_bytes() + (log.read_bytes() if log.exists() else b"")
    assert log.exists(), "a small load leaves its rows in the log: the log must be searched too"
    for patient in rows["patient"]:
        for secret in (patient["cpr"], patient["cpr"].replace("-", ""), patient["name"]):
            assert secret.encode() not in raw
    assert KEYS["KP_PSEUDONYM_KEY"].encode() not in raw and KEYS["KP_VAULT_KEY"].encode() not in raw


def test_a_small_load_leaves_its_log_for_a_later_checkpoint_and_readers_see_its_rows(tmp_path, settings,
                                                                                      monkeypatch):
    import kvalitetsplatform.ingest as ingestion

    log = Path(f"{settings.warehouse_path}.wal")
    write(tmp_path / "nov", build_rows(patients=30))
    assert ingest_one(tmp_path / "nov", settings).status == "loaded"
    assert 0 < log.stat().st_size < ingestion.LOG_BYTES  # committed to the log, not yet written into the file
    assert query(settings, "SELECT count(*) FROM listing") == [(30,)]  # a read-only reader replays the log
    write(tmp_path / "dec", build_rows(patients=30), **DEC)
    monkeypatch.setattr(ingestion, "LOG_BYTES", 1)  # the log has grown past the threshold
    assert ingest_one(tmp_path / "dec", settings).status == "loaded"
    assert not log.exists()  # checkpointed: everything is in the file
    assert query(settings, "SELECT count(*) FROM delivery WHERE status = 'loaded'") == [(2,)]


def test_the_vault_reveals_cpr_and_name_to_whoever_holds_the_vault_key(tmp_path, settings):
    from kvalitetsplatform.warehouse.vault import Pseudonymiser, reveal

    rows = build_rows()
    write(tmp_path / "d", rows)
    ingest_one(tmp_path / "d", settings)
    patient = rows["patient"][3]
    key = Pseudonymiser(settings.pseudonym_key).patient_key(patient["cpr"])
    found = reveal(settings, [key, 12345])
    assert list(found) == [key]
    assert found[key].cpr == patient["cpr"].replace("-", "")
    assert found[key].name == patient["name"] and found[key].cpr_kind == "cpr_substitute"


def test_a_new_name_in_a_later_delivery_replaces_the_vaults(tmp_path, settings):
    from kvalitetsplatform.warehouse.vault import Pseudonymiser, reveal

    first = build_rows()
    write(tmp_path / "first", first)
    ingest_one(tmp_path / "first", settings)
    vault = query(settings, "SELECT count(*) FROM identity_vault")
    renamed = build_rows()
    renamed["patient"][3]["name"] = "Ny Navnesen"
    write(tmp_path / "fixed", renamed, delivery_id="012345-20251202T020000", extract_ts=datetime(2025, 12, 2, 2))
    assert ingest_one(tmp_path / "fixed", settings).status == "loaded"
    assert query(settings, "SELECT count(*) FROM identity_vault") == vault
    keys = [Pseudonymiser(settings.pseudonym_key).patient_key(p["cpr"]) for p in renamed["patient"][2:5]]
    found = reveal(settings, keys)
    assert [found[k].name for k in keys] == [renamed["patient"][2]["name"], "Ny Navnesen",
                                             renamed["patient"][4]["name"]]


def test_a_corrected_delivery_replaces_the_earlier_one(tmp_path, settings):
    first = build_rows()
    write(tmp_path / "first", first)
    ingest_one(tmp_path / "first", settings)
    corrected = build_rows()
    corrected["contact"] = corrected["contact"][:10]
    corrected["lab_result"][0]["value_num"] = 61.0
    write(tmp_path / "fixed", corrected, delivery_id="012345-20251202T020000", extract_ts=datetime(2025, 12, 2, 2))
    result = ingest_one(tmp_path / "fixed", settings)
    assert result.status == "loaded" and result.replaced == "012345-20251201T020000"
    assert query(settings, "SELECT id, status, replaced_by FROM delivery ORDER BY id") == [
        ("012345-20251201T020000", "replaced", "012345-20251202T020000"),
        ("012345-20251202T020000", "loaded", None)]
    assert query(settings, "SELECT count(*), count(DISTINCT delivery_id) FROM contact") == [(10, 1)]
    assert query(settings, "SELECT DISTINCT delivery_id FROM listing") == [("012345-20251202T020000",)]
    assert (61.0,) in query(settings, "SELECT value_num FROM lab_result")
    assert query(settings, "SELECT count(*) FROM listing") == [(len(first["patient"]),)]
    # Running either again is a no-op.
    before = snapshot(settings)
    assert [r.status for r in ingest(sorted((tmp_path / "first", tmp_path / "fixed")), settings)] == \
        ["unchanged", "unchanged"]
    assert snapshot(settings) == before


@pytest.mark.parametrize("period, extract, words", [
    ((date(2025, 11, 15), date(2025, 12, 15)), datetime(2025, 12, 16), "overlapper delvist"),
    ((date(2025, 11, 1), date(2025, 11, 30)), datetime(2025, 11, 30), "lige så ny eller nyere"),
])
def test_an_overlapping_or_older_delivery_is_refused(tmp_path, settings, period, extract, words):
    write(tmp_path / "first", build_rows())
    ingest_one(tmp_path / "first", settings)
    before = snapshot(settings, exclude=("delivery",))
    write(tmp_path / "other", build_rows(period=period), delivery_id="other", period=period, extract_ts=extract)
    result = ingest_one(tmp_path / "other", settings)
    assert result.status == "rejected" and words in result.error
    assert snapshot(settings, exclude=("delivery",)) == before
    assert query(settings, "SELECT status FROM delivery WHERE id = 'other'") == [("rejected",)]


def test_reusing_a_delivery_id_for_other_content_is_refused_and_the_loaded_one_stays(tmp_path, settings):
    write(tmp_path / "first", build_rows())
    ingest_one(tmp_path / "first", settings)
    before = snapshot(settings)
    changed = build_rows()
    changed["contact"].pop()
    write(tmp_path / "again", changed)
    result = ingest_one(tmp_path / "again", settings)
    assert result.status == "rejected" and "nyt leverance-id" in result.error
    assert snapshot(settings) == before


def test_monthly_deliveries_add_up_and_the_listing_holds_each_patient_once(tmp_path, settings):
    write(tmp_path / "nov", build_rows())
    dec_rows = build_rows(period=DEC["period"])  # the same seed gives the same patients
    nov_patients = build_rows()["patient"]
    dead = nov_patients[-1]["cpr"]  # died in November: no December facts
    dec_rows = {name: [r for r in rows if r.get("cpr") != dead] for name, rows in dec_rows.items()}
    dec_rows["patient"] = nov_patients
    for i, row in enumerate(dec_rows["contact"]):
        row["contact_id"] = f"C9{i:05d}"
    write(tmp_path / "dec", dec_rows, **DEC)
    results = ingest([tmp_path], settings)
    assert [r.status for r in results] == ["loaded", "loaded"]
    n = len(nov_patients)
    assert query(settings, "SELECT count(*), count(DISTINCT patient_key) FROM listing") == [(n, n)]
    assert query(settings, "SELECT count(*) FROM patient") == [(n,)]
    assert query(settings, "SELECT count(*) FROM quarantine") == [(0,)]
    assert query(settings, "SELECT count(*) FROM contact") == [(2 * n + 2 * (n - 1),)]
    assert query(settings, "SELECT DISTINCT delivery_id FROM listing") == [(DEC["delivery_id"],)]
    assert query(settings, "SELECT count(*) FROM identity_vault") == [(n,)]
    assert query(settings, "SELECT count(*) FROM practice_period") == [(1,)]


def test_a_practice_that_changes_cluster_gets_a_new_period(tmp_path, settings):
    write(tmp_path / "nov", build_rows())
    dec = build_rows(period=DEC["period"])
    moved = dict(dec["practice"][0], valid_from=date(2025, 12, 10), cluster_id="K082-09",
                 cluster_name="Klynge Aarhus Nord")
    dec["practice"].append(moved)
    write(tmp_path / "dec", dec, **DEC)
    ingest([tmp_path], settings)
    assert query(settings, "SELECT valid_from, valid_to, cluster_id FROM practice_period ORDER BY valid_from") == [
        (date(2020, 1, 1), date(2025, 12, 9), "K082-07"), (date(2025, 12, 10), None, "K082-09")]
    assert query(settings, "SELECT cluster_id FROM practice") == [("K082-09",)]
    assert query(settings, "SELECT cluster_id, name FROM cluster ORDER BY 1") == [
        ("K082-07", "Klynge Aarhus Vest"), ("K082-09", "Klynge Aarhus Nord")]


def test_a_patient_who_moves_practice_is_the_same_person_whatever_the_order(tmp_path):
    old = build_rows()
    mover = old["patient"][2]
    new = build_rows(ydernummer="054321", seed=5)
    new["patient"].append(dict(mover, list_start=date(2025, 11, 20), list_end=None))
    old["patient"][2] = dict(mover, list_end=date(2025, 11, 19))
    write(tmp_path / "a", old)
    write(tmp_path / "b", new, ydernummer="054321", delivery_id="054321-20251201T020000")
    contents = []
    for order in (("a", "b"), ("b", "a")):
        cfg = make_settings(tmp_path / f"home-{''.join(order)}")
        for name in order:
            assert ingest_one(tmp_path / name, cfg).status == "loaded"
        rows = query(cfg, "SELECT ydernummer, list_start, list_end FROM listing WHERE patient_key IN "
                          "(SELECT patient_key FROM listing GROUP BY 1 HAVING count(*) > 1) ORDER BY list_start")
        assert rows == [("012345", mover["list_start"], date(2025, 11, 19)), ("054321", date(2025, 11, 20), None)]
        contents.append(snapshot(cfg, exclude=("delivery",)))
    assert contents[0] == contents[1]


def test_a_load_killed_inside_its_transaction_leaves_the_warehouse_as_it_was(tmp_path, settings):
    """Start a real `kp ingest`, kill it (SIGKILL) while its transaction holds a replacing delivery's rows, and
    compare the warehouse with the state before, byte for byte in content."""
    write(tmp_path / "first", build_rows(patients=50))
    ingest_one(tmp_path / "first", settings)
    before = snapshot(settings)
    corrected = build_rows(patients=400, seed=9)
    write(tmp_path / "fixed", corrected, delivery_id="012345-20251202T020000", extract_ts=datetime(2025, 12, 2, 2))
    marker = tmp_path / "inside-transaction"
    env = {**os.environ, "KP_HOME": str(settings.home), **KEYS, HOLD_ENV: str(marker)}
    kp = Path(sys.executable).parent / "kp"
    process = subprocess.Popen([str(kp), "ingest", str(tmp_path / "fixed")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "ingest never reached its commit"
        time.sleep(0.05)
    # The old delivery's rows are deleted and the new ones inserted, uncommitted, right now.
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert snapshot(settings) == before
    # And the warehouse still works: the same delivery loads afterwards.
    result = ingest_one(tmp_path / "fixed", settings)
    assert result.status == "loaded" and result.replaced == "012345-20251201T020000"
    assert query(settings, "SELECT count(*) FROM listing") == [(400,)]

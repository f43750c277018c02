"""Whole-delivery faults: the delivery is rejected with a clear error naming file (and row or field), nothing already
loaded changes, and the rejection is kept in the catalogue."""

from __future__ import annotations

import json
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from .conftest import ingest_one, query, snapshot
from .delivery_builder import build_rows, edit_manifest, rewrite_file, to_arrow, write

from kvalitetsplatform.contract.delivery import sha256_of

NEXT = dict(delivery_id="012345-20260101T020000", period=(date(2025, 12, 1), date(2025, 12, 31)),
            extract_ts=datetime(2026, 1, 1, 2))


def _drop_parquet_column_type(folder):
    """Rewrite patient.parquet with `sex` as an integer column."""
    table = to_arrow(build_rows(period=NEXT["period"]))["patient"]
    table = table.set_column(table.schema.get_field_index("sex"), "sex", pa.array([1] * table.num_rows, pa.int64()))
    pq.write_table(table, folder / "patient.parquet")
    edit_manifest(folder, lambda m: next(f for f in m["files"] if f["table"] == "patient").update(
        sha256=sha256_of(folder / "patient.parquet")))


def _lie_about_rows(table, extra):
    def change(folder):
        edit_manifest(folder, lambda m: next(f for f in m["files"] if f["table"] == table).update(
            rows=next(f for f in m["files"] if f["table"] == table)["rows"] + extra))
    return change


def _csv(change_bytes, table="contact", rows=None):
    def change(folder):
        rewrite_file(folder, table, change_bytes, rows=rows)
    return change


def _drop_from_manifest(table):
    def change(folder):
        edit_manifest(folder, lambda m: m.update(files=[f for f in m["files"] if f["table"] != table]))
        (folder / f"{table}.parquet").unlink(missing_ok=True)
        (folder / f"{table}.csv").unlink(missing_ok=True)
    return change


def _drop_csv_column(name):
    def change(data: bytes) -> bytes:
        lines = data.decode().split("\n")
        index = [h.strip('"') for h in lines[0].split(",")].index(name)
        return "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != index) if line else line
                         for line in lines).encode()
    return change


# (format, change to the written delivery folder, file named in the error, words in the error, row, field)
REJECTIONS = {
    "checksum does not match": ("parquet", lambda f: (f / "contact.parquet").write_bytes(
        (f / "contact.parquet").read_bytes()[:-9] + b"123456789"), "contact.parquet", "SHA-256", None, None),
    "listed file missing": ("parquet", lambda f: (f / "diagnosis.parquet").unlink(), "diagnosis.parquet",
                            "mangler", None, None),
    "file not in the manifest": ("parquet", lambda f: (f / "extra.csv").write_text("a\n1\n"), "extra.csv",
                                 "ikke nævnt i manifestet", None, None),
    "required table missing": ("parquet", _drop_from_manifest("clinician"), "manifest.json", "clinician", None,
                               "files"),
    "manifest lies about parquet rows": ("parquet", _lie_about_rows("lab_result", 5), "lab_result.parquet",
                                         "lover 17 rækker, men filen har 12", None, None),
    "manifest lies about CSV rows": ("csv", _lie_about_rows("contact", -1), "contact.csv",
                                     "lover 23 rækker, men filen har 24", None, None),
    "empty file": ("csv", _csv(lambda data: b""), "contact.csv", "tom", None, None),
    "header only where rows are promised": ("csv", _csv(lambda data: data.split(b"\n")[0] + b"\n"), "contact.csv",
                                            "lover 24 rækker, men filen har 0", None, None),
    "latin-1 CSV": ("csv", _csv(lambda data: data.decode().encode("latin-1"), table="journal_note"),
                    "journal_note.csv", "ikke UTF-8: byten 0xE6 ved byte 174", 1, None),
    "unterminated quote swallowing the rest": (
        "csv", _csv(lambda data: data + b'C900001,"6401611234,L01,2025-11-03 09:00:00,0101,physical\n'
                    b'C900002,6401611234,L01,2025-11-03 09:00:00,0101,physical\n', rows=26),
        "contact.csv", "anførselstegn afsluttes ikke", 25, None),
    "wrong column type in Parquet": ("parquet", _drop_parquet_column_type, "patient.parquet", "kræver string",
                                     None, "sex"),
    "CSV column missing": ("csv", _csv(_drop_csv_column("channel")), "contact.csv", "mangler", None, "channel"),
    "unknown CSV column": ("csv", _csv(lambda data: data.replace(b'"channel"', b'"kanal"', 1)), "contact.csv",
                           "kendes ikke", None, "kanal"),
    "manifest not JSON": ("parquet", lambda f: (f / "manifest.json").write_text("{ikke json"), "manifest.json",
                          "ugyldig JSON", 1, None),
    "manifest without ydernummer": ("parquet", lambda f: edit_manifest(f, lambda m: m.pop("ydernummer")),
                                    "manifest.json", "mangler", None, "ydernummer"),
    "no valid practice row": ("parquet", None, "practice.parquet", "ingen gyldig række", None, None),
}


@pytest.fixture
def loaded(tmp_path, settings):
    """A warehouse with one delivery in it, and its snapshot."""
    write(tmp_path / "first", build_rows())
    assert ingest_one(tmp_path / "first", settings).status == "loaded"
    return snapshot(settings)


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_a_bad_delivery_is_rejected_and_nothing_loaded_changes(tmp_path, settings, loaded, case):
    fmt, change, file, words, row, field = REJECTIONS[case]
    rows = build_rows(period=NEXT["period"])
    if change is None:  # the only practice row belongs to another practice
        rows["practice"][0]["ydernummer"] = "999999"
    folder = tmp_path / "next"
    write(folder, rows, fmt=fmt, **NEXT)
    if change is not None:
        change(folder)
    result = ingest_one(folder, settings)
    assert result.status == "rejected"
    assert file in result.error.split(":")[0] and words in result.error, result.error
    if row is not None:
        assert f"række {row}" in result.error
    if field is not None:
        assert f"felt '{field}'" in result.error
    assert snapshot(settings, exclude=("delivery",)) == {k: v for k, v in loaded.items() if k != "delivery"}
    catalogue = query(settings, "SELECT id, status, error FROM delivery ORDER BY loaded_at")
    assert catalogue[0][:2] == ("012345-20251201T020000", "loaded")
    rejected_id = "next" if case.startswith(("manifest not", "manifest without")) else NEXT["delivery_id"]
    assert catalogue[1] == (rejected_id, "rejected", result.error)


def test_a_rejected_delivery_can_be_sent_again_fixed(tmp_path, settings, loaded):
    rows = build_rows(period=NEXT["period"])
    write(tmp_path / "next", rows, **NEXT)
    (tmp_path / "next" / "contact.parquet").write_bytes(b"PAR1 broken")
    assert ingest_one(tmp_path / "next", settings).status == "rejected"
    write(tmp_path / "next", rows, **NEXT)
    result = ingest_one(tmp_path / "next", settings)
    assert result.status == "loaded" and result.error is None
    assert query(settings, "SELECT status, error FROM delivery WHERE id = ?", [NEXT["delivery_id"]]) == \
        [("loaded", None)]


def test_a_key_collision_is_refused(tmp_path, settings, loaded):
    """Two CPRs giving the same patient_key would merge two people: the delivery must be refused."""
    import duckdb

    rows = build_rows(period=NEXT["period"])
    write(tmp_path / "next", rows, **NEXT)
    # Plant a vault entry with the key of the next delivery's new patient but another pseudonym.
    from kvalitetsplatform.warehouse.vault import Pseudonymiser

    newcomer = "6502601234"
    rows["patient"][0]["cpr"] = newcomer
    for table in ("contact", "journal_note", "lab_result", "measurement", "diagnosis", "prescription",
                  "chronic_enrolment", "hospital_admission"):
        for row in rows[table]:
            if row["cpr"] == build_rows(period=NEXT["period"])["patient"][0]["cpr"]:
                row["cpr"] = newcomer
    write(tmp_path / "next", rows, **NEXT)
    key = Pseudonymiser(settings.pseudonym_key).patient_key(newcomer)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("INSERT INTO identity_vault VALUES (?, ?, 'cpr', NULL, NULL)", [key, "0" * 64])
    con.close()
    before = snapshot(settings)
    result = ingest_one(tmp_path / "next", settings)
    assert result.status == "rejected" and "nøglekollision" in result.error
    assert snapshot(settings, exclude=("delivery",)) == {k: v for k, v in before.items() if k != "delivery"}


def test_the_error_json_of_kp_ingest_names_the_file(tmp_path, settings, loaded, monkeypatch):
    from .conftest import KEYS
    from typer.testing import CliRunner

    from kvalitetsplatform.cli.main import app

    rows = build_rows(period=NEXT["period"])
    write(tmp_path / "next", rows, **NEXT)
    (tmp_path / "next" / "extra.parquet").write_bytes(b"x")
    for name, value in {"KP_HOME": str(settings.home), **KEYS}.items():
        monkeypatch.setenv(name, value)
    run = CliRunner().invoke(app, ["ingest", str(tmp_path / "next"), "--json"])
    assert run.exit_code == 1
    [entry] = json.loads(run.stdout)
    assert entry["status"] == "rejected" and entry["error"].startswith("extra.parquet")

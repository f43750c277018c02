"""Row checks: each bad row is quarantined with its file, row, field and a Danish reason; every other row loads."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta

import pytest
from .conftest import ingest_one, quarantined, query
from .delivery_builder import build_rows, rewrite_file, substitute_cpr, write

from kvalitetsplatform.contract import TABLES


def _set(table, index, **values):
    def change(rows):
        rows[table][index].update(values)
    return change


def _append(table, source_index=None, **values):
    def change(rows):
        row = copy.deepcopy(rows[table][source_index if source_index is not None else 0])
        row.update(values)
        rows[table].append(row)
    return change


def _after_death(rows):
    death = rows["patient"][-1]["death_date"]
    rows["contact"][22]["contact_ts"] = datetime.combine(death + timedelta(days=3), datetime.min.time())


# (change, expected quarantine (table, 1-based row, field, rule), words the Danish reason must contain)
FAULTS = {
    "unknown ICPC-2 code": (_set("diagnosis", 3, code="X99"), ("diagnosis", 4, "code", "code"), "X99"),
    "unknown NPU code": (_set("lab_result", 0, code="NPU99999"), ("lab_result", 1, "code", "code"), "NPU99999"),
    "code from another system": (_set("diagnosis", 0, code_system="SKS"), ("diagnosis", 1, "code", "code"), "SKS"),
    "wrong unit": (_set("lab_result", 1, unit="mg/dL"), ("lab_result", 2, "unit", "unit"), "mg/dL"),
    "missing unit": (_set("measurement", 0, unit=None), ("measurement", 1, "unit", "unit"), "mangler"),
    "implausible value": (_set("lab_result", 2, value_num=99999.0), ("lab_result", 3, "value_num", "range"),
                          "99999"),
    "date in the future": (_set("contact", 0, contact_ts=datetime(2026, 1, 5, 9)),
                           ("contact", 1, "contact_ts", "future"), "05.01.2026"),
    "date after death": (_after_death, ("contact", 23, "contact_ts", "after_death"), "død"),
    "date before birth": (_set("prescription", 0, prescribed_date=date(1900, 1, 1)),
                          ("prescription", 1, "prescribed_date", "before_birth"), "fødsel"),
    "value not allowed": (_set("contact", 1, channel="fax"), ("contact", 2, "channel", "choice"), "fax"),
    "required field empty": (_set("diagnosis", 1, recorded_date=None), ("diagnosis", 2, "recorded_date", "required"),
                             "tomt"),
    "CPR with impossible date": (_set("contact", 5, cpr="320261-1234"), ("contact", 6, "cpr", "cpr"), "CPR"),
    "CPR not in the patient table": (_set("contact", 6, cpr=substitute_cpr(date(1970, 1, 1), 4242, True)),
                                     ("contact", 7, "cpr", "unknown_patient"), "patienttabel"),
    "duplicate key": (_append("contact", 0), ("contact", 25, "contact_id", "duplicate"), "række 1"),
    "end before start": (lambda rows: rows["hospital_admission"][0].update(
        discharged_date=rows["hospital_admission"][0]["admitted_date"] - timedelta(days=3)),
        ("hospital_admission", 1, "discharged_date", "date_order"), "før"),
    "coded text not allowed": (_append("measurement", 0, measurement_id="M9", code_system="KP", code="RYGESTATUS",
                                       value_num=None, unit=None, value_text="måske"),
                               ("measurement", 13, "value_text", "value_text"), "måske"),
    "unknown ATC code": (_set("prescription", 2, atc="Z99ZZ99"), ("prescription", 3, "atc", "code"), "Z99ZZ99"),
    "unknown service code": (_set("contact", 2, ydelseskode="9999"), ("contact", 3, "ydelseskode", "code"), "9999"),
    "unknown municipality": (_set("patient", 0, kommune_code="999"), ("patient", 1, "kommune_code", "code"), "999"),
    "invalid CPR in the patient table": (_append("patient", 0, cpr="0013611234"), ("patient", 13, "cpr", "cpr"),
                                         "CPR"),
    "malformed CVR": (_append("practice", 0, valid_from=date(2024, 1, 1), cvr="1234"),
                      ("practice", 2, "cvr", "pattern"), "1234"),
    "another practice's row": (_append("practice", 0, valid_from=date(2024, 1, 1), ydernummer="999999"),
                               ("practice", 2, "ydernummer", "ydernummer"), "999999"),
    "survey score out of scale": (_set("survey_response", 0, item_05=7), ("survey_response", 1, "item_05", "choice"),
                                  "7"),
}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_bad_row_is_quarantined_and_the_rest_loads(tmp_path, settings, fault, fmt):
    change, expected, words = FAULTS[fault]
    rows = build_rows()
    change(rows)
    write(tmp_path / "d", rows, fmt=fmt)
    result = ingest_one(tmp_path / "d", settings)
    assert result.status == "loaded", result.error
    assert quarantined(settings) == {expected}
    table, _, field, _ = expected
    [(reason, value, file)] = query(settings, "SELECT reason, value, file FROM quarantine")
    assert words in reason and file == f"{table}.{fmt}"
    if TABLES[table].columns.get(field) is not None and TABLES[table].columns[field].identifies_person:
        assert value is None  # a CPR is never kept in the quarantine
    for name, counts in result.counts.items():
        assert counts["received"] == len(rows[name])
        assert counts["quarantined"] == (1 if name == table else 0)
        assert counts["loaded"] == counts["received"] - counts["quarantined"], name


def test_all_faults_at_once_are_each_reported_once(tmp_path, settings):
    rows = build_rows()
    # Faults that touch different rows can all be present together.
    for name in ("unknown ICPC-2 code", "wrong unit", "implausible value", "date after death", "value not allowed",
                 "required field empty", "CPR with impossible date", "CPR not in the patient table", "duplicate key",
                 "end before start", "unknown ATC code", "malformed CVR", "survey score out of scale"):
        FAULTS[name][0](rows)
    write(tmp_path / "d", rows)
    result = ingest_one(tmp_path / "d", settings)
    expected = {FAULTS[n][1] for n in ("unknown ICPC-2 code", "wrong unit", "implausible value", "date after death",
                                       "value not allowed", "required field empty", "CPR with impossible date",
                                       "CPR not in the patient table", "duplicate key", "end before start",
                                       "unknown ATC code", "malformed CVR", "survey score out of scale")}
    assert quarantined(settings) == expected
    assert result.total("quarantined") == len(expected)
    assert result.total("loaded") == sum(len(r) for r in rows.values()) - len(expected)
    loaded_contacts = query(settings, "SELECT count(*) FROM contact")[0][0]
    assert loaded_contacts == len(rows["contact"]) - 5


CSV_FAULTS = {
    # (table, 1-based row, field, text to put there, rule)
    "impossible date": ("contact", 4, "contact_ts", "2025-13-45T09:00:00", "type"),
    "comma decimal": ("lab_result", 2, "value_num", "5,2", "type"),
    "decimal in an integer": ("prescription", 3, "n_packs", "1.5", "type"),
    "Danish yes": ("hospital_admission", 1, "acute", "ja", "type"),
    "time zone offset": ("contact", 5, "contact_ts", "2025-11-03T09:20:00+01:00", "type"),
    "date with a time": ("diagnosis", 2, "recorded_date", "2025-11-03 12:00", "type"),
}


def _replace_csv_cell(table, row, field, text):
    """Put `text` in one cell of a CSV file written by pyarrow (header first, one record per line here)."""
    def change(data: bytes) -> bytes:
        import csv
        import io

        records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        records[row][records[0].index(field)] = text
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\n").writerows(records)
        return buffer.getvalue().encode("utf-8")
    return change


@pytest.mark.parametrize("fault", list(CSV_FAULTS))
def test_a_value_that_does_not_parse_is_quarantined_as_a_type_error(tmp_path, settings, fault):
    table, row, field, text, rule = CSV_FAULTS[fault]
    rows = build_rows()
    write(tmp_path / "d", rows, fmt="csv")
    rewrite_file(tmp_path / "d", table, _replace_csv_cell(table, row, field, text))
    result = ingest_one(tmp_path / "d", settings)
    assert result.status == "loaded", result.error
    assert quarantined(settings) == {(table, row, field, rule)}
    [(reason, value)] = query(settings, "SELECT reason, value FROM quarantine")
    assert value == text and text in reason


def test_broken_csv_rows_are_quarantined_with_their_row_number_even_after_multiline_fields(tmp_path, settings):
    rows = build_rows()
    write(tmp_path / "d", rows, fmt="csv")
    notes = len(rows["journal_note"])
    # Every note's text spans two lines; add a row with too few fields and one with too many at the end.
    rewrite_file(tmp_path / "d", "journal_note", lambda data: data + b'N900001,only,three\n'
                 + b'N900002,' + b"6401611234,2025-11-03T09:00:00,L01,manual,C1,tekst,ekstra\n",
                 rows=notes + 2)
    result = ingest_one(tmp_path / "d", settings)
    assert result.status == "loaded", result.error
    assert quarantined(settings) == {("journal_note", notes + 1, None, "broken_row"),
                                     ("journal_note", notes + 2, None, "broken_row")}
    reasons = [r for (r,) in query(settings, "SELECT reason FROM quarantine ORDER BY row_number")]
    assert "for få felter (3, kontrakten kræver 7)" in reasons[0]
    assert "for mange felter" in reasons[1]
    assert result.counts["journal_note"] == {"received": notes + 2, "loaded": notes, "quarantined": 2}
    texts = query(settings, "SELECT DISTINCT text FROM journal_note")
    assert texts == [("Kontrol af BT. Velbehandlet.\nFortsætter.",)]


def test_a_broken_row_in_the_middle_keeps_the_numbers_of_the_rows_after_it(tmp_path, settings):
    rows = build_rows()
    write(tmp_path / "d", rows, fmt="csv")

    def break_third_and_spoil_fifth(data: bytes) -> bytes:
        lines = data.decode().split("\n")
        lines[3] = lines[3] + ",ekstra"  # data row 3: one field too many
        header = [h.strip('"') for h in lines[0].split(",")]
        cells = lines[5].split(",")
        cells[header.index("channel")] = "fax"  # data row 5: a value not allowed
        lines[5] = ",".join(cells)
        return "\n".join(lines).encode()

    rewrite_file(tmp_path / "d", "contact", break_third_and_spoil_fifth)
    ingest_one(tmp_path / "d", settings)
    assert quarantined(settings) == {("contact", 3, None, "broken_row"), ("contact", 5, "channel", "choice")}
    loaded = {r[0] for r in query(settings, "SELECT contact_id FROM contact")}
    assert loaded == {r["contact_id"] for i, r in enumerate(rows["contact"]) if i not in (2, 4)}


def test_a_malformed_quote_mid_file_quarantines_only_its_row(tmp_path, settings):
    rows = build_rows()
    write(tmp_path / "d", rows, fmt="csv")
    rewrite_file(tmp_path / "d", "contact", lambda data: data.replace(b'"C000005"', b'"C000005'))
    result = ingest_one(tmp_path / "d", settings)
    assert result.status == "loaded"
    assert quarantined(settings) == {("contact", 5, None, "broken_row")}
    assert "anførselstegn" in query(settings, "SELECT reason FROM quarantine")[0][0]


def test_warnings_count_in_the_quality_report_but_do_not_quarantine(tmp_path, settings):
    rows = build_rows()
    # A real-kind CPR (a date in 2050: nobody has it yet) whose date disagrees with the stated birth date.
    rows["patient"][1]["cpr"] = "010150-5123"
    for table in ("contact", "journal_note", "lab_result", "measurement", "diagnosis", "prescription"):
        for row in rows[table]:
            if row["cpr"] == build_rows()["patient"][1]["cpr"]:
                row["cpr"] = "010150-5123"
    rows["diagnosis"][0]["recorded_date"] = date(2025, 10, 15)  # before the delivery's period
    rows["contact"][0]["clinician_id"] = "L99"  # not in the clinician table
    write(tmp_path / "d", rows)
    result = ingest_one(tmp_path / "d", settings)
    assert result.status == "loaded" and quarantined(settings) == set()
    quality = json.loads(query(settings, "SELECT quality FROM delivery")[0][0])
    failed = {c["check"]: c["failed"] for c in quality["checks"] if c["failed"]}
    assert failed == {"patient.birth_date.cpr_birth_date": 1, "diagnosis.recorded_date.outside_period": 1,
                      "contact.clinician_id.unknown_clinician": 1}
    assert quality["patients"]["cpr_kinds"] == {"cpr": 1, "cpr_substitute": 11}

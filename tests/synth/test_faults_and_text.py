"""`--errors`: every planted fault is listed, present where the list says, and nothing else is wrong; journal notes
carry the planted speech/manual differences; the command speaks Danish and JSON."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import date, datetime

import pyarrow.parquet as pq
import pytest
from .synth_support import Extract
from typer.testing import CliRunner

from kvalitetsplatform.cli.main import app
from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.contract.delivery import read_manifest, sha256_of
from kvalitetsplatform.synth.faults import CODE_FIELD, DATE_FIELD
from kvalitetsplatform.synth.generator import ERRORS_NAME, Options, synthesise
from kvalitetsplatform.synth.text import MANUAL_DROPS_DOSE, SPEECH_DROPS_DOSE
from kvalitetsplatform.terminology import code_system

ALL_KINDS = {"unknown_code", "missing_unit", "impossible_value", "duplicate", "future_date", "after_death",
             "missing_required"}


@pytest.fixture(scope="module", params=["parquet", "csv"])
def faulty(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("faulty") / request.param
    synthesise(Options(out=out, patients=3_000, seed=4, errors=0.01, fmt=request.param, workers=2))
    listed = [json.loads(line) for line in (out / ERRORS_NAME).read_text(encoding="utf-8").splitlines()]
    return out, request.param, listed


def _read(folder, table, fmt) -> list[dict]:
    path = folder / f"{table}.{fmt}"
    if fmt == "parquet":
        return pq.read_table(path).to_pylist()
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _value(v):
    """CSV gives text; turn dates and numbers back into values to compare with the contract's ranges."""
    if not isinstance(v, str) or v == "":
        return None if v == "" else v
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return date.fromisoformat(v)
    for parse in (datetime.fromisoformat, float):
        try:
            return parse(v)
        except ValueError:
            pass
    return v


def _faults_of(row: dict, table: str, period_end: date, deaths: dict) -> set[str]:
    """Which faults a row shows, judged from the row alone (plus the delivery's deaths)."""
    found = set()
    if table in CODE_FIELD:
        system = row.get("code_system") or {"contact": "ydelseskode", "prescription": "ATC",
                                            "hospital_admission": "SKS"}[table]
        if row[CODE_FIELD[table]] not in code_system(system):
            found.add("unknown_code")
    if table in ("lab_result", "measurement"):
        value = _value(row["value_num"])
        concept = code_system(row["code_system"]).get(row["code"])
        if value is not None and concept is not None:
            if not row["unit"] and concept.unit:
                found.add("missing_unit")
            low, high = concept.plausible_range
            if (low is not None and value < low) or (high is not None and value > high):
                found.add("impossible_value")
    if table == "survey_response":
        for i in range(1, 24):
            v = _value(row[f"item_{i:02d}"])
            if v is not None and not 1 <= int(v) <= 5:
                found.add("impossible_value")
    if table in DATE_FIELD:
        when = _value(row[DATE_FIELD[table]])
        day = when.date() if isinstance(when, datetime) else when
        if day is not None and day > period_end:
            found.add("future_date")
        elif day is not None and row.get("cpr") in deaths and day > deaths[row["cpr"]]:
            found.add("after_death")
    required = [f.name for f in TABLES[table].fields if f.required]
    if any(row[name] in ("", None) for name in required):
        found.add("missing_required")
    return found


def test_every_listed_fault_is_there_and_no_other(faulty):
    out, fmt, listed = faulty
    kinds = Counter(e["kind"] for e in listed)
    assert set(kinds) == ALL_KINDS | ({"broken_row"} if fmt == "csv" else set()), kinds
    by_delivery: dict[str, list] = {}
    for e in listed:
        by_delivery.setdefault(e["delivery_id"], []).append(e)
    checked = 0
    for folder in sorted(out.glob("*/*")):
        manifest = read_manifest(folder)
        for entry in manifest.files:  # the manifest tells the truth about the files as written
            assert sha256_of(folder / entry.path) == entry.sha256
        patients = _read(folder, "patient", fmt)
        deaths = {p["cpr"]: _value(p["death_date"]) for p in patients if p["death_date"] not in (None, "")}
        planted = {(e["table"], e["row"]): e for e in by_delivery.get(manifest.delivery_id, [])}
        for table in TABLES:
            if table in ("practice", "clinician"):
                continue
            if fmt == "csv":
                lines = (folder / f"{table}.csv").read_text(encoding="utf-8").split("\n")
                width = len(next(csv.reader([lines[0]])))
                for number, line in enumerate(lines[1:], start=1):
                    if line and len(next(csv.reader([line]))) != width:
                        assert planted[(table, number)]["kind"] == "broken_row"
                        checked += 1
            rows = [r for r in _read(folder, table, fmt)] if fmt == "parquet" else None
            if fmt == "csv":
                with (folder / f"{table}.csv").open(encoding="utf-8", newline="") as f:
                    reader = csv.reader(f)
                    header = next(reader)
                    rows = [dict(zip(header, r)) if len(r) == len(header) else None for r in reader]
            previous = None
            for number, row in enumerate(rows, start=1):
                if row is None:
                    previous = None
                    continue
                seen = _faults_of(row, table, manifest.period_end, deaths)
                if row == previous:
                    seen.add("duplicate")
                fault = planted.get((table, number))
                if fault and fault["kind"] != "broken_row":
                    assert fault["kind"] in seen, (manifest.delivery_id, table, number, fault, row)
                    checked += 1
                else:
                    assert not seen, (manifest.delivery_id, table, number, seen, row)
                previous = row
    assert checked == len(listed)


def test_the_list_lives_outside_the_delivery_folders(faulty):
    out, fmt, listed = faulty
    assert (out / ERRORS_NAME).exists()
    assert not list(out.glob(f"*/*/{ERRORS_NAME}"))
    assert all(set(e) == {"delivery_id", "table", "file", "row", "field", "kind"} for e in listed)
    assert all(e["file"] == f"{e['table']}.{fmt}" for e in listed)


def test_speech_notes_differ_from_manual_notes_as_planted(demo):
    words = dict(demo.rows("SELECT source, avg(len(string_split(text, ' '))) FROM journal_note GROUP BY 1"))
    assert words["speech"] > 2.5 * words["manual"]
    abbreviations = r"(?i)\b(obj|us|ua|rp|ktr|aft|tlf|pt|kons|bs)\."
    hedges = r"(?i)\b(formentlig|umiddelbart|muligvis|vurderes|sandsynligvis)\b"
    notes = demo.rows("SELECT source, text FROM journal_note")
    rate = {}
    for source in ("speech", "manual"):
        texts = [t for s, t in notes if s == source]
        rate[source] = (sum(bool(re.search(abbreviations, t)) for t in texts) / len(texts),
                        sum(bool(re.search(hedges, t)) for t in texts) / len(texts))
    assert rate["manual"][0] > 0.8 and rate["speech"][0] < 0.05
    assert rate["speech"][1] > 0.5 and rate["manual"][1] < 0.15
    # A started drug's dose goes missing far more often in speech notes.
    dropped = dict(demo.rows(r"""
        SELECT source, avg((NOT regexp_matches(text, '\d+ (mg|MIE|mikrogram)'))::INT) FROM journal_note
        WHERE regexp_matches(text, 'Rp\. [A-Z]') OR text LIKE '%Vi starter behandling med%' GROUP BY 1"""))
    assert dropped["speech"] > SPEECH_DROPS_DOSE * 0.6 and dropped["manual"] < MANUAL_DROPS_DOSE * 3
    # The speech scribe arrives during the period: its share grows.
    first, last = demo.rows("""SELECT avg((source = 'speech')::INT) FROM journal_note
                               GROUP BY note_ts < DATE '2025-05-01' ORDER BY 1""")
    assert last[0] > first[0]


def test_notes_point_at_their_contact_and_author(demo):
    orphans = demo.one("""SELECT count(*) FROM journal_note n WHERE contact_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM contact c WHERE c.contact_id = n.contact_id AND c.ydernummer = n.ydernummer AND c.cpr = n.cpr)""")
    assert orphans == 0
    assert demo.one("""SELECT count(*) FROM journal_note n WHERE NOT EXISTS (SELECT 1 FROM clinician k
                       WHERE k.clinician_id = n.clinician_id AND k.delivery_id = n.delivery_id)""") == 0


def test_cli_writes_json_and_rejects_bad_input_in_danish(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "a"), "--patients", "800", "--workers", "1",
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["patients"] == 800 and report["rows"]["contact"] > 0 and report["deliveries"] == 2
    extract = Extract(tmp_path / "a")
    assert extract.one("SELECT count(*) FROM patient") > 700
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "b"), "--end-date", "31-10-2026"])
    assert result.exit_code == 2 and "ÅÅÅÅ-MM-DD" in result.output
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "b"), "--format", "xml"])
    assert result.exit_code == 2 and "parquet eller csv" in result.output

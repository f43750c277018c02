"""End to end with the synthetic generator: `kp synth --errors` plants faults and writes the ground truth; ingestion
must quarantine exactly those rows, for the reason planted, and load every other row."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from .conftest import query

from kvalitetsplatform.ingest import ingest
from kvalitetsplatform.synth.generator import Options, synthesise

# The rule that must catch each kind of planted fault.
RULES = {"unknown_code": {"code"}, "missing_unit": {"unit"}, "impossible_value": {"range", "choice"},
         "duplicate": {"duplicate"}, "future_date": {"future"}, "after_death": {"after_death"},
         "missing_required": {"required"}, "broken_row": {"broken_row"}}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_ingestion_quarantines_exactly_the_planted_faults(tmp_path, settings, fmt):
    out = tmp_path / "synth"
    report = synthesise(Options(out=out, scale="demo", patients=1500, seed=7, errors=0.02, fmt=fmt, workers=1))
    planted = [json.loads(line) for line in (out / "injected_errors.jsonl").read_text().splitlines()]
    assert planted, "the generator planted no faults"
    if fmt == "csv":
        assert any(p["kind"] == "broken_row" for p in planted)

    results = ingest([out], settings)
    assert {r.status for r in results} == {"loaded"}, [r.error for r in results if r.error]

    found: dict[tuple, list[tuple]] = defaultdict(list)
    for delivery, table, row, field, rule in query(
            settings, "SELECT delivery_id, table_name, row_number, field, rule FROM quarantine"):
        found[(delivery, table, row)].append((field, rule))
    expected = {(p["delivery_id"], p["table"], p["row"]): p for p in planted}
    assert set(found) == set(expected)
    for key, fault in expected.items():
        rules = {rule for _, rule in found[key]}
        assert rules & RULES[fault["kind"]], (key, fault, found[key])
        if fault["field"] and fault["kind"] not in ("duplicate", "broken_row"):
            assert (fault["field"], next(iter(rules & RULES[fault["kind"]]))) in found[key], (key, fault)

    # Every other row is in the warehouse.
    received = sum(r.total("received") for r in results)
    assert received == sum(report.rows.values())
    assert sum(r.total("quarantined") for r in results) == len(expected)
    assert sum(r.total("loaded") + r.total("superseded") for r in results) == received - len(expected)
    facts = query(settings, "SELECT (SELECT count(*) FROM contact) + (SELECT count(*) FROM lab_result)")[0][0]
    planted_facts = sum(1 for p in planted if p["table"] in ("contact", "lab_result"))
    assert facts == report.rows["contact"] + report.rows["lab_result"] - planted_facts

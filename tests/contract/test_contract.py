import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.contract.delivery import ContractError, read_manifest, sha256_of, write_delivery
from kvalitetsplatform.contract.document import contract_markdown
from kvalitetsplatform.terminology import code_system

ROOT = Path(__file__).resolve().parents[2]


def test_contract_doc_is_generated_from_code():
    assert (ROOT / "docs" / "contract.md").read_text(encoding="utf-8") == contract_markdown(), \
        "docs/contract.md is stale: run `kp contract-doc`"


def test_every_code_system_a_field_names_exists_and_every_example_is_a_known_code():
    for table in TABLES.values():
        for f in table.fields:
            if f.code_system and f.code_system != "@code_system":
                assert f.example in code_system(f.code_system), (table.name, f.name)
            if f.choices and f.example:
                assert f.example in f.choices, (table.name, f.name)


def _clinicians():
    return pa.table({"clinician_id": ["L1"], "initials": ["AB"], "role": ["gp"], "fte": [1.0]})


def test_written_delivery_has_a_truthful_manifest(tmp_path):
    manifest = write_delivery(tmp_path, delivery_id="d1", ydernummer="012345", vendor="XMO",
                              extract_ts=datetime(2025, 12, 1), period_start=date(2025, 11, 1),
                              period_end=date(2025, 11, 30), tables={"clinician": _clinicians()})
    assert read_manifest(tmp_path) == manifest
    entry = manifest.file_for("clinician")
    assert entry.rows == 1 and entry.sha256 == sha256_of(tmp_path / entry.path)


@pytest.mark.parametrize("change, field", [
    (lambda m: m.pop("ydernummer"), "ydernummer"),
    (lambda m: m.update(ydernummer="12345"), "ydernummer"),
    (lambda m: m.update(period_end="2020-01-01"), "period_end"),
    (lambda m: m.update(period_start="1. januar"), "period_start"),
    (lambda m: m.update(contract_version="0.9"), "contract_version"),
    (lambda m: m["files"][0].update(table="patienter"), "files[0].table"),
    (lambda m: m["files"][0].update(rows="mange"), "files[0].rows"),
])
def test_a_bad_manifest_names_the_field(tmp_path, change, field):
    write_delivery(tmp_path, delivery_id="d1", ydernummer="012345", vendor="XMO", extract_ts=datetime(2025, 12, 1),
                   period_start=date(2025, 11, 1), period_end=date(2025, 11, 30), tables={"clinician": _clinicians()})
    path = tmp_path / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ContractError) as e:
        read_manifest(tmp_path)
    assert e.value.field == field and "manifest.json" in str(e.value)


def test_unreadable_manifest_names_the_line(tmp_path):
    (tmp_path / "manifest.json").write_text('{\n "delivery_id": "x",\n oops\n}')
    with pytest.raises(ContractError) as e:
        read_manifest(tmp_path)
    assert e.value.row == 3

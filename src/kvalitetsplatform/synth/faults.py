"""`--errors RATE`: realistic faults planted in the delivered files, with a ground-truth list.

Each data row of a patient-level fact table (and the survey) is faulty with probability RATE; the kind is drawn
among those that fit the table and the row. The list written to DIR/injected_errors.jsonl names, per fault, the
delivery, the table, the 1-based data row in the file as written, the field (empty for whole-row faults) and the
kind, so ingestion tests can check that exactly these rows are quarantined. Faults never touch a key another row
depends on: patient rows only get duplicates, and practice and clinician rows are left alone.

Kinds: unknown_code, missing_unit, impossible_value, duplicate, future_date, after_death, missing_required and, in
CSV files, broken_row (a line with too many or too few fields).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from kvalitetsplatform.contract import MANIFEST_NAME
from kvalitetsplatform.contract.delivery import Manifest, sha256_of
from kvalitetsplatform.terminology import code_system

CODE_FIELD = {"contact": "ydelseskode", "diagnosis": "code", "lab_result": "code", "measurement": "code",
              "prescription": "atc", "hospital_admission": "diagnosis_code"}
DATE_FIELD = {"contact": "contact_ts", "diagnosis": "recorded_date", "lab_result": "sampled_ts",
              "measurement": "measured_ts", "prescription": "prescribed_date", "chronic_enrolment": "start_date",
              "hospital_admission": "admitted_date", "survey_response": "answered_date", "journal_note": "note_ts"}
BLANK_FIELD = {"survey_response": "wave", "journal_note": "text"}  # others: cpr
UNKNOWN = {"contact": "0999", "prescription": "Z99ZZ99", "hospital_admission": "DZ999", "ICPC2DK": "Y99",
           "SKS": "DZ999", "NPU": "NPU99999", "DNK": "DNK99999", "MCS": "MCS99999", "KP": "UKENDT"}
KINDS = {
    "patient": ("duplicate",),
    "contact": ("unknown_code", "duplicate", "future_date", "after_death", "missing_required"),
    "diagnosis": ("unknown_code", "duplicate", "future_date", "after_death", "missing_required"),
    "lab_result": ("unknown_code", "missing_unit", "impossible_value", "duplicate", "future_date", "after_death",
                   "missing_required"),
    "measurement": ("unknown_code", "missing_unit", "impossible_value", "duplicate", "future_date", "after_death",
                    "missing_required"),
    "prescription": ("unknown_code", "duplicate", "future_date", "after_death", "missing_required"),
    "chronic_enrolment": ("duplicate", "future_date", "missing_required"),
    "hospital_admission": ("unknown_code", "duplicate", "future_date", "after_death", "missing_required"),
    "survey_response": ("impossible_value", "duplicate", "future_date", "missing_required"),
    "journal_note": ("duplicate", "future_date", "after_death", "missing_required"),
}


def _shift(value, days: int):
    return value + timedelta(days=days)


def inject_faults(rng: np.random.Generator, tables: dict[str, pa.Table], rate: float, fmt: str, period_end: int,
                  delivery_id: str) -> tuple[dict[str, pa.Table], list[dict], dict[str, list[tuple[int, str]]]]:
    """Plant faults; returns the new tables, the ground truth, and the CSV rows to break after writing."""
    end = date(1970, 1, 1) + timedelta(days=period_end)
    deaths = {}
    pat = tables["patient"]
    for cpr, died in zip(pat.column("cpr").to_pylist(), pat.column("death_date").to_pylist()):
        if died is not None:
            deaths[cpr] = died
    out = dict(tables)
    found: list[dict] = []
    broken: dict[str, list[tuple[int, str]]] = {}
    for name, kinds in KINDS.items():
        table = tables[name]
        n = table.num_rows
        k = rng.binomial(n, rate) if n else 0
        if not k:
            continue
        chosen = np.sort(rng.choice(n, k, replace=False))
        columns = {f: table.column(f).to_pylist() for f in table.column_names}
        kinds_here = kinds + (("broken_row",) if fmt == "csv" and name != "patient" else ())
        plan: list[tuple[int, str, str | None]] = []
        for r in chosen:
            for kind in rng.permutation(kinds_here):
                field = _apply(kind, name, columns, int(r), rng, end, deaths)
                if field is not False:
                    plan.append((int(r), str(kind), field))
                    break
        dups = np.array([r for r, kind, _ in plan if kind == "duplicate"], np.int64)
        order = np.sort(np.concatenate([np.arange(n), dups]), kind="stable")
        new_table = pa.table({f: pa.array(columns[f], table.schema.field(f).type) for f in table.column_names})
        out[name] = new_table.take(pa.array(order))
        for r, kind, field in plan:
            pos = r + int(np.sum(dups < r)) + (1 if kind == "duplicate" else 0)
            record = {"delivery_id": delivery_id, "table": name, "file": f"{name}.{fmt}", "row": pos + 1,
                      "field": field, "kind": kind}
            if kind == "broken_row":
                broken.setdefault(name, []).append((pos + 1, "extra" if rng.random() < 0.5 else "short"))
            else:
                found.append(record)
    return out, found, broken


def _apply(kind: str, table: str, columns: dict[str, list], r: int, rng, end: date, deaths: dict):
    """Change row r in place for this kind of fault; return the field changed (None: whole row) or False."""
    if kind in ("duplicate", "broken_row"):
        return None
    if kind == "unknown_code":
        field = CODE_FIELD[table]
        system = columns["code_system"][r] if "code_system" in columns else table
        columns[field][r] = UNKNOWN[system]
        return field
    if kind == "missing_unit":
        if columns["unit"][r] is None or columns["value_num"][r] is None:
            return False
        columns["unit"][r] = None
        return "unit"
    if kind == "impossible_value":
        if table == "survey_response":
            field = f"item_{rng.integers(1, 24):02d}"
            columns[field][r] = int(rng.choice([0, 6, 9, 44]))
            return field
        if columns["value_num"][r] is None:
            return False
        concept = code_system(columns["code_system"][r]).get(columns["code"][r])
        low, high = concept.plausible_range if concept else (None, None)
        if high is None:
            return False
        columns["value_num"][r] = float(high) * 10 + 1 if rng.random() < 0.7 or not low else -abs(float(high))
        return "value_num"
    if kind == "future_date":
        field = DATE_FIELD[table]
        value = columns[field][r]
        target = end + timedelta(days=int(rng.integers(10, 400)))
        columns[field][r] = (datetime.combine(target, value.time()) if isinstance(value, datetime) else target)
        return field
    if kind == "after_death":
        died = deaths.get(columns["cpr"][r])
        if died is None or (end - died).days < 2:
            return False
        field = DATE_FIELD[table]
        value = columns[field][r]
        target = died + timedelta(days=int(rng.integers(1, min(60, (end - died).days) + 1)))
        columns[field][r] = (datetime.combine(target, value.time()) if isinstance(value, datetime) else target)
        return field
    if kind == "missing_required":
        field = BLANK_FIELD.get(table, "cpr")
        columns[field][r] = ""
        return field
    raise ValueError(kind)


def break_csv_rows(folder: Path, manifest: Manifest, broken: dict[str, list[tuple[int, str]]],
                   delivery_id: str) -> list[dict]:
    """Break CSV lines after writing (too many or too few fields) and make the manifest truthful again."""
    found = []
    files = []
    for entry in manifest.files:
        rows = dict(broken.get(entry.table, []))
        if rows:
            path = folder / entry.path
            lines = path.read_text(encoding="utf-8").split("\n")
            for row, how in rows.items():
                fields = next(csv.reader([lines[row]]))
                fields = fields + ["ekstra felt"] if how == "extra" else fields[:max(1, len(fields) // 2)]
                buf = io.StringIO()
                csv.writer(buf, lineterminator="", quoting=csv.QUOTE_MINIMAL).writerow(fields)
                lines[row] = buf.getvalue()
                found.append({"delivery_id": delivery_id, "table": entry.table, "file": entry.path, "row": row,
                              "field": None, "kind": "broken_row"})
            path.write_text("\n".join(lines), encoding="utf-8")
            entry = dataclasses.replace(entry, sha256=sha256_of(path))
        files.append(entry)
    fixed = dataclasses.replace(manifest, files=tuple(files))
    (folder / MANIFEST_NAME).write_text(fixed.to_json(), encoding="utf-8")
    return found


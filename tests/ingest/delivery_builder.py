"""Hand-made deliveries for ingestion tests: small, valid by construction, easy to break on purpose.

`build_rows` gives one practice's tables as lists of dicts (the contract's fields, valid values from the
terminology, dates inside the period and the patients' lives). Tests change rows, then `write` them with the
contract's own `write_delivery`. `rewrite_file` edits a written file's bytes and keeps the manifest truthful, for
faults only a text file can have (bad encodings, broken CSV rows, unparsable values).
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kvalitetsplatform.contract import MANIFEST_NAME, TABLES
from kvalitetsplatform.contract.delivery import (
    Manifest,
    ManifestFile,
    arrow_schema,
    sha256_of,
    write_delivery,
)
from kvalitetsplatform.terminology import code_system

PERIOD = (date(2025, 11, 1), date(2025, 11, 30))
EXTRACT = datetime(2025, 12, 1, 2, 0)


def substitute_cpr(birth: date, serial: int, female: bool) -> str:
    """A CPR-shaped number by the substitute convention (day + 60): never a real person's number."""
    century_digit = "1" if birth.year < 2000 else "4"
    last = serial % 10
    if (last % 2 == 0) != female:
        last = (last + 1) % 10
    return f"{birth.day + 60:02d}{birth.month:02d}{birth.year % 100:02d}-{century_digit}{serial // 10 % 100:02d}{last}"


def _between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def build_rows(ydernummer: str = "012345", patients: int = 12, seed: int = 1,
               period: tuple[date, date] = PERIOD) -> dict[str, list[dict]]:
    people = random.Random(seed)  # the patients depend on the seed only, not on the period
    rng = random.Random(seed * 7919 + 1)
    start, end = period
    kommuner = [c for c in code_system("kommune").concepts.values() if c.extra.get("region_code") == "1082"]
    kommune = kommuner[seed % len(kommuner)].code
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    rows["practice"].append({
        "ydernummer": ydernummer, "valid_from": date(2020, 1, 1), "valid_to": None, "name": "Lægerne i Vestergade",
        "cvr": "12345678", "sor_code": "425271000016004", "region_code": "1082", "kommune_code": kommune,
        "cluster_id": "K082-07", "cluster_name": "Klynge Aarhus Vest", "practice_type": "kompagniskab", "n_gp": 2,
        "open_for_new_patients": False, "lps_vendor": "XMO"})
    rows["clinician"] += [
        {"clinician_id": "L01", "initials": "AKH", "role": "gp", "fte": 1.0},
        {"clinician_id": "L02", "initials": "BMS", "role": "nurse", "fte": 0.8},
    ]
    npu = code_system("NPU")
    labs = [npu[c] for c in ("NPU27300", "NPU01566", "NPU18016")]
    measures = [code_system("DNK")["DNK05472"], code_system("DNK")["DNK05473"], code_system("KP")["HOEJDE"]]
    ydelser = [c for c in code_system("ydelseskode").concepts.values() if c.extra.get("channel")]
    icpc = ["T90", "K86", "R95", "P76"]
    atc = ["C10AA05", "A10BA02", "C09AA05"]
    channels = {"physical", "phone", "email", "video", "home"}
    n = 0
    for i in range(patients):
        female = i % 2 == 0
        birth = _between(people, date(1935, 1, 1), date(2015, 12, 31))
        cpr = substitute_cpr(birth, 1000 + i * 7, female)
        died = i == patients - 1  # the last patient dies mid-period
        death = start + timedelta(days=14) if died else None
        rows["patient"].append({
            "cpr": cpr, "name": f"Testperson {i}", "birth_date": birth, "sex": "F" if female else "M",
            "kommune_code": kommune, "sikringsgruppe": 1,
            "list_start": _between(people, max(birth, date(2010, 1, 1)), date(2024, 12, 31)),
            "list_end": death, "death_date": death})
        last = death or end
        for _ in range(2):
            n += 1
            ydelse = rng.choice(ydelser)
            when = datetime.combine(_between(rng, start, last), datetime.min.time()) + timedelta(hours=9)
            channel = ydelse.extra["channel"] if ydelse.extra["channel"] in channels else "physical"
            rows["contact"].append({"contact_id": f"C{n:06d}", "cpr": cpr, "clinician_id": "L01",
                                    "contact_ts": when, "ydelseskode": ydelse.code, "channel": channel})
            rows["journal_note"].append({"note_id": f"N{n:06d}", "cpr": cpr, "note_ts": when + timedelta(minutes=5),
                                         "clinician_id": "L01", "source": "manual" if n % 3 else "speech",
                                         "contact_id": f"C{n:06d}", "text": "Kontrol af BT. Velbehandlet.\nFortsætter."})
        lab = labs[i % len(labs)]
        low, high = lab.plausible_range
        rows["lab_result"].append({
            "lab_id": f"L{i:07d}", "cpr": cpr, "code_system": "NPU", "code": lab.code,
            "value_num": round(low + (high - low) * 0.2, 1), "comparator": None, "value_text": None,
            "unit": lab.unit, "ref_low": None, "ref_high": None, "abnormal_flag": "N",
            "sampled_ts": datetime.combine(_between(rng, start, last), datetime.min.time()) + timedelta(hours=8),
            "producer": "KBA AUH"})
        measure = measures[i % len(measures)]
        low, high = measure.plausible_range
        system = "KP" if measure.code == "HOEJDE" else "DNK"
        rows["measurement"].append({
            "measurement_id": f"M{i:07d}", "cpr": cpr, "code_system": system, "code": measure.code,
            "value_num": round(low + (high - low) * 0.4, 1), "value_text": None, "unit": measure.unit,
            "measured_ts": datetime.combine(_between(rng, start, last), datetime.min.time()) + timedelta(hours=10)})
        rows["diagnosis"].append({
            "diagnosis_id": f"D{i:06d}", "cpr": cpr, "code_system": "ICPC2DK", "code": icpc[i % len(icpc)],
            "text": "diagnose", "onset_date": None, "recorded_date": _between(rng, start, last), "source": "lps",
            "status": "active"})
        prescribed = _between(rng, start, last)
        rows["prescription"].append({
            "prescription_id": f"R{i:07d}", "cpr": cpr, "clinician_id": "L01", "prescribed_date": prescribed,
            "atc": atc[i % len(atc)], "drug_name": "Præparat", "strength": "40 mg", "pack_size": 100, "n_packs": 1,
            "ddd": 100.0, "dosage_text": "1 tablet dagligt", "indication_text": None, "redeemed_date": None})
        if i % 4 == 0:
            rows["chronic_enrolment"].append({"enrolment_id": f"E{i:06d}", "cpr": cpr, "condition": "T2D",
                                              "start_date": _between(rng, start, last), "end_date": None})
        if i % 5 == 0:
            admitted = _between(rng, start, last)
            rows["hospital_admission"].append({
                "admission_id": f"H{i:06d}", "cpr": cpr, "admitted_date": admitted, "discharged_date": admitted,
                "diagnosis_code": "DE11", "acute": True, "hospital": "Aarhus Universitetshospital"})
    for j in range(3):
        answer = {"response_id": f"S{j:06d}", "wave": "2025", "answered_date": _between(rng, start, end),
                  "comment_good": "Lægen tog sig god tid.", "comment_improve": None}
        answer.update({f"item_{k:02d}": (j + k) % 5 + 1 for k in range(1, 24)})
        rows["survey_response"].append(answer)
    return rows


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_nullable(True) for f in schema])


def to_arrow(rows: dict[str, list[dict]]) -> dict[str, pa.Table]:
    return {name: pa.Table.from_pylist(data, schema=_nullable(arrow_schema(TABLES[name])))
            for name, data in rows.items()}


def _missing_required(rows: dict[str, list[dict]]) -> bool:
    return any(row.get(f) is None for name, data in rows.items() for row in data for f in TABLES[name].required)


def write(folder: Path, rows: dict[str, list[dict]], *, delivery_id: str = "012345-20251201T020000",
          ydernummer: str = "012345", extract_ts: datetime = EXTRACT, period: tuple[date, date] = PERIOD,
          fmt: str = "parquet", vendor: str = "XMO") -> Manifest:
    """Write with the contract's own writer; rows missing a required value (which it refuses to write) are
    written the same way but with every column nullable."""
    if not _missing_required(rows):
        return write_delivery(folder, delivery_id=delivery_id, ydernummer=ydernummer, vendor=vendor,
                              extract_ts=extract_ts, period_start=period[0], period_end=period[1],
                              tables=to_arrow(rows), fmt=fmt)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, data in to_arrow(rows).items():
        path = folder / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(data, path)
        else:
            pacsv.write_csv(data, path)
        files.append(ManifestFile(name, path.name, fmt, data.num_rows, sha256_of(path)))
    manifest = Manifest(delivery_id, ydernummer, vendor, extract_ts, period[0], period[1], tuple(files))
    (folder / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def rewrite_file(folder: Path, table: str, change, *, rows: int | None = None) -> None:
    """Replace a written file's bytes by change(bytes) and update its checksum (and row count if given)."""
    manifest_path = folder / MANIFEST_NAME
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry = next(f for f in data["files"] if f["table"] == table)
    path = folder / entry["path"]
    path.write_bytes(change(path.read_bytes()))
    entry["sha256"] = sha256_of(path)
    if rows is not None:
        entry["rows"] = rows
    manifest_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def edit_manifest(folder: Path, change) -> None:
    path = folder / MANIFEST_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")

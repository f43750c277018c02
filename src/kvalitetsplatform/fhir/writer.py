"""The extract contract as FHIR R4 in DK Core / MedCom shape: the reverse of the mapping.

`contract_to_fhir` turns one delivery's tables into resources that `to_delivery` reads back to the same rows —
every field the mapping reads is written, with the platform's extensions (fhir/systems.py EXT) for what FHIR
has no element for. Blood pressure pairs become a LOINC panel with DNK/MCS-coded components, as DK Core's
examples do; a lab result's producer is a contained Organization; the Medication is contained in its
MedicationRequest.

DanPEP answers (survey_response) become anonymous QuestionnaireResponses (no subject), one item per question.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from kvalitetsplatform.fhir import systems
from kvalitetsplatform.fhir.values import format_datetime
from kvalitetsplatform.terminology import code_system

DANPEP = f"{systems.KP_BASE}/Questionnaire/danpep"
CODE_SYSTEM_URI = {"NPU": systems.NPU_SYSTEMS[0], "DNK": systems.NPU_SYSTEMS[0], "MCS": systems.MCS_SYSTEMS[0],
                   "KP": systems.KP_CODES, "ICPC2DK": systems.ICPC2_SYSTEMS[0], "SKS": systems.SKS_D}
CHANNEL_CLASS = {"physical": "AMB", "home": "HH", "phone": "VR", "email": "VR", "video": "VR"}
ROLE_CODING = {"nurse": (systems.MEDCOM_ROLES, "sygeplejerske"), "secretary": (systems.MEDCOM_ROLES, "laegesekretaer"),
               "gp": (systems.V2_ROLES, "PP")}
BP_PAIRS = (("DNK05472", "DNK05473"), ("MCS88019", "MCS88020"))
LOINC_OF = {"DNK05472": "8480-6", "DNK05473": "8462-4", "MCS88019": "8480-6", "MCS88020": "8462-4"}
TEXT_CATEGORIES = {"RYGESTATUS": "social-history"}
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
DK = "http://hl7.dk/fhir/core/StructureDefinition/"


def _rows(data: pa.Table | Iterable[Mapping]) -> list[dict]:
    return data.to_pylist() if isinstance(data, pa.Table) else [dict(r) for r in data]


def _fhir_id(value: object, prefix: str) -> str:
    text = str(value)
    return text if _FHIR_ID.match(text) else prefix + "-" + re.sub(r"[^A-Za-z0-9\-.]", "-", text)[:60]


def _kp_id(table: str, value: object) -> dict:
    return {"system": systems.KP_ID + table, "value": str(value)}


def _coding(system_name: str | None, code: str | None) -> dict:
    coding: dict = {}
    if system_name:
        coding["system"] = CODE_SYSTEM_URI.get(system_name, system_name)
    if code is not None:
        coding["code"] = code
        cs = _code_system(system_name)
        if cs is not None and code in cs:
            coding["display"] = cs[code].label_da
    return coding


def _code_system(name: str | None):
    try:
        return code_system(name) if name else None
    except KeyError:
        return None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _clean(resource: dict) -> dict:
    """Drop empty elements, recursively, as FHIR requires (no nulls, no empty objects or lists)."""
    if isinstance(resource, dict):
        out = {k: _clean(v) for k, v in resource.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "")}
    if isinstance(resource, list):
        out = [_clean(v) for v in resource]
        return [v for v in out if v not in (None, {}, [], "")]
    return resource


def _ext(name: str, **value: object) -> dict:
    return {"url": systems.EXT[name], **value}


class _Writer:
    def __init__(self, ydernummer: str):
        self.ydernummer = ydernummer
        self.out: list[dict] = []
        self.patient_ids: dict[str, str] = {}
        self.practice_ref = {"reference": f"Organization/{_fhir_id(ydernummer, 'org')}"}

    def add(self, resource: dict) -> None:
        self.out.append(_clean(resource))

    def patient_ref(self, cpr: str | None) -> dict | None:
        if not cpr:  # a row without a CPR has no patient to point at (the import reports it)
            return None
        if cpr not in self.patient_ids:
            self.patient_ids[cpr] = f"patient-{len(self.patient_ids) + 1}"
        return {"reference": f"Patient/{self.patient_ids[cpr]}"}

    @staticmethod
    def clinician_ref(clinician_id: str | None) -> dict | None:
        return {"reference": f"Practitioner/{_fhir_id(clinician_id, 'clinician')}"} if clinician_id else None

    # --- tables --------------------------------------------------------------------------------------------
    def practice(self, rows: list[dict]) -> None:
        for i, row in enumerate(rows):
            org_id = _fhir_id(row["ydernummer"], "org") if i == 0 else f"{_fhir_id(row['ydernummer'], 'org')}-{i}"
            region = next((iso for iso, code in systems.ISO_REGION.items() if code == row.get("region_code")),
                          row.get("region_code"))
            identifiers = [{"system": systems.YDERNUMMER, "value": row["ydernummer"]},
                           {"system": systems.SOR, "value": row.get("sor_code")} if row.get("sor_code") else None,
                           {"use": "official", "system": systems.CVR, "value": row.get("cvr")}
                           if row.get("cvr") else None,
                           {"system": systems.MUNICIPALITY_CODES, "value": str(row["kommune_code"]).zfill(4)}
                           if row.get("kommune_code") else None,
                           {"system": systems.REGION_CODES, "value": region} if region else None]
            parts = [{"url": "valid", "valuePeriod": {"start": _day(row.get("valid_from")),
                                                      "end": _day(row.get("valid_to"))}},
                     *({"url": name, "valueString": row.get(name)} for name in
                       ("cluster_id", "cluster_name", "practice_type", "lps_vendor")),
                     {"url": "n_gp", "valueInteger": row.get("n_gp")},
                     {"url": "open_for_new_patients", "valueBoolean": row.get("open_for_new_patients")}]
            self.add({"resourceType": "Organization", "id": org_id,
                      "meta": {"profile": [DK + "dk-core-organization"]},
                      "extension": [_ext("practice", extension=parts)],
                      "identifier": [i for i in identifiers if i],
                      "type": [{"coding": [{"system": systems.SNOMED, "code": "394761003",
                                            "display": "Almen praksis"}]}],
                      "name": row.get("name")})

    def clinician(self, rows: list[dict]) -> None:
        for row in rows:
            pid = _fhir_id(row["clinician_id"], "clinician")
            self.add({"resourceType": "Practitioner", "id": pid, "meta": {"profile": [DK + "dk-core-practitioner"]},
                      "identifier": [_kp_id("clinician", row["clinician_id"]),
                                     {"system": systems.KP_ID + "initials", "value": row.get("initials")}
                                     if row.get("initials") else None]})
            role = row.get("role")
            standard = ROLE_CODING.get(role)
            self.add({"resourceType": "PractitionerRole", "id": f"{pid}-rolle",
                      "meta": {"profile": [DK + "dk-core-practitioner-role"]},
                      "extension": [_ext("fte", valueDecimal=row["fte"])] if row.get("fte") is not None else [],
                      "practitioner": {"reference": f"Practitioner/{pid}"}, "organization": self.practice_ref,
                      "code": [{"coding": [{"system": systems.KP_ROLES, "code": role} if role else None,
                                           {"system": standard[0], "code": standard[1]} if standard else None]}]})

    def patient(self, rows: list[dict]) -> None:
        by_cpr: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_cpr[row["cpr"]].append(row)
        for cpr, listings in by_cpr.items():
            first = listings[0]
            name = first.get("name")
            parts = name.split() if name else []
            human = {"use": "official", "text": name}
            if parts and " ".join(parts) == name:
                human.update(family=parts[-1], given=parts[:-1])
            cpr_system = systems.CPR if cpr.replace("-", "").isdigit() else systems.ECPR_PREFIX + "1"
            sex = first.get("sex")
            resource = {
                "resourceType": "Patient", "id": (self.patient_ref(cpr) or {"reference": "/patient-uden-cpr"}
                                                  )["reference"].split("/")[1],
                "meta": {"profile": [DK + "dk-core-patient"]},
                "identifier": [{"use": "official" if cpr_system == systems.CPR else "temp", "system": cpr_system,
                                "value": cpr}],
                "name": [human],
                "gender": {"F": "female", "M": "male"}.get(sex, sex),
                "birthDate": _day(first.get("birth_date")),
                "deceasedDateTime": _day(first.get("death_date")),
                "address": [{"use": "home", "extension": [{
                    "url": systems.MUNICIPALITY_EXTENSION,
                    "valueCodeableConcept": {"coding": [{"system": systems.MUNICIPALITY_CODES,
                                                         "code": str(first["kommune_code"]).zfill(4)}]}}]}]
                if first.get("kommune_code") else [],
                "generalPractitioner": [{
                    **self.practice_ref,
                    "extension": [_ext("listing-period", valuePeriod={"start": _day(row.get("list_start")),
                                                                      "end": _day(row.get("list_end"))}),
                                  _ext("sikringsgruppe", valueInteger=row.get("sikringsgruppe"))],
                } for row in listings],
            }
            self.add(resource)

    def contact(self, rows: list[dict]) -> None:
        for row in rows:
            code = row.get("ydelseskode")
            ydelse = code_system("ydelseskode")
            self.add({
                "resourceType": "Encounter", "id": _fhir_id(row["contact_id"], "contact"),
                "meta": {"profile": [DK + "dk-core-encounter"]},
                "extension": [_ext("contact-channel", valueCode=row.get("channel"))],
                "identifier": [_kp_id("contact", row["contact_id"])],
                "status": "finished",
                "class": {"system": systems.ACT_CODE, "code": CHANNEL_CLASS.get(row.get("channel"), "AMB")},
                "type": [{"coding": [{"system": systems.YDELSESKODE, "code": code,
                                      "display": ydelse[code].label_da if code in ydelse else None}]}]
                if code else [],
                "subject": self.patient_ref(row["cpr"]),
                "participant": [{"individual": self.clinician_ref(row.get("clinician_id"))}],
                "period": {"start": format_datetime(row["contact_ts"]) if row.get("contact_ts") else None},
                "serviceProvider": self.practice_ref,
            })

    def diagnosis(self, rows: list[dict]) -> None:
        for row in rows:
            status = row.get("status")
            self.add({
                "resourceType": "Condition", "id": _fhir_id(row["diagnosis_id"], "diagnosis"),
                "meta": {"profile": [DK + "dk-core-condition"]},
                "extension": [_ext("diagnosis-source", valueCode=row.get("source"))],
                "identifier": [_kp_id("diagnosis", row["diagnosis_id"])],
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": status}]} if status else None,
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                          "code": "problem-list-item"}]}],
                "code": {"coding": [_coding(row.get("code_system"), row.get("code"))], "text": row.get("text")},
                "subject": self.patient_ref(row["cpr"]),
                "onsetDateTime": _day(row.get("onset_date")),
                "recordedDate": _day(row.get("recorded_date")),
            })

    def _value(self, row: dict) -> dict:
        value: dict = {}
        if row.get("value_num") is not None or (row.get("unit") and row.get("value_text") is None):
            value["valueQuantity"] = {"value": row.get("value_num"), "comparator": row.get("comparator"),
                                      "unit": row.get("unit")}
            if row.get("value_text") is not None:
                value["extension"] = [_ext("value-text", valueString=row["value_text"])]
        elif row.get("value_text") is not None:
            value["valueString"] = row["value_text"]
            if row.get("unit"):
                value["extension"] = [_ext("unit", valueString=row["unit"])]
        return value

    def lab_result(self, rows: list[dict]) -> None:
        for row in rows:
            value = self._value(row)
            low, high = row.get("ref_low"), row.get("ref_high")
            flag = row.get("abnormal_flag")
            producer = row.get("producer")
            self.add({
                "resourceType": "Observation", "id": _fhir_id(row["lab_id"], "lab"),
                "meta": {"profile": [DK + "dk-core-observation"]},
                "contained": [{"resourceType": "Organization", "id": "laboratorium", "name": producer}]
                if producer else [],
                "extension": value.pop("extension", []),
                "identifier": [_kp_id("lab_result", row["lab_id"])],
                "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "laboratory"}]}],
                "code": {"coding": [_coding(row.get("code_system"), row.get("code"))]},
                "subject": self.patient_ref(row["cpr"]),
                "effectiveDateTime": format_datetime(row["sampled_ts"]) if row.get("sampled_ts") else None,
                "performer": [{"reference": "#laboratorium"}] if producer else [],
                **value,
                "interpretation": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": flag}]}]
                if flag else [],
                "referenceRange": [{"low": {"value": low} if low is not None else None,
                                    "high": {"value": high} if high is not None else None}],
            })

    def measurement(self, rows: list[dict]) -> None:
        # A systolic and a diastolic value taken together become one blood-pressure panel, as DK Core writes
        # it.
        pending: dict[tuple, dict] = {}
        panels: dict[int, tuple[dict, dict]] = {}
        for i, row in enumerate(rows):
            for systolic, diastolic in BP_PAIRS:
                if row.get("code") in (systolic, diastolic) and row.get("value_num") is not None \
                        and row.get("value_text") is None and row.get("measured_ts") is not None:
                    other = diastolic if row["code"] == systolic else systolic
                    key = (row["cpr"], row["measured_ts"], other)
                    if key in pending:
                        partner = pending.pop(key)
                        pair = (partner, row) if partner["code"] == systolic else (row, partner)
                        panels[id(partner)] = pair
                        panels[id(row)] = pair
                    else:
                        pending[(row["cpr"], row["measured_ts"], row["code"])] = row
        done: set[int] = set()
        for row in rows:
            if id(row) in done:
                continue
            if id(row) in panels:
                systolic, diastolic = panels[id(row)]
                done.update((id(systolic), id(diastolic)))
                self.add(self._bp_panel(systolic, diastolic))
                continue
            code = row.get("code") or ""
            category = TEXT_CATEGORIES.get(code, "exam" if row.get("value_text") is not None else "vital-signs")
            value = self._value(row)
            self.add({
                "resourceType": "Observation", "id": _fhir_id(row["measurement_id"], "measurement"),
                "meta": {"profile": [DK + "dk-core-observation"]},
                "extension": value.pop("extension", []),
                "identifier": [_kp_id("measurement", row["measurement_id"])],
                "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": category}]}],
                "code": {"coding": [_coding(row.get("code_system"), row.get("code"))]},
                "subject": self.patient_ref(row["cpr"]),
                "effectiveDateTime": format_datetime(row["measured_ts"]) if row.get("measured_ts") else None,
                **value,
            })

    def _bp_panel(self, systolic: dict, diastolic: dict) -> dict:
        def component(row: dict) -> dict:
            return {"id": row["measurement_id"],
                    "code": {"coding": [_coding(row["code_system"], row["code"]),
                                        {"system": systems.LOINC, "code": LOINC_OF[row["code"]]}]},
                    "valueQuantity": {"value": row["value_num"], "unit": row.get("unit"),
                                      "system": systems.UCUM if row.get("unit") == "mmHg" else None,
                                      "code": "mm[Hg]" if row.get("unit") == "mmHg" else None}}

        home = systolic["code"].startswith("MCS")
        return {
            "resourceType": "Observation", "id": _fhir_id(f"{systolic['measurement_id']}-bt", "measurement"),
            "meta": {"profile": [DK + "dk-core-basic-observation"]},
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [{"system": systems.LOINC, "code": systems.BP_PANEL},
                                *([{"system": systems.SKS, "code": "ZZ3170",
                                    "display": "Hjemmeblodtryksmåling udført af patienten"}] if home else [])]},
            "subject": self.patient_ref(systolic["cpr"]),
            "effectiveDateTime": format_datetime(systolic["measured_ts"]),
            "component": [component(systolic), component(diastolic)],
        }

    def prescription(self, rows: list[dict]) -> None:
        for row in rows:
            rid = _fhir_id(row["prescription_id"], "prescription")
            medication = {
                "resourceType": "Medication", "id": "laegemiddel",
                "extension": [_ext("strength", valueString=row.get("strength"))],
                "code": {"coding": [{"system": systems.ATC_SYSTEMS[0], "code": row.get("atc"),
                                     "display": (code_system("ATC").get(row["atc"]).label_da
                                                 if row.get("atc") in code_system("ATC") else None)}],
                         "text": row.get("drug_name")},
                "amount": {"numerator": {"value": row.get("pack_size")}, "denominator": {"value": 1,
                                                                                        "unit": "pakning"}}
                if row.get("pack_size") is not None else None,
            }
            n_packs = row.get("n_packs")
            self.add({
                "resourceType": "MedicationRequest", "id": rid,
                "meta": {"profile": [DK + "dk-core-medicationrequest"]},
                "contained": [medication],
                "extension": [_ext("ddd", valueDecimal=row.get("ddd"))],
                "identifier": [_kp_id("prescription", row["prescription_id"])],
                "status": "active", "intent": "order",
                "medicationReference": {"reference": "#laegemiddel"},
                "subject": self.patient_ref(row["cpr"]),
                "authoredOn": _day(row.get("prescribed_date")),
                "requester": self.clinician_ref(row.get("clinician_id")),
                "reasonCode": [{"text": row.get("indication_text")}],
                "dosageInstruction": [{"text": row.get("dosage_text")}],
                "dispenseRequest": {"quantity": {"value": n_packs, "unit": "pakning", "system": systems.UCUM,
                                                 "code": "{pakning}"}} if n_packs is not None else None,
            })
            if row.get("redeemed_date") is not None:
                self.add({
                    "resourceType": "MedicationDispense", "id": f"{rid}-udlevering", "status": "completed",
                    "medicationCodeableConcept": {"coding": [{"system": systems.ATC_SYSTEMS[0],
                                                              "code": row.get("atc")}]},
                    "subject": self.patient_ref(row["cpr"]),
                    "authorizingPrescription": [{"reference": f"MedicationRequest/{rid}"}],
                    "whenHandedOver": _day(row["redeemed_date"]),
                })

    def chronic_enrolment(self, rows: list[dict]) -> None:
        icpc = {v: k for k, v in {"T90": "T2D", "R95": "COPD"}.items()}
        for row in rows:
            code = icpc.get(row.get("condition"), row.get("condition"))
            self.add({
                "resourceType": "EpisodeOfCare", "id": _fhir_id(row["enrolment_id"], "enrolment"),
                "identifier": [_kp_id("chronic_enrolment", row["enrolment_id"])],
                "status": "finished" if row.get("end_date") else "active",
                "type": [{"coding": [_coding("ICPC2DK", code)], "text": "Kronikerforløb"}],
                "patient": self.patient_ref(row["cpr"]),
                "managingOrganization": self.practice_ref,
                "period": {"start": _day(row.get("start_date")), "end": _day(row.get("end_date"))},
            })

    def hospital_admission(self, rows: list[dict]) -> None:
        for row in rows:
            acute = row.get("acute")
            self.add({
                "resourceType": "Encounter", "id": _fhir_id(row["admission_id"], "admission"),
                "meta": {"profile": [DK + "dk-core-encounter"]},
                "contained": [
                    {"resourceType": "Condition", "id": "diagnose", "code": {"coding": [
                        _coding("SKS", row.get("diagnosis_code"))]}, "subject": self.patient_ref(row["cpr"])}
                    if row.get("diagnosis_code") else None,
                    {"resourceType": "Organization", "id": "hospital", "name": row.get("hospital")}
                    if row.get("hospital") else None],
                "identifier": [_kp_id("hospital_admission", row["admission_id"])],
                "status": "finished" if row.get("discharged_date") else "in-progress",
                "class": {"system": systems.ACT_CODE, "code": "IMP"},
                "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActPriority",
                                         "code": "EM" if acute else "R"}]} if acute is not None else None,
                "subject": self.patient_ref(row["cpr"]),
                "period": {"start": _day(row.get("admitted_date")), "end": _day(row.get("discharged_date"))},
                "diagnosis": [{"condition": {"reference": "#diagnose"}, "rank": 1}]
                if row.get("diagnosis_code") else [],
                "serviceProvider": {"reference": "#hospital"} if row.get("hospital") else None,
            })

    def journal_note(self, rows: list[dict]) -> None:
        import base64

        for row in rows:
            text = row.get("text")
            self.add({
                "resourceType": "Observation", "id": _fhir_id(row["note_id"], "note"),
                "meta": {"profile": ["http://medcomfhir.dk/ig/notes/StructureDefinition/medcom-notes-observation"]},
                "extension": [
                    {"url": "http://medcomfhir.dk/ig/core/StructureDefinition/"
                            "medcom-observation-value-attachment-extension",
                     "valueAttachment": {"contentType": "text/plain; charset=utf-8",
                                         "data": base64.b64encode(text.encode()).decode()}} if text is not None
                    else None,
                    _ext("note-source", valueCode=row.get("source"))],
                "identifier": [_kp_id("journal_note", row["note_id"])],
                "status": "final",
                "code": {"coding": [{"system": systems.SNOMED, "code": "866144008", "display": "Encounter note"}]},
                "subject": self.patient_ref(row["cpr"]),
                "encounter": {"reference": f"Encounter/{_fhir_id(row['contact_id'], 'contact')}"}
                if row.get("contact_id") else None,
                "effectiveDateTime": format_datetime(row["note_ts"]) if row.get("note_ts") else None,
                "performer": [self.clinician_ref(row.get("clinician_id"))],
            })


    def survey_response(self, rows: list[dict]) -> None:
        for row in rows:
            items = [{"linkId": "wave", "answer": [{"valueString": row.get("wave")}]}]
            items += [{"linkId": f"item_{i:02d}", "answer": [{"valueInteger": row.get(f"item_{i:02d}")}]}
                      for i in range(1, 24)]
            items += [{"linkId": name, "answer": [{"valueString": row.get(name)}]}
                      for name in ("comment_good", "comment_improve")]
            self.add({
                "resourceType": "QuestionnaireResponse", "id": _fhir_id(row["response_id"], "survey"),
                "identifier": _kp_id("survey_response", row["response_id"]), "questionnaire": DANPEP,
                "status": "completed", "authored": _day(row.get("answered_date")), "item": items,
            })


TABLE_ORDER = ("practice", "clinician", "patient", "contact", "diagnosis", "lab_result", "measurement",
               "prescription", "chronic_enrolment", "hospital_admission", "journal_note", "survey_response")


def contract_to_fhir(tables: Mapping[str, pa.Table | Iterable[Mapping]], ydernummer: str) -> list[dict]:
    """One delivery's contract tables as FHIR R4 resources (patients first referenced get ids patient-1, -2
    …)."""
    writer = _Writer(ydernummer)
    unknown = set(tables) - set(TABLE_ORDER)
    if unknown:
        raise ValueError(f"ukendte tabeller: {', '.join(sorted(unknown))}")
    for name in TABLE_ORDER:
        if name in tables:
            getattr(writer, name)(_rows(tables[name]))
    return writer.out


def write_ndjson(folder: Path, resources: list[dict]) -> list[Path]:
    """Resources as a bulk-export folder: one `<Type>.ndjson` per resource type."""
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[dict]] = defaultdict(list)
    for resource in resources:
        by_type[resource["resourceType"]].append(resource)
    paths = []
    for kind, items in by_type.items():
        path = folder / f"{kind}.ndjson"
        path.write_text("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in items),
                        encoding="utf-8")
        paths.append(path)
    return paths


def read_delivery(folder: Path):
    """A delivery's manifest and its tables (Parquet or CSV, read with the contract's types)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from kvalitetsplatform.contract import TABLES
    from kvalitetsplatform.contract.delivery import arrow_schema, read_manifest

    manifest = read_manifest(folder)
    tables = {}
    for f in manifest.files:
        path = folder / f.path
        tables[f.table] = pq.read_table(path) if f.format == "parquet" else pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(column_types=arrow_schema(TABLES[f.table]),
                                                       strings_can_be_null=True))
    return manifest, tables


def export_tree(folder: Path) -> int:
    """Replace every delivery under `folder` by its FHIR Bulk Data export, in the same place (for `kp synth
    --format fhir`). Returns the number of deliveries converted."""
    import shutil

    from kvalitetsplatform.contract import MANIFEST_NAME

    done = 0
    for manifest_path in sorted(folder.rglob(MANIFEST_NAME)):
        delivery = manifest_path.parent
        manifest, tables = read_delivery(delivery)
        staging = delivery.with_name(delivery.name + ".fhir")
        write_bulk_export(staging, contract_to_fhir(tables, manifest.ydernummer), manifest)
        shutil.rmtree(delivery)
        staging.rename(delivery)
        done += 1
    return done


def write_bulk_export(folder: Path, resources: list[dict], manifest) -> list[Path]:
    """Resources as a FHIR Bulk Data export of one delivery: NDJSON per resource type plus the export manifest
    (export-manifest.json), whose transactionTime is the extract time and whose extension names the delivery,
    so that an import gives the same manifest back. `manifest` is the delivery's contract Manifest."""
    paths = write_ndjson(folder, resources)
    since = datetime.combine(manifest.period_start, datetime.min.time())
    export = {
        "transactionTime": format_datetime(manifest.extract_ts),
        "request": f"{systems.KP_BASE}/Group/{manifest.ydernummer}/$export?_since={format_datetime(since)}",
        "requiresAccessToken": False,
        "output": [{"type": p.stem, "url": p.name, "count": sum(1 for _ in p.open(encoding="utf-8"))}
                   for p in paths],
        "error": [],
        "extension": {systems.BULK_DELIVERY: {
            "delivery_id": manifest.delivery_id, "ydernummer": manifest.ydernummer, "vendor": manifest.vendor,
            "period_start": manifest.period_start.isoformat(), "period_end": manifest.period_end.isoformat()}},
    }
    target = folder / systems.BULK_MANIFEST_NAME
    target.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return [*paths, target]


def to_bundle(resources: list[dict], bundle_type: str = "collection", bundle_id: str | None = None,
              timestamp: datetime | None = None) -> dict:
    """Resources as one Bundle; each entry's fullUrl is its relative URL's absolute form under the platform
    base."""
    entries = []
    for resource in resources:
        entry: dict = {"fullUrl": f"{systems.KP_BASE}/{resource['resourceType']}/{resource['id']}",
                       "resource": resource}
        if bundle_type in ("transaction", "batch"):
            entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        entries.append(entry)
    return _clean({"resourceType": "Bundle", "id": bundle_id, "type": bundle_type,
                   "timestamp": format_datetime(timestamp) if timestamp else None, "entry": entries})

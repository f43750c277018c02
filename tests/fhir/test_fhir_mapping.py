"""The mapping element by element: identifiers, code systems under their several URIs, blood pressure as a
panel and as single observations, comparators, medication, contacts and admissions, dates and times, and what
the mapping reports rather than writes."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from .fhir_support import EXTRACT_TS, LISTED_FROM, import_fhir, ingest_delivery
from kvalitetsplatform.fhir import FhirImportError
from .test_fhir_reader import PRACTICE, YDER, diabetes, hba1c, patient, write


def bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def run(tmp_path: Path, *resources: dict, **kwargs):
    kwargs.setdefault("ydernummer", YDER)
    kwargs.setdefault("practice", PRACTICE)
    kwargs.setdefault("listed_from", LISTED_FROM)
    path = write(tmp_path / "in.json", bundle(*resources))
    return import_fhir([path], tmp_path / "delivery", **kwargs)


def refused(tmp_path: Path, tables: dict) -> dict[str, list[set[str]]]:
    """What the real ingestion quarantines of the delivery `run` wrote: per table, the refused fields of each
    row, in row order."""
    result, quarantine = ingest_delivery(tmp_path / "delivery", tmp_path / "home")
    assert result.status == "loaded", result.error
    return {t: [{field for field, _ in quarantine.get((t, i), [])} for i in range(1, len(rows) + 1)]
            for t, rows in tables.items() if rows}


def observation(oid: str, coding: list[dict], value: dict | None = None, **more) -> dict:
    return {"resourceType": "Observation", "id": oid, "status": "final", "code": {"coding": coding},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2025-10-01T08:15:00+02:00",
            **({"valueQuantity": value} if value else {}), **more}


LOINC, NPU_OID, NPU_URL = "http://loinc.org", "urn:oid:1.2.208.176.2.1", "http://npu-terminology.org"
BP_COMPONENTS = [
    {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": {"value": 138, "code": "mm[Hg]"}},
    {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": {"value": 82, "code": "mm[Hg]"}},
]


# --- patients ---------------------------------------------------------------------------------------------
def test_without_a_listing_a_patient_cannot_be_written_and_is_reported(tmp_path):
    _, report, tables = run(tmp_path, patient(), listed_from=None)
    assert tables["patient"] == []
    [error] = report.errors
    assert error.resource == "Patient/p1" and error.element == (
        "Patient.generalPractitioner.extension[sikringsgruppe], Patient.generalPractitioner.extension[listing-period]")
    assert error.message.startswith("sikringsgruppe og list_start mangler")


def test_a_listing_carried_in_the_platform_extension_is_used(tmp_path):
    from kvalitetsplatform.fhir.systems import EXT

    gp = {"reference": "Organization/praksis", "extension": [
        {"url": EXT["listing-period"], "valuePeriod": {"start": "2015-03-01", "end": "2025-09-30"}},
        {"url": EXT["sikringsgruppe"], "valueInteger": 2}]}
    _, report, tables = run(tmp_path, patient(generalPractitioner=[gp]), listed_from=None)
    [row] = tables["patient"]
    assert (row["sikringsgruppe"], row["list_start"], row["list_end"]) == (2, date(2015, 3, 1), date(2025, 9, 30))
    assert not report.issues


def test_cpr_wins_over_ecpr_and_ecpr_alone_is_accepted(tmp_path):
    both = patient(identifier=[{"system": "urn:oid:1.2.208.176.1.6.1.1", "value": "0703921VJ4"},
                               {"system": "urn:oid:1.2.208.176.1.2", "value": "0703921234"}])
    d_ecpr = patient("p2", identifier=[{"system": "urn:oid:1.2.208.176.1.6.1.3.177", "value": "0703925AB1"}])
    none = patient("p3", identifier=[{"system": "https://example.org/journal", "value": "123"}])
    _, report, tables = run(tmp_path, both, d_ecpr, none)
    assert [r["cpr"] for r in tables["patient"]] == ["0703921234", "0703925AB1"]
    [error] = report.errors
    assert (error.resource, error.element) == ("Patient/p3", "Patient.identifier")
    assert "hverken CPR-nummer" in error.message


def test_one_person_in_several_patient_resources_is_one_patient(tmp_path):
    short = patient("a", name=[{"family": "Hansen"}], gender=None, birthDate=None)
    full = patient("b", name=[{"given": ["Karen", "Marie"], "family": "Hansen"}], gender="female",
                   address=[{"use": "home", "extension": [{
                       "url": "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes",
                       "valueCodeableConcept": {"coding": [{"code": "0751"}]}}]}])
    _, report, tables = run(tmp_path, {k: v for k, v in short.items() if v is not None}, full)
    [row] = tables["patient"]
    assert (row["name"], row["sex"], row["birth_date"], row["kommune_code"]) == (
        "Hansen", "F", date(1970, 1, 1), "751")
    [warning] = report.warnings
    assert (warning.resource, warning.element) == ("Patient/b", "Patient.name")
    assert "samme CPR som Patient/a" in warning.message and "'Karen Marie Hansen'" in warning.message


@pytest.mark.parametrize("gender, sex", [("male", "M"), ("female", "F"), ("other", "other"), ("unknown", "unknown"),
                                         (None, "")])
def test_gender_becomes_sex_and_anything_else_is_left_for_quarantine(tmp_path, gender, sex):
    p = patient(gender=gender) if gender else {k: v for k, v in patient().items() if k != "gender"}
    _, _, tables = run(tmp_path, p)
    [row] = tables["patient"]
    assert row["sex"] == sex
    assert ("sex" in refused(tmp_path, tables)["patient"][0]) == (sex not in ("F", "M"))


def test_an_incomplete_birth_date_is_reported_twice_over(tmp_path):
    _, report, tables = run(tmp_path, patient(birthDate="1974"))
    assert tables["patient"] == []
    assert [(i.severity, i.element) for i in report.issues if i.resource] == [
        ("advarsel", "Patient.birthDate"), ("fejl", "Patient.birthDate")]
    assert "'1974' er ufuldstændig" in report.issues[0].message


# --- observations -----------------------------------------------------------------------------------------
def test_blood_pressure_as_a_panel_and_as_single_observations_give_the_same_codes(tmp_path):
    panel = observation("bt", [{"system": LOINC, "code": "85354-9"}], component=BP_COMPONENTS)
    systolic = observation("sys", [{"system": LOINC, "code": "8480-6"}], {"value": 139, "unit": "mmHg"})
    diastolic = observation("dia", [{"system": NPU_URL, "code": "DNK05473"}], {"value": 83, "unit": "mmHg"})
    _, _, tables = run(tmp_path, patient(), panel, systolic, diastolic)
    assert [(r["measurement_id"], r["code_system"], r["code"], r["value_num"], r["unit"])
            for r in tables["measurement"]] == [
        ("bt-DNK05472", "DNK", "DNK05472", 138.0, "mmHg"), ("bt-DNK05473", "DNK", "DNK05473", 82.0, "mmHg"),
        ("sys", "DNK", "DNK05472", 139.0, "mmHg"), ("dia", "DNK", "DNK05473", 83.0, "mmHg")]
    assert refused(tmp_path, tables)["measurement"] == [set()] * 4


def test_blood_pressure_measured_by_the_patient_is_home_blood_pressure(tmp_path):
    panel = observation("bt", [{"system": LOINC, "code": "85354-9"}], component=BP_COMPONENTS,
                        performer=[{"reference": "Patient/p1"}])
    _, _, tables = run(tmp_path, patient(), panel)
    assert [r["code"] for r in tables["measurement"]] == ["MCS88019", "MCS88020"]


@pytest.mark.parametrize("system, code, table, code_system", [
    (NPU_OID, "NPU27300", "lab_result", "NPU"),
    (NPU_URL, "NPU27300", "lab_result", "NPU"),
    (NPU_OID, "DNK35302", "lab_result", "DNK"),
    (NPU_OID, "NPU03804", "measurement", "NPU"),
    ("http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-observation-codes", "MCS88015", "measurement", "MCS"),
    ("urn:oid:1.2.208.184.100.8", "MCS88021", "measurement", "MCS"),
    (LOINC, "29463-7", "measurement", "NPU"),
])
def test_danish_lab_and_measurement_codes_under_each_uri(tmp_path, system, code, table, code_system):
    _, _, tables = run(tmp_path, patient(), observation("o", [{"system": system, "code": code}], {"value": 1.2}))
    [row] = tables[table]
    assert row["code_system"] == code_system and row["code"] in (code, "NPU03804")


def test_the_senders_category_decides_the_table(tmp_path):
    category = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                             "code": "laboratory"}]}]
    weight = observation("w", [{"system": NPU_OID, "code": "NPU03804"}], {"value": 80, "unit": "kg"},
                         category=category)
    _, _, tables = run(tmp_path, patient(), weight)
    assert [r["lab_id"] for r in tables["lab_result"]] == ["w"] and tables["measurement"] == []


def test_lab_result_fields_comparator_reference_range_flag_and_producer(tmp_path):
    uacr = observation("u", [{"system": NPU_OID, "code": "NPU19661"}], {"value": 3, "comparator": "<", "unit": "mg/g"},
                       referenceRange=[{"low": {"value": 0}, "high": {"value": 30}}],
                       interpretation=[{"coding": [{"code": "N"}]}],
                       performer=[{"reference": "Organization/kba"}])
    lab = {"resourceType": "Organization", "id": "kba", "name": "KBA AUH"}
    _, _, tables = run(tmp_path, patient(), uacr, lab)
    [row] = tables["lab_result"]
    assert {k: row[k] for k in ("comparator", "value_num", "unit", "ref_low", "ref_high", "abnormal_flag",
                                "producer")} == {"comparator": "<", "value_num": 3.0, "unit": "mg/g", "ref_low": 0.0,
                                                 "ref_high": 30.0, "abnormal_flag": "N", "producer": "KBA AUH"}
    assert refused(tmp_path, tables)["lab_result"] == [set()]


def test_a_comparator_the_contract_does_not_know_is_kept_for_quarantine(tmp_path):
    odd = observation("x", [{"system": NPU_OID, "code": "NPU19748"}], {"value": 5, "comparator": "ad", "unit": "mg/L"})
    _, _, tables = run(tmp_path, patient(), odd)
    assert refused(tmp_path, tables)["lab_result"] == [{"comparator"}]


def test_a_coded_text_value_and_a_value_type_without_a_place(tmp_path):
    smoking = observation("s", [{"system": "https://kvalitetsplatform.dk/fhir/CodeSystem/kp", "code": "RYGESTATUS"}],
                          valueCodeableConcept={"text": "tidligere ryger"})
    ratio = observation("r", [{"system": NPU_OID, "code": "NPU19661"}], valueRatio={"numerator": {"value": 1}})
    _, report, tables = run(tmp_path, patient(), smoking, ratio)
    assert [(r["code"], r["value_text"]) for r in tables["measurement"]] == [("RYGESTATUS", "tidligere ryger")]
    assert refused(tmp_path, tables)["measurement"] == [set()]
    assert [(w.resource, w.element) for w in report.warnings] == [("Observation/r", "Observation.valueRatio")]


def test_a_date_in_the_future_is_written_for_ingestion_to_refuse_and_left_out_of_the_period(tmp_path):
    future = observation("f", [{"system": NPU_OID, "code": "NPU27300"}], {"value": 50, "unit": "mmol/mol"},
                         effectiveDateTime="2027-01-05T10:00:00+01:00")
    manifest, _, tables = run(tmp_path, patient(), hba1c(), future)
    assert refused(tmp_path, tables)["lab_result"] == [set(), {"sampled_ts"}]
    assert (manifest.period_start, manifest.period_end) == (date(2025, 10, 1), date(2025, 10, 1))


def test_times_become_danish_local_time(tmp_path):
    times = {"a": "2025-01-15T08:00:00Z", "b": "2025-07-15T08:00:00Z", "c": "2025-07-15T10:00:00+02:00",
             "d": "2025-07-15", "e": "2025-07-15T10:00:00.123456+02:00"}
    obs = [observation(k, [{"system": NPU_OID, "code": "NPU27300"}], {"value": 50}, effectiveDateTime=v)
           for k, v in times.items()]
    _, _, tables = run(tmp_path, patient(), *obs)
    assert {r["lab_id"]: r["sampled_ts"] for r in tables["lab_result"]} == {
        "a": datetime(2025, 1, 15, 9, 0), "b": datetime(2025, 7, 15, 10, 0), "c": datetime(2025, 7, 15, 10, 0),
        "d": datetime(2025, 7, 15, 0, 0), "e": datetime(2025, 7, 15, 10, 0)}


def test_an_observation_without_a_time_cannot_be_written(tmp_path):
    timeless = {k: v for k, v in hba1c().items() if k != "effectiveDateTime"}
    _, report, tables = run(tmp_path, patient(), timeless)
    assert tables["lab_result"] == []
    [error] = report.errors
    assert (error.element, error.message.split(" (")[0]) == ("Observation.effective[x]", "sampled_ts mangler")


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "registered"])
def test_observations_that_are_no_result_are_skipped(tmp_path, status):
    _, report, tables = run(tmp_path, patient(), {**hba1c(), "status": status})
    assert tables["lab_result"] == []
    assert [(i.severity, i.resource) for i in report.issues if i.resource] == [("info", "Observation/o1")]


# --- diagnoses --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("system, code, expected", [
    ("urn:oid:1.2.208.176.2.31", "t90", ("ICPC2DK", "T90")),
    ("http://hl7.dk/fhir/core/CodeSystem/icpc2E-DK", "K86", ("ICPC2DK", "K86")),
    ("https://kiap.dk/koder/icpc-2-dk", "R95", ("ICPC2DK", "R95")),
    ("urn:oid:1.2.208.176.2.4.12", "DI21", ("SKS", "DI21")),
    ("urn:oid:1.2.208.176.2.4", "DE11", ("SKS", "DE11")),
    ("http://hl7.org/fhir/sid/icd-10", "E11.0", ("SKS", "DE110")),
])
def test_diagnosis_systems(tmp_path, system, code, expected):
    condition = {**diabetes(), "code": {"coding": [{"system": system, "code": code}]}}
    _, _, tables = run(tmp_path, patient(), condition)
    [row] = tables["diagnosis"]
    assert (row["code_system"], row["code"]) == expected
    assert refused(tmp_path, tables)["diagnosis"] == [set()]
    assert row["source"] == ("lps" if expected[0] == "ICPC2DK" else "discharge_letter")


@pytest.mark.parametrize("clinical, abatement, status", [
    ("active", None, "active"), ("recurrence", None, "active"), ("remission", None, "resolved"),
    ("resolved", None, "resolved"), (None, None, "active"), (None, "2024-01-01", "resolved")])
def test_diagnosis_status(tmp_path, clinical, abatement, status):
    condition = diabetes()
    if clinical:
        condition["clinicalStatus"] = {"coding": [{"code": clinical}]}
    if abatement:
        condition["abatementDateTime"] = abatement
    _, _, tables = run(tmp_path, patient(), condition)
    assert tables["diagnosis"][0]["status"] == status


def test_a_refuted_diagnosis_is_no_diagnosis(tmp_path):
    refuted = {**diabetes(), "verificationStatus": {"coding": [{"code": "refuted"}]}}
    _, report, tables = run(tmp_path, patient(), refuted)
    assert tables["diagnosis"] == []
    assert [(i.severity, i.element) for i in report.issues if i.resource] == [("info", "Condition.verificationStatus")]


# --- contacts, admissions, pathways -----------------------------------------------------------------------
def encounter(eid: str, klass: str, ydelse: str | None = None, **more) -> dict:
    return {"resourceType": "Encounter", "id": eid, "status": "finished", "class": {"code": klass},
            "subject": {"reference": "Patient/p1"}, "period": {"start": "2025-11-03T09:20:00+01:00"},
            "type": [{"coding": [{"system": "https://kvalitetsplatform.dk/fhir/CodeSystem/ydelseskode",
                                  "code": ydelse}]}] if ydelse else [], **more}


def test_encounters_become_contacts_with_channel_from_class_or_ydelseskode(tmp_path):
    doctor = {"resourceType": "Practitioner", "id": "l1", "name": [{"given": ["Anne", "Kirstine"],
                                                                    "family": "Holm"}],
              "qualification": [{"code": {"coding": [{"system":
                                                      "http://hl7.dk/fhir/core/CodeSystem/DkCoreProfessionGroupCodes",
                                                      "code": "7170"}]}}]}
    role = {"resourceType": "PractitionerRole", "id": "r1", "practitioner": {"reference": "Practitioner/l1"}}
    contacts = [encounter("c1", "AMB", "0101", participant=[{"individual": {"reference": "PractitionerRole/r1"}}]),
                encounter("c2", "VR", "0201"), encounter("c3", "VR", "0125"), encounter("c4", "HH", "0411"),
                encounter("c5", "VR")]
    _, _, tables = run(tmp_path, patient(), doctor, role, *contacts)
    assert [(r["contact_id"], r["ydelseskode"], r["channel"], r["clinician_id"]) for r in tables["contact"]] == [
        ("c1", "0101", "physical", "l1"), ("c2", "0201", "phone", None), ("c3", "0125", "video", None),
        ("c4", "0411", "home", None), ("c5", "", "", None)]
    assert refused(tmp_path, tables)["contact"] == [set()] * 4 + [{"ydelseskode", "channel"}]
    assert tables["clinician"] == [{"clinician_id": "l1", "initials": "AKH", "role": "gp", "fte": None}]


def test_encounters_that_are_not_contacts_with_the_practice(tmp_path):
    _, report, tables = run(tmp_path, patient(), encounter("e1", "EMER"), {**encounter("e2", "AMB"),
                                                                         "status": "planned"})
    assert tables["contact"] == [] and tables["hospital_admission"] == []
    assert [(i.resource, i.element) for i in report.issues if i.resource] == [
        ("Encounter/e1", "Encounter.class"), ("Encounter/e2", "Encounter.status")]


def test_an_inpatient_stay_is_a_hospital_admission(tmp_path):
    stay = encounter("h1", "IMP", priority={"coding": [{"code": "EM"}]},
                     period={"start": "2025-03-02T10:00:00+01:00", "end": "2025-03-06T12:00:00+01:00"},
                     diagnosis=[{"condition": {"reference": "Condition/d2"}, "rank": 2},
                                {"condition": {"reference": "Condition/d1"}, "rank": 1}],
                     serviceProvider={"reference": "Organization/auh"})
    copd = {**diabetes("d1"), "code": {"coding": [{"system": "urn:oid:1.2.208.176.2.4.12", "code": "DJ441"}]}}
    hospital = {"resourceType": "Organization", "id": "auh", "name": "Aarhus Universitetshospital"}
    _, _, tables = run(tmp_path, patient(), stay, copd, diabetes("d2"), hospital)
    assert tables["hospital_admission"] == [{
        "admission_id": "h1", "cpr": "0101701234", "admitted_date": date(2025, 3, 2),
        "discharged_date": date(2025, 3, 6), "diagnosis_code": "DJ441", "acute": True,
        "hospital": "Aarhus Universitetshospital"}]
    assert len(tables["diagnosis"]) == 2


def test_a_chronic_care_pathway_is_an_episode_of_care(tmp_path):
    episode = {"resourceType": "EpisodeOfCare", "id": "k1", "status": "active", "patient": {"reference": "Patient/p1"},
               "type": [{"coding": [{"system": "urn:oid:1.2.208.176.2.31", "code": "R95"}]}],
               "period": {"start": "2022-02-01"}}
    other = {**episode, "id": "k2", "type": [{"text": "Graviditetsforløb"}]}
    _, report, tables = run(tmp_path, patient(), episode, other)
    assert [(r["enrolment_id"], r["condition"], r["start_date"]) for r in tables["chronic_enrolment"]] == [
        ("k1", "COPD", date(2022, 2, 1))]
    assert [(i.severity, i.resource) for i in report.issues if i.resource] == [("info", "EpisodeOfCare/k2")]


# --- medication (shapes from DK Core's medication examples, FMK-aligned) ----------------------------------
ATC = "http://www.whocc.no/atc"


def simvastatin_request(rid: str = "m1", **more) -> dict:
    """DK Core's JohnMedicationRequestSimvastatin, with a package count as a Danish prescription has."""
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "C10AA01", "display": "Simvastatin"}],
                                          "text": "Simvastatin \"Actavis\" filmovertrukne tabletter 40 mg"},
            "subject": {"reference": "Patient/p1"}, "authoredOn": "2024-03-15",
            "requester": {"reference": "Practitioner/l1"}, "reasonCode": [{"text": "Hyperkolesterolæmi"}],
            "dosageInstruction": [{"text": "1 tablet dagligt til aftensmad"}],
            "dispenseRequest": {"quantity": {"value": 2, "unit": "pakning"}}, **more}


def test_a_medication_request_is_a_prescription(tmp_path):
    doctor = {"resourceType": "Practitioner", "id": "l1", "name": [{"text": "Abraham Murakami"}]}
    dispense = {"resourceType": "MedicationDispense", "id": "u1", "status": "completed",
                "authorizingPrescription": [{"reference": "MedicationRequest/m1"}], "whenHandedOver": "2024-03-16"}
    _, _, tables = run(tmp_path, patient(), doctor, simvastatin_request(), dispense)
    [row] = tables["prescription"]
    assert row == {"prescription_id": "m1", "cpr": "0101701234", "clinician_id": "l1",
                   "prescribed_date": date(2024, 3, 15), "atc": "C10AA01",
                   "drug_name": "Simvastatin \"Actavis\" filmovertrukne tabletter 40 mg", "strength": None,
                   "pack_size": None, "n_packs": 2, "ddd": None, "dosage_text": "1 tablet dagligt til aftensmad",
                   "indication_text": "Hyperkolesterolæmi", "redeemed_date": date(2024, 3, 16)}


def test_a_referenced_medication_gives_name_strength_and_pack_size(tmp_path):
    medication = {"resourceType": "Medication", "id": "SimvastatinActavis40mg",
                  "code": {"coding": [{"system": ATC, "code": "C10AA01"}],
                           "text": "Simvastatin \"Actavis\" filmovertrukne tabletter 40 mg"},
                  "amount": {"numerator": {"value": 100}, "denominator": {"value": 1}},
                  "ingredient": [{"strength": {"numerator": {"value": 40, "unit": "mg"},
                                               "denominator": {"value": 1, "unit": "tablet"}}}]}
    request = simvastatin_request(medicationReference={"reference": "Medication/SimvastatinActavis40mg"})
    del request["medicationCodeableConcept"]
    _, _, tables = run(tmp_path, patient(), medication, request)
    [row] = tables["prescription"]
    assert (row["atc"], row["strength"], row["pack_size"]) == ("C10AA01", "40 mg", 100)


def test_medication_statements_and_requests_without_a_package_count_are_reported(tmp_path):
    statement = {"resourceType": "MedicationStatement", "id": "s1", "status": "active",
                 "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "C10AA01"}]},
                 "subject": {"reference": "Patient/p1"}, "effectivePeriod": {"start": "2024-03-15"}}
    request = simvastatin_request("m2")
    del request["dispenseRequest"]
    _, report, tables = run(tmp_path, patient(), statement, request)
    assert tables["prescription"] == []
    assert [(e.resource, e.element) for e in report.errors] == [
        ("MedicationStatement/s1", "MedicationStatement (angiver ikke antal pakninger)"),
        ("MedicationRequest/m2", "MedicationRequest.dispenseRequest.quantity (i pakninger)")]


def test_a_text_only_drug_is_written_for_quarantine_and_plans_are_not_prescriptions(tmp_path):
    magnyl = simvastatin_request("m3", medicationCodeableConcept={"text": "Magnyl 75 mg"})
    plan = simvastatin_request("m4", intent="plan")
    _, report, tables = run(tmp_path, patient(), magnyl, plan)
    [row] = tables["prescription"]
    assert (row["atc"], row["drug_name"]) == ("", "Magnyl 75 mg")
    assert refused(tmp_path, tables)["prescription"] == [{"atc"}]
    assert [(i.resource, i.element) for i in report.issues if i.resource] == [
        ("MedicationRequest/m3", "MedicationRequest.requester"), ("MedicationRequest/m4", "MedicationRequest.intent")]


# --- the delivery -----------------------------------------------------------------------------------------
def test_the_practice_comes_from_the_data_and_a_second_practice_needs_a_choice(tmp_path):
    def org(oid: str, yder: str) -> dict:
        return {"resourceType": "Organization", "id": oid, "name": f"Praksis {yder}",
                "identifier": [{"system": "urn:oid:1.2.208.176.1.4", "value": yder},
                               {"system": "urn:oid:1.2.208.176.1.1", "value": "52581000016005"}]}
    manifest, report, tables = run(tmp_path / "one", patient(), org("a", "061654"), ydernummer=None)
    assert manifest.ydernummer == "061654" and tables["practice"][0]["sor_code"] == "52581000016005"
    with pytest.raises(FhirImportError) as e:
        run(tmp_path / "two", patient(), org("a", "061654"), org("b", "045861"), ydernummer=None)
    assert "flere praksis (ydernumre 045861, 061654)" in str(e.value)
    manifest, _, tables = run(tmp_path / "chosen", patient(), org("a", "061654"), org("b", "045861"),
                              ydernummer="45861")
    assert manifest.ydernummer == "045861" and tables["practice"][0]["name"] == "Praksis 045861"
    with pytest.raises(FhirImportError) as e:
        run(tmp_path / "none", patient(), ydernummer=None)
    assert "intet ydernummer" in str(e.value)


def test_without_master_data_the_practice_row_cannot_be_written(tmp_path):
    org = {"resourceType": "Organization", "id": "a", "name": "Skødstrup Lægepraksis",
           "identifier": [{"system": "urn:oid:1.2.208.176.1.4", "value": "061654"}]}
    _, report, tables = run(tmp_path, org, ydernummer=None, practice=None)
    assert tables["practice"] == []
    assert report.errors[0].message.startswith("valid_from og n_gp mangler")


def test_the_delivery_is_an_ordinary_one_with_a_stable_id(tmp_path):
    from kvalitetsplatform.contract.delivery import read_manifest

    manifest, report, _ = run(tmp_path / "a", patient(), hba1c(), diabetes())
    assert read_manifest(tmp_path / "a" / "delivery") == manifest
    assert (manifest.vendor, manifest.extract_ts) == ("FHIR", EXTRACT_TS)
    assert (manifest.period_start, manifest.period_end) == (date(2019, 5, 20), date(2025, 10, 1))
    assert {f.table: f.rows for f in manifest.files} == {**{t: 0 for t in report.rows}, "practice": 1,
                                                         "patient": 1, "lab_result": 1, "diagnosis": 1}
    again, _, _ = run(tmp_path / "b", patient(), hba1c(), diabetes())
    changed, _, _ = run(tmp_path / "c", patient(), hba1c(value=53), diabetes())
    assert again.delivery_id == manifest.delivery_id != changed.delivery_id
    assert manifest.delivery_id.startswith(f"{YDER}-fhir-")


def test_the_report_serialises_for_json_output(tmp_path):
    _, report, _ = run(tmp_path, patient(), hba1c("o2", subject="Patient/x"))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows"]["patient"] == 1
    assert [i["element"] for i in data["issues"] if i["severity"] == "fejl"] == ["Observation.subject"]

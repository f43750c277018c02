"""Reading FHIR: malformed files, other FHIR versions, references that cannot be followed, NDJSON bulk
exports, Bundles of every type, duplicates. Fatal problems stop the import before anything is written; the
rest is reported with file, resource, place in the file and element."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from .fhir_support import LISTED_FROM, import_fhir
from kvalitetsplatform.fhir import FhirImportError, to_delivery

YDER = "012345"
PRACTICE = {"name": "Testpraksis", "valid_from": LISTED_FROM, "region_code": "1082", "kommune_code": "751",
            "cluster_id": "K1", "cluster_name": "Klynge 1", "practice_type": "solo", "n_gp": 1, "lps_vendor": "XMO"}


def patient(pid: str = "p1", cpr: str = "0101701234", **more) -> dict:
    return {"resourceType": "Patient", "id": pid, "identifier": [{"system": "urn:oid:1.2.208.176.1.2", "value": cpr}],
            "name": [{"given": ["Karen"], "family": "Hansen"}], "gender": "female", "birthDate": "1970-01-01",
            **more}


def hba1c(oid: str = "o1", subject: str = "Patient/p1", value: float = 52) -> dict:
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"coding": [{"system": "urn:oid:1.2.208.176.2.1", "code": "NPU27300"}]},
            "subject": {"reference": subject}, "effectiveDateTime": "2025-10-01T08:05:00+02:00",
            "valueQuantity": {"value": value, "unit": "mmol/mol"}}


def diabetes(cid: str = "c1", subject: str = "Patient/p1") -> dict:
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": subject},
            "code": {"coding": [{"system": "urn:oid:1.2.208.176.2.31", "code": "T90"}]}, "recordedDate": "2019-05-20"}


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run(paths, tmp_path, **kwargs):
    kwargs.setdefault("ydernummer", YDER)
    kwargs.setdefault("practice", PRACTICE)
    kwargs.setdefault("listed_from", LISTED_FROM)
    return import_fhir(paths, tmp_path / "delivery", **kwargs)


def fatal(paths, tmp_path) -> list:
    with pytest.raises(FhirImportError) as e:
        to_delivery(paths, tmp_path / "delivery", ydernummer=YDER)
    assert not (tmp_path / "delivery").exists(), "nothing may be written when the input cannot be read"
    return e.value.issues


# --- files that are not FHIR R4 ---------------------------------------------------------------------------
def test_malformed_json_names_file_line_and_column(tmp_path):
    bad = write(tmp_path / "in" / "bad.json", '{\n  "resourceType": "Patient",\n  "id": "x",\n}')
    [issue] = fatal([bad], tmp_path)
    assert issue.file == str(bad) and issue.position == "linje 4, kolonne 1"
    assert "ugyldig JSON" in issue.message
    assert str(issue).startswith(f"{bad}, linje 4, kolonne 1: ugyldig JSON")


def test_every_unreadable_file_is_listed_not_just_the_first(tmp_path):
    a = write(tmp_path / "a.json", "[1, 2]")
    b = write(tmp_path / "b.ndjson", json.dumps(patient()) + "\n\n{oops\n")
    c = write(tmp_path / "c.xml", "<Patient/>")
    d = write(tmp_path / "d.json", "  ")
    e = tmp_path / "e.json"
    e.write_bytes('{"resourceType": "Patient", "name": [{"family": "Sørensen"}]}'.encode("latin-1"))
    issues = fatal([a, b, c, d, e, tmp_path / "missing.json"], tmp_path)
    found = {(Path(i.file).name, i.position): i.message for i in issues}
    assert "ikke en FHIR-ressource" in found[("a.json", "")]
    assert "ugyldig JSON" in found[("b.ndjson", "linje 3, kolonne 2")]
    assert "ukendt filtype" in found[("c.xml", "")]
    assert found[("d.json", "")] == "filen er tom"
    assert "ikke UTF-8" in found[("e.json", "")]
    assert found[("missing.json", "")] == "filen findes ikke"
    assert "FHIR-importen kan ikke læse input (6 fejl)" in str(FhirImportError(issues))


def test_a_bundle_without_a_valid_type_is_fatal(tmp_path):
    bad = write(tmp_path / "b.json", {"resourceType": "Bundle", "type": "samling", "entry": []})
    [issue] = fatal([bad], tmp_path)
    assert issue.element == "Bundle.type" and "'samling'" in issue.message


WRONG_VERSIONS = [
    ({**diabetes(), "assertedDate": "2019-05-20"}, "Condition.assertedDate", "STU3"),
    ({**diabetes(), "clinicalStatus": "active"}, "Condition.clinicalStatus", "STU3"),
    ({**hba1c(), "context": {"reference": "Encounter/e1"}}, "Observation.context", "STU3"),
    ({"resourceType": "MedicationStatement", "id": "m", "taken": "y", "subject": {"reference": "Patient/p1"}},
     "MedicationStatement.taken", "STU3"),
    ({"resourceType": "Encounter", "id": "e", "status": "finished", "class": [{"coding": [{"code": "AMB"}]}]},
     "Encounter.class", "R5"),
    ({"resourceType": "MedicationRequest", "id": "m", "medication": {"concept": {"text": "Magnyl"}}},
     "MedicationRequest.medication", "R5"),
    ({"resourceType": "MedicationOrder", "id": "m"}, "MedicationOrder", "DSTU2"),
    ({**patient(), "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/Patient|3.0.2"]}},
     "Patient.meta.profile[0]", "3.0.2"),
    ({"resourceType": "CapabilityStatement", "id": "cs", "fhirVersion": "3.0.2"}, "CapabilityStatement.fhirVersion",
     "3.0.2"),
    ({**hba1c(), "contained": [{"resourceType": "Condition", "id": "x", "assertedDate": "2020-01-01"}]},
     "Observation.contained[0].assertedDate", "STU3"),
]


@pytest.mark.parametrize("resource, element, version", WRONG_VERSIONS)
def test_a_resource_of_another_fhir_version_is_named_with_its_element(tmp_path, resource, element, version):
    bundle = write(tmp_path / "b.json", {"resourceType": "Bundle", "type": "collection",
                                         "entry": [{"resource": patient()}, {"resource": resource}]})
    [issue] = fatal([bundle], tmp_path)
    assert (issue.position, issue.element) == ("Bundle.entry[1]", element)
    assert version in issue.message and "kun FHIR R4" in issue.message


# --- references -------------------------------------------------------------------------------------------
def test_a_reference_to_a_missing_patient_is_reported_and_the_rest_still_imports(tmp_path):
    bundle = write(tmp_path / "b.json", {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": patient()}, {"resource": hba1c("o1")}, {"resource": hba1c("o2", subject="Patient/p9")}]})
    _, report, tables = run([bundle], tmp_path)
    assert [r["lab_id"] for r in tables["lab_result"]] == ["o1"]
    [issue] = report.errors
    assert (issue.file, issue.position, issue.resource, issue.element) == (
        str(bundle), "Bundle.entry[2]", "Observation/o2", "Observation.subject")
    assert "'Patient/p9' findes ikke" in issue.message and "springes over" in issue.message


def test_a_missing_optional_reference_leaves_the_field_empty_with_a_warning(tmp_path):
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
                 "subject": {"reference": "Patient/p1"}, "period": {"start": "2025-11-03T09:20:00+01:00"},
                 "participant": [{"individual": {"reference": "Practitioner/ukendt"}}]}
    files = [write(tmp_path / "p.json", patient()), write(tmp_path / "e.json", encounter)]
    _, report, tables = run(files, tmp_path)
    assert tables["contact"][0]["clinician_id"] is None
    [warning] = report.warnings
    assert (warning.resource, warning.element) == ("Encounter/e1", "Encounter.participant[0]")
    assert "clinician_id efterlades tomt" in warning.message


def test_a_subject_given_by_cpr_identifier_needs_no_patient_resource(tmp_path):
    obs = hba1c()
    obs["subject"] = {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": "0101701234"}}
    _, report, tables = run([write(tmp_path / "o.json", obs)], tmp_path)
    assert tables["lab_result"][0]["cpr"] == "0101701234" and not report.errors


def test_contained_references_resolve_and_missing_ones_are_named(tmp_path):
    obs = {**hba1c(), "contained": [{"resourceType": "Organization", "id": "lab", "name": "KBA AUH"}],
           "performer": [{"reference": "#lab"}]}
    broken = {**hba1c("o2"), "encounter": {"reference": "#nope"}}
    broken["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "866144008"}]}  # a journal note
    files = [write(tmp_path / "p.json", patient()), write(tmp_path / "o.json", obs), write(tmp_path / "n.json", broken)]
    _, report, tables = run(files, tmp_path)
    assert tables["lab_result"][0]["producer"] == "KBA AUH"
    assert [(w.resource, w.element) for w in report.warnings] == [("Observation/o2", "Observation.encounter")]
    assert "'#nope' findes ikke" in report.warnings[0].message


def test_references_resolve_inside_their_own_bundle_first(tmp_path):
    """Two message bundles, each with its own Patient/1 (different people): each observation is its own
    bundle's patient's, by the fullUrl rules, although Patient/1 is ambiguous across the import."""
    def message(base: str, cpr: str) -> dict:
        return {"resourceType": "Bundle", "type": "message", "entry": [
            {"fullUrl": f"{base}/Patient/1", "resource": patient("1", cpr)},
            {"fullUrl": f"{base}/Observation/{cpr}", "resource": hba1c(cpr, subject="Patient/1")}]}
    files = [write(tmp_path / "a.json", message("https://a.example/fhir", "0101701111")),
             write(tmp_path / "b.json", message("https://b.example/fhir", "0202802222"))]
    _, report, tables = run(files, tmp_path)
    assert {r["lab_id"]: r["cpr"] for r in tables["lab_result"]} == {"0101701111": "0101701111",
                                                                      "0202802222": "0202802222"}
    assert [w.resource for w in report.warnings] == ["Patient/1"]  # the same id with two contents


def test_an_ambiguous_reference_across_files_is_an_error_for_the_referring_resource(tmp_path):
    files = [write(tmp_path / "a.json", patient("p1", "0101701111")),
             write(tmp_path / "b.json", patient("p1", "0202802222")),
             write(tmp_path / "o.json", hba1c())]
    _, report, tables = run(files, tmp_path)
    assert {r["cpr"] for r in tables["patient"]} == {"0101701111", "0202802222"}
    assert tables["lab_result"] == []
    [error] = report.errors
    assert error.resource == "Observation/o1" and "tvetydig" in error.message


def test_identical_copies_merge_and_the_newer_version_wins(tmp_path):
    v1 = patient(meta={"versionId": "1"}, gender="male")
    v2 = patient(meta={"versionId": "2", "lastUpdated": "2025-11-30T12:00:00Z"})
    files = [write(tmp_path / "a.json", v2), write(tmp_path / "b.json", patient()),
             write(tmp_path / "h.json", {"resourceType": "Bundle", "type": "history",
                                         "entry": [{"resource": v2}, {"resource": v1}]})]
    _, report, tables = run(files, tmp_path)
    # b.json and the history's version 2 are copies of a.json (metadata aside); version 1 is older and loses
    assert report.duplicates == 2
    assert [r["sex"] for r in tables["patient"]] == ["F"]
    [info] = [i for i in report.issues if i.resource]
    assert (info.severity, info.file, info.position, info.element) == ("info", str(files[2]), "Bundle.entry[1]",
                                                                       "Patient.meta")
    assert "nyere udgave" in info.message


def test_two_versions_ordered_by_last_updated(tmp_path):
    older = patient(meta={"lastUpdated": "2024-01-01T00:00:00Z"}, birthDate="1970-01-02")
    newer = patient(meta={"lastUpdated": "2025-01-01T00:00:00Z"})
    _, _, tables = run([write(tmp_path / "a.json", newer), write(tmp_path / "b.json", older)], tmp_path / "x")
    assert [str(r["birth_date"]) for r in tables["patient"]] == ["1970-01-01"]
    _, _, tables = run([write(tmp_path / "a.json", older), write(tmp_path / "b.json", newer)], tmp_path / "y")
    assert [str(r["birth_date"]) for r in tables["patient"]] == ["1970-01-01"]


# --- NDJSON and Bundles -----------------------------------------------------------------------------------
def test_a_bulk_export_folder_of_ndjson_files_references_across_files(tmp_path):
    export = tmp_path / "export"
    write(export / "Patient.ndjson", "\n".join(json.dumps(p) for p in (patient("p1"), patient("p2", "0202802222")))
          + "\n\n")
    (export / "Observation.ndjson.gz").write_bytes(gzip.compress(
        "\n".join(json.dumps(o) for o in (hba1c("o1"), hba1c("o2", "Patient/p2", 61))).encode()))
    write(export / "notes.txt", "not FHIR, not read")
    _, report, tables = run([export], tmp_path)
    assert len(report.files) == 2
    assert {(r["lab_id"], r["cpr"], r["value_num"]) for r in tables["lab_result"]} == {
        ("o1", "0101701234", 52.0), ("o2", "0202802222", 61.0)}


def test_a_bad_ndjson_line_is_named_by_its_line_number(tmp_path):
    lines = [json.dumps(patient()), json.dumps(hba1c()), '{"resourceType": "Observation", "id": "o3"']
    [issue] = fatal([write(tmp_path / "Observation.ndjson", "\n".join(lines))], tmp_path)
    assert issue.position.startswith("linje 3,")


CONTENT = [patient(), hba1c(), diabetes()]


def as_bundle(kind: str) -> dict:
    entries = []
    for r in copy.deepcopy(CONTENT):
        entry = {"fullUrl": f"https://lps.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
        if kind in ("transaction", "batch"):
            entry["request"] = {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}
        if kind == "searchset":
            entry["search"] = {"mode": "match" if r["resourceType"] == "Observation" else "include"}
        entries.append(entry)
    if kind == "message":
        entries.insert(0, {"fullUrl": "urn:uuid:0b7d3c1e-0000-4000-8000-000000000001", "resource": {
            "resourceType": "MessageHeader", "id": "mh", "eventCoding": {"code": "lps-extract"},
            "source": {"endpoint": "https://lps.example"}}})
    if kind == "document":
        entries.insert(0, {"resource": {"resourceType": "Composition", "id": "doc", "status": "final",
                                        "type": {"text": "udtræk"}, "date": "2025-11-30", "title": "Udtræk",
                                        "author": [{"display": "LPS"}]}})
    if kind == "searchset":
        entries.append({"search": {"mode": "outcome"}, "resource": {
            "resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}})
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


@pytest.mark.parametrize("kind", ["collection", "transaction", "batch", "message", "document", "searchset",
                                  "history"])
def test_every_bundle_type_gives_the_same_rows(tmp_path, kind):
    _, _, expected = run([write(tmp_path / "plain" / "p.json", patient()),
                          write(tmp_path / "plain" / "o.json", hba1c()),
                          write(tmp_path / "plain" / "c.json", diabetes())], tmp_path / "a")
    _, report, tables = run([write(tmp_path / "bundle.json", as_bundle(kind))], tmp_path / "b")
    assert tables == expected
    assert report.bundles == {kind: 1} and not report.errors and not report.warnings


def test_a_transaction_with_only_uuid_full_urls_and_a_nested_bundle(tmp_path):
    """Transactions often carry no ids, only urn:uuid fullUrls that the references use; a Bundle may sit
    inside another (a batch-response of searchsets)."""
    p, o = patient(), hba1c(subject="urn:uuid:11111111-1111-4111-8111-111111111111")
    del p["id"], o["id"]
    inner = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": p,
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222", "resource": o,
         "request": {"method": "POST", "url": "Observation"}},
        {"request": {"method": "DELETE", "url": "Observation/gammel"}}]}
    outer = {"resourceType": "Bundle", "type": "batch-response", "entry": [{"resource": inner}, {}]}
    _, report, tables = run([write(tmp_path / "t.json", outer)], tmp_path)
    assert [(r["lab_id"], r["cpr"]) for r in tables["lab_result"]] == [
        ("22222222-2222-4222-8222-222222222222", "0101701234")]
    [warning] = report.warnings
    assert warning.position == "Bundle.entry[0], Bundle.entry[2]" and "DELETE" not in warning.message
    assert "sletning (Observation/gammel)" in warning.message


def test_unknown_resource_types_and_profiles_are_counted_not_fatal(tmp_path):
    appointment = {"resourceType": "Appointment", "id": "a1", "status": "booked",
                   "meta": {"profile": ["https://example.org/StructureDefinition/booking|2.0"]}}
    p = patient(meta={"profile": ["http://hl7.dk/fhir/core/StructureDefinition/dk-core-patient",
                                  "https://example.org/StructureDefinition/lps-patient"]})
    _, report, tables = run([write(tmp_path / "a.json", appointment), write(tmp_path / "p.json", p)], tmp_path)
    assert report.unmapped_types == {"Appointment": 1}
    assert report.unknown_profiles == {"https://example.org/StructureDefinition/booking": 1,
                                       "https://example.org/StructureDefinition/lps-patient": 1}
    assert len(tables["patient"]) == 1
    assert "Ikke importeret (ingen tabel i kontrakten): Appointment 1" in report.summary()

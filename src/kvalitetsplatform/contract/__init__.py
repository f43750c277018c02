"""The extract contract: what a practice system delivers, table by table, field by field.

This module is the single declaration of the contract. The synthetic generator writes it, ingestion validates
against it, `docs/contract.md` is generated from it, and the FHIR mapping targets it.

One *delivery* is one practice (ydernummer) at one extract time: one file per table (Parquet or CSV, UTF-8, header
row, ISO dates) plus `manifest.json` naming the contract version, the practice, the vendor, the period covered, and
per file its table, format, row count and SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CONTRACT_VERSION = "1.0"
MANIFEST_NAME = "manifest.json"

FieldType = Literal["string", "int", "float", "date", "timestamp", "bool", "list"]


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    description: str
    required: bool = False
    example: str = ""
    code_system: str | None = None  # the terminology the value must come from (see terminology.CODE_SYSTEMS)
    choices: tuple[str, ...] | None = None  # closed set of allowed values
    pattern: str | None = None  # regular expression the text form must match
    identifies_person: bool = False  # CPR and names: pseudonymised/vaulted at ingestion, never stored in clear


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # natural key, unique within a delivery
    supplementary: bool = False  # from a supplementary source (hospital, survey), not the practice system itself
    per_patient: bool = True  # rows belong to a patient (carry cpr)
    columns: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", {f.name: f for f in self.fields})

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


YDERNUMMER = r"^\d{6}$"
# CPR (DDMMYY-NNNN, with or without the hyphen) and replacement numbers (eCPR) with letters in positions 7-10.
CPR_PATTERN = r"^\d{6}-?[0-9A-Z]{4}$"


def _cpr() -> Field:
    return Field("cpr", "string", "The patient's CPR number or replacement number (eCPR). Pseudonymised at "
                 "ingestion; stored only encrypted in the identity vault.", required=True,
                 example="0707614285", pattern=CPR_PATTERN, identifies_person=True)


PRACTICE = Table(
    "practice",
    "The delivering practice, one row per period of unchanged organisation. A practice that changes cluster gets a "
    "new row from the date of the change (valid_from/valid_to), so membership is known on every date.",
    (
        Field("ydernummer", "string", "The practice's 6-digit provider number (ydernummer).", True, "012345",
              pattern=YDERNUMMER),
        Field("valid_from", "date", "First day this row describes the practice.", True, "2023-01-01"),
        Field("valid_to", "date", "Last day this row describes the practice; empty while current.", False,
              "2025-06-30"),
        Field("name", "string", "The practice's name.", True, "Lægerne i Vestergade"),
        Field("cvr", "string", "Company registration number (CVR), 8 digits.", False, "12345678",
              pattern=r"^\d{8}$"),
        Field("sor_code", "string", "SOR identifier of the practice.", False, "425271000016004",
              pattern=r"^\d{9,18}$"),
        Field("region_code", "string", "Region (1081–1085).", True, "1082", code_system="region"),
        Field("kommune_code", "string", "Municipality where the practice is located (3 digits).", True, "751",
              code_system="kommune"),
        Field("cluster_id", "string", "The quality cluster (kvalitetsklynge) the practice belongs to in this period.",
              True, "K082-07"),
        Field("cluster_name", "string", "The cluster's name.", True, "Klynge Aarhus Vest"),
        Field("practice_type", "string", "Form of practice.", True, "kompagniskab",
              choices=("solo", "kompagniskab", "regionsklinik", "udbudsklinik")),
        Field("n_gp", "int", "Number of GPs (praktiserende læger) in the practice.", True, "3"),
        Field("open_for_new_patients", "bool", "Whether the list is open for new patients.", False, "false"),
        Field("lps_vendor", "string", "The practice system (LPS) vendor.", True, "XMO"),
    ),
    key=("ydernummer", "valid_from"),
    per_patient=False,
)

CLINICIAN = Table(
    "clinician",
    "Staff who record data in the practice system.",
    (
        Field("clinician_id", "string", "Stable identifier of the staff member within the practice.", True, "L01"),
        Field("initials", "string", "Initials as shown in the record.", True, "AKH"),
        Field("role", "string", "The staff member's role.", True, "gp",
              choices=("gp", "nurse", "secretary", "trainee")),
        Field("fte", "float", "Full-time equivalents.", False, "1.0"),
    ),
    key=("clinician_id",),
    per_patient=False,
)

PATIENT = Table(
    "patient",
    "Patients listed with the practice at some time in the period, one row per listing. A patient who moved to "
    "another practice appears in both practices' deliveries, with list_end here and list_start there.",
    (
        _cpr(),
        Field("name", "string", "Full name. Stored only encrypted in the identity vault.", True, "Karen Hansen",
              identifies_person=True),
        Field("birth_date", "date", "Date of birth.", True, "1961-07-07"),
        Field("sex", "string", "Legal sex.", True, "F", choices=("F", "M")),
        Field("kommune_code", "string", "Municipality of residence (3 digits).", True, "751", code_system="kommune"),
        Field("sikringsgruppe", "int", "Insurance group: 1 = listed with a GP, 2 = free choice.", True, "1",
              choices=("1", "2")),
        Field("list_start", "date", "First day listed with this practice.", True, "2015-03-01"),
        Field("list_end", "date", "Last day listed with this practice; empty while listed.", False, "2025-09-30"),
        Field("death_date", "date", "Date of death, if the patient has died.", False, "2026-02-11"),
    ),
    key=("cpr", "list_start"),
)

CONTACT = Table(
    "contact",
    "Contacts between patient and practice, one row per billed service line (ydelse).",
    (
        Field("contact_id", "string", "Identifier of the service line within the practice.", True, "C000123"),
        _cpr(),
        Field("clinician_id", "string", "Who provided the service.", False, "L01"),
        Field("contact_ts", "timestamp", "When the contact took place.", True, "2025-11-03T09:20:00"),
        Field("ydelseskode", "string", "Service code of the GP agreement (4 digits).", True, "0101",
              code_system="ydelseskode"),
        Field("channel", "string", "How the contact took place.", True, "physical",
              choices=("physical", "phone", "email", "video", "home")),
    ),
    key=("contact_id",),
)

DIAGNOSIS = Table(
    "diagnosis",
    "Diagnoses on the patient's problem list: ICPC-2-DK from the GP, SKS (D + ICD-10) from discharge letters.",
    (
        Field("diagnosis_id", "string", "Identifier of the diagnosis record.", True, "D000042"),
        _cpr(),
        Field("code_system", "string", "Which classification the code is from.", True, "ICPC2DK",
              choices=("ICPC2DK", "SKS")),
        Field("code", "string", "The diagnosis code.", True, "T90", code_system="@code_system"),
        Field("text", "string", "The diagnosis as written.", False, "Type 2-diabetes"),
        Field("onset_date", "date", "When the condition began, if known.", False, "2019-05-14"),
        Field("recorded_date", "date", "When the diagnosis was recorded.", True, "2019-05-20"),
        Field("source", "string", "Where the diagnosis came from.", True, "lps", choices=("lps", "discharge_letter")),
        Field("status", "string", "Whether the problem is active.", True, "active", choices=("active", "resolved")),
    ),
    key=("diagnosis_id",),
)

LAB_RESULT = Table(
    "lab_result",
    "Laboratory results (NPU, DNK and MedCom MCS codes) as received from the laboratory.",
    (
        Field("lab_id", "string", "Identifier of the result.", True, "L0000991"),
        _cpr(),
        Field("code_system", "string", "NPU, DNK or MCS.", True, "NPU", choices=("NPU", "DNK", "MCS")),
        Field("code", "string", "The analysis code.", True, "NPU27300", code_system="@code_system"),
        Field("value_num", "float", "Numeric value, in `unit`.", False, "52"),
        Field("comparator", "string", "For values reported beyond a limit (\"<0.5\").", False, "<",
              choices=("<", "<=", ">", ">=")),
        Field("value_text", "string", "Text value when the result is not numeric.", False, "negativ"),
        Field("unit", "string", "Unit of the value; must be the analysis' unit.", False, "mmol/mol"),
        Field("ref_low", "float", "Lower limit of the reference interval.", False, "31"),
        Field("ref_high", "float", "Upper limit of the reference interval.", False, "44"),
        Field("abnormal_flag", "string", "Laboratory's flag.", False, "H", choices=("L", "H", "N")),
        Field("sampled_ts", "timestamp", "When the sample was taken.", True, "2025-10-01T08:05:00"),
        Field("producer", "string", "The laboratory.", False, "KBA AUH"),
    ),
    key=("lab_id",),
)

MEASUREMENT = Table(
    "measurement",
    "Measurements and observations recorded in the practice: blood pressure, weight, height, FEV1, MRC, CAT, "
    "smoking status, and recorded examinations (eye, foot, inhaler technique, medication review).",
    (
        Field("measurement_id", "string", "Identifier of the measurement.", True, "M0000311"),
        _cpr(),
        Field("code_system", "string", "DNK, NPU, MCS or KP (the contract's own codes).", True, "DNK",
              choices=("DNK", "NPU", "MCS", "KP")),
        Field("code", "string", "The measurement code.", True, "DNK05472", code_system="@code_system"),
        Field("value_num", "float", "Numeric value, in `unit`.", False, "138"),
        Field("value_text", "string", "Coded text value (e.g. smoking status).", False, "tidligere ryger"),
        Field("unit", "string", "Unit of the value.", False, "mmHg"),
        Field("measured_ts", "timestamp", "When it was measured.", True, "2025-10-01T08:15:00"),
    ),
    key=("measurement_id",),
)

PRESCRIPTION = Table(
    "prescription",
    "Prescriptions (ordinationer) issued by the practice, one row per prescribed item.",
    (
        Field("prescription_id", "string", "Identifier of the prescription.", True, "R0004711"),
        _cpr(),
        Field("clinician_id", "string", "Who prescribed.", False, "L01"),
        Field("prescribed_date", "date", "Date of the prescription.", True, "2025-09-12"),
        Field("atc", "string", "ATC code at level 5.", True, "C10AA05", code_system="ATC"),
        Field("drug_name", "string", "Product name.", True, "Atorvastatin"),
        Field("strength", "string", "Strength as written.", False, "40 mg"),
        Field("pack_size", "int", "Units per package.", False, "100"),
        Field("n_packs", "int", "Number of packages.", True, "1"),
        Field("ddd", "float", "Defined daily doses in the prescription (derived).", False, "200"),
        Field("dosage_text", "string", "Dosage as written.", False, "1 tablet dagligt"),
        Field("indication_text", "string", "Indication as written.", False, "mod forhøjet kolesterol"),
        Field("redeemed_date", "date", "When the pharmacy handed it out, if known.", False, "2025-09-13"),
    ),
    key=("prescription_id",),
)

CHRONIC_ENROLMENT = Table(
    "chronic_enrolment",
    "Enrolment in a chronic-care pathway (kronikerforløb) paid by an annual fee; ended with ydelse 0133.",
    (
        Field("enrolment_id", "string", "Identifier of the enrolment.", True, "E000017"),
        _cpr(),
        Field("condition", "string", "The pathway.", True, "T2D", choices=("T2D", "COPD")),
        Field("start_date", "date", "First day of the pathway.", True, "2022-02-01"),
        Field("end_date", "date", "Last day of the pathway; empty while enrolled.", False, "2025-12-31"),
    ),
    key=("enrolment_id",),
)

HOSPITAL_ADMISSION = Table(
    "hospital_admission",
    "Hospital admissions from discharge letters (supplementary source).",
    (
        Field("admission_id", "string", "Identifier of the admission.", True, "H000201"),
        _cpr(),
        Field("admitted_date", "date", "Date of admission.", True, "2025-03-02"),
        Field("discharged_date", "date", "Date of discharge.", False, "2025-03-06"),
        Field("diagnosis_code", "string", "Main diagnosis, SKS (D + ICD-10).", True, "DJ441", code_system="SKS"),
        Field("acute", "bool", "Acute (unplanned) admission.", True, "true"),
        Field("hospital", "string", "The hospital.", False, "Aarhus Universitetshospital"),
    ),
    key=("admission_id",),
    supplementary=True,
)

SURVEY_RESPONSE = Table(
    "survey_response",
    "Anonymous patient-experience answers (DanPEP, 23 items scored 1 = poor to 5 = excellent, empty = cannot "
    "judge) with two free-text comments (supplementary source).",
    (
        Field("response_id", "string", "Identifier of the questionnaire.", True, "S000301"),
        Field("wave", "string", "Survey round.", True, "2025"),
        Field("answered_date", "date", "When the questionnaire was answered.", True, "2025-04-22"),
        *(Field(f"item_{i:02d}", "int", f"DanPEP item {i}, score 1–5 or empty.", False, "4",
                choices=("1", "2", "3", "4", "5")) for i in range(1, 24)),
        Field("comment_good", "string", "Hvad var godt?", False, "Lægen tog sig god tid."),
        Field("comment_improve", "string", "Hvad kan forbedres?", False, "Svært at komme igennem på telefonen."),
    ),
    key=("response_id",),
    supplementary=True,
    per_patient=False,
)

JOURNAL_NOTE = Table(
    "journal_note",
    "Journal notes in Danish, written by hand or generated from speech (AI scribe).",
    (
        Field("note_id", "string", "Identifier of the note.", True, "N0000420"),
        _cpr(),
        Field("note_ts", "timestamp", "When the note was written.", True, "2025-10-01T08:25:00"),
        Field("clinician_id", "string", "The author.", True, "L01"),
        Field("source", "string", "How the note was produced.", True, "manual", choices=("manual", "speech")),
        Field("contact_id", "string", "The contact the note belongs to, if any.", False, "C000123"),
        Field("text", "string", "The note.", True, "Kontrol af BT. Velbehandlet. Fortsætter uændret."),
    ),
    key=("note_id",),
)

TABLES: dict[str, Table] = {t.name: t for t in (
    PRACTICE, CLINICIAN, PATIENT, CONTACT, DIAGNOSIS, LAB_RESULT, MEASUREMENT, PRESCRIPTION, CHRONIC_ENROLMENT,
    HOSPITAL_ADMISSION, SURVEY_RESPONSE, JOURNAL_NOTE,
)}

# Tables every delivery must contain (possibly with zero rows for the fact tables).
REQUIRED_TABLES = ("practice", "clinician", "patient")

MANIFEST_FIELDS: tuple[Field, ...] = (
    Field("contract_version", "string", "Contract version the delivery follows.", True, CONTRACT_VERSION),
    Field("delivery_id", "string", "Unique identifier the vendor gives the delivery.", True,
          "012345-20251130T230000"),
    Field("ydernummer", "string", "The practice delivering.", True, "012345", pattern=YDERNUMMER),
    Field("vendor", "string", "The practice system (LPS) vendor.", True, "XMO"),
    Field("extract_ts", "timestamp", "When the extract was taken.", True, "2025-11-30T23:00:00"),
    Field("period_start", "date", "First day of the period the facts cover.", True, "2025-11-01"),
    Field("period_end", "date", "Last day of the period the facts cover.", True, "2025-11-30"),
    Field("files", "list", "List of {table, path, format (parquet|csv), rows, sha256}.", True, "[…]"),
)

"""The Danish identifier and code systems as FHIR writes them, and what each means in the extract contract.

The same code system travels under several URIs (NPU as an OID and as `http://npu-terminology.org`; ICPC-2
under its OID, the HL7 Denmark canonical and KiAP's URI), so the mapping asks this module rather than
comparing strings. The contract's own names for code systems (`NPU`, `ICPC2DK` …) are the terminology
package's; nothing here re-declares codes, only where they are found in FHIR.
"""

from __future__ import annotations

# --- identifiers -------------------------------------------------------------------------------------------
CPR = "urn:oid:1.2.208.176.1.2"
ECPR_PREFIX = "urn:oid:1.2.208.176.1.6.1."  # replacement numbers: .1 (X-eCPR), .3.<issuer> (D-eCPR)
SOR = "urn:oid:1.2.208.176.1.1"
YDERNUMMER = "urn:oid:1.2.208.176.1.4"
CVR = "http://cvr.dk"
MUNICIPALITY_CODES = "http://hl7.dk/fhir/core/CodeSystem/dk-core-municipality-codes"
REGION_CODES = "http://hl7.dk/fhir/core/CodeSystem/dk-core-regional-subdivision-codes"
AUTHORISATION = "https://autregweb.sst.dk"

# --- code systems → the contract's names -------------------------------------------------------------------
NPU_SYSTEMS = ("urn:oid:1.2.208.176.2.1", "http://npu-terminology.org")
MCS_SYSTEMS = ("http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-observation-codes", "urn:oid:1.2.208.184.100.8")
ICPC2_SYSTEMS = ("urn:oid:1.2.208.176.2.31", "http://hl7.dk/fhir/core/CodeSystem/icpc2E-DK",
                 "https://kiap.dk/koder/icpc-2-dk", "http://hl7.org/fhir/sid/icpc-2")
SKS_D = "urn:oid:1.2.208.176.2.4.12"  # the diagnosis (D) part of SKS
SKS = "urn:oid:1.2.208.176.2.4"  # the whole SKS (procedure codes such as ZZ3170 live here too)
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10", "urn:oid:2.16.840.1.113883.6.3")
ATC_SYSTEMS = ("http://www.whocc.no/atc", "urn:oid:2.16.840.1.113883.6.73")
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

# The platform's own systems, for what no Danish standard names (ydelseskoder, the contract's KP codes).
KP_BASE = "https://kvalitetsplatform.dk/fhir"
KP_CODES = f"{KP_BASE}/CodeSystem/kp"
YDELSESKODE = f"{KP_BASE}/CodeSystem/ydelseskode"
KP_ID = f"{KP_BASE}/NamingSystem/"  # + table name: the contract's row identifier, kept through a round trip

# Lab and measurement namespaces hold NPU, DNK and MCS codes side by side (MedCom writes DNK05472 under the
# NPU OID); the code's prefix says which contract system it belongs to.
LAB_SYSTEMS = NPU_SYSTEMS + MCS_SYSTEMS
LAB_PREFIXES = ("NPU", "DNK", "MCS")

# LOINC codes the Danish vital-sign examples use, translated to the contract's codes (office and home
# measurement).
BP_PANEL = "85354-9"
LOINC_SYSTOLIC, LOINC_DIASTOLIC = "8480-6", "8462-4"
OFFICE_BP = {LOINC_SYSTOLIC: ("DNK", "DNK05472"), LOINC_DIASTOLIC: ("DNK", "DNK05473")}
HOME_BP = {LOINC_SYSTOLIC: ("MCS", "MCS88019"), LOINC_DIASTOLIC: ("MCS", "MCS88020")}
HOME_BP_MARKERS = {(SKS, "ZZ3170")}  # "Hjemmeblodtryksmåling udført af patienten"
LOINC_TO_CONTRACT = {
    **OFFICE_BP,
    "29463-7": ("NPU", "NPU03804"),  # body weight
    "8867-4": ("NPU", "NPU21692"),  # heart rate
    "8302-2": ("KP", "HOEJDE"),  # body height
    "39156-5": ("KP", "BMI"),
}

# Units: the contract writes the terminology's unit; FHIR senders write UCUM codes or variants of the same
# unit.
UNIT_SYNONYMS = {"mm[Hg]": "mmHg", "1/min": "/min", "{beats}/min": "/min", "{beat}/min": "/min", "10*9/L": "10^9/L",
                 "mmol/l": "mmol/L", "umol/L": "µmol/L", "Cel": "°C", "kg/m2": "kg/m²", "bpm": "/min",
                 "slag/minut": "/min"}

# Region codes from ISO 3166-2:DK (DK Core's regional subdivision) to the contract's region codes.
ISO_REGION = {"DK-81": "1081", "DK-82": "1082", "DK-83": "1083", "DK-84": "1084", "DK-85": "1085"}
MUNICIPALITY_EXTENSION = "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes"
REGION_EXTENSION = "http://hl7.dk/fhir/core/StructureDefinition/dk-core-RegionalSubDivisionCodes"

# Staff roles: DK Core profession groups (authorisation register), MedCom's SKS staff titles, HL7 v2 0286.
PROFESSION_GROUPS = "http://hl7.dk/fhir/core/CodeSystem/DkCoreProfessionGroupCodes"
MEDCOM_ROLES = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-core-PractitionerRolesSKSadministrativ"
V2_ROLES = "http://terminology.hl7.org/CodeSystem/v2-0286"
KP_ROLES = f"{KP_BASE}/CodeSystem/clinician-role"
ROLE_CODES: dict[tuple[str, str], str] = {
    (PROFESSION_GROUPS, "7170"): "gp",  # læge
    (PROFESSION_GROUPS, "5166"): "nurse",  # sygeplejerske
    (MEDCOM_ROLES, "speciallaegeipraksis"): "gp",
    (MEDCOM_ROLES, "speciallaege"): "gp",
    (MEDCOM_ROLES, "sygeplejerske"): "nurse",
    (MEDCOM_ROLES, "laegesekretaer"): "secretary",
    (MEDCOM_ROLES, "ledendelaegesekretaer"): "secretary",
    (MEDCOM_ROLES, "sygeplejesekretaer"): "secretary",
    (V2_ROLES, "PP"): "gp",  # primary care provider
}

# Encounter.class (v3 ActCode) → contract channel; hospital classes become admissions, not practice contacts.
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASS_CHANNEL = {"AMB": "physical", "HH": "home", "FLD": "home", "VR": None}  # VR: by ydelseskode or extension
HOSPITAL_CLASSES = {"IMP", "ACUTE", "NONAC"}

# Observation.category codes that say which contract table an observation belongs to.
LAB_CATEGORIES = {"laboratory"}
MEASUREMENT_CATEGORIES = {"vital-signs", "exam", "survey", "social-history", "activity", "procedure"}
# Codes that are measurements whatever the category (vital signs and the practice's own recordings); other NPU
# and DNK codes are laboratory analyses.
MEASUREMENT_CODES = {("DNK", "DNK05472"), ("DNK", "DNK05473"), ("NPU", "NPU03804"), ("NPU", "NPU21692")}

INTERPRETATION_FLAGS = {"H": "H", "HH": "H", "HU": "H", "L": "L", "LL": "L", "LU": "L", "N": "N"}

# The platform's extensions: what the contract holds and neither FHIR R4 nor DK Core has an element for.
# Written by contract_to_fhir and read back, so a contract → FHIR → contract round trip is lossless.
EXT = {name: f"{KP_BASE}/StructureDefinition/{name}" for name in (
    "listing-period",  # on Patient.generalPractitioner: the listing (tilmelding) with the practice
    "sikringsgruppe",  # on Patient.generalPractitioner: 1 listed, 2 free choice
    "practice",  # on Organization: valid period, cluster, type, number of GPs, open list, LPS vendor
    "contact-channel",  # on Encounter: physical / phone / email / video / home
    "diagnosis-source",  # on Condition: lps / discharge_letter
    "fte",  # on PractitionerRole
    "ddd",  # on MedicationRequest: defined daily doses in the prescription
    "strength",  # on Medication: the strength as written ("40 mg")
    "note-source",  # on the note: manual / speech
    "value-text",  # on an Observation with a numeric value that also has a text value
    "unit",  # on an Observation with a text value that also has a unit
)}
KP_PROFILE_PREFIX = f"{KP_BASE}/StructureDefinition/"
# In a Bulk Data export manifest's `extension`: the delivery it is (id, ydernummer, vendor, period).
BULK_DELIVERY = f"{KP_BASE}/StructureDefinition/delivery"
BULK_MANIFEST_NAME = "export-manifest.json"

# Profiles this importer knows; any other meta.profile is counted in the mapping report (not an error).
KNOWN_PROFILE_PREFIXES = ("http://hl7.dk/fhir/core/StructureDefinition/", "http://medcomfhir.dk/ig/",
                          "http://hl7.org/fhir/StructureDefinition/", KP_PROFILE_PREFIX)


def is_ecpr(system: str | None) -> bool:
    return bool(system) and system.startswith(ECPR_PREFIX)


def lab_code_system(system: str | None, code: str | None) -> str | None:
    """The contract system ("NPU", "DNK", "MCS") of a code in one of the Danish lab namespaces, else None."""
    if not system or not code:
        return None
    if system in LAB_SYSTEMS:
        prefix = code[:3].upper()
        if prefix in LAB_PREFIXES:
            return prefix
        return "MCS" if system in MCS_SYSTEMS else "NPU"
    if system == KP_CODES:
        return "KP"
    return None


def diagnosis_code_system(system: str | None, code: str | None) -> str | None:
    """The contract system ("ICPC2DK", "SKS") of a diagnosis coding, else None. ICD-10 counts as SKS (see
    code)."""
    if not system or not code:
        return None
    if system in ICPC2_SYSTEMS:
        return "ICPC2DK"
    if system == SKS_D or (system == SKS and code.upper().startswith("D")) or system in ICD10_SYSTEMS:
        return "SKS"
    return None

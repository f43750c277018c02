"""FHIR resources → rows of the extract contract's tables.

The rule that decides between the mapping report and ingestion's quarantine (docs/fhir.md explains it with the
examples): the mapper leaves out only what is not a row of the contract at all — a resource whose patient
cannot be identified (no subject, a reference that cannot be followed, a patient without CPR), a resource
entered in error, an encounter that has not taken place — and names each such case in the report with file,
resource and element. Every other resource becomes a row, carrying what FHIR said even when the contract will
refuse it: a code without a system gets an empty `code_system`, a code from a system the contract has no place
for keeps that system's URI, a text-only condition has no code, a missing gender or birth date is left empty,
a date in the future stays in the future. Ingestion then quarantines the row with its reason, the same as for
any delivery. The mapper never invents a value FHIR did not carry; it only translates (gender → sex, LOINC
blood pressure → DNK, class → channel).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from kvalitetsplatform.fhir import systems
from kvalitetsplatform.fhir.reader import FhirResource, ResourceSet
from kvalitetsplatform.fhir.report import MappingReport, Severity
from kvalitetsplatform.fhir.values import (Partial, codings, concept_text, extension, has_coding, human_name, initials,
                                           municipality, number, parse_date, parse_datetime, unit_of)
from kvalitetsplatform.fhir.values import ydernummer as normalise_ydernummer
from kvalitetsplatform.contract import TABLES as TABLES_BY_NAME
from kvalitetsplatform.terminology import code_system

# The contract tables FHIR can fill, in the order they are written.
TABLES = ("practice", "clinician", "patient", "contact", "diagnosis", "lab_result", "measurement", "prescription",
          "chronic_enrolment", "hospital_admission", "journal_note", "survey_response")
# Resource types the mapping reads (everything else is counted as not imported).
MAPPED_TYPES = ("Organization", "Practitioner", "PractitionerRole", "Patient", "Encounter", "Condition",
                "Observation", "MedicationRequest", "MedicationStatement", "MedicationDispense", "Medication",
                "EpisodeOfCare", "QuestionnaireResponse")
# Types that carry no rows of their own but are read through references (the lab on a DiagnosticReport).
HELPER_TYPES = ("DiagnosticReport",)

GENDER = {"male": "M", "female": "F"}
CONTACT_DONE = {"in-progress", "onleave", "finished"}
OBSERVATION_SKIPPED = {"entered-in-error", "cancelled", "registered"}
CLINICAL_ACTIVE = {"active", "recurrence", "relapse"}
CLINICAL_RESOLVED = {"inactive", "remission", "resolved"}
ACUTE_PRIORITY = {"EM": True, "UR": True, "A": True, "S": True, "R": False, "EL": False}
ENCOUNTER_NOTE = (systems.SNOMED, "866144008")
NOTE_ATTACHMENT = "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-observation-value-attachment-extension"
PACKAGE_UNITS = {"{pakning}", "{pakninger}", "{package}", "{pack}", "pakning", "pakninger", "pk", "pk.", "package"}
ENROLMENT_CODES = {"T90": "T2D", "R95": "COPD"}  # ICPC-2 code of the pathway's condition


@dataclass(frozen=True)
class Mapped:
    rows: dict[str, list[dict]]
    ydernummer: str | None  # the delivering practice, when known


class Mapper:
    def __init__(self, resources: ResourceSet, report: MappingReport, ydernummer: str | None = None,
                 practice_info: dict | Callable[[str], dict | None] | None = None,
                 listed_from: date | None = None):
        self.resources, self.report = resources, report
        self.ydernummer = normalise_ydernummer(ydernummer) if ydernummer else None
        self._practice_source = practice_info  # master data, or a look-up by ydernummer
        self.practice_info: dict = {}
        self.listed_from = listed_from
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES}
        self._cpr: dict[int, str | None] = {}
        self._patient_rows: dict[str, list[dict]] = {}
        self._patient_source: dict[str, FhirResource] = {}
        self._clinician_ids: dict[int, str | None] = {}
        self._redeemed: dict[int, date] = {}
        self._producers: dict[int, str] = {}
        self._roles: dict[int, list[FhirResource]] = {}

    # --- reporting -----------------------------------------------------------------------------------------
    def issue(self, severity: Severity, resource: FhirResource, element: str, message: str) -> None:
        owner = resource.contained_in or resource
        self.report.add(severity, owner.origin.file, message, resource=resource.label,
                        position=owner.origin.position, element=element)

    def _emit(self, table: str, r: FhirResource | None, row: dict, **elements: str) -> bool:
        """Add a row. A required text the FHIR data lacks is written empty, for ingestion to quarantine; a
        required date, time or number cannot be left empty in a delivery file, so the row is reported here
        instead, naming the FHIR element it would have come from (`elements`: field → element)."""
        missing = []
        for f in TABLES_BY_NAME[table].fields:
            if f.required and row.get(f.name) is None:
                if f.type == "string":
                    row[f.name] = ""
                else:
                    missing.append(f.name)
        if not missing:
            self.rows[table].append(row)
            return True
        where = [elements[m] for m in missing if m in elements]
        message = (f"{' og '.join(missing)} mangler" + (f" ({'; '.join(where)})" if where else "") +
                   f"; kontrakten kræver {'dem' if len(missing) > 1 else 'feltet'} i {table}, så rækken kan ikke "
                   "skrives")
        if r is None:
            self.report.add("fejl", "", message, element=", ".join(where))
        else:
            self.issue("fejl", r, ", ".join(where), message)
        return False

    def _emit_patients(self) -> None:
        assumed = 0
        listing = "Patient.generalPractitioner.extension[listing-period]"
        group = "Patient.generalPractitioner.extension[sikringsgruppe]"
        for cpr, rows in self._patient_rows.items():
            for row in rows:
                assume = self.listed_from and row["list_start"] is None and row["sikringsgruppe"] is None
                if assume:  # listed from the given date, or from birth for a child born since
                    start = max(self.listed_from, row["birth_date"] or self.listed_from)
                    row["list_start"], row["sikringsgruppe"] = start, 1
                written = self._emit("patient", self._patient_source[cpr], row, birth_date="Patient.birthDate",
                                     list_start=listing, sikringsgruppe=group)
                assumed += bool(assume and written)
        if assumed:
            self.report.add("info", "", f"{assumed} patient(er) uden tilmeldingsoplysninger er registreret som "
                                        f"tilmeldt (sikringsgruppe 1) fra {self.listed_from:%d.%m.%Y}, som angivet "
                                        "ved importen")

    # --- the run -------------------------------------------------------------------------------------------
    def run(self) -> Mapped:
        practice_yder = self._practice()
        self._roles_by_practitioner()
        for r in self.resources.of_type("Practitioner"):
            self._practitioner(r)
        for r in self.resources.of_type("Patient"):
            self._patient(r)
        self._emit_patients()
        self._index_helpers()
        handlers = {"Encounter": self._encounter, "Condition": self._condition, "Observation": self._observation,
                    "MedicationRequest": self._medication, "MedicationStatement": self._medication,
                    "EpisodeOfCare": self._episode, "QuestionnaireResponse": self._survey}
        for r in self.resources.resources:
            if r.type in handlers:
                if self._entered_in_error(r):
                    continue
                before = sum(len(v) for v in self.rows.values())
                handlers[r.type](r)
                if sum(len(v) for v in self.rows.values()) > before:
                    self.report.mapped[r.type] += 1
            elif r.type not in MAPPED_TYPES:
                self.report.unmapped_types[r.type] += 1
        self.report.rows = {t: len(rows) for t, rows in self.rows.items()}
        return Mapped(self.rows, practice_yder)

    def _entered_in_error(self, r: FhirResource) -> bool:
        if r.data.get("status") == "entered-in-error" or any(
                c.get("code") == "entered-in-error" for c in codings(r.data.get("verificationStatus"))):
            self.issue("info", r, f"{r.type}.status", "registreret ved en fejl (entered-in-error); springes over")
            return True
        return False

    # --- references ----------------------------------------------------------------------------------------
    def _follow(self, r: FhirResource, reference: object, element: str, severity: Severity = "advarsel",
                consequence: str = "") -> FhirResource | None:
        if reference is None:
            return None
        resolution = self.resources.resolve(reference, r)
        if resolution.problem:
            self.issue(severity, r, element, f"referencen {resolution.problem}" +
                       (f"; {consequence}" if consequence else ""))
        return resolution.resource

    def _patient_cpr(self, r: FhirResource, element: str) -> str | None:
        """The CPR number of the patient a resource is about, or None (reported) when it cannot be known."""
        reference = r.data.get(element.split(".", 1)[1])
        skipped = f"{r.type} springes over"
        if not isinstance(reference, dict):
            self.issue("fejl", r, element, f"mangler reference til patienten; {skipped}")
            return None
        resolution = self.resources.resolve(reference, r)
        patient = resolution.resource
        if patient is None and resolution.logical is not None:
            system, value = resolution.logical.get("system"), str(resolution.logical.get("value"))
            if system == systems.CPR or systems.is_ecpr(system):
                return value
            self.issue("fejl", r, f"{element}.identifier", f"patienten er kun angivet ved identifikatoren "
                                                          f"{system}|{value}, som hverken er CPR eller eCPR; {skipped}")
            return None
        if patient is None:
            self.issue("fejl", r, element, f"referencen {resolution.problem}; {skipped}")
            return None
        if patient.type != "Patient":
            self.issue("info", r, element, f"handler om {patient.label}, ikke en patient; {skipped}")
            return None
        if id(patient) not in self._cpr:
            self._cpr[id(patient)] = self._cpr_of(patient)[0]
        cpr = self._cpr[id(patient)]
        if cpr is None:
            self.issue("fejl", r, element, f"patienten {patient.label} har hverken CPR- eller erstatningsnummer "
                                           f"(eCPR); {skipped}")
        return cpr

    def _clinician(self, r: FhirResource, reference: object, element: str) -> str | None:
        """The clinician_id behind a reference to a Practitioner or PractitionerRole; None for anyone else."""
        target = self._follow(r, reference, element, consequence="clinician_id efterlades tomt")
        if target is not None and target.type == "PractitionerRole":
            target = self._follow(target, target.data.get("practitioner"), "PractitionerRole.practitioner",
                                  consequence="clinician_id efterlades tomt")
        if target is None or target.type != "Practitioner":
            return None
        return _row_id(target, "clinician")

    def _clinician_of_any(self, r: FhirResource, references: object, element: str) -> str | None:
        for i, ref in enumerate(references if isinstance(references, list) else [references]):
            if isinstance(ref, dict) and isinstance(ref.get("individual"), dict):
                ref = ref["individual"]  # Encounter.participant
            found = self._clinician(r, ref, f"{element}[{i}]" if isinstance(references, list) else element)
            if found:
                return found
        return None

    # --- dates ---------------------------------------------------------------------------------------------
    def _when(self, r: FhirResource, element: str, value: object, as_date: bool = False):
        if value is None:
            return None
        try:
            return parse_date(value) if as_date else parse_datetime(value)
        except Partial:
            self.issue("advarsel", r, element, f"datoen '{value}' er ufuldstændig (kun år eller måned); feltet "
                                               "efterlades tomt")
        except ValueError:
            self.issue("advarsel", r, element, f"'{value}' er ikke en gyldig FHIR-dato; feltet efterlades tomt")
        return None

    def _effective(self, r: FhirResource, as_date: bool = False):
        data = r.data
        for name in ("effectiveDateTime", "effectiveInstant"):
            if name in data:
                return self._when(r, f"{r.type}.{name}", data[name], as_date)
        if isinstance(data.get("effectivePeriod"), dict):
            return self._when(r, f"{r.type}.effectivePeriod.start", data["effectivePeriod"].get("start"), as_date)
        return None

    # --- practice and staff --------------------------------------------------------------------------------
    def _practice(self) -> str | None:
        """The delivering practice: the Organization with the given ydernummer, or the one ydernummer found."""
        found: dict[str, list[FhirResource]] = {}
        for org in self.resources.of_type("Organization"):
            for ident in _identifiers(org):
                if ident.get("system") == systems.YDERNUMMER and ident.get("value"):
                    value = normalise_ydernummer(str(ident["value"]))
                    if value != str(ident["value"]):
                        self.issue("info", org, "Organization.identifier.value",
                                   f"ydernummer '{ident['value']}' udfyldt med foranstillede nuller til '{value}'")
                    found.setdefault(value, []).append(org)
        chosen = self.ydernummer
        if chosen is None and len(found) == 1:
            chosen = next(iter(found))
        if chosen is None:
            return None
        source = self._practice_source
        self.practice_info = dict((source(chosen) if callable(source) else source) or {})
        orgs = found.get(chosen, [])
        if not orgs and not self.practice_info:
            self.report.add("advarsel", "", f"praksis med ydernummer {chosen} findes ikke som Organization i input; "
                                            "practice-tabellen bliver tom")
        sources = orgs or ([None] if self.practice_info else [])
        for org in sources:
            row = self._practice_row(org, chosen)
            if row not in self.rows["practice"] and self._emit(
                    "practice", org, row, valid_from="Organization.extension[practice].valid",
                    n_gp="Organization.extension[practice].n_gp"):
                self.report.mapped["Organization"] += org is not None
        return chosen

    def _practice_row(self, org: FhirResource | None, yder: str) -> dict:
        row: dict = {"ydernummer": yder}
        if org is not None:
            data = org.data
            row["name"] = data.get("name")
            for ident in _identifiers(org):
                system, value = ident.get("system"), ident.get("value")
                if system == systems.SOR:
                    row["sor_code"] = str(value)
                elif system == systems.CVR:
                    row["cvr"] = str(value)
                elif system == systems.MUNICIPALITY_CODES:
                    row["kommune_code"] = municipality(str(value))
                elif system == systems.REGION_CODES:
                    row["region_code"] = systems.ISO_REGION.get(str(value), str(value))
            for address in data.get("address") or []:
                kommune, region = _address_codes(address)
                row.setdefault("kommune_code", kommune)
                row.setdefault("region_code", region)
            ext = extension(data, systems.EXT["practice"])
            if ext:
                parts = {e.get("url"): e for e in ext.get("extension") or [] if isinstance(e, dict)}
                period = (parts.get("valid") or {}).get("valuePeriod") or {}
                row["valid_from"] = self._when(org, "Organization.extension.valid", period.get("start"), True)
                row["valid_to"] = self._when(org, "Organization.extension.valid", period.get("end"), True)
                for name in ("cluster_id", "cluster_name", "practice_type", "lps_vendor"):
                    row[name] = (parts.get(name) or {}).get("valueString")
                row["n_gp"] = (parts.get("n_gp") or {}).get("valueInteger")
                row["open_for_new_patients"] = (parts.get("open_for_new_patients") or {}).get("valueBoolean")
        for name, value in self.practice_info.items():
            if row.get(name) is None:
                row[name] = value
        return row

    def _roles_by_practitioner(self) -> None:
        for role in self.resources.of_type("PractitionerRole"):
            target = self._follow(role, role.data.get("practitioner"), "PractitionerRole.practitioner")
            if target is not None:
                self._roles.setdefault(id(target), []).append(role)

    def _practitioner(self, r: FhirResource) -> None:
        clinician_id = _row_id(r, "clinician")
        if clinician_id is None:
            self.issue("advarsel", r, "Practitioner.id", "behandleren har intet id og kan ikke henvises til; "
                                                         "springes over")
            return
        roles = self._roles.get(id(r), [])
        role = fte = None
        for p in roles:
            for c in (c for concept in p.data.get("code") or [] for c in codings(concept)):
                role = role or _role(c)
            fte_ext = extension(p.data, systems.EXT["fte"])
            fte = fte if fte is not None else number((fte_ext or {}).get("valueDecimal"))
        for q in r.data.get("qualification") or []:
            for c in codings((q or {}).get("code")):
                role = role or _role(c)
        kp_initials = next((str(i["value"]) for i in _identifiers(r)
                            if i.get("system") == systems.KP_ID + "initials" and i.get("value")), None)
        self._emit("clinician", r, {"clinician_id": clinician_id,
                                    "initials": kp_initials or initials(human_name(r.data.get("name"))),
                                    "role": role, "fte": fte})
        self.report.mapped["Practitioner"] += 1
        for p in roles:
            self.report.mapped["PractitionerRole"] += 1

    # --- patients ------------------------------------------------------------------------------------------
    def _cpr_of(self, r: FhirResource) -> tuple[str | None, str]:
        idents = list(enumerate(_identifiers(r)))
        for wanted in (lambda s: s == systems.CPR, systems.is_ecpr):
            for i, ident in idents:
                if wanted(ident.get("system")) and ident.get("value"):
                    return str(ident["value"]).strip(), f"Patient.identifier[{i}].value"
        return None, "Patient.identifier"

    def _patient(self, r: FhirResource) -> None:
        cpr, element = self._cpr_of(r)
        self._cpr[id(r)] = cpr
        if cpr is None:
            self.issue("fejl", r, element, "patienten har hverken CPR-nummer (urn:oid:1.2.208.176.1.2) eller "
                                           "erstatningsnummer (eCPR); springes over")
            return
        data = r.data
        gender = data.get("gender")
        base = {
            "cpr": cpr,
            "name": human_name(data.get("name")),
            "birth_date": self._when(r, "Patient.birthDate", data.get("birthDate"), as_date=True),
            "sex": GENDER.get(gender, gender),
            "kommune_code": None,
            "death_date": self._when(r, "Patient.deceasedDateTime", data.get("deceasedDateTime"), as_date=True),
        }
        if data.get("deceasedBoolean") is True and base["death_date"] is None:
            self.issue("advarsel", r, "Patient.deceasedBoolean", "patienten er død, men dødsdatoen er ukendt; "
                                                                 "death_date efterlades tomt")
        addresses = [a for a in data.get("address") or [] if isinstance(a, dict)]
        for address in sorted(addresses, key=lambda a: a.get("use") != "home"):
            base["kommune_code"] = base["kommune_code"] or _address_codes(address)[0]
        listings = []
        for i, gp in enumerate(data.get("generalPractitioner") or []):
            period = (extension(gp, systems.EXT["listing-period"]) or {}).get("valuePeriod")
            group = (extension(gp, systems.EXT["sikringsgruppe"]) or {}).get("valueInteger")
            if isinstance(period, dict) or group is not None:
                element = f"Patient.generalPractitioner[{i}].extension"
                listings.append({"sikringsgruppe": group,
                                 "list_start": self._when(r, element, (period or {}).get("start"), True),
                                 "list_end": self._when(r, element, (period or {}).get("end"), True)})
        listings = listings or [{"sikringsgruppe": None, "list_start": None, "list_end": None}]
        self._merge_patient(r, cpr, [{**base, **listing} for listing in listings])
        self.report.mapped["Patient"] += 1

    def _merge_patient(self, r: FhirResource, cpr: str, rows: list[dict]) -> None:
        """Several Patient resources with one CPR (MedCom messages each carry their own copy) are one patient:
        the first non-empty value of each field wins, and a conflicting value is reported."""
        known = self._patient_rows.get(cpr)
        if known is None:
            self._patient_rows[cpr], self._patient_source[cpr] = rows, r
            return
        first = self._patient_source[cpr]
        for name in ("name", "birth_date", "sex", "kommune_code", "death_date"):
            new = rows[0][name]
            old = next((row[name] for row in known if row[name] is not None), None)
            if new is None:
                continue
            if old is None:
                for row in known:
                    row[name] = new
            elif old != new:
                self.issue("advarsel", r, f"Patient.{_PATIENT_ELEMENT[name]}",
                           f"samme CPR som {first.label}, men {name} er '{new}' her og '{old}' dér; den første "
                           "bruges")
        empty = {"sikringsgruppe": None, "list_start": None, "list_end": None}
        listings = [{k: row[k] for k in empty} for row in rows if any(row[k] is not None for k in empty)]
        if listings:
            template = {k: v for k, v in known[0].items() if k not in empty}
            known[:] = [row for row in known if any(row[k] is not None for k in empty)]
            for listing in listings:
                row = {**template, **listing}
                if row not in known:
                    known.append(row)

    # --- contacts and admissions ---------------------------------------------------------------------------
    def _encounter(self, r: FhirResource) -> None:
        data = r.data
        status = data.get("status")
        klass = data.get("class") if isinstance(data.get("class"), dict) else {}
        kind = klass.get("code")
        if status not in CONTACT_DONE:
            self.issue("info", r, "Encounter.status", f"kontakten har status '{status}' og har ikke fundet sted; "
                                                      "springes over")
            return
        hospital = kind in systems.HOSPITAL_CLASSES
        if not hospital and kind not in systems.CLASS_CHANNEL:
            self.issue("info", r, "Encounter.class", f"kontaktformen '{kind}' er ikke en kontakt med praksis; "
                                                     "springes over")
            return
        cpr = self._patient_cpr(r, "Encounter.subject")
        if cpr is None:
            return
        period = data.get("period") if isinstance(data.get("period"), dict) else {}
        if hospital:
            return self._admission(r, cpr, period)
        ydelse = next((c.get("code") for concept in [*(data.get("type") or []), data.get("serviceType")]
                       for c in codings(concept) if c.get("system") == systems.YDELSESKODE), None)
        channel = (extension(data, systems.EXT["contact-channel"]) or {}).get("valueCode") or \
            systems.CLASS_CHANNEL.get(kind)
        if channel is None and ydelse in code_system("ydelseskode"):
            channel = code_system("ydelseskode")[ydelse].extra.get("channel") or None
        self._emit("contact", r, {
            "contact_id": _row_id(r, "contact"), "cpr": cpr,
            "clinician_id": self._clinician_of_any(r, data.get("participant"), "Encounter.participant"),
            "contact_ts": self._when(r, "Encounter.period.start", period.get("start")),
            "ydelseskode": ydelse, "channel": channel,
        }, contact_ts="Encounter.period.start")

    def _admission(self, r: FhirResource, cpr: str, period: dict) -> None:
        data = r.data
        diagnosis = None
        ranked = sorted((d for d in data.get("diagnosis") or [] if isinstance(d, dict)),
                        key=lambda d: d.get("rank", 99))
        for i, item in enumerate(ranked):
            condition = self._follow(r, item.get("condition"), f"Encounter.diagnosis[{i}].condition",
                                     consequence="diagnosen kan ikke bruges")
            if condition is not None and condition.type == "Condition":
                system, code = _diagnosis_code(condition.data.get("code"))
                if system == "SKS":
                    diagnosis = code
                    break
        priority = next((ACUTE_PRIORITY.get(c.get("code")) for c in codings(data.get("priority"))), None)
        provider = self._follow(r, data.get("serviceProvider"), "Encounter.serviceProvider")
        hospital = (provider.data.get("name") if provider is not None else None) or \
            (data.get("serviceProvider") or {}).get("display")
        self._emit("hospital_admission", r, {
            "admission_id": _row_id(r, "hospital_admission"), "cpr": cpr,
            "admitted_date": self._when(r, "Encounter.period.start", period.get("start"), True),
            "discharged_date": self._when(r, "Encounter.period.end", period.get("end"), True),
            "diagnosis_code": diagnosis, "acute": priority, "hospital": hospital,
        }, admitted_date="Encounter.period.start", acute="Encounter.priority")

    # --- diagnoses -----------------------------------------------------------------------------------------
    def _condition(self, r: FhirResource) -> None:
        data = r.data
        if any(c.get("code") == "refuted" for c in codings(data.get("verificationStatus"))):
            self.issue("info", r, "Condition.verificationStatus", "diagnosen er afkræftet (refuted); springes over")
            return
        cpr = self._patient_cpr(r, "Condition.subject")
        if cpr is None:
            return
        system, code = _diagnosis_code(data.get("code"))
        if code and "+" in code and system == "SKS":
            main, supplement = code.split("+", 1)
            self.issue("info", r, "Condition.code.coding.code", f"SKS-tillægskoden '+{supplement}' er fjernet; "
                                                                f"diagnosen registreres som {main}")
            code = main
        clinical = next((c.get("code") for c in codings(data.get("clinicalStatus"))), None)
        if clinical in CLINICAL_ACTIVE:
            status = "active"
        elif clinical in CLINICAL_RESOLVED:
            status = "resolved"
        else:  # no clinical status: FHIR's default reading is ongoing unless an abatement is given
            status = "resolved" if any(k.startswith("abatement") for k in data) else "active"
        source = (extension(data, systems.EXT["diagnosis-source"]) or {}).get("valueCode") or (
            "discharge_letter" if system == "SKS" else "lps" if system == "ICPC2DK" else None)
        onset = data.get("onsetDateTime") or (data.get("onsetPeriod") or {}).get("start")
        self._emit("diagnosis", r, {
            "diagnosis_id": _row_id(r, "diagnosis"), "cpr": cpr, "code_system": system, "code": code,
            "text": (data.get("code") or {}).get("text"),
            "onset_date": self._when(r, "Condition.onsetDateTime", onset, True),
            "recorded_date": self._when(r, "Condition.recordedDate", data.get("recordedDate"), True),
            "source": source, "status": status,
        }, recorded_date="Condition.recordedDate")

    # --- observations --------------------------------------------------------------------------------------
    def _index_helpers(self) -> None:
        """The lab that produced an observation is often named only on its DiagnosticReport; a prescription's
        redemption is a MedicationDispense pointing back at it."""
        for report in self.resources.of_type("DiagnosticReport"):
            lab = next((o for o in (self.resources.resolve(p, report).resource
                                    for p in report.data.get("performer") or [])
                        if o is not None and o.type == "Organization"), None)
            name = _organization_name(lab) if lab is not None else None
            for result in report.data.get("result") or []:
                target = self.resources.resolve(result, report).resource
                if target is not None and name:
                    self._producers.setdefault(id(target), name)
        for dispense in self.resources.of_type("MedicationDispense"):
            when = self._when(dispense, "MedicationDispense.whenHandedOver", dispense.data.get("whenHandedOver"),
                              as_date=True)
            for i, ref in enumerate(dispense.data.get("authorizingPrescription") or []):
                target = self._follow(dispense, ref, f"MedicationDispense.authorizingPrescription[{i}]")
                if target is not None and when is not None:
                    self._redeemed[id(target)] = when
                    self.report.mapped["MedicationDispense"] += 1

    def _observation(self, r: FhirResource) -> None:
        data = r.data
        if data.get("status") in OBSERVATION_SKIPPED:
            self.issue("info", r, "Observation.status", f"observationen har status '{data.get('status')}'; "
                                                        "springes over")
            return
        if has_coding(data.get("code"), *ENCOUNTER_NOTE):
            return self._note(r)
        cpr = self._patient_cpr(r, "Observation.subject")
        if cpr is None:
            return
        when = self._effective(r)
        performers = [self.resources.resolve(p, r).resource for p in data.get("performer") or []]
        home = any(has_coding(data.get("code"), s, c) for s, c in systems.HOME_BP_MARKERS) or any(
            p is not None and p.type == "Patient" for p in performers)
        components = [c for c in data.get("component") or [] if isinstance(c, dict)]
        has_value = any(k.startswith("value") for k in data)
        if components and not has_value:
            for i, component in enumerate(components):
                self._observation_row(r, cpr, when, component, f"Observation.component[{i}]", home, part=i)
        elif has_value or not data.get("hasMember"):
            self._observation_row(r, cpr, when, data, "Observation", home)
        else:
            self.issue("info", r, "Observation.hasMember", "et panel uden egen værdi; dets medlemmer importeres "
                                                          "hver for sig")

    def _observation_row(self, r: FhirResource, cpr: str, when: datetime | None, element: dict, path: str,
                         home: bool, part: int | None = None) -> None:
        system, code = _observation_code(element.get("code"), home)
        table = _observation_table(r.data, system, code)
        row_id = _row_id(r, table)
        if part is not None:
            row_id = element.get("id") or (f"{row_id}-{code}" if row_id and code else None)
        value_num = value_text = unit = comparator = None
        if isinstance(element.get("valueQuantity"), dict):
            quantity = element["valueQuantity"]
            value_num, unit, comparator = number(quantity.get("value")), unit_of(quantity), quantity.get("comparator")
            value_text = (extension(element, systems.EXT["value-text"]) or {}).get("valueString")
        elif "valueInteger" in element:
            value_num = number(element["valueInteger"])
        elif "valueString" in element:
            value_text = str(element["valueString"])
            unit = (extension(element, systems.EXT["unit"]) or {}).get("valueString")
        elif "valueCodeableConcept" in element:
            value_text = concept_text(element["valueCodeableConcept"])
        elif "valueBoolean" in element:
            value_text = "true" if element["valueBoolean"] else "false"
        else:
            other = next((k for k in element if k.startswith("value")), None)
            if other:
                self.issue("advarsel", r, f"{path}.{other}", f"værditypen {other} har ingen plads i kontrakten; "
                                                             "værdien efterlades tom")
        if table == "measurement":
            if comparator:
                self.issue("advarsel", r, f"{path}.valueQuantity.comparator",
                           f"målinger har ingen sammenligningsoperator i kontrakten; '{comparator}{value_num:g}' "
                           "gemmes som tekst i value_text")
                value_text, value_num = f"{comparator}{value_num:g}", None
            self._emit("measurement", r, {
                "measurement_id": row_id, "cpr": cpr, "code_system": system, "code": code, "value_num": value_num,
                "value_text": value_text, "unit": unit, "measured_ts": when}, measured_ts="Observation.effective[x]")
            return
        low = high = None
        ranges = [x for x in element.get("referenceRange") or r.data.get("referenceRange") or [] if isinstance(x, dict)]
        if ranges:
            low, high = number((ranges[0].get("low") or {}).get("value")), number(
                (ranges[0].get("high") or {}).get("value"))
        flag = next((systems.INTERPRETATION_FLAGS.get(c.get("code")) for concept in element.get("interpretation") or []
                     for c in codings(concept) if c.get("code") in systems.INTERPRETATION_FLAGS), None)
        producer = next((_organization_name(o) for o in (self.resources.resolve(p, r).resource
                                                          for p in r.data.get("performer") or [])
                         if o is not None and o.type == "Organization"), None) or self._producers.get(id(r))
        self._emit("lab_result", r, {
            "lab_id": row_id, "cpr": cpr, "code_system": system, "code": code, "value_num": value_num,
            "comparator": comparator, "value_text": value_text, "unit": unit, "ref_low": low, "ref_high": high,
            "abnormal_flag": flag, "sampled_ts": when, "producer": producer}, sampled_ts="Observation.effective[x]")

    def _note(self, r: FhirResource) -> None:
        """A MedCom journal note: an Observation coded 'Encounter note' with the text as an attachment."""
        cpr = self._patient_cpr(r, "Observation.subject")
        if cpr is None:
            return
        attachment = (extension(r.data, NOTE_ATTACHMENT) or {}).get("valueAttachment") or \
            r.data.get("valueAttachment") or {}
        text = r.data.get("valueString")
        if text is None and attachment.get("data"):
            try:
                raw = base64.b64decode(attachment["data"]).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                self.issue("advarsel", r, "Observation.extension.valueAttachment.data",
                           "notatets tekst kan ikke afkodes (base64, UTF-8); teksten efterlades tom")
                raw = None
            if raw is not None:
                text = _html_text(raw) if "html" in (attachment.get("contentType") or "") else raw
        encounter = self._follow(r, r.data.get("encounter"), "Observation.encounter")
        self._emit("journal_note", r, {
            "note_id": _row_id(r, "journal_note"), "cpr": cpr, "note_ts": self._effective(r),
            "clinician_id": self._clinician_of_any(r, r.data.get("performer"), "Observation.performer"),
            "source": (extension(r.data, systems.EXT["note-source"]) or {}).get("valueCode"),
            "contact_id": _row_id(encounter, "contact") if encounter is not None and encounter.type == "Encounter"
            else None,
            "text": text}, note_ts="Observation.effective[x]")

    # --- medication ----------------------------------------------------------------------------------------
    def _medication(self, r: FhirResource) -> None:
        data, kind = r.data, r.type
        if kind == "MedicationStatement" and data.get("status") == "not-taken":
            self.issue("info", r, "MedicationStatement.status", "medicinen tages ikke (not-taken); springes over")
            return
        if kind == "MedicationRequest" and data.get("intent") in ("proposal", "plan"):
            self.issue("info", r, "MedicationRequest.intent", f"et forslag eller en plan ('{data['intent']}'), "
                                                              "ikke en ordination; springes over")
            return
        cpr = self._patient_cpr(r, f"{kind}.subject")
        if cpr is None:
            return
        concept, medication = data.get("medicationCodeableConcept"), None
        if concept is None and data.get("medicationReference") is not None:
            medication = self._follow(r, data["medicationReference"], f"{kind}.medicationReference",
                                      consequence="lægemidlet er ukendt")
            concept = (medication.data.get("code") if medication is not None else None)
        atc = next((c.get("code") for c in codings(concept) if c.get("system") in systems.ATC_SYSTEMS), None)
        atc_display = next((c.get("display") for c in codings(concept) if c.get("system") in systems.ATC_SYSTEMS),
                           None)
        drug_name = (concept or {}).get("text") or atc_display or concept_text(concept)
        strength = pack_size = None
        if medication is not None:
            strength = (extension(medication.data, systems.EXT["strength"]) or {}).get("valueString")
            ingredient = next(iter(medication.data.get("ingredient") or []), None) or {}
            numerator = (ingredient.get("strength") or {}).get("numerator") or {}
            if strength is None and number(numerator.get("value")) is not None:
                strength = f"{number(numerator['value']):g} {numerator.get('unit') or numerator.get('code') or ''}"
                strength = strength.strip()
            amount = number(((medication.data.get("amount") or {}).get("numerator") or {}).get("value"))
            pack_size = int(amount) if amount is not None and amount == int(amount) else None
        if kind == "MedicationRequest":
            prescribed = self._when(r, "MedicationRequest.authoredOn", data.get("authoredOn"), as_date=True)
            who = self._clinician(r, data.get("requester"), "MedicationRequest.requester")
            dosage = next(iter(data.get("dosageInstruction") or []), None) or {}
            quantity = (data.get("dispenseRequest") or {}).get("quantity") or {}
            packs = number(quantity.get("value")) if (quantity.get("code") or quantity.get("unit") or ""
                                                      ).lower() in PACKAGE_UNITS else None
        else:
            prescribed = self._effective(r, as_date=True)
            who = self._clinician(r, data.get("informationSource"), "MedicationStatement.informationSource")
            dosage = next(iter(data.get("dosage") or []), None) or {}
            packs = None
        reason = next(iter(data.get("reasonCode") or []), None)
        indication = concept_text(reason) if reason else None
        if indication is None and data.get("reasonReference"):
            condition = self._follow(r, data["reasonReference"][0], f"{kind}.reasonReference[0]")
            indication = concept_text((condition.data.get("code") if condition is not None else None))
        ddd = number((extension(data, systems.EXT["ddd"]) or {}).get("valueDecimal"))
        self._emit("prescription", r, {
            "prescription_id": _row_id(r, "prescription"), "cpr": cpr, "clinician_id": who,
            "prescribed_date": prescribed, "atc": atc, "drug_name": drug_name, "strength": strength,
            "pack_size": pack_size, "n_packs": int(packs) if packs is not None and packs == int(packs) else None,
            "ddd": ddd, "dosage_text": dosage.get("text"), "indication_text": indication,
            "redeemed_date": self._redeemed.get(id(r))},
            prescribed_date=f"{kind}.authoredOn" if kind == "MedicationRequest" else f"{kind}.effective[x]",
            n_packs="MedicationRequest.dispenseRequest.quantity (i pakninger)" if kind == "MedicationRequest"
            else "MedicationStatement (angiver ikke antal pakninger)")

    # --- patient-experience surveys
    def _survey(self, r: FhirResource) -> None:
        """A DanPEP questionnaire: anonymous (no subject), one answer per item (score 1–5) and two comments."""
        data = r.data
        if (data.get("questionnaire") or "").split("|")[0] != DANPEP:
            self.issue("info", r, "QuestionnaireResponse.questionnaire", "spørgeskemaet er ikke DanPEP; springes "
                                                                         "over")
            return
        if data.get("status") not in ("completed", "amended"):
            self.issue("info", r, "QuestionnaireResponse.status", f"besvarelsen har status '{data.get('status')}' "
                                                                  "og er ikke afsluttet; springes over")
            return
        answers = _answers(r)
        row = {"response_id": _row_id(r, "survey_response"),
               "wave": answers.get("wave") if isinstance(answers.get("wave"), str) else None,
               "answered_date": self._when(r, "QuestionnaireResponse.authored", data.get("authored"), True),
               "comment_good": answers.get("comment_good"), "comment_improve": answers.get("comment_improve")}
        for name in SURVEY_ITEMS:
            value = answers.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                self.issue("advarsel", r, f"QuestionnaireResponse.item[{name}].answer", f"svaret {value!r} er ikke "
                                                                                        "et heltal; efterlades tomt")
                value = None
            row[name] = value
        self._emit("survey_response", r, row, answered_date="QuestionnaireResponse.authored")

    # --- chronic-care pathways -----------------------------------------------------------------------------
    def _episode(self, r: FhirResource) -> None:
        data = r.data
        condition = next((ENROLMENT_CODES.get(c.get("code")) for concept in data.get("type") or []
                          for c in codings(concept) if c.get("system") in systems.ICPC2_SYSTEMS), None)
        if condition is None:
            self.issue("info", r, "EpisodeOfCare.type", "forløbet er ikke et kronikerforløb (ICPC-2 T90 eller R95); "
                                                       "springes over")
            return
        cpr = self._patient_cpr(r, "EpisodeOfCare.patient")
        if cpr is None:
            return
        period = data.get("period") if isinstance(data.get("period"), dict) else {}
        self._emit("chronic_enrolment", r, {
            "enrolment_id": _row_id(r, "chronic_enrolment"), "cpr": cpr, "condition": condition,
            "start_date": self._when(r, "EpisodeOfCare.period.start", period.get("start"), True),
            "end_date": self._when(r, "EpisodeOfCare.period.end", period.get("end"), True)},
            start_date="EpisodeOfCare.period.start")


# --- patient-experience surveys ------------------------------------------------------------------------------
DANPEP = f"{systems.KP_BASE}/Questionnaire/danpep"
SURVEY_ITEMS = tuple(f"item_{i:02d}" for i in range(1, 24))


def _answers(r: FhirResource) -> dict[str, object]:
    """linkId → the first answer's value, over the (possibly nested) items."""
    found: dict[str, object] = {}

    def walk(items: object) -> None:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            for answer in item.get("answer") or []:
                value = next((v for k, v in (answer or {}).items() if k.startswith("value")), None)
                if value is not None and item.get("linkId") not in found:
                    found[item.get("linkId")] = value
                walk((answer or {}).get("item"))
            walk(item.get("item"))

    walk(r.data.get("item"))
    return found


# --- helpers ----------------------------------------------------------------------------------------------
_PATIENT_ELEMENT = {"name": "name", "birth_date": "birthDate", "sex": "gender", "kommune_code": "address",
                    "death_date": "deceasedDateTime"}


def _identifiers(r: FhirResource) -> list[dict]:
    idents = r.data.get("identifier")
    if isinstance(idents, dict):  # a single Identifier (QuestionnaireResponse, Composition)
        idents = [idents]
    return [i for i in idents if isinstance(i, dict)] if isinstance(idents, list) else []


def _row_id(r: FhirResource, table: str) -> str | None:
    """The contract row's identifier: the platform's own identifier when the resource carries one (written by
    contract_to_fhir), else the resource id (or a transaction entry's urn:uuid)."""
    for ident in _identifiers(r):
        if ident.get("system") == systems.KP_ID + table and ident.get("value"):
            return str(ident["value"])
    return r.logical_id


def _role(coding: dict) -> str | None:
    if coding.get("system") == systems.KP_ROLES:
        return coding.get("code")
    return systems.ROLE_CODES.get((coding.get("system"), coding.get("code")))


def _address_codes(address: object) -> tuple[str | None, str | None]:
    """(municipality, region) from DK Core's address extensions."""
    kommune = region = None
    if isinstance(address, dict):
        for url, convert, store in ((systems.MUNICIPALITY_EXTENSION, municipality, "k"),
                                    (systems.REGION_EXTENSION, lambda c: systems.ISO_REGION.get(c, c), "r")):
            ext = extension(address, url) or {}
            coded = ext.get("valueCodeableConcept") or ext.get("valueCoding")
            code = next((c.get("code") for c in codings(coded) if c.get("code")), None) or ext.get("valueString")
            if code:
                if store == "k":
                    kommune = convert(str(code))
                else:
                    region = convert(str(code))
    return kommune, region


def _organization_name(org: FhirResource) -> str | None:
    if org.data.get("name"):
        return str(org.data["name"])
    sor = next((i.get("value") for i in _identifiers(org) if i.get("system") == systems.SOR), None)
    return f"SOR {sor}" if sor else None


def _diagnosis_code(concept: object) -> tuple[str | None, str | None]:
    """(contract code system, code) of a Condition.code: ICPC-2 before SKS (the GP's own classification),
    ICD-10 written as SKS ("D" + the code without its dot). A coding the contract cannot hold keeps its
    system's URI (and a coding without a system an empty one) so that ingestion names it when it quarantines
    the row."""
    found = {}
    for c in codings(concept):
        system = systems.diagnosis_code_system(c.get("system"), c.get("code"))
        if system and system not in found:
            code = str(c["code"]).strip().upper()
            if c.get("system") in systems.ICD10_SYSTEMS:
                code = "D" + code.replace(".", "")
            found[system] = code
    for system in ("ICPC2DK", "SKS"):
        if system in found:
            return system, found[system]
    return _foreign_code(concept)


def _foreign_code(concept: object) -> tuple[str | None, str | None]:
    for c in codings(concept):
        if c.get("system") and c.get("code"):
            return str(c["system"]), str(c["code"])
    for c in codings(concept):
        if c.get("code"):
            return "", str(c["code"])
    return "", None


def _observation_code(concept: object, home: bool) -> tuple[str | None, str | None]:
    """(contract code system, code): a Danish lab/measurement code first, then a LOINC code the contract knows
    (blood pressure as DNK office or MCS home measurement), else the foreign coding as for diagnoses."""
    for c in codings(concept):
        system = systems.lab_code_system(c.get("system"), c.get("code"))
        if system:
            return system, str(c["code"]).strip()
    for c in codings(concept):
        if c.get("system") == systems.LOINC:
            table = systems.HOME_BP if home and c.get("code") in systems.HOME_BP else systems.LOINC_TO_CONTRACT
            if c.get("code") in table:
                return table[c["code"]]
    return _foreign_code(concept)


def _observation_table(data: dict, system: str | None, code: str | None) -> str:
    """lab_result or measurement: the sender's category decides; without one, the code (vital signs and the
    MCS and KP codes are measurements, other NPU and DNK codes laboratory analyses)."""
    categories = {c.get("code") for concept in data.get("category") or [] for c in codings(concept)}
    if categories & systems.LAB_CATEGORIES:
        return "lab_result"
    if categories & systems.MEASUREMENT_CATEGORIES:
        return "measurement"
    if (system, code) in systems.MEASUREMENT_CODES or system in ("MCS", "KP"):
        return "measurement"
    return "lab_result" if system in ("NPU", "DNK") else "measurement"


def _html_text(raw: str) -> str:
    text = re.sub(r"<\s*(br|/p|/div|/li)\s*/?>", "\n", raw, flags=re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())

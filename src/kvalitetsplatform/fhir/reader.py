"""Reading FHIR R4 JSON: single resources, Bundles of every type, NDJSON bulk-export files — and resolving
references.

Everything read in one import forms one set: a reference in one file may point to a resource in another (a
bulk export's Observation.ndjson points into Patient.ndjson). Inside a Bundle a reference resolves against the
Bundle's own entries first (by fullUrl, as the FHIR specification says), then against the whole set.

A file that is not FHIR R4 — malformed JSON, an object that is no resource, a resource in STU3 or R5 shape, a
Bundle without a type — is a fatal problem: reading goes on to find every such problem, then `FhirImportError`
lists them.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kvalitetsplatform.fhir import systems
from kvalitetsplatform.fhir.report import FhirImportError, Issue, MappingReport

R4 = "4.0"
BUNDLE_TYPES = {"document", "message", "transaction", "transaction-response", "batch", "batch-response",
                "history", "searchset", "collection"}
FHIR_SUFFIXES = (".json", ".ndjson", ".json.gz", ".ndjson.gz")

# Shapes that exist in other FHIR versions but not in R4: (resource type, element, version it belongs to, R4
# name).
OTHER_VERSION_ELEMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("Condition", "assertedDate", "STU3", "recordedDate"),
    ("Condition", "context", "STU3", "encounter"),
    ("Condition", "patient", "DSTU2", "subject"),
    ("Condition", "dateRecorded", "DSTU2", "recordedDate"),
    ("Observation", "context", "STU3", "encounter"),
    ("Observation", "comment", "STU3", "note"),
    ("MedicationStatement", "taken", "STU3", "status"),
    ("MedicationStatement", "wasNotTaken", "DSTU2", "status"),
    ("MedicationStatement", "context", "STU3", "context"),
    ("MedicationStatement", "adherence", "R5", "status"),
    ("MedicationRequest", "definition", "STU3", "instantiatesCanonical"),
    ("MedicationRequest", "context", "STU3", "encounter"),
    ("Encounter", "patient", "DSTU2", "subject"),
    ("Encounter", "incomingReferral", "STU3", "basedOn"),
    ("Encounter", "actualPeriod", "R5", "period"),
    ("Encounter", "subjectStatus", "R5", ""),
    ("Patient", "animal", "STU3", ""),
    ("Patient", "careProvider", "DSTU2", "generalPractitioner"),
    ("Practitioner", "practitionerRole", "DSTU2", "PractitionerRole"),
)
# Elements whose JSON type changed: (resource type, element, JSON type in the other version, version, R4
# type).
OTHER_VERSION_TYPES: tuple[tuple[str, str, type, str, str], ...] = (
    ("Condition", "clinicalStatus", str, "STU3", "CodeableConcept"),
    ("Condition", "verificationStatus", str, "STU3", "CodeableConcept"),
    ("Encounter", "class", list, "R5", "Coding"),
    ("MedicationStatement", "medication", dict, "R5", "medicationCodeableConcept/medicationReference"),
    ("MedicationRequest", "medication", dict, "R5", "medicationCodeableConcept/medicationReference"),
)
# Resource types that exist only in other versions.
OTHER_VERSION_TYPES_BY_NAME = {
    "MedicationOrder": "DSTU2", "DiagnosticOrder": "DSTU2", "Order": "DSTU2", "DeviceUseRequest": "DSTU2",
    "ProcedureRequest": "STU3", "ReferralRequest": "STU3", "BodySite": "STU3", "DeviceComponent": "STU3",
    "Sequence": "STU3", "ProcessRequest": "STU3", "EligibilityRequest": "STU3",
    "DeviceUsage": "R5", "Transport": "R5", "InventoryReport": "R5", "Requirements": "R5", "Permission": "R5",
    "NutritionIntake": "R5", "FormularyItem": "R5", "ImagingSelection": "R5", "ActorDefinition": "R5",
}
_VERSIONED_PROFILE = re.compile(r"^http://hl7\.org/fhir/(?:StructureDefinition/[^|]+\|(?P<v1>\d[\d.]*)|"
                                r"(?P<v2>DSTU2|STU3|R5|R4B)/)")


@dataclass(frozen=True)
class Origin:
    """Where a resource was read: the file, the place in it, and the Bundle it came in."""

    file: str
    position: str = ""  # "linje 4", "Bundle.entry[3]", "linje 2, Bundle.entry[0]"
    full_url: str | None = None
    bundle: int | None = None  # serial number of the enclosing Bundle (for resolving references inside it)


@dataclass
class FhirResource:
    data: dict
    origin: Origin
    contained_in: FhirResource | None = None  # set for a contained resource

    @property
    def type(self) -> str:
        return self.data.get("resourceType", "")

    @property
    def id(self) -> str | None:
        value = self.data.get("id")
        return value if isinstance(value, str) and value else None

    @property
    def label(self) -> str:
        """How messages name it: "Observation/abc", or the fullUrl when there is no id."""
        if self.contained_in is not None:
            return f"{self.contained_in.label}#{self.id}"
        if self.id:
            return f"{self.type}/{self.id}"
        return f"{self.type} ({self.origin.full_url})" if self.origin.full_url else f"{self.type} (uden id)"

    @property
    def logical_id(self) -> str | None:
        """The id, or for a Bundle entry without one the uuid of its fullUrl (transaction bundles often have
        only `urn:uuid:` fullUrls)."""
        if self.id:
            return self.id
        url = self.origin.full_url or ""
        return url.rsplit(":", 1)[-1] if url.startswith("urn:uuid:") else None


@dataclass
class Resolution:
    resource: FhirResource | None = None
    problem: str | None = None  # Danish, when a literal reference cannot be followed
    logical: dict | None = None  # an identifier-only reference: {"system": …, "value": …}


@dataclass
class ResourceSet:
    """All resources of one import, indexed for reference resolution."""

    resources: list[FhirResource] = field(default_factory=list)
    by_key: dict[tuple[str, str], FhirResource] = field(default_factory=dict)
    ambiguous: dict[tuple[str, str], list[FhirResource]] = field(default_factory=dict)
    by_full_url: dict[str, FhirResource] = field(default_factory=dict)
    by_bundle: dict[int, dict[tuple[str, str], FhirResource]] = field(default_factory=dict)
    by_identifier: dict[tuple[str, str, str], FhirResource] = field(default_factory=dict)

    def of_type(self, *types: str) -> Iterator[FhirResource]:
        return (r for r in self.resources if r.type in types)

    def resolve(self, reference: object, source: FhirResource) -> Resolution:
        """Follow a Reference (the JSON object) from `source`."""
        if not isinstance(reference, dict):
            return Resolution(problem="referencen er ikke et objekt")
        ref = reference.get("reference")
        if not ref:
            identifier = reference.get("identifier")
            if isinstance(identifier, dict) and identifier.get("value"):
                target_type = reference.get("type", "")
                found = self.find_by_identifier(identifier.get("system", ""), identifier["value"], target_type)
                return Resolution(resource=found, logical=identifier)
            return Resolution(problem="referencen har hverken reference eller identifier")
        if not isinstance(ref, str):
            return Resolution(problem="reference skal være en tekst")
        if ref.startswith("#"):
            owner = source.contained_in or source
            for item in owner.data.get("contained", []) or []:
                if isinstance(item, dict) and item.get("id") == ref[1:]:
                    return Resolution(FhirResource(item, owner.origin, contained_in=owner))
            return Resolution(problem=f"den indlejrede ressource '{ref}' findes ikke i {owner.label}.contained")
        found = self.by_full_url.get(ref)
        if found is not None:
            return Resolution(found)
        match = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$", ref)
        if ref.startswith("urn:") or not match:
            return Resolution(problem=f"'{ref}' findes ikke blandt de indlæste ressourcer")
        key = (match.group(1), match.group(2))
        if source.origin.bundle is not None:
            base = (source.origin.full_url or "").rsplit("/", 2)[0]
            if "://" in base and "://" not in ref:
                found = self.by_full_url.get(f"{base}/{key[0]}/{key[1]}")
                if found is not None:
                    return Resolution(found)
            found = self.by_bundle.get(source.origin.bundle, {}).get(key)
            if found is not None:
                return Resolution(found)
        if key in self.ambiguous:
            files = ", ".join(sorted({r.origin.file for r in self.ambiguous[key]}))
            return Resolution(problem=f"'{ref}' er tvetydig: {key[0]}/{key[1]} findes i flere forskellige udgaver "
                                      f"({files})")
        found = self.by_key.get(key)
        if found is None:
            return Resolution(problem=f"'{ref}' findes ikke blandt de indlæste ressourcer")
        return Resolution(found)

    def find_by_identifier(self, system: str, value: str, resource_type: str = "") -> FhirResource | None:
        if resource_type:
            return self.by_identifier.get((resource_type, system, value))
        return next((r for (t, s, v), r in self.by_identifier.items() if s == system and v == value), None)

    def add(self, resource: FhirResource, report: MappingReport) -> None:
        kept, is_new = resource, True
        if resource.id:
            key = (resource.type, resource.id)
            if key in self.by_key or key in self.ambiguous:
                kept, is_new = self._deduplicate(key, resource, report)
            else:
                self.by_key[key] = resource
        if is_new:
            self.resources.append(resource)
        if resource.origin.full_url:
            self.by_full_url.setdefault(resource.origin.full_url, kept)
        if resource.origin.bundle is not None and resource.id:
            self.by_bundle.setdefault(resource.origin.bundle, {})[(resource.type, resource.id)] = kept
        identifiers = resource.data.get("identifier")
        for ident in identifiers if isinstance(identifiers, list) else []:
            if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
                self.by_identifier.setdefault((resource.type, ident["system"], str(ident["value"])), kept)

    def _deduplicate(self, key: tuple[str, str], resource: FhirResource,
                     report: MappingReport) -> tuple[FhirResource, bool]:
        """The same type and id read twice: identical copies are merged; of two versions the newer one (by
        meta.versionId, then meta.lastUpdated) wins; two different resources under one id stay apart, and a
        reference to that id is then ambiguous. Returns the resource to use and whether it is new to the set.
        """
        variants = self.ambiguous.get(key) or [self.by_key[key]]
        for other in variants:
            if _content(other.data) == _content(resource.data):
                report.duplicates += 1
                return other, False
        if key in self.by_key:
            older = self.by_key[key]
            newer = _newer(older.data, resource.data)
            if newer is not None:
                winner, loser = (resource, older) if newer is resource.data else (older, resource)
                report.add("info", loser.origin.file, f"en nyere udgave i {winner.origin.file} "
                           f"({winner.origin.position or 'hele filen'}) bruges i stedet", resource=loser.label,
                           position=loser.origin.position, element=f"{key[0]}.meta")
                if winner is resource:
                    self.resources[self.resources.index(older)] = resource
                    self.by_key[key] = resource
                    for url, r in self.by_full_url.items():
                        if r is older:
                            self.by_full_url[url] = resource
                return winner, False
        report.add("advarsel", resource.origin.file, f"{key[0]}/{key[1]} findes også i "
                   f"{variants[0].origin.file} med andet indhold; begge importeres, men referencer til id'et kan "
                   f"ikke følges", resource=resource.label, position=resource.origin.position)
        self.ambiguous.setdefault(key, list(variants)).append(resource)
        self.by_key.pop(key, None)
        return resource, True


def _content(data: dict) -> str:
    """What makes two copies the same resource: everything but the narrative and the metadata."""
    return json.dumps({k: v for k, v in data.items() if k not in ("text", "meta")}, sort_keys=True,
                      ensure_ascii=False)


def _newer(a: dict, b: dict) -> dict | None:
    """The newer of two versions of one resource, when their meta says so; else None."""
    for name in ("versionId", "lastUpdated"):
        va, vb = (a.get("meta") or {}).get(name), (b.get("meta") or {}).get(name)
        if va and vb and va != vb:
            if name == "versionId" and str(va).isdigit() and str(vb).isdigit():
                return a if int(va) > int(vb) else b
            return a if str(va) > str(vb) else b
    return None


def fhir_files(paths: Iterable[Path]) -> list[Path]:
    """The files to read: each path itself, or the FHIR files under a folder (sorted, so imports are
    repeatable)."""
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(FHIR_SUFFIXES))
        else:
            out.append(path)
    return out


class Reader:
    """Reads files into a ResourceSet, collecting fatal problems and report entries."""

    def __init__(self, report: MappingReport):
        self.report = report
        self.fatal: list[Issue] = []
        self.resources = ResourceSet()
        self.bulk_manifests: list[tuple[str, dict]] = []  # FHIR Bulk Data export manifests found among the files
        self._bundles = 0

    def read(self, paths: Iterable[Path]) -> ResourceSet:
        for path in fhir_files(paths):
            self.read_file(path)
        if self.fatal:
            raise FhirImportError(self.fatal)
        return self.resources

    def _fail(self, file: str, message: str, **where: str) -> None:
        self.fatal.append(Issue("fejl", file, message, **where))

    def read_file(self, path: Path) -> None:
        name = str(path)
        self.report.files.append(name)
        if not path.exists():
            return self._fail(name, "filen findes ikke")
        lower = path.name.lower()
        if not lower.endswith(FHIR_SUFFIXES):
            return self._fail(name, "ukendt filtype: forventede .json eller .ndjson (evt. .gz)")
        try:
            raw = gzip.decompress(path.read_bytes()) if lower.endswith(".gz") else path.read_bytes()
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            return self._fail(name, f"filen er ikke UTF-8 ({e.reason} ved byte {e.start})")
        except (OSError, EOFError) as e:
            return self._fail(name, f"filen kan ikke læses: {e}")
        if lower.endswith((".ndjson", ".ndjson.gz")):
            lines = text.splitlines()
            if not any(line.strip() for line in lines):
                return self._fail(name, "filen er tom")
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    self._parse(name, line, f"linje {number}", line_offset=number - 1)
        else:
            if not text.strip():
                return self._fail(name, "filen er tom")
            self._parse(name, text, "")

    def _parse(self, file: str, text: str, position: str, line_offset: int = 0) -> None:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            where = f"linje {e.lineno + line_offset}, kolonne {e.colno}"
            return self._fail(file, f"ugyldig JSON: {e.msg}", position=where)
        if not position and is_bulk_manifest(data):
            self.bulk_manifests.append((file, data))
            return
        self._top(file, data, position)

    def _top(self, file: str, data: object, position: str, full_url: str | None = None,
             bundle: int | None = None) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            what = "et JSON-objekt" if isinstance(data, dict) else type(data).__name__
            return self._fail(file, f"ikke en FHIR-ressource: {what} uden resourceType", position=position)
        resource = FhirResource(data, Origin(file, position, full_url, bundle))
        problem = wrong_version(data)
        if problem:
            element, message = problem
            return self._fail(file, message, position=position, resource=resource.label, element=element)
        for i, item in enumerate(data.get("contained") or []):
            problem = wrong_version(item) if isinstance(item, dict) else None
            if problem:
                return self._fail(file, problem[1], position=position, resource=resource.label,
                                  element=f"{resource.type}.contained[{i}].{problem[0].split('.', 1)[-1]}")
        self.report.resources[resource.type] += 1
        for profile in (data.get("meta") or {}).get("profile") or []:
            if isinstance(profile, str) and not profile.startswith(systems.KNOWN_PROFILE_PREFIXES):
                self.report.unknown_profiles[profile.split("|")[0]] += 1
        if resource.type == "Bundle":
            return self._bundle(file, resource)
        self.resources.add(resource, self.report)

    def _bundle(self, file: str, bundle: FhirResource) -> None:
        data, position = bundle.data, bundle.origin.position
        kind = data.get("type")
        if kind not in BUNDLE_TYPES:
            return self._fail(file, f"Bundle.type skal være en af {', '.join(sorted(BUNDLE_TYPES))}, fik "
                                    f"{kind!r}", position=position, resource=bundle.label, element="Bundle.type")
        self.report.bundles[kind] += 1
        entries = data.get("entry") or []
        if not isinstance(entries, list):
            return self._fail(file, "Bundle.entry skal være en liste", position=position, resource=bundle.label,
                              element="Bundle.entry")
        self._bundles += 1
        serial = self._bundles
        for i, entry in enumerate(entries):
            where = ", ".join(p for p in (position, f"Bundle.entry[{i}]") if p)
            if not isinstance(entry, dict):
                self._fail(file, "en entry skal være et objekt", position=where, resource=bundle.label)
                continue
            resource = entry.get("resource")
            method = (entry.get("request") or {}).get("method")
            if resource is None:
                if method == "DELETE":
                    self.report.add("advarsel", file, f"sletning ({entry['request'].get('url')}) understøttes "
                                    "ikke af importen og springes over", position=where, resource=bundle.label,
                                    element=f"Bundle.entry[{i}].request")
                elif kind not in ("transaction-response", "batch-response", "history"):
                    self.report.add("advarsel", file, "entry uden resource springes over", position=where,
                                    resource=bundle.label, element=f"Bundle.entry[{i}]")
                continue
            full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            self._top(file, resource, where, full_url, serial)


def is_bulk_manifest(data: object) -> bool:
    """A FHIR Bulk Data export manifest (the $export status response): not a resource, but it says when the
    export was taken (transactionTime) and which NDJSON files it made."""
    return isinstance(data, dict) and "resourceType" not in data and "transactionTime" in data and "output" in data


def wrong_version(data: dict) -> tuple[str, str] | None:
    """(element path, Danish message) when the resource is not FHIR R4 by its shape or its own statements."""
    kind = data.get("resourceType", "")
    version = data.get("fhirVersion")
    if isinstance(version, str) and not version.startswith(R4):
        return f"{kind}.fhirVersion", f"FHIR-version {version}; importen læser kun FHIR R4 (4.0.x)"
    if kind in OTHER_VERSION_TYPES_BY_NAME:
        return kind, (f"ressourcetypen {kind} findes kun i FHIR {OTHER_VERSION_TYPES_BY_NAME[kind]}, ikke i R4; "
                      "importen læser kun FHIR R4")
    for i, profile in enumerate((data.get("meta") or {}).get("profile") or []):
        match = _VERSIONED_PROFILE.match(profile) if isinstance(profile, str) else None
        if match:
            found = match.group("v1") or match.group("v2")
            if not found.startswith(R4):
                return f"{kind}.meta.profile[{i}]", (f"profilen {profile} hører til FHIR {found}; importen læser "
                                                     "kun FHIR R4")
    for rtype, element, other, r4_name in OTHER_VERSION_ELEMENTS:
        if kind == rtype and element in data:
            hint = f" (R4 bruger {r4_name})" if r4_name else ""
            return f"{kind}.{element}", (f"elementet '{element}' findes i FHIR {other}, ikke i R4{hint}; "
                                         "importen læser kun FHIR R4")
    for rtype, element, json_type, other, r4_type in OTHER_VERSION_TYPES:
        if kind == rtype and isinstance(data.get(element), json_type):
            return f"{kind}.{element}", (f"'{element}' har FHIR {other}-form ({json_type.__name__}); i R4 er det "
                                         f"{r4_type}; importen læser kun FHIR R4")
    return None

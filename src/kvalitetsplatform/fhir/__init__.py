"""Danish FHIR R4 (HL7 Denmark DK Core, MedCom) into the extract contract — and the contract back out as FHIR.

`to_delivery` reads FHIR files and writes an ordinary delivery (contract tables + manifest), so validation,
quarantine, pseudonymisation and the atomic load are ingestion's, exactly as for Parquet or CSV deliveries.
docs/fhir.md describes the mapping element by element.
"""

from kvalitetsplatform.fhir.delivery import to_delivery
from kvalitetsplatform.fhir.report import FhirImportError, Issue, MappingReport

__all__ = ["FhirImportError", "Issue", "MappingReport", "to_delivery"]

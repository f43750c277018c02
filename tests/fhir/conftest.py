"""Fixtures for the FHIR import tests (helpers live in fhir_support, importable by a unique name)."""

from __future__ import annotations

import pytest

from .fhir_support import shared_examples


@pytest.fixture(scope="session")
def examples():
    folder = shared_examples()
    assert (folder / "INDEX.md").exists(), (
        f"the FHIR examples are not at {folder}; set KP_SHARED_DIR to the folder holding fhir-examples/")
    return folder

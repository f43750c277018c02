"""The shipped packages: they validate, their test patients pass on the reference evaluator, a wrong expectation
fails, and the rows a test patient becomes are contract rows the warehouse can hold."""

from dataclasses import replace
from datetime import datetime

import pyarrow as pa
import pytest

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.contract.delivery import arrow_schema, read_manifest, write_delivery
from kvalitetsplatform.indicators import load_catalogue
from kvalitetsplatform.indicators.assurance import run_case, run_package
from kvalitetsplatform.indicators.codelists import available
from kvalitetsplatform.indicators.testpatients import check_contract_rows, contract_deliveries, warehouse_tables
from kvalitetsplatform.warehouse.schema import LOADED

CATALOGUE = load_catalogue()
PACKAGES = {p.id: p for p in CATALOGUE.packages}


def test_every_shipped_package_validates_without_warnings():
    assert CATALOGUE.errors == [] and CATALOGUE.warnings == []
    assert CATALOGUE.files == len(PACKAGES)


def test_the_packages_cover_the_topics_with_at_least_40_indicators():
    assert set(PACKAGES) == {"ihd", "t2d", "copd", "hypertension", "antibiotics", "polypharmacy", "dementia",
                             "depression", "chronic_care", "danpep"}
    indicators = CATALOGUE.indicators()
    assert len(indicators) >= 40
    assert len({i.id for i in indicators}) == len(indicators)
    assert {i.kind for i in indicators} == {"proportion", "rate", "mean"}


def test_every_shipped_codelist_is_used_by_a_package():
    used = {c.ref for p in CATALOGUE.packages for c in p.codelists.values()}
    assert set(available()) == used


@pytest.mark.parametrize("package_id", sorted(PACKAGES))
def test_every_test_patient_gives_the_expected_outcome(package_id):
    results = run_package(PACKAGES[package_id])
    failures = [f"{r.case} / {r.indicator}: {'; '.join(r.problems)}" for r in results if not r.passed]
    assert not failures, "\n".join(failures)
    checked = {r.indicator for r in results}
    assert checked == {i.id for i in PACKAGES[package_id].indicators}


def _wrong(expected, indicator):
    """The expectation with its numerator changed so that it must no longer hold."""
    if indicator.kind == "proportion" and indicator.measure.__class__.__name__ == "PatientProportion":
        if expected.denominator == 0:
            return replace(expected, denominator=1.0)
        return replace(expected, numerator=1.0 - expected.numerator)
    return replace(expected, numerator=expected.numerator + 1, denominator=max(expected.denominator,
                                                                                 expected.numerator + 1))


@pytest.mark.parametrize("package_id", sorted(PACKAGES))
def test_a_wrong_expectation_fails(package_id):
    package = PACKAGES[package_id]
    for number, case in enumerate(package.tests):
        for indicator_id, expected in case.expect.items():
            wrong = replace(case, expect={indicator_id: _wrong(expected, package.indicator(indicator_id))})
            [result] = run_case(package, wrong, number)
            assert not result.passed, f"{case.name} / {indicator_id} cannot fail"


@pytest.mark.parametrize("package_id", sorted(PACKAGES))
def test_test_patients_become_contract_rows_the_warehouse_can_hold(package_id):
    for number, case in enumerate(PACKAGES[package_id].tests):
        deliveries = contract_deliveries(case, number)
        assert check_contract_rows(deliveries) == []
        assert case.practice in deliveries
        for table, rows in warehouse_tables(deliveries).items():
            loaded = next(t for t in LOADED.values() if t.name == table)
            allowed = set(loaded.column_names) - {"delivery_id"}
            for row in rows:
                assert set(row) == allowed, (table, set(row) ^ allowed)


def test_test_patient_deliveries_can_be_written_as_contract_files(tmp_path):
    package = PACKAGES["ihd"]
    case = next(c for c in package.tests if "moved to another practice" in c.name)
    deliveries = contract_deliveries(case, 7)
    assert sorted(deliveries) == ["000001", "000002"]
    for ydernummer, tables in deliveries.items():
        arrow = {name: pa.Table.from_pylist(rows, schema=arrow_schema(TABLES[name])) for name, rows in tables.items()}
        folder = tmp_path / ydernummer
        write_delivery(folder, delivery_id=f"test-{ydernummer}", ydernummer=ydernummer, vendor="TEST",
                       extract_ts=datetime(2026, 2, 1), period_start=case.reference_date.replace(day=1),
                       period_end=case.reference_date, tables=arrow)
        manifest = read_manifest(folder)
        assert {f.table: f.rows for f in manifest.files} == {name: len(rows) for name, rows in tables.items()}
    # the statin was prescribed while the patient was listed at the first practice, so that practice delivered it
    assert [r["atc"] for r in deliveries["000001"]["prescription"]] == ["C10AA05"]
    assert "prescription" not in deliveries["000002"]
    assert deliveries["000001"]["patient"][0]["cpr"] == deliveries["000002"]["patient"][0]["cpr"]

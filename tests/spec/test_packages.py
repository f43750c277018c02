"""Every shipped package's test patients, through the engine on DuckDB and Spark: each case's expected numerator,
denominator and deciding fact (the same cases `kp packages test` runs through the plain-Python evaluator)."""

from __future__ import annotations

from collections import defaultdict

import ibis
import pytest

from kvalitetsplatform.compute.rows import load_rows
from kvalitetsplatform.indicators import load_catalogue
from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.engine import Evaluation
from kvalitetsplatform.indicators.testpatients import contract_deliveries, warehouse_tables

CATALOGUE = load_catalogue()
PACKAGES = {p.id: p for p in CATALOGUE.packages}
CASES = [(p.id, i, case) for p in CATALOGUE.packages for i, case in enumerate(p.tests)]


def _merged(package: m.Package) -> tuple[dict[str, list[dict]], dict[int, dict[str, str]]]:
    """All the package's cases in one warehouse: patients offset by 1000 per case, practices renamed per case."""
    merged: dict[str, list[dict]] = defaultdict(list)
    practices: dict[int, dict[str, str]] = {}
    for i, case in enumerate(package.tests):
        names: dict[str, str] = {}
        for table, rows in warehouse_tables(contract_deliveries(case, i)).items():
            for row in rows:
                row = dict(row)
                if "patient_key" in row:
                    row["patient_key"] += 1000 * (i + 1)
                row["ydernummer"] = names.setdefault(row["ydernummer"], f"{i + 1:03d}{len(names) + 1:03d}")
                merged[table].append(row)
        practices[i] = names
    return merged, practices


def evaluate_package(con, package: m.Package) -> dict[tuple[int, str], dict]:
    """{(case number, indicator): {"numerator", "denominator", "fact"}} for every expectation of the package."""
    merged, practices = _merged(package)
    wh = load_rows(con, merged, prefix=f"pkg_{package.id}_")
    refs = sorted({c.reference_date for c in package.tests})
    patient_parts, survey_parts = [], []
    with Evaluation(wh, refs, package.indicators) as ev:
        for ind in package.indicators:
            tag = ibis.literal(ind.id)
            if isinstance(ind.measure, m.SurveyMean):
                s = ev.survey(ind)
                survey_parts.append(s.select("ydernummer", "ref_date", "numerator", "denominator", indicator=tag))
            else:
                f = ev.patients(ind)
                patient_parts.append(f.select("ydernummer", "patient_key", "ref_date", "numerator", "denominator",
                                              "fact_date", "fact_value", "fact_text", indicator=tag))
        patients = ibis.union(*patient_parts).to_pyarrow().to_pylist() if patient_parts else []
        surveys = ibis.union(*survey_parts).to_pyarrow().to_pylist() if survey_parts else []
    out = {}
    for i, case in enumerate(package.tests):
        practice = practices[i].get(case.practice)
        for indicator_id in case.expect:
            rows = [r for r in (surveys if case.patient is None else patients)
                    if r["indicator"] == indicator_id and r["ydernummer"] == practice
                    and r["ref_date"] == case.reference_date
                    and (case.patient is None or r["patient_key"] // 1000 == i + 1)]
            fact = None
            if rows and case.patient is not None:
                r = rows[0]
                fact = {} if r["fact_date"] is None else {"date": r["fact_date"], "value": r["fact_value"],
                                                          "text": r["fact_text"]}
            out[(i, indicator_id)] = {"numerator": float(sum(r["numerator"] for r in rows)),
                                      "denominator": float(sum(r["denominator"] for r in rows)), "fact": fact}
    return out


@pytest.fixture
def package_outcomes(backends):
    def get(engine: str, package_id: str) -> dict:
        return backends.cached((f"package:{package_id}", engine),
                               lambda: evaluate_package(backends.con(engine), PACKAGES[package_id]))
    return get


def test_catalogue_loads_and_has_cases():
    assert not CATALOGUE.errors
    assert sum(len(p.indicators) for p in CATALOGUE.packages) >= 40
    assert all(p.tests for p in CATALOGUE.packages)


@pytest.mark.parametrize(("package_id", "number", "case"), CASES,
                         ids=[f"{p}:{c.name}" for p, _, c in CASES])
def test_case(package_id, number, case, engine, package_outcomes):
    got = package_outcomes(engine, package_id)
    for indicator_id, expected in case.expect.items():
        outcome = got[(number, indicator_id)]
        assert (outcome["numerator"], outcome["denominator"]) == (expected.numerator, expected.denominator), (
            f"{indicator_id} i '{case.name}' (linje {expected.line}): tæller/nævner {outcome['numerator']:g}/"
            f"{outcome['denominator']:g}, forventet {expected.numerator:g}/{expected.denominator:g}")
        if expected.fact is not None and outcome["fact"] is not None:
            got_fact = {k: outcome["fact"][k] for k in expected.fact} if outcome["fact"] else {}
            assert got_fact == expected.fact, f"{indicator_id} i '{case.name}': fakta {outcome['fact']}"


@pytest.mark.spark
@pytest.mark.parametrize("package_id", sorted(PACKAGES))
def test_engines_agree(package_id, package_outcomes):
    assert package_outcomes("spark", package_id) == package_outcomes("duckdb", package_id)

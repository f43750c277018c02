"""Running a package's test patients: each case becomes contract deliveries, then warehouse rows, and the
plain-Python evaluator must give exactly the expected numerator, denominator (and deciding fact)."""

from __future__ import annotations

from dataclasses import dataclass

from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.evaluate import fact, patient_records, practice_results
from kvalitetsplatform.indicators.testpatients import Expectation, TestCase, contract_deliveries, warehouse_tables


@dataclass(frozen=True)
class CheckResult:
    package: str
    case: str
    line: int  # the expectation's line in the package file
    indicator: str
    expected: Expectation
    numerator: float
    denominator: float
    fact: dict | None
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"package": self.package, "case": self.case, "line": self.line, "indicator": self.indicator,
                "passed": self.passed, "expected": {"numerator": self.expected.numerator,
                                                    "denominator": self.expected.denominator},
                "actual": {"numerator": self.numerator, "denominator": self.denominator}, "fact": self.fact,
                "problems": list(self.problems)}


def run_case(package: m.Package, case: TestCase, number: int = 0) -> list[CheckResult]:
    tables = warehouse_tables(contract_deliveries(case, number))
    results = []
    for indicator_id, expected in case.expect.items():
        indicator = package.indicator(indicator_id)
        totals = practice_results(indicator, tables, case.reference_date).get(case.practice)
        numerator, denominator = (totals.numerator, totals.denominator) if totals else (0, 0)
        problems = []
        if (numerator, denominator) != (expected.numerator, expected.denominator):
            problems.append(f"forventede tæller {expected.numerator:g} og nævner {expected.denominator:g}, fik "
                            f"tæller {numerator:g} og nævner {denominator:g}")
        the_fact = None
        if indicator.fact is not None and case.patient is not None:
            record = patient_records(tables)[0]
            the_fact = fact(indicator.fact, record, case.reference_date)
        if expected.fact is not None:
            want = expected.fact
            got = {k: the_fact[k] for k in want} if the_fact else {}
            if got != want:
                problems.append(f"forventede afgørende oplysning {_show(want)}, fik {_show(the_fact)}")
        results.append(CheckResult(package.id, case.name, expected.line, indicator_id, expected, numerator,
                                   denominator, the_fact, tuple(problems)))
    return results


def run_package(package: m.Package) -> list[CheckResult]:
    return [result for i, case in enumerate(package.tests) for result in run_case(package, case, i)]


def _show(fact: dict | None) -> str:
    if not fact:
        return "ingen"
    parts = [f"{fact['date']:%d.%m.%Y}"]
    if fact.get("value") is not None:
        parts.append(f"{fact['value']:g}".replace(".", ","))
    if fact.get("text"):
        parts.append(str(fact["text"]))
    return " ".join(parts)


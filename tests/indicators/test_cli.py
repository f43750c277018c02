"""`kp packages list|show|validate|test`, in Danish and as JSON."""

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from kvalitetsplatform.cli.main import app

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[2] / "src/kvalitetsplatform/indicators/packages"
BROKEN = Path(__file__).parent / "fixtures" / "broken"


def kp(*args: str):
    return runner.invoke(app, ["packages", *args])


def test_validate_accepts_the_shipped_packages():
    result = kp("validate")
    assert result.exit_code == 0, result.output
    assert "OK: 10 pakker" in result.output


def test_validate_exits_non_zero_and_names_file_line_and_field(tmp_path):
    bad = tmp_path / "ihd.yaml"
    bad.write_text((SHIPPED / "ihd.yaml").read_text(encoding="utf-8")
                   .replace('value: "< 1.8 mmol/L"', 'value: "< 1.8 mg/dL"'), encoding="utf-8")
    result = kp("validate", str(bad))
    assert result.exit_code == 1
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "mg/dL" in text)
    # one error, one line (not wrapped to the terminal), so editors and grep can use it
    assert f"Fejl: {bad}, linje {line}, felt 'indicators[IHD-3].numerator.lab.value': enheden skal være 'mmol/L'" \
        in result.output.splitlines()[0]


def test_validate_json_lists_every_error():
    path = BROKEN / "measures.yaml"  # refers only to shipped codelists
    marked = [n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "# FEJL:" in text]
    result = kp("validate", "--json", str(path))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert sorted(e["line"] for e in report["errors"]) == marked
    assert {e["file"] for e in report["errors"]} == {str(path)}


def test_validate_refuses_a_missing_file(tmp_path):
    result = kp("validate", str(tmp_path / "findes-ikke.yaml"))
    assert result.exit_code == 2
    assert "filen findes ikke" in result.output


def test_list_and_show():
    listed = json.loads(kp("list", "--json").stdout)
    assert {p["package"] for p in listed["packages"]} >= {"ihd", "t2d", "danpep"}
    assert sum(p["indicators"] for p in listed["packages"]) >= 40
    shown = kp("show", "ihd", "--json")
    card = json.loads(shown.stdout)
    assert card["title"] == "Iskæmisk hjertesygdom"
    ihd3 = next(i for i in card["indicators"] if i["id"] == "IHD-3")
    assert ihd3["standard"] == ">= 50 %"
    assert ihd3["measure"]["tæller"] == ["seneste LDL-kolesterol inden for de seneste 12 måneder er < 1,8 mmol/L"]
    english = json.loads(kp("show", "ihd", "--lang", "en", "--json").stdout)
    assert english["title"] == "Ischaemic heart disease"
    text = kp("show", "copd")
    assert text.exit_code == 0 and "KOL-9" in text.output
    unknown = kp("show", "findes_ikke")
    assert unknown.exit_code == 2 and "Ukendt pakke" in unknown.output


def test_test_runs_every_test_patient():
    result = kp("test", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == [] and report["checks"] == report["passed"] > 250
    assert set(report["packages"]) == {p.stem for p in SHIPPED.glob("*.yaml")}


def test_test_exits_non_zero_when_an_outcome_differs(tmp_path, monkeypatch):
    packages = tmp_path / "packages"
    packages.mkdir()
    shutil.copy(SHIPPED / "antibiotics.yaml", packages / "antibiotics.yaml")
    text = (packages / "antibiotics.yaml").read_text(encoding="utf-8")
    (packages / "antibiotics.yaml").write_text(text.replace("AB-1: {denominator: true, numerator: 3}",
                                                            "AB-1: {denominator: true, numerator: 4}"))
    monkeypatch.setattr("kvalitetsplatform.indicators.PACKAGE_DIR", packages)
    result = kp("test", "antibiotics")
    assert result.exit_code == 1
    assert "AB-1" in result.output and "forventede tæller 4 og nævner 1, fik tæller 3 og nævner 1" in \
        " ".join(result.output.split())

"""Wrong package and codelist files give errors naming file, line and field, with what was expected.

Each broken fixture marks the lines that must be reported with a trailing comment `# FEJL: <field> | <words>`;
the file must give exactly those errors (and warnings), each on its line, for its field, containing its words."""

import re
import shutil
from pathlib import Path

import pytest

from kvalitetsplatform.indicators import load_catalogue, load_package
from kvalitetsplatform.indicators.codelists import load_codelist
from kvalitetsplatform.indicators.source import PackageFileError

FIXTURES = Path(__file__).parent / "fixtures"
CODELISTS = FIXTURES / "codelists"
MARKER = re.compile(r"#\s*FEJL:\s*(?P<field>[^|]*?)\s*\|\s*(?P<words>.+?)\s*$")


def markers(path: Path) -> list[tuple[int, str, str]]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = MARKER.search(line)
        if match:
            found.append((number, match["field"], match["words"]))
    assert found, f"{path.name} marks no expected error"
    return found


def assert_reported(path: Path, reported) -> None:
    expected = markers(path)
    for line, field, words in expected:
        hits = [e for e in reported if e.line == line and e.field == field and words in e.message]
        assert hits, (f"{path.name}:{line}: expected an error for {field!r} containing {words!r}; got:\n"
                      + "\n".join(str(e) for e in reported))
    assert len(reported) == len(expected), "unexpected errors:\n" + "\n".join(str(e) for e in reported)
    assert {e.file for e in reported} == {str(path)}


@pytest.mark.parametrize("path", sorted((FIXTURES / "broken").glob("*.yaml")), ids=lambda p: p.stem)
def test_a_broken_package_names_file_line_and_field(path):
    package, reader = load_package(path, codelist_root=CODELISTS)
    assert package is None or not reader.errors
    assert_reported(path, reader.errors + reader.warnings)


def test_a_broken_codelist_names_its_own_file_and_lines():
    path = CODELISTS / "atc" / "broken@2026-01.yaml"
    with pytest.raises(PackageFileError) as e:
        load_codelist("atc/broken@2026-01", CODELISTS)
    expected = markers(path)
    assert [(err.line, err.field) for err in e.value.errors] == [(line, field) for line, field, _ in expected]
    for err, (_, _, words) in zip(e.value.errors, expected):
        assert err.file == "codelists/atc/broken@2026-01.yaml" and words in err.message


def test_every_mistake_in_a_file_is_reported_in_one_run():
    _, reader = load_package(FIXTURES / "broken" / "criteria.yaml", codelist_root=CODELISTS)
    assert len(reader.errors) == 13
    assert len({e.line for e in reader.errors}) == 13


def test_duplicate_indicator_ids_across_packages_are_refused(tmp_path):
    shipped = Path(__file__).resolve().parents[2] / "src/kvalitetsplatform/indicators/packages"
    shutil.copy(shipped / "ihd.yaml", tmp_path / "ihd.yaml")
    text = (shipped / "t2d.yaml").read_text(encoding="utf-8")
    (tmp_path / "t2d.yaml").write_text(text.replace("id: DM-2\n", "id: IHD-2\n")
                                       .replace("DM-2: {", "IHD-2: {"), encoding="utf-8")
    catalogue = load_catalogue(sorted(tmp_path.glob("*.yaml")))
    assert len(catalogue.errors) == 1
    error = catalogue.errors[0]
    line = next(n for n, text in enumerate((tmp_path / "t2d.yaml").read_text().splitlines(), 1)
                if text.strip() == "- id: IHD-2")
    assert (error.file, error.line, error.field) == (str(tmp_path / "t2d.yaml"), line, "indicators[IHD-2].id")
    assert "bruges også i" in error.message and "ihd.yaml" in error.message
    assert [p.id for p in catalogue.packages] == ["ihd"]


def test_ydelseskoder_and_versions_are_read_as_text_not_numbers(tmp_path):
    """Plain YAML would read 0120 as the octal number 80 and 2026.10 as 2026.1."""
    shipped = Path(__file__).resolve().parents[2] / "src/kvalitetsplatform/indicators/packages"
    text = (shipped / "ihd.yaml").read_text(encoding="utf-8").replace('"2026.1"', "2026.10")
    (tmp_path / "ihd.yaml").write_text(text.replace('ydelseskode: "0120"', "ydelseskode: 0120"), encoding="utf-8")
    package, reader = load_package(tmp_path / "ihd.yaml")
    assert not reader.errors, reader.errors
    assert package.version == "2026.10"
    codes = package.indicator("IHD-7").measure.numerator.events.codelists[0].codes
    assert [c.code for c in codes] == ["0120"]

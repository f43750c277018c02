"""Versioned codelist files: `codelists/<system>/<name>@<version>.yaml`, referred to as `<system>/<name>@<version>`.

A codelist file reads:

    title: {da: Statiner, en: Statins}
    system: ATC                 # the terminology code system (terminology/codesystems)
    match: prefix               # prefix: C10AA also matches C10AA05; exact: only the code itself
    source: domain.md §2.4; WHO ATC
    codes:
      - {code: C10AA, label: Statiner}
    exclude:                    # optional: codes taken out again (same match rule)
      - {code: N05AN, label: Lithium}

A code may name its own `system` when a list mixes systems (LDL: NPU01568 and the calculated DNK35308). Every code
is checked against the terminology: an exact code must exist, a prefix must begin at least one known code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from kvalitetsplatform.indicators.model import Code, Codelist
from kvalitetsplatform.indicators.source import Invalid, Node, PackageError, PackageFileError, Reader, load_yaml
from kvalitetsplatform.terminology import code_system, code_systems

CODELIST_DIR = Path(__file__).parent / "codelists"
FIELDS = ("title", "system", "match", "source", "author", "codes", "exclude", "note")


def codelist_path(ref: str, root: Path = CODELIST_DIR) -> Path:
    return root / f"{ref}.yaml"


def available(root: Path = CODELIST_DIR) -> list[str]:
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.glob("*/*@*.yaml"))


@cache
def load_codelist(ref: str, root: Path = CODELIST_DIR) -> Codelist:
    """The codelist `ref` ("atc/statins@2026-01"); raises PackageFileError naming the codelist file's lines."""
    path = codelist_path(ref, root)
    display = f"codelists/{ref}.yaml"
    doc, errors = load_yaml(path, display)
    reader = Reader(display)
    reader.errors.extend(errors)
    result = reader.attempt(_read, reader, doc, ref) if doc is not None else None
    if reader.errors or result is None:
        raise PackageFileError(reader.errors)
    return result


def _read(r: Reader, doc: Node, ref: str) -> Codelist:
    m = r.mapping(doc, "", FIELDS, ("title", "system", "match", "source", "codes"))
    directory = ref.split("/", 1)[0]
    system = r.choice(m["system"], "system", tuple(code_systems()))
    if directory.lower() != system.lower():
        r.fail(m["system"], "system", f"kodelisten ligger i mappen '{directory}/' men siger system {system}; "
                                      f"mappen skal hedde som systemet ({system.lower()}/)")
    match = r.choice(m["match"], "match", ("exact", "prefix"))
    title = r.attempt(r.bilingual, m["title"], "title")
    r.attempt(r.text, m["source"], "source")
    codes = _codes(r, m["codes"], "codes", system, match)
    exclude = _codes(r, m["exclude"], "exclude", system, match) if "exclude" in m else []
    if not codes and not r.errors:
        r.fail(m["codes"], "codes", "kodelisten har ingen koder")
    codelist = Codelist(ref, title[0] if title else ref, match, tuple(c for c, _ in codes),
                        tuple(c for c, _ in exclude), title[1] if title else "")
    for i, (code, line) in enumerate(exclude):
        if not codelist._hit(codelist.codes, code.system, code.code):
            r.errors.append(PackageError(r.file, line, f"exclude[{i}].code",
                                         f"{code.code} er ikke omfattet af listens koder, så den kan ikke undtages"))
    return codelist


def _codes(r: Reader, node: Node, field: str, system: str, match: str) -> list[tuple[Code, int]]:
    """The list's codes with the line each stands on."""
    codes: list[tuple[Code, int]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(r.sequence(node, field)):
        where = f"{field}[{i}]"
        try:
            m = r.mapping(item, where, ("code", "label", "system"), ("code", "label"))
            code_system_name = r.choice(m["system"], f"{where}.system", tuple(code_systems())) \
                if "system" in m else system
            code = r.text(m["code"], f"{where}.code")
            label = r.text(m["label"], f"{where}.label")
            check_code(r, m["code"], f"{where}.code", code_system_name, code, match)
            if (code_system_name, code) in seen:
                first = seen[code_system_name, code]
                r.fail(m["code"], f"{where}.code", f"{code} står allerede i listen (linje {first})")
            seen[code_system_name, code] = m["code"].line
            codes.append((Code(code_system_name, code, label), m["code"].line))
        except Invalid as e:
            r.errors.append(e.error)
    return codes


def check_code(r: Reader, node: Node, field: str, system: str, code: str, match: str) -> None:
    """Fail unless `code` exists in the terminology (exact) or begins at least one known code (prefix)."""
    terminology = code_system(system)
    if match == "exact" or code in terminology:
        if code not in terminology:
            r.fail(node, field, f"koden {code} findes ikke i {terminology.id}")
        return
    if not any(known.startswith(code) for known in terminology.concepts):
        r.fail(node, field, f"ingen kode i {terminology.id} begynder med {code}")


def expand(codelist: Codelist) -> set[tuple[str, str]]:
    """The terminology's concrete codes the list matches, as (system, code)."""
    found = set()
    for system in codelist.systems:
        for code in code_system(system).concepts:
            if codelist.matches(code, system):
                found.add((system, code))
    return found

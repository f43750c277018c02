"""Render the contract as Markdown: docs/contract.md is this function's output, so doc and code cannot drift."""

from __future__ import annotations

from kvalitetsplatform.contract import CONTRACT_VERSION, MANIFEST_FIELDS, MANIFEST_NAME, TABLES, Field
from kvalitetsplatform.terminology import code_system


def _allowed(f: Field) -> str:
    if f.choices:
        return " / ".join(f"`{c}`" for c in f.choices)
    if f.code_system == "@code_system":
        return "code from the system named in `code_system`"
    if f.code_system:
        return f"code from `{code_system(f.code_system).id}`"
    if f.pattern:
        return f"matches `{f.pattern}`"
    return ""


def _row(f: Field) -> str:
    cells = [f"`{f.name}`", f.type, "yes" if f.required else "", _allowed(f),
             f"`{f.example}`" if f.example else "", f.description + (" **Identifies a person.**" if
                                                                    f.identifies_person else "")]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


HEADER = "| field | type | required | allowed values | example | meaning |\n|---|---|---|---|---|---|"


def contract_markdown() -> str:
    out = [
        f"# The extract contract, version {CONTRACT_VERSION}",
        "",
        "*Generated from `src/kvalitetsplatform/contract/__init__.py` by `kp contract-doc`; edit the code, not this "
        "file.*",
        "",
        "What a practice system (LPS) delivers through the national supplier platform (PLSP). One **delivery** is one "
        "practice (ydernummer) at one extract time: a folder with one file per table, Parquet or CSV (UTF-8, comma-"
        f"separated, header row), and `{MANIFEST_NAME}`. Dates are ISO 8601 (`2025-11-03`), timestamps "
        "`2025-11-03T09:20:00` in Danish local time, decimals with a point in files (the UI shows comma decimals).",
        "",
        "Facts in a delivery cover the manifest's period. A corrected re-delivery of the same practice and period "
        "replaces the earlier one; a delivery whose period partly overlaps an earlier one is refused. A practice that "
        "changes cluster sends a new `practice` row from the date of the change; a patient who moves practice appears "
        "in both practices' deliveries (`list_end` at the old, `list_start` at the new).",
        "",
        "CPR numbers and names are replaced at ingestion by a keyed pseudonym (HMAC-SHA256); the clear values are kept "
        "only encrypted in the identity vault. Replacement numbers (eCPR, with letters) are valid; modulus 11 is not "
        "required.",
        "",
        f"## `{MANIFEST_NAME}`",
        "",
        HEADER,
        *(_row(f) for f in MANIFEST_FIELDS),
        "",
    ]
    for table in TABLES.values():
        kind = "supplementary source" if table.supplementary else "practice system"
        out += [
            f"## `{table.name}` ({kind})",
            "",
            table.description,
            "",
            f"Natural key (unique within a delivery): {', '.join(f'`{k}`' for k in table.key)}.",
            "",
            HEADER,
            *(_row(f) for f in table.fields),
            "",
        ]
    out += [
        "## Code systems",
        "",
        "| system | version | codes | file |",
        "|---|---|---|---|",
    ]
    for name in ("ICPC2DK", "SKS", "NPU", "DNK", "MCS", "KP", "ATC", "ydelseskode", "region", "kommune"):
        cs = code_system(name)
        out.append(f"| {name} | {cs.version} | {len(cs.concepts)} | "
                   f"`src/kvalitetsplatform/terminology/codesystems/{cs.id}.csv` |")
    out.append("")
    return "\n".join(out)

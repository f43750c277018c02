"""Helpers for the report tests: the text of produced PDFs and the identities that must not leak."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pypdf import PdfReader

from kvalitetsplatform.reports.testing import World

PACKAGE = "dementia"


def pdf_text(path: Path) -> str:
    """The text a reader can copy out of the PDF (pypdf), pages joined."""
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def layout_text(path: Path) -> str:
    """The text with its layout kept (poppler's pdftotext -layout): a chart's label and value share a line."""
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def names_and_numbers(world: World, exclude: set[str] = frozenset()) -> dict[str, str]:
    """Every practice's name and ydernummer ({text: ydernummer}), except those in `exclude`."""
    out = {}
    for u in world.units:
        if u.level == "practice" and u.code not in exclude:
            out[u.name] = u.code
            out[u.code] = u.code
    return out


CPR = re.compile(r"\b(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}-?\d{4}\b")  # DDMMYY-NNNN

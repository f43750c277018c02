"""Languages of the web pages: Danish by default, English selectable; every string through Babel catalogues.

The source language of the messages is Danish (the product's language); `locale/en/LC_MESSAGES/messages.po` holds
the English. Catalogues are compiled in memory when the app starts (no .mo files to keep in step). After changing
texts: `.venv/bin/python -m kvalitetsplatform.web.i18n` re-extracts the strings from templates, web code and
reports/charts.py into `locale/messages.pot` and merges them into the .po files; a test fails while any message
lacks an English translation.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from kvalitetsplatform.reports.charts import ChartLocale

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCES = (
    (Path(__file__).parent, [("templates/**.html", "jinja2"), ("**.py", "python")]),
    (Path(__file__).parent.parent / "reports", [("charts.py", "python")]),
)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue for `lang`; Danish needs none (the messages are Danish)."""
    if lang not in LANGUAGES:
        raise ValueError(f"ukendt sprog {lang!r}; understøttede sprog: {', '.join(LANGUAGES)}")
    path = po_path(lang)
    if lang == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def chart_locale(lang: str) -> ChartLocale:
    return PageLocale(lang, translations(lang).gettext)


class PageLocale(ChartLocale):
    """ChartLocale whose numbers and dates are formatted once per value: a page shows the same few hundred values on
    every request, and Babel's formatting was a third of rendering a cockpit."""

    def number(self, value: float | None, digits: int = 1) -> str:
        return _formatted(self.lang, "number", value, digits)

    def percent(self, value: float | None, digits: int = 1) -> str:
        return _formatted(self.lang, "percent", value, digits)

    def day(self, value):
        return _formatted(self.lang, "day", value)

    def month(self, value):
        return _formatted(self.lang, "month", value)


@lru_cache(maxsize=65536)
def _formatted(lang: str, how: str, value, *args) -> str:
    return getattr(ChartLocale(lang), how)(value, *args)


def extract() -> Catalog:
    """Every translatable string in the templates, the web code and the chart builders."""
    catalog = Catalog(project="Kvalitetsplatformen", locale=DEFAULT_LANGUAGE, charset="utf-8")
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    for root, method_map in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
                root, method_map=method_map, options_map=options,
                keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}):
            catalog.add(message, None, [(str(Path(root.name) / filename), lineno)], auto_comments=comments,
                        context=context)
    return catalog


def update_catalogues() -> dict[str, int]:
    """Write messages.pot and merge it into each language's .po; returns untranslated messages per language."""
    template = extract()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / "messages.pot").open("wb") as f:
        write_po(f, template, omit_header=True, sort_output=True, width=110)
    missing = {}
    for lang in LANGUAGES:
        if lang == DEFAULT_LANGUAGE:
            continue
        path = po_path(lang)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=lang)
        else:
            catalog = Catalog(locale=lang)
        catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, omit_header=True, sort_output=True, width=110, ignore_obsolete=True)
        missing[lang] = sum(1 for m in catalog if m.id and not m.string)
    return missing


if __name__ == "__main__":
    for lang, n in update_catalogues().items():
        print(f"{lang}: {n} beskeder mangler oversættelse")

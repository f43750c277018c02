"""Languages of the static reports: Danish by default, English selectable.

The messages are Danish in the code (the product's language); `locale/en/LC_MESSAGES/messages.po` holds the
English for the report builders and for the chart builders they use (reports/charts.py), so a report in English has
English charts too. Catalogues are compiled in memory. After changing texts:
`.venv/bin/python -m kvalitetsplatform.reports.i18n` re-extracts and merges; a test fails while any message lacks an
English translation.
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
HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"ukendt sprog {lang!r}; rapporter findes på: {', '.join(LANGUAGES)}")
    return lang


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    check_language(lang)
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
    return ChartLocale(lang, translations(lang).gettext)


def extract() -> Catalog:
    catalog = Catalog(project="Kvalitetsplatformen", locale=DEFAULT_LANGUAGE, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            HERE, method_map=[("**.py", "python")], keywords={"_": None, "gettext": None, "N_": None}):
        if filename.startswith("testing"):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def update_catalogues() -> dict[str, int]:
    template = extract()
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

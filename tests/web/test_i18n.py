"""Every string is translatable and translated: the catalogue holds exactly the messages in the templates, the web
code and the chart builders, each with an English translation; Danish formats for numbers and dates."""

from __future__ import annotations

from datetime import date

from babel.messages.pofile import read_po

from kvalitetsplatform.web.i18n import chart_locale, extract, po_path, translations


def test_catalogue_is_complete_and_current():
    source = {m.id for m in extract() if m.id}
    with po_path("en").open("rb") as f:
        english = read_po(f, locale="en")
    catalogued = {m.id for m in english if m.id}
    missing = source - catalogued
    assert not missing, f"run `python -m kvalitetsplatform.web.i18n` and translate: {sorted(map(str, missing))[:5]}"
    untranslated = [m.id for m in english if m.id in source and not (m.string if isinstance(m.string, str)
                                                                       else all(m.string))]
    assert not untranslated, f"messages without English: {untranslated[:5]}"
    assert len(source) > 150


def test_english_catalogue_is_used_and_danish_is_the_source():
    assert translations("en").gettext("Log ind") == "Sign in"
    assert translations("da").gettext("Log ind") == "Log ind"
    assert translations("en").ngettext("%(num)d indikator", "%(num)d indikatorer", 2) == "%(num)d indicators"


def test_danish_and_english_formats():
    da, en = chart_locale("da"), chart_locale("en")
    assert da.number(12345.678, 1) == "12.345,7" and en.number(12345.678, 1) == "12,345.7"
    assert da.percent(0.7215) == "72,2\xa0%" and en.percent(0.7215) == "72.2%"
    assert da.day(date(2025, 3, 12)) == "12.03.2025" and en.day(date(2025, 3, 12)) == "12 Mar 2025"
    assert da.month(date(2025, 5, 31)) == "maj 2025"
    assert da.number(None) == "<5"

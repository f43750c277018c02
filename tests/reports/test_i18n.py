"""Every message of the reports (and of the chart builders they use) has its English translation."""

from kvalitetsplatform.reports.i18n import LANGUAGES, extract, po_path, translations
from babel.messages.pofile import read_po


def test_every_message_is_translated_to_english():
    wanted = {m.id for m in extract() if m.id}
    with po_path("en").open("rb") as f:
        catalog = read_po(f, locale="en")
    translated = {m.id for m in catalog if m.id and m.string}
    assert sorted(wanted - translated) == []


def test_english_catalogue_is_used_and_danish_is_the_source():
    assert translations("en").gettext("Overblik") == "Summary"
    assert translations("da").gettext("Overblik") == "Overblik"
    assert LANGUAGES == ("da", "en")

"""The PDFs as their recipients get them: text extracted from the produced files, checked for exactly what each
audience may see (names or letters, no other practice's identity, no suppressed value, no patient)."""

from __future__ import annotations

import re
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader

from kvalitetsplatform.access.orgs import set_peer_display
from kvalitetsplatform.reports.audience import Audience
from kvalitetsplatform.reports.library import reports_dir

from .reports_support import CPR, PACKAGE, layout_text, names_and_numbers, pdf_text


def build(env, kind, code, lang="da", period=None):
    entry = env.library.build(Audience(kind, code), PACKAGE, period, lang)
    return entry, reports_dir(env.home) / entry.file


def first_cluster(env):
    return env.world.clusters[0]


def test_practice_report_with_letters_names_no_other_practice(shared_env):
    env = shared_env
    cluster = first_cluster(env)
    own = env.world.practices_in(cluster)[0]
    entry, path = build(env, "practice", own)
    text = pdf_text(path)
    own_name = next(u.name for u in env.world.units if u.code == own and u.level == "practice")
    assert own_name in text and own in text
    leaks = [t for t in names_and_numbers(env.world, exclude={own}) if t in text]
    assert leaks == []
    assert re.search(r"Praksis [A-Z]\b", text)  # the peers, as letters
    assert "Side 1 af" in text and f"Side {entry.pages} af {entry.pages}" in text
    assert entry.pages == 1 + 1 + 3 + 1  # cover, summary, one page per indicator, colophon
    assert not CPR.search(text)


def test_practice_report_shows_peer_names_when_the_cluster_chose_names(shared_env):
    env = shared_env
    cluster = env.world.clusters[1]
    own, *peers = env.world.practices_in(cluster)
    set_peer_display(env.engine, cluster, "names")
    try:
        _entry, path = build(env, "practice", own)
    finally:
        set_peer_display(env.engine, cluster, "letters")
    text = pdf_text(path)
    names = {u.code: u.name for u in env.world.units if u.level == "practice"}
    assert all(names[p][:24] in text for p in peers)  # a long name is cut with "…" in the chart
    outside = [p for c in env.world.clusters if c != cluster for p in env.world.practices_in(c)]
    assert not [p for p in outside if names[p] in text or p in text]
    assert not re.search(r"Praksis [A-Z]\b", text)


def test_cluster_pack_letters_and_names(shared_env):
    env = shared_env
    cluster = env.world.clusters[2]
    _entry, path = build(env, "cluster", cluster)
    text = pdf_text(path)
    assert [t for t in names_and_numbers(env.world) if t in text] == []
    for heading in ("Overblik", "Højdepunkter", "Noter fra mødet", "Om rapporten", "Aftaler"):
        assert heading in text
    assert len(set(re.findall(r"Praksis ([A-Z])\b", text))) == len(env.world.practices_in(cluster))
    set_peer_display(env.engine, cluster, "names")
    try:
        _entry, path = build(env, "cluster", cluster)
    finally:
        set_peer_display(env.engine, cluster, "letters")
    text = pdf_text(path)
    names = {u.code: u.name for u in env.world.units if u.level == "practice"}
    assert all(names[p] in text for p in env.world.practices_in(cluster))
    assert not re.search(r"Praksis [A-Z]\b", text)


def test_region_overview_aggregates_only_and_suppressed_values_hidden(shared_env):
    env = shared_env
    region = next(m.region_code for m in env.world.memberships)
    entry, path = build(env, "region", region)
    text = pdf_text(path)
    assert [t for t in names_and_numbers(env.world) if t in text] == []
    assert not re.search(r"Praksis [A-Z]\b", text)
    assert not CPR.search(text)
    # what the gate suppressed for the region on the report's period: on that indicator's page, each such unit
    # is printed with «<5» and no number
    principal = Audience("region", region).principal()
    pages = layout_text(path).split("\f")
    checked = 0
    for indicator in env.library.package(PACKAGE).indicators:
        page = next(p for p in pages if f"· {indicator.id}" in p and "Regionens kommuner" in p)
        for r in env.gate.results(principal, indicator.id, ref_date=entry.period, stratum_dim="total",
                                  record=False):
            if not r["suppressed"] or r["org_level"] == "practice":  # practices are not in the overview at all
                continue
            label = rf"(^|\s)(?<!Klynge ){re.escape(r['org_name'])}\s"  # a municipality, not the cluster named after it
            lines = [line for line in page.splitlines() if re.search(label, line)]
            assert lines, r["org_name"]
            for line in lines:
                value = re.split(label, line, maxsplit=1)[-1][:40]
                assert "<5" in value and not re.search(r"\d,\d", value), line
            checked += 1
    assert checked, "the world's tiny practice should make the gate suppress something for the region"


def test_pdf_is_pdfa_with_metadata_alt_text_and_danish_language(shared_env):
    env = shared_env
    own = env.world.practices_in(first_cluster(env))[1]
    entry, path = build(env, "practice", own)
    reader = PdfReader(str(path))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert "<pdfaid:part>2</pdfaid:part>" in xmp and "<pdfaid:conformance>A</pdfaid:conformance>" in xmp
    assert reader.metadata.title == entry.title
    assert reader.metadata.author == "Kvalitetsplatformen"
    assert reader.trailer["/Root"]["/Lang"] == "da-DK"
    raw = path.read_bytes()
    figures = raw.count(b"/Figure")
    assert figures >= 2 * 3  # a trend and a standing chart per indicator, each tagged
    assert raw.count(b"/Alt") >= figures
    assert "Figur 1" in pdf_text(path)


def test_english_report(shared_env):
    env = shared_env
    own = env.world.practices_in(first_cluster(env))[2]
    entry, path = build(env, "practice", own, lang="en")
    text = pdf_text(path)
    assert "Page 1 of" in text and "Summary" in text and "Figure 1" in text
    assert "Side 1 af" not in text and "Overblik" not in text
    assert PdfReader(str(path)).trailer["/Root"]["/Lang"] == "en-GB"
    assert entry.lang == "en"


def test_pages_render_with_poppler(shared_env, tmp_path):
    """A second, independent reader (poppler) draws every page; a broken page would fail here."""
    env = shared_env
    _entry, path = build(env, "cluster", first_cluster(env))
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == len(PdfReader(str(path)).pages)


def test_changes_are_measured_from_the_last_report(shared_env):
    env = shared_env
    own = env.world.practices_in(first_cluster(env))[3]
    dates = env.world.dates
    first, _ = build(env, "practice", own, period=dates[1])
    second, path = build(env, "practice", own, period=dates[-1])
    assert second.compared_with == first.period == dates[1]
    assert f"Sammenlignet med {date.strftime(dates[1], '%d.%m.%Y')}" in pdf_text(path)


def test_unknown_period_and_package_are_refused_in_danish(shared_env):
    from kvalitetsplatform.reports.common import ReportError

    env = shared_env
    own = env.world.practices_in(first_cluster(env))[0]
    with pytest.raises(ReportError, match="ingen resultater pr. 2020-01-31"):
        env.library.build(Audience("practice", own), PACKAGE, date(2020, 1, 31))
    with pytest.raises(ReportError, match="ukendt pakke 'nope'"):
        env.library.build(Audience("practice", own), "nope")
    with pytest.raises(ReportError, match="ingen resultater"):
        env.library.build(Audience("practice", "999999"), PACKAGE)

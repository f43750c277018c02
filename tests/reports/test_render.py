"""Drawing charts for print: each distinct chart is drawn once, and the cache never hands a recipient a chart made
from other figures, other labels or another language."""

from __future__ import annotations

import re

from kvalitetsplatform.reports import render
from kvalitetsplatform.reports.charts import ChartLocale, Standing, ValueKind, forest


def practices_chart(own_value: float, own_label: str = "Lægerne i Vestergade", lang: str = "da"):
    """The same chart (id, title, size) as every practice of a cluster gets it, with one practice's figures."""
    practices = [Standing(own_label, own_value, own_value - 0.05, own_value + 0.05, own=True),
                 Standing("Praksis B", 0.5, 0.44, 0.56)]
    return forest("cluster-DEM-1", "Klyngens praksis", practices, ValueKind(), ChartLocale(lang))


def test_the_same_chart_is_drawn_once():
    render.charts_drawn.clear()
    first = render.svg(practices_chart(0.72), render.MAIN, 90)
    again = render.svg(practices_chart(0.72), render.MAIN, 90)
    assert again == first
    assert (render.charts_drawn.misses, render.charts_drawn.hits) == (1, 1)


def test_another_recipients_chart_is_never_served_from_the_cache():
    render.charts_drawn.clear()
    mine = render.svg(practices_chart(0.72), render.MAIN, 90)
    other_figures = render.svg(practices_chart(0.61), render.MAIN, 90)
    other_practice = render.svg(practices_chart(0.72, own_label="Lægehuset Åbyhøj"), render.MAIN, 90)
    english = render.svg(practices_chart(0.72, lang="en"), render.MAIN, 90)
    assert render.charts_drawn.hits == 0 and render.charts_drawn.misses == 4
    assert "72,0" in mine and "61,0" in other_figures and "72,0" not in other_figures
    assert "Lægehuset Åbyhøj" in other_practice and "Lægehuset Åbyhøj" not in mine
    assert "72.0" in english and "72,0" not in english


def test_a_report_draws_its_figures_in_one_pass_each_distinct_chart_once():
    render.charts_drawn.clear()
    figure = render.figure(practices_chart(0.72), "Klyngens praksis", render.MAIN, 90)
    other = render.figure(practices_chart(0.61), "Klyngens praksis", render.MAIN, 90)
    document = {"indicators": [{"standing": figure, "title": "A"}, {"standing": figure, "title": "B"},
                               {"standing": other, "title": "C"}]}
    drawn = render.drawn(document)
    pages = drawn["indicators"]
    assert all("spec" not in p["standing"] and p["standing"]["svg"].startswith("<svg") for p in pages)
    assert pages[0]["standing"]["svg"] == pages[1]["standing"]["svg"] != pages[2]["standing"]["svg"]
    assert pages[0]["standing"]["alt"] == figure["alt"] and pages[0]["title"] == "A"
    assert (render.charts_drawn.misses, render.charts_drawn.hits) == (2, 1)
    assert "spec" in document["indicators"][0]["standing"]  # the builder's document is left as it was


def test_charts_are_drawn_in_the_report_font():
    """Laid out with vl-convert's built-in stand-in (fast to measure), drawn by Typst in IBM Plex Sans."""
    render.charts_drawn.clear()
    svg = render.svg(practices_chart(0.72), render.MAIN, 90)
    assert set(re.findall(r'font-family="([^"]*)"', svg)) == {render.FONT_FAMILY}


def test_worker_processes_draw_the_same_charts():
    render.charts_drawn.clear()
    here = render.svg(practices_chart(0.72), render.MAIN, 90)
    render.charts_drawn.clear()
    render.use_workers(1)
    try:
        figures = [render.figure(practices_chart(v), "Klyngens praksis", render.MAIN, 90) for v in (0.72, 0.61)]
        drawn = render.drawn({"figures": figures})["figures"]
    finally:
        render.use_workers(0)
    assert drawn[0]["svg"] == here
    assert "61,0" in drawn[1]["svg"]


def test_print_trends_are_labelled_at_regular_months_and_mark_points_only_in_short_series():
    assert render.trend_options(3, render.FULL) == {"points": True, "month_step": 1}
    assert render.trend_options(36, render.FULL) == {"points": False, "month_step": 6}  # jan, jul
    assert render.trend_options(36, render.HALF) == {"points": False, "month_step": 12}  # every january

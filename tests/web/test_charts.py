"""The chart builders (reports/charts.py): every spec compiles and renders with the same Vega and Vega-Lite the
browser gets (node, headless), numbers follow the viewer's language, and the CSV is exactly what is drawn."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date

import pytest

from kvalitetsplatform.reports import charts
from kvalitetsplatform.reports.charts import ChartLocale, ValueKind
from kvalitetsplatform.web.app import HERE
from kvalitetsplatform.web.i18n import chart_locale

ASSETS = HERE / "assets"
DA, EN = chart_locale("da"), chart_locale("en")
P = ValueKind("proportion")
MONTHS = [date(2025, m, 28) for m in range(1, 13)]


def render_svg(spec: dict) -> str:
    node = shutil.which("node")
    assert node, "node is installed by scripts/setup.sh (npm ci)"
    done = subprocess.run([node, str(ASSETS / "render.mjs")], input=json.dumps(spec), capture_output=True,
                          text=True, cwd=ASSETS, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def examples(loc: ChartLocale) -> list[charts.Chart]:
    series = [charts.Series("practice", "Lægerne i Vestergade", tuple((d, 0.6 + i / 100) for i, d in enumerate(MONTHS))),
              charts.Series("cluster", "Klynge Vest", tuple((d, 0.55) for d in MONTHS)),
              charts.Series("national", "Hele landet", tuple((d, 0.5 if i else None) for i, d in enumerate(MONTHS)))]
    return [
        charts.sparkline("spark", series[0].points, P, loc, "Statin"),
        charts.trend("trend", "Udvikling", series, P, loc, target=0.8),
        charts.caterpillar("standing", "Praksis", [charts.Standing("Egen", 0.72, 0.61, 0.81, own=True),
                                                   charts.Standing("", 0.5, 0.4, 0.6),
                                                   charts.Standing("", None, None, None)], P, loc, 0.8),
        charts.breakdown("breakdown", "Efter køn", [charts.Stratum("60-69", "Kvinder", 0.7, 40),
                                                    charts.Stratum("80+", "Mænd", None, None)], P, loc),
        charts.heatmap("heat", "Klyngen", [charts.HeatCell("IHD-1 Statin", "Praksis A", 0.7, P, 0.9, own=True),
                                           charts.HeatCell("IHD-1 Statin", "Praksis B", None, P, None)], loc),
        charts.comparison("compare", "Regioner", [charts.Bar("Region Midtjylland", 0.61, 610, 1000),
                                                  charts.Bar("Region Nordjylland", None, None, None)],
                          ValueKind("rate", 1000), loc, ("Hele landet", 0.6)),
        charts.active_users("usage", "Aktive brugere", [("2025-11", "Praktiserende læge", "Region Midtjylland", 12),
                                                        ("2025-12", "Kommune", "", 3)], loc),
    ]


@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_chart_renders_with_the_browser_libraries(lang):
    loc = chart_locale(lang)
    for chart in examples(loc):
        svg = render_svg(chart.spec)
        assert svg.startswith("<svg"), chart.id
        assert chart.description and chart.csv().startswith("\ufeff")


def test_danish_axis_and_labels():
    trend = charts.trend("trend", "Udvikling", [charts.Series("practice", "P", tuple((d, 0.5 + i / 40)
                                                                                    for i, d in enumerate(MONTHS)))],
                         P, DA)
    svg = render_svg(trend.spec)
    assert "60\xa0%" in svg and "60%" not in svg  # d3 with the Danish locale: a no-break space before %
    assert "maj 2025" in svg or "jul 2025" in svg  # Danish month names
    english = render_svg(charts.trend("trend", "Trend", [charts.Series("practice", "P", trend_points())], P, EN).spec)
    assert "60%" in english


def trend_points():
    return tuple((d, 0.5 + i / 40) for i, d in enumerate(MONTHS))


def test_csv_is_what_the_chart_shows_with_suppression_as_less_than_five():
    chart = charts.breakdown("b", "Efter køn", [charts.Stratum("60-69", "Kvinder", 0.705, 40),
                                                charts.Stratum("80+", "Mænd", None, None)], P, DA)
    lines = chart.csv().lstrip("\ufeff").splitlines()
    assert lines == ["Aldersgruppe;Køn;Værdi;Nævner", "60-69;Kvinder;70,5;40", "80+;Mænd;<5;<5"]
    assert [d["age_band"] for d in chart.spec["data"]["values"]] == ["60-69"]  # the suppressed stratum is not drawn
    assert "Ikke vist (for få patienter): 80+ Mænd." in chart.description
    english = charts.breakdown("b", "By sex", [charts.Stratum("60-69", "Women", 0.705, 1040)], P, EN)
    assert english.csv().lstrip("\ufeff").splitlines()[1] == "60-69;Women;70.5;1040"


def test_text_alternative_names_the_latest_values_and_the_target():
    trend = charts.trend("t", "Statin", [charts.Series("practice", "Egen praksis", ((MONTHS[0], 0.5),
                                                                                   (MONTHS[-1], 0.721)))],
                         P, DA, target=0.8)
    assert "Egen praksis 72,1\xa0% i dec 2025" in trend.description and "Målet er 80,0\xa0%." in trend.description
    standing = charts.caterpillar("s", "Alle", [charts.Standing("Egen", 0.9, 0.8, 0.95, own=True),
                                                charts.Standing("", 0.2, 0.1, 0.3), charts.Standing("", 0.5, 0.4, 0.6)],
                                  P, DA)
    assert "Egen praksis: 90,0\xa0%, nummer 3 af 3 fra laveste." in standing.description


def test_own_practice_is_the_only_named_point_in_the_caterpillar():
    chart = charts.caterpillar("s", "Alle", [charts.Standing("Egen", 0.9, 0.8, 0.95, own=True),
                                             charts.Standing("Anden praksis", 0.2, 0.1, 0.3)], P, DA)
    labels = {d["label"] for d in chart.spec["data"]["values"]}
    assert labels == {"Egen", ""}

"""From a report document to PDF: charts through vl-convert (Vega-Lite → SVG, offline), pages through Typst.

A *document* is plain JSON-able data (every text already translated and every number formatted for the reader);
the Typst template in `templates/` only lays it out. Charts come from `reports.charts` (the same specs the web
draws) and are adapted for print here: fixed size, the report's font, no title (the figure caption carries it).

Output is PDF/A-2a (tagged; Typst refuses a figure without alt text), with title, author, keywords and date in the
document metadata. Fonts ship with the platform (IBM Plex Sans from PyPI) so a report looks the same everywhere,
and system fonts are ignored for the same reason.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from kvalitetsplatform.reports.charts import Chart

TEMPLATES = Path(__file__).parent / "templates"
FONT_FAMILY = "IBM Plex Sans"
PDF_STANDARD = "a-2a"
MM_PER_PX = 0.27
CHART_WIDTH = 640  # px of a full-width chart; figures are scaled to their column at ≈ 0,27 mm per px, so a chart
# for a narrower column gets proportionally fewer px (and its type stays the same size on paper)


class RenderError(RuntimeError):
    """A report could not be laid out; the message names the report and Typst's reason."""


def px(mm: float) -> int:
    """Chart width in px for a column `mm` wide."""
    return int(mm / MM_PER_PX)


FULL = px(174)  # the text width of an A4 page with 18 mm margins
HALF = px(83)  # one of two columns with 8 mm between
MAIN = px(104)  # the wide column beside a 62 mm side column


def font_dir() -> Path:
    import fontpkg_ibm_plex_sans

    return Path(fontpkg_ibm_plex_sans.__file__).parent / "files"


_vl_lock = threading.Lock()


@lru_cache(maxsize=1)
def _vl():
    import vl_convert

    vl_convert.register_font_directory(str(font_dir()))
    return vl_convert


def print_spec(chart: Chart, width: int = CHART_WIDTH, height: int | None = None) -> dict:
    """The chart's spec as it goes on paper: fixed size, the report's font and type sizes, no title."""
    spec = copy.deepcopy(chart.spec)
    spec.pop("title", None)
    if isinstance(spec.get("width"), (int, float)) and spec.get("autosize", {}).get("type") == "pad":
        spec["width"] = min(spec["width"], width)  # a chart sized by its data (heat map): at most `width`
    else:
        spec["width"] = width
        spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    if height is not None:
        spec["height"] = height
    spec.setdefault("padding", {"left": 4, "top": 4, "bottom": 4, "right": 44})  # room for values at bar ends
    config = spec.setdefault("config", {})
    config["font"] = FONT_FAMILY
    config["background"] = None
    axis = config.setdefault("axis", {})
    axis.update({"labelFontSize": 11, "titleFontSize": 11, "labelColor": "#3a3a3a", "titleColor": "#3a3a3a",
                 "domainColor": "#9a9a9a", "tickColor": "#9a9a9a"})
    # a narrow time axis drops labels that would collide (never the practice names on a y axis)
    config.setdefault("axisX", {}).update({"labelOverlap": "greedy", "labelSeparation": 8})
    legend = config.setdefault("legend", {})
    legend.update({"labelFontSize": 11, "symbolSize": 90, "symbolStrokeWidth": 3})
    if width < 400:
        legend["columns"] = 2  # a narrow chart's legend wraps instead of running off the edge
    return spec


def svg(chart: Chart, width: int = CHART_WIDTH, height: int | None = None) -> str:
    """The chart as SVG text; no network (data is inline and no base URL is allowed)."""
    vl = _vl()
    with _vl_lock:  # one Vega runtime; calls are serialised
        return vl.vegalite_to_svg(print_spec(chart, width, height), allowed_base_urls=[])


def figure(chart: Chart, caption: str | None = None, width: int = CHART_WIDTH, height: int | None = None,
           size: str = "100%") -> dict:
    """A chart as the template's figure: the SVG, its alt text (the chart's text alternative) and a caption."""
    return {"svg": svg(chart, width, height), "alt": chart.description, "caption": caption or chart.title,
            "size": size}


@dataclass
class Typesetter:
    """A Typst compiler kept warm (fonts read once) for the report templates."""

    def __post_init__(self):
        import typst

        self._typst = typst
        self._compiler = typst.Compiler(TEMPLATES / "main.typ", root=TEMPLATES, font_paths=[font_dir()],
                                        ignore_system_fonts=True)
        self._lock = threading.Lock()

    def pdf(self, document: dict, created: datetime) -> bytes:
        data = json.dumps(document, ensure_ascii=False, default=str)
        if created.tzinfo is None:
            created = created.astimezone()  # the machine's zone, as the "Dannet" time in the colophon
        with self._lock:
            try:
                return self._compiler.compile(format="pdf", sys_inputs={"document": data},
                                              pdf_standards=[PDF_STANDARD], timestamp=created)
            except self._typst.TypstError as e:
                name = document.get("meta", {}).get("title", "?")
                where = (e.diagnostic or "").splitlines()[1:2]
                raise RenderError(f"rapporten {name!r} kunne ikke sættes: {e.message} {' '.join(where)}") from None


@lru_cache(maxsize=1)
def typesetter() -> Typesetter:
    return Typesetter()

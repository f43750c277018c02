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
import hashlib
import json
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from kvalitetsplatform.kept import Kept
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
MONTH_POINTS = 12  # a trend marks every month up to a year; longer series are plain lines
MONTH_LABEL_PX = 60  # a month label ("sep 2026" at 11 px) with room to the next


def trend_options(months: int, width: int) -> dict:
    """How a trend of `months` months is drawn `width` px wide: a point per month only up to a year, and the time
    axis labelled every 1, 2, 3, 6 or 12 months, the most often that leaves each label room (regular labels, instead
    of the ones that happen to survive the overlap check)."""
    plot = width - 70  # the value axis and its title
    step = next((s for s in (1, 2, 3, 6) if months / s * MONTH_LABEL_PX <= plot), 12)
    return {"points": months <= MONTH_POINTS, "month_step": step}


def font_dir() -> Path:
    import fontpkg_ibm_plex_sans

    return Path(fontpkg_ibm_plex_sans.__file__).parent / "files"


# --- charts: Vega-Lite → SVG -----------------------------------------------------------------------------------------

# vl-convert lays out every label by shaping it with the named font. A font from a registered directory is read and
# parsed again for each label, which made text measurement most of a chart's cost (≈ 30 ms of 50); the Liberation
# Sans built into vl-convert is held in memory and measures at no cost. Charts are therefore laid out with Liberation
# Sans (Arial's widths: within ±4 % of IBM Plex Sans for names and words, up to 7 % narrower for digits, i.e. 1–5 px
# on a label; the axes and legends keep padding for that) and the SVG then names the report's font, so Typst draws
# every chart text in IBM Plex Sans.
MEASURE_FAMILY = "Liberation Sans"


_vl_lock = threading.Lock()


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
    config["font"] = MEASURE_FAMILY  # named FONT_FAMILY in the drawn SVG (see MEASURE_FAMILY)
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


class ChartCache(Kept):
    """Drawn charts by the content of their print spec (data included), so the same chart is drawn once per
    process however many reports show it. The key is a hash of the whole spec: a chart of other figures, another
    recipient's labels or another language is another key, never a hit."""

    def __init__(self, size: int = 256):
        super().__init__(size)

    @staticmethod
    def key(spec: dict) -> str:
        text = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


charts_drawn = ChartCache()


def _convert(spec: dict) -> str:
    """Vega-Lite → SVG in this process; no network (data is inline and no base URL is allowed)."""
    import vl_convert

    with _vl_lock:  # one Vega runtime; calls are serialised
        svg = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    return svg.replace(f'font-family="{MEASURE_FAMILY}"', f'font-family="{FONT_FAMILY}"')


def _warm_up() -> None:
    _convert({"mark": "point", "data": {"values": [{"a": 1}]},
              "encoding": {"x": {"field": "a", "type": "quantitative"}}})


def _started() -> None:
    """Nothing: a first task, so that every worker process is started (and warmed up) before it is needed."""


class ChartWorkers:
    """Worker processes that draw charts, each with its own Vega runtime (one runtime draws one chart at a time):
    a figure is handed to them as soon as the builder makes it, so a report's charts are drawn side by side and
    while its next figures are still being read through the gate."""

    def __init__(self, processes: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawned, not forked: a fork would copy this process's Vega runtime threads mid-flight
        self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_warm_up)
        for started in [self._pool.submit(_started) for _ in range(processes)]:  # start them all now
            started.result()
        self._pending: dict[str, Future] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, spec: dict) -> None:
        with self._lock:
            if key not in self._pending:
                if len(self._pending) >= PENDING_LIMIT:  # figures of reports that failed before being set
                    self._pending = {k: f for k, f in self._pending.items() if not f.done()}
                self._pending[key] = self._pool.submit(_convert, spec)

    def take(self, key: str) -> Future | None:
        with self._lock:
            return self._pending.pop(key, None)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


PENDING_LIMIT = 512
WORKERS_VARIABLE = "KP_REPORT_CHART_WORKERS"
_workers: ChartWorkers | None = None
_workers_chosen = False


def use_workers(processes: int) -> None:
    """Draw charts in `processes` worker processes from now on (0: in this process).

    Worth it where one process makes many reports (the web, `notify`, a region's packs, the benchmark): the
    workers start once (≈ 1 s each) and then draw a report's charts in parallel with each other and with the
    gate's reads. Without a call, KP_REPORT_CHART_WORKERS decides (default 0)."""
    global _workers, _workers_chosen
    if _workers is not None:
        _workers.close()
    _workers = ChartWorkers(processes) if processes > 0 else None
    _workers_chosen = True


def _chart_workers() -> ChartWorkers | None:
    if not _workers_chosen:
        use_workers(int(os.environ.get(WORKERS_VARIABLE) or 0))
    return _workers


def draw(spec: dict) -> str:
    """A print spec as SVG text: from the cache when this very spec was drawn before, else from the workers when
    they have it, else drawn here."""
    key = ChartCache.key(spec)
    svg = charts_drawn.get(key)
    if svg is None:
        workers = _chart_workers()
        future = workers.take(key) if workers is not None else None
        svg = future.result() if future is not None else _convert(spec)
        charts_drawn.put(key, svg)
    return svg


def svg(chart: Chart, width: int = CHART_WIDTH, height: int | None = None) -> str:
    """The chart as SVG text, as it goes on paper."""
    return draw(print_spec(chart, width, height))


def figure(chart: Chart, caption: str | None = None, width: int = CHART_WIDTH, height: int | None = None,
           size: str = "100%") -> dict:
    """A chart as the template's figure: its print spec (drawn with the report's other charts when the report is
    set; handed to the chart workers at once when there are any), its alt text (the chart's text alternative) and
    a caption."""
    spec = print_spec(chart, width, height)
    workers = _chart_workers()
    if workers is not None:
        key = ChartCache.key(spec)
        if key not in charts_drawn:
            workers.submit(key, spec)
    return {"spec": spec, "alt": chart.description, "caption": caption or chart.title, "size": size}


def drawn(document):
    """The document with every figure's spec drawn as SVG (each distinct chart once)."""
    if isinstance(document, dict):
        if "spec" in document and "alt" in document:
            out = {k: v for k, v in document.items() if k != "spec"}
            out["svg"] = draw(document["spec"])
            return out
        return {k: drawn(v) for k, v in document.items()}
    if isinstance(document, list):
        return [drawn(v) for v in document]
    return document


# --- pages: Typst ----------------------------------------------------------------------------------------------------


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
        data = json.dumps(drawn(document), ensure_ascii=False, default=str)
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

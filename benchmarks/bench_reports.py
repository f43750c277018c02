"""Report benchmark: one practice's package report, one cluster's meeting pack, and the packs of all (or
`--clusters N`) clusters for one package, against the targets (practice report ≤ 1 s, cluster pack ≤ 15 s).

Data: a KP_HOME with compute's results (`--home`, e.g. after `kp compute` on the demo or the national synthetic data;
the organisation is taken from the warehouse when the app DB has none yet) or, when none is given, a results-shaped
national world made here (1,575 practices in 116 clusters, 36 months, every org level and stratum;
`reports.testing`). Each report is built through the real gate as its audience and stored in the library like
`kp reports build` does. Every time is split into reading through the gate and the report's own work (charts,
Typst, storing):

- cold: the first build (the gate computes its protected views unless it has them stored);
- warm: built again with the gate's views at hand but every chart drawn afresh — the report's own cost;
- rebuilt: built once more, charts from the chart cache too.

    .venv/bin/python benchmarks/bench_reports.py --home "$KP_HOME" --package antibiotics
    .venv/bin/python benchmarks/bench_reports.py --package antibiotics --chart-workers 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

PRACTICE_TARGET = 1.0
CLUSTER_TARGET = 15.0


class Timed:
    """The real gate (or its results store), with the time spent in its reads added up."""

    READS = {"results", "results_many", "own_results", "periods", "deliveries", "contents"}

    def __init__(self, target, clock: list[float] | None = None):
        self._target = target
        self._clock = clock if clock is not None else [0.0]
        self._store = None

    @property
    def seconds(self) -> float:
        return self._clock[0]

    def reset(self) -> None:
        self._clock[0] = 0.0

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if name == "store":
            if self._store is None:
                self._store = Timed(attr, self._clock)
            return self._store
        if name not in self.READS or not callable(attr):
            return attr

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self._clock[0] += time.perf_counter() - started

        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a KP_HOME with results (default: make a national world)")
    parser.add_argument("--package", default="antibiotics")
    parser.add_argument("--clusters", type=int, help="how many cluster packs in the last pass (default: all)")
    parser.add_argument("--practices", type=int, default=10,
                        help="practice reports built cold, each of another cluster (default 10)")
    parser.add_argument("--months", type=int, default=36, help="months of the made national world")
    parser.add_argument("--chart-workers", type=int, default=0,
                        help="processes drawing charts beside the builder (default 0: in the builder's process)")
    args = parser.parse_args()

    from kvalitetsplatform.access.db import make_engine, migrate
    from kvalitetsplatform.access.orgs import load_organisation, sync_from_warehouse
    from kvalitetsplatform.indicators import load_catalogue
    from kvalitetsplatform.reports import charts, render
    from kvalitetsplatform.reports.audience import Audience
    from kvalitetsplatform.reports.common import ReportError
    from kvalitetsplatform.reports.service import open_services, provenance
    from kvalitetsplatform.reports.testing import build_world
    from kvalitetsplatform.settings import load_settings

    home = args.home or Path(tempfile.mkdtemp(prefix="kp-bench-reports-"))
    if args.home is None:
        engine = make_engine(f"sqlite:///{home / 'kp.sqlite'}")
        migrate(engine)
        package = load_catalogue().package(args.package)
        started = time.perf_counter()
        build_world(home, engine, package, clusters=116, practices_per_cluster=14, months=args.months)
        engine.dispose()
        print(f"national world: 116 clusters, {args.months} months, {len(package.indicators)} indicators "
              f"({args.package}) made in {time.perf_counter() - started:.1f} s")
    settings = load_settings({"KP_HOME": str(home)})
    services = open_services(settings)
    with services.engine.connect() as conn:
        org = load_organisation(conn)
    if not org.memberships:  # a home after `kp compute` whose app DB has not met the warehouse yet
        sync_from_warehouse(services.engine, settings)
        with services.engine.connect() as conn:
            org = load_organisation(conn)
    library = services.library
    gate = library.gate = Timed(services.gate)
    run = provenance(settings)
    clusters = sorted({m.cluster_id for m in org.memberships})
    practice = sorted(m.ydernummer for m in org.in_cluster(clusters[0]))[0]
    print(f"home {home}: {len({m.ydernummer for m in org.memberships})} practices in {len(clusters)} clusters; "
          f"package {args.package}; chart workers {args.chart_workers}")

    started = time.perf_counter()
    render.use_workers(args.chart_workers)
    render.svg(charts.sparkline("warm-up", [], charts.ValueKind(), charts.ChartLocale(), ""))
    print(f"start-up once per process (fonts, Vega runtime{', chart workers' if args.chart_workers else ''}): "
          f"{time.perf_counter() - started:.2f} s")

    def build(kind: str, code: str, fresh_charts: bool = True) -> tuple[float, float, int]:
        """(seconds, of which through the gate, pages) of one build."""
        if fresh_charts:
            render.charts_drawn.clear()
        gate.reset()
        started = time.perf_counter()
        entry = library.build(Audience(kind, code), args.package, provenance=run)
        return time.perf_counter() - started, gate.seconds, entry.pages

    def line(seconds: float, through_gate: float) -> str:
        return f"{seconds:6.2f} s (gate {through_gate:5.2f}, own work {seconds - through_gate:5.2f})"

    for kind, code, target in (("practice", practice, PRACTICE_TARGET), ("cluster", clusters[0], CLUSTER_TARGET)):
        cold = build(kind, code)
        warm = min((build(kind, code) for _ in range(3)), key=lambda t: t[0])
        rebuilt = build(kind, code, fresh_charts=False)
        verdict = "meets" if warm[0] <= target else "misses"
        print(f"{kind} {code} ({warm[2]} pages), target ≤ {target:.0f} s:\n"
              f"  cold     {line(*cold[:2])}\n  warm     {line(*warm[:2])}  best of 3, {verdict} the target\n"
              f"  rebuilt  {line(*rebuilt[:2])}")

    # A practice report as a GP orders it from a running platform: its views not protected yet (no `kp protect`
    # for this practice), in a process that has made reports before. One practice in each of several clusters.
    cold = []
    for cluster in clusters[1:1 + args.practices]:
        ydernummer = sorted(m.ydernummer for m in org.in_cluster(cluster))[-1]
        seconds, through_gate, pages = build("practice", ydernummer)
        cold.append(seconds)
        print(f"  practice {ydernummer} cold {line(seconds, through_gate)}")
    if cold:
        print(f"{len(cold)} practice reports, views not kept: median {statistics.median(cold):.2f} s, "
              f"max {max(cold):.2f} s; {sum(1 for t in cold if t > PRACTICE_TARGET)} over {PRACTICE_TARGET:.0f} s")

    chosen = clusters[:args.clusters] if args.clusters is not None else clusters
    print(f"cluster packs ({args.package}), each built once:")
    times = []
    started = time.perf_counter()
    for cluster in chosen:
        try:
            seconds, through_gate, pages = build("cluster", cluster)
        except ReportError as e:  # e.g. a cluster that no longer has practices
            print(f"  {cluster:10s} no pack: {e}")
            continue
        times.append(seconds)
        print(f"  {cluster:10s} {pages:3d} pages {line(seconds, through_gate)}"
              + ("" if seconds <= CLUSTER_TARGET else f"  over {CLUSTER_TARGET:.0f} s"))
    total = time.perf_counter() - started
    over = sum(1 for t in times if t > CLUSTER_TARGET)
    if times:
        print(f"{len(times)} cluster packs: {total:.1f} s in all, median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s; {over} over {CLUSTER_TARGET:.0f} s")
    print(f"files under {home / 'reports'}")
    render.use_workers(0)


if __name__ == "__main__":
    main()

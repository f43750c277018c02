"""Report benchmark: one practice's package report, one cluster's meeting pack, and the packs of many (by default
all) clusters for one package, on national-scale results.

Data: a KP_HOME with compute's results (`--home`, e.g. after `kp compute` on the national synthetic data) or, when
none is given, a results-shaped national world made here (1,575 practices in 116 clusters, 36 months, every org
level and stratum; `reports.testing`). Each report is built through the real gate as its audience, stored in the
library like `kp reports build` does. Timings are printed, split into reading through the gate and laying out
(charts + Typst), since the gate's disclosure control dominates:

    .venv/bin/python benchmarks/bench_reports.py --package antibiotics --clusters 116
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a KP_HOME with results (default: make a national world)")
    parser.add_argument("--package", default="antibiotics")
    parser.add_argument("--clusters", type=int, default=116, help="how many cluster packs in the last pass")
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()

    from kvalitetsplatform.access.db import make_engine, migrate
    from kvalitetsplatform.indicators import load_catalogue
    from kvalitetsplatform.reports import charts, render
    from kvalitetsplatform.reports.audience import Audience
    from kvalitetsplatform.reports.service import open_services, provenance
    from kvalitetsplatform.reports.testing import build_world
    from kvalitetsplatform.settings import load_settings

    home = args.home or Path(tempfile.mkdtemp(prefix="kp-bench-reports-"))
    env = {"KP_HOME": str(home)}
    if args.home is None:
        engine = make_engine(f"sqlite:///{home / 'kp.sqlite'}")
        migrate(engine)
        package = load_catalogue().package(args.package)
        world, seconds = _timed(build_world, home, engine, package, clusters=116, practices_per_cluster=14,
                                months=args.months)
        engine.dispose()
        practices = len({m.ydernummer for m in world.memberships})
        print(f"national world: {practices} practices, 116 clusters, {args.months} months, "
              f"{len(package.indicators)} indicators ({args.package}) made in {seconds:.1f} s")
    settings = load_settings(env)
    services = open_services(settings)
    library, gate = services.library, services.gate
    run = provenance(settings)
    from kvalitetsplatform.access.orgs import load_organisation

    with services.engine.connect() as conn:
        org = load_organisation(conn)
    clusters = sorted({m.cluster_id for m in org.memberships})
    practice = sorted(m.ydernummer for m in org.in_cluster(clusters[0]))[0]

    _, warmup = _timed(render.svg, charts.sparkline("warm-up", [], charts.ValueKind(), charts.ChartLocale(), ""))
    print(f"vl-convert start (once per process): {warmup:.2f} s")

    def report(kind: str, code: str) -> tuple[float, float, int]:
        """(cold seconds, warm seconds, pages): cold reads through the gate; warm repeats the build with the
        gate's cache filled, i.e. the report's own work (charts, Typst, storing)."""
        entry, cold = _timed(library.build, Audience(kind, code), args.package, provenance=run)
        _, warm = _timed(library.build, Audience(kind, code), args.package, provenance=run)
        return cold, warm, entry.pages

    cold, warm, pages = report("practice", practice)
    print(f"practice report ({practice}, {pages} pages): {cold:.2f} s cold (through the gate), {warm:.2f} s warm "
          "(layout only) — target ≤ 1 s")
    cold, warm, pages = report("cluster", clusters[0])
    print(f"cluster meeting pack ({clusters[0]}, {pages} pages): {cold:.2f} s cold, {warm:.2f} s warm "
          "— target ≤ 15 s")
    times = []
    started = time.perf_counter()
    for cluster in clusters[:args.clusters]:
        _, seconds = _timed(library.build, Audience("cluster", cluster), args.package, provenance=run)
        times.append(seconds)
    total = time.perf_counter() - started
    print(f"{len(times)} cluster packs ({args.package}): {total:.1f} s in all, median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s" + (f"; all 116 projected {statistics.mean(times) * 116 / 60:.1f} min"
                                        if len(times) < 116 else ""))
    print(f"files under {home / 'reports'}")


if __name__ == "__main__":
    main()

"""Benchmark `kp ingest`: a whole population of deliveries, then two practices' monthly deliveries on top.

    .venv/bin/python benchmarks/bench_ingest.py --deliveries /path/to/synth-output      # an existing folder
    .venv/bin/python benchmarks/bench_ingest.py --synth national                        # synthesise first

The newest (monthly) delivery of two practices is held out of the bulk load and ingested afterwards, one after
the other, into the full warehouse, as practices' monthly deliveries would be. Prints wall time, rows/s and peak
memory against the targets (national ingest ≤ 10 min and ≤ 16 GiB on 2 cores; a monthly delivery well under a
second). A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 600
TARGET_GIB = 16.0


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def cpu_seconds() -> float:
    """CPU time of this process (all threads): on a shared machine a fairer figure than wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=Path, help="folder of deliveries (searched recursively)")
    parser.add_argument("--synth", choices=("demo", "regional", "national"), help="synthesise this scale first")
    parser.add_argument("--home", type=Path, help="KP_HOME for the warehouse (default: a new temporary folder)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not args.deliveries and not args.synth:
        parser.error("give --deliveries DIR or --synth SCALE")

    home = args.home or Path(tempfile.mkdtemp(prefix="kp-bench-ingest-"))
    os.environ["KP_HOME"] = str(home)
    from kvalitetsplatform.contract.delivery import read_manifest
    from kvalitetsplatform.ingest import find_deliveries, ingest
    from kvalitetsplatform.settings import load_settings

    figures: dict = {"home": str(home), "workers": args.workers}
    deliveries = args.deliveries
    if args.synth:
        from kvalitetsplatform.synth.generator import Options, synthesise

        deliveries = deliveries or home / "deliveries"
        start = time.perf_counter()
        synthesise(Options(out=deliveries, scale=args.synth, workers=args.workers))
        figures["synth_seconds"] = round(time.perf_counter() - start, 1)

    settings = load_settings()
    folders = find_deliveries([deliveries])
    by_practice: dict[str, list[tuple]] = {}
    for folder in folders:
        m = read_manifest(folder)
        by_practice.setdefault(m.ydernummer, []).append(((m.period_end - m.period_start).days, m.extract_ts, folder))
    # the newest delivery of two practices: the first lands right after the bulk load, whose last row groups the
    # warehouse's next checkpoint still tidies; the second shows a monthly delivery in the steady state
    practices = [y for y, items in sorted(by_practice.items()) if len(items) > 1][:2]
    held_out = [max(by_practice[y], key=lambda item: item[1])[2] for y in practices]
    bulk = [f for f in folders if f not in held_out]

    start, cpu = time.perf_counter(), cpu_seconds()
    results = ingest(bulk, settings, workers=args.workers)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    rows = sum(r.total("received") for r in results)
    figures.update({
        "deliveries": len(results), "rejected": sum(r.status == "rejected" for r in results),
        "rows": rows, "seconds": round(seconds, 1), "rows_per_second": round(rows / seconds),
        "cpu_seconds": round(cpu, 1), "cpu_microseconds_per_row": round(cpu / max(rows, 1) * 1e6, 2),
        "peak_gib": round(peak_gib(), 2),
        "warehouse_gib": round(settings.warehouse_path.stat().st_size / 1024 ** 3, 2),
    })
    figures["monthly"] = []
    for folder in held_out:
        start, cpu = time.perf_counter(), cpu_seconds()
        [monthly] = ingest([folder], settings, workers=1)
        figures["monthly"].append({"delivery": monthly.delivery_id, "status": monthly.status,
                                   "rows": monthly.total("received"), "seconds": round(time.perf_counter() - start, 3),
                                   "cpu_seconds": round(cpu_seconds() - cpu, 3),
                                   "seconds_in_loader": round(monthly.seconds, 3)})
    figures["peak_gib"] = round(peak_gib(), 2)
    figures["load_average"] = os.getloadavg()

    if args.json:
        json.dump(figures, sys.stdout, indent=2, default=str)
        print()
        return
    ok = lambda good: "OK" if good else "OVER TARGET"
    print(f"Ingested {figures['deliveries']} deliveries ({figures['rejected']} rejected), {rows:,} rows")
    print(f"  wall time   {seconds:8.1f} s   (target ≤ {TARGET_SECONDS} s: {ok(seconds <= TARGET_SECONDS)})")
    print(f"  throughput  {figures['rows_per_second']:8,} rows/s")
    print(f"  CPU time    {figures['cpu_seconds']:8.1f} s    ({figures['cpu_microseconds_per_row']} µs per row, all threads; "
          f"≈ {figures['cpu_seconds'] / args.workers:.0f} s wall on {args.workers} idle cores)")
    print(f"  peak memory {figures['peak_gib']:8.2f} GiB (target ≤ {TARGET_GIB} GiB: "
          f"{ok(figures['peak_gib'] <= TARGET_GIB)})")
    print(f"  warehouse   {figures['warehouse_gib']:8.2f} GiB on disk")
    for label, m in zip(("right after the bulk load", "the next one"), figures["monthly"]):
        print(f"One practice's monthly delivery, {label}: {m['delivery']} ({m['rows']:,} rows, {m['status']}): "
              f"{m['seconds']:.3f} s ({m['seconds_in_loader']:.3f} s in the loader, the rest the warehouse's "
              f"checkpoint; {m['cpu_seconds']:.3f} s CPU; target well under 1 s)")
    print(f"Load average while running: {', '.join(f'{x:.1f}' for x in figures['load_average'])} "
          f"(other work on the machine slows every figure)")


if __name__ == "__main__":
    main()

"""Benchmark `kp synth`: wall time, rows per second per table and peak memory, against the targets
(national: ≤ 10 min and ≤ 16 GiB on 2 cores; ARCHITECTURE.md, issue 2 §6).

    .venv/bin/python benchmarks/bench_synth.py                # demo only (seconds)
    .venv/bin/python benchmarks/bench_synth.py --national     # demo, then national (≈ 3 GB written to --out)

Peak memory is reported three ways: the main process's peak RSS and the largest worker's peak RSS
(resource.getrusage, self and children), and the peak proportional set size (PSS) of the whole process tree sampled
from /proc twice a second — PSS counts pages the forked workers share with the main process once, so it is the
honest total; RSS sums would count the shared World several times.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from kvalitetsplatform.synth.generator import Options, synthesise

TARGET_SECONDS = 600
TARGET_BYTES = 16 * 2**30


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [p for c in f.read().split() for p in _tree(int(c))]
    except OSError:
        pass
    return out


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class TreeMemory:
    """Samples the summed PSS of this process and its descendants."""

    def __init__(self, every: float = 0.5):
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_pss(p) for p in _tree(os.getpid())))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def run(scale: str, out: Path, workers: int, patients: int | None) -> dict:
    print(f"\n== kp synth --scale {scale}" + (f" --patients {patients}" if patients else "")
          + f" ({workers} arbejdsprocesser) → {out}", flush=True)
    last = [time.perf_counter()]

    def progress(done: int, total: int, rows: dict) -> None:
        if time.perf_counter() - last[0] > 30 or done == total:
            last[0] = time.perf_counter()
            print(f"   {done}/{total} praksis", flush=True)

    cpu0 = _cpu()
    load0 = os.getloadavg()[0]
    with TreeMemory() as memory:
        report = synthesise(Options(out=out, scale=scale, patients=patients, workers=workers), progress=progress)
    cpu = _cpu() - cpu0
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    seconds = report.seconds
    total_rows = sum(report.rows.values())
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"   personer {report.patients:,}, praksis {report.practices:,}, klynger {report.clusters}, "
          f"leverancer {report.deliveries:,}, {size / 2**30:.2f} GiB på disk")
    print(f"   tid i alt {seconds:.1f} s (verden {report.world_seconds:.1f} s, praksis "
          f"{seconds - report.world_seconds:.1f} s); {total_rows:,} rækker = {total_rows / seconds:,.0f} rækker/s")
    print(f"   CPU-tid (bruger + system, med arbejdsprocesser) {cpu:.1f} s; maskinens belastning (load average) "
          f"{load0:.1f} ved start, {os.getloadavg()[0]:.1f} ved slut — andres jobs på de 2 kerner forlænger væggetiden")
    print(f"   {'tabel':<20} {'rækker':>14} {'rækker/s':>12}")
    for table, n in sorted(report.rows.items(), key=lambda kv: -kv[1]):
        print(f"   {table:<20} {n:>14,} {n / seconds:>12,.0f}")
    print(f"   hukommelse: hovedproces peak RSS {_gib(self_rss)}, største arbejdsproces peak RSS {_gib(child_rss)}, "
          f"hele procestræet peak PSS {_gib(memory.peak)}")
    if scale == "national" and patients is None:
        ok_t, ok_m = seconds <= TARGET_SECONDS, max(memory.peak, self_rss) <= TARGET_BYTES
        print(f"   mål: ≤ {TARGET_SECONDS} s {'OK' if ok_t else 'IKKE NÅET'}; ≤ 16 GiB {'OK' if ok_m else 'IKKE NÅET'}")
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": total_rows, "peak_pss": memory.peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--national", action="store_true", help="also run the national scale (5.9 M patients)")
    parser.add_argument("--scale", action="append", help="run this scale (repeatable) instead of the defaults")
    parser.add_argument("--patients", type=int, help="override the number of people")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="output folder (default: a temporary folder, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the output")
    args = parser.parse_args()
    scales = args.scale or (["demo", "national"] if args.national else ["demo"])
    base = args.out or Path(tempfile.mkdtemp(prefix="bench-synth-"))
    try:
        for scale in scales:
            run(scale, base / scale, args.workers, args.patients)
            if not args.keep:
                shutil.rmtree(base / scale, ignore_errors=True)
    finally:
        if not args.keep and args.out is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

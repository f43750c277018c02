"""One practice's monthly delivery into an existing warehouse, timed statement by statement.

    .venv/bin/python benchmarks/bench_monthly.py --home DIR --delivery DIR/national/002420/002420-20261031T233000

The delivery is copied as a correction (a new delivery id, a later extract time), so it can be run again and again
on the same warehouse: each run replaces the previous one, as a practice's corrected delivery would. Each run is a
fresh process (as `kp ingest` is). Prints the time from `ingest()` to its return, the loader's share, the size of
the write-ahead log left behind, and the slowest statements, against the target (well under a second). A benchmark,
not a test: it asserts nothing. It writes to the warehouse in `--home`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.0


class TimedConnection:
    """The loader's connection with every `execute` timed."""

    def __init__(self, con, times: list[tuple[float, str]]):
        self._con, self._times = con, times

    def execute(self, sql, *args, **kwargs):
        started = time.perf_counter()
        result = self._con.execute(sql, *args, **kwargs)
        self._times.append((time.perf_counter() - started, " ".join(str(sql).split())))
        return result

    def __getattr__(self, name):
        return getattr(self._con, name)


def correction_of(folder: Path) -> Path:
    stamp = int(time.time())
    copy = Path(tempfile.mkdtemp(prefix="kp-bench-monthly-")) / f"{folder.name}-r{stamp}"
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["delivery_id"] = copy.name
    manifest["extract_ts"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="KP_HOME holding the warehouse")
    parser.add_argument("--delivery", type=Path, required=True, help="a practice's monthly delivery folder")
    parser.add_argument("--statements", type=int, default=10, help="how many of the slowest statements to show")
    args = parser.parse_args()
    os.environ["KP_HOME"] = str(args.home.resolve())
    started = time.perf_counter()
    from kvalitetsplatform.ingest import ingest, loader
    from kvalitetsplatform.settings import load_settings

    imports = time.perf_counter() - started
    times: list[tuple[float, str]] = []
    plain_init = loader.Loader.__init__

    def timed_init(self, con, *a, **k):
        plain_init(self, TimedConnection(con, times), *a, **k)

    loader.Loader.__init__ = timed_init
    settings = load_settings()
    copy = correction_of(args.delivery)
    started = time.perf_counter()
    [result] = ingest([copy], settings, workers=1)
    seconds = time.perf_counter() - started
    shutil.rmtree(copy.parent, ignore_errors=True)
    log = Path(f"{settings.warehouse_path}.wal")
    print(f"{result.delivery_id}: {result.status}{' — ' + result.error if result.error else ''}, "
          f"{result.total('received'):,} rows")
    print(f"  ingest()     {seconds:6.3f} s (target well under {TARGET_SECONDS:.0f} s); imports before it {imports:.2f} s")
    print(f"  in loader    {result.seconds:6.3f} s, {len(times)} statements {sum(t for t, _ in times):.3f} s")
    print(f"  log left     {log.stat().st_size / 1024 ** 2:.1f} MiB" if log.exists() else "  log left     none")
    for t, sql in sorted(times, reverse=True)[:args.statements]:
        print(f"  {t * 1000:8.1f} ms  {sql[:100]}")


if __name__ == "__main__":
    sys.exit(main())

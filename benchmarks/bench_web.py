"""Load benchmark of the web pages: dashboard (practice cockpit), indicator page and worklist at 50 concurrent users on
loopback, p50/p95/p99 against the target p95 ≤ 100 ms. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_web.py                 # the web test world (7 practices, 5 indicators)
    .venv/bin/python benchmarks/bench_web.py --home .kp      # a KP_HOME after `bash scripts/demo.sh`

The platform runs in its own process (uvicorn; with `--home`, `--workers N` processes); the load comes from an
asyncio httpx client in this one.
Each virtual user is a GP with their own session; users of the same practice share a scope (and so the gate's and
the web's caches). The first request of every scope and page is timed apart ("cold": the gate computes and protects
the views), then every user requests each page `--rounds` times ("warm"), back to back or with `--think` seconds of reading between requests,
all starting at once or arriving over `--ramp` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_world(folder: str, port: int, ready) -> None:
    """Child process: the platform over the web test world."""
    import faulthandler

    import pytest

    faulthandler.enable()  # a crash in native code (DuckDB, HiGHS) leaves its stack on stderr
    import uvicorn

    sys.path.insert(0, str(ROOT))
    from tests.web.web_platform import make_platform

    with pytest.MonkeyPatch.context() as mp:
        platform = make_platform(Path(folder), mp)
        ready.put(platform.settings.database_url)
        uvicorn.run(platform.app, host="127.0.0.1", port=port, log_level="error", access_log=False)


class HomeServer:
    """`uvicorn` with `--workers N` over a KP_HOME, as its own command (uvicorn's worker processes are started by
    its supervisor, which a multiprocessing child cannot host); the interface of the `Process` serving the world."""

    def __init__(self, home: str, port: int, workers: int):
        self.home, self.port, self.workers = home, port, workers
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "KP_HOME": self.home, "PYTHONFAULTHANDLER": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "kvalitetsplatform.web.serve_app:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers), "--log-level", "error", "--no-access-log"],
            env=env, stdin=subprocess.DEVNULL)

    @property
    def exitcode(self) -> int | None:
        return self.process.poll()

    def join(self, timeout: float) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def terminate(self) -> None:
        self.process.terminate()


def make_users(database_url: str, practices: list[str], users: int) -> list[tuple[str, str]]:
    """`users` GPs spread over the practices, each with a session; returns (ydernummer, session cookie)."""
    from kvalitetsplatform.access import users as accounts
    from kvalitetsplatform.access.audit import AuditLog
    from kvalitetsplatform.access.auth import create_session
    from kvalitetsplatform.access.db import make_engine

    engine = make_engine(database_url)
    audit = AuditLog(engine, b"benchmark-audit-key-not-verified")
    out = []
    stamp = int(time.time())
    for i in range(users):
        practice = practices[i % len(practices)]
        name = f"bench-{stamp}-{i}"
        accounts.create_user(engine, audit, name, name)
        accounts.grant(engine, audit, name, "gp", practice)
        token, _ = create_session(engine, _user_id(engine, name))
        out.append((practice, token))
    engine.dispose()
    return out


def _user_id(engine, name: str) -> int:
    from sqlalchemy import select

    from kvalitetsplatform.access.db import user_account

    with engine.connect() as conn:
        return conn.execute(select(user_account.c.id).where(user_account.c.username == name)).scalar_one()


def pages_for(practice: str, indicator: str) -> dict[str, str]:
    return {"dashboard": f"/praksis/{practice}", "indicator": f"/praksis/{practice}/indikator/{indicator}",
            "worklist": f"/praksis/{practice}/indikator/{indicator}/arbejdsliste"}


async def fetch(client, path: str, cookie: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = await client.get(path, headers={"Cookie": f"__Host-kp_session={cookie}"})
    return (time.perf_counter() - started) * 1000, response.status_code


async def run(base: str, sessions: list[tuple[str, str]], indicator: str, rounds: int, concurrency: int,
              deadline_s: float, think: float = 0.0, ramp: float = 0.0) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:
        cold: dict[str, list[float]] = {}
        seen = set()
        for practice, cookie in sessions:  # one request per scope and page, one at a time
            if practice in seen:
                continue
            seen.add(practice)
            for page, path in pages_for(practice, indicator).items():
                ms, status = await fetch(client, path, cookie)
                assert status == 200, (path, status)
                cold.setdefault(page, []).append(ms)
        warm: dict[str, list[float]] = {}
        statuses: dict[int, int] = {}
        stop = time.monotonic() + deadline_s

        async def user(practice: str, cookie: str) -> None:
            await asyncio.sleep(ramp * rng.random())  # users arrive spread over the ramp, not all at once
            for _ in range(rounds):
                for page, path in pages_for(practice, indicator).items():
                    if time.monotonic() > stop:
                        return
                    ms, status = await fetch(client, path, cookie)
                    warm.setdefault(page, []).append(ms)
                    statuses[status] = statuses.get(status, 0) + 1
                    if think:
                        await asyncio.sleep(think * (0.5 + rng.random()))  # a person reading the page

        import random

        rng = random.Random(1)
        started = time.perf_counter()
        await asyncio.gather(*(user(p, c) for p, c in sessions[:concurrency]))
        elapsed = time.perf_counter() - started
    return {"cold": cold, "warm": warm, "statuses": statuses, "elapsed": elapsed}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="a KP_HOME with computed results (default: the web test world)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (with --home)")
    parser.add_argument("--rounds", type=int, default=10, help="requests per user and page")
    parser.add_argument("--indicator", default="IHD-1")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop the warm phase after this long")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a user reads a page before the next request (0: back to back)")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="users start at random moments within this many seconds (0: all at once)")
    args = parser.parse_args()

    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    if args.home:
        home = str(Path(args.home).resolve())
        server = HomeServer(home, port, args.workers)
        os.environ["KP_HOME"] = home
        from kvalitetsplatform.settings import load_settings

        server.start()
        database_url = load_settings().database_url
    else:
        folder = tempfile.mkdtemp(prefix="kp-bench-web-")
        server = ctx.Process(target=serve_world, args=(folder, port, ready), daemon=True)
        server.start()
        database_url = ready.get(timeout=600)
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(600):
        try:
            httpx.get(base + "/log-ind", timeout=5)
            break
        except httpx.HTTPError:
            time.sleep(0.5)
    if args.home:
        from kvalitetsplatform.access.db import make_engine
        from kvalitetsplatform.access.orgs import load_organisation

        engine = make_engine(database_url)
        with engine.connect() as conn:
            practices = sorted({m.ydernummer for m in load_organisation(conn).memberships})[:8]
        engine.dispose()
    else:
        practices = ["000001", "000002", "000004", "000005", "000006", "000007"]
    sessions = make_users(database_url, practices, args.users)
    print(f"Kvalitetsplatformen web benchmark: {args.users} concurrent GPs over {len(practices)} practices, "
          f"{args.rounds} rounds × 3 pages, {'KP_HOME ' + args.home if args.home else 'the web test world'}")
    try:
        result = asyncio.run(run(base, sessions, args.indicator, args.rounds, args.users, args.max_seconds,
                                 args.think, args.ramp))
    except httpx.HTTPError as e:
        server.join(1)
        raise SystemExit(f"the platform stopped answering ({e!r}); server exit code {server.exitcode} (negative: "
                         "killed by that signal, -9 often the kernel's out-of-memory killer: see dmesg)") from None
    finally:
        server.terminate()
        server.join(10)
    print(f"\ncold (first request per scope, one at a time; the gate computes and protects the views):")
    for page, values in result["cold"].items():
        print(f"  {page:10s} n={len(values):3d}  median {statistics.median(values):9.1f} ms  max {max(values):9.1f} ms")
    print(f"\nwarm, {args.users} concurrent users, think time {args.think:g} s, ramp {args.ramp:g} s "
          f"({result['elapsed']:.1f} s, "
          f"statuses {result['statuses']}):")
    every = []
    for page, values in result["warm"].items():
        every += values
        p95 = pct(values, 95)
        print(f"  {page:10s} n={len(values):5d}  p50 {pct(values, 50):7.1f}  p95 {p95:7.1f}  p99 {pct(values, 99):7.1f} ms"
              f"  {'meets' if p95 <= TARGET_MS else 'MISSES'} p95 ≤ {TARGET_MS:.0f} ms")
    if every:
        print(f"  {'all':10s} n={len(every):5d}  p50 {pct(every, 50):7.1f}  p95 {pct(every, 95):7.1f}  "
              f"p99 {pct(every, 99):7.1f} ms  throughput {len(every) / result['elapsed']:.0f} requests/s")


if __name__ == "__main__":
    main()

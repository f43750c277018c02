"""A live platform on loopback (uvicorn in a thread, over the web test world) and Debian's Chromium driven by
Playwright. Screenshots of every page for every role go to tests/browser/screenshots/ (not committed)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from tests.web.web_platform import make_platform  # noqa: E402  (tests/web: the same world as the page tests)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).parent / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    import uvicorn

    with pytest.MonkeyPatch.context() as mp:
        platform = make_platform(tmp_path_factory.mktemp("live"), mp)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(platform.app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the platform did not start")
            time.sleep(0.05)
        platform.url = f"http://127.0.0.1:{port}"
        yield platform
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()

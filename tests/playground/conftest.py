"""Fixtures for the Playground tests: a live uvicorn server in a thread, headless Chromium."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "playground"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class LiveServer:
    """The Playground app served by uvicorn on a free port, in a daemon thread."""

    def __init__(self, **app_options: object) -> None:
        import uvicorn

        from chainrule.playground.server import create_app

        self.app = create_app(**app_options)
        cfg = uvicorn.Config(self.app, host="127.0.0.1", port=0, ws_max_size=1 << 20,
                             log_level="warning", lifespan="off")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("playground server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"

    @property
    def sessions(self) -> dict:
        return self.app.state.sessions

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_server():
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    s = LiveServer()
    yield s
    s.stop()


@pytest.fixture
def make_live_server():
    """A factory of extra servers (``create_app`` options as keywords), stopped after the test."""
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    servers: list[LiveServer] = []

    def make(**app_options: object) -> LiveServer:
        servers.append(LiveServer(**app_options))
        return servers[-1]
    yield make
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    # Waits are for conditions that must come true; the bound is generous because CI runs the
    # browser beside the numeric tests on two cores (30 s timed out there under load).
    ctx.set_default_timeout(120_000)
    yield ctx
    ctx.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

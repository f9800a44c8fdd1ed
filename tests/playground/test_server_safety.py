"""The server under hostile or heavy use: foreign origins refused, bad uploads answered and
logged, training on worker threads shared fairly between sessions."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from chainrule.playground import session as session_module

websockets = pytest.importorskip("websockets")
pytest.importorskip("uvicorn")


async def _receive(ws, kind: str, pred=lambda m: True, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if m["type"] == kind and pred(m):
            return m
    raise AssertionError(f"no {kind} message in {timeout} s")


def _status_of_refusal(url: str, origin: str) -> int:
    async def go() -> int:
        try:
            async with websockets.connect(url, origin=origin):
                return 101
        except websockets.exceptions.InvalidStatus as e:
            return e.response.status_code
    return asyncio.run(go())


def test_foreign_origins_are_refused_with_403(live_server) -> None:
    assert _status_of_refusal(live_server.ws_url, "http://evil.example") == 403
    own = live_server.url.rstrip("/")
    assert _status_of_refusal(live_server.ws_url, own) == 101


def test_configured_origins_are_accepted(make_live_server) -> None:
    server = make_live_server(allowed_origins=["https://course.example.org"])
    assert _status_of_refusal(server.ws_url, "https://course.example.org") == 101
    assert _status_of_refusal(server.ws_url, "https://other.example.org") == 403


def test_huge_csv_values_get_an_error_and_the_session_keeps_training(live_server,
                                                                     caplog) -> None:
    async def go() -> None:
        async with websockets.connect(live_server.ws_url) as ws:
            await _receive(ws, "hello")
            rows = "1e308,1.7e308,0\n1,2,1\n3,4,0\n5,6,1\n"
            await ws.send(json.dumps({"type": "upload", "csv": rows}))
            err = await _receive(ws, "error")
            assert "CSV row 1: values must be finite numbers between" in err["message"]
            await ws.send('{"type": "step"}')
            frame = await _receive(ws, "frame", lambda m: m["epoch"] == 1)
            assert frame["train_loss"] == frame["train_loss"]  # not NaN
    asyncio.run(go())


def test_training_runs_on_worker_threads_not_the_event_loop(live_server, monkeypatch) -> None:
    threads: set[str] = set()
    original = session_module.Session.epoch_steps

    def recording(self):  # noqa: ANN001, ANN202
        threads.add(threading.current_thread().name)
        yield from original(self)

    monkeypatch.setattr(session_module.Session, "epoch_steps", recording)

    async def go() -> None:
        async with websockets.connect(live_server.ws_url) as ws:
            await _receive(ws, "hello")
            await ws.send('{"type": "step"}')
            await _receive(ws, "frame", lambda m: m["epoch"] == 1)
    asyncio.run(go())
    assert threads and all(t.startswith("playground-trainer-") for t in threads), threads


def test_playing_sessions_share_the_workers_fairly(live_server) -> None:
    async def go() -> list[int]:
        sockets = [await websockets.connect(live_server.ws_url) for _ in range(4)]
        try:
            for ws in sockets:
                await _receive(ws, "hello")
                await ws.send('{"type": "play"}')
            for ws in sockets:
                await _receive(ws, "frame", lambda m: m["playing"])
            await asyncio.sleep(3.0)
            for ws in sockets:
                await ws.send('{"type": "pause"}')
            frames = [await _receive(ws, "frame", lambda m: not m["playing"]) for ws in sockets]
            return [f["epoch"] for f in frames]
        finally:
            for ws in sockets:
                await ws.close()
    epochs = asyncio.run(go())
    assert min(epochs) > 0
    assert max(epochs) <= 3 * min(epochs) + 2, epochs  # round-robin, not first-come

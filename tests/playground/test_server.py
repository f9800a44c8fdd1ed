"""The Playground server through Starlette's in-process test client (needs httpx)."""

from __future__ import annotations

import json

import pytest

from chainrule.playground.session import MAX_MESSAGE_BYTES

starlette_testclient = pytest.importorskip("starlette.testclient")  # needs starlette and httpx


def _until(ws, kind, pred=lambda m: True):
    for _ in range(500):
        m = json.loads(ws.receive_text())
        if m["type"] == kind and pred(m):
            return m
    raise AssertionError(f"no {kind} message")


def test_server_refuses_bad_messages_and_keeps_serving():
    from chainrule.playground.server import create_app
    app = create_app()
    with starlette_testclient.TestClient(app) as client:
        with client.websocket_connect("/ws") as ws:
            hello = _until(ws, "hello")
            assert hello["session"] in app.state.sessions
            _until(ws, "frame")
            for bad in ["}{", "x" * (MAX_MESSAGE_BYTES + 10), '{"type":"config","config":'
                        '{"layers":[8,8,8,8,8,8,8,8,8,8]}}', '{"type":"config","config":'
                        '{"learning_rate":-1}}', '{"type":"config","config":{"dataset":"moons"}}']:
                ws.send_text(bad)
                assert _until(ws, "error")["message"]
            ws.send_bytes(b"\x00\x01")
            assert "binary" in _until(ws, "error")["message"]
            ws.send_text(json.dumps({"type": "config", "config": {"layers": [3]}}))
            _until(ws, "config", lambda m: m["config"]["layers"] == [3])
            ws.send_text('{"type": "step"}')
            _until(ws, "frame", lambda m: m["epoch"] == 1)
        assert client.get("/").status_code == 200
        assert "playground" in client.get("/static/app.js").text


def test_each_socket_is_its_own_session_and_is_dropped_on_close():
    import time

    from chainrule.playground.server import create_app
    app = create_app()
    with starlette_testclient.TestClient(app) as client:
        with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
            ida, idb = _until(a, "hello")["session"], _until(b, "hello")["session"]
            assert ida != idb and set(app.state.sessions) == {ida, idb}
            a.send_text(json.dumps({"type": "config", "config": {"layers": [5]}}))
            _until(a, "config", lambda m: m["config"]["layers"] == [5])
            b.send_text('{"type": "step"}')
            _until(b, "frame", lambda m: m["epoch"] == 1)
            assert app.state.sessions[ida].config["layers"] == [5]
            assert app.state.sessions[idb].config["layers"] == [4, 2]
            assert app.state.sessions[ida].epoch == 0
        deadline = time.monotonic() + 5
        while app.state.sessions and time.monotonic() < deadline:
            time.sleep(0.02)
        assert app.state.sessions == {}


def test_main_parses_the_cli_arguments(monkeypatch):
    from chainrule.playground import server
    seen = {}
    monkeypatch.setattr(server, "serve", lambda host, port, open_browser, origins: seen.update(
        host=host, port=port, open=open_browser, origins=origins))
    assert server.main(["--host", "0.0.0.0", "--port", "9001", "--open", "--allow-origin",
                        "https://course.example.org"]) == 0
    assert seen == {"host": "0.0.0.0", "port": 9001, "open": True,
                    "origins": ["https://course.example.org"]}
    assert server.main([]) == 0 and seen == {"host": "127.0.0.1", "port": 8000, "open": False,
                                             "origins": []}


def test_a_flooding_tab_does_not_stall_another():
    import time

    from chainrule.playground.server import create_app
    app = create_app()
    with starlette_testclient.TestClient(app) as client:
        with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
            ida = _until(a, "hello")["session"]
            _until(b, "hello")
            for i in range(60):
                a.send_text('{"type": "step"}' if i % 2 else "garbage")
            t0 = time.monotonic()
            b.send_text('{"type": "step"}')
            _until(b, "frame", lambda m: m["epoch"] == 1)
            assert time.monotonic() - t0 < 10
            assert app.state.sessions[ida].pending_steps <= 10  # steps are capped, not queued
        assert client.get("/healthz").json()["ok"] is True

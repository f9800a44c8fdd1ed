"""The Playground web server: Starlette on uvicorn, one WebSocket session per browser tab.

``GET /`` serves ``static/index.html``; ``/static`` the page's JS and CSS; ``/ws`` is the session
socket. Each socket gets a ``Session`` and two tasks: a trainer that runs epochs while playing
(yielding to the event loop every few milliseconds so that many tabs share one loop) and a sender
that pushes replies at once and state frames at most ``fps`` times a second. Closing the tab
cancels both and drops the session. See ``docs/playground.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import time
import webbrowser
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from chainrule.playground.session import MAX_LAYERS, MAX_MESSAGE_BYTES, MAX_NEURONS, Session

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("chainrule.playground")
SLICE_S = 0.015  # the longest a trainer runs before yielding to the loop


def _dumps(msg: dict[str, Any]) -> str:
    return json.dumps(msg, separators=(",", ":"), allow_nan=False, default=float)


async def _train(session: Session, wake: asyncio.Event, notify: asyncio.Event,
                 outbox: list[dict[str, Any]]) -> None:
    while True:
        if not (session.playing or session.pending_steps):
            wake.clear()
            await wake.wait()
            continue
        if not session.playing:
            session.pending_steps -= 1
        t0 = time.perf_counter()
        session.busy = True  # frames say "playing" until this epoch is done
        try:
            for _ in session.epoch_steps():
                if time.perf_counter() - t0 > SLICE_S:
                    notify.set()
                    await asyncio.sleep(0)
                    t0 = time.perf_counter()
        except Exception as e:  # a diverged or broken run stops this session, not the server
            session.playing = False
            session.pending_steps = 0
            outbox.append({"type": "error", "message": str(e)})
            log.info("session %s: training stopped: %s", session.id, e)
        finally:
            session.busy = False
        notify.set()
        await asyncio.sleep(0)


async def _send(ws: WebSocket, session: Session, notify: asyncio.Event,
                outbox: list[dict[str, Any]], period: float) -> None:
    last = 0.0
    while True:
        await notify.wait()
        notify.clear()
        while outbox:
            await ws.send_text(_dumps(outbox.pop(0)))
        if session.dirty:
            wait = last + period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            while outbox:
                await ws.send_text(_dumps(outbox.pop(0)))
            try:
                frame = _dumps(session.frame())
            except Exception as e:  # report, pause, and keep the socket alive
                log.exception("session %s: could not build a frame", session.id)
                session.playing, session.dirty = False, False
                frame = _dumps({"type": "error", "message": f"internal error: {e}"})
            await ws.send_text(frame)
            last = time.monotonic()


def create_app(fps: float = 15.0, max_sessions: int = 64) -> Starlette:
    """The ASGI app. ``app.state.sessions`` maps session id → ``Session`` (tests read it)."""
    sessions: dict[str, Session] = {}
    ids = itertools.count(1)

    async def index(request: Any) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def health(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "sessions": len(sessions)})

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        if len(sessions) >= max_sessions:
            await ws.send_text(_dumps({"type": "error", "message": "too many sessions"}))
            await ws.close(code=1013)
            return
        n = next(ids)
        session = Session(f"s{n}", seed=n)
        sessions[session.id] = session
        wake, notify = asyncio.Event(), asyncio.Event()
        outbox: list[dict[str, Any]] = [
            {"type": "hello", "session": session.id, "limits": {
                "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS,
                "max_message_bytes": MAX_MESSAGE_BYTES}},
            *session.config_messages()]
        notify.set()
        tasks = [asyncio.create_task(_train(session, wake, notify, outbox)),
                 asyncio.create_task(_send(ws, session, notify, outbox, 1.0 / fps))]
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                if any(t.done() for t in tasks):
                    break
                replies = session.handle_text(msg.get("text"))  # binary frames → error
                outbox.extend(replies)
                if len(outbox) > 64:  # a client that floods us gets only the latest replies
                    del outbox[:-64]
                wake.set()
                notify.set()
        except WebSocketDisconnect:
            pass
        finally:  # drop the session first: the awaits below may be cancelled themselves
            sessions.pop(session.id, None)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    app = Starlette(routes=[
        Route("/", index),
        Route("/healthz", health),
        WebSocketRoute("/ws", socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.sessions = sessions
    return app


def config(host: str = "127.0.0.1", port: int = 8000, **kwargs: Any) -> Any:
    """A ``uvicorn.Config`` for the app; oversized frames (> 1 MiB) are refused by uvicorn."""
    import uvicorn
    return uvicorn.Config(create_app(), host=host, port=port, ws_max_size=1 << 20,
                          log_level="warning", **kwargs)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> None:
    """Run the Playground until interrupted."""
    import uvicorn
    server = uvicorn.Server(config(host, port))
    url = f"http://{host}:{port}/"
    print(f"chainrule playground on {url} (Ctrl-C to stop)")
    if open_browser:
        import threading
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server.run()


def main(argv: list[str] | None = None) -> int:
    """``chainrule playground [--host 127.0.0.1] [--port 8000] [--open]``."""
    p = argparse.ArgumentParser(prog="chainrule playground",
                                description="Train a small network live in the browser.")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    args = p.parse_args(argv)
    serve(args.host, args.port, args.open)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

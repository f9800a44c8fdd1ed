"""The Playground web server: Starlette on uvicorn, one WebSocket session per browser tab.

``GET /`` serves ``static/index.html``; ``/static`` the page's JS and CSS; ``/ws`` is the session
socket. Each socket gets a ``Session``; training runs off the event loop, on a pool of worker
threads that take the playing sessions in turn (``Trainer``), and the loop only relays messages
and frames, so ``/healthz`` and every tab stay responsive with many sessions. WebSockets from
pages of other origins are refused. Closing the tab drops the session. See
``docs/playground.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import queue
import sys
import threading
import time
import webbrowser
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from chainrule.playground.options import build_parser, export
from chainrule.playground.session import MAX_LAYERS, MAX_MESSAGE_BYTES, MAX_NEURONS, Session

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("chainrule.playground")
CYCLE_S = 0.12
"""Aim: every playing session trains (and gets a frame) at least this often."""
MAX_SLICE_S = 0.02
MAX_OUTBOX = 64


def _dumps(msg: dict[str, Any]) -> str:
    return json.dumps(msg, separators=(",", ":"), allow_nan=False, default=float)


class Tab:
    """One socket's session as the worker threads and the event loop share it.

    ``lock`` guards the session (held by a worker for one training slice, or while a message is
    applied); ``out_lock`` guards the outgoing messages and is only ever held for a moment, so
    the event loop never waits on training.
    """

    def __init__(self, session: Session, loop: asyncio.AbstractEventLoop, period: float) -> None:
        self.session = session
        self.loop = loop
        self.period = period
        self.lock = threading.Lock()
        self.out_lock = threading.Lock()
        self.wakeup = asyncio.Event()
        self.outbox: list[str] = []
        self.frame: str | None = None  # the latest unsent frame replaces an older one
        self.last_frame = 0.0
        self.epoch: Iterator[None] | None = None  # the epoch under way, across slices
        self.queued = False
        self.closed = False

    # ---- called on worker threads ----------------------------------------------------------
    def handle(self, text: str | bytes | None) -> None:
        """Apply one client message and queue the replies (and a frame when paused)."""
        with self.lock:
            replies = self.session.handle_text(text)
            idle = not (self.session.playing or self.session.pending_steps)
            frame = self._frame() if idle and self.session.dirty else None
        self._post([_dumps(r) for r in replies], frame)

    def train_slice(self, seconds: float) -> bool:
        """Train for about ``seconds``; True while there is more to do."""
        s = self.session
        with self.lock:
            if self.closed:
                return False
            if self.epoch is None:
                if not (s.playing or s.pending_steps):
                    return False
                if not s.playing:
                    s.pending_steps -= 1
                self.epoch, s.busy = s.epoch_steps(), True
            errors: list[str] = []
            t0 = time.perf_counter()
            try:
                while time.perf_counter() - t0 < seconds:
                    next(self.epoch)
                    s.dirty = True  # the weights moved: the next frame shows them mid-epoch
            except StopIteration:
                self.epoch, s.busy = None, False
            except Exception as e:  # a diverged or broken run stops this session, not the server
                self.epoch, s.busy = None, False
                s.playing, s.pending_steps = False, 0
                errors.append(_dumps({"type": "error", "message": str(e)}))
                if isinstance(e, ValueError):
                    log.info("session %s: training stopped: %s", s.id, e)
                else:
                    log.exception("session %s: training failed", s.id)
            more = self.epoch is not None or s.playing or bool(s.pending_steps)
            due = time.monotonic() - self.last_frame >= self.period or not more
            frame = self._frame() if s.dirty and due else None
        self._post(errors, frame)
        return more and not self.closed

    def _frame(self) -> str:
        self.last_frame = time.monotonic()
        try:
            return _dumps(self.session.frame())
        except Exception as e:  # report, pause, and keep the socket alive
            log.exception("session %s: could not build a frame", self.session.id)
            self.session.playing, self.session.dirty = False, False
            return _dumps({"type": "error", "message": f"internal error: {e}"})

    def _post(self, messages: list[str], frame: str | None) -> None:
        if not messages and frame is None:
            return
        with self.out_lock:
            self.outbox.extend(messages)
            if len(self.outbox) > MAX_OUTBOX:  # a flooding client gets only the latest replies
                del self.outbox[:-MAX_OUTBOX]
            if frame is not None:
                self.frame = frame
        if not self.closed:
            self.loop.call_soon_threadsafe(self.wakeup.set)

    # ---- called on the event loop ------------------------------------------------------------
    def take(self) -> list[str]:
        with self.out_lock:
            out, self.outbox = self.outbox, []
            if self.frame is not None:
                out.append(self.frame)
                self.frame = None
        return out


class Trainer:
    """Worker threads, one per core, that train the playing sessions in turn.

    Sessions wait in one FIFO queue; a worker takes the next, trains it for a slice, sends its
    frame, and puts it back at the end, so all sessions progress at the same pace. The slice
    shrinks as sessions are added (``CYCLE_S`` / sessions), so each gets a turn several times
    a second however many there are. Grad mode is per thread, so the sessions never see each
    other's ``no_grad``.
    """

    def __init__(self, sessions: dict[str, Session], workers: int | None = None) -> None:
        self.ready: queue.SimpleQueue[Tab | None] = queue.SimpleQueue()
        self.sessions = sessions  # the open tabs, whose number sets the slice
        self.guard = threading.Lock()
        n = workers or max(1, min(os.cpu_count() or 1, 8))
        self.threads = [threading.Thread(target=self._work, name=f"playground-trainer-{i}",
                                         daemon=True) for i in range(n)]
        for t in self.threads:
            t.start()

    def schedule(self, tab: Tab) -> None:
        with self.guard:
            if tab.queued or tab.closed:
                return
            tab.queued = True
        self.ready.put(tab)

    def slice_s(self) -> float:
        return min(MAX_SLICE_S, max(0.001, CYCLE_S / max(1, len(self.sessions))))

    def _work(self) -> None:
        while True:
            tab = self.ready.get()
            if tab is None:
                return
            with self.guard:
                tab.queued = False
            try:
                more = tab.train_slice(self.slice_s())
            except Exception:  # never lose a worker
                log.exception("session %s: trainer error", tab.session.id)
                more = False
            if more:
                self.schedule(tab)
            time.sleep(0)  # hand the GIL to the event loop between turns

    def close(self) -> None:
        for _ in self.threads:
            self.ready.put(None)
        for t in self.threads:
            t.join(timeout=5)


def _own_origin(ws: WebSocket) -> set[str]:
    host = ws.headers.get("host", "")
    return {f"http://{host}", f"https://{host}"}


def create_app(fps: float = 15.0, max_sessions: int = 64, workers: int | None = None,
               allowed_origins: Iterable[str] = ()) -> Starlette:
    """The ASGI app. ``app.state.sessions`` maps session id → ``Session`` (tests read it).

    Args:
        fps: the most frames a second each tab is sent.
        max_sessions: tabs beyond this are refused (memory stays bounded).
        workers: training threads (default: one per core).
        allowed_origins: web origins, besides the server's own, whose pages may open a session
            (``Origin`` header of the WebSocket handshake); any other is refused with 403.
    """
    sessions: dict[str, Session] = {}
    ids = itertools.count(1)
    extra_origins = {o.rstrip("/") for o in allowed_origins}
    trainer: list[Trainer] = []  # started with the first socket, on the serving thread

    def get_trainer() -> Trainer:
        if not trainer:
            trainer.append(Trainer(sessions, workers))
        return trainer[0]

    async def index(request: Any) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def health(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "sessions": len(sessions)})

    async def socket(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        if origin is not None and origin not in _own_origin(ws) | extra_origins:
            log.warning("refused a WebSocket from origin %r", origin)
            await ws.close(code=1008)  # before accept: the handshake is answered with 403
            return
        await ws.accept()
        if len(sessions) >= max_sessions:
            await ws.send_text(_dumps({"type": "error", "message": "too many sessions"}))
            await ws.close(code=1013)
            return
        pool = get_trainer()
        n = next(ids)
        session = Session(f"s{n}", seed=n)
        sessions[session.id] = session
        tab = Tab(session, asyncio.get_running_loop(), 1.0 / fps)
        tab._post([_dumps({"type": "hello", "session": session.id, "limits": {
            "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS,
            "max_message_bytes": MAX_MESSAGE_BYTES}})] +
            [_dumps(m) for m in session.config_messages()], _dumps(session.frame()))
        sender = asyncio.create_task(_send(ws, tab))
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect" or sender.done():
                    break
                await asyncio.to_thread(tab.handle, msg.get("text"))  # binary frames → error
                pool.schedule(tab)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("session %s: socket error", session.id)
        finally:  # drop the session first: the awaits below may be cancelled themselves
            tab.closed = True
            sessions.pop(session.id, None)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if trainer:  # stop the workers with the server
            await asyncio.to_thread(trainer[0].close)

    app = Starlette(routes=[
        Route("/", index),
        Route("/healthz", health),
        WebSocketRoute("/ws", socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
    app.state.sessions = sessions
    return app


async def _send(ws: WebSocket, tab: Tab) -> None:
    """Push the tab's replies and frames as the workers produce them."""
    try:
        while True:
            await tab.wakeup.wait()
            tab.wakeup.clear()
            for text in tab.take():
                await ws.send_text(text)
    except asyncio.CancelledError:
        raise
    except Exception:  # a closed socket ends the session; anything else is logged too
        log.info("session %s: sender stopped", tab.session.id, exc_info=True)


def config(host: str = "127.0.0.1", port: int = 8000, allowed_origins: Iterable[str] = (),
           **kwargs: Any) -> Any:
    """A ``uvicorn.Config`` for the app; oversized frames (> 1 MiB) are refused by uvicorn."""
    import uvicorn
    # NOTE: no per-message deflate: compressing every frame cost the event loop more than the
    # bandwidth it saves on the loopback and LAN links the playground is served on.
    return uvicorn.Config(create_app(allowed_origins=allowed_origins), host=host, port=port,
                          ws_max_size=1 << 20, ws_per_message_deflate=False,
                          log_level="warning", **kwargs)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          allowed_origins: Iterable[str] = ()) -> None:
    """Run the Playground until interrupted."""
    import uvicorn
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # NOTE: the trainers hold the GIL in 5 ms turns by default; 1 ms lets the event loop answer
    # within a few milliseconds however many sessions train (benchmarks/playground_load.py).
    sys.setswitchinterval(0.001)
    server = uvicorn.Server(config(host, port, allowed_origins))
    url = f"http://{host}:{port}/"
    print(f"chainrule playground on {url} (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server.run()


def main(argv: list[str] | None = None) -> int:
    """``chainrule playground [--host 127.0.0.1] [--port 8000] [--open] [--allow-origin URL]``
    (``--export-site DIR`` writes the static site instead)."""
    args = build_parser().parse_args(argv)
    if args.export_site:
        return export(args)
    serve(args.host, args.port, args.open, args.allow_origin)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

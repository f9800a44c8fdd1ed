"""The Playground run inside the browser: one ``Session`` driven by the page itself.

In an exported static site (``chainrule playground --export-site DIR``, see ``site.py``) Pyodide
runs chainrule in a Web Worker; the worker passes the page's messages to ``LocalTab.handle`` and
calls ``LocalTab.train`` in short slices while the session plays, posting every text returned to
the page, which draws them as it draws the server's. The messages are the server's protocol
(``session.py``), so the page is the same in both modes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from chainrule.playground.session import MAX_LAYERS, MAX_MESSAGE_BYTES, MAX_NEURONS, Session


def _dumps(msg: dict[str, Any]) -> str:
    return json.dumps(msg, separators=(",", ":"), allow_nan=False, default=float)


class LocalTab:
    """A session and the epoch under way, for a single-threaded caller (the page's worker)."""

    def __init__(self, seed: int = 1) -> None:
        self.session = Session("local", seed=seed)
        self.epoch: Any = None  # the epoch under way, across slices

    def hello(self) -> list[str]:
        """The server's greeting: session id, limits, the config, the data and a frame."""
        s = self.session
        return [_dumps({"type": "hello", "session": s.id, "limits": {
            "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS,
            "max_message_bytes": MAX_MESSAGE_BYTES}}),
            *(_dumps(m) for m in s.config_messages()), _dumps(s.frame())]

    @property
    def more(self) -> bool:
        """Whether ``train`` has work: an epoch under way, playing, or steps asked for."""
        s = self.session
        return self.epoch is not None or s.playing or bool(s.pending_steps)

    def handle(self, text: str) -> list[str]:
        """Apply one page message: the replies, and a frame when nothing is training."""
        s = self.session
        out = [_dumps(r) for r in s.handle_text(text)]
        if s.dirty and not (s.playing or s.pending_steps):
            out.append(_dumps(s.frame()))
        return out

    def train(self, seconds: float) -> list[str]:
        """Train for about ``seconds``; an ``error`` if training stopped, and a frame."""
        s = self.session
        if self.epoch is None:
            if not (s.playing or s.pending_steps):
                return []
            if not s.playing:
                s.pending_steps -= 1
            self.epoch, s.busy = s.epoch_steps(), True
        out: list[str] = []
        t0 = time.perf_counter()
        try:
            while time.perf_counter() - t0 < seconds:
                next(self.epoch)
                s.dirty = True
        except StopIteration:
            self.epoch, s.busy = None, False
        except ValueError as e:  # diverged: stop this run, say why
            self.epoch, s.busy = None, False
            s.playing, s.pending_steps = False, 0
            out.append(_dumps({"type": "error", "message": str(e)}))
        out.append(_dumps(s.frame()))
        return out

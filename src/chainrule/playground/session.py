"""One browser tab's state: config, data, network, training progress, and the message protocol.

Nothing here does I/O: ``Session.handle_text`` turns one client message into replies, ``frame``
builds the state snapshot the page draws, and the server (``server.py``) drives ``epoch_steps``
from an asyncio task. Every client value is validated here; bad input raises ``ValueError`` whose
text is shown in the page.

Protocol (JSON text frames). Client → server: ``{"type": "config", "config": {...partial}}``,
``play``, ``pause``, ``step``, ``reset``, ``regenerate``, ``{"type": "upload", "csv": "..."}``,
``graph``, ``{"type": "export", "format": "checkpoint" | "script"}``,
``{"type": "set_weight", "layer": l, "i": i, "j": j, "value": v}``. Server → client:
``hello``, ``config``, ``data``, ``frame``, ``graph``, ``export``, ``error``.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule.datasets import playground as sets
from chainrule.nn import ACTIVATIONS
from chainrule.optim import OPTIMIZERS
from chainrule.playground import datasets as D
from chainrule.playground.export import script
from chainrule.playground.model import PlaygroundNet
from chainrule.train import LambdaCallback, fit_steps

log = logging.getLogger("chainrule.playground")
MAX_MESSAGE_BYTES = 256 * 1024
MAX_LAYERS = 6
MAX_NEURONS = 8
OUTPUT_GRID = 50
NEURON_GRID = 16
MAX_PENDING_STEPS = 10
MAX_WEIGHT = 100.0
DIVERGED = ("training diverged (the loss is not finite); lower the learning rate and "
            "press reset")

DEFAULTS: dict[str, Any] = {
    "problem": "classification", "dataset": "circle", "noise": 0, "train_percent": 50,
    "batch_size": 10, "features": ["x1", "x2"], "layers": [4, 2], "activation": "tanh",
    "regularization": "none", "reg_rate": 0.0, "learning_rate": 0.03, "optimizer": "sgd",
    "seed": 0,
}
CHOICES: dict[str, Any] = {
    "optimizer": [[k, cls.__name__] for k, cls in OPTIMIZERS.items()],
    "activation": [[k, cls.__name__] for k, cls in ACTIVATIONS.items()],
    "dataset": {"classification": list(sets.CLASSIFICATION), "regression": list(sets.REGRESSION)},
}
"""What the page offers, from the library's registries: [value, label] pairs of optimizers and
activations, data set names per problem; sent with every ``config`` message."""
_RESET_DATA = {"problem", "dataset", "noise", "train_percent", "seed"}
_RESET_NET = {"features", "layers", "activation"}


def _number(key: str, v: Any, lo: float, hi: float, integer: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{key} must be a number, got {json.dumps(v)[:40]}")
    if isinstance(v, int) and abs(v) > 2**53:
        raise ValueError(f"{key} must be in [{lo:g}, {hi:g}], got {str(v)[:20]}…")
    if not math.isfinite(v):
        raise ValueError(f"{key} must be finite, got {v}")
    if integer and v != int(v):
        raise ValueError(f"{key} must be a whole number, got {v}")
    if not lo <= v <= hi:
        raise ValueError(f"{key} must be in [{lo:g}, {hi:g}], got {v:g}")
    return int(v) if integer else float(v)


def _choice(key: str, v: Any, options: tuple[str, ...] | list[str]) -> str:
    if not isinstance(v, str) or v not in options:
        raise ValueError(f"unknown {key} {json.dumps(v)[:40]}; choose one of {', '.join(options)}")
    return v


def validate_config(update: Any, current: dict[str, Any], has_custom: bool = False
                    ) -> dict[str, Any]:
    """The config after applying ``update``; raises ``ValueError`` naming the first bad value."""
    if not isinstance(update, dict):
        raise ValueError("config must be an object")
    unknown = set(update) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown config key {sorted(unknown)[0]!r}")
    c = dict(current)
    for key, v in update.items():
        if key == "problem":
            c[key] = _choice(key, v, ("classification", "regression"))
        elif key == "dataset":
            custom = ("custom",) if has_custom else ()
            c[key] = _choice(key, v, (*sets.CLASSIFICATION, *sets.REGRESSION, *custom))
        elif key == "noise":
            c[key] = _number(key, v, 0, 50, integer=True)
        elif key == "train_percent":
            c[key] = _number(key, v, 10, 90, integer=True)
        elif key == "batch_size":
            c[key] = _number(key, v, 1, 1000, integer=True)
        elif key == "features":
            if not isinstance(v, list) or not v or len(v) > len(D.FEATURES):
                raise ValueError(f"features must be a non-empty list of {', '.join(D.FEATURES)}")
            names = [_choice("feature", f, D.FEATURES) for f in v]
            c[key] = [f for f in D.FEATURES if f in names]  # canonical order, no duplicates
        elif key == "layers":
            if not isinstance(v, list) or len(v) > MAX_LAYERS:
                got = len(v) if isinstance(v, list) else type(v).__name__
                raise ValueError(f"layers must be a list of at most {MAX_LAYERS} hidden layer "
                                 f"sizes, got {got}")
            c[key] = [_number("neurons per layer", n, 1, MAX_NEURONS, integer=True) for n in v]
        elif key == "activation":
            c[key] = _choice(key, v, tuple(ACTIVATIONS))
        elif key == "regularization":
            c[key] = _choice(key, v, ("none", "l1", "l2"))
        elif key == "reg_rate":
            c[key] = _number(key, v, 0, 10)
        elif key == "learning_rate":
            lr = _number(key, v, 0, 10)
            if lr <= 0:
                raise ValueError(f"learning_rate must be > 0, got {lr:g}")
            c[key] = lr
        elif key == "optimizer":
            c[key] = _choice(key, v, tuple(OPTIMIZERS))
        elif key == "seed":
            c[key] = _number(key, v, 0, 2**31 - 1, integer=True)
    # Dataset and problem type must agree; the one the user just set wins.
    family = {**dict.fromkeys(sets.CLASSIFICATION, "classification"),
              **dict.fromkeys(sets.REGRESSION, "regression")}
    ds = c["dataset"]
    if ds == "custom" and c["problem"] != current["problem"]:  # uploads are parsed per problem
        c["dataset"] = "circle" if c["problem"] == "classification" else "plane"
    elif ds != "custom" and family[ds] != c["problem"]:
        if "dataset" in update and "problem" not in update:
            c["problem"] = family[ds]
        else:
            c["dataset"] = "circle" if c["problem"] == "classification" else "plane"
    return c


def parse_message(text: str | bytes | None) -> dict[str, Any]:
    """Decode one client message; ``ValueError`` for anything that is not a small JSON object."""
    if text is None:
        raise ValueError("binary messages are not accepted; send JSON text")
    if len(text) > MAX_MESSAGE_BYTES:
        raise ValueError(f"message too large: {len(text)} bytes (limit {MAX_MESSAGE_BYTES})")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("malformed message: not JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ValueError("malformed message: expected an object with a string 'type'")
    return msg


def _quantize(v: np.ndarray) -> str:
    """Values in [−1, 1] → base64 of uint8 (0 ↔ −1, 255 ↔ +1)."""
    q = np.round((np.clip(np.nan_to_num(v), -1, 1) + 1) * 127.5).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode()


def _finite(v: Any) -> Any:
    """``v`` (a number or nested lists of numbers) with NaN and ±inf as None: JSON has no
    non-finite numbers, and a diverged run still sends the frame that shows it."""
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v if math.isfinite(v) else None


def _grid(n: int) -> np.ndarray:
    """n×n points over [−6, 6]², row-major from the top row (x₂ = +6) down."""
    ticks = np.linspace(-sets.DOMAIN, sets.DOMAIN, n)
    xx, yy = np.meshgrid(ticks, ticks[::-1])
    return np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)


_OUT_GRID, _NEURON_GRID = _grid(OUTPUT_GRID), _grid(NEURON_GRID)


class Session:
    """State of one tab. The config's ``seed`` fixes the data; with the number of presses of
    reset it also fixes the initial weights, so a sequence of actions replays exactly."""

    def __init__(self, sid: str, seed: int = 0) -> None:
        self.id = sid
        self.config: dict[str, Any] = {**json.loads(json.dumps(DEFAULTS)), "seed": seed}
        self.resets = 0
        self.custom: tuple[np.ndarray, np.ndarray] | None = None
        self.playing = False
        self.busy = False  # an epoch is under way (set by the server's trainer)
        self.pending_steps = 0
        self.generation = 0  # bumped on every reset; a running epoch stops when it changes
        self._make_data()

    # ---- state changes -----------------------------------------------------------------------
    def _make_data(self) -> None:
        c = self.config
        if c["dataset"] == "custom" and self.custom is not None:
            points, labels = self.custom
        else:
            points, labels = sets.make_playground(c["dataset"], c["noise"] / 100, c["seed"])
        self.points = (points, labels)
        self.xtr, self.ytr, self.xte, self.yte = D.split(points, labels, c["train_percent"])
        self.data_dirty = True
        self._make_net()

    def _make_net(self) -> None:
        c = self.config
        self.Xtr = D.features(self.xtr, c["features"])
        self.Xte = D.features(self.xte, c["features"])
        net_seed = c["seed"] * 7919 + self.resets
        self.net = PlaygroundNet(len(c["features"]), c, seed=net_seed)
        self.rng = np.random.default_rng(net_seed)  # mini-batch order
        self.generation += 1
        self.epoch = 0
        self.history: list[list[float]] = []
        self.new_history: list[list[float]] = []
        self.history_reset = True
        self._record_loss()

    def _record_loss(self) -> None:
        self.train_loss = self.net.evaluate(self.Xtr, self.ytr)
        self.test_loss = self.net.evaluate(self.Xte, self.yte)
        point = [self.epoch, round(self.train_loss, 6), round(self.test_loss, 6)]
        self.history.append(point)
        self.new_history.append(point)
        self.dirty = True

    def set_config(self, update: Any) -> None:
        new = validate_config(update, self.config, has_custom=self.custom is not None)
        changed = {k for k in new if new[k] != self.config[k]}
        self.config = new
        if changed & _RESET_DATA:
            self._make_data()
        elif changed & _RESET_NET:
            self._make_net()
        else:
            self.net.set_hyper(new)
        self.dirty = True

    def upload(self, text: Any) -> None:
        if not isinstance(text, str):
            raise ValueError("upload needs a 'csv' string")
        self.custom = D.parse_csv(text, self.config["problem"])
        self.config["dataset"] = "custom"
        self._make_data()

    def set_weight(self, msg: dict[str, Any]) -> None:
        """Set the weight from input ``i`` of layer ``layer`` to its output ``j`` (the link
        clicked in the page) in the live model; training goes on from there."""
        n = len(self.net.linears)
        layer = int(_number("layer", msg.get("layer"), 0, n - 1, integer=True))
        w = self.net.linears[layer].weight.array  # (out, in)
        i = int(_number("i", msg.get("i"), 0, w.shape[1] - 1, integer=True))
        j = int(_number("j", msg.get("j"), 0, w.shape[0] - 1, integer=True))
        w[j, i] = _number("weight", msg.get("value"), -MAX_WEIGHT, MAX_WEIGHT)
        self.train_loss = self.net.evaluate(self.Xtr, self.ytr)
        self.test_loss = self.net.evaluate(self.Xte, self.yte)

    # ---- training ----------------------------------------------------------------------------
    def epoch_steps(self):  # noqa: ANN201 - a generator of nothing, one item per optimizer step
        """Run one epoch of ``cr.train.fit_steps`` lazily, yielding after each mini-batch; stops
        early on a reset. Callbacks regularise after each step (stopping on a non-finite loss)
        and record the losses at the epoch's end."""
        gen = self.generation
        run = fit_steps(self.net, self.net.train_step, self._batches, self.epoch + 1,
                        callbacks=[LambdaCallback(on_train_batch_end=self._after_step,
                                                  on_epoch_end=self._after_epoch)],
                        verbose=0, initial_epoch=self.epoch)
        for _ in run:
            yield
            if self.generation != gen:
                run.close()
                return

    def _batches(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The epoch's mini-batches of the training set, in a fresh shuffled order."""
        bs = self.config["batch_size"]
        order = self.rng.permutation(len(self.Xtr))
        for s in range(0, len(order), bs):
            idx = order[s:s + bs]
            yield self.Xtr[idx], self.ytr[idx]

    def _after_step(self, batch: int, logs: dict[str, float]) -> None:
        self.net.regularize()
        if not math.isfinite(logs["loss"]):   # a non-finite batch loss stops the run at once
            self.playing, self.pending_steps = False, 0
            raise ValueError(DIVERGED)

    def _after_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch = epoch + 1
        self._record_loss()
        if not (math.isfinite(self.train_loss) and math.isfinite(self.test_loss)):
            self.playing = False
            self.pending_steps = 0
            raise ValueError(DIVERGED)

    # ---- messages ----------------------------------------------------------------------------
    def handle_text(self, text: str | bytes | None) -> list[dict[str, Any]]:
        """Apply one client message; returns the replies (an ``error`` for bad input)."""
        try:
            return self.handle(parse_message(text))
        except ValueError as e:
            return [{"type": "error", "message": str(e)}]
        except Exception as e:  # a bug must not take the session (or the server) down
            log.exception("session %s: error handling a message", self.id)
            return [{"type": "error", "message": f"internal error: {type(e).__name__}: {e}"}]

    def handle(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        kind = msg["type"]
        if kind == "config":
            self.set_config(msg.get("config"))
            return self.config_messages()
        if kind == "play":
            self.playing = True
        elif kind == "pause":
            self.playing = False
            self.dirty = True
        elif kind == "step":
            self.playing = False
            self.pending_steps = min(self.pending_steps + 1, MAX_PENDING_STEPS)
        elif kind == "reset":
            self.playing = False
            self.pending_steps = 0
            self.resets += 1
            self._make_net()
        elif kind == "regenerate":
            self.config["seed"] = (self.config["seed"] + 1) % 2**31
            self._make_data()
            return self.config_messages()
        elif kind == "upload":
            self.upload(msg.get("csv"))
            return self.config_messages()
        elif kind == "graph":
            return [self.graph()]
        elif kind == "set_weight":
            self.set_weight(msg)
        elif kind == "export":
            fmt = _choice("export format", msg.get("format"), ("checkpoint", "script"))
            return [self.export_checkpoint() if fmt == "checkpoint" else self.export_script()]
        else:
            raise ValueError(f"unknown message type {kind[:40]!r}")
        self.dirty = True
        return []

    def config_messages(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"type": "config", "config": self.config,
                                      "choices": CHOICES}]
        if self.data_dirty:
            self.data_dirty = False
            def pts(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
                return np.round(np.column_stack([x, y]).astype(np.float64), 3).tolist()
            out.append({"type": "data", "train": pts(self.xtr, self.ytr),
                        "test": pts(self.xte, self.yte)})
        return out

    def frame(self) -> dict[str, Any]:
        """A snapshot for drawing: losses, new loss-curve points, heat maps, weights."""
        c = self.config
        out_map = self.net.predict(D.features(_OUT_GRID, c["features"]))
        inputs = D.features(_NEURON_GRID, c["features"])
        scale = np.maximum(np.abs(inputs).max(0), 1e-9)
        layers = [[_quantize(col) for col in (inputs / scale).T]]
        for act in self.net.activations(inputs):
            layers.append([_quantize(col) for col in act.T])
        history, self.new_history = self.new_history, []
        reset, self.history_reset = self.history_reset, False
        self.dirty = False
        return {"type": "frame", "epoch": self.epoch, "playing": self.playing or self.busy,
                "train_loss": _finite(self.train_loss), "test_loss": _finite(self.test_loss),
                "history": _finite(history), "history_reset": reset,
                "output": _quantize(out_map), "grid": OUTPUT_GRID,
                "neurons": layers, "neuron_grid": NEURON_GRID,
                "weights": _finite(self.net.weights()), "biases": _finite(self.net.biases()),
                "zero_weights": self.net.zero_weights(), "generation": self.generation}

    # ---- graph and export --------------------------------------------------------------------
    def graph(self) -> dict[str, Any]:
        """One training step's graph from ``chainrule.viz.graph``: its nodes and edges for the
        page to draw, and the DOT text."""
        try:
            from chainrule import viz
            draw = viz.graph
        except (ImportError, AttributeError):
            return {"type": "graph", "dot": None, "nodes": [], "edges": [],
                    "message": "chainrule.viz.graph is not available in this installation"}
        import chainrule as cr
        n = min(len(self.Xtr), self.config["batch_size"])
        x = cr.tensor(self.Xtr[:n])
        loss = self.net.loss(self.net.model(x), self.ytr[:n])
        names = {"x": x, "loss": loss, **dict(self.net.model.named_parameters())}
        g = draw(loss, names=names)
        labels = {id(t): name for name, t in names.items()}
        nodes = []
        for k, t in enumerate(g.tensors):
            kind = ("param" if t.requires_grad else "input") if t.grad_fn is None else "tensor"
            nodes.append({"id": f"t{k}", "kind": "output" if t is loss else kind,
                          "label": labels.get(id(t), ""), "shape": list(t.shape)})
        for k, op in enumerate(g.ops):
            nodes.append({"id": f"op{k}", "kind": "op", "label": op.name, "shape": None})
        return {"type": "graph", "dot": g.source[:500_000], "nodes": nodes,
                "edges": [list(e) for e in g.edges], "message": None}

    def export_checkpoint(self) -> dict[str, Any]:
        """The model's state dict via ``chainrule.save`` (safetensors); ``.npz`` if unavailable."""
        state = self.net.state_dict()
        buf = io.BytesIO()
        try:
            from chainrule.serialization import save
            save(state, buf)
            name, note = "playground.safetensors", "load with model.load_state_dict(cr.load(path))"
        except ImportError:
            np.savez(buf, **{k: v.array for k, v in state.items()})
            name, note = "playground.npz", "cr.save unavailable here: saved as NumPy .npz"
        return {"type": "export", "format": "checkpoint", "filename": name, "note": note,
                "base64": base64.b64encode(buf.getvalue()).decode()}

    def export_script(self) -> dict[str, Any]:
        text = script(self.config, self.net.state_dict(), (self.xtr, self.ytr),
                      (self.xte, self.yte))
        return {"type": "export", "format": "script", "filename": "playground_model.py",
                "text": text}

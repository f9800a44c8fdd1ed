"""Elementwise fusion in ``cr.compile``: a step whose elementwise chains run as generated Numba
kernels gives the eager step's values and gradients (float64, 1e-6), forward and backward."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import kernels, nn
from chainrule.fusion import FUSED

pytest.importorskip("numba")


def _kernels(step: Any) -> list[Any]:
    """The fused kernels of a compiled function's programs."""
    return [ins[1] for sig in step._signatures.values() for p in sig.programs
            for ins in p.code if ins[0] == FUSED]


def _chain(x: cr.Tensor, w: cr.Tensor) -> cr.Tensor:
    h = cr.tanh(x * w + cr.sigmoid(x)) * cr.exp(-cr.relu(w - 0.3))
    h = h / (1.5 + x * x) - cr.log(1.0 + w * w)
    h = cr.where(x > 0, h ** 2, -h) + (x - w) ** 3
    return h


CHAINS: dict[str, Callable[[cr.Tensor, cr.Tensor], cr.Tensor]] = {
    "mixed": _chain,
    "unary": lambda x, w: cr.sigmoid(cr.tanh(cr.exp(-x * x))) * w,
    "where-pow": lambda x, w: cr.where(w > 0.1, x, w) ** 2 - x / (w * w + 1),
    "scalar-operand": lambda x, w: (x * 0.5 + 1.0) * (w - 2.0) / 3.0,
}


@pytest.mark.parametrize("name", list(CHAINS))
@pytest.mark.parametrize("jit", [True, False], ids=["fused", "replayed"])
def test_chain_equals_eager(name: str, jit: bool) -> None:
    fn = CHAINS[name]
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.uniform(0.2, 1.0, (5, 7)), requires_grad=True)
    g = rng.standard_normal((5, 7))

    def step(xt: cr.Tensor) -> cr.Tensor:
        y = fn(xt, w)
        (y * cr.tensor(g)).sum().backward()
        return y

    with kernels.use_jit(jit):
        compiled = cr.compile(step)
        for _ in range(4):
            x = rng.uniform(0.1, 1.5, (5, 7)) * rng.choice([-1.0, 1.0], (5, 7))
            xt = cr.tensor(x, requires_grad=True)
            w.grad = None
            got = compiled(xt).array, xt.grad.array, w.grad.array.copy()
            xt = cr.tensor(x, requires_grad=True)
            w.grad = None
            with kernels.use_jit(False):
                want = step(xt).array, xt.grad.array, w.grad.array.copy()
            for a, b in zip(got, want):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
        fused = _kernels(compiled)
    if not jit:
        assert not fused
        return
    assert fused, "nothing was fused"
    assert any(op.endswith("'") for k in fused for op in k.ops), "no backward was fused"
    assert any(not op.endswith("'") for k in fused for op in k.ops), "no forward was fused"


def test_kernel_outputs_only_what_is_read_later() -> None:
    w = cr.tensor(np.linspace(0.1, 1.0, 12), requires_grad=True)
    with kernels.use_jit(True):
        step = cr.compile(lambda x: cr.exp(cr.tanh(x * 2.0) + 1.0) * 3.0)
        for _ in range(3):
            out = step(w)
    (k,) = _kernels(step)
    assert k.ops == ["mul", "tanh", "add", "exp", "mul"]
    assert len(k.outputs) == 1 and not k.aliases  # the intermediates stay in the kernel
    np.testing.assert_allclose(out.array, np.exp(np.tanh(w.array * 2) + 1) * 3, rtol=1e-12)


def test_refuses_broadcasting_and_mixed_dtypes() -> None:
    a = cr.tensor(np.ones((3, 4)), requires_grad=True)
    b = cr.tensor(np.ones(4), requires_grad=True)
    c = cr.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    with kernels.use_jit(True):
        step = cr.compile(lambda: (cr.tanh(a + b) * b, cr.exp(c.to(cr.float64) * a)))
        for _ in range(3):
            step()
    for k in _kernels(step):  # broadcasting add and the float32 → float64 cast stay unfused
        assert "add" not in k.ops
    out1, out2 = step()
    np.testing.assert_allclose(out1.array, np.tanh(2.0) * np.ones((3, 4)))
    np.testing.assert_allclose(out2.array, np.e * np.ones((3, 4)))


def _new_gelu(x: cr.Tensor) -> cr.Tensor:
    """nanoGPT's GELU, written out in elementwise ops."""
    return 0.5 * x * (1.0 + cr.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3.0)))


class _Block(nn.Module):
    """A gpt-like block: causal self-attention and a GELU MLP, pre-norm residuals."""

    def __init__(self, d: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.head = nn.Linear(d, 5)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        h = self.ln1(x)
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        x = x + self.proj(_new_gelu(self.fc(self.ln2(x))))
        return self.head(x.mean(1))


class _MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(12, 32), nn.Linear(32, 32), nn.Linear(32, 5)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        h = self.fc1(x)
        h = h * cr.sigmoid(h)  # SiLU, written out
        return self.fc3(_new_gelu(self.fc2(h)))


STEPS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "mlp": (_MLP, (8, 12)),
    "gpt-block": (_Block, (4, 6, 16)),
}


def _train(name: str, compiled: bool, steps: int = 5) -> tuple[list[float], list[np.ndarray]]:
    build, shape = STEPS[name]
    with _float64():
        cr.manual_seed(0)
        model = build()
    opt = cr.optim.AdamW(model.parameters(), lr=1e-2)

    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = cr.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = cr.compile(step) if compiled else step
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        x, y = cr.tensor(rng.standard_normal(shape)), cr.tensor(rng.integers(0, 5, shape[0]))
        losses.append(float(run(x, y).item()))
    if compiled:
        assert _kernels(run), "nothing was fused"
    return losses, [p.array.copy() for p in model.parameters()]


class _float64:
    def __enter__(self) -> None:
        self.before = cr.get_default_dtype()
        cr.set_default_dtype(cr.float64)

    def __exit__(self, *exc: object) -> None:
        cr.set_default_dtype(self.before)


@pytest.mark.parametrize("name", list(STEPS))
def test_training_step_equals_eager(name: str) -> None:
    with kernels.use_jit(True):
        losses, params = _train(name, compiled=True)
    with kernels.use_jit(False):
        want_losses, want_params = _train(name, compiled=False)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-6)
    for a, b in zip(params, want_params):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def _fusible_ops() -> list[type]:
    from chainrule.autograd.function import OPS

    return sorted({cls for cls in OPS.values() if getattr(cls, "scalar", None)},
                  key=lambda c: c.name)


@pytest.mark.parametrize("cls", _fusible_ops(), ids=lambda c: c.name)
def test_every_fusible_op_fused_equals_unfused(cls: type) -> None:
    """Each op with scalar formulas, fused forward and backward, against its own forward and
    backward: values and gradients to 1e-6 in float64."""
    n = cls.forward.__code__.co_argcount - 1
    rng = np.random.default_rng(0)
    leaves = [cr.tensor(rng.uniform(0.5, 1.5, (4, 6)), requires_grad=True) for _ in range(2)]
    g = cr.tensor(rng.standard_normal((4, 6)))

    def step() -> cr.Tensor:
        a, b = leaves
        args = {1: (a,), 2: (a, b), 3: (a > 1.0, a, b)}[n]
        y = cls.apply(*args) * 1.5
        (y * g).sum().backward()
        return y

    def run(fn: Callable[[], cr.Tensor]) -> list[np.ndarray]:
        for t in leaves:
            t.grad = None
        out = [fn().array]
        return out + [t.grad.array.copy() for t in leaves if t.grad is not None]

    with kernels.use_jit(False):
        want = run(step)
    with kernels.use_jit(True):
        compiled = cr.compile(step)
        for _ in range(2):
            run(compiled)
        got = run(compiled)
    ops = [op for k in _kernels(compiled) for op in k.ops]
    assert cls.name in ops and f"{cls.name}'" in ops, ops
    assert len(got) == len(want) == 1 + (n > 1) + 1
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)


def test_gradient_stores_wait_for_the_backward_kernel() -> None:
    """A leaf read by several ops gets several gradient stores in the backward; they do not cut
    the backward chain into pieces."""
    x = cr.tensor(np.linspace(-2, 2, 30), requires_grad=True)
    with kernels.use_jit(True):
        step = cr.compile(lambda: _new_gelu(x).sum().backward())
        for _ in range(3):
            x.grad = None
            step()
    backward = [k for k in _kernels(step) if all(op.endswith("'") for op in k.ops)]
    assert len(backward) == 1 and len(backward[0].ops) >= 6
    got = x.grad.array.copy()  # type: ignore[union-attr]
    x.grad = None
    with kernels.use_jit(False):
        _new_gelu(x).sum().backward()
    np.testing.assert_allclose(got, x.grad.array, rtol=1e-12)  # type: ignore[union-attr]


def test_long_chains_split_into_kernels_that_share_their_code() -> None:
    from chainrule.fusion import MAX_NODES

    x = cr.tensor(np.linspace(-1, 1, 8), requires_grad=True)

    def chain() -> cr.Tensor:
        h = x
        for _ in range(3 * MAX_NODES):
            h = cr.tanh(h * 1.5)
        return h

    with kernels.use_jit(True):
        step = cr.compile(chain)
        for _ in range(3):
            got = step()
    found = _kernels(step)
    assert len(found) >= 3 and all(len(k.ops) <= MAX_NODES for k in found)
    assert len({id(k.fn) for k in found}) < len(found)  # the same pattern compiled once
    with kernels.use_jit(False):
        np.testing.assert_allclose(got.array, chain().array, rtol=1e-12)


def test_a_kernel_numba_cannot_compile_replays_op_by_op(monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule import fusion

    compile_ = fusion._compile

    def refuse_tanh(source: str) -> Callable[..., Any]:
        if "tanh" not in source:
            return compile_(source)

        def fail(*args: Any) -> None:
            raise TypeError("cannot type this")
        return fail

    monkeypatch.setattr(fusion, "_compile", refuse_tanh)
    x = cr.tensor(np.linspace(-1, 1, 10), requires_grad=True)
    w = cr.tensor(np.linspace(0.5, 2, 10), requires_grad=True)

    def step() -> cr.Tensor:
        h = cr.exp(x * w + 1.0)  # fusible
        y = cr.tanh(cr.log(h) * 0.5) * w  # its kernel "fails": replayed op by op
        y.sum().backward()
        return y

    with kernels.use_jit(True):
        compiled = cr.compile(step)
        for _ in range(3):
            x.grad = w.grad = None
            got = compiled().array, x.grad.array.copy(), w.grad.array.copy()  # type: ignore
    found = _kernels(compiled)
    assert found and not any("tanh" in k.source for k in found)
    x.grad = w.grad = None
    with kernels.use_jit(False):
        want = step().array, x.grad.array, w.grad.array  # type: ignore[union-attr]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)

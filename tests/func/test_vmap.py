"""``vmap`` batches: every registered op, from the registry (``autograd.OPS``) and the inputs in
``op_specs.py``, gives under ``vmap`` what it gives sample by sample, with every input batched
and with each input batched alone (the others shared). An op with a batching rule must not fall
back to the per-sample loop (which warns); an op without one must fall back, still correctly.
Then the transforms built on ``vmap`` (per-sample gradients, ``jacfwd``/``jacrev``/``hessian``)
against the loop and against ``torch.func``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.func as F
import chainrule.ops
from chainrule.autograd import OPS
from chainrule.tensor import Tensor

from .op_specs import HAND_WRITTEN, SPECS, from_table

for _mod in pkgutil.iter_modules(chainrule.ops.__path__):  # every op family registers its ops
    importlib.import_module(f"chainrule.ops.{_mod.name}")

BATCH = 3


def _ints(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.integers(-4, 4, (3, 4)), rng.choice([-3, -2, -1, 1, 2], 4)]


def _floats(rng: np.random.Generator) -> list[np.ndarray]:
    a, b = _ints(rng)
    return [a.astype(float), b.astype(float)]


def _special(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.choice([0.0, 1.5, np.nan, np.inf], (3, 4))]


def _bools(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.random((3, 4)) < 0.5]


NONDIFFERENTIABLE = {
    **{n: _floats for n in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
                            "logical_xor")},
    **{n: _ints for n in ("bitwise_and", "bitwise_or", "bitwise_xor", "floor_divide")},
    **{n: _special for n in ("isnan", "isfinite", "isinf", "isposinf", "isneginf", "signbit")},
    "logical_not": _bools,
    "argmax": lambda rng: [rng.standard_normal((3, 4))],
    "argmin": lambda rng: [rng.standard_normal((3, 4))],
    "argsort": lambda rng: [rng.choice([0.0, 1.0, 2.0, np.nan], (3, 4))],
    "slogdet_sign": lambda rng: [rng.standard_normal((2, 3, 3))],
}
"""Inputs for the ops without a gradient (so without a forward-mode spec)."""
PARAMS = {"argmax": {"dim": 1, "keepdim": True}, "argmin": {"dim": None, "keepdim": False},
          "argsort": {"dim": 0, "descending": True}}


def _call(name: str, seed: int) -> tuple[list[np.ndarray], Any]:
    rng = np.random.default_rng(seed)
    arrays, call, _ = SPECS[name](rng) if name in SPECS else (
        NONDIFFERENTIABLE[name](rng), PARAMS.get(name, {}), ())
    op = OPS.get(name)

    def f(*xs: Tensor) -> Tensor:
        out = call(*xs) if callable(call) else op.apply(*xs, **call)
        return out[0] if isinstance(out, (tuple, list)) else out

    return arrays, f


KNOWN_BUGS: dict[tuple[str, int | None], str] = {}
"""Cases that fail today, each kept as a strict xfail so that a fix shows."""


def _cases() -> list[Any]:
    cases: list[Any] = []
    for name in sorted(set(OPS) | set(SPECS)):
        arrays, _ = _call(name, 0)
        cases.append((name, None))
        if len(arrays) > 1:
            cases.extend((name, i) for i in range(len(arrays)))
    return [pytest.param(*c, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[c]))
            if c in KNOWN_BUGS else c for c in cases]


def test_every_registered_op_is_batched_here() -> None:
    missing = sorted(set(OPS) - set(SPECS) - set(NONDIFFERENTIABLE))
    assert not missing, f"ops without inputs in op_specs.py (so untested under vmap): {missing}"


def test_table_ops_take_their_inputs_from_the_table() -> None:
    from specs import NOT_FROM_TABLE

    both = sorted(set(HAND_WRITTEN) & set(from_table()))
    assert not both, f"ops with a test domain in the op table and hand-written inputs: {both}"
    unlisted = sorted(n for n in HAND_WRITTEN if n in OPS and n not in NOT_FROM_TABLE)
    assert not unlisted, f"hand-written inputs for ops not in NOT_FROM_TABLE: {unlisted}"


@pytest.mark.parametrize("name,alone", _cases(),
                         ids=lambda v: v if isinstance(v, str) else f"in{v}" if v is not None
                         else "all")
def test_vmap_of_each_op_equals_the_per_sample_loop(name: str, alone: int | None) -> None:
    samples = [_call(name, seed) for seed in range(BATCH)]
    f = samples[0][1]
    first = samples[0][0]
    if any(tuple(a.shape for a in s) != tuple(a.shape for a in first) for s, _ in samples):
        pytest.skip("the spec draws a different shape per seed")
    in_dims = [0 if alone is None or i == alone else None for i in range(len(first))]
    inputs = [Tensor(np.stack([s[i] for s, _ in samples])) if d == 0 else Tensor(first[i])
              for i, d in enumerate(in_dims)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = F.vmap(f, in_dims=tuple(in_dims))(*inputs)
    fallback = [w for w in caught if "runs once per sample" in str(w.message)]
    own = f"vmap: {name} runs once per sample"
    if getattr(OPS.get(name), "batch_rule", None) is not None:
        assert not [w for w in fallback if str(w.message).startswith(own)], fallback[0].message
    want = np.stack([f(*[Tensor(s[i] if d == 0 else first[i]) for i, d in enumerate(in_dims)])
                     .array for s, _ in samples])
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got.array, want, rtol=1e-12, atol=1e-12)


_I3 = np.array([[0, 2, 2], [1, 1, 0], [3, 0, 1]])
GRADIENT_CASES = {
    "sort": lambda x, i: (cr.sort(x, descending=True).values @ cr.arange(4.0).double()).sum(),
    "topk": lambda x, i: cr.topk(x * x, 2, dim=0).values.sum(),
    "kthvalue": lambda x, i: cr.kthvalue(x, 2, dim=-1).values.sin().sum(),
    "roll": lambda x, i: (cr.roll(x, (1, 2), (0, -1)) * cr.arange(4.0).double()).sum(),
    "logdet": lambda x, i: cr.logdet(x[:3, :3] @ x[:3, :3].mT + cr.eye(3).double()),
    "slogdet": lambda x, i: (lambda s: s.sign * s.logabsdet)(cr.linalg.slogdet(x[1:, :3])),
    "index_add": lambda x, i: (cr.zeros(4).double().index_add(0, i, x[0, :3]) ** 2).sum(),
    "index_put": lambda x, i: (x.index_put((i, i), x[1, :3] * 3) ** 2).sum(),
}
"""Functions of a (4, 4) sample ``x`` and an index ``i`` (one sample's row of ``_I3``) that
reach the ops issue #19 found batched wrongly."""


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_per_sample_gradients_through_the_fixed_rules_equal_the_loop(name: str) -> None:
    f = GRADIENT_CASES[name]
    xs = cr.tensor(np.random.default_rng(0).standard_normal((3, 4, 4)))
    idx = cr.tensor(_I3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no per-sample fallback
        got = F.vmap(F.grad(f))(xs, idx)
    want = np.stack([F.grad(f)(x, i).array for x, i in zip(xs, idx)])
    np.testing.assert_allclose(got.array, want, rtol=1e-10, atol=1e-12)
    assert np.abs(want).sum() > 0


def test_an_op_without_a_rule_falls_back_with_a_warning_naming_it() -> None:
    x = cr.randn(4, 3, 3, dtype=cr.float64)
    with pytest.warns(UserWarning, match="vmap: svd runs once per sample"):
        got = F.vmap(lambda a: cr.linalg.svd(a)[1])(x)
    np.testing.assert_allclose(got.array, np.linalg.svd(x.array)[1], rtol=1e-10)


# ---- vmap's arguments ----------------------------------------------------------------------
def test_in_dims_and_out_dims_as_trees_and_none() -> None:
    x, y = cr.randn(2, 5), cr.randn(5, 3)

    def f(d: dict[str, Tensor], s: Tensor) -> tuple[Tensor, Tensor]:
        return d["a"] * s, (d["b"] + 1).sum()

    out = F.vmap(f, in_dims=({"a": 1, "b": 0}, None), out_dims=(1, 0))(
        {"a": x, "b": y}, cr.tensor(2.0))
    np.testing.assert_allclose(out[0].array, x.array * 2)
    np.testing.assert_allclose(out[1].array, (y.array + 1).sum(1), rtol=1e-6)
    shared = F.vmap(lambda a: (a * 2, cr.ones(2)), out_dims=(0, None))(x.T)
    assert shared[1].shape == (2,)


def test_unbatched_outputs_are_expanded_and_sizes_must_agree() -> None:
    out = F.vmap(lambda a: cr.zeros(2))(cr.ones(4, 3))
    assert out.shape == (4, 2)
    with pytest.raises(ValueError, match="different sizes"):
        F.vmap(cr.add)(cr.ones(2, 1), cr.ones(3, 1))
    with pytest.raises(ValueError, match="differs per sample"):
        F.vmap(lambda a: a, out_dims=None)(cr.ones(2))


def test_nested_vmap_is_an_outer_product_of_batches() -> None:
    a, b = cr.randn(3, 4), cr.randn(5, 4)
    got = F.vmap(F.vmap(cr.dot, in_dims=(None, 0)), in_dims=(0, None))(a, b)
    np.testing.assert_allclose(got.array, a.array @ b.array.T, rtol=1e-5)
    inner_first = F.vmap(F.vmap(lambda x, y: x * y), in_dims=1, out_dims=1)(
        cr.randn(2, 3, 4), cr.randn(2, 3, 4))
    assert inner_first.shape == (2, 3, 4)


def test_chunk_size_gives_the_same_result() -> None:
    x = cr.randn(10, 3)
    whole = F.vmap(lambda a: a.softmax(0))(x)
    for chunk in (1, 3, 10, 64):
        np.testing.assert_allclose(F.vmap(lambda a: a.softmax(0), chunk_size=chunk)(x).array,
                                   whole.array, rtol=1e-6)
    with pytest.raises(ValueError, match="chunk_size"):
        F.vmap(cr.sin, chunk_size=0)


def test_a_batched_tensor_shows_one_sample_and_refuses_data_dependent_reads() -> None:
    seen = {}

    def f(a: Tensor) -> Tensor:
        seen["shape"], seen["len"] = tuple(a.shape), len(a)
        with pytest.raises(RuntimeError, match="differs per sample"):
            a.sum().item()
        return a.reshape(-1).flatten()

    F.vmap(f)(cr.ones(7, 2, 3))
    assert seen == {"shape": (2, 3), "len": 2}


@pytest.mark.parametrize("read", [".array", "item()", "tolist()", "numpy()", "bool()", "float()",
                                  "converting to a NumPy array"])
def test_reading_a_batched_tensors_values_in_python_is_refused_naming_the_call(read: str) -> None:
    calls = {".array": lambda a: a.array.sum(), "item()": lambda a: a.sum().item(),
             "tolist()": lambda a: a.tolist(), "numpy()": lambda a: a.numpy(),
             "bool()": lambda a: bool(a.sum() > 0), "float()": lambda a: float(a.sum()),
             "converting to a NumPy array": lambda a: np.asarray(a)}
    with pytest.raises(RuntimeError, match=f"vmap: {re.escape(read)} of a batched tensor"):
        F.vmap(calls[read])(cr.ones(4, 3))


def test_data_and_integer_casts_stay_per_sample() -> None:
    x = cr.randn(4, 3)
    got = F.vmap(lambda a: a.data * 2 + a.long().to(a.dtype) + a.gt(0).int().to(a.dtype))(x)
    want = x.array * 2 + x.array.astype(np.int64) + (x.array > 0)
    np.testing.assert_allclose(got.array, want, rtol=1e-6)


def test_an_integer_sample_times_a_python_float_stays_per_sample() -> None:
    x = cr.tensor(np.arange(6).reshape(3, 2))
    got = F.vmap(lambda a: a * 1.5)(x)  # the cast to float goes through an op, not the array
    assert got.shape == (3, 2) and got.dtype == np.float32
    np.testing.assert_array_equal(got.array, np.arange(6).reshape(3, 2) * 1.5)


def test_the_library_reads_no_batched_array() -> None:
    """``.array`` is refused to chainrule's own code too: the paths that used to read it
    (index checks, views, in-place writes, masked_scatter) read one sample's metadata."""
    def f(x: Tensor, i: Tensor) -> Tensor:
        y = x.view(2, 2).contiguous() * 1.0
        y[0] = y[1] * 2
        z = cr.zeros(4).double().index_add(0, i, y.reshape(-1)[:3])
        return z.masked_scatter(z > 0, cr.arange(4.0).double())

    xs, idx = cr.randn(3, 4, dtype=cr.float64), cr.tensor(np.array([[0, 1, 1], [2, 3, 0],
                                                                      [3, 3, 3]]))
    got = F.vmap(f)(xs, idx)
    want = np.stack([f(x, i).array for x, i in zip(xs, idx)])
    np.testing.assert_allclose(got.array, want, rtol=1e-12)


def test_fused_layer_norm_and_attention_pick_their_kernel_from_one_sample_s_dtype() -> None:
    import chainrule.nn.functional as NF

    x = cr.randn(3, 2, 4, 8)
    for f in (lambda a: NF.layer_norm(a, (8,)),
              lambda a: NF.scaled_dot_product_attention(a, a, a)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no per-sample fallback
            got = F.vmap(f)(x)
        np.testing.assert_allclose(got.array, f(x).array, rtol=1e-5, atol=1e-6)


# ---- transforms through vmap -------------------------------------------------------------
def _mlp() -> tuple[Any, dict[str, Tensor]]:
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(6, 16), cr.nn.ReLU(), cr.nn.Linear(16, 16), cr.nn.Tanh(),
                           cr.nn.Linear(16, 4)).double()
    return net, {k: v.detach() for k, v in net.named_parameters()}


def _loss(net: Any) -> Any:
    def loss(p: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        out = F.functional_call(net, p, (x.unsqueeze(0),))
        return cr.nn.functional.cross_entropy(out, y.unsqueeze(0))

    return loss


def test_per_sample_gradients_of_an_mlp_equal_the_loop_without_fallback() -> None:
    net, params = _mlp()
    loss = _loss(net)
    x, y = cr.randn(32, 6, dtype=cr.float64), cr.randint(0, 4, (32,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per = F.vmap(F.grad(loss), in_dims=(None, 0, 0))(params, x, y)
    for i in range(32):
        ref = F.grad(loss)(params, x[i], y[i])
        for k in params:
            np.testing.assert_allclose(per[k][i].array, ref[k].array, rtol=1e-12, atol=1e-14)


def test_jacobians_and_hessian_equal_their_per_row_definitions() -> None:
    w, b = cr.randn(5, 4, dtype=cr.float64), cr.randn(5, dtype=cr.float64)
    x = cr.randn(4, dtype=cr.float64)

    def f(x: Tensor) -> Tensor:
        return cr.nn.functional.linear(x, w, b).tanh()

    rows = np.stack([F.grad(lambda v, i=i: f(v)[i])(x).array for i in range(5)])
    np.testing.assert_allclose(F.jacrev(f)(x).array, rows, rtol=1e-12)
    np.testing.assert_allclose(F.jacfwd(f)(x).array, rows, rtol=1e-12)
    h = F.hessian(lambda v: f(v).sum())(x)
    hrows = np.stack([F.grad(lambda v, i=i: F.grad(lambda u: f(u).sum())(v)[i])(x).array
                      for i in range(4)])
    np.testing.assert_allclose(h.array, hrows, rtol=1e-10)
    np.testing.assert_allclose(F.jacfwd(F.jacfwd(lambda v: f(v).sum()))(x).array, hrows,
                               rtol=1e-10)
    np.testing.assert_allclose(F.jacrev(F.jacrev(lambda v: f(v).sum()))(x).array, hrows,
                               rtol=1e-10)


def test_jacrev_runs_the_forward_once_and_vmaps_only_the_vjp() -> None:
    seen: list[tuple[str, tuple[int, ...]]] = []
    x = cr.randn(4, dtype=cr.float64)

    def f(v: Tensor) -> tuple[Tensor, Tensor]:
        seen.append((type(v).__name__, tuple(v.shape)))
        return v.sin() * v.sum(), v.sum()

    jac, aux = F.jacrev(f, has_aux=True)(x)
    assert seen == [("Tensor", (4,))]  # once, unbatched (not once per output row)
    np.testing.assert_allclose(jac.array, F.jacfwd(lambda v: f(v)[0])(x).array, rtol=1e-12)
    np.testing.assert_allclose(aux.array, x.array.sum(), rtol=1e-12)
    seen.clear()
    F.jacrev(F.jacrev(lambda v: f(v)[0].sum()))(x)
    assert seen == [("Tensor", (4,))]
    seen.clear()  # under vmap: once on the batch
    xs = cr.randn(5, 4, dtype=cr.float64)
    jacs = F.vmap(F.jacrev(lambda v: f(v)[0]))(xs)
    assert seen == [("BatchedTensor", (4,))]
    for i in range(5):
        np.testing.assert_allclose(jacs[i].array, F.jacfwd(lambda v: f(v)[0])(xs[i]).array,
                                   rtol=1e-12)


def test_batch_jacobians_match_torch_func() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w, b, x = rng.standard_normal((5, 4)), rng.standard_normal(5), rng.standard_normal((8, 4))

    def make(lib: Any, nnf: Any) -> Any:
        tw, tb = lib.tensor(w), lib.tensor(b)
        return lambda v: nnf.linear(v, tw, tb).tanh()

    ours = make(cr, cr.nn.functional)
    theirs = make(torch, torch.nn.functional)
    for t_ours, t_theirs in ((F.jacrev, torch.func.jacrev), (F.jacfwd, torch.func.jacfwd),
                             (F.hessian, torch.func.hessian)):
        got = F.vmap(t_ours(ours))(cr.tensor(x))
        want = torch.func.vmap(t_theirs(theirs))(torch.tensor(x))
        np.testing.assert_allclose(got.array, want.numpy(), rtol=1e-10, atol=1e-12)


def test_transforms_nest_in_every_order_and_agree() -> None:
    w = cr.randn(3, 4, dtype=cr.float64)
    xs = cr.randn(5, 4, dtype=cr.float64)

    def f(x: Tensor) -> Tensor:
        return (w @ x).tanh() * x[:3]

    per = np.stack([F.jacrev(f)(xs[i]).array for i in range(5)])
    np.testing.assert_allclose(F.vmap(F.jacfwd(f))(xs).array, per, rtol=1e-12)
    np.testing.assert_allclose(F.vmap(F.jacrev(f))(xs).array, per, rtol=1e-12)
    nested = F.vmap(F.vmap(F.jacrev(f)))(xs.reshape(1, 5, 4))[0]
    np.testing.assert_allclose(nested.array, per, rtol=1e-12)
    hess = np.stack([F.jacfwd(F.jacfwd(lambda v: f(v).sum()))(xs[i]).array for i in range(5)])
    np.testing.assert_allclose(F.vmap(F.jacrev(F.jacrev(lambda v: f(v).sum())))(xs).array,
                               hess, rtol=1e-10, atol=1e-14)
    # jacfwd of a vmapped function: one Jacobian block per sample, zero across samples
    whole = F.jacfwd(F.vmap(f))(xs).array
    np.testing.assert_allclose(np.stack([whole[i, :, i] for i in range(5)]), per, rtol=1e-12)
    # reverse over forward: the gradient of a Jacobian's sum
    g = F.grad(lambda x: F.jacfwd(f)(x).sum())(xs[0])
    g_ref = F.grad(lambda x: F.jacrev(f)(x).sum())(xs[0])
    np.testing.assert_allclose(g.array, g_ref.array, rtol=1e-10)


_I = np.array([[[0, 3], [2, 2]], [[1, 1], [3, 0]], [[2, 0], [0, 3]]])
"""A batched index: one (2, 2) index per sample, entries in range(4)."""


@pytest.mark.parametrize("index", [
    lambda i: (i,), lambda i: (slice(None), i), lambda i: (i, 1), lambda i: (Ellipsis, i),
    lambda i: (None, i, slice(1, 3)), lambda i: (i, slice(None), i),
    lambda i: (np.array([1, 2]), i), lambda i: (slice(None), np.array([0, 3]), i[0, 0]),
    lambda i: (i[0], None, slice(None), i[1]), lambda i: (np.array([True, False, False, True]), i),
], ids=["alone", "after-slice", "then-int", "ellipsis", "newaxis", "separated", "shared-array",
        "shared-array-then-0d", "separated-newaxis", "shared-mask"])
@pytest.mark.parametrize("x_batched", [True, False])
def test_indexing_with_a_batched_index_tensor_equals_the_loop(index: Any, x_batched: bool) -> None:
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((3, 4, 4, 4))
    x0 = xs[0]

    def f(x: Tensor, i: Tensor) -> Tensor:
        return (x * 1.0)[index(i)]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no per-sample fallback
        got = F.vmap(f, in_dims=(0 if x_batched else None, 0))(
            cr.tensor(xs if x_batched else x0, requires_grad=True), cr.tensor(_I))
    want = np.stack([x[index(i)] for x, i in zip(xs if x_batched else [x0] * 3, _I)])
    np.testing.assert_array_equal(got.array, want)


def test_writing_at_a_batched_index_is_batched_with_the_loop_s_gradients() -> None:
    xs, idx = cr.randn(3, 4, dtype=cr.float64), cr.tensor(_I[:, 0, 0])
    vs = cr.randn(3, dtype=cr.float64)

    def f(x: Tensor, i: Tensor, v: Tensor) -> Tensor:
        y = x * 1
        y[i] = v * 2
        return (y * y).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no per-sample fallback
        got = F.vmap(F.grad(f, argnums=(0, 2)))(xs, idx, vs)
    want = [F.grad(f, argnums=(0, 2))(x, i, v) for x, i, v in zip(xs, idx, vs)]
    for k in range(2):
        np.testing.assert_allclose(got[k].array, np.stack([w[k].array for w in want]),
                                   rtol=1e-12)
    assert not got[0].array[np.arange(3), _I[:, 0, 0]].any()


def test_gradients_through_a_batched_index_and_a_batched_mask_refused() -> None:
    xs = cr.randn(3, 4, dtype=cr.float64)
    idx = cr.tensor(_I[:, 0])
    # duplicate indices accumulate per sample
    got = F.vmap(F.grad(lambda x, i: (x[i] ** 2).sum()))(xs, idx)
    for b in range(3):
        want = F.grad(lambda x, i: (x[i] ** 2).sum())(xs[b], idx[b])
        np.testing.assert_allclose(got[b].array, want.array, rtol=1e-12)
    with pytest.raises(RuntimeError, match="boolean mask that differs per sample"):
        F.vmap(lambda x, m: x[m].sum())(xs, xs > 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, bool])
def test_stacked_outer_products_equal_numpy_matmul(dtype: Any) -> None:
    # the kernel of per-sample weight gradients: (..., m, 1) @ (..., 1, n), batch dims broadcast
    from chainrule.backend import matmul

    rng = np.random.default_rng(0)
    for sa, sb in (((2, 1, 3, 1), (4, 1, 5)), ((5, 3, 1), (1, 4)), ((2, 5, 3, 1), (5, 1, 4))):
        a, b = ((rng.standard_normal(s) * 3).astype(dtype) for s in (sa, sb))
        got, want = matmul(a, b), np.matmul(a, b)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)

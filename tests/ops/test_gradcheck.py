"""The registry-driven matrix: every differentiable op in ``chainrule.autograd.OPS`` has a spec;
each spec's forward matches NumPy, its gradient matches central differences in float64 (and
its second derivative where the spec asks), backward never mutates its inputs or the upstream
gradient, and ``.grad``s never alias.

Specs are collected from every ``specs*.py`` file beside this one (see ``specs.py``)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from specs import NOT_FROM_TABLE, Spec

import chainrule as cr
from chainrule.autograd import OPS, gradcheck, gradgradcheck
from chainrule.ops.table import TABLE


def _load_specs() -> list[Spec]:
    specs: list[Spec] = []
    for path in sorted(Path(__file__).parent.glob("specs*.py")):
        specs.extend(importlib.import_module(path.stem).SPECS)
    counts: dict[str, int] = {}
    for s in specs:
        if not s.id:
            base = s.op_names[0] if s.op_names else "composite"
            counts[base] = counts.get(base, 0) + 1
            s.id = f"{base}-{counts[base]}"
    return specs


def _import_all_ops() -> None:
    """Import every module that may register ops, so the coverage check sees them all."""
    for pkg in (cr.ops, cr.nn):
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            importlib.import_module(mod.name)


_import_all_ops()
SPECS = _load_specs()
GRADGRAD = [s for s in SPECS if s.gradgrad]
seeds = given(seed=st.integers(0, 2**32 - 1))


def test_every_differentiable_op_has_a_spec() -> None:
    """From its op-table entry, or, for the ops listed in ``NOT_FROM_TABLE``, by hand."""
    from_table = {e.op.name for e in TABLE if e.op and e.domain}
    missing = sorted(n for n, op in OPS.items()
                     if op.differentiable and n not in from_table and n not in NOT_FROM_TABLE)
    assert not missing, (
        f"registered differentiable ops that are the primitive of no op-table entry with a "
        f"test domain: {missing}. Give the entry in chainrule/ops/table.py its domain and "
        f"sample generator (tests/ops/samples.py), or, for an op no entry reaches by design, "
        f"list it with the reason in NOT_FROM_TABLE (tests/ops/specs.py) and write its Spec.")
    stale = sorted(set(NOT_FROM_TABLE) & from_table)
    assert not stale, f"ops in NOT_FROM_TABLE that an op-table entry now tests: {stale}"
    hand = {n for s in SPECS if not s.id.startswith("table-") for n in s.op_names}
    unwritten = sorted(set(NOT_FROM_TABLE) - hand)
    assert not unwritten, f"ops in NOT_FROM_TABLE without a hand-written spec: {unwritten}"


def test_every_table_entry_with_a_domain_has_a_reference_and_its_samples() -> None:
    from samples import SAMPLES
    from specs_table import REFERENCES, WITH_DOMAIN

    missing = sorted(e.name for e in WITH_DOMAIN if e.name not in REFERENCES)
    assert not missing, (
        f"ops in chainrule.ops.table with a domain but no NumPy reference: {missing}. Add "
        f"each to REFERENCES in tests/ops/specs_table.py."
    )
    unknown = sorted(f"{e.name}: {k!r}" for e in WITH_DOMAIN for k in e.samples
                     if k not in SAMPLES)
    assert not unknown, f"op table entries naming no generator in tests/ops/samples.py: {unknown}"


def test_specs_name_registered_ops() -> None:
    unknown = sorted({n for s in SPECS for n in s.op_names} - set(OPS))
    assert not unknown, f"specs name ops that are not registered: {unknown}"


def _build(spec: Spec, seed: int) -> tuple[list[Any], list[Any]]:
    """(chainrule arguments, NumPy arguments) for one random draw."""
    raw = [np.asarray(a) if isinstance(a, np.generic) else a  # 0-d maths gives scalars
           for a in spec.make(np.random.default_rng(seed))]
    args: list[Any] = []
    for i, a in enumerate(raw):
        if isinstance(a, np.ndarray):
            grad = a.dtype == np.float64 and i not in spec.nograd
            args.append(cr.tensor(a, dtype=a.dtype, requires_grad=grad))
        else:
            args.append(a)
    return args, raw


def _outputs(out: Any) -> list[cr.Tensor]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize("spec", [s for s in SPECS if s.ref is not None], ids=lambda s: s.id)
@seeds
def test_forward_matches_numpy(spec: Spec, seed: int) -> None:
    args, raw = _build(spec, seed)
    got = _outputs(spec.fn(*args))
    want = _outputs(spec.ref(*[a.copy() if isinstance(a, np.ndarray) else a for a in raw]))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape, f"{spec.id}: shape {g.shape}, NumPy gives {w.shape}"
        assert g.dtype == w.dtype or w.dtype == np.float64 and g.dtype == np.float64, (
            f"{spec.id}: dtype {g.dtype}, NumPy gives {w.dtype}")
        np.testing.assert_allclose(g.array, w, rtol=1e-7, atol=spec.fwd_atol)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
@seeds
def test_gradcheck(spec: Spec, seed: int) -> None:
    args, _ = _build(spec, seed)
    if not any(isinstance(a, cr.Tensor) and a.requires_grad for a in args):
        pytest.fail(f"{spec.id}: the spec makes no input that requires grad")
    assert gradcheck(spec.fn, args, **spec.check)


def _with_grad(fn: Any) -> Any:
    """``fn`` keeping, of several outputs, those that carry a gradient (slogdet's sign has
    none)."""
    def kept(*args: Any) -> Any:
        out = fn(*args)
        if not isinstance(out, (tuple, list)):
            return out
        return tuple(o for o in out if isinstance(o, cr.Tensor) and o.requires_grad)

    return kept


@pytest.mark.parametrize("spec", GRADGRAD, ids=lambda s: s.id)
@seeds
def test_gradgradcheck(spec: Spec, seed: int) -> None:
    args, _ = _build(spec, seed)
    assert gradgradcheck(_with_grad(spec.fn), args, **spec.check)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
@seeds
def test_backward_leaves_inputs_alone(spec: Spec, seed: int) -> None:
    """MyGrad's invariants: backward with a random upstream gradient mutates neither the inputs
    nor the upstream gradient, and no two ``.grad``s share memory."""
    args, _ = _build(spec, seed)
    before = [a.array.copy() for a in args if isinstance(a, cr.Tensor)]
    outs = [o for o in _outputs(spec.fn(*args)) if o.requires_grad]
    if not outs:
        return
    r = np.random.default_rng(seed)
    ups = [cr.tensor(r.standard_normal(o.shape), dtype=o.dtype) for o in outs]
    kept = [u.array.copy() for u in ups]
    cr.autograd.backward(outs, ups)
    after = [a.array for a in args if isinstance(a, cr.Tensor)]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    for u, k in zip(ups, kept):
        np.testing.assert_array_equal(u.array, k)
    leaves = [a for a in args if isinstance(a, cr.Tensor) and a.requires_grad]
    for i, x in enumerate(leaves):
        assert x.grad is not None and x.grad.shape == x.shape and x.grad.dtype == x.dtype
        for y in leaves[i + 1:]:
            assert not np.shares_memory(x.grad.array, y.grad.array), f"{spec.id}: grads alias"
        for o in [*args, *ups]:
            if isinstance(o, cr.Tensor):
                assert not np.shares_memory(x.grad.array, o.array), f"{spec.id}: grad aliases data"

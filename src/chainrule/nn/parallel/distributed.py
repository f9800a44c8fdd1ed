"""``DistributedDataParallel``: one model replica per process, gradients averaged in backward."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule.autograd.grad_mode import is_grad_enabled
from chainrule.distributed.process_group import group_or_world
from chainrule.distributed.reducer import Reducer
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor


class DistributedDataParallel(Module):
    """Data-parallel training: each rank runs ``module`` on its own batch and, during
    ``backward``, the ranks average their gradients, so every rank's optimizer takes the same
    step, the step one process would take on the union of the batches (for a loss that is a
    mean over the batch).

    At construction the ranks check that their parameters agree in shape, and rank 0's
    parameters and buffers are copied to the others. Gradients are averaged in buckets of about
    ``bucket_cap_mb`` megabytes with non-blocking all-reduces that start as soon as a bucket's
    gradients are complete, overlapping the rest of the backward pass.

    Buffers (BatchNorm's running statistics) are rank 0's: with ``broadcast_buffers=True``
    (the default, as in PyTorch) they are copied from rank 0 at the start of every forward in
    training, so all ranks evaluate with the same statistics. Batch statistics in training
    stay per-rank (use a per-rank batch large enough for them).

    Args:
        module: the model; also reachable as ``.module``.
        device_ids: only ``None`` (CPU tensors; the GPU backend does not exist yet).
        output_device: only ``None``.
        broadcast_buffers: copy rank 0's buffers to all ranks at every training forward.
        process_group: only ``None`` (the default group).
        bucket_cap_mb: bucket size cap in megabytes (default 25, as in PyTorch).
        find_unused_parameters: walk the autograd graph from the forward's outputs to find
            parameters that will get no gradient, so the reduction does not wait for them.
        gradient_as_bucket_view: after averaging, each ``.grad`` is a view of its bucket
            (saves the copy out, and, where ``.grad`` is still that view when backward
            reaches it — ``zero_grad(set_to_none=False)`` — the copy in); the next
            synchronised backward overwrites it in place.

    Example::

        dist.init_process_group("mpi")
        model = DistributedDataParallel(Net())
        loss_fn(model(x_local), y_local).backward()   # .grad now holds the global average
        optimizer.step()
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False) -> None:
        super().__init__()
        if device_ids is not None or output_device is not None:
            raise ValueError("DistributedDataParallel: device_ids and output_device must be None "
                             f"(CPU tensors only), got {device_ids!r} and {output_device!r}")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: only dim=0 is supported, got {dim}")
        self.module = module
        self._world = group_or_world(process_group, "DistributedDataParallel")
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.bucket_cap_mb = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self._reducer = Reducer(self._world, [p for _, p in named], [n for n, _ in named],
                                self.bucket_cap_mb, gradient_as_bucket_view)
        self._reducer.check_same_parameters()
        self._param_index = {id(p): i for i, (_, p) in enumerate(named)}
        sync_from_rank0(self._world, [p for _, p in module.named_parameters()]
                        + list(module.buffers()))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if self.training and self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers:
                sync_from_rank0(self._world, buffers)
        out = self.module(*args, **kwargs)
        if sync:
            self._reducer.prepare(self._unused(out) if self.find_unused_parameters else None)
        return out

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within this context, backward accumulates local gradients without averaging; the
        first forward-backward after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def _unused(self, out: Any) -> list[int]:
        """Indices of the parameters the autograd graph of ``out`` does not reach."""
        reached: set[int] = set()
        seen: set[int] = set()
        stack = [t.grad_fn for t in _tensors(out) if t.grad_fn is not None]
        for t in _tensors(out):
            if t.grad_fn is None and t.requires_grad:
                reached.add(id(t))
        while stack:
            op = stack.pop()
            if id(op) in seen or op.inputs is None:
                continue
            seen.add(id(op))
            for t, f, need in zip(op.inputs, op.fns, op.needs_input_grad):
                if not need:
                    continue
                if f is None:
                    reached.add(id(t))
                else:
                    stack.append(f)
        return [i for pid, i in self._param_index.items() if pid not in reached]


def sync_from_rank0(world: Any, tensors: list[Tensor]) -> None:
    """Copy rank 0's values of ``tensors`` into them on every rank (one broadcast per dtype)."""
    if world.size == 1:
        return
    by_dtype: dict[Any, list[Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.array.dtype, []).append(t)
    for dtype, group in by_dtype.items():
        flat = np.concatenate([t.array.reshape(-1) for t in group]).astype(dtype, copy=False)
        world.run(lambda comm, flat=flat: comm.Bcast(flat, root=0),
                  "DistributedDataParallel broadcast")
        if world.rank != 0:
            offset = 0
            for t in group:
                n = t.array.size
                t.array[...] = flat[offset:offset + n].reshape(t.array.shape)
                offset += n


def _tensors(out: Any) -> Iterator[Tensor]:
    """The tensors inside a forward's output (nested tuples, lists and dicts)."""
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            yield from _tensors(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _tensors(o)

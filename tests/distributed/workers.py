"""Checks run on every rank under ``mpirun`` by ``test_mpi.py``: ``python workers.py CHECK…``.

Each check prints ``OK <name>`` on rank 0 when it passes; a failing assertion raises, which
aborts the job (the process group's exception hook), so the test sees a non-zero exit.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule.nn.parallel import DistributedDataParallel as DDP

STEPS = 20


# ---- models (float64) ------------------------------------------------------------------------
def mlp() -> cr.nn.Module:
    return cr.nn.Sequential(cr.nn.Linear(8, 16), cr.nn.Tanh(), cr.nn.Linear(16, 4))


def convnet() -> cr.nn.Module:
    """The worksheet's CNN, dropout off."""
    nn = cr.nn
    return nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4608, 128), nn.ReLU(),
                         nn.Linear(128, 10))


class LSTMNet(cr.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = cr.nn.LSTM(4, 8, batch_first=True)
        self.head = cr.nn.Linear(8, 3)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        _, (h, _) = self.rnn(x)
        return self.head(h[-1])


def batchnorm_net() -> cr.nn.Module:
    nn = cr.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 3))


MODELS: dict[str, tuple[Callable[[], cr.nn.Module], tuple[int, ...], int]] = {
    "mlp": (mlp, (8,), 4), "convnet": (convnet, (1, 28, 28), 10), "lstm": (LSTMNet, (5, 4), 3),
    "syncbn": (lambda: cr.nn.SyncBatchNorm.convert_sync_batchnorm(batchnorm_net()), (1, 8, 8),
               3)}
OPTIMIZERS = {"sgd": lambda ps: cr.optim.SGD(ps, lr=0.05, momentum=0.9),
              "adam": lambda ps: cr.optim.Adam(ps, lr=1e-3)}


def data(n: int, shape: tuple[int, ...], classes: int, seed: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    return (cr.from_numpy(rng.standard_normal((n, *shape))),
            cr.from_numpy(rng.integers(0, classes, n)))


def train(model: Any, opt: Any, batches: list[list[tuple[Any, Any]]],
          no_sync: Callable[[], Any] | None = None) -> None:
    """Per step: zero, one backward per micro-batch (all but the last under ``no_sync``), step."""
    for micro in batches:
        opt.zero_grad()
        for j, (x, y) in enumerate(micro):
            ctx = no_sync() if no_sync is not None and j < len(micro) - 1 else nullcontext()
            with ctx:
                (cr.nn.functional.cross_entropy(model(x), y) / len(micro)).backward()
        opt.step()


def equivalence(model_name: str, opt_name: str, accumulate: int, b: int = 2) -> float:
    """Max |N ranks × batch b − 1 process × batch N·b| over the parameters after 20 steps."""
    rank, n = dist.get_rank(), dist.get_world_size()
    build, shape, classes = MODELS[model_name]
    steps = []
    for s in range(STEPS):
        x, y = data(n * b * accumulate, shape, classes, seed=1000 + s)
        steps.append((x, y))
    cr.manual_seed(rank)  # different initial weights per rank: DDP must broadcast rank 0's
    model = DDP(build().double())
    local = []
    for x, y in steps:  # micro-batch j of rank r: samples [(j·n + r)·b, (j·n + r + 1)·b)
        local.append([(x[(j * n + rank) * b:(j * n + rank + 1) * b],
                       y[(j * n + rank) * b:(j * n + rank + 1) * b]) for j in range(accumulate)])
    train(model, OPTIMIZERS[opt_name](model.parameters()), local,
          model.no_sync if accumulate > 1 else None)
    mine = state(model.module)
    everyone: list[Any] = [None] * n
    dist.all_gather_object(everyone, mine)
    assert all(np.array_equal(everyone[0], e) for e in everyone), "ranks' parameters differ"
    if rank != 0:
        return 0.0
    with dist_off():
        cr.manual_seed(0)
        ref = build().double()
        train(ref, OPTIMIZERS[opt_name](ref.parameters()), [[s] for s in steps])
    return float(np.abs(mine - state(ref)).max())


def state(model: cr.nn.Module) -> np.ndarray:
    """Parameters and buffers (BatchNorm's running statistics) as one vector."""
    return np.concatenate([np.asarray(t.array, dtype=np.float64).ravel()
                           for t in [*model.parameters(), *model.buffers()]])


# ---- checks ----------------------------------------------------------------------------------
def check_equivalence(models: str = "mlp,convnet,lstm,syncbn") -> None:
    for model_name in models.split(","):
        for opt_name in OPTIMIZERS:
            # Batch statistics of micro-batches differ from the whole batch's, even in one
            # process: accumulation is not equivalent for BatchNorm.
            for accumulate in (1,) if model_name == "syncbn" else (1, 2):
                err = equivalence(model_name, opt_name, accumulate)
                assert err <= 1e-6, f"{model_name}/{opt_name}/accumulate={accumulate}: {err}"
                report(f"equivalence {model_name} {opt_name} accumulate={accumulate} "
                       f"max_abs_diff={err:.2e}")


def check_collectives() -> None:
    rank, n = dist.get_rank(), dist.get_world_size()
    t = cr.tensor([float(rank), 1.0], dtype=cr.float64)
    dist.all_reduce(t)
    assert t.tolist() == [n * (n - 1) / 2, n]
    for op, want in ((dist.ReduceOp.MAX, n - 1), (dist.ReduceOp.MIN, 0),
                     (dist.ReduceOp.AVG, (n - 1) / 2), (dist.ReduceOp.PRODUCT, 0)):
        t = cr.tensor([float(rank)])
        dist.all_reduce(t, op=op)
        assert t.item() == want, (op, t.item())
    t = cr.arange(6).reshape(2, 3).t()  # not contiguous: written back in place
    work = dist.all_reduce(t, async_op=True)
    assert work is not None and work.wait()
    assert t.tolist() == (cr.arange(6).reshape(2, 3).t() * n).tolist()
    t = cr.full((3,), float(rank))
    dist.broadcast(t, src=n - 1)
    assert t.tolist() == [n - 1.0] * 3
    out = [cr.zeros(2) for _ in range(n)]
    dist.all_gather(out, cr.tensor([rank, -rank], dtype=cr.float32))
    assert [o.tolist() for o in out] == [[r, -r] for r in range(n)]
    out1 = cr.zeros(2)
    dist.reduce_scatter(out1, [cr.full((2,), float(10 * i + rank)) for i in range(n)])
    assert out1.tolist() == [10.0 * rank * n + n * (n - 1) / 2] * 2
    got = [cr.zeros(1) for _ in range(n)] if rank == 0 else None
    dist.gather(cr.tensor([rank * 2.0]), got, dst=0)
    if rank == 0:
        assert [g.item() for g in got] == [2.0 * r for r in range(n)]
    recv = cr.zeros(2)
    dist.scatter(recv, [cr.full((2,), float(r)) for r in range(n)] if rank == 1 else None, src=1)
    assert recv.tolist() == [float(rank)] * 2
    dist.barrier()
    try:
        dist.all_reduce(cr.zeros(3 + rank))
        raise AssertionError("mismatched shapes were not reported")
    except dist.DistributedError as e:
        assert f"rank {n - 1} in all_reduce with shape ({3 + n - 1},)" in str(e), str(e)
    try:
        dist.broadcast(cr.zeros(2), src=0) if rank == 0 else dist.barrier()
        raise AssertionError("mismatched collectives were not reported")
    except dist.DistributedError as e:
        assert "rank 1 in barrier" in str(e), str(e)
    report("collectives")


def check_ddp_features() -> None:
    rank, n = dist.get_rank(), dist.get_world_size()

    class Branchy(cr.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b, self.c = cr.nn.Linear(3, 2), cr.nn.Linear(3, 2), cr.nn.Linear(3, 2)

        def forward(self, x: cr.Tensor, use_b: bool, use_c: bool = False) -> cr.Tensor:
            return self.a(x) + (self.b(x) if use_b else 0.0) + (self.c(x) if use_c else 0.0)

    cr.manual_seed(0)
    model = DDP(Branchy(), find_unused_parameters=True, bucket_cap_mb=1e-5)
    assert len(model._reducer.buckets) > 1
    x = cr.full((4, 3), float(rank + 1))
    model(x, use_b=(rank == 0)).sum().backward()
    # a: used everywhere, averaged; b: used on rank 0 only, averaged with zeros; c: used nowhere.
    assert np.allclose(model.module.a.weight.grad.array, 4 * (n + 1) / 2)
    assert np.allclose(model.module.b.weight.grad.array, 4 / n)
    assert model.module.c.weight.grad is None
    # Without find_unused_parameters an unused parameter is reported at the next forward.
    plain = DDP(Branchy())
    plain(x, use_b=True, use_c=True).sum().backward()
    plain(x, use_b=False, use_c=True).sum().backward()
    try:
        plain(x, use_b=True, use_c=True)
        raise AssertionError("unfinished reduction was not reported")
    except RuntimeError as e:
        assert "Expected to have finished reduction" in str(e) and "b.weight" in str(e), str(e)
    # Tied weights: the gradient is complete (both uses) before it is averaged.
    lin = cr.nn.Linear(2, 2, bias=False)
    tied = DDP(cr.nn.Sequential(lin, cr.nn.Tanh(), lin))
    xs = cr.full((1, 2), float(rank))
    tied(xs).sum().backward()
    want = np.zeros((2, 2))
    for r in range(n):
        w = cr.tensor(lin.weight.array.copy(), requires_grad=True)
        (cr.tanh(cr.full((1, 2), float(r)) @ w.t()) @ w.t()).sum().backward()
        want += w.grad.array / n
    assert np.allclose(lin.weight.grad.array, want)
    # gradient_as_bucket_view: the same steps, with each .grad left as a view of its bucket
    # (zeroed in place, so backward accumulates straight into the bucket).
    trained = []
    for as_view in (False, True):
        cr.manual_seed(0)
        net = DDP(mlp().double(), bucket_cap_mb=1e-4, gradient_as_bucket_view=as_view)
        opt = cr.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for s in range(3):
            opt.zero_grad(set_to_none=False)
            xb, yb = data(4, (8,), 4, seed=10 * s + rank)
            cr.nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
        flats = [b.flat for b in net._reducer.buckets]
        assert all(any(np.shares_memory(p.grad.array, f) for f in flats)
                   for p in net.parameters()) == as_view
        trained.append(state(net.module))
    assert np.array_equal(trained[0], trained[1])
    # Buffers: rank 0's running statistics reach every rank.
    bn = DDP(cr.nn.Sequential(cr.nn.Linear(3, 3), cr.nn.BatchNorm1d(3)))
    bn(cr.randn(5, 3) + rank).sum().backward()
    bn(cr.randn(5, 3)).sum().backward()
    stats: list[Any] = [None] * n
    dist.all_gather_object(stats, bn.module[1].running_mean.array)
    assert all(np.array_equal(stats[0], s) for s in stats[1:])
    # Parameters that differ in shape across ranks are refused at wrap time.
    try:
        DDP(cr.nn.Linear(3, 2 + rank))
        raise AssertionError("mismatched parameters were not reported")
    except dist.DistributedError as e:
        assert "'weight' has shape" in str(e) and "on rank" in str(e), str(e)
    report("ddp-features")


def check_buckets() -> None:
    """Buckets all-reduced on the training thread (small, or the last, while the communication
    thread is idle) and on the communication thread give the same averages, in float64 to
    1e-12 of all-gathered local gradients, however each rank's timing splits them between the
    two threads: every rank still issues the buckets' collectives in the same order."""
    from chainrule.distributed import process_group
    from chainrule.distributed import reducer as reducer_module

    rank, n = dist.get_rank(), dist.get_world_size()
    world = process_group._world
    nn = cr.nn

    def build() -> Any:
        # One bucket per parameter: biases and the first and last weights are small; the
        # 200×200 weight (320 KB) is over HERE_MAX_BYTES, so it goes to the communication thread.
        cr.manual_seed(0)
        return DDP(nn.Sequential(nn.Linear(8, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh(),
                                 nn.Linear(200, 4)).double(), bucket_cap_mb=1e-9)

    default = reducer_module.HERE_MAX_BYTES
    models: dict[int, Any] = {}
    try:
        for here_max in (default, 0, 2**40):  # 0: only the last bucket may run here
            reducer_module.HERE_MAX_BYTES = here_max
            models[here_max] = build()
    finally:
        reducer_module.HERE_MAX_BYTES = default
    sizes = [b.flat.nbytes for b in models[default]._reducer.buckets]
    assert len(sizes) == 6 and max(sizes) > default >= sorted(sizes)[-2]
    for step, here_max in enumerate((default, 0, 2**40, default, default)):
        model = models[here_max]
        xb, yb = data(4, (8,), 4, seed=100 * step + rank)
        model.zero_grad()
        here, submitted = world.thread.here_calls, world.thread.last
        time.sleep(0.002 * ((step + rank) % 3))  # ranks reach the buckets at other times
        cr.nn.functional.cross_entropy(model(xb), yb).backward()
        if here_max == default:
            assert world.thread.here_calls > here and world.thread.last is not submitted
        if here_max == 0:
            assert world.thread.here_calls <= here + 1
        if here_max == 2**40:  # every bucket here: the thread was idle throughout
            assert world.thread.here_calls == here + 6
            assert world.thread.last is submitted
        got = np.concatenate([p.grad.array.ravel() for p in model.parameters()])
        model.zero_grad()  # this rank's own gradients: the module alone (hooks unarmed)
        cr.nn.functional.cross_entropy(model.module(xb), yb).backward()
        mine = np.concatenate([p.grad.array.ravel() for p in model.parameters()])
        everyone: list[Any] = [None] * n
        dist.all_gather_object(everyone, mine)
        err = float(np.abs(got - np.mean(everyone, axis=0)).max())
        assert err <= 1e-12, f"step {step}, HERE_MAX_BYTES={here_max}: {err}"
    report("buckets")


def check_one_rank() -> None:
    """At one rank the average is each gradient itself: DDP leaves the gradients as backward
    made them (equal to the plain model's, bit for bit) and never copies them into its
    buckets; unused parameters keep no gradient; bucket views still work."""
    assert dist.get_world_size() == 1
    x, y = data(8, (8,), 4, seed=0)
    grads = []
    for wrap in (False, True):
        cr.manual_seed(0)
        net = mlp().double()
        model = DDP(net, bucket_cap_mb=1e-4) if wrap else net
        cr.nn.functional.cross_entropy(model(x), y).backward()
        grads.append([p.grad.array for p in net.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*grads))
    assert all(not b.flat.any() for b in model._reducer.buckets)  # never written

    class OneOfTwo(cr.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.spare = cr.nn.Linear(3, 2), cr.nn.Linear(3, 2)

        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return self.used(x)

    pair = DDP(OneOfTwo(), find_unused_parameters=True)
    pair(cr.ones(2, 3)).sum().backward()
    assert pair.module.spare.weight.grad is None
    assert np.array_equal(pair.module.used.weight.grad.array, np.full((2, 3), 2.0))
    view = DDP(mlp().double(), gradient_as_bucket_view=True)
    cr.nn.functional.cross_entropy(view(x), y).backward()
    flats = [b.flat for b in view._reducer.buckets]
    assert all(any(np.shares_memory(p.grad.array, f) for f in flats) for p in view.parameters())
    report("one-rank")


def check_sampler_loader() -> None:
    """DataLoader(DistributedSampler) on every rank covers the dataset (padded) once."""
    n = dist.get_world_size()
    ds = cr.data.TensorDataset(cr.arange(11))
    sampler = cr.utils.data.DistributedSampler(ds, shuffle=True, seed=3)
    sampler.set_epoch(2)
    mine = [int(v) for (b,) in cr.data.DataLoader(ds, batch_size=2, sampler=sampler) for v in b]
    everyone: list[Any] = [None] * n
    dist.all_gather_object(everyone, mine)
    flat = sorted(v for e in everyone for v in e)
    assert len(flat) == n * -(-11 // n) and set(flat) == set(range(11)), everyone
    report("sampler-loader")


def check_fit() -> None:
    """Keras fit on N ranks (batch b each) == fit in one process (batch N·b); rank 0 alone
    prints and writes the checkpoint; every rank resumes from it to the same state."""
    from chainrule.keras.layers import Dense
    from chainrule.keras.models import Sequential
    from chainrule.keras.optimizers import SGD
    from chainrule.train import ModelCheckpoint

    rank, n = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8 * n * 4, 5)).astype(np.float32)  # 3/4 train: 6 steps of 4n
    y = (x @ rng.standard_normal((5, 1))).astype(np.float32)
    folder = os.environ["CHECKS_DIR"]

    def run(batch: int, ckpt: str | None) -> Any:
        cr.manual_seed(rank)  # differing seeds: fit must start every rank from rank 0's weights
        m = Sequential([Dense(7, activation="tanh", input_shape=(5,)), Dense(1)])
        m.compile(optimizer=SGD(learning_rate=0.05, momentum=0.9), loss="mse")
        cbs = [ModelCheckpoint(ckpt, save_weights_only=True, monitor="loss")] if ckpt else []
        hist = m.fit(x, y, batch_size=batch, epochs=3, shuffle=False, verbose=2, callbacks=cbs,
                     validation_split=0.25)
        return m, hist

    model, hist = run(4, os.path.join(folder, "ckpt.safetensors"))
    mine = np.concatenate([p.array.ravel() for p in model.parameters()])
    everyone: list[Any] = [None] * n
    dist.all_gather_object(everyone, (mine, hist.history))
    assert all(np.array_equal(everyone[0][0], e[0]) for e in everyone), "weights differ"
    assert all(everyone[0][1] == e[1] for e in everyone), "logged losses differ"
    # Resume: once rank 0 has written, every rank loads its checkpoint, to the same state.
    dist.barrier()
    model.load_weights(os.path.join(folder, "ckpt.safetensors"))
    resumed = np.concatenate([p.array.ravel() for p in model.parameters()])
    assert np.array_equal(resumed, mine)
    if rank == 0:
        with dist_off():
            single, single_hist = run(4 * n, None)
        ref = np.concatenate([p.array.ravel() for p in single.parameters()])
        err = float(np.abs(ref - mine).max())
        assert err < 1e-5, err
        for key in ("loss", "val_loss"):  # averaged over all ranks' samples
            a, b = hist.history[key], single_hist.history[key]
            assert len(a) == 3 and max(abs(u - v) for u, v in zip(a, b)) < 1e-5, (key, a, b)
        assert sorted(os.listdir(folder)) == ["ckpt.safetensors"], os.listdir(folder)
    report("fit")


def check_trainer_fit() -> None:
    """``chainrule.train.fit`` over a DataLoader with a DistributedSampler (already sharded)
    on N ranks == one process over the whole data with N times the batch."""
    from chainrule.data import DataLoader, DistributedSampler, TensorDataset
    from chainrule.train import fit

    rank, n = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(1)
    x = cr.from_numpy(rng.standard_normal((6 * n * 3, 4)))
    y = cr.from_numpy(rng.standard_normal((6 * n * 3, 1)))
    ds = TensorDataset(x, y)

    def run(loader: Any) -> np.ndarray:
        cr.manual_seed(rank)
        net = cr.nn.Sequential(cr.nn.Linear(4, 5), cr.nn.Tanh(), cr.nn.Linear(5, 1)).double()
        opt = cr.optim.Adam(net.parameters(), lr=0.01)
        fit(net, cr.nn.functional.mse_loss, opt, loader, epochs=2, verbose=0)
        return state(net)

    mine = run(DataLoader(ds, batch_size=3, sampler=DistributedSampler(ds, shuffle=False)))
    everyone: list[Any] = [None] * n
    dist.all_gather_object(everyone, mine)
    assert all(np.array_equal(everyone[0], e) for e in everyone), "ranks' weights differ"
    if rank == 0:
        with dist_off():
            ref = run(DataLoader(ds, batch_size=3 * n))
        assert np.abs(ref - mine).max() < 1e-12, np.abs(ref - mine).max()
    report("trainer-fit")


def check_resume() -> None:
    """DDP + SGD-momentum: rank 0 saves model and optimizer mid-run (cr.save: atomic); every
    rank resumes from the file, on fresh objects, to exactly the uninterrupted run's state."""
    rank = dist.get_rank()
    path = os.path.join(os.environ["CHECKS_DIR"], "resume.safetensors")
    batches = [data(4, (8,), 4, seed=rank * 100 + s) for s in range(20)]

    def steps(model: Any, opt: Any, part: list[Any]) -> None:
        for x, y in part:
            opt.zero_grad()
            cr.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

    cr.manual_seed(0)
    model = DDP(mlp().double())
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    steps(model, opt, batches[:10])
    if rank == 0:
        cr.save({"model": model.module.state_dict(), "optimizer": opt.state_dict()}, path)
    dist.barrier()
    steps(model, opt, batches[10:])
    cr.manual_seed(100 + rank)
    fresh = mlp().double()
    state = cr.load(path)
    fresh.load_state_dict(state["model"])
    fresh = DDP(fresh)
    fresh_opt = cr.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    fresh_opt.load_state_dict(state["optimizer"])
    steps(fresh, fresh_opt, batches[10:])
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert np.array_equal(a.array, b.array)
    report("resume")


def dist_off() -> Any:
    """Run as if not distributed (the single-process reference on rank 0)."""
    from contextlib import contextmanager

    from chainrule.distributed import process_group

    @contextmanager
    def off() -> Any:
        world, process_group._world = process_group._world, None
        try:
            yield
        finally:
            process_group._world = world
    return off()


def check_raise() -> None:
    """Rank 1 raises mid-training; the job must end (all ranks) quickly."""
    model = DDP(mlp())
    for step in range(1000):
        if dist.get_rank() == 1 and step == 3:
            raise ValueError("rank 1 fails on purpose")
        model(cr.randn(2, 8)).sum().backward()


def check_die() -> None:
    """Rank 1 is killed (SIGKILL) mid-training; the others must not hang."""
    model = DDP(mlp())
    for step in range(1000):
        if dist.get_rank() == 1 and step == 3:
            os.kill(os.getpid(), 9)
        model(cr.randn(2, 8)).sum().backward()


def check_missing() -> None:
    """Rank 1 never calls the collective; rank 0 must report it after the timeout."""
    if dist.get_rank() == 1:
        time.sleep(60)
        return
    dist.all_reduce(cr.zeros(2, 3))


def check_missing_bucket() -> None:
    """Rank 1 never runs backward; rank 0's gradient all-reduce, which it runs on its own
    thread, must be reported after the timeout."""
    model = DDP(mlp())
    if dist.get_rank() == 1:
        time.sleep(60)
        return
    model(cr.randn(2, 8)).sum().backward()


def report(what: str) -> None:
    if dist.get_rank() == 0:
        print(f"OK {what}", flush=True)


if __name__ == "__main__":
    from datetime import timedelta

    dist.init_process_group("mpi", timeout=timedelta(seconds=float(
        os.environ.get("CHECKS_TIMEOUT", "120"))))
    with tempfile.TemporaryDirectory() as scratch:
        shared: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(shared, scratch)
        os.environ.setdefault("CHECKS_DIR", shared[0])  # rank 0's: one folder on one machine
        for arg in sys.argv[1:]:
            name, _, value = arg.partition("=")
            globals()[f"check_{name}"](*([value] if value else []))
    dist.destroy_process_group()

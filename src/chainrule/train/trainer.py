"""``fit`` for plain ``cr.nn`` modules: the same loop and callbacks as the Keras front-end, with
PyTorch pieces (a module, a loss function, a ``cr.optim`` optimizer, ``DataLoader``s).

Example:
    >>> import chainrule as cr
    >>> from chainrule.data import DataLoader, TensorDataset
    >>> from chainrule.train import fit
    >>> x = cr.randn(64, 3); y = x.sum(1, keepdim=True)
    >>> net = cr.nn.Linear(3, 1)
    >>> opt = cr.optim.SGD(net.parameters(), lr=0.1)
    >>> hist = fit(net, cr.nn.functional.mse_loss, opt, DataLoader(TensorDataset(x, y), 16),
    ...            epochs=20, verbose=0)
    >>> hist.history["loss"][-1] < 0.01
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.tensor import Tensor
from chainrule.train.callbacks import Callback, History
from chainrule.train.loop import evaluate_loop, fit_loop

Metric = Callable[[Tensor, Tensor], float]


class _Run:
    """What callbacks see as ``self.model``: the module's weights, the optimizer, the stop flag."""

    def __init__(self, module: Any, optimizer: Any) -> None:
        self.module, self.optimizer = module, optimizer
        self.stop_training = False
        self.history: History | None = None

    def state_dict(self) -> dict[str, Any]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> Any:
        return self.module.load_state_dict(state)


def _step_fn(module: Any, loss_fn: Callable[..., Tensor], optimizer: Any,
             metrics: dict[str, Metric], train: bool) -> Callable[[Any], tuple[dict, int]]:
    def step(batch: Sequence[Tensor]) -> tuple[dict[str, float], int]:
        x, y = batch[0], batch[1]
        if train:
            optimizer.zero_grad()
            out = module(x)
            loss = loss_fn(out, y)
            loss.backward()
            optimizer.step()
        else:
            with no_grad():
                out = module(x)
                loss = loss_fn(out, y)
        logs = {"loss": float(loss.item())}
        logs.update({name: float(fn(out, y)) for name, fn in metrics.items()})
        return logs, len(x)
    return step


def fit(module: Any, loss_fn: Callable[..., Tensor], optimizer: Any, train_data: Iterable[Any],
        epochs: int = 1, val_data: Iterable[Any] | None = None,
        callbacks: Sequence[Callback] | None = None, metrics: dict[str, Metric] | None = None,
        verbose: int = 1) -> History:
    """Train ``module`` on batches ``(x, y)`` of ``train_data`` (re-iterated every epoch).

    Args:
        loss_fn: ``loss_fn(module(x), y)`` → scalar tensor.
        optimizer: a ``cr.optim`` optimizer over ``module``'s parameters.
        val_data: batches evaluated after each epoch (logged as ``val_*``).
        metrics: name → ``fn(output, y)`` returning a float batch mean.

    Returns:
        the :class:`History`; callbacks such as ``EarlyStopping`` and ``ModelCheckpoint`` work
        on the module's ``state_dict`` and the optimizer's learning rate.
    """
    metrics = metrics or {}
    run = _Run(module, optimizer)
    steps = len(train_data) if hasattr(train_data, "__len__") else None

    def batches(epoch: int) -> Iterable[Any]:
        module.train()
        return train_data

    def validate(cbs: Any) -> dict[str, float]:
        module.eval()
        assert val_data is not None
        return evaluate_loop(run, _step_fn(module, loss_fn, optimizer, metrics, False), val_data,
                             cbs)

    hist = fit_loop(run, _step_fn(module, loss_fn, optimizer, metrics, True), batches, epochs,
                    steps, callbacks, verbose, validate if val_data is not None else None)
    module.eval()
    return hist

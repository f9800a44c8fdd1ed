"""The fit / evaluate / predict loops as plain loops of callback hooks (Keras's trainer shape).

They know nothing about layers or losses: the caller passes a ``step`` function that runs one
batch and returns its logs (batch means) and size. The loop keeps size-weighted running means,
so the epoch-end ``loss`` is the mean over all samples, as in Keras.

``fit_steps`` is ``fit_loop`` as a generator, one training batch per item. Hook order::

    on_train_begin
      on_epoch_begin(e)
        on_train_batch_begin(b) / on_train_batch_end(b, running logs)   for each batch
        on_test_begin / on_test_batch_begin / on_test_batch_end / on_test_end   (validation)
      on_epoch_end(e, logs + val_logs)
    on_train_end
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any

from chainrule.train import distributed
from chainrule.train.callbacks import Callback, CallbackList, History, Logs
from chainrule.train.progress import ProgbarLogger

StepFn = Callable[[Any], tuple[Logs, int]]


class _Mean:
    """Size-weighted running means of a stream of log dicts."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def update(self, logs: Logs, n: int) -> Logs:
        self.count += n
        for k, v in logs.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v) * n
        return self.result()

    def result(self) -> Logs:
        return {k: s / self.count for k, s in self.sums.items()} if self.count else {}

    def global_result(self) -> Logs:
        """The means over every rank's samples (``result()`` when not distributed)."""
        sums, count = distributed.average(self.sums, self.count)
        return {k: s / count for k, s in sums.items()} if count else {}


def _callbacks(model: Any, callbacks: Iterable[Callback] | CallbackList | None, verbose: int,
               history: History | None, **params: Any) -> CallbackList:
    if isinstance(callbacks, CallbackList):
        return callbacks
    cbs = [c for c in callbacks or []
           if distributed.is_main() or not getattr(c, "main_process_only", False)]
    verbose = verbose if distributed.is_main() else 0
    if verbose and not any(isinstance(c, ProgbarLogger) for c in cbs):
        cbs.append(ProgbarLogger(verbose))
    if history is not None:  # last, as in Keras: it records what other callbacks added to logs
        cbs.append(history)
    return CallbackList(cbs, model=model, verbose=verbose, **params)


def evaluate_loop(model: Any, step: StepFn, batches: Iterable[Any],
                  callbacks: CallbackList | Iterable[Callback] | None = None) -> Logs:
    """Run ``step`` over ``batches`` with the test hooks; return the size-weighted mean logs.

    Distributed, each rank evaluates its share of the batches and the means cover them all.
    """
    cbs = _callbacks(model, callbacks, 0, None)
    cbs.on_test_begin()
    mean = _Mean()
    for i, batch in enumerate(distributed.eval_shard(batches)):
        cbs.on_test_batch_begin(i)
        logs = mean.update(*step(batch))
        cbs.on_test_batch_end(i, logs)
    logs = mean.global_result()
    cbs.on_test_end(logs)
    return logs


def predict_loop(model: Any, step: Callable[[Any], Any], batches: Iterable[Any],
                 callbacks: CallbackList | Iterable[Callback] | None = None) -> list[Any]:
    """Run ``step`` over ``batches`` with the predict hooks; return the list of step outputs."""
    cbs = _callbacks(model, callbacks, 0, None)
    cbs.on_predict_begin()
    outs = []
    for i, batch in enumerate(batches):
        cbs.on_predict_batch_begin(i)
        outs.append(step(batch))
        cbs.on_predict_batch_end(i, {"outputs": outs[-1]})
    cbs.on_predict_end()
    return outs


def fit_loop(model: Any, step: StepFn, batches: Callable[[int], Iterable[Any]], epochs: int,
             steps: int | None = None,
             callbacks: Iterable[Callback] | None = None, verbose: int = 1,
             validate: Callable[[CallbackList], Logs] | None = None,
             initial_epoch: int = 0) -> History:
    """Train for ``epochs`` epochs and return the :class:`History`.

    Args:
        model: any object; gets ``stop_training`` (set it True from a callback to stop after the
            current epoch) and ``history``.
        step: runs one training batch, returns ``(batch_logs, batch_size)``.
        batches: ``batches(epoch)`` gives the epoch's batches (shuffle there).
        steps: batches per epoch, for the progress bar and callbacks' ``params``.
        validate: called after each epoch with the callback list; returns logs that are
            added with a ``val_`` prefix.
        initial_epoch: the epoch to start from (for resuming).

    When ``chainrule.distributed`` is initialised with more than one rank, each rank trains on
    its shard of the batches with gradients averaged across ranks, logs are averaged over all
    ranks, and only rank 0 prints and writes files (see ``chainrule.train.distributed``).
    """
    run = fit_steps(model, step, batches, epochs, steps, callbacks, verbose, validate,
                    initial_epoch)
    while True:
        try:
            next(run)
        except StopIteration as done:
            return done.value


def fit_steps(model: Any, step: StepFn, batches: Callable[[int], Iterable[Any]], epochs: int,
              steps: int | None = None,
              callbacks: Iterable[Callback] | None = None, verbose: int = 1,
              validate: Callable[[CallbackList], Logs] | None = None,
              initial_epoch: int = 0) -> Generator[None, None, History]:
    """:func:`fit_loop` one training batch at a time: a generator that yields after each batch
    (after its ``on_train_batch_end``) and returns the :class:`History`, so that a caller can
    interleave training with other work, as the playground's server does to train many sessions
    in turn. Closing it stops training there, without the epoch-end and train-end hooks."""
    if epochs < initial_epoch:
        raise ValueError(f"epochs ({epochs}) must be >= initial_epoch ({initial_epoch})")
    if distributed.world() is None:
        return (yield from _fit(model, step, batches, epochs, steps, callbacks, verbose, validate,
                                initial_epoch))
    parallel = distributed.DataParallelFit(model)
    try:
        return (yield from _fit(model, parallel.step(step),
                                lambda epoch: parallel.shard(batches(epoch)), epochs,
                                parallel.steps(steps), callbacks, verbose, validate,
                                initial_epoch))
    finally:
        parallel.close()


def _fit(model: Any, step: StepFn, batches: Callable[[int], Iterable[Any]], epochs: int,
         steps: int | None, callbacks: Iterable[Callback] | None, verbose: int,
         validate: Callable[[CallbackList], Logs] | None,
         initial_epoch: int) -> Generator[None, None, History]:
    history = History()
    cbs = _callbacks(model, callbacks, verbose, history, epochs=epochs, steps=steps)
    model.stop_training = False
    cbs.on_train_begin()
    # a callback that restores a backup (BackupAndRestore) sets where training resumes
    initial_epoch = vars(model).pop("_initial_epoch", initial_epoch)
    logs: Logs = {}
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        mean = _Mean()
        for i, batch in enumerate(batches(epoch)):
            cbs.on_train_batch_begin(i)
            cbs.on_train_batch_end(i, mean.update(*step(batch)))
            yield
            if model.stop_training:   # set by a batch-level callback (TerminateOnNaN)
                break
        logs = mean.global_result()
        if validate is not None:
            logs.update({f"val_{k}": v for k, v in validate(cbs).items()})
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return history

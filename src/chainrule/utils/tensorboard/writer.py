"""``SummaryWriter``: TensorBoard event files, written by the ``tensorboardX`` library.

tensorboardX (the writer the non-PyTorch frameworks use) is an optional extra, imported when the
first writer is made. Chainrule tensors become NumPy arrays on the way in; ``add_graph`` records
the ops of one forward pass and writes them as a TensorBoard graph.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from chainrule.backend import is_bfloat16
from chainrule.tensor import Tensor


def _load_tensorboardx() -> Any:
    try:
        import tensorboardX
    except ImportError:
        raise ImportError("SummaryWriter needs the tensorboardX package: "
                          "pip install 'chainrule[tensorboard]' (or pip install tensorboardX)"
                          ) from None
    return tensorboardX


def _value(x: Any) -> Any:
    """A tensor as a NumPy array (bfloat16 widened to float32); anything else unchanged."""
    if isinstance(x, Tensor):
        x = x.detach().numpy()
    if isinstance(x, np.ndarray) and is_bfloat16(x.dtype):
        x = x.astype(np.float32)
    return x


class SummaryWriter:
    """Writes scalars, histograms, text and graphs to an event file under ``log_dir`` for
    TensorBoard, as ``torch.utils.tensorboard.SummaryWriter``.

    Args:
        log_dir: the directory of the event file; ``runs/<date>_<host><comment>`` by default.
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: events with a step at or after this one are hidden (a resumed run).
        max_queue: events held in memory before a write.
        flush_secs: the longest time events wait before a write.
        filename_suffix: appended to the event file's name.

    Example:
        >>> import tempfile, chainrule as cr
        >>> from chainrule.utils.tensorboard import SummaryWriter
        >>> with SummaryWriter(tempfile.mkdtemp()) as w:
        ...     w.add_scalar("loss", cr.tensor(0.5), global_step=1)
    """

    def __init__(self, log_dir: str | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        tbx = _load_tensorboardx()
        self._writer = tbx.SummaryWriter(logdir=log_dir, comment=comment, purge_step=purge_step,
                                         max_queue=max_queue, flush_secs=flush_secs,
                                         filename_suffix=filename_suffix)
        self.log_dir: str = self._writer.logdir
        self._tbx, self._max_queue, self._flush_secs = tbx, max_queue, flush_secs
        self._runs: dict[str, Any] = {}  # add_scalars' writers, by directory

    def get_logdir(self) -> str:
        """The directory the event file is written to."""
        return self.log_dir

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """Record one number (a Python number or a one-element tensor) under ``tag``."""
        value = _value(scalar_value)
        if isinstance(value, np.ndarray):
            if value.size != 1:
                raise ValueError(f"add_scalar: {tag!r} needs one value, got an array of shape "
                                 f"{value.shape}")
            value = value.item()
        self._writer.add_scalar(tag, float(value), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict[str, Any],
                    global_step: int | None = None, walltime: float | None = None) -> None:
        """Record several numbers in one chart: each goes to the run ``<log_dir>/<main_tag>_<key>``
        (``/`` in ``main_tag`` becoming ``_``) under the tag ``main_tag``, as PyTorch lays
        them out."""
        for key, v in tag_scalar_dict.items():
            run = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{key}")
            if run not in self._runs:
                self._runs[run] = self._tbx.SummaryWriter(logdir=run, max_queue=self._max_queue,
                                                          flush_secs=self._flush_secs)
            value = float(np.asarray(_value(v)).item())
            self._runs[run].add_scalar(main_tag, value, global_step, walltime)

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None,
                      bins: str = "tensorflow", walltime: float | None = None,
                      max_bins: int | None = None) -> None:
        """Record the distribution of ``values`` (a tensor or array) under ``tag``."""
        self._writer.add_histogram(tag, np.asarray(_value(values)), global_step, bins, walltime,
                                   max_bins)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Record a (Markdown) string under ``tag``."""
        self._writer.add_text(tag, text_string, global_step, walltime)

    def add_hparams(self, hparam_dict: dict[str, Any], metric_dict: dict[str, Any],
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """Record a run's hyperparameters and the metrics it reached, for the HParams tab."""
        metrics = {k: float(np.asarray(_value(v)).item()) for k, v in metric_dict.items()}
        self._writer.add_hparams(hparam_dict, metrics, name=run_name, global_step=global_step)

    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Record the graph of ops that ``model(*input_to_model)`` runs (in eval mode, without
        gradients), each op under the name of the module that applied it."""
        from chainrule.utils.tensorboard.graph import graph_def

        args = input_to_model if isinstance(input_to_model, list | tuple) else (input_to_model,)
        graph = graph_def(model, tuple(args))
        if verbose:
            print(graph)
        self._writer._get_file_writer().add_onnx_graph(graph)

    def flush(self) -> None:
        """Write the pending events to disk."""
        self._writer.flush()
        for w in self._runs.values():
            w.flush()

    def close(self) -> None:
        """Write the pending events and close the event files."""
        self._writer.close()
        for w in self._runs.values():
            w.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""``CosineAnnealingWarmRestarts`` (SGDR): cosine annealing restarted every T_i epochs.

Re-exported from ``chainrule.optim.lr_scheduler``; PyTorch's values step for step, including
fractional ``step(epoch)`` calls made every batch.
"""

from __future__ import annotations

import math

from chainrule.autograd.tape import replayed
from chainrule.optim.lr_scheduler import LRScheduler
from chainrule.optim.optimizer import Optimizer


class CosineAnnealingWarmRestarts(LRScheduler):
    """lr = eta_min + (base_lr − eta_min)(1 + cos(π·T_cur/T_i))/2, restarting at base_lr
    whenever T_cur reaches T_i (Loshchilov & Hutter 2017, SGDR).

    T_cur counts the epochs since the last restart and T_i, the length of the current cycle,
    starts at ``T_0`` and is multiplied by ``T_mult`` after each restart. ``step()`` advances one
    epoch; ``step(epoch)`` jumps to ``epoch``, which may be fractional (``epoch + i / iters``
    inside an epoch) and may interleave with plain ``step()`` calls, which then continue from
    ``floor(epoch) + 1``.

    Args:
        optimizer: the optimizer whose learning rates are set.
        T_0: epochs until the first restart (a positive int).
        T_mult: factor by which T_i grows after each restart (an int ≥ 1).
        eta_min: the minimum learning rate.
        last_epoch: index of the last epoch seen; -1 starts a fresh schedule.

    Example:
        >>> import chainrule as cr
        >>> opt = cr.optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=1.0)
        >>> s = cr.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(s.get_last_lr()[0]); opt.step(); s.step()
        >>> [round(lr, 3) for lr in lrs]
        [1.0, 0.5, 1.0, 0.5, 1.0]
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, float | int):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type "
                             f"{type(eta_min)}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lo = self.eta_min
        return [lo + (b - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    @replayed
    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or jump to ``epoch`` (fractional allowed, must be ≥ 0)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        elif epoch >= self.T_0:
            if self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                # the cycle n holding epoch: T_0·(T_mult^n − 1)/(T_mult − 1) ≤ epoch
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult**n
        else:
            self.T_i = self.T_0
            self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._lrs()

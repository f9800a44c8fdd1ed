"""Weight normalisation and spectral normalisation as parametrizations
(``torch.nn.utils.parametrizations``): ``weight_norm`` keeps a magnitude ``original0`` and a
direction ``original1``; ``spectral_norm`` divides the weight by its largest singular value,
estimated by power iteration on buffers ``_u`` and ``_v``. The state_dict keys are PyTorch's.
"""

from __future__ import annotations

from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import xp
from chainrule.nn.modules.module import Module
from chainrule.nn.utils.parametrize import (
    register_parametrization,
    type_before_parametrizations,
)
from chainrule.random import numpy_generator
from chainrule.tensor import Tensor


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of v over every axis but ``dim`` (kept, size 1 elsewhere); over all of v
    (0-d) when ``dim`` is −1."""
    if dim == -1:
        return (v * v).sum().sqrt()
    axes = tuple(a for a in range(v.ndim) if a != dim)
    return (v * v).sum(axes, keepdim=True).sqrt()


class _WeightNorm(Module):
    """w = g · v / ‖v‖, the norm over every axis but ``dim`` (all of v when ``dim`` is −1)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, _axis(weight, self.dim)), weight


def _axis(v: Tensor, dim: int) -> int:
    return -1 if dim == -1 else dim % v.ndim


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """g · v / ‖v‖, the norm over every axis of v but ``dim`` (all of v when ``dim`` is −1)."""
    return v * (g / _norm_except_dim(v, _axis(v, dim)))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as g · v / ‖v‖ (Salimans & Kingma, 2016) with PyTorch's
    parametrize API (``torch.nn.utils.parametrizations.weight_norm``).

    The magnitude g is ``module.parametrizations.<name>.original0`` (the norm of each slice
    along ``dim``, or one number with ``dim=None``), the direction v is ``original1``.

    Example:
        >>> import chainrule as cr
        >>> m = weight_norm(cr.nn.Linear(20, 40))
        >>> m.parametrizations.weight.original0.shape, m.parametrizations.weight.original1.shape
        (chainrule.Size([40, 1]), chainrule.Size([40, 20]))
    """
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """w / σ(w), σ the largest singular value of w as a matrix (``dim`` first, the rest
    flattened), estimated as uᵀ W v with u, v from power iteration, updated in training."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"spectral_norm: dim {dim} is out of range for a weight of shape "
                             f"{tuple(weight.shape)}")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            h, w = self._matrix(weight).shape
            rng = numpy_generator()
            u = rng.standard_normal(h).astype(weight.dtype)
            v = rng.standard_normal(w).astype(weight.dtype)
            self.register_buffer("_u", Tensor(u / max(float(xp.linalg.norm(u)), eps)))
            self.register_buffer("_v", Tensor(v / max(float(xp.linalg.norm(v)), eps)))
            self._power_method(self._matrix(weight), 15)

    def _matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(a for a in range(weight.ndim) if a != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n: int) -> None:
        """u ← W v / ‖W v‖, v ← Wᵀ u / ‖Wᵀ u‖, ``n`` times, in place (no gradient)."""
        w = weight_mat.array
        u, v = self._u.array, self._v.array
        with no_grad():
            for _ in range(n):
                wu = w @ v
                u[...] = wu / max(float(xp.linalg.norm(wu)), self.eps)
                wv = w.T @ u
                v[...] = wv / max(float(xp.linalg.norm(wv)), self.eps)
        self._u._version += 1
        self._v._version += 1

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return weight / (weight * weight).sum().sqrt().clamp(min=self.eps)
        weight_mat = self._matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = Tensor._wrap(self._u.array.copy())
        v = Tensor._wrap(self._v.array.copy())
        sigma = (u * (weight_mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its spectral norm (Miyato et al., 2018) with PyTorch's
    parametrize API (``torch.nn.utils.parametrizations.spectral_norm``).

    Each training-mode access runs ``n_power_iterations`` of power iteration on the buffers
    ``parametrizations.<name>.0._u`` / ``_v`` (15 at registration); evaluation mode reuses
    them. ``dim`` (default 0, 1 for transposed convolutions) is the output axis.

    Example:
        >>> import chainrule as cr
        >>> m = spectral_norm(cr.nn.Linear(20, 40))
        >>> m.parametrizations.weight.original.shape, m.parametrizations.weight[0]._u.shape
        (chainrule.Size([40, 20]), chainrule.Size([40]))
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{type(module).__name__}' has no parameter or buffer with "
                         f"name '{name}'")
    if dim is None:
        transposed = type_before_parametrizations(module).__name__ in (
            "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
        dim = 1 if transposed else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


__all__ = ["spectral_norm", "weight_norm"]

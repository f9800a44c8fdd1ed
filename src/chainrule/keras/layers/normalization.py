"""Normalisation layers with Keras's maths and weights: ``BatchNormalization``,
``LayerNormalization``, ``GroupNormalization``.

Weights are in Keras's layout and order: ``gamma`` (scale), ``beta`` (offset), and for
batch normalisation the ``moving_mean`` / ``moving_variance`` buffers (non-trainable).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chainrule as cr
from chainrule.keras.layers.layer import Layer, Shape
from chainrule.tensor import Tensor


def _axes(axis: int | Sequence[int], ndim: int, layer: str) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not axes or any(not -ndim < a < ndim or a % ndim == 0 for a in axes):
        raise ValueError(f"{layer}: invalid axis {axis} for inputs of rank {ndim} (the batch "
                         f"axis 0 cannot be normalised over)")
    return tuple(sorted(a % ndim for a in axes))


class _Normalization(Layer):
    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else list(axis)
        self.epsilon, self.center, self.scale = epsilon, center, scale

    def _make_affine(self, shape: Sequence[int]) -> None:
        if self.scale:
            self.add_weight("gamma", shape, "ones")
        if self.center:
            self.add_weight("beta", shape, "zeros")

    def _affine(self, y: Tensor, shape: Sequence[int]) -> Tensor:
        if self.scale:
            y = y * self.gamma.reshape(*shape)
        return y + self.beta.reshape(*shape) if self.center else y

    def _build_shape(self, shape: Shape) -> Shape:
        keep = set(self._built_axes)
        return tuple(s if i in keep else None for i, s in enumerate(shape))

    def _param_shape(self, input_shape: Shape) -> tuple[int, ...]:
        return tuple(int(input_shape[a]) for a in self._built_axes)  # type: ignore[arg-type]

    def _broadcast(self, ndim: int) -> tuple[int, ...]:
        """The parameters' shape broadcast against an input of rank ``ndim``."""
        shape = [1] * ndim
        for a, n in zip(self._built_axes, self._param_dims):
            shape[a] = n
        return tuple(shape)


class BatchNormalization(_Normalization):
    """Normalise each feature along ``axis`` over the batch and every other axis.

    Training: the batch's mean and (biased) variance are used and the moving statistics
    follow ``moving ← momentum·moving + (1 − momentum)·batch`` (Keras's momentum 0.99 is
    PyTorch's 0.01, and Keras keeps the biased variance). Inference — and, as in Keras 3,
    training with ``trainable = False`` — uses the moving statistics.

    Weights: ``gamma`` (C,) ones, ``beta`` (C,) zeros; buffers ``moving_mean`` (C,) zeros,
    ``moving_variance`` (C,) ones, C = the input's size along ``axis``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> bn = layers.BatchNormalization()
        >>> y = bn(cr.tensor([[1.0, 10.0], [3.0, 30.0]]), training=True)
        >>> y
        tensor([[-0.9995, -1.0000],
                [ 0.9995,  1.0000]], grad_fn=<AddBackward>)
    """

    min_ndim = 2
    config_keys = ("axis", "momentum", "epsilon", "center", "scale")

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, **kwargs: Any) -> None:
        super().__init__(axis, epsilon, center, scale, **kwargs)
        self.momentum = momentum

    def build(self, input_shape: Shape) -> None:
        self._built_axes = _axes(self.axis, len(input_shape), "BatchNormalization")
        self._param_dims = self._param_shape(input_shape)
        self._make_affine(self._param_dims)
        self.register_buffer("moving_mean", cr.zeros(*self._param_dims))
        self.register_buffer("moving_variance", cr.ones(*self._param_dims))

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        shape = self._broadcast(x.ndim)
        if training and self.trainable:   # a frozen BatchNormalization runs in inference mode
            dims = tuple(d for d in range(x.ndim) if d not in self._built_axes)
            mean = x.mean(dims, keepdim=True)
            centered = x - mean
            var = (centered * centered).mean(dims, keepdim=True)
            with cr.no_grad():
                for buf, stat in ((self.moving_mean, mean), (self.moving_variance, var)):
                    buf.mul_(self.momentum).add_(stat.reshape(buf.shape).to(buf.dtype) *
                                                 (1.0 - self.momentum))
            y = centered * (var + self.epsilon).rsqrt()
        else:
            y = ((x - self.moving_mean.reshape(*shape)) *
                 (self.moving_variance.reshape(*shape) + self.epsilon).rsqrt())
        return self._affine(y, shape)


class LayerNormalization(_Normalization):
    """Normalise each sample over ``axis`` (default the last): ``(x − mean) / √(var + ε)``,
    then ``gamma`` and ``beta`` of the normalised axes' shape; ``rms_scaling=True`` divides by
    the root mean square instead and uses no ``beta``.

    Weights: ``gamma`` ones, ``beta`` zeros, shaped like the input along ``axis``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.LayerNormalization()(cr.tensor([[1.0, 3.0]]))
        tensor([[-0.9995,  0.9995]], grad_fn=<AddBackward>)
    """

    config_keys = ("axis", "epsilon", "center", "scale", "rms_scaling")

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, rms_scaling: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(axis, epsilon, center and not rms_scaling, scale, **kwargs)
        self.rms_scaling = rms_scaling

    def build(self, input_shape: Shape) -> None:
        self._built_axes = _axes(self.axis, len(input_shape), "LayerNormalization")
        self._param_dims = self._param_shape(input_shape)
        self._make_affine(self._param_dims)

    def call(self, x: Tensor) -> Tensor:
        dims = self._built_axes
        if self.rms_scaling:
            y = x * ((x * x).mean(dims, keepdim=True) + self.epsilon).rsqrt()
        else:
            centered = x - x.mean(dims, keepdim=True)
            var = (centered * centered).mean(dims, keepdim=True)
            y = centered * (var + self.epsilon).rsqrt()
        return self._affine(y, self._broadcast(x.ndim))


class GroupNormalization(_Normalization):
    """Split the channels (``axis``) into ``groups`` and normalise each sample's group over its
    channels and every other non-batch axis; then per-channel ``gamma`` and ``beta``.

    Weights: ``gamma`` (C,) ones, ``beta`` (C,) zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.GroupNormalization(groups=2)(keras.Input((5, 4))).shape
        (None, 5, 4)
    """

    min_ndim = 2
    config_keys = ("groups", "axis", "epsilon", "center", "scale")

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, **kwargs: Any) -> None:
        super().__init__(axis, epsilon, center, scale, **kwargs)
        self.groups = groups

    def build(self, input_shape: Shape) -> None:
        self._built_axes = _axes(self.axis, len(input_shape), "GroupNormalization")
        c = int(input_shape[self._built_axes[0]])  # type: ignore[arg-type]
        if self.groups == -1:
            self.groups = c
        if c < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({c}).")
        if c % self.groups:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({c}).")
        self._param_dims = (c,)
        self._make_affine(self._param_dims)

    def call(self, x: Tensor) -> Tensor:
        axis = self._built_axes[0]
        c = x.shape[axis]
        g = x.reshape(*x.shape[:axis], self.groups, c // self.groups, *x.shape[axis + 1:])
        dims = tuple(d for d in range(1, g.ndim) if d != axis)
        centered = g - g.mean(dims, keepdim=True)
        var = (centered * centered).mean(dims, keepdim=True)
        y = (centered * (var + self.epsilon).rsqrt()).reshape(*x.shape)
        return self._affine(y, self._broadcast(x.ndim))


__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization"]

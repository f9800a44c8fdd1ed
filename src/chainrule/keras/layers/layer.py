"""The Keras ``Layer`` base: lazy ``build(input_shape)``, ``call``, masks, ``get_config``.

Tensors are channels-last as in Keras: images are (N, H, W, C), sequences (N, T, C). A layer
learns its input shape on its first call and only then creates its weights (Keras's lazy
build). As in Keras, ``call`` may take ``training`` (defaults to the module's train/eval mode)
and ``mask``; a mask produced by ``compute_mask`` travels with the output tensor to the next
layer (``get_mask``), which is how ``Embedding(mask_zero=True)`` reaches the recurrent layers.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.keras import activations, initializers, regularizers
from chainrule.keras.symbolic import any_symbolic, call_symbolic
from chainrule.tensor import Tensor

Shape = tuple[int | None, ...]

_NAME_COUNTS: dict[str, int] = {}
_MASKS: dict[int, tuple[weakref.ref[Tensor], Tensor]] = {}


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or
                                   (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("2_d", "2d").replace("1_d", "1d").replace("3_d", "3d")


def _unique_name(base: str) -> str:
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def ntuple(value: Any, n: int, what: str, layer: str, minimum: int = 1) -> tuple[int, ...]:
    """``value`` as an n-tuple of ints >= ``minimum`` (an int is repeated), or Keras's error."""
    t = (value,) * n if isinstance(value, int) else tuple(value)
    if len(t) != n or not all(isinstance(a, int) and a >= minimum for a in t):
        raise ValueError(f"{layer}: the `{what}` argument must be a tuple of {n} integers >= "
                         f"{minimum}. Received {what}={value!r}")
    return t


def get_mask(x: Any) -> Tensor | None:
    """The mask a layer attached to ``x`` (Keras's ``x._keras_mask``), or None.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> x = layers.Masking()(cr.tensor([[[1.0], [0.0]]]))
        >>> layers.get_mask(x)
        tensor([[ True, False]])
    """
    entry = _MASKS.get(id(x))
    return entry[1] if entry is not None and entry[0]() is x else None


def set_mask(x: Tensor, mask: Tensor | None) -> None:
    """Attach ``mask`` to ``x`` for the layers it flows into; None removes it.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> x = cr.ones(1, 2, 1)
        >>> layers.set_mask(x, cr.tensor([[True, False]]))
        >>> layers.get_mask(x)
        tensor([[ True, False]])
    """
    key = id(x)
    if mask is None:
        _MASKS.pop(key, None)
    else:
        _MASKS[key] = (weakref.ref(x, lambda _, k=key: _MASKS.pop(k, None)), mask)


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else cr.as_tensor(x)


def _serialize(value: Any) -> Any:
    if callable(value) and not isinstance(value, type):
        return activations.name_of(value)
    return value


class Layer(nn.Module):
    """Base of the Keras layers: a ``cr.nn.Module`` with a name, lazy ``build``, input checks,
    masks and a config.

    Subclasses set ``input_ndim`` (exact rank incl. batch) or ``min_ndim``, list in
    ``config_keys`` the constructor arguments ``get_config`` reports (each kept as an attribute
    of the same name), and implement ``build(input_shape)`` and ``call(inputs, ...)``; ``call``
    receives ``training`` and ``mask`` when its signature names them. Layers taking several
    inputs (the merge layers) receive a list of tensors and a list of shapes.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> class Scale(layers.Layer):
        ...     def build(self, input_shape):
        ...         self.scale = self.add_weight("scale", (input_shape[-1],), initializer="ones")
        ...     def call(self, x):
        ...         return x * self.scale
        >>> Scale()(cr.tensor([[1.0, 2.0]]))
        tensor([[1., 2.]], grad_fn=<MulBackward>)
    """

    input_ndim: int | None = None
    min_ndim: int | None = None
    supports_masking: bool = False
    config_keys: tuple[str, ...] = ()
    regularized: tuple[str, ...] = ()
    """The weights (in ``_keras_weights`` order) that take a ``<name>_regularizer``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        layer = super().__new__(cls)
        object.__setattr__(layer, "_init_args", (args, kwargs))   # for get_config, as Keras
        return layer

    def __init__(self, name: str | None = None, input_shape: Sequence[int] | None = None,
                 trainable: bool = True, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__()
        self.training = False  # called outside fit, a Keras layer runs in inference mode
        for weight in self.regularized:
            key = f"{weight}_regularizer"
            object.__setattr__(self, key, regularizers.get(kwargs.pop(key, None)))
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                            f"{kwargs}")
        self.name = name or _unique_name(_snake(type(self).__name__))
        self.built = False
        self.trainable = trainable
        self.dtype = "float32" if dtype is None else _dtype_name(dtype)
        self.input_shape_arg: Shape | None = \
            None if input_shape is None else tuple(input_shape)
        self.built_input_shape: Any = None
        self.output_shape: Any = None
        params = inspect.signature(self.call).parameters
        self._call_takes = {k: k in params for k in ("training", "mask")}

    @property
    def trainable(self) -> bool:
        """Whether the weights train; setting it freezes or unfreezes them, also after build."""
        return bool(self.__dict__["_trainable"])

    @trainable.setter
    def trainable(self, value: bool) -> None:
        object.__setattr__(self, "_trainable", bool(value))
        if self.built:
            self.requires_grad_(bool(value))

    # ---- the Keras contract ----
    def build(self, input_shape: Any) -> None:
        pass

    def call(self, inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the output: the input's when the layer ``supports_masking``, else None
        (Keras's rule)."""
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for ``input_shape`` (batch dim None), found by running the layer in
        eval mode on zeros of batch size 1."""
        def zeros(shape: Shape) -> Tensor:
            if any(s is None for s in shape[1:]):
                raise ValueError(f"{type(self).__name__}.compute_output_shape: every dim but "
                                 f"the batch must be known, got {_fmt_shape(shape)}")
            return cr.zeros(1, *shape[1:])

        multi = isinstance(input_shape, list)
        x = [zeros(s) for s in input_shape] if multi else zeros(tuple(input_shape))
        was = self.training
        self.eval()
        try:
            with cr.no_grad():
                out = self(x)
        finally:
            self.train(was)
        return _shape_of(out)

    def __call__(self, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        """``layer(x)``. On ``KerasTensor`` inputs this records a node of a functional graph
        and returns KerasTensors; ``training=True/False`` sets train/eval behaviour (Dropout,
        BatchNorm) for this call only."""
        if any_symbolic((args, kwargs)):
            return call_symbolic(self, args, kwargs)
        if training is None or bool(training) == self.training:
            return super().__call__(*args, **kwargs)
        was = self.training
        self.train(bool(training))
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self.train(was)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer, ``type(layer).from_config(cfg)``:
        those it was made with (defaults filled in, as Keras records them), then ``name``,
        ``trainable``, ``dtype`` and the ``config_keys`` as the layer holds them."""
        args, kwargs = self.__dict__.get("_init_args", ((), {}))
        bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        config: dict[str, Any] = {}
        for key, param in bound.signature.parameters.items():
            if param.kind is param.VAR_KEYWORD:
                config.update(bound.arguments[key])
            elif key != "self" and param.kind is not param.VAR_POSITIONAL:
                config[key] = bound.arguments[key]
        if config.get("input_shape", 0) is None:
            del config["input_shape"]
        config.update(name=self.name, trainable=self.trainable, dtype=self.dtype)
        config.update({k: _serialize(getattr(self, k)) for k in self.config_keys})
        config.update({f"{w}_regularizer": regularizers.serialize(getattr(self,
                                                                          f"{w}_regularizer"))
                       for w in self.regularized})
        return config

    @property
    def losses(self) -> list[Tensor]:
        """The penalties of the regularizers of this layer's weights and of every layer inside
        it, computed from the weights as they are now (what ``fit`` adds to the loss)."""
        out: list[Tensor] = []
        for layer in self.modules():
            if isinstance(layer, Layer) and layer.built:
                out.extend(layer._weight_penalties())
        return out

    def _weight_penalties(self) -> list[Tensor]:
        regs = [getattr(self, f"{name}_regularizer") for name in self.regularized]
        if not any(r is not None for r in regs):  # (most layers: no weights gathered)
            return []
        return [r(entry[0]) for r, entry in zip(regs, self._keras_weights()) if r is not None]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """The layer of a config from ``get_config`` — or from Keras 3 itself: Keras's options
        that chainrule does not model are accepted while they hold Keras's defaults (no
        regularizers or constraints, no renorm, ...); initializer entries are ignored, the
        layers start from Keras's default initializers. Any other unknown key raises."""
        return cls(**cls._known_kwargs(config))

    @classmethod
    def _known_kwargs(cls, config: dict[str, Any]) -> dict[str, Any]:
        accepted = {name for klass in cls.__mro__ if "__init__" in vars(klass)
                    for name in inspect.signature(vars(klass)["__init__"]).parameters}
        return {k: v for k, v in config.items()
                if k in accepted or not _is_keras_default(k, v)}

    def add_weight(self, name: str, shape: Sequence[int], initializer: str = "zeros",
                   trainable: bool = True) -> nn.Parameter:
        """A new parameter of Keras's layout, initialised by name ('glorot_uniform', 'zeros',
        'ones', 'orthogonal', 'uniform' (±0.05)), registered as ``self.<name>``."""
        p = nn.Parameter(cr.zeros(*shape), requires_grad=trainable)
        initializers.get(initializer)(p.array)
        setattr(self, name, p)
        return p

    def get_weights(self) -> list[np.ndarray]:
        """The layer's weights as NumPy arrays in Keras's order and layout (e.g. a Conv2D
        kernel (kh, kw, in, out)), non-trainable state (moving statistics) included."""
        return [np.array(to_keras(t.array), copy=True) for t, to_keras, _ in self._keras_weights()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Load arrays in ``get_weights()``'s order and layout."""
        slots = self._keras_weights()
        if len(slots) != len(weights):
            raise ValueError(f"Layer {self.name} expects {len(slots)} weights, but received "
                             f"{len(weights)} input weights.")
        for (t, to_keras, from_keras), w in zip(slots, weights):
            w = np.asarray(w)
            want = to_keras(t.array).shape
            if tuple(want) != w.shape:
                raise ValueError(f"Layer {self.name} weight shape {tuple(want)} is not "
                                 f"compatible with provided weight shape {w.shape}.")
            t.array[...] = from_keras(w)

    def _keras_weights(self) -> list[tuple[Tensor, Any, Any]]:
        """(tensor, to Keras's layout, from Keras's layout) per Keras weight, in Keras's order:
        own parameters and buffers, then each sublayer's."""
        same = (lambda a: a), (lambda a: a)
        slots = [(t, *same) for t in (*self._parameters.values(), *self._buffers.values())
                 if t is not None]
        for child in self._modules.values():
            if isinstance(child, Layer):
                slots += child._keras_weights()
            else:
                slots += [(t, *same) for t in (*child.parameters(), *child.buffers())]
        return slots

    def _keras_weight_groups(self) -> list[tuple[str, list[tuple[Tensor, Any, Any]]]]:
        """``_keras_weights`` grouped as Keras's ``.weights.h5`` files hold them: (the path
        under the layer's group, e.g. ``""``, ``"cell"`` or ``"query_dense"``; its weights,
        stored there as ``vars/0``, ``vars/1``, ...)."""
        return [("", self._keras_weights())]

    # ---- machinery ----
    def _check_input(self, shape: Shape) -> None:
        rank = len(shape)
        want = (f"ndim={self.input_ndim}" if self.input_ndim is not None and
                rank != self.input_ndim else
                f"min_ndim={self.min_ndim}" if self.min_ndim is not None and
                rank < self.min_ndim else None)
        if want is not None:
            raise ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                             f"incompatible with the layer: expected {want}, found ndim={rank}. "
                             f"Full shape received: {_fmt_shape(shape)}")
        built = self.built_input_shape
        if isinstance(built, tuple) and (len(built) != rank or
                                         any(b is not None and b != s
                                             for b, s in zip(built[1:], shape[1:]))):
            raise ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                             f"incompatible with the layer: it was built for inputs of shape "
                             f"{_fmt_shape(built)}, got {_fmt_shape(shape)}")

    def forward(self, inputs: Any, *args: Any, training: bool | None = None,
                mask: Any = None, **kwargs: Any) -> Any:
        multi = isinstance(inputs, (list, tuple))
        inputs = [_as_tensor(x) for x in inputs] if multi else _as_tensor(inputs)
        if multi:
            shape: Any = [(None, *x.shape[1:]) for x in inputs]
        else:
            shape = (None, *inputs.shape[1:])
            self._check_input(shape)
        if mask is None:
            mask = [get_mask(x) for x in inputs] if multi else get_mask(inputs)
            if multi and all(m is None for m in mask):
                mask = None
        if not self.built:
            self.build(shape)
            self.train(self.training)  # modules made by build take the layer's mode
            self.built_input_shape = shape if multi else self._build_shape(shape)
            self.built = True
            if not self.trainable:
                self.requires_grad_(False)
        if self._call_takes["training"]:
            kwargs["training"] = self.training if training is None else bool(training)
        if self._call_takes["mask"]:
            kwargs["mask"] = mask
        out = self.call(inputs, *args, **kwargs)
        out_mask = self.compute_mask(inputs, mask)
        if isinstance(out, Tensor):
            set_mask(out, out_mask)
        elif isinstance(out_mask, (list, tuple)):
            for o, m in zip(out, out_mask):
                set_mask(o, m)
        self.output_shape = _shape_of(out)
        return out

    def _build_shape(self, shape: Shape) -> Shape:
        """The part of the input shape the weights depend on (None elsewhere)."""
        return (None,) * (len(shape) - 1) + (shape[-1],)

    def count_params(self) -> int:
        """The number of weights, trainable and not, as Keras counts them: buffers (moving
        statistics, ``Normalization``'s mean/variance/count) are non-trainable weights."""
        return sum(self._param_counts())

    def _param_counts(self) -> tuple[int, int]:
        """(trainable, non-trainable) counts; a model sums its layers'."""
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        frozen = sum(p.numel() for p in self.parameters() if not p.requires_grad)
        frozen += sum(b.numel() for b in self.buffers())
        return trainable, frozen

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


_KERAS_DEFAULTS: dict[str, Any] = {
    "activity_regularizer": None, "quantization_config": None, "seed": None,
    "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99, "synchronized": False,
    "use_gate": False, "sliding_window": None, "antialias": False,
    "pad_to_aspect_ratio": False, "fill_mode": "constant", "fill_value": 0.0,
    "data_format": "channels_last", "lora_rank": None, "lora_alpha": None,
    "embeddings_regularizer": None, "sparse": False, "ragged": False, "optional": False,
}


def _is_keras_default(key: str, value: Any) -> bool:
    """Whether a Keras config entry chainrule does not model may be dropped."""
    if key.endswith("_initializer"):
        return True
    if key.endswith(("_regularizer", "_constraint")):
        return value is None
    return key in _KERAS_DEFAULTS and value == _KERAS_DEFAULTS[key]


def _shape_of(out: Any) -> Any:
    if isinstance(out, Tensor):
        return (None, *out.shape[1:])
    return type(out)(_shape_of(o) for o in out)


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, dict):   # Keras 3's serialised DTypePolicy
        return str(dtype.get("config", {}).get("name", "float32"))
    return str(getattr(dtype, "name", dtype))

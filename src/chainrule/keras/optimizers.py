"""Keras optimizers (names, argument names and default hyper-parameters of Keras 3) mapped onto
``chainrule.optim``.

A Keras optimizer is created before the model has weights, so it holds only settings until
``model.compile``/``fit`` binds it to the parameters (``bind``), which creates the
``cr.optim`` optimizer that does the updates. ``learning_rate`` can be read and set at any time,
unless it is a ``keras.optimizers.schedules.LearningRateSchedule``: then it is the schedule's value
at ``iterations``, set on the ``cr.optim`` optimizer before each update.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule import optim
from chainrule.keras import schedules
from chainrule.keras.schedules import LearningRateSchedule

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Nadam", "Optimizer",
           "RMSprop", "get", "schedules"]


class Optimizer:
    """Base: ``learning_rate`` plus the keyword arguments for the ``cr.optim`` class.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> opt = keras.optimizers.SGD(learning_rate=0.1)
        >>> isinstance(opt, keras.optimizers.Optimizer)
        True
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt.bind([w])
        >>> opt.zero_grad(); (w * w).sum().backward(); opt.step()
        >>> w, opt.iterations
        (Parameter containing:
        tensor([0.8000], requires_grad=True), 1)
        >>> opt.learning_rate = 0.01
        >>> opt.inner.param_groups[0]["lr"]
        0.01
    """

    _torch: type[optim.Optimizer]

    def __new__(cls, *args: Any, **kwargs: Any) -> Optimizer:
        opt = super().__new__(cls)
        opt._init_args = (args, kwargs)   # for keras_config
        return opt

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 **torch_kwargs: Any) -> None:
        if isinstance(learning_rate, dict):   # a schedule's entry in a saved config
            learning_rate = schedules.deserialize(learning_rate)
        if isinstance(learning_rate, LearningRateSchedule):
            self._schedule: LearningRateSchedule | None = learning_rate
        elif learning_rate < 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be >= 0, got "
                             f"{learning_rate}")
        else:
            self._schedule = None
        self._lr = float(learning_rate) if self._schedule is None else 0.0
        self._kwargs = torch_kwargs
        self.inner: optim.Optimizer | None = None
        self.iterations = 0

    @property
    def learning_rate(self) -> float:
        """The rate of the next update (a schedule's value at ``iterations``)."""
        if self._schedule is not None:
            return float(self._schedule(self.iterations))
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if self._schedule is not None:
            raise TypeError(f"{type(self).__name__} was created with a LearningRateSchedule "
                            f"({self._schedule!r}) as its learning_rate, which cannot be set; "
                            f"create the optimizer with a float learning_rate to set it")
        self._lr = float(value)
        if self.inner is not None:
            for group in self.inner.param_groups:
                group["lr"] = self._lr

    lr = learning_rate

    def bind(self, params: Iterable[Any]) -> None:
        """Create the underlying ``cr.optim`` optimizer over ``params``."""
        self.inner = self._torch(list(params), lr=self.learning_rate, **self._kwargs)

    def zero_grad(self) -> None:
        assert self.inner is not None, "optimizer used before bind()"
        self.inner.zero_grad()

    def step(self) -> None:
        assert self.inner is not None, "optimizer used before bind()"
        if self._schedule is not None:
            for group in self.inner.param_groups:
                group["lr"] = self.learning_rate
        self.inner.step()
        self.iterations += 1

    def apply(self, grads: Iterable[Any], trainable_variables: Iterable[Any]) -> None:
        """One update from ``grads``, one per variable (Keras's ``optimizer.apply``).

        Variables are ``model.trainable_weights`` entries (their ``.value`` is the parameter)
        or parameters; they must be among those the optimizer was bound to by ``compile``/
        ``fit``.
        """
        params = [getattr(v, "value", v) for v in trainable_variables]
        if self.inner is None:
            self.bind(params)
        for p, g in zip(params, grads):
            p.grad = g
        self.step()

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Any]]) -> None:
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)

    def keras_config(self) -> dict[str, Any]:
        """The constructor arguments by their Keras names, defaults filled in, the learning
        rate as it is now."""
        import inspect
        args, kwargs = self.__dict__.get("_init_args", ((), {}))
        bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        config = {k: v for k, v in bound.arguments.items() if k != "self"}
        config["learning_rate"] = self._schedule or self._lr
        return config

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self._schedule or self._lr, **self._kwargs}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Keras's SGD over ``cr.optim.SGD`` (``momentum``, ``nesterov``, ``weight_decay``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
        >>> opt.bind([w])
        >>> (w * w).sum().backward(); opt.step()
        >>> w
        Parameter containing:
        tensor([0.8000], requires_grad=True)
    """
    _torch = optim.SGD

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None) -> None:
        super().__init__(learning_rate, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay or 0.0)


class Adam(Optimizer):
    """Keras's Adam over ``cr.optim.Adam`` (``beta_1``, ``beta_2``, ``epsilon``, ``amsgrad``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mse")
        >>> _ = model.fit(cr.ones(8, 2), cr.ones(8, 1), epochs=3, verbose=0)
        >>> model.optimizer.iterations
        3
    """
    _torch = optim.Adam

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None) -> None:
        super().__init__(learning_rate, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay or 0.0)


class AdamW(Optimizer):
    """Keras's AdamW over ``cr.optim.AdamW`` (decoupled ``weight_decay``, default 0.004).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> opt = keras.optimizers.AdamW(learning_rate=0.01)
        >>> opt.bind([cr.nn.Parameter(cr.zeros(2))])
        >>> opt.inner.param_groups[0]["weight_decay"]
        0.004
    """
    _torch = optim.AdamW

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False) -> None:
        super().__init__(learning_rate, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay)


class RMSprop(Optimizer):
    """Keras's RMSprop over ``cr.optim.RMSprop`` (``rho`` is PyTorch's ``alpha``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> opt = keras.optimizers.RMSprop(learning_rate=0.01, rho=0.9)
        >>> opt.bind([cr.nn.Parameter(cr.zeros(2))])
        >>> opt.inner.param_groups[0]["alpha"]
        0.9
    """
    _torch = optim.RMSprop

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False) -> None:
        super().__init__(learning_rate, alpha=rho, momentum=momentum, eps=epsilon,
                         centered=centered)


class Adagrad(Optimizer):
    """Keras's Adagrad over ``cr.optim.Adagrad`` (``initial_accumulator_value``, ``epsilon``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> opt = keras.optimizers.Adagrad(learning_rate=0.1)
        >>> opt.bind([cr.nn.Parameter(cr.zeros(2))])
        >>> type(opt.inner).__name__, opt.inner.param_groups[0]["initial_accumulator_value"]
        ('Adagrad', 0.1)
    """
    _torch = optim.Adagrad

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate, initial_accumulator_value=initial_accumulator_value,
                         eps=epsilon)


class Adadelta(Optimizer):
    """Keras's Adadelta over ``cr.optim.Adadelta`` (``rho``, ``epsilon``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> opt = keras.optimizers.Adadelta(learning_rate=1.0)
        >>> opt.learning_rate
        1.0
    """
    _torch = optim.Adadelta

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate, rho=rho, eps=epsilon)


class Adamax(Optimizer):
    """Keras's Adamax over ``cr.optim.Adamax``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> opt = keras.optimizers.Adamax()
        >>> opt.bind([cr.nn.Parameter(cr.zeros(2))])
        >>> type(opt.inner).__name__, opt.learning_rate
        ('Adamax', 0.001)
    """
    _torch = optim.Adamax

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate, betas=(beta_1, beta_2), eps=epsilon)


class Nadam(Optimizer):
    """Keras's Nadam over ``cr.optim.NAdam``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> opt = keras.optimizers.Nadam(learning_rate=0.002)
        >>> opt.bind([cr.nn.Parameter(cr.zeros(2))])
        >>> type(opt.inner).__name__
        'NAdam'
    """
    _torch = optim.NAdam

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate, betas=(beta_1, beta_2), eps=epsilon)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
    "adadelta": Adadelta, "adamax": Adamax, "nadam": Nadam}
"""The optimizers by their Keras name, as ``compile(optimizer="adam")`` takes them."""


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimizer from a Keras name ('adam', 'sgd', ...) or an instance.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> type(keras.optimizers.get("adam")).__name__, keras.optimizers.get("sgd").learning_rate
        ('Adam', 0.01)
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(OPTIMIZERS)} or "
                     f"a keras.optimizers.Optimizer instance")

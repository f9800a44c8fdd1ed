"""Random number generation: one global generator, seeded by ``manual_seed``, and ``Generator``
objects for streams of their own (e.g. a DataLoader's shuffling)."""

from __future__ import annotations

from typing import Any

import numpy

from chainrule.autograd.tape import replayed


class Generator:
    """A seeded stream of random numbers (``torch.Generator``); wraps NumPy's PCG64.

    Example:
        >>> import chainrule as cr
        >>> g = cr.Generator().manual_seed(0)
        >>> a = cr.rand(3, generator=g)
        >>> b = cr.rand(3, generator=cr.Generator().manual_seed(0))
        >>> cr.equal(a, b)
        True
    """

    def __init__(self, seed: int | None = None) -> None:
        self.np = numpy.random.Generator(numpy.random.PCG64(seed))
        self._seed = seed

    def manual_seed(self, seed: int) -> Generator:
        """Reset the stream to the start of ``seed``'s sequence; returns self."""
        self.np = numpy.random.Generator(numpy.random.PCG64(int(seed)))
        self._seed = int(seed)
        return self

    def initial_seed(self) -> int | None:
        """The seed this generator was created or last seeded with."""
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """The generator's exact position, JSON-serialisable, for checkpoints."""
        return self.np.bit_generator.state

    def set_state(self, state: dict[str, Any]) -> None:
        """Return to a position saved by ``get_state``."""
        self.np.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the global generator, making every random op that uses it reproducible.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> a = cr.randn(3)
        >>> _ = cr.manual_seed(0)
        >>> cr.equal(a, cr.randn(3))
        True
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the global generator from the operating system's entropy; returns the seed.

    Example:
        >>> import chainrule as cr
        >>> s = cr.seed()
        >>> s == cr.initial_seed()
        True
    """
    fresh = int(numpy.random.SeedSequence().entropy % 2**63)
    manual_seed(fresh)
    return fresh


def initial_seed() -> int:
    """The seed the global generator was last seeded with.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(42)
        >>> cr.initial_seed()
        42
    """
    return default_generator.initial_seed()  # type: ignore[return-value]


def get_rng_state() -> dict[str, Any]:
    """The global generator's state (see ``Generator.get_state``).

    Example:
        >>> import chainrule as cr
        >>> state = cr.get_rng_state()
        >>> a = cr.rand(2)
        >>> cr.set_rng_state(state)
        >>> cr.equal(a, cr.rand(2))
        True
    """
    return default_generator.get_state()


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the global generator to a state from ``get_rng_state``.

    Example:
        >>> import chainrule as cr
        >>> state = cr.get_rng_state()
        >>> a = cr.randn(2)
        >>> cr.set_rng_state(state)
        >>> cr.equal(a, cr.randn(2))
        True
    """
    default_generator.set_state(state)


def numpy_generator(generator: Generator | None = None) -> numpy.random.Generator:
    """The NumPy generator behind ``generator``, or behind the global one."""
    return (generator or default_generator).np


@replayed
def dropout_mask(shape: tuple[int, ...], p: float, dtype: Any,
                 generator: Generator | None = None) -> numpy.ndarray:
    """Inverted-dropout multipliers: 0 with probability ``p``, else 1/(1 − p)."""
    keep = numpy_generator(generator).random(shape) >= p
    return keep.astype(dtype) * numpy.dtype(dtype).type(1.0 / (1.0 - p))

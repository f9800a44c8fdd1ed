"""``torch.backends.mps`` away from Apple silicon: the Metal back end is neither built nor
available."""


def is_available() -> bool:
    """False: chainrule computes on the CPU."""
    return False


def is_built() -> bool:
    """False: chainrule has no Metal back end."""
    return False

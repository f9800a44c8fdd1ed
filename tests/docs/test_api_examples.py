"""Every public name of the documented namespaces carries a doctest example.

The examples themselves run as doctests with the suite (``--doctest-modules`` over
``src/chainrule``); this test makes a missing one fail.
"""

from __future__ import annotations

import inspect

from public_api import NAMESPACES, public_names, public_objects


def test_the_namespaces_are_not_empty():
    assert all(len(public_names(ns)) >= 4 for ns in NAMESPACES)


def test_every_public_callable_has_a_doctest_example():
    missing = sorted({name for name, obj in public_objects()
                      if callable(obj) and ">>>" not in (inspect.getdoc(obj) or "")})
    assert not missing, f"{len(missing)} public names lack a '>>>' example: {missing}"

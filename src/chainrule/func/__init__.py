"""Function transforms, with the names and semantics of ``torch.func`` and JAX.

``grad``, ``value_and_grad``, ``vjp`` and ``jacrev`` use reverse mode (the engine's backward);
``jvp`` and ``jacfwd`` use true forward mode (tangents carried beside values in one pass, see
``autograd/forward_ad.py``); ``hessian`` is forward-over-reverse. They compose:
``grad(grad(f))``, ``jacfwd(jacrev(f))``, ``vmap(grad(f))``. See docs/forward-vs-reverse.md.
"""

from chainrule.func.batching import vmap
from chainrule.func.forward import hessian, hvp, jacfwd, jvp
from chainrule.func.functional_call import functional_call
from chainrule.func.reverse import grad, jacrev, value_and_grad, vjp

__all__ = ["functional_call", "grad", "hessian", "hvp", "jacfwd", "jacrev", "jvp",
           "value_and_grad", "vjp", "vmap"]

"""Optimizers and learning-rate schedulers with PyTorch's names and update rules."""

from chainrule.optim import lr_scheduler
from chainrule.optim.adadelta import Adadelta
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, Adamax, AdamW, NAdam, RAdam
from chainrule.optim.asgd import ASGD
from chainrule.optim.lbfgs import LBFGS
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.rprop import Rprop
from chainrule.optim.sgd import SGD

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "adamax": Adamax, "nadam": NAdam, "radam": RAdam,
    "rmsprop": RMSprop, "rprop": Rprop, "adagrad": Adagrad, "adadelta": Adadelta, "asgd": ASGD,
}
"""The first-order optimizers by lower-case name, each built as ``cls(params, lr=...)``; the list
that applications offer (the playground). ``LBFGS``, which needs a closure, is not among them."""

__all__ = ["OPTIMIZERS", "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Rprop",
           "Adagrad", "Adadelta", "ASGD", "Optimizer", "lr_scheduler", "LBFGS"]

"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, init."""

from chainrule.nn import functional, init, losses, utils
from chainrule.nn.activation import (
    ELU,
    GELU,
    GLU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from chainrule.nn.containers import ModuleDict, ModuleList, Sequential
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten, Unflatten
from chainrule.nn.linear import Bilinear, Identity, Linear, MultiplicativeInteraction
from chainrule.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
)
from chainrule.nn.module import Module, Parameter
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm
from chainrule.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from chainrule.nn.sparse import Embedding

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Bilinear", "CrossEntropyLoss",
    "Dropout", "ELU", "Embedding", "Flatten", "GELU", "GLU", "GRU", "GRUCell", "Hardtanh",
    "HingeEmbeddingLoss", "HuberLoss", "Identity", "KLDivLoss", "L1Loss", "LSTM", "LSTMCell",
    "LayerNorm", "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MSELoss", "Mish", "Module",
    "ModuleDict", "ModuleList", "MultiMarginLoss", "MultiplicativeInteraction", "NLLLoss",
    "Parameter", "RMSNorm", "RNN", "RNNBase", "RNNCell", "RNNCellBase", "ReLU", "ReLU6",
    "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus", "Softsign", "Tanh",
    "Unflatten", "functional", "init", "losses", "utils",
]

"""The former home of ``BatchNormalization``, ``Embedding`` and ``LSTM``, kept so that
``from chainrule.keras.recurrent import LSTM`` still works; they live in
``chainrule.keras.layers`` (``normalization``, ``core``, ``rnn``)."""

from chainrule.keras.layers.core import Embedding
from chainrule.keras.layers.normalization import BatchNormalization
from chainrule.keras.layers.rnn import LSTM

__all__ = ["LSTM", "BatchNormalization", "Embedding"]

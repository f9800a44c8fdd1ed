"""Keras layers (``keras.layers``), lazily built over ``chainrule.nn``, one module per family
as in Keras 3's ``keras/src/layers/``: ``layer`` (the base), ``core``, ``activations``,
``convolutional``, ``pooling``, ``merging``, ``normalization``, ``attention``, ``rnn``,
``reshaping``, ``regularization``, ``preprocessing``, ``image_augmentation``."""

from chainrule.keras.input_layer import Input, InputLayer
from chainrule.keras.layers.activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from chainrule.keras.layers.attention import MultiHeadAttention
from chainrule.keras.layers.convolutional import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    DepthwiseConv2D,
    SeparableConv2D,
)
from chainrule.keras.layers.core import Dense, Embedding, Lambda, Masking
from chainrule.keras.layers.image_augmentation import (
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from chainrule.keras.layers.layer import (  # noqa: F401  (the private names: models.py's)
    Layer,
    Shape,
    _fmt_shape,
    _snake,
    _unique_name,
    get_mask,
    set_mask,
)
from chainrule.keras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    concatenate,
)
from chainrule.keras.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
)
from chainrule.keras.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from chainrule.keras.layers.preprocessing import CenterCrop, Normalization, Rescaling, Resizing
from chainrule.keras.layers.regularization import Dropout
from chainrule.keras.layers.reshaping import (
    Cropping2D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling2D,
    ZeroPadding2D,
)
from chainrule.keras.layers.rnn import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed

__all__ = [
    "ELU", "GRU", "LSTM", "Activation", "Add", "CenterCrop", "MultiHeadAttention",
    "Normalization", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
    "Rescaling", "Resizing", "Average", "AveragePooling1D", "AveragePooling2D",
    "AvgPool1D", "AvgPool2D", "BatchNormalization", "Bidirectional", "Concatenate", "Conv1D",
    "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "Cropping2D",
    "Dense", "DepthwiseConv2D",
    "Dot", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D",
    "GlobalMaxPool2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GroupNormalization",
    "Input", "InputLayer", "Lambda", "Layer", "LayerNormalization", "LeakyReLU", "Masking",
    "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D", "Maximum", "Minimum", "Multiply",
    "PReLU", "Permute", "ReLU", "RepeatVector", "Reshape", "SeparableConv2D", "SimpleRNN",
    "Softmax", "Subtract", "TimeDistributed", "UpSampling2D", "ZeroPadding2D", "add",
    "concatenate", "get_mask", "set_mask",
]

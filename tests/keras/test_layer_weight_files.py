"""``_keras_weight_groups`` names the groups and ``vars/i`` entries of Keras 3's
``.weights.h5`` files: every weight a Keras model writes for a layer is found at the same
path, in the same layout, as this layer's grouped weights."""

from __future__ import annotations

import os

import numpy as np
import pytest
from tests.keras.test_layer_contracts import call, inputs, make

CASES = [
    ("LSTM(3, return_sequences=True)", (2, 5, 4)),
    ("GRU(2)", (2, 5, 4)),
    ("SimpleRNN(2)", (2, 5, 4)),
    ("Bidirectional(GRU(2, return_sequences=True))", (2, 5, 4)),
    ("TimeDistributed(Dense(2))", (2, 5, 4)),
    ("MultiHeadAttention(num_heads=2, key_dim=3)", [(2, 5, 4), (2, 6, 4)]),
    ("MultiHeadAttention(num_heads=2, key_dim=3, use_bias=False)", [(2, 5, 4), (2, 6, 4)]),
    ("Conv2D(3, 2)", (2, 5, 5, 2)),
    ("SeparableConv2D(3, 2, depth_multiplier=2)", (2, 5, 5, 2)),
    ("BatchNormalization()", (4, 3)),
    ("Normalization()", (4, 3)),
    ("Dense(2)", (2, 3)),
]


@pytest.mark.parametrize("expr,shape", CASES, ids=[c[0] for c in CASES])
def test_weight_groups_follow_keras_weight_files(expr, shape, tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    h5py = pytest.importorskip("h5py")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    x = inputs(expr, shape)
    ours, theirs = make(expr), make(expr, keras.layers)
    call(ours, expr, x)
    rng = np.random.default_rng(0)
    ours.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in ours.get_weights()])
    call(theirs, expr, x)
    theirs.set_weights(ours.get_weights())
    path = tmp_path / "layer.weights.h5"
    saving_lib = pytest.importorskip("keras.src.saving.saving_lib")
    saving_lib.save_weights_only(theirs, str(path))    # what Model.save_weights writes per layer
    written = {}

    def collect(name, obj):
        if isinstance(obj, h5py.Dataset):
            written[name] = np.asarray(obj)

    with h5py.File(path) as f:
        f.visititems(collect)
    ours_paths = {}
    for group, slots in ours._keras_weight_groups():
        for i, (t, to_keras, _) in enumerate(slots):
            ours_paths["/".join(p for p in (group, "vars", str(i)) if p)] = \
                to_keras(np.asarray(t.array))
    assert set(ours_paths) == set(written)
    for key, value in written.items():
        np.testing.assert_array_equal(ours_paths[key], value)

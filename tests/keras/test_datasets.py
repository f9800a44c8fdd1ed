from pathlib import Path

import numpy as np
import pytest

from chainrule.keras.datasets import fashion_mnist, mnist

DATA = Path("/work/shared/data")


@pytest.mark.skipif(not (DATA / "mnist").is_dir(), reason="real MNIST files absent")
@pytest.mark.parametrize("module", [mnist, fashion_mnist])
def test_load_data_keras_shapes_and_dtypes(module, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(DATA))
    (x, y), (xt, yt) = module.load_data()
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((60000, 28, 28), (60000,),
                                                      (10000, 28, 28), (10000,))
    assert {a.dtype for a in (x, y, xt, yt)} == {np.dtype(np.uint8)}
    assert y.max() == 9 and x.max() == 255

"""make_grid layout, normalisation and padding; save_image writes the grid as a PNG."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision.utils import make_grid, save_image

Image = pytest.importorskip("PIL.Image")


def test_grid_layout_padding_and_placement(rng):
    x = rng.random((10, 3, 4, 5)).astype(np.float32)
    grid = make_grid(cr.tensor(x), pad_value=0.5).numpy()
    assert grid.shape == (3, 2 * (4 + 2) + 2, 8 * (5 + 2) + 2)  # nrow=8, padding=2
    np.testing.assert_array_equal(grid[:, 2:6, 2:7], x[0])
    np.testing.assert_array_equal(grid[:, 8:12, 9:14], x[9])  # row 1, column 1
    assert (grid[:, :2] == 0.5).all() and (grid[:, 8:12, 16:] == 0.5).all()  # empty cells
    assert make_grid([cr.tensor(v) for v in x], nrow=4, padding=0).shape == (3, 12, 20)


def test_grey_images_become_rgb_and_one_image_is_returned_as_is(rng):
    x = rng.random((3, 1, 4, 4)).astype(np.float32)
    grid = make_grid(cr.tensor(x), nrow=3, padding=1).numpy()
    assert grid.shape == (3, 6, 16)
    np.testing.assert_array_equal(grid[:, 1:5, 6:10], np.repeat(x[1], 3, axis=0))
    one = make_grid(cr.tensor(x[0, 0])).numpy()  # (H, W)
    assert one.shape == (3, 4, 4)


def test_normalize_by_range_by_batch_and_each_image():
    x = cr.tensor(np.array([[[[0.0, 2.0]]], [[[4.0, 10.0]]]], np.float32))  # (2, 1, 1, 2)
    batch = make_grid(x, padding=0, normalize=True).numpy()[0]
    np.testing.assert_allclose(batch, [[0.0, 0.2, 0.4, 1.0]])
    each = make_grid(x, padding=0, normalize=True, scale_each=True).numpy()[0]
    np.testing.assert_allclose(each, [[0.0, 1.0, 0.0, 1.0]])
    ranged = make_grid(x, padding=0, normalize=True, value_range=(0.0, 4.0)).numpy()[0]
    np.testing.assert_allclose(ranged, [[0.0, 0.5, 1.0, 1.0]])  # clamped above 4
    assert x.numpy()[1, 0, 0, 1] == 10.0  # the input is left alone


def test_bad_inputs_raise():
    with pytest.raises(TypeError, match="list of tensors"):
        make_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        make_grid(cr.zeros(1, 2, 3, 4, 5))


def test_save_image_writes_the_grid_as_png(tmp_path, rng):
    x = rng.random((5, 3, 6, 7)).astype(np.float32)
    path = tmp_path / "grid.png"
    save_image(cr.tensor(x), path, nrow=3)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        pixels = np.asarray(im)
    grid = make_grid(cr.tensor(x), nrow=3).numpy()
    np.testing.assert_array_equal(pixels, np.floor(grid * 255 + 0.5).astype(np.uint8)
                                  .transpose(1, 2, 0))
    save_image(cr.tensor(x[0] * 2 - 0.5), tmp_path / "one", format="png")  # clamped to [0, 1]
    with Image.open(tmp_path / "one") as im:
        assert im.size == (7, 6) and np.asarray(im).min() == 0 and np.asarray(im).max() == 255

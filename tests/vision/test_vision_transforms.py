"""chainrule.vision.transforms on PIL images and on tensors: values against NumPy, PIL and tensor
paths agreeing, seeded randomness, gradients through the tensor ops, torchvision's errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck
from chainrule.vision import transforms as T
from chainrule.vision.transforms import functional as F

Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def rgb(rng):
    return rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)  # H=20, W=30


def chw(a):
    return a.transpose(2, 0, 1)


def test_to_tensor_scales_uint8_and_keeps_other_dtypes(rgb):
    t = T.ToTensor()(Image.fromarray(rgb))
    assert t.shape == (3, 20, 30) and t.dtype == np.float32
    np.testing.assert_allclose(t.numpy(), chw(rgb) / 255.0, rtol=1e-6)
    grey = T.ToTensor()(Image.fromarray(rgb[..., 0]))
    assert grey.shape == (1, 20, 30)
    np.testing.assert_allclose(T.ToTensor()(rgb).numpy(), t.numpy())  # (H, W, C) array
    f = rgb.astype(np.float64) * 3
    np.testing.assert_array_equal(T.ToTensor()(f).numpy(), chw(f))
    bits = T.ToTensor()(Image.fromarray(rgb[..., 0] > 128))  # mode '1'
    np.testing.assert_array_equal(bits.numpy()[0], (rgb[..., 0] > 128).astype(np.float32))
    with pytest.raises(TypeError, match="PIL Image or ndarray"):
        T.ToTensor()([1, 2])


def test_pil_to_tensor_keeps_pixels(rgb):
    t = T.PILToTensor()(Image.fromarray(rgb))
    assert t.dtype == np.uint8
    np.testing.assert_array_equal(t.numpy(), chw(rgb))


def test_normalize_values_inplace_gradient_and_errors(rng):
    x = cr.tensor(rng.random((2, 3, 4, 5)).astype(np.float32), requires_grad=True)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    ref = (x.detach().numpy() - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1))
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(1 / np.reshape(std, (3, 1, 1)),
                                                               x.shape), rtol=1e-6)
    y = cr.tensor(x.detach().numpy().copy())
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-6)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize(mean, std)(cr.zeros(3, 2, 2, dtype=cr.uint8))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize(mean, (1.0, 0.0, 1.0))(x)
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        T.Normalize(mean, std)(cr.zeros(4, 4))


def test_compose_and_lambda():
    pipeline = T.Compose([T.Lambda(lambda v: v + 1), T.Lambda(lambda v: v * 10)])
    assert pipeline(2) == 30
    assert "Lambda()" in repr(pipeline)
    with pytest.raises(TypeError, match="should be callable"):
        T.Lambda(3)


def test_crop_center_crop_and_flip_agree_between_pil_and_tensor(rgb):
    img, t = Image.fromarray(rgb), F.to_tensor(rgb)
    for transform, ref in ((T.CenterCrop(10), rgb[5:15, 10:20]),
                           (T.CenterCrop((7, 9)), rgb[6:13, 10:19]),  # round(6.5) == 6
                           (lambda x: F.hflip(x), rgb[:, ::-1]),
                           (lambda x: F.crop(x, 2, 3, 5, 6), rgb[2:7, 3:9])):
        np.testing.assert_array_equal(np.asarray(transform(img)), ref)
        np.testing.assert_allclose(transform(t).numpy(), chw(ref) / 255.0, rtol=1e-6)


def test_center_crop_larger_than_the_image_pads_with_zeros(rgb):
    ref = np.zeros((24, 30, 3), np.uint8)
    ref[2:22] = rgb
    np.testing.assert_array_equal(np.asarray(T.CenterCrop((24, 30))(Image.fromarray(rgb))), ref)
    np.testing.assert_allclose(T.CenterCrop((24, 30))(F.to_tensor(rgb)).numpy(),
                               chw(ref) / 255.0, rtol=1e-6)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding", [3, (1, 2), (1, 2, 3, 4)])
def test_pad_matches_numpy_for_pil_and_tensor(rgb, mode, padding):
    p = [padding] * 4 if isinstance(padding, int) else list(padding) * (4 // len(padding))
    left, top, right, bottom = p
    kw = {"constant_values": 7} if mode == "constant" else {}
    ref = np.pad(rgb, [(top, bottom), (left, right), (0, 0)], mode=mode, **kw)
    fill = 7 if mode == "constant" else 0
    np.testing.assert_array_equal(np.asarray(F.pad(Image.fromarray(rgb), padding, fill, mode)),
                                  ref)
    t = cr.tensor(chw(rgb).astype(np.float32))
    np.testing.assert_array_equal(F.pad(t, padding, fill, mode).numpy(), chw(ref))


def test_pad_rejects_bad_arguments(rgb):
    with pytest.raises(ValueError, match="Padding mode"):
        F.pad(F.to_tensor(rgb), 2, padding_mode="wrap")
    with pytest.raises(ValueError, match="1, 2, or 4 element"):
        F.pad(F.to_tensor(rgb), (1, 2, 3))


def test_random_crop_is_seeded_and_the_same_on_pil_and_tensor(rng):
    a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    crop = T.RandomCrop(32, padding=4)
    cr.manual_seed(5)
    from_pil = [F.to_tensor(crop(Image.fromarray(a))).numpy() for _ in range(6)]
    cr.manual_seed(5)
    from_tensor = [crop(F.to_tensor(a)).numpy() for _ in range(6)]
    padded = np.pad(chw(a), [(0, 0), (4, 4), (4, 4)]) / 255.0
    offsets = set()
    for p, t in zip(from_pil, from_tensor):
        np.testing.assert_allclose(p, t, rtol=1e-6)
        assert p.shape == (3, 32, 32)
        hits = [(i, j) for i in range(9) for j in range(9)
                if np.allclose(padded[:, i:i + 32, j:j + 32], p)]
        assert hits, "the crop is not a window of the padded image"
        offsets.add(hits[0])
    assert len(offsets) > 1


def test_random_crop_pad_if_needed_and_size_errors(rgb):
    out = T.RandomCrop((25, 35), pad_if_needed=True)(Image.fromarray(rgb))
    assert out.size == (35, 25)
    with pytest.raises(ValueError, match="Required crop size"):
        T.RandomCrop(25)(Image.fromarray(rgb))


def test_random_horizontal_flip_probability_and_seed(rgb):
    t = F.to_tensor(rgb)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t).numpy(), t.numpy()[..., ::-1])
    assert T.RandomHorizontalFlip(0.0)(t) is t
    flip = T.RandomHorizontalFlip()
    cr.manual_seed(0)
    first = [flip(t) is not t for _ in range(400)]
    cr.manual_seed(0)
    assert [flip(t) is not t for _ in range(400)] == first
    assert 160 < sum(first) < 240
    with pytest.raises(ValueError, match="p must be in"):
        T.RandomHorizontalFlip(1.5)


def test_resize_output_sizes():
    assert F.resized_output_size(20, 30, 10) == [10, 15]
    assert F.resized_output_size(30, 20, [10]) == [15, 10]
    assert F.resized_output_size(20, 30, (7, 9)) == [7, 9]
    assert F.resized_output_size(20, 60, 10, max_size=20) == [6, 20]
    with pytest.raises(ValueError, match="max_size = 10 must be strictly greater"):
        F.resized_output_size(20, 60, 10, max_size=10)
    with pytest.raises(ValueError, match="1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        T.Resize(2.5)


def test_resize_tensor_is_close_to_pil_and_keeps_uint8(rgb):
    pil = np.asarray(T.Resize((8, 11))(Image.fromarray(rgb))).astype(np.float64)
    t = T.Resize((8, 11))(cr.tensor(chw(rgb)))
    assert t.dtype == np.uint8 and t.shape == (3, 8, 11)
    assert np.abs(chw(pil) - t.numpy()).max() <= 1  # the same filter, rounded differently
    up = T.Resize(40)(F.to_tensor(rgb))
    assert up.shape == (3, 40, 60)


def test_resize_bilinear_matches_a_per_pixel_reference(rng):
    x = rng.random((2, 5, 7))

    def reference(n, m, antialias):
        s = n / m
        support = max(s, 1.0) if antialias else 1.0
        w = np.zeros((m, n))
        for i in range(m):
            c = (i + 0.5) * s
            for j in range(n):
                w[i, j] = max(0.0, 1.0 - abs(j + 0.5 - c) / support)
            w[i] /= w[i].sum()
        return w

    for size in ((3, 4), (9, 12)):
        for aa in (True, False):
            out = F.resize(cr.tensor(x), size, antialias=aa).numpy()
            ref = reference(5, size[0], aa) @ x @ reference(7, size[1], aa).T
            np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_resize_nearest_takes_floor_of_scaled_index(rng):
    x = rng.random((1, 4, 6))
    out = F.resize(cr.tensor(x), (8, 3), T.InterpolationMode.NEAREST).numpy()
    np.testing.assert_array_equal(out, x[:, [0, 0, 1, 1, 2, 2, 3, 3]][:, :, [0, 2, 4]])


def test_gradients_flow_through_tensor_crop_flip_and_resize(rng):
    x = cr.tensor(rng.random((2, 6, 7)), requires_grad=True)
    gradcheck(lambda v: F.resize(F.hflip(F.crop(v, -1, 1, 6, 5)), (4, 3)), [x])
    gradcheck(lambda v: F.pad(v, (1, 2), fill=0.5), [x])

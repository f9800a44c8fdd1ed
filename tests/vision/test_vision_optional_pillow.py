"""Pillow is optional: importing chainrule.vision does not import it, tensors work without it,
and PIL work without it says what to install."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import _pil
from chainrule.vision.transforms import functional as F


def test_importing_vision_does_not_import_pillow():
    code = ("import sys, chainrule, chainrule.vision; "
            "assert 'PIL' not in sys.modules, 'PIL was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_pillow_pil_work_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `from PIL import Image` fail
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[vision\]'"):
        _pil.pil_image()
    t = cr.tensor(np.arange(12.0).reshape(1, 3, 4))
    np.testing.assert_array_equal(F.hflip(t).numpy(), t.numpy()[..., ::-1])  # tensors still work

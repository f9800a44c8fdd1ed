"""Exact resume: 2 epochs, checkpoint, 1 more epoch in a new process == 3 epochs straight.

The run uses everything a checkpoint must carry: Adam moments and step counts, a OneCycleLR
that also cycles Adam's beta1, a DataLoader shuffled by its own seeded generator, and Dropout
masks from the global generator.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("safetensors")

SCRIPT = textwrap.dedent('''
    import sys

    import numpy as np

    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.data import DataLoader, TensorDataset
    from chainrule.optim.lr_scheduler import OneCycleLR
    from chainrule.serialization import load, save

    EPOCHS = 3


    def setup():
        cr.manual_seed(0)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((100, 4)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
        opt = optim.Adam(model.parameters(), lr=1e-2)
        loader = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=16,
                            shuffle=True, generator=cr.Generator(1))
        sched = OneCycleLR(opt, max_lr=0.05, epochs=EPOCHS, steps_per_epoch=len(loader))
        return model, opt, sched, loader


    def epoch(model, opt, sched, loader):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
            sched.step()


    def params(model):
        return {k: v.numpy().copy() for k, v in model.state_dict().items()}


    def checkpoint(model, opt, sched, loader, path):
        save({"model": model.state_dict(), "optimizer": opt.state_dict(),
              "scheduler": sched.state_dict(), "rng": cr.get_rng_state(),
              "loader_rng": loader.generator.get_state()}, path)


    def resume(path):
        model, opt, sched, loader = setup()
        ckpt = load(path)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        cr.set_rng_state(ckpt["rng"])
        loader.generator.set_state(ckpt["loader_rng"])
        epoch(model, opt, sched, loader)
        save(model.state_dict(), path + ".resumed")


    if __name__ == "__main__":
        resume(sys.argv[1])
''')


def test_resume_in_a_new_process_is_bitwise_identical(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    ns = runpy.run_path(str(script), run_name="resume_script")
    setup, epoch, params = ns["setup"], ns["epoch"], ns["params"]

    straight = setup()
    for _ in range(3):
        epoch(*straight)
    expected = params(straight[0])

    first = setup()
    for _ in range(2):
        epoch(*first)
    after_two = params(first[0])
    ckpt = str(tmp_path / "ckpt.safetensors")
    ns["checkpoint"](*first, ckpt)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, str(script), ckpt], check=True, env=env, timeout=120)

    from chainrule.serialization import load
    resumed = {k: v.numpy() for k, v in load(ckpt + ".resumed").items()}
    assert set(resumed) == set(expected)
    for k in expected:
        assert not np.array_equal(after_two[k], expected[k])  # the third epoch did something
        np.testing.assert_array_equal(resumed[k], expected[k], err_msg=k)

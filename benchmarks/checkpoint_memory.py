"""Peak resident memory of loading a checkpoint: chainrule vs PyTorch, side by side.

    python benchmarks/checkpoint_memory.py [--mib 300]

Writes one state dict of float32 tensors of the given total size with ``cr.save`` (safetensors)
and with ``torch.save``, then loads each in a fresh subprocess and reports the growth of the
peak resident set size during the load (``VmHWM``, Linux), as a multiple of the data's size. One
copy of the data is the floor: the loaded tensors must live somewhere.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_MEASURE = """
import json, sys
def peak():  # this process's high-water mark (ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
kind, path = sys.argv[1], sys.argv[2]
if kind == "chainrule":
    import chainrule as cr
    before = peak()
    state = cr.load(path)
    total = sum(t.numpy().sum(dtype="float64") for t in state.values())  # touch every byte
else:
    import torch
    before = peak()
    state = torch.load(path, weights_only=True)
    total = sum(float(t.sum(dtype=torch.float64)) for t in state.values())
print(json.dumps({"growth": peak() - before, "total": total}))
"""


def _measure(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _MEASURE, kind, str(path)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mib", type=int, default=300, help="checkpoint size in MiB (default 300)")
    args = p.parse_args()
    import numpy as np

    import chainrule as cr

    n_tensors = 30
    per = args.mib * 2**20 // 4 // n_tensors
    rng = np.random.default_rng(0)
    arrays = {f"layer{i}.weight": rng.standard_normal(per, dtype=np.float32)
              for i in range(n_tensors)}
    size = sum(a.nbytes for a in arrays.values())
    with tempfile.TemporaryDirectory() as d:
        rows = []
        ours = Path(d) / "ckpt.safetensors"
        cr.save({k: cr.tensor(v) for k, v in arrays.items()}, ours)
        rows.append(("chainrule (cr.load, mapped)", _measure("chainrule", ours)))
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None:
            theirs = Path(d) / "ckpt.pt"
            torch.save({k: torch.from_numpy(v) for k, v in arrays.items()}, theirs)
            rows.append(("PyTorch (torch.load)", _measure("torch", theirs)))
    print(f"checkpoint of {size / 2**20:.0f} MiB ({n_tensors} float32 tensors)")
    print(f"{'loader':32s} {'peak growth MiB':>16s} {'x data size':>12s}")
    for name, r in rows:
        print(f"{name:32s} {r['growth'] / 2**20:16.0f} {r['growth'] / size:12.2f}")


if __name__ == "__main__":
    main()

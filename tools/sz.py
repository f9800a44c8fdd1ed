"""Line counts of chainrule's Python sources, as tinygrad's sz.py: every file, the total, and the
core (Tensor, autograd/, ops/). Exits with 1 when a file is over the 400-line budget (STYLE rule 9).

Usage: ``python tools/sz.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "chainrule"
LIMIT = 400
CORE = ("tensor.py", "tensor_operators.py", "autograd/", "ops/")


def line_counts(root: Path = SRC) -> dict[str, int]:
    """Lines of each ``.py`` file under ``root``, keyed by its path relative to ``root``."""
    return {p.relative_to(root).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
            for p in sorted(root.rglob("*.py"))}


def over_budget(counts: dict[str, int], limit: int = LIMIT) -> dict[str, int]:
    """The files of ``counts`` with more than ``limit`` lines."""
    return {path: n for path, n in counts.items() if n > limit}


def main() -> int:
    counts = line_counts()
    for path, n in counts.items():
        print(f"{n:6d}  {path}")
    core = sum(n for path, n in counts.items() if path.startswith(CORE))
    print(f"{sum(counts.values()):6d}  total\n{core:6d}  core (tensor*.py, autograd/, ops/)")
    over = over_budget(counts)
    for path, n in over.items():
        print(f"{path}: {n} lines, over the {LIMIT}-line budget", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

"""Line counts of chainrule's Python sources, as tinygrad's sz.py: every file, the total, and the
core (Tensor, autograd/, ops/). It reports; it never fails: files are split by concept, not by
size (STYLE rule 9).

Usage: ``python tools/sz.py``
"""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "chainrule"
CORE = ("tensor.py", "tensor_operators.py", "autograd/", "ops/")


def line_counts(root: Path = SRC) -> dict[str, int]:
    """Lines of each ``.py`` file under ``root``, keyed by its path relative to ``root``."""
    return {p.relative_to(root).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
            for p in sorted(root.rglob("*.py"))}


def main() -> None:
    counts = line_counts()
    for path, n in counts.items():
        print(f"{n:6d}  {path}")
    core = sum(n for path, n in counts.items() if path.startswith(CORE))
    print(f"{sum(counts.values()):6d}  total\n{core:6d}  core (tensor*.py, autograd/, ops/)")


if __name__ == "__main__":
    main()

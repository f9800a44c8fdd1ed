"""STYLE rule 9: no source file over 400 lines (``python tools/sz.py`` prints the counts)."""

import runpy
from pathlib import Path

SZ = runpy.run_path(str(Path(__file__).resolve().parents[1] / "tools" / "sz.py"))


def test_no_source_file_is_over_the_line_budget() -> None:
    counts = SZ["line_counts"]()
    assert "tensor.py" in counts, f"no sources found under {SZ['SRC']}"
    over = SZ["over_budget"](counts)
    assert not over, f"split these along a natural seam (limit {SZ['LIMIT']} lines): {over}"

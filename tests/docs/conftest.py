"""The documentation site, built once per test run (shared by the xdist workers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, worker_id) -> dict:
    """``{"dir": Path, "returncode": int, "log": str, "seconds": float}`` of
    ``mkdocs build --strict``; the first worker builds, the others wait for it."""
    pytest.importorskip("mkdocs_jupyter")
    pytest.importorskip("mkdocstrings_handlers.python")
    filelock = pytest.importorskip("filelock")
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent
    out, record = root / "docs-site", root / "docs-site.json"
    with filelock.FileLock(str(root / "docs-site.lock")):
        if not record.exists():
            record.write_text(json.dumps(_build(out)))
    result = json.loads(record.read_text())
    result["dir"] = Path(result["dir"])
    return result


def _build(out: Path) -> dict:
    import time

    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MKDOCS_JUPYTER_CACHE="false")
    # The notebooks' kernel imports this checkout's chainrule, whatever is installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True)
    return {"dir": str(out), "returncode": proc.returncode, "log": proc.stdout + proc.stderr,
            "seconds": time.monotonic() - start}

"""The static Playground without a browser: the in-page driver, the chainrule wheel, the site."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from chainrule.playground import site
from chainrule.playground.browser import LocalTab


def texts(out: list[str]) -> list[dict]:
    return [json.loads(t) for t in out]


def test_local_tab_speaks_the_server_protocol_and_trains():
    tab = LocalTab(seed=3)
    kinds = [m["type"] for m in texts(tab.hello())]
    assert kinds == ["hello", "config", "data", "frame"]
    (cfg,) = texts(tab.handle(json.dumps({"type": "config", "config": {"dataset": "xor"}})))[:1]
    assert cfg["config"]["dataset"] == "xor" and cfg["config"]["seed"] == 3
    assert texts(tab.handle("{bad"))[0]["type"] == "error"
    assert not tab.more and tab.train(0.01) == []
    tab.handle(json.dumps({"type": "step"}))
    frames = []
    while tab.more:
        frames += texts(tab.train(0.01))
    assert frames[-1]["type"] == "frame" and frames[-1]["epoch"] == 1
    assert not frames[-1]["playing"]
    assert [f["epoch"] for f in frames[:-1]] == [0] * (len(frames) - 1)  # mid-epoch frames


def test_local_tab_reports_divergence_and_stops():
    tab = LocalTab(seed=1)
    tab.handle(json.dumps({"type": "config", "config": {
        "dataset": "plane", "learning_rate": 10, "activation": "identity",
        "features": ["x1^2", "x2^2"], "layers": [8]}}))
    tab.handle(json.dumps({"type": "play"}))
    out: list[dict] = []
    with np.errstate(all="ignore"):
        for _ in range(1000):
            if not tab.more:
                break
            out += texts(tab.train(0.05))
    errors = [m for m in out if m["type"] == "error"]
    assert errors and "diverged" in errors[0]["message"]
    assert not tab.more and out[-1]["type"] == "frame" and not out[-1]["playing"]


def test_chainrule_wheel_imports_and_trains_from_the_zip(tmp_path):
    wheel = site.chainrule_wheel(tmp_path)
    assert wheel.name == f"chainrule-{site.chainrule.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        record = z.read(f"chainrule-{site.chainrule.__version__}.dist-info/RECORD").decode()
    assert "chainrule/playground/browser.py" in names and "chainrule/__init__.py" in names
    assert not any("__pycache__" in n or "/static/" in n for n in names)
    assert {line.split(",")[0] for line in record.splitlines()} == names
    # a fresh interpreter imports chainrule from the wheel alone and trains one epoch
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); import chainrule;"
            "assert chainrule.__file__.startswith(sys.argv[1]), chainrule.__file__;"
            "from chainrule.playground.browser import LocalTab; t = LocalTab();"
            "t.handle(json.dumps({'type': 'step'}));"
            "out = [m for _ in range(10**6) if t.more for m in t.train(0.05)];"
            "print(json.loads(out[-1])['epoch'])")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(wheel)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


LOCK = {"info": {"abi_version": "2026_0", "arch": "wasm32", "python": "3.14.2"},
        "packages": {"numpy": {"file_name": "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32"
                                            ".whl", "version": "2.4.6"}}}


def fake_core(path):
    path.mkdir()
    for name in site.PYODIDE_FILES:
        (path / name).write_text(json.dumps(LOCK) if name.endswith(".json") else name)
    return path


def test_write_site_lays_out_a_static_folder(tmp_path):
    core = fake_core(tmp_path / "core")
    wheel = tmp_path / "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    wheel.write_bytes(b"wheel")
    out = site.write_site(tmp_path / "out", core, [wheel])
    manifest = json.loads((out / "site.json").read_text())
    assert manifest["wheels"][0] == f"wheels/{wheel.name}"
    assert manifest["wheels"][1].startswith("wheels/chainrule-")
    for rel in manifest["wheels"]:
        assert (out / rel).is_file()
    for name in site.PYODIDE_FILES:
        assert (out / "pyodide" / name).read_text() == (core / name).read_text()
    page = (out / "index.html").read_text()
    assert page.index("static/pyodide-transport.js") < page.index("static/app.js")
    assert (out / "static" / "pyodide-worker.js").is_file()
    # writing again replaces the site; a folder holding something else is refused
    site.write_site(out, core, [wheel])
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(site.SiteError, match="not empty"):
        site.write_site(tmp_path / "other", core, [wheel])


def test_export_says_which_part_is_missing(tmp_path):
    core = fake_core(tmp_path / "core")
    with pytest.raises(site.SiteError, match="numpy wheel .*nope.whl does not exist"):
        site.export_site(tmp_path / "out", pyodide=core, numpy_wheel=tmp_path / "nope.whl")
    linux = tmp_path / "numpy-2.4.6-cp314-cp314-manylinux_2_27_x86_64.whl"
    linux.write_bytes(b"wheel")
    with pytest.raises(site.SiteError, match="not built for this Pyodide .*cp314-pyemscripten_"):
        site.export_site(tmp_path / "out", pyodide=core, numpy_wheel=linux)
    (core / LOCK["packages"]["numpy"]["file_name"]).write_bytes(b"wheel")  # a full distribution
    site.export_site(tmp_path / "full", pyodide=core)
    assert (tmp_path / "full" / "wheels" / LOCK["packages"]["numpy"]["file_name"]).is_file()
    (core / "pyodide-lock.json").write_text(json.dumps({"info": {}, "packages": {}}))
    with pytest.raises(site.SiteError, match="names no numpy"):
        site.export_site(tmp_path / "out", pyodide=core)
    with pytest.raises(site.SiteError, match="neither a folder nor a file"):
        site.export_site(tmp_path / "out", pyodide=tmp_path / "missing")
    assert not (tmp_path / "out").exists()


def test_cli_export_site_writes_the_folder(tmp_path):
    core = fake_core(tmp_path / "core")
    wheel = tmp_path / "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    wheel.write_bytes(b"wheel")
    from chainrule.cli import main
    rc = main(["playground", "--export-site", str(tmp_path / "site"), "--pyodide", str(core),
               "--numpy-wheel", str(wheel)])
    assert rc == 0 and (tmp_path / "site" / "wheels" / wheel.name).is_file()
    assert main(["playground", "--export-site", str(tmp_path / "x"), "--pyodide",
                 str(tmp_path / "missing")]) == 1

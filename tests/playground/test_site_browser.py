"""The exported static Playground in headless Chromium, served by a static server on 127.0.0.1.

Pyodide's core comes from the npm ``pyodide`` package (``npm pack``, as ``--export-site`` does),
or from ``$CHAINRULE_PYODIDE`` (a distribution folder or the npm ``.tgz``). Training in the page
also needs NumPy's Pyodide wheel, which neither PyPI nor the npm package provides: the full
Pyodide distribution holds it; point ``$CHAINRULE_PYODIDE_NUMPY_WHEEL`` (or ``$CHAINRULE_PYODIDE``)
at it to run that test.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chainrule.playground import site

pytestmark = pytest.mark.browser
STATE = "window.playground.state"


@pytest.fixture(scope="module")
def pyodide_core(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("pyodide")
    source = os.environ.get("CHAINRULE_PYODIDE")
    if source is None and shutil.which("npm") is None:
        pytest.skip("npm is not installed (apt-get install npm) and $CHAINRULE_PYODIDE is unset")
    return site._pyodide_core(tmp, source)


def numpy_wheel(core: Path) -> Path | None:
    if os.environ.get("CHAINRULE_PYODIDE_NUMPY_WHEEL"):
        return Path(os.environ["CHAINRULE_PYODIDE_NUMPY_WHEEL"])
    entry = json.loads((core / "pyodide-lock.json").read_text())["packages"]["numpy"]
    return core / entry["file_name"] if (core / entry["file_name"]).is_file() else None


@pytest.fixture
def serve():
    """``serve(folder)`` → the URL of a static server for it on 127.0.0.1, stopped after."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_Quiet, directory=str(folder))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def stdlib_modules_chainrule_imports() -> list[str]:
    """Public standard-library modules that importing the in-page driver loads, in CPython."""
    code = ("import sys, json; before = set(sys.modules); import chainrule.playground.browser;"
            "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before}"
            " & set(sys.stdlib_module_names))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return [m for m in json.loads(out.stdout) if not m.startswith("_")]


def test_exported_site_runs_python_from_its_own_folder(pyodide_core, serve, context, tmp_path,
                                                       artifacts):
    """Pyodide boots from the folder, installs the chainrule wheel and reports in the page what
    stops it (here: no NumPy wheel in this site); nothing comes from anywhere else."""
    out = site.write_site(tmp_path / "site", pyodide_core, [])
    url = serve(out)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("!document.getElementById('error').hidden", timeout=180_000)
    assert "ModuleNotFoundError: No module named 'numpy'" in page.text_content("#error")
    assert page.text_content("#conn") == "disconnected (1011)"
    page.screenshot(path=str(artifacts / "static-site-without-numpy.png"), full_page=True)

    # Beside the page, the same Pyodide and wheel: chainrule's standard-library needs are there.
    mods = stdlib_modules_chainrule_imports()
    assert {"csv", "logging"} <= set(mods)
    missing = page.evaluate("""async (mods) => {
        const { loadPyodide } = await import('./pyodide/pyodide.mjs');
        const py = await loadPyodide({ indexURL: new URL('pyodide/', location.href).href });
        const site = await (await fetch('site.json')).json();
        await py.loadPackage(site.wheels.map((w) => new URL(w, location.href).href));
        py.globals.set('mods', py.toPy(mods));
        const r = py.runPython(`
import importlib, importlib.util
bad = [m for m in mods if importlib.util.find_spec(m) is None]
for m in mods:
    if m not in bad:
        importlib.import_module(m)
bad.append(importlib.util.find_spec('chainrule').origin)
bad`).toJs();
        return r; }""", mods)
    assert missing[:-1] == [] and missing[-1].endswith("chainrule/__init__.py")
    assert requests and all(r.startswith(url) or r.startswith("data:") for r in requests)


def test_exported_site_trains_in_the_browser(pyodide_core, serve, context, tmp_path, artifacts):
    wheel = numpy_wheel(pyodide_core)
    if wheel is None:
        pytest.skip("no NumPy wheel for Pyodide: PyPI has none for its platform and the npm "
                    "package holds only the core; set $CHAINRULE_PYODIDE_NUMPY_WHEEL")
    out = site.export_site(tmp_path / "site", pyodide=pyodide_core, numpy_wheel=wheel)
    url = serve(out)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(url + "#dataset=xor&layers=8&optimizer=adam&batch_size=30&seed=1")
    page.wait_for_function(f"{STATE}.frames > 0 && {STATE}.config && "
                           f"{STATE}.config.dataset === 'xor'", timeout=300_000)
    assert page.text_content("#conn").startswith("running in this page (Pyodide")
    page.click("#play")
    page.wait_for_function("parseFloat(document.getElementById('test-loss').textContent) < 0.2",
                           timeout=300_000)
    page.click("#play")
    page.wait_for_function(f"{STATE}.frame.playing === false")
    page.click("#graph")
    page.wait_for_selector("#graph-svg svg")
    page.screenshot(path=str(artifacts / "static-site.png"), full_page=True)
    assert all(r.startswith(url) or r.startswith("data:") for r in requests)


# Pyodide's API as the worker uses it, answered by a LocalTab in this process (synchronous XHR
# from the worker to the test's server): the page, its channel and the worker run for real.
STUB_PYODIDE = """
const rpc = (method, args) => {
  const x = new XMLHttpRequest();
  x.open("POST", "/rpc", false);
  x.send(JSON.stringify({ method, args }));
  return JSON.parse(x.responseText);
};
const list = (v) => ({ toJs: () => v, destroy: () => {} });
export async function loadPyodide(options) {
  rpc("loadPyodide", [options.indexURL]);
  return {
    version: "stub",
    loadPackage: async (urls) => { rpc("loadPackage", [urls]); },
    runPython: (code) => {
      rpc("runPython", [code]);
      return { hello: () => list(rpc("hello", [])), handle: (t) => list(rpc("handle", [t])),
               train: (s) => list(rpc("train", [s])), get more() { return rpc("more", []); } };
    },
  };
}
"""


def test_exported_page_and_worker_drive_a_local_tab(pyodide_core, context, tmp_path, artifacts):
    """The static page's worker channel end to end, with Pyodide replaced by a stand-in that
    forwards to a ``LocalTab`` here (the one part no registry lets us run: NumPy in wasm)."""
    from chainrule.playground.browser import LocalTab

    out = site.write_site(tmp_path / "site", pyodide_core, [])
    (out / "pyodide" / "pyodide.mjs").write_text(STUB_PYODIDE)
    calls: list[tuple[str, list]] = []
    tab = LocalTab(seed=1)

    class Handler(_Quiet):
        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append((req["method"], req["args"]))
            m = getattr(tab, req["method"], None)
            result = (m if not callable(m) else m(*req["args"])) if m is not None else None
            body = json.dumps(result).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(out)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "#dataset=xor&layers=8&optimizer=adam&batch_size=30&seed=1")
        page.wait_for_function(f"{STATE}.frames > 0 && {STATE}.config && "
                               f"{STATE}.config.dataset === 'xor'")
        assert page.text_content("#conn") == "running in this page (Pyodide stub, chainrule " \
                                               f"{site.chainrule.__version__})"
        (urls,) = [a[0] for m, a in calls if m == "loadPackage"]
        assert urls == [url + w for w in json.loads((out / "site.json").read_text())["wheels"]]
        assert [a[0] for m, a in calls if m == "loadPyodide"] == [url + "pyodide/"]
        assert tab.session.config["layers"] == [8] and tab.session.config["seed"] == 1
        page.click("#play")
        page.wait_for_function(f"{STATE}.frame.epoch >= 5", timeout=120_000)
        page.click("#play")
        page.wait_for_function(f"{STATE}.frame.playing === false")
        page.wait_for_function(f"{STATE}.frame.epoch === {tab.session.epoch}")
        assert page.text_content("#test-loss") == f"{tab.session.test_loss:.3f}"
        page.evaluate("window.playground.setConfig({learning_rate: -1})")  # refused, shown
        page.wait_for_function("!document.getElementById('error').hidden")
        assert "learning_rate" in page.text_content("#error")
        page.screenshot(path=str(artifacts / "static-site-worker.png"), full_page=True)
        assert errors == []
    finally:
        httpd.shutdown()
        httpd.server_close()

"""The static, serverless Playground: ``chainrule playground --export-site DIR``.

Writes a folder that any static web server can host (nothing else runs on the server): the
page, Pyodide's core from the npm ``pyodide`` package, NumPy's Pyodide wheel and a wheel of this
chainrule. The page starts a Web Worker in which Pyodide imports chainrule and trains through
``chainrule.playground.browser.LocalTab``, so the maths is the library's, as on the server. All
of it is fetched from the package registries when the site is written; the page loads nothing
but the files in the folder.

Layout of the folder::

    index.html        the page (static/index.html plus the worker channel)
    static/           app.js, style.css, pyodide-transport.js, pyodide-worker.js
    pyodide/          Pyodide's core (pyodide.mjs, pyodide.asm.wasm, python_stdlib.zip, ...)
    wheels/           numpy-…-pyemscripten_…_wasm32.whl, chainrule-…-py3-none-any.whl
    site.json         which wheels the worker loads
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import chainrule

PYODIDE_VERSION = "314.0.8"
"""The npm ``pyodide`` release the site is built on (CPython 3.14, NumPy 2.4.6 in its lock)."""
STATIC = Path(__file__).parent / "static"
PAGE_FILES = ("app.js", "style.css", "pyodide-transport.js", "pyodide-worker.js")
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")
_SKIP = {"__pycache__"}
_SKIP_PATHS = {("playground", "static"), ("datasets", "assets")}  # not used in the browser


class SiteError(RuntimeError):
    """A part of the site could not be had; the message says which and what to do."""


def export_site(out: str | Path, pyodide: str | Path | None = None,
                numpy_wheel: str | Path | None = None) -> Path:
    """Write the static Playground into ``out`` (created; an existing site there is replaced).

    Args:
        out: the folder to write.
        pyodide: a Pyodide distribution to take the core from (a folder, or the npm package's
            ``.tgz``); by default ``npm pack pyodide@PYODIDE_VERSION``.
        numpy_wheel: NumPy built for that Pyodide (``numpy-…-pyemscripten_…_wasm32.whl``); by
            default the one named in Pyodide's lock when the distribution holds it, else
            ``pip download`` of that version for the lock's platform.

    Raises:
        SiteError: when npm, Pyodide or NumPy's Pyodide wheel cannot be had.
    """
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="chainrule-site-") as tmp:
        core = _pyodide_core(Path(tmp), pyodide)
        lock = json.loads((core / "pyodide-lock.json").read_text())
        wheel = Path(numpy_wheel) if numpy_wheel else _numpy_wheel(core, lock, Path(tmp))
        if not wheel.is_file():
            raise SiteError(f"export-site: numpy wheel {wheel} does not exist")
        tags = _tags(lock)
        if not all(t in wheel.name for t in tags):
            raise SiteError(f"export-site: {wheel.name} is not built for this Pyodide "
                            f"(its wheels are tagged {'-'.join(tags)})")
        write_site(out, core, [wheel])
    return out


def write_site(out: Path, core: Path, wheels: list[Path]) -> Path:
    """Write the page, Pyodide's ``core`` files, ``wheels`` and a chainrule wheel into ``out``."""
    out = Path(out)
    if out.exists() and not (out / "site.json").exists() and any(out.iterdir()):
        raise SiteError(f"export-site: {out} is not empty and holds no exported site; "
                        f"choose a new or empty folder")
    for sub in ("static", "pyodide", "wheels"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    for name in PAGE_FILES:
        shutil.copyfile(STATIC / name, out / "static" / name)
    for name in PYODIDE_FILES:
        if not (core / name).is_file():
            raise SiteError(f"export-site: the Pyodide distribution {core} has no {name}")
        shutil.copyfile(core / name, out / "pyodide" / name)
    names = []
    for w in wheels:
        shutil.copyfile(w, out / "wheels" / w.name)
        names.append(f"wheels/{w.name}")
    names.append(f"wheels/{chainrule_wheel(out / 'wheels').name}")
    page = (STATIC / "index.html").read_text()
    tag = '<script src="static/app.js"></script>'
    if tag not in page:
        raise SiteError("export-site: static/index.html does not load static/app.js")
    page = page.replace(tag, '<script src="static/pyodide-transport.js"></script>\n' + tag)
    (out / "index.html").write_text(page)
    (out / "site.json").write_text(json.dumps({
        "chainrule": chainrule.__version__, "wheels": names}, indent=1) + "\n")
    return out


def chainrule_wheel(dest: Path) -> Path:
    """A pure-Python wheel of the chainrule package this runs from, written into ``dest``."""
    pkg = Path(chainrule.__file__).parent
    version = chainrule.__version__
    dist = f"chainrule-{version}.dist-info"
    path = dest / f"chainrule-{version}-py3-none-any.whl"
    files: dict[str, bytes] = {}
    for f in sorted(pkg.rglob("*")):
        rel = f.relative_to(pkg)
        if f.is_file() and not _SKIP & set(rel.parts) and rel.parts[:2] not in _SKIP_PATHS:
            files[f"chainrule/{rel.as_posix()}"] = f.read_bytes()
    files[f"{dist}/METADATA"] = (f"Metadata-Version: 2.1\nName: chainrule\nVersion: {version}\n"
                                 f"Requires-Dist: numpy\n").encode()
    files[f"{dist}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: chainrule.playground.site\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _pyodide_core(tmp: Path, source: str | Path | None) -> Path:
    """A folder holding Pyodide's core files: ``source`` itself, its unpacked ``.tgz``, or the
    npm package fetched with ``npm pack``."""
    if source is not None and Path(source).is_dir():
        return Path(source)
    if source is None:
        npm = shutil.which("npm")
        if npm is None:
            raise SiteError("export-site needs npm to fetch Pyodide (apt-get install npm), or "
                            "--pyodide PATH to a Pyodide distribution or its npm .tgz")
        spec = f"pyodide@{PYODIDE_VERSION}"
        print(f"fetching {spec} with npm pack", file=sys.stderr)
        done = subprocess.run([npm, "pack", spec, "--pack-destination", str(tmp)],
                              capture_output=True, text=True, cwd=tmp)
        tgz = sorted(tmp.glob("pyodide-*.tgz"))
        if done.returncode or not tgz:
            raise SiteError(f"export-site: npm pack {spec} failed:\n{done.stderr.strip()}")
        source = tgz[0]
    source = Path(source)
    if not source.is_file():
        raise SiteError(f"export-site: --pyodide {source} is neither a folder nor a file")
    with tarfile.open(source) as t:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4+
        t.extractall(tmp / "npm", **safe)
    core = tmp / "npm" / "package"
    if not core.is_dir():
        raise SiteError(f"export-site: {source} is not the npm pyodide package (no package/)")
    return core


def _tags(lock: dict) -> tuple[str, str]:
    """The CPython ABI and platform tags of wheels for this Pyodide: ('cp314',
    'pyemscripten_2026_0_wasm32')."""
    info = lock["info"]
    return ("cp" + "".join(info["python"].split(".")[:2]),
            f"pyemscripten_{info['abi_version']}_{info['arch']}")


def _numpy_wheel(core: Path, lock: dict, tmp: Path) -> Path:
    """NumPy's wheel for this Pyodide: from the distribution, else from PyPI by its tag."""
    entry = lock.get("packages", {}).get("numpy")
    if entry is None:
        raise SiteError(f"export-site: the Pyodide lock in {core} names no numpy package")
    local = core / entry["file_name"]
    if local.is_file():
        return local
    abi, platform = _tags(lock)
    cmd = [sys.executable, "-m", "pip", "download", f"numpy=={entry['version']}", "--no-deps",
           "--only-binary=:all:", "--platform", platform, "--python-version", abi[2:],
           "--implementation", "cp", "--abi", abi, "-d", str(tmp / "numpy")]
    print(f"looking for {entry['file_name']} with pip download", file=sys.stderr)
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted((tmp / "numpy").glob("numpy-*.whl"))
    if done.returncode or not found:
        raise SiteError(
            f"export-site: no NumPy wheel for Pyodide {PYODIDE_VERSION}: the npm pyodide package "
            f"holds only Pyodide's core, and the package index has no {entry['file_name']} "
            f"(platform {platform}). Pass --numpy-wheel PATH to that file, taken from the full "
            f"Pyodide {PYODIDE_VERSION} distribution, or --pyodide PATH to a full distribution "
            f"folder, which holds it.")
    return found[0]

"""The documentation site: strict build, API coverage, notebook downloads, and a look in
Chromium at the home page, a tutorial with a plot and an API page (offline search included)."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import zlib
from pathlib import Path

import pytest
from public_api import public_objects

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "docs"
TUTORIALS = sorted(p.stem for p in (ROOT / "docs" / "tutorials").glob("[0-9][0-9]_*.py"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def site(built_site) -> Path:
    if built_site["returncode"] != 0:
        pytest.fail("mkdocs build --strict failed:\n" + built_site["log"][-6000:])
    return built_site["dir"]


def test_site_builds_in_strict_mode(built_site):
    assert built_site["returncode"] == 0, built_site["log"][-6000:]
    assert (built_site["dir"] / "index.html").exists()


def _inventory(site: Path) -> set[str]:
    """The object names in mkdocstrings' Sphinx inventory (``objects.inv``)."""
    raw = (site / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines()}


def test_every_public_name_has_a_reference_entry(site):
    """Under its public name, its defining module's name (``cr.device`` is also a module's
    name), or, for an alias such as ``cr.arccos``, the name it aliases."""
    names = _inventory(site)
    objects = public_objects()
    documented = {id(obj) for qual, obj in objects if qual in names}
    documented |= {id(obj) for _, obj in objects
                   if f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
                   in names}
    missing = [qual for qual, obj in objects if qual not in names and id(obj) not in documented]
    assert not missing, f"no API reference entry for {missing}"


def test_every_tutorial_downloads_as_a_notebook(site):
    nbformat = pytest.importorskip("nbformat")
    assert len(TUTORIALS) == 10, TUTORIALS
    for stem in TUTORIALS:
        page = site / "tutorials" / stem
        html = (page / "index.html").read_text()
        assert f'href="{stem}.ipynb"' in html, stem
        notebook = nbformat.read(page / f"{stem}.ipynb", as_version=4)
        nbformat.validate(notebook)
        assert any(c.cell_type == "code" for c in notebook.cells), stem
        assert (page / f"{stem}.py").exists(), stem


def test_playground_and_tutorials_link_each_other(site):
    assert "../tutorials/" in (site / "playground" / "index.html").read_text()
    assert "../playground/" in (site / "tutorials" / "index.html").read_text()


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def page(server):
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(60_000)
        page = context.new_page()
        # Only the served site: a request anywhere else would need the network.
        page.outside = []
        page.on("request", lambda r: None if r.url.startswith((server, "data:", "about:"))
                else page.outside.append(r.url))
        yield page
        browser.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_home_page_renders_and_searches_offline(page, server):
    page.goto(server)
    assert page.title().startswith("chainrule")
    assert page.locator("nav.md-nav--primary").get_by_text("Tutorials").first.is_visible()
    _shot(page, "home")
    # The built-in search answers from the site's own index, in a web worker: wait until it
    # has loaded, then type as a reader does (the query is read on key events).
    page.locator("label.md-search__icon, .md-search__input").first.click()
    meta = "document.querySelector('.md-search-result__meta').textContent"
    page.wait_for_function(f"() => !/Initializing/.test({meta})")
    page.locator("input.md-search__input").press_sequentially("cross_entropy", delay=20)
    page.wait_for_function(f"() => /[1-9][0-9]* matching document/.test({meta})")
    assert page.locator(".md-search-result__item").count() > 0
    _shot(page, "search")
    assert page.outside == []


def test_a_tutorial_page_shows_its_executed_plot(page, server, site):
    with_plot = [s for s in TUTORIALS
                 if "data:image/png" in (site / "tutorials" / s / "index.html").read_text()]
    assert with_plot, "no tutorial page shows a plot"
    page.goto(f"{server}tutorials/{with_plot[0]}/")
    plot = page.locator(".jp-OutputArea-output img").first
    plot.scroll_into_view_if_needed()
    assert page.evaluate("img => img.complete && img.naturalWidth > 100", plot.element_handle())
    assert page.get_by_text("Download notebook (.ipynb)").is_visible()
    # The notebooks' maths is typeset by the MathJax served with the site.
    page.locator(".MathJax").first.wait_for(state="attached")
    _shot(page, "tutorial")
    assert page.outside == []


def test_an_api_page_shows_signatures_and_examples(page, server):
    page.goto(f"{server}api/nn/")
    entry = page.locator("[id='chainrule.nn.Linear']")
    entry.scroll_into_view_if_needed()
    assert entry.is_visible()
    text = page.locator("article").inner_text()
    assert re.search(r"Linear\(\s*in_features", text)
    assert ">>>" in text
    _shot(page, "api")
    assert page.outside == []

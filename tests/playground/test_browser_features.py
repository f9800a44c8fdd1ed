"""The Playground's page beyond TF Playground, in headless Chromium against a live server: class
colours, the smooth heat map, the error banner, uploaded data, state in the URL, the graph as a
picture, editing a weight by clicking its link. Screenshots go to ``test-artifacts/playground/``.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from test_browser import STATE, open_page, pause_and_settle, session_of, wait_config

pytestmark = pytest.mark.browser

NEG, MID, POS = np.array([245, 147, 34]), np.array([232, 234, 235]), np.array([8, 119, 189])


def colour(v: np.ndarray) -> np.ndarray:
    """The page's scale, independently: −1 orange, 0 grey-white, +1 blue, linear between."""
    v = np.clip(v, -1, 1)[..., None]
    return np.where(v < 0, MID + (NEG - MID) * -v, MID + (POS - MID) * v)


def canvas(page, cid: str) -> np.ndarray:
    data = page.evaluate(f"""(() => {{ const c = document.getElementById('{cid}');
        return [c.width, c.height, Array.from(c.getContext('2d')
                .getImageData(0, 0, c.width, c.height).data)]; }})()""")
    w, h, px = data
    return np.array(px, dtype=np.int32).reshape(h, w, 4)


def test_points_are_drawn_in_their_class_colours(context, live_server, artifacts):
    page = open_page(context, live_server)
    data = page.evaluate(f"{STATE}.data")
    img = canvas(page, "points")
    pts = np.array(data["train"])
    xy = np.column_stack([(pts[:, 0] + 6) / 12 * 300, (6 - pts[:, 1]) / 12 * 300])
    checked = 0
    for k, ((cx, cy), label) in enumerate(zip(xy, pts[:, 2])):
        if (np.hypot(*(xy[k + 1:] - (cx, cy)).T) < 9).any():
            continue  # a point drawn later covers part of this one
        px = img[int(cy), int(cx)]
        assert np.abs(px[:3] - colour(np.array(label))).max() <= 2, (k, px, label)
        checked += 1
    assert checked > len(pts) / 3
    assert {tuple(colour(np.array(l))) for _, _, l in data["train"]} == {tuple(NEG), tuple(POS)}
    page.screenshot(path=str(artifacts / "points-by-class.png"), full_page=True)


def test_heat_map_is_the_bilinear_interpolation_of_the_grid(context, live_server, artifacts):
    page = open_page(context, live_server)
    page.evaluate("window.playground.setConfig({dataset: 'xor', layers: [8], optimizer: 'adam', "
                  "batch_size: 30})")
    wait_config(page, "c.dataset === 'xor' && c.optimizer === 'adam'")
    page.click("#play")
    page.wait_for_function(f"{STATE}.frame.epoch >= 15", timeout=120_000)
    pause_and_settle(page, session_of(page, live_server))
    frame = page.evaluate(f"{STATE}.frame")
    n = frame["grid"]
    grid = np.frombuffer(base64.b64decode(frame["output"]), np.uint8).reshape(n, n) / 127.5 - 1
    img = canvas(page, "heatmap")
    h, w = img.shape[:2]
    fy, fx = np.arange(h) * (n - 1) / (h - 1), np.arange(w) * (n - 1) / (w - 1)
    r0, c0 = np.minimum(n - 2, fy.astype(int)), np.minimum(n - 2, fx.astype(int))
    ty, tx = (fy - r0)[:, None], (fx - c0)[None, :]
    g = lambda dr, dc: grid[(r0 + dr)[:, None], (c0 + dc)[None, :]]  # noqa: E731
    v = (g(0, 0) * (1 - tx) + g(0, 1) * tx) * (1 - ty) + (g(1, 0) * (1 - tx) + g(1, 1) * tx) * ty
    expected = colour(v) + (255 - colour(v)) * 0.3  # lightened under the points
    assert np.abs(img[..., :3] - expected).max() <= 1.01
    # and the check tells it from the blocky map drawn before (each cell one colour)
    near = grid[np.round(fy).astype(int)[:, None], np.round(fx).astype(int)[None, :]]
    assert np.abs(img[..., :3] - (colour(near) + (255 - colour(near)) * 0.3)).max() > 10
    page.screenshot(path=str(artifacts / "smooth-heatmap.png"), full_page=True)


def test_error_banner_is_cleared_by_the_next_successful_action(context, live_server):
    page = open_page(context, live_server)
    page.evaluate("window.playground.setConfig({learning_rate: -1})")
    page.wait_for_function("!document.getElementById('error').hidden")
    assert "learning_rate" in page.text_content("#error")
    page.click("#step")
    page.wait_for_function(f"{STATE}.frame.epoch === 1")
    assert page.is_hidden("#error")
    page.evaluate("window.playground.send({type: 'warp'})")  # a refused action shows it again
    page.wait_for_function("!document.getElementById('error').hidden")
    assert "unknown message type" in page.text_content("#error")
    page.select_option("#activation", "relu")
    wait_config(page, "c.activation === 'relu'")
    assert page.is_hidden("#error")


def test_uploaded_csv_with_class_names_is_shown_as_the_selected_data(context, live_server,
                                                                     artifacts, tmp_path):
    page = open_page(context, live_server)
    rng = np.random.default_rng(0)
    pts = rng.uniform(-3, 3, (120, 2))
    names = np.where(np.hypot(*pts.T) < 1.8, "setosa", "virginica")
    csv = tmp_path / "flowers.csv"
    csv.write_text("x1,x2,species\n" + "\n".join(f"{x:.3f},{y:.3f},{c}"
                                                 for (x, y), c in zip(pts, names)))
    page.set_input_files("#csv", str(csv))
    wait_config(page, "c.dataset === 'custom'")
    page.wait_for_selector("#dataset-custom.selected")
    assert page.locator("#datasets canvas.selected").count() == 1
    data = page.evaluate(f"{STATE}.data")
    labels = [p[2] for p in data["train"] + data["test"]]
    assert sorted(set(labels)) == [-1, 1] and labels.count(-1) == (names == "setosa").sum()
    page.click("#play")
    page.wait_for_function(f"{STATE}.frame.epoch >= 20", timeout=120_000)
    page.click("#play")
    page.wait_for_function(f"{STATE}.frame.playing === false")
    page.screenshot(path=str(artifacts / "custom-csv.png"), full_page=True)
    # another data set, then the upload again
    page.click("#dataset-xor")
    wait_config(page, "c.dataset === 'xor'")
    page.wait_for_selector("#dataset-xor.selected")  # the server's echo redraws the thumbnails
    assert page.locator("#dataset-custom.selected").count() == 0
    page.click("#dataset-custom")
    wait_config(page, "c.dataset === 'custom'")
    page.wait_for_function(f"{STATE}.data.train.length + {STATE}.data.test.length === 120")


def test_the_url_restores_the_whole_configuration_and_seed(context, live_server, artifacts):
    page = open_page(context, live_server)
    page.click("#dataset-xor")
    page.select_option("#activation", "relu")
    page.select_option("#learning_rate", "0.1")
    page.select_option("#regularization", "l2")
    page.select_option("#reg_rate", "0.003")
    page.evaluate("window.playground.setConfig({layers: [5, 3], seed: 42, noise: 15, "
                  "features: ['x1', 'x2', 'x1x2'], train_percent: 70, batch_size: 7})")
    page.check("#show-test")
    page.check("#discretize")
    wait_config(page, "c.seed === 42 && c.activation === 'relu' && c.dataset === 'xor' && "
                      "c.reg_rate === 0.003 && c.learning_rate === 0.1")
    first = session_of(page, live_server)
    page.wait_for_function("location.hash.includes('seed=42') && "
                           "location.hash.includes('discretize=true')")
    url = page.url
    query = parse_qs(urlsplit(url).fragment)
    assert query["layers"] == ["5,3"] and query["features"] == ["x1,x2,x1x2"]

    other = context.new_page()
    other.goto(url)
    other.wait_for_function(f"{STATE}.config && {STATE}.config.seed === 42 && "
                            f"{STATE}.frames > 0")
    second = session_of(other, live_server)
    assert second is not first and second.config == first.config
    np.testing.assert_array_equal(second.points[0], first.points[0])  # the same data
    for a, b in zip(second.net.linears, first.net.linears):  # the same initial weights
        np.testing.assert_array_equal(a.weight.array, b.weight.array)
    assert other.is_checked("#show-test") and other.is_checked("#discretize")
    assert other.input_value("#activation") == "relu"
    other.screenshot(path=str(artifacts / "from-url.png"), full_page=True)

    bad = context.new_page()
    bad.goto(live_server.url + "#layers=4,99&dataset=xor")
    bad.wait_for_function("!document.getElementById('error').hidden")
    assert "[1, 8]" in bad.text_content("#error")


def test_the_step_graph_is_drawn_as_a_picture(context, live_server, artifacts):
    page = open_page(context, live_server)
    page.click("#graph")
    page.wait_for_selector("#graph-svg svg")
    graph = page.evaluate(f"{STATE}.lastGraph")
    assert page.locator("#graph-svg g.gnode").count() == len(graph["nodes"])
    assert page.locator("#graph-svg g.gnode.op rect").count() == sum(
        n["kind"] == "op" for n in graph["nodes"])
    assert page.locator("#graph-svg path[marker-end]").count() == len(graph["edges"])
    labels = page.locator("#graph-svg text").all_text_contents()
    assert {"0.weight", "linear", "tanh", "loss"} <= set(labels)
    # edges run left to right: every edge ends right of where it starts
    xs = page.evaluate("""Array.from(document.querySelectorAll('#graph-svg path[marker-end]'))
        .map(p => { const n = p.getTotalLength(); return [p.getPointAtLength(0).x,
                                                          p.getPointAtLength(n).x]; })""")
    assert all(b > a for a, b in xs)
    page.locator("#graph-svg").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "graph.png"), full_page=True)


def link_point(page, index: int) -> tuple[float, float]:
    """A point on the index-th link's stroke, in page coordinates."""
    return tuple(page.evaluate("""k => { const p = document.querySelectorAll('path.link')[k];
        const q = p.getPointAtLength(p.getTotalLength() * 0.3), m = p.getScreenCTM();
        return [q.x * m.a + m.e, q.y * m.d + m.f]; }""", index))


def test_clicking_a_link_sets_its_weight_in_the_live_model(context, live_server, artifacts):
    page = open_page(context, live_server)
    session = session_of(page, live_server)
    x, y = link_point(page, 0)
    page.mouse.click(x, y)
    editor = page.locator("#weight-editor")
    editor.wait_for(state="visible")
    layer, i, j = (int(editor.get_attribute(f"data-{k}")) for k in ("layer", "i", "j"))
    assert float(editor.input_value()) == pytest.approx(
        session.net.linears[layer].weight.array[j, i], abs=1e-5)
    before = session.test_loss
    editor.fill("2.5")
    editor.press("Enter")
    sel = f"path.link[data-layer='{layer}'][data-i='{i}'][data-j='{j}']"
    page.wait_for_function(f"document.querySelector(\"{sel}\").dataset.value === '2.5'")
    assert session.net.linears[layer].weight.array[j, i] == 2.5
    assert page.is_hidden("#weight-editor")
    assert page.get_attribute("#test-loss", "data-value") == str(session.test_loss) != str(before)
    page.mouse.move(x, y)
    page.screenshot(path=str(artifacts / "weight-edited.png"), full_page=True)
    # not a number: refused in the page, nothing sent
    page.mouse.click(x, y)
    editor.fill("lots")
    editor.press("Enter")
    assert "weight must be a number" in page.text_content("#error")
    assert session.net.linears[layer].weight.array[j, i] == 2.5
    # out of range: refused by the session
    editor.fill("1e6")
    editor.press("Enter")
    page.wait_for_function("document.getElementById('error').textContent.includes('[-100, 100]')")
    assert json.loads(json.dumps(session.net.linears[layer].weight.array[j, i].item())) == 2.5
    page.click("#step")  # training goes on from the edited weight
    page.wait_for_function(f"{STATE}.frame.epoch === 1")

// chainrule playground: the page. All training happens in chainrule, on the server (over a
// WebSocket) or, in an exported static site, in Pyodide in the browser (pyodide-transport.js
// provides the same message channel); this file draws the frames it receives and sends the
// user's choices back. No build step.
"use strict";

const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"];
const FEATURE_LABELS = { "x1": "X\u2081", "x2": "X\u2082", "x1^2": "X\u2081\u00b2", "x2^2": "X\u2082\u00b2",
  "x1x2": "X\u2081X\u2082", "sin_x1": "sin(X\u2081)", "sin_x2": "sin(X\u2082)" };
const NEG = [245, 147, 34], MID = [232, 234, 235], POS = [8, 119, 189];
const $ = (id) => document.getElementById(id);

const state = { config: null, choices: null, data: null, frame: null, history: [], session: null, limits: {},
  lastExport: null, lastGraph: null, errors: [], frames: 0, unconfirmed: 0, built: null };
let ws = null;

function rgb(v) {  // v in [-1, 1] -> [r, g, b] on TF Playground's orange-white-blue scale
  v = Math.max(-1, Math.min(1, v));
  const [a, b, t] = v < 0 ? [MID, NEG, -v] : [MID, POS, v];
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}
const css = (v) => `rgb(${rgb(v).join(",")})`;

function decode(b64) {
  const s = atob(b64), out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) / 127.5 - 1;
  return out;
}

// The output map: the n×n grid bilinearly interpolated to the canvas size, then coloured (and
// thresholded when discretized, so the decision boundary is smooth too); lightened, as in TF
// Playground, so the points in their class colours stand out.
function drawMap(canvas, values, n, discretize) {
  const W = canvas.width, H = canvas.height, ctx = canvas.getContext("2d"), img = ctx.createImageData(W, H);
  for (let y = 0; y < H; y++) {
    const fy = y * (n - 1) / (H - 1), r0 = Math.min(n - 2, Math.floor(fy)), ty = fy - r0;
    for (let x = 0; x < W; x++) {
      const fx = x * (n - 1) / (W - 1), c0 = Math.min(n - 2, Math.floor(fx)), tx = fx - c0, k = r0 * n + c0;
      const top = values[k] + (values[k + 1] - values[k]) * tx;
      const bottom = values[k + n] + (values[k + n + 1] - values[k + n]) * tx;
      let v = top + (bottom - top) * ty;
      if (discretize) v = v >= 0 ? 1 : -1;
      const c = rgb(v), o = 4 * (y * W + x);
      for (let i = 0; i < 3; i++) img.data[o + i] = Math.round(c[i] + (255 - c[i]) * 0.3);
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

function paint(canvas, values, n, discretize) {
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    let v = values[i];
    if (discretize) v = v >= 0 ? 1 : -1;
    const c = rgb(v);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// ---- connection -----------------------------------------------------------------------------
function connect() {
  ws = window.playgroundTransport ? window.playgroundTransport()
    : new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${location.pathname.replace(/[^/]*$/, "")}ws`);
  ws.onopen = () => { $("conn").textContent = "connected"; };
  ws.onclose = (e) => {
    $("conn").textContent = `disconnected (${e.code})`;
    showError(`Connection closed (${e.code}${e.reason ? ": " + e.reason : ""}). Reload the page to start a new session.`);
  };
  ws.onmessage = (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch (err) { return; }
    handlers[msg.type] && handlers[msg.type](msg);
  };
}

function send(msg) {  // a new action clears the banner; the reply to a refused one shows it again
  $("error").hidden = true;
  if (!ws || ws.readyState !== WebSocket.OPEN) { showError("not connected"); return; }
  ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
}
// Optimistic: the next click builds on this change before the server's echo arrives (two quick
// clicks on "+" add two neurons); the echo then replaces it with the validated config, and after
// a refused update the page asks for the server's config again.
const setConfig = (update) => {
  if (state.config) state.config = { ...state.config, ...update };
  state.unconfirmed += 1;
  send({ type: "config", config: update });
};

function showError(text) {
  state.errors.push(text);
  const el = $("error");
  el.textContent = text;
  el.hidden = false;
}
$("error").addEventListener("click", () => { $("error").hidden = true; });

const handlers = {
  hello(msg) {
    state.session = msg.session; state.limits = msg.limits; $("session-id").textContent = msg.session;
    const fromUrl = hashConfig();
    if (Object.keys(fromUrl).length) setConfig(fromUrl);
  },
  error(msg) {
    state.uploaded = false;
    if (state.unconfirmed > 0) { state.unconfirmed = 0; send({ type: "config", config: {} }); }
    showError(msg.message);
  },
  config(msg) {
    offerChoices(msg.choices);
    state.unconfirmed = Math.max(0, state.unconfirmed - 1);
    if (state.unconfirmed > 0) return;  // a newer change is on its way; its echo comes later
    state.config = msg.config;
    writeHash();
    syncControls();
    const shape = JSON.stringify([msg.config.features, msg.config.layers]);
    if (shape !== state.built) { state.built = shape; buildNetwork(); }
  },
  data(msg) {
    state.data = msg;
    if (state.uploaded) { state.custom = { problem: state.config.problem, data: msg }; state.uploaded = false; drawDatasetThumbs(true); }
    drawPoints();
  },
  frame(msg) { onFrame(msg); },
  graph(msg) {
    state.lastGraph = msg;
    $("graph-out").textContent = msg.dot ? msg.dot : msg.message;
    drawGraph(msg);
  },
  export(msg) {
    state.lastExport = msg;
    const blob = msg.text !== undefined ? new Blob([msg.text], { type: "text/x-python" })
      : new Blob([Uint8Array.from(atob(msg.base64), (c) => c.charCodeAt(0))], { type: "application/octet-stream" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = msg.filename; a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    $("export-note").textContent = `${msg.filename}${msg.note ? " \u2014 " + msg.note : ""}`;
  },
};

// ---- controls -------------------------------------------------------------------------------
function offerChoices(choices) {  // the library's registries, as the server sends them
  state.choices = choices;
  for (const id of ["optimizer", "activation"]) {
    const sel = $(id);
    if (sel.options.length) continue;
    for (const [value, label] of choices[id]) sel.add(new Option(label, value));
  }
}

function syncControls() {
  const c = state.config;
  for (const id of ["optimizer", "activation", "regularization", "problem"]) $(id).value = c[id];
  for (const id of ["learning_rate", "reg_rate"]) {
    const sel = $(id), v = String(c[id]);
    if (![...sel.options].some((o) => o.value === v)) sel.add(new Option(v, v));
    sel.value = v;
  }
  for (const id of ["train_percent", "noise", "batch_size"]) { $(id).value = c[id]; $(id + "_v").textContent = c[id]; }
  $("n-layers").textContent = c.layers.length;
  drawDatasetThumbs();
}

for (const id of ["optimizer", "activation", "regularization", "problem"])
  $(id).addEventListener("change", (e) => setConfig({ [id]: e.target.value }));
for (const id of ["learning_rate", "reg_rate"])
  $(id).addEventListener("change", (e) => setConfig({ [id]: parseFloat(e.target.value) }));
for (const id of ["train_percent", "noise", "batch_size"]) {
  $(id).addEventListener("input", (e) => { $(id + "_v").textContent = e.target.value; });
  $(id).addEventListener("change", (e) => setConfig({ [id]: parseInt(e.target.value, 10) }));
}
$("play").addEventListener("click", () => send({ type: state.frame && state.frame.playing ? "pause" : "play" }));
$("step").addEventListener("click", () => send({ type: "step" }));
$("reset").addEventListener("click", () => send({ type: "reset" }));
$("regenerate").addEventListener("click", () => send({ type: "regenerate" }));
$("graph").addEventListener("click", () => send({ type: "graph" }));
$("export-checkpoint").addEventListener("click", () => send({ type: "export", format: "checkpoint" }));
$("export-script").addEventListener("click", () => send({ type: "export", format: "script" }));
$("show-test").addEventListener("change", drawPoints);
$("discretize").addEventListener("change", () => state.frame && drawHeatmap(state.frame));
$("add-layer").addEventListener("click", () => {
  const layers = state.config.layers;
  if (layers.length >= (state.limits.max_layers || 6)) return;
  setConfig({ layers: [...layers, 2] });
});
$("remove-layer").addEventListener("click", () => {
  if (state.config.layers.length) setConfig({ layers: state.config.layers.slice(0, -1) });
});
$("csv").addEventListener("change", (e) => {
  const file = e.target.files[0];
  if (!file) return;
  if (file.size > (state.limits.max_message_bytes || 262144) - 100) {
    showError(`CSV file too large (${file.size} bytes)`); e.target.value = ""; return;
  }
  file.text().then((text) => { state.uploaded = true; send({ type: "upload", csv: text }); });
  e.target.value = "";
});

// Dataset pictograms: small client-side sketches of each generator (the real data come from the server).
function sketch(name, n = 120) {
  const pts = [], r = () => Math.random() * 2 - 1;
  for (let i = 0; i < n; i++) {
    if (name === "circle") { const inner = i % 2 === 0, rad = inner ? Math.random() * 2.5 : 3.5 + Math.random() * 1.5, t = Math.random() * 6.283;
      pts.push([rad * Math.sin(t), rad * Math.cos(t), inner ? 1 : -1]); }
    else if (name === "xor") { const x = r() * 5, y = r() * 5; pts.push([x, y, x * y >= 0 ? 1 : -1]); }
    else if (name === "gauss") { const s = i % 2 ? 1 : -1; pts.push([2 * s + r(), 2 * s + r(), s]); }
    else if (name === "spiral") { const k = (i >> 1) / (n / 2), s = i % 2, t = 1.75 * k * 6.283 + s * Math.PI;
      pts.push([5 * k * Math.sin(t), 5 * k * Math.cos(t), s ? -1 : 1]); }
    else if (name === "plane") { const x = r() * 6, y = r() * 6; pts.push([x, y, (x + y) / 10]); }
    else { const x = r() * 6, y = r() * 6; pts.push([x, y, Math.sin(x * 0.8) * Math.sin(y * 1.2)]); }
  }
  return pts;
}
function drawDatasetThumbs(rebuild = false) {
  const box = $("datasets"), c = state.config;
  const custom = state.custom && state.custom.problem === c.problem;
  const names = [...state.choices.dataset[c.problem], ...(custom ? ["custom"] : [])];
  if (rebuild || box.dataset.problem !== c.problem || box.children.length !== names.length) {
    box.innerHTML = ""; box.dataset.problem = c.problem;
    for (const name of names) {
      const cv = document.createElement("canvas");
      cv.width = cv.height = 64; cv.id = "dataset-" + name; cv.dataset.name = name;
      cv.title = name === "custom" ? "your uploaded data" : name;
      const ctx = cv.getContext("2d");
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, 64, 64);
      const pts = name === "custom" ? [...state.custom.data.train, ...state.custom.data.test] : sketch(name);
      for (const [x, y, l] of pts) {
        ctx.fillStyle = css(l); ctx.beginPath(); ctx.arc((x + 6) / 12 * 64, (6 - y) / 12 * 64, 1.6, 0, 6.3); ctx.fill();
      }
      cv.addEventListener("click", () => setConfig({ dataset: name }));
      box.appendChild(cv);
    }
  }
  for (const cv of box.children) cv.classList.toggle("selected", cv.dataset.name === c.dataset);
}

// ---- network diagram ------------------------------------------------------------------------
let nodeEls = [];  // per column, the node elements carrying a thumbnail canvas
function buildNetwork() {
  const c = state.config, cols = $("columns");
  cols.innerHTML = ""; nodeEls = [];
  const col0 = column(cols, null);
  const inputs = [];
  for (const f of FEATURES) {
    const on = c.features.includes(f);
    const el = node(col0, "feature " + (on ? "on" : "off"), "feature-" + f);
    const name = document.createElement("span"); name.className = "name"; name.textContent = FEATURE_LABELS[f];
    el.appendChild(name);
    el.title = (on ? "click to remove " : "click to add ") + FEATURE_LABELS[f];
    if (!on) { el.values = featureMap(f); el.grid = 16; paint(el.firstChild, el.values, 16, false); }  // enabled ones come in frames
    el.addEventListener("click", () => {
      const now = state.config.features;
      const next = now.includes(f) ? now.filter((x) => x !== f) : [...now, f];
      if (next.length) setConfig({ features: next });
    });
    if (on) inputs.push(el);
  }
  nodeEls.push(inputs);
  c.layers.forEach((n, li) => {
    const col = column(cols, li), els = [];
    for (let j = 0; j < n; j++) els.push(node(col, "hidden", `neuron-${li}-${j}`));
    nodeEls.push(els);
  });
  const out = column(cols, "out");
  nodeEls.push([node(out, "output", "neuron-out")]);
  layoutLinks();
}
const FEATURE_FNS = { "x1": (x, y) => x, "x2": (x, y) => y, "x1^2": (x, y) => x * x, "x2^2": (x, y) => y * y,
  "x1x2": (x, y) => x * y, "sin_x1": (x, y) => Math.sin(x), "sin_x2": (x, y) => Math.sin(y) };
function featureMap(f, n = 16) {  // same grid and scaling as the server's input thumbnails
  const out = new Float32Array(n * n);
  let m = 1e-9;
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const v = FEATURE_FNS[f](-6 + 12 * c / (n - 1), 6 - 12 * r / (n - 1));
    out[r * n + c] = v; m = Math.max(m, Math.abs(v));
  }
  return out.map((v) => v / m);
}
function column(parent, li) {
  const col = document.createElement("div"); col.className = "column";
  const ctl = document.createElement("div"); ctl.className = "ctl";
  if (typeof li === "number") {
    const n = state.config.layers[li];
    const plus = document.createElement("button"); plus.textContent = "+"; plus.className = "add-neuron";
    const minus = document.createElement("button"); minus.textContent = "\u2212"; minus.className = "remove-neuron";
    const lab = document.createElement("span"); lab.textContent = `${n} neuron${n > 1 ? "s" : ""}`;
    plus.onclick = () => { const L = [...state.config.layers]; if (L[li] < (state.limits.max_neurons || 8)) { L[li]++; setConfig({ layers: L }); } };
    minus.onclick = () => { const L = [...state.config.layers]; if (L[li] > 1) { L[li]--; setConfig({ layers: L }); } };
    ctl.append(plus, minus, lab);
  } else ctl.textContent = li === null ? "inputs" : "output";
  col.appendChild(ctl); parent.appendChild(col);
  return col;
}
function node(col, cls, id) {
  const el = document.createElement("div"); el.className = "node " + cls; el.id = id;
  const cv = document.createElement("canvas"); cv.width = cv.height = 16;
  el.appendChild(cv); col.appendChild(el);
  // as in TF Playground, hovering a neuron shows its map in the big output view
  el.addEventListener("mouseenter", () => { if (el.values) drawMap($("heatmap"), el.values, el.grid, false); });
  el.addEventListener("mouseleave", () => state.frame && drawHeatmap(state.frame));
  return el;
}
let linkEls = [];  // linkEls[layer][i][j] = <path>
function layoutLinks() {
  const svg = $("links"), box = $("network").getBoundingClientRect();
  svg.innerHTML = ""; linkEls = [];
  const center = (el, side) => {
    const r = el.getBoundingClientRect();
    return [side > 0 ? r.right - box.left : r.left - box.left, r.top + r.height / 2 - box.top];
  };
  for (let l = 0; l + 1 < nodeEls.length; l++) {
    const layer = [];
    nodeEls[l].forEach((a, i) => {
      const row = [];
      nodeEls[l + 1].forEach((b, j) => {
        const [x1, y1] = center(a, 1), [x2, y2] = center(b, -1), mx = (x1 + x2) / 2;
        const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
        p.setAttribute("d", `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
        p.setAttribute("stroke", "#ccc"); p.setAttribute("stroke-width", "1");
        p.classList.add("link"); p.dataset.layer = l; p.dataset.i = i; p.dataset.j = j;
        const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        p.appendChild(title);
        p.addEventListener("mousemove", (e) => hover(e, p));
        p.addEventListener("mouseleave", () => { $("hovercard").hidden = true; });
        p.addEventListener("click", (e) => editWeight(e, p));
        svg.appendChild(p); row.push(p);
      });
      layer.push(row);
    });
    linkEls.push(layer);
  }
}
function hover(e, p) {
  const card = $("hovercard"), box = $("network").getBoundingClientRect();
  card.textContent = `Weight is ${p.dataset.value}`;
  card.style.left = `${e.clientX - box.left + 10}px`; card.style.top = `${e.clientY - box.top + 10}px`;
  card.hidden = false;
}
// As in TF Playground: click a link, type a value, Enter; the live model takes it.
function editWeight(e, p) {
  const ed = $("weight-editor"), box = $("network").getBoundingClientRect();
  ed.dataset.layer = p.dataset.layer; ed.dataset.i = p.dataset.i; ed.dataset.j = p.dataset.j;
  ed.value = p.dataset.value || "";
  ed.style.left = `${e.clientX - box.left + 10}px`; ed.style.top = `${e.clientY - box.top - 12}px`;
  ed.hidden = false; ed.focus(); ed.select();
}
$("weight-editor").addEventListener("keydown", (e) => {
  const ed = e.target;
  if (e.key === "Escape") { ed.hidden = true; return; }
  if (e.key !== "Enter") return;
  const value = Number(ed.value);
  if (ed.value.trim() === "" || !Number.isFinite(value)) { showError(`weight must be a number, got "${ed.value}"`); return; }
  send({ type: "set_weight", layer: +ed.dataset.layer, i: +ed.dataset.i, j: +ed.dataset.j, value });
  ed.hidden = true;
});
$("weight-editor").addEventListener("blur", (e) => { e.target.hidden = true; });

window.addEventListener("resize", () => { if (state.config) { layoutLinks(); state.frame && drawLinks(state.frame); } });

function drawLinks(frame) {
  frame.weights.forEach((W, l) => {
    if (!linkEls[l]) return;
    W.forEach((row, i) => row.forEach((w, j) => {
      const p = linkEls[l][i] && linkEls[l][i][j];
      if (!p) return;
      if (w === null) w = NaN;  // not finite: a diverged run
      p.setAttribute("stroke", Number.isNaN(w) ? "#888" : css(Math.max(-1, Math.min(1, w))));
      p.setAttribute("stroke-width", String(Number.isNaN(w) ? 1 : Math.min(10, 0.5 + Math.abs(w) * 3)));
      p.setAttribute("stroke-opacity", w === 0 ? "0.15" : "1");
      p.dataset.value = String(w);
      p.firstChild.textContent = `Weight is ${w}`;
    }));
  });
}

// ---- frames ---------------------------------------------------------------------------------
function onFrame(f) {
  state.frame = f; state.frames++;
  if (f.history_reset) state.history = [];
  state.history.push(...f.history);
  if (state.history.length > 4000) state.history = state.history.filter((_, i) => i % 2 === 0);
  $("epoch").textContent = String(f.epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  $("epoch").dataset.value = f.epoch;
  const tl = $("test-loss"), tr = $("train-loss");
  const shown = (v) => (v === null ? "NaN" : v.toFixed(3));  // null: not finite (diverged)
  tl.textContent = shown(f.test_loss); tl.dataset.value = String(f.test_loss);
  tr.textContent = shown(f.train_loss); tr.dataset.value = String(f.train_loss);
  $("zero-weights").textContent = f.zero_weights;
  $("play").classList.toggle("playing", f.playing);
  $("play").innerHTML = f.playing ? "&#x275A;&#x275A;" : "&#x25B6;";
  drawHeatmap(f);
  f.neurons.forEach((maps, l) => maps.forEach((b64, j) => {
    const el = nodeEls[l] && nodeEls[l][j];
    if (el) { el.values = decode(b64); el.grid = f.neuron_grid; paint(el.firstChild, el.values, el.grid, false); }
  }));
  drawLinks(f);
  drawLoss();
}
function drawHeatmap(f) {
  drawMap($("heatmap"), decode(f.output), f.grid, $("discretize").checked);
}
function drawPoints() {
  const cv = $("points"), ctx = cv.getContext("2d");
  ctx.clearRect(0, 0, 300, 300);
  if (!state.data) return;
  const sets = [[state.data.train, "#fff"]];
  if ($("show-test").checked) sets.push([state.data.test, "#000"]);
  for (const [pts, stroke] of sets) for (const [x, y, l] of pts) {
    ctx.beginPath(); ctx.arc((x + 6) / 12 * 300, (6 - y) / 12 * 300, 3, 0, 6.3);
    ctx.fillStyle = css(l); ctx.fill(); ctx.strokeStyle = stroke; ctx.lineWidth = 1; ctx.stroke();
  }
}
function drawLoss() {
  const cv = $("losscurve"), ctx = cv.getContext("2d"), h = state.history;
  ctx.clearRect(0, 0, cv.width, cv.height);
  if (h.length < 2) return;
  const maxE = Math.max(1, h[h.length - 1][0]);
  const maxL = Math.max(1e-9, ...h.map((p) => Math.max(p[1], p[2])));
  for (const [k, color] of [[1, "#777"], [2, "#000"]]) {
    ctx.beginPath(); ctx.strokeStyle = color; ctx.lineWidth = 1.2;
    h.forEach((p, i) => {
      const x = p[0] / maxE * (cv.width - 2) + 1, y = cv.height - 2 - p[k] / maxL * (cv.height - 4);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  }
}

// ---- computation graph ----------------------------------------------------------------------
// Layered drawing, left to right: a node's column is its longest path from an input; within a
// column nodes follow the mean row of their predecessors. Ops are boxes, tensors ellipses.
const GRAPH_FILL = { op: "#fff2cc", param: "#9fd4ff", input: "#f3f3f3", tensor: "#f3f3f3", output: "#d9ead3" };
function drawGraph(msg) {
  const box = $("graph-svg");
  box.innerHTML = "";
  if (!msg.nodes || !msg.nodes.length) return;
  const preds = {}, rank = {}, row = {};
  for (const n of msg.nodes) preds[n.id] = [];
  for (const [a, b] of msg.edges) preds[b].push(a);
  const rankOf = (id) => {  // iterative longest path from the sources
    const stack = [id];
    while (stack.length) {
      const v = stack[stack.length - 1];
      if (rank[v] !== undefined) { stack.pop(); continue; }
      const todo = preds[v].filter((u) => rank[u] === undefined);
      if (todo.length) { stack.push(...todo); continue; }
      rank[v] = preds[v].length ? 1 + Math.max(...preds[v].map((u) => rank[u])) : 0;
      stack.pop();
    }
    return rank[id];
  };
  for (const n of msg.nodes) rankOf(n.id);
  const succ = {};
  for (const [a, b] of msg.edges) (succ[a] = succ[a] || []).push(b);
  for (const n of msg.nodes)  // a leaf sits just left of its first use, not in column 0
    if (!preds[n.id].length && succ[n.id]) rank[n.id] = Math.min(...succ[n.id].map((v) => rank[v])) - 1;
  const cols = [];
  for (const n of msg.nodes) (cols[rank[n.id]] = cols[rank[n.id]] || []).push(n);
  for (const col of cols) {
    if (!col) continue;
    col.sort((a, b) => mean(a) - mean(b));
    col.forEach((n, k) => { row[n.id] = k; });
  }
  function mean(n) { const p = preds[n.id]; return p.length ? p.reduce((s, u) => s + row[u], 0) / p.length : 0; }
  const W = 118, H = 58, NW = 104, NH = 38, height = H * Math.max(...cols.map((c) => (c ? c.length : 0))) + 10;
  const NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", W * cols.length + 10); svg.setAttribute("height", height);
  svg.setAttribute("class", "graph-picture");
  const pos = (id) => { const col = cols[rank[id]], off = (height - H * col.length) / 2;
    return [5 + W * rank[id] + NW / 2, off + H * row[id] + H / 2]; };
  const add = (tag, attrs, parent = svg) => { const el = document.createElementNS(NS, tag);
    for (const k in attrs) el.setAttribute(k, attrs[k]); parent.appendChild(el); return el; };
  for (const [a, b] of msg.edges) {
    const [x1, y1] = pos(a), [x2, y2] = pos(b), s = x1 + NW / 2, t = x2 - NW / 2, m = (s + t) / 2;
    add("path", { d: `M${s},${y1} C${m},${y1} ${m},${y2} ${t},${y2}`, fill: "none", stroke: "#888", "marker-end": "url(#arrow)" });
  }
  const defs = add("defs", {}), mk = add("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
    markerWidth: 6, markerHeight: 6, orient: "auto" }, defs);
  add("path", { d: "M0,0 L10,5 L0,10 z", fill: "#888" }, mk);
  for (const n of msg.nodes) {
    const [x, y] = pos(n.id), g = add("g", { class: "gnode " + n.kind, "data-id": n.id });
    if (n.kind === "op") add("rect", { x: x - NW / 2, y: y - NH / 2, width: NW, height: NH, rx: 8, fill: GRAPH_FILL.op, stroke: "#666" }, g);
    else add("ellipse", { cx: x, cy: y, rx: NW / 2, ry: NH / 2, fill: GRAPH_FILL[n.kind], stroke: "#666",
      "stroke-width": n.kind === "param" ? 2 : 1 }, g);
    const lines = n.kind === "op" ? [n.label] : [n.label, `(${n.shape.join(", ")})`].filter((t) => t !== "");
    lines.forEach((t, k) => {
      const el = add("text", { x, y: y + (k - (lines.length - 1) / 2) * 13 + 4, "text-anchor": "middle",
        "font-size": 11, "font-weight": k === 0 && n.label ? "bold" : "normal" }, g);
      el.textContent = t;
    });
  }
  box.appendChild(svg);
}

// ---- state in the URL -----------------------------------------------------------------------
// As TF Playground: the whole config (and seed) in the hash, so a link restores the run.
const LIST_KEYS = ["features", "layers"], TEXT_KEYS = ["problem", "dataset", "activation", "regularization", "optimizer"];
function hashConfig() {
  const out = {}, params = new URLSearchParams(location.hash.slice(1));
  for (const [k, v] of params) {
    if (k === "showTestData") { $("show-test").checked = v === "true"; drawPoints(); }
    else if (k === "discretize") $("discretize").checked = v === "true";
    else if (LIST_KEYS.includes(k)) out[k] = v === "" ? [] : v.split(",").map((x) => (k === "layers" ? Number(x) : x));
    else if (TEXT_KEYS.includes(k)) out[k] = v;
    else out[k] = Number(v);  // numbers; an unknown key is refused by the session, which says so
  }
  if (out.dataset === "custom") delete out.dataset;  // uploaded data are not in the link
  return out;
}
function writeHash() {
  const c = state.config, params = new URLSearchParams();
  for (const k of Object.keys(c)) {
    if (k === "dataset" && c[k] === "custom") continue;
    params.set(k, LIST_KEYS.includes(k) ? c[k].join(",") : String(c[k]));
  }
  params.set("showTestData", String($("show-test").checked));
  params.set("discretize", String($("discretize").checked));
  history.replaceState(null, "", "#" + params.toString());
}
window.addEventListener("hashchange", () => { const c = hashConfig(); if (Object.keys(c).length) setConfig(c); });
$("show-test").addEventListener("change", () => state.config && writeHash());
$("discretize").addEventListener("change", () => state.config && writeHash());

window.playground = { state, send, setConfig };
connect();

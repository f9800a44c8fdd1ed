// chainrule playground, exported static site: the worker that trains. Pyodide (from ../pyodide/)
// loads the wheels named in ../site.json (NumPy's Pyodide build and chainrule), then a
// chainrule.playground.browser.LocalTab answers the page's messages and trains in short slices
// while the session plays, so the page stays responsive. Everything is fetched from this site.
import { loadPyodide } from "../pyodide/pyodide.mjs";

const SITE = new URL("../", import.meta.url);
const SLICE_S = 0.05;  // training per turn; messages from the page are handled between turns
const inbox = [];
let tab = null, pumping = false;

const post = (texts) => { for (const text of texts) postMessage({ kind: "text", text }); };
function call(method, ...args) {  // a LocalTab method's list of JSON texts, as JS strings
  const out = tab[method](...args), texts = out.toJs();
  out.destroy();
  return texts;
}
function pump() {
  if (!tab.more) { pumping = false; return; }
  post(call("train", SLICE_S));
  setTimeout(pump, 0);
}
function receive(text) {
  post(call("handle", text));
  if (!pumping && tab.more) { pumping = true; setTimeout(pump, 0); }
}
self.onmessage = (e) => { if (tab) receive(e.data); else inbox.push(e.data); };

async function boot() {
  const site = await (await fetch(new URL("site.json", SITE))).json();
  postMessage({ kind: "status", text: "loading Pyodide" });
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", SITE).href });
  postMessage({ kind: "status", text: "loading NumPy and chainrule" });
  let failed = null;
  await pyodide.loadPackage(site.wheels.map((w) => new URL(w, SITE).href),
    { errorCallback: (m) => { failed = m; }, messageCallback: () => {} });
  if (failed) throw new Error(failed);
  tab = pyodide.runPython("from chainrule.playground.browser import LocalTab\nLocalTab()");
  postMessage({ kind: "ready", text: `running in this page (Pyodide ${pyodide.version}, chainrule ${site.chainrule})` });
  post(call("hello"));
  while (inbox.length) receive(inbox.shift());
}

boot().catch((err) => {
  // the Python exception's line says what went wrong; the rest goes to the console
  console.error(err);
  const lines = String(err.message || err).trim().split("\n");
  const head = err.type && lines.filter((l) => l.startsWith(`${err.type}:`)).pop();
  postMessage({ kind: "fatal", text: head || lines[lines.length - 1] });
});

// chainrule playground, exported static site: the page's message channel to a Web Worker in which
// Pyodide runs chainrule (pyodide-worker.js). It stands in for the server's WebSocket: the same
// readyState / send / onopen / onmessage / onclose, the same JSON messages.
"use strict";

window.playgroundTransport = () => {
  const t = { readyState: 0, onopen: null, onmessage: null, onclose: null };
  const status = (text) => { document.getElementById("conn").textContent = text; };
  const fail = (text) => {
    t.readyState = 3;
    if (t.onclose) t.onclose({ code: 1011, reason: text });
  };
  const worker = new Worker("static/pyodide-worker.js", { type: "module" });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.kind === "text") { if (t.onmessage) t.onmessage({ data: m.text }); }
    else if (m.kind === "status") status(m.text);
    else if (m.kind === "ready") { t.readyState = 1; if (t.onopen) t.onopen(); status(m.text); }
    else if (m.kind === "fatal") fail(m.text);
  };
  worker.onerror = (e) => fail(`the training worker failed: ${e.message || "could not start"}`);
  t.send = (text) => worker.postMessage(text);
  t.close = () => { worker.terminate(); fail("closed"); };
  status("starting Python in this page (Pyodide)");
  return t;
};

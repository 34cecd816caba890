// Digit pad: draw with mouse, pen or finger; the canvas goes to the server as a PNG while you draw.
"use strict";

(function digitPad() {
  const $ = SN.$;
  const SEND_SIZE = 140;
  let drawing = false, last = null, inFlight = false, dirty = false, ink = false, loaded = false;

  function context() {
    const ctx = $("#dp-pad").getContext("2d");
    ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111"; ctx.lineWidth = 20;
    return ctx;
  }

  function clear() {
    const canvas = $("#dp-pad"), ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ink = false;
    $("#dp-prediction").textContent = "–"; $("#dp-confidence").textContent = "";
    $("#dp-bars").replaceChildren(); $("#dp-latency").textContent = "";
    const input = $("#dp-input"); input.getContext("2d").clearRect(0, 0, input.width, input.height);
    const acts = $("#dp-acts"); acts.getContext("2d").clearRect(0, 0, acts.width, acts.height);
    delete $("#dp-prediction").dataset.index;
  }

  function point(event) {
    const canvas = $("#dp-pad"), r = canvas.getBoundingClientRect();
    return [(event.clientX - r.left) * canvas.width / r.width, (event.clientY - r.top) * canvas.height / r.height];
  }

  function line(a, b) {
    const ctx = context();
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    ink = true;
  }

  async function predict() {
    if (!ink) return;
    if (inFlight) { dirty = true; return; }
    inFlight = true; dirty = false;
    // Sent at half size (140x140): the same 28x28 input after preprocessing, a quarter of the pixels to decode.
    const small = document.createElement("canvas");
    small.width = SEND_SIZE; small.height = SEND_SIZE;
    small.getContext("2d").drawImage($("#dp-pad"), 0, 0, SEND_SIZE, SEND_SIZE);
    const blob = await new Promise(resolve => small.toBlob(resolve, "image/png"));
    const t0 = performance.now();
    try {
      const r = await SN.api("/api/digits/predict", { method: "POST", headers: { "Content-Type": "image/png" }, body: blob });
      show(r, performance.now() - t0);
    } catch (e) {
      SN.showError(e.message);
    } finally {
      inFlight = false;
      if (dirty) predict();
    }
  }

  function show(r, ms) {
    SN.hideError();
    const p = r.probabilities[r.index];
    $("#dp-prediction").textContent = r.prediction;
    $("#dp-prediction").dataset.index = r.index;
    $("#dp-confidence").textContent = (100 * p).toFixed(1) + "%";
    $("#dp-bars").replaceChildren(...r.classes.flatMap((name, i) => {
      const best = i === r.index ? "best" : "";
      const bar = SN.el("div", { class: "bar" }, SN.el("i"));
      bar.firstChild.style.width = (100 * r.probabilities[i]).toFixed(1) + "%";
      return [SN.el("span", { class: best, text: name }), bar,
              SN.el("span", { class: best, text: (100 * r.probabilities[i]).toFixed(1) + "%" })];
    }));
    $("#dp-latency").textContent = `server: ${r.ms.toFixed(1)} ms, round trip: ${ms.toFixed(0)} ms`;
    SN.grayImage($("#dp-input"), SN.bytes(r.input), 28, 28);
    paintActivations(r.activations);
  }

  function paintActivations(a) {
    const v = SN.bytes(a.data), canvas = $("#dp-acts");
    if (a.kind === "units") {         // a square grid of units, one cell each
      const side = Math.ceil(Math.sqrt(a.count)), cells = new Uint8Array(side * side);
      cells.set(v);
      SN.grayImage(canvas, cells, side, side);
      $("#dp-act-title").textContent = `${a.layer}: ${a.count} units, brighter = more active`;
    } else {                            // feature maps tiled in a grid with 1-pixel gaps
      const cols = Math.ceil(Math.sqrt(a.count)), rows = Math.ceil(a.count / cols);
      const W = cols * (a.width + 1) - 1, H = rows * (a.height + 1) - 1, out = new Uint8Array(W * H).fill(40);
      for (let m = 0; m < a.count; m++) {
        const ox = (m % cols) * (a.width + 1), oy = Math.floor(m / cols) * (a.height + 1);
        for (let y = 0; y < a.height; y++)
          for (let x = 0; x < a.width; x++) out[(oy + y) * W + ox + x] = v[m * a.width * a.height + y * a.width + x];
      }
      SN.grayImage(canvas, out, W, H);
      $("#dp-act-title").textContent = `${a.layer}: ${a.count} feature maps of ${a.height}×${a.width}`;
    }
  }

  async function loadModel() {
    try {
      const info = await SN.api("/api/digits/model");
      $("#dp-model").textContent = info.available
        ? `Model: ${info.name} (${info.kind.toUpperCase()}, ${info.params.toLocaleString()} parameters; layers ${info.layers.join(" → ")})`
        : info.message;
      $("#dp-model").classList.toggle("warn", !info.available);
    } catch (e) { $("#dp-model").textContent = e.message; }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const pad = $("#dp-pad");
    clear();
    pad.addEventListener("pointerdown", e => {
      drawing = true; last = point(e); pad.setPointerCapture(e.pointerId);
      line(last, [last[0] + 0.1, last[1] + 0.1]); predict(); e.preventDefault();
    });
    pad.addEventListener("pointermove", e => {
      if (!drawing) return;
      const p = point(e); line(last, p); last = p; predict(); e.preventDefault();
    });
    const end = () => { if (drawing) { drawing = false; predict(); } };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    $("#dp-clear").addEventListener("click", clear);
    document.addEventListener("tab", e => { if (e.detail === "digits" && !loaded) { loaded = true; loadModel(); } });
  });
})();

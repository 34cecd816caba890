// Playground: settings -> WebSocket "reset"; Start/Pause/Step; paint snapshots as they arrive.
"use strict";

(function playground() {
  const $ = SN.$;
  const LRS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3];
  const BATCHES = [1, 4, 8, 16, 32, 64, 128, 256];
  const RATES = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3];
  const LABELS = { spirals: "Spirals", moons: "Moons", circles: "Circles", xor: "XOR",
                   tanh: "Tanh", relu: "ReLU", sigmoid: "Sigmoid", leaky_relu: "Leaky ReLU", elu: "ELU",
                   adam: "Adam", sgd: "SGD", none: "None", l1: "L1", l2: "L2" };

  let ws = null, run = 0, state = "ready", data = null, hidden = [16, 16], bounds = null;
  let curves = null, boundaryImage = null, resetTimer = null;

  function options(select, values, label) {
    select.replaceChildren(...values.map(v => SN.el("option", { value: String(v), text: label ? label(v) : String(v) })));
  }

  function settings() {
    return {
      dataset: $("#pg-dataset").value,
      classes: Number($("#pg-classes").value),
      points: Number($("#pg-points").value),
      noise: Number($("#pg-noise").value),
      test_fraction: Number($("#pg-test").value),
      hidden: hidden.slice(),
      activation: $("#pg-activation").value,
      optimizer: $("#pg-optimizer").value,
      lr: Number($("#pg-lr").value),
      batch_size: Number($("#pg-batch").value),
      regularization: $("#pg-reg").value,
      reg_rate: Number($("#pg-reg-rate").value),
      seed: Math.max(0, Math.floor(Number($("#pg-seed").value) || 0)),
    };
  }

  function showOutputs() {
    $("#pg-points-out").textContent = $("#pg-points").value;
    $("#pg-noise-out").textContent = Number($("#pg-noise").value).toFixed(2);
    $("#pg-test-out").textContent = Math.round(100 * $("#pg-test").value) + "%";
    $("#pg-classes-row").hidden = $("#pg-dataset").value !== "spirals";
    $("#pg-layer-count").textContent = hidden.length;
    $("#pg-reg-rate").disabled = $("#pg-reg").value === "none";
  }

  function renderUnitInputs() {
    const box = $("#pg-units");
    box.replaceChildren(...hidden.map((n, i) => {
      const input = SN.el("input", { type: "number", min: bounds.units[0], max: bounds.units[1], value: n,
                                     "aria-label": `units in hidden layer ${i + 1}`, title: `layer ${i + 1}: units` });
      input.addEventListener("change", () => {
        const v = Math.round(Number(input.value));
        hidden[i] = Math.min(bounds.units[1], Math.max(bounds.units[0], isFinite(v) ? v : 1));
        input.value = hidden[i];
        scheduleReset();
      });
      return input;
    }));
    showOutputs();
  }

  function scheduleReset() {
    showOutputs();
    clearTimeout(resetTimer);
    resetTimer = setTimeout(reset, 120);
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function reset() { send({ type: "reset", settings: settings() }); }

  function setState(s, message) {
    state = s;
    const shown = { ready: "ready", running: "training…", paused: "paused", done: "finished",
                    diverged: "diverged", failed: "failed", disconnected: "disconnected" }[s] || s;
    $("#pg-state").textContent = shown;
    $("#pg-state").title = message || "";
    $("#pg-start").textContent = s === "running" ? "Pause" : "Start";
    const over = ["done", "diverged", "failed", "disconnected"].includes(s);
    $("#pg-start").disabled = over; $("#pg-step").disabled = over || s === "running";
    if (message && (s === "diverged" || s === "failed")) SN.showError(message);
  }

  // ------------------------------------------------------------- painting
  function paintBoundary() {
    const canvas = $("#pg-boundary");
    const ctx = SN.fit(canvas, canvas.clientWidth);
    const S = canvas.clientWidth;
    ctx.clearRect(0, 0, S, S);
    if (boundaryImage) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(boundaryImage, 0, 0, S, S);
    }
    if (!data) return;
    const [x0, x1, y0, y1] = data.domain;
    const px = x => (x - x0) / (x1 - x0) * S, py = y => (y1 - y) / (y1 - y0) * S;
    const dot = (p, c, test) => {
      ctx.beginPath(); ctx.arc(px(p[0]), py(p[1]), 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${SN.palette[c].join(",")})`; ctx.fill();
      ctx.lineWidth = test ? 1.4 : 1; ctx.strokeStyle = test ? "#111" : "#fff"; ctx.stroke();
    };
    data.train.x.forEach((p, i) => dot(p, data.train.y[i], false));
    if ($("#pg-show-test").checked) data.test.x.forEach((p, i) => dot(p, data.test.y[i], true));
  }

  function boundaryToImage(b) {
    const cls = SN.bytes(b.cls), conf = SN.bytes(b.conf);
    const off = document.createElement("canvas");
    off.width = b.size; off.height = b.size;
    const ctx = off.getContext("2d");
    const img = ctx.createImageData(b.size, b.size);
    for (let i = 0; i < cls.length; i++) {
      const c = SN.palette[cls[i]], a = 0.12 + 0.55 * conf[i] / 255;
      for (let k = 0; k < 3; k++) img.data[4 * i + k] = Math.round(255 * (1 - a) + c[k] * a);
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    return off;
  }

  function paintUnits(layers) {
    const box = $("#pg-hidden");
    if (box.children.length !== layers.length ||
        [...box.children].some((d, i) => d.querySelectorAll("canvas").length !== layers[i].units)) {
      box.replaceChildren(...layers.map((l, i) => {
        const maps = SN.el("div", { class: "unit-maps" });
        for (let u = 0; u < l.units; u++) maps.append(SN.el("canvas", { width: l.size, height: l.size, title: `layer ${i + 1}, unit ${u + 1}` }));
        return SN.el("div", { class: "hidden-layer" }, SN.el("span", { text: `Hidden layer ${i + 1} · ${l.units} units` }), maps);
      }));
      if (!layers.length) box.append(SN.el("p", { class: "hint", text: "No hidden layers: a linear model." }));
    }
    layers.forEach((l, i) => {
      const bytes = SN.bytes(l.data), n = l.size * l.size;
      box.children[i].querySelectorAll("canvas").forEach((canvas, u) => {
        const ctx = canvas.getContext("2d");
        const img = ctx.createImageData(l.size, l.size);
        for (let j = 0; j < n; j++) {
          const v = (bytes[u * n + j] - 127.5) / 127.5;   // -1 .. 1
          const c = v >= 0 ? [31, 119, 180] : [245, 130, 30], a = Math.abs(v);
          for (let k = 0; k < 3; k++) img.data[4 * j + k] = Math.round(255 * (1 - a) + c[k] * a);
          img.data[4 * j + 3] = 255;
        }
        ctx.putImageData(img, 0, 0);
      });
    });
  }

  function paintCurves() {
    const x = curves.epoch;
    SN.lineChart($("#pg-curves"), [
      { label: "training loss", x, y: curves.loss, color: "#3f51b5" },
      { label: "test loss", x, y: curves.val_loss, color: "#e8710a", dash: [5, 3] },
    ], { ymin: 0 });
    const last = k => curves[k].length ? curves[k][curves[k].length - 1] : null;
    $("#pg-train-loss").textContent = SN.num(last("loss"));
    $("#pg-test-loss").textContent = SN.num(last("val_loss"));
    $("#pg-train-acc").textContent = SN.percent(last("accuracy"));
    $("#pg-test-acc").textContent = SN.percent(last("val_accuracy"));
  }

  // ------------------------------------------------------------- messages
  function onMessage(event) {
    const m = JSON.parse(event.data);
    if (m.type === "error") { SN.showError(m.message); return; }
    if (m.run !== undefined && m.type !== "reset" && m.run !== run) return;   // a replaced job's last words
    if (m.type === "reset") {
      run = m.run; data = m; SN.hideError();
      curves = { epoch: [], loss: [], val_loss: [], accuracy: [], val_accuracy: [] };
      $("#pg-code").textContent = m.code;
      $("#pg-epoch").textContent = "0";
      setState("ready");
      paintCurves(); paintBoundary();
    } else if (m.type === "snapshot") {
      for (const k of Object.keys(curves)) curves[k].push(...(m.curves[k] || []));
      $("#pg-epoch").textContent = m.epoch;
      boundaryImage = boundaryToImage(m.boundary);
      paintBoundary(); paintUnits(m.units); paintCurves();
      $("#pg-boundary").dataset.epoch = m.epoch;
    } else if (m.type === "status") {
      setState(m.state, m.message);
      $("#pg-epoch").textContent = m.epoch;
    }
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/ws/playground`);
    ws.addEventListener("open", () => { SN.hideError(); reset(); });
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", () => {
      setState("disconnected", "the connection to the server closed");
      setTimeout(connect, 2000);
    });
  }

  function init(defaults) {
    const s = defaults.settings, c = defaults.choices;
    bounds = defaults.bounds;
    options($("#pg-dataset"), c.dataset, v => LABELS[v] || v);
    options($("#pg-activation"), c.activation, v => LABELS[v] || v);
    options($("#pg-optimizer"), c.optimizer, v => LABELS[v] || v);
    options($("#pg-reg"), c.regularization, v => LABELS[v] || v);
    options($("#pg-lr"), LRS);
    options($("#pg-batch"), BATCHES);
    options($("#pg-reg-rate"), RATES);
    $("#pg-dataset").value = s.dataset; $("#pg-classes").value = String(s.classes);
    $("#pg-points").value = s.points; $("#pg-noise").value = s.noise; $("#pg-test").value = s.test_fraction;
    $("#pg-activation").value = s.activation; $("#pg-optimizer").value = s.optimizer;
    $("#pg-lr").value = String(s.lr); $("#pg-batch").value = String(s.batch_size);
    $("#pg-reg").value = s.regularization; $("#pg-reg-rate").value = String(s.reg_rate);
    $("#pg-seed").value = s.seed;
    hidden = s.hidden.slice();
    renderUnitInputs();
    for (const id of ["#pg-dataset", "#pg-classes", "#pg-points", "#pg-noise", "#pg-test", "#pg-activation",
                      "#pg-optimizer", "#pg-lr", "#pg-batch", "#pg-reg", "#pg-reg-rate", "#pg-seed"]) {
      $(id).addEventListener("change", scheduleReset);
      $(id).addEventListener("input", showOutputs);
    }
    $("#pg-layer-add").addEventListener("click", () => {
      if (hidden.length < bounds.layers[1]) { hidden.push(hidden.length ? hidden[hidden.length - 1] : 8); renderUnitInputs(); scheduleReset(); }
    });
    $("#pg-layer-remove").addEventListener("click", () => {
      if (hidden.length > bounds.layers[0]) { hidden.pop(); renderUnitInputs(); scheduleReset(); }
    });
    $("#pg-reset").addEventListener("click", reset);
    $("#pg-start").addEventListener("click", () => send({ type: state === "running" ? "pause" : "start" }));
    $("#pg-step").addEventListener("click", () => send({ type: "step" }));
    $("#pg-show-test").addEventListener("change", paintBoundary);
    $("#pg-copy").addEventListener("click", async () => {
      const text = $("#pg-code").textContent;
      try { await navigator.clipboard.writeText(text); }
      catch (e) {
        const range = document.createRange(); range.selectNodeContents($("#pg-code"));
        const sel = getSelection(); sel.removeAllRanges(); sel.addRange(range); document.execCommand("copy");
      }
      $("#pg-copy").textContent = "Copied"; setTimeout(() => { $("#pg-copy").textContent = "Copy"; }, 1200);
    });
    window.addEventListener("resize", () => { paintBoundary(); if (curves) paintCurves(); });
    document.addEventListener("tab", e => { if (e.detail === "playground") { paintBoundary(); if (curves) paintCurves(); } });
    $("#version").textContent = "scratchnn " + defaults.version;
    connect();
  }

  document.addEventListener("DOMContentLoaded", () => {
    SN.api("/api/playground/defaults").then(init).catch(e => SN.showError("cannot load the settings: " + e.message));
  });
})();

// Shared helpers of the three pages: tabs, the error banner, JSON fetches, base64 bytes, charts.
"use strict";

const SN = {
  // Class colours (matplotlib's tab10 start), as RGB triples.
  palette: [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189]],

  $(selector, root) { return (root || document).querySelector(selector); },

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  },

  showError(message) {
    SN.$("#banner-text").textContent = message;
    SN.$("#banner").hidden = false;
  },

  hideError() { SN.$("#banner").hidden = true; },

  // fetch + JSON; a 4xx/5xx answer throws an Error carrying the server's message.
  async api(path, options) {
    const response = await fetch(path, options);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const err = new Error((body && body.error) || `${response.status} ${response.statusText}`);
      err.status = response.status;
      throw err;
    }
    return body;
  },

  bytes(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  },

  percent(v) { return v == null ? "–" : (100 * v).toFixed(1) + "%"; },
  num(v) { return v == null ? "–" : (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4)); },

  // Size a canvas's bitmap to its CSS box (times the device pixel ratio); returns its 2-D context.
  fit(canvas, height) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round((height || canvas.clientHeight) * dpr));
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  },

  // A small line chart: series = [{label, x: [...], y: [...], color, dash}]; opts.ymin/ymax/title.
  lineChart(canvas, series, opts) {
    opts = opts || {};
    const ctx = SN.fit(canvas);
    const W = canvas.clientWidth, H = canvas.clientHeight;
    ctx.clearRect(0, 0, W, H);
    const pad = { l: 42, r: 10, t: 18, b: 22 };
    const pts = series.flatMap(s => s.y.map((y, i) => [s.x[i], y])).filter(p => p[1] != null && isFinite(p[1]));
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#667085";
    if (opts.title) ctx.fillText(opts.title, pad.l, 12);
    if (!pts.length) { ctx.fillText("no data yet", pad.l, H / 2); return; }
    let x0 = Math.min(...pts.map(p => p[0])), x1 = Math.max(...pts.map(p => p[0]));
    let y0 = opts.ymin != null ? opts.ymin : Math.min(...pts.map(p => p[1]));
    let y1 = opts.ymax != null ? opts.ymax : Math.max(...pts.map(p => p[1]));
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) { y1 += 0.5; y0 -= 0.5; }
    const X = x => pad.l + (x - x0) / (x1 - x0) * (W - pad.l - pad.r);
    const Y = y => H - pad.b - (y - y0) / (y1 - y0) * (H - pad.t - pad.b);
    ctx.strokeStyle = "#e2e5ec"; ctx.lineWidth = 1;
    for (let k = 0; k <= 4; k++) {
      const v = y0 + (y1 - y0) * k / 4, yy = Y(v);
      ctx.beginPath(); ctx.moveTo(pad.l, yy); ctx.lineTo(W - pad.r, yy); ctx.stroke();
      ctx.fillText(v.toPrecision(2), 2, yy + 4);
    }
    ctx.fillText(String(x0), pad.l, H - 6);
    const last = String(x1); ctx.fillText(last, W - pad.r - ctx.measureText(last).width, H - 6);
    let lx = pad.l + 60;
    for (const s of series) {
      ctx.strokeStyle = s.color; ctx.lineWidth = 1.8; ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      let started = false;
      s.y.forEach((y, i) => {
        if (y == null || !isFinite(y)) return;
        const px = X(s.x[i]), py = Y(Math.min(Math.max(y, y0), y1));
        if (started) ctx.lineTo(px, py); else { ctx.moveTo(px, py); started = true; }
      });
      ctx.stroke(); ctx.setLineDash([]);
      if (s.y.length <= 30) {          // short runs: mark each epoch (a single epoch has no line)
        ctx.fillStyle = s.color;
        s.y.forEach((y, i) => {
          if (y == null || !isFinite(y)) return;
          ctx.beginPath(); ctx.arc(X(s.x[i]), Y(Math.min(Math.max(y, y0), y1)), 2.5, 0, 2 * Math.PI); ctx.fill();
        });
      }
      ctx.fillStyle = s.color; ctx.fillRect(lx, 5, 14, 3);
      ctx.fillStyle = "#667085"; ctx.fillText(s.label, lx + 18, 12);
      lx += 26 + ctx.measureText(s.label).width;
    }
  },

  // Paint an (h, w) array of 0..255 values into a canvas as grey levels (the canvas holds w x h pixels).
  grayImage(canvas, values, w, h) {
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const v = values[i];
      img.data[4 * i] = v; img.data[4 * i + 1] = v; img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  },
};

// Tabs: #playground, #digits, #runs.
(function tabs() {
  const show = () => {
    // Sections are "page-<tab>" so that the hash does not scroll the page to them.
    const name = (location.hash || "#playground").slice(1);
    const target = ["playground", "digits", "runs"].includes(name) ? name : "playground";
    document.querySelectorAll("section.page").forEach(s => { s.hidden = s.id !== "page-" + target; });
    document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.dataset.tab === target));
    document.dispatchEvent(new CustomEvent("tab", { detail: target }));
  };
  window.addEventListener("hashchange", show);
  document.addEventListener("DOMContentLoaded", () => {
    SN.$("#banner-close").addEventListener("click", SN.hideError);
    setTimeout(show, 0);  // after every page's DOMContentLoaded handler has subscribed to "tab"
  });
})();

// Runs: the server's listing of runs/; show one (A) or two (A and B) side by side.
"use strict";

(function runsPage() {
  const $ = SN.$;
  let chosen = { a: null, b: null }, listing = [], loaded = false;

  function row(r) {
    const pick = slot => {
      const b = SN.el("button", { class: "small", text: slot.toUpperCase(), "data-run": r.id, "data-slot": slot });
      b.addEventListener("click", () => open(slot, r.id));
      return b;
    };
    const tr = SN.el("tr", { class: r.latest ? "latest" : "", "data-run": r.id },
      SN.el("td", {}, r.id, ...(r.latest ? [" ", SN.el("span", { class: "tag", text: "latest" })] : [])),
      SN.el("td", { text: r.modified }), SN.el("td", { text: r.dataset || "–" }),
      SN.el("td", { text: r.model || "–" }), SN.el("td", { text: r.epochs_trained == null ? "–" : String(r.epochs_trained) }),
      SN.el("td", { text: SN.percent(r.test_accuracy) }), SN.el("td", {}, pick("a"), " ", pick("b")));
    return tr;
  }

  async function refresh() {
    try {
      const r = await SN.api("/api/runs");
      listing = r.runs;
      $("#rn-root").textContent = listing.length
        ? `${listing.length} run${listing.length === 1 ? "" : "s"} in ${r.root}/`
        : `No runs in ${r.root}/ yet: 'scratchnn train' writes one.`;
      $("#rn-table tbody").replaceChildren(...listing.map(row));
      if (!chosen.a && listing.length) open("a", listing[0].id);
    } catch (e) { SN.showError(e.message); }
  }

  function metric(label, value) { return SN.el("div", {}, label, SN.el("b", { text: value })); }

  async function open(slot, id) {
    const panel = $("#rn-" + slot);
    try {
      const d = await SN.api("/api/runs/" + encodeURIComponent(id));
      chosen[slot] = d;
      const res = d.results || {}, h = d.history || {};
      const head = SN.el("div", { class: "view-head" }, SN.el("h2", { text: `${slot.toUpperCase()}: ${d.id}` }));
      const metrics = SN.el("div", { class: "metrics" },
        metric("Test accuracy", SN.percent(res.test_accuracy)), metric("Test loss", SN.num(res.test_loss)),
        metric("Data", res.dataset || "–"), metric("Model", res.model || "–"),
        metric("Epochs", res.epochs_trained == null ? "–" : String(res.epochs_trained)),
        metric("Time", res.train_seconds == null ? "–" : res.train_seconds.toFixed(1) + " s"));
      const loss = SN.el("canvas", { class: "chart", "aria-label": "loss curves" });
      const acc = SN.el("canvas", { class: "chart", "aria-label": "accuracy curves" });
      const kids = [head, metrics, loss, acc];
      const titles = { confusion: "Confusion matrix (test set)", misclassified: "Misclassified test images",
                       weights: "First-layer weights", curves: "Training curves (as written by scratchnn train)" };
      for (const kind of ["confusion", "misclassified", "weights"]) {
        if (!d.images.includes(kind)) continue;
        kids.push(SN.el("h3", { text: titles[kind] }),
                  SN.el("img", { src: `/api/runs/${encodeURIComponent(d.id)}/images/${kind}`, alt: titles[kind], loading: "lazy" }));
      }
      if (!d.images.length) kids.push(SN.el("p", { class: "hint", text: "No plots in this run (trained with --no-plots?)." }));
      panel.replaceChildren(...kids);
      const x = h.epoch ? h.epoch.map(e => e + 1) : [];
      SN.lineChart(loss, [{ label: "training loss", x, y: h.loss || [], color: "#3f51b5" },
                          { label: "validation loss", x, y: h.val_loss || [], color: "#e8710a", dash: [5, 3] }],
                   { title: "loss", ymin: 0 });
      SN.lineChart(acc, [{ label: "training accuracy", x, y: h.accuracy || [], color: "#3f51b5" },
                         { label: "validation accuracy", x, y: h.val_accuracy || [], color: "#e8710a", dash: [5, 3] }],
                   { title: "accuracy" });
      panel.dataset.run = d.id;
    } catch (e) { SN.showError(e.message); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#rn-refresh").addEventListener("click", refresh);
    document.addEventListener("tab", e => { if (e.detail === "runs" && !loaded) { loaded = true; refresh(); } });
  });
})();

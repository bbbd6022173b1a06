// Draws the analytics charts with Chart.js (installed from npm, served by the console).
(function () {
  "use strict";
  var root = document.getElementById("charts");
  if (!root || typeof window.Chart === "undefined") { return; }
  var Chart = window.Chart;
  fetch(root.dataset.api, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (a) {
    var days = a.per_day.map(function (d) { return d.day; });
    var pct = function (v) { return v === null ? null : Math.round(v * 1000) / 10; };
    new Chart(document.getElementById("chart-per-day"), {
      type: "bar",
      data: { labels: days, datasets: [{ label: "conversations", data: a.per_day.map(function (d) { return d.conversations; }), backgroundColor: "#2563eb" }] },
      options: { animation: false, plugins: { legend: { display: false } } }
    });
    new Chart(document.getElementById("chart-rates"), {
      type: "line",
      data: { labels: days, datasets: [
        { label: "containment %", data: a.per_day.map(function (d) { return pct(d.containment); }), borderColor: "#16a34a", spanGaps: true },
        { label: "fallback %", data: a.per_day.map(function (d) { return pct(d.fallback_rate); }), borderColor: "#dc2626", spanGaps: true },
        { label: "template fallback %", data: a.per_day.map(function (d) { return pct(d.template_rate); }), borderColor: "#7c3aed", spanGaps: true }
      ] },
      options: { animation: false, scales: { y: { min: 0, max: 100 } } }
    });
    new Chart(document.getElementById("chart-intents"), {
      type: "bar",
      data: { labels: a.top_intents.map(function (i) { return i.intent; }), datasets: [{ label: "conversations", data: a.top_intents.map(function (i) { return i.conversations; }), backgroundColor: "#0891b2" }] },
      options: { indexAxis: "y", animation: false, plugins: { legend: { display: false } } }
    });
    var labels = ["thumbs up", "thumbs down", "1★", "2★", "3★", "4★", "5★"];
    var values = [a.feedback.up, a.feedback.down].concat(["1", "2", "3", "4", "5"].map(function (k) { return a.ratings[k]; }));
    new Chart(document.getElementById("chart-feedback"), {
      type: "bar",
      data: { labels: labels, datasets: [{ label: "count", data: values, backgroundColor: ["#16a34a", "#dc2626", "#fca5a5", "#fdba74", "#fde047", "#86efac", "#22c55e"] }] },
      options: { animation: false, plugins: { legend: { display: false } } }
    });
    root.dataset.ready = "1";
  }).catch(function () {});
})();

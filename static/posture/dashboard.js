// The dashboard's charts: the secure score doughnut (#score-data), the score over time (#trend-data),
// failed rules by severity and OS (#failed-rules-data) and the top recommendations
// (#top-recommendations-data). Each reads the JSON the page carries; the tables beside them hold the
// same figures for readers without JavaScript.
"use strict";

(function drawDashboard() {
  if (typeof Chart === "undefined") {
    return;
  }

  function data(id) {
    const source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  const COLOURS = [
    "#0891b2", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#4f46e5", "#65a30d",
    "#db2777", "#0d9488", "#ca8a04", "#7c3aed", "#ea580c", "#475569", "#059669",
  ];

  (function drawScoreChart() {
    const canvas = document.getElementById("score-chart");
    const score = data("score-data");
    if (!canvas || !score) {
      return;
    }
    const empty = score.empty;
    new Chart(canvas, {
      type: "doughnut",
      data: {
        labels: ["Secure score %", "To gain %"],
        datasets: [
          {
            data: empty ? [0, 1] : [score.percent, Math.max(0, 100 - score.percent)],
            backgroundColor: ["#2563eb", "#e5e7eb"],
            borderWidth: 0,
          },
        ],
      },
      options: {
        cutout: "72%",
        responsive: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: { enabled: !empty },
        },
      },
    });
  })();

  (function drawTrendChart() {
    const canvas = document.getElementById("trend-chart");
    const trend = data("trend-data");
    if (!canvas || !trend) {
      return;
    }
    let colour = 0;
    // The secure score stands out: thick and blue; the controls are thinner and hidden until chosen
    // in the legend when there are many of them.
    const many = trend.datasets.length > 6;
    const datasets = trend.datasets.map((series) => ({
      label: series.label,
      data: series.data,
      borderColor: series.score ? "#2563eb" : COLOURS[colour++ % COLOURS.length],
      backgroundColor: series.score ? "#2563eb" : undefined,
      borderWidth: series.score ? 3 : 1.5,
      pointRadius: series.score ? 3 : 2,
      spanGaps: true,
      hidden: !series.score && many,
    }));
    new Chart(canvas, {
      type: "line",
      data: { labels: trend.labels, datasets },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  })();

  (function drawFailedRulesChart() {
    const canvas = document.getElementById("failed-rules-chart");
    const failed = data("failed-rules-data");
    if (!canvas || !failed) {
      return;
    }
    const colours = ["#dc2626", "#475569"];
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: failed.labels,
        datasets: failed.datasets.map((set, i) => ({ ...set, backgroundColor: colours[i % 2], skipNull: true })),
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true }, y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  })();

  (function drawTopRecommendationsChart() {
    const canvas = document.getElementById("top-recommendations-chart");
    const top = data("top-recommendations-data");
    if (!canvas || !top) {
      return;
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: top.labels,
        datasets: top.datasets.map((set) => ({ ...set, backgroundColor: "#16a34a" })),
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { beginAtZero: true, title: { display: true, text: "points" } },
          // Long names are shortened on the axis; the tooltip and the table give them whole.
          y: {
            ticks: {
              callback(value) {
                const label = this.getLabelForValue(value);
                return label.length > 40 ? `${label.slice(0, 39)}…` : label;
              },
            },
          },
        },
        plugins: { legend: { display: false } },
      },
    });
  })();
})();

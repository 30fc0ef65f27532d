// The dashboard's charts: the secure score doughnut (#score-data), the score over time (#trend-data),
// failed rules by severity and by OS (#failed-rules-severity-data, #failed-rules-os-data) and the top recommendations
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

  // Failed rules: one chart per dimension (severity, operating system), each with its own colours.
  const SEVERITY_COLOURS = {
    Critical: "#7f1d1d",
    High: "#b91c1c",
    Medium: "#c2410c",
    Low: "#a16207",
    Informational: "#1e40af",
    Unknown: "#4b5563",
  };
  function drawFailedRules(canvasId, dataId, colourOf) {
    const canvas = document.getElementById(canvasId);
    const failed = data(dataId);
    if (!canvas || !failed) {
      return;
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: failed.labels,
        datasets: failed.datasets.map((set) => ({ ...set, backgroundColor: failed.labels.map(colourOf) })),
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "failed rules" } } },
        plugins: { legend: { display: false } },
      },
    });
  }
  drawFailedRules("failed-rules-severity-chart", "failed-rules-severity-data", (label) => SEVERITY_COLOURS[label] || "#4b5563");
  drawFailedRules("failed-rules-os-chart", "failed-rules-os-data", () => "#334155");

  // A long name on an axis: wrapped on words into lines of about `width` characters, never cut (the
  // tooltip and the table give it whole too).
  function wrap(label, width) {
    const lines = [];
    let line = "";
    for (const word of String(label).split(" ")) {
      if (line && line.length + word.length + 1 > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) {
      lines.push(line);
    }
    return lines;
  }

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
          // Long names are wrapped on the axis, narrower on a narrow screen.
          y: {
            ticks: {
              autoSkip: false,
              callback(value) {
                return wrap(this.getLabelForValue(value), window.innerWidth < 600 ? 22 : 34);
              },
            },
          },
        },
        plugins: { legend: { display: false } },
      },
    });
  })();
})();

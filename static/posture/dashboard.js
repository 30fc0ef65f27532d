// The secure score doughnut: the score's percentage against what is left to 100 %, from #score-data.
"use strict";

(function drawScoreChart() {
  const canvas = document.getElementById("score-chart");
  const source = document.getElementById("score-data");
  if (!canvas || !source || typeof Chart === "undefined") {
    return;
  }
  const score = JSON.parse(source.textContent);
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

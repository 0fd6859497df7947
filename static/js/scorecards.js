// servicedesk scorecards: trend charts (Chart.js, vendored) from the page's JSON data.
// No inline scripts: the template carries the data in {{ data|json_script:"scorecard-data" }}
// and canvases name their series with data-chart; htmx swaps bring fresh data.
(function () {
  "use strict";

  var COLOURS = ["#1f5fbf", "#1e7d3a", "#a86400", "#b3261e", "#5a32a3"];

  // A canvas reads the JSON script named by its data-source (the team pulse has its own,
  // by quarter), the scorecard's trends by default.
  function readData(id) {
    var source = document.getElementById(id);
    if (!source) { return null; }
    try { return JSON.parse(source.textContent); } catch (e) { return null; }
  }

  function draw() {
    if (typeof window.Chart === "undefined") { return; }
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) {
      var canvas = canvases[i];
      var data = readData(canvas.getAttribute("data-source") || "scorecard-data");
      if (!data) { continue; }
      var series = data[canvas.getAttribute("data-chart")];
      if (!series) { continue; }
      var previous = window.Chart.getChart(canvas);
      if (previous) { previous.destroy(); }
      var max = canvas.getAttribute("data-max");
      var y = { beginAtZero: true };
      if (max) { y.max = Number(max); }
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: series.map(function (line, index) {
            var colour = COLOURS[index % COLOURS.length];
            return {
              label: line.label,
              data: line.values,
              borderColor: colour,
              backgroundColor: colour,
              borderWidth: 2,
              pointRadius: 3,
              tension: 0.2,
              spanGaps: false
            };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          scales: { y: y, x: { ticks: { autoSkip: true, maxRotation: 0 } } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  // The period picker and role tabs swap the body with htmx: draw its charts again.
  document.addEventListener("htmx:afterSettle", draw);
})();

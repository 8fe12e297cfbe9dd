/* Draws each goal's progress chart on the patient's clinical page.
 *
 * The page carries the numbers in <script type="application/json" id="goal-data">
 * (never executed): per goal, the dates, the measured values and the baseline and target
 * as flat dashed lines. Each chart's place is <canvas data-goal-chart="<goal id>">. The
 * progress bars get their width here too (the CSP forbids inline styles from data).
 */
(function () {
  "use strict";

  var COLOURS = ["#18bc9c", "#95a5a6", "#2c3e50"];

  function draw(canvas, spec) {
    var chart = new window.Chart(canvas, {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, n) {
          return {
            label: set.label,
            data: set.data,
            borderColor: COLOURS[n % COLOURS.length],
            backgroundColor: COLOURS[n % COLOURS.length],
            borderDash: set.dashed ? [6, 4] : [],
            pointRadius: set.dashed ? 0 : 3,
            tension: 0,
          };
        }),
      },
      options: { responsive: true, animation: false, plugins: { legend: { display: true } } },
    });
    canvas.setAttribute("data-rendered", "true");
    return chart;
  }

  document.querySelectorAll(".goal-progress").forEach(function (bar) {
    bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.percent))) + "%";
  });
  var data = document.getElementById("goal-data");
  if (!data || !window.Chart) {
    return;
  }
  var charts = JSON.parse(data.textContent);
  document.querySelectorAll("canvas[data-goal-chart]").forEach(function (canvas) {
    var spec = charts[canvas.getAttribute("data-goal-chart")];
    if (spec) {
      draw(canvas, spec);
    }
  });
})();

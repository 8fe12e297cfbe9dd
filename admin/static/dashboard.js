/* Draws the dashboard's charts from the JSON block the page carries.
 *
 * The page sends its numbers in <script type="application/json" id="dashboard-data">
 * (never executed) and marks each chart's place with <canvas data-chart="name">, so
 * the Content-Security-Policy can forbid inline scripts. Chart.js is served by the
 * app itself (admin/static/vendor/chart.js).
 */
(function () {
  "use strict";

  var PALETTE = ["#2c3e50", "#18bc9c", "#3498db", "#f39c12", "#e74c3c", "#8e44ad", "#95a5a6"];

  function colour(n) {
    return PALETTE[n % PALETTE.length];
  }

  function options(spec) {
    var horizontal = Boolean(spec.horizontal);
    var value = horizontal ? "x" : "y";
    var scales = {};
    scales.x = { stacked: Boolean(spec.stacked), beginAtZero: true };
    scales.y = { stacked: Boolean(spec.stacked), beginAtZero: true };
    if (spec.max) {
      scales[value].suggestedMax = spec.max;
    }
    if (spec.integer) {
      scales[value].ticks = { precision: 0 };  // counts of sessions: no 0.5 gridlines
    }
    return {
      indexAxis: horizontal ? "y" : "x",
      responsive: true,
      animation: false,
      plugins: { legend: { display: spec.datasets.length > 1 } },
      scales: scales,
    };
  }

  function draw(canvas, spec) {
    var single = spec.datasets.length === 1;
    var datasets = spec.datasets.map(function (set, n) {
      return {
        label: set.label,
        data: set.data,
        // One series: a colour per bar reads better; several: a colour per series.
        backgroundColor: single
          ? set.data.map(function (_v, i) { return colour(i); })
          : colour(n),
      };
    });
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: options(spec),
    });
    canvas.setAttribute("data-rendered", "true");
    return chart;
  }

  // Chart.js measures and paints its labels once, with the fonts it finds then. On a
  // computer without a Devanagari font the page's Hindi comes in Mukta, a web font that
  // arrives after the first paint (a canvas does not even ask for it): the labels would
  // keep the fallback's boxes and widths. So the canvas uses the page's own fonts, and
  // each chart is drawn again once they are ready.
  var DEVANAGARI_SAMPLE = "\u0905\u20b9";  // "अ₹": enough to make the browser fetch Mukta

  function fontsReady(then) {
    var fonts = document.fonts;
    if (!fonts || !fonts.ready || typeof Promise === "undefined") {
      return;
    }
    var family = getComputedStyle(document.body).fontFamily;
    var waits = [fonts.ready];
    if (fonts.load) {
      waits.push(fonts.load("12px " + family, DEVANAGARI_SAMPLE).catch(function () {}));
    }
    Promise.all(waits).then(then);
  }

  function start() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    var charts = JSON.parse(source.textContent);
    var canvases = document.querySelectorAll("canvas[data-chart]");
    var drawn = [];
    Array.prototype.forEach.call(canvases, function (canvas) {
      var spec = charts[canvas.getAttribute("data-chart")];
      if (spec) {
        drawn.push({ canvas: canvas, spec: spec, chart: draw(canvas, spec) });
      }
    });
    fontsReady(function () {
      drawn.forEach(function (one) {
        one.chart.destroy();  // a fresh chart measures its labels again
        one.chart = draw(one.canvas, one.spec);
        one.canvas.setAttribute("data-fonts", "ready");
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

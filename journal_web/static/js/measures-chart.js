// PHQ-9 and GAD-7 totals on a patient's page, each on its own chart with the
// published severity bands shaded behind the line. Data comes from the JSON
// block #measures-data written by the server; nothing here runs inline.
(function () {
  "use strict";
  var source = document.getElementById("measures-data");
  if (!source || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var SHADES = ["#e8f3ec", "#f3f6df", "#fbf0d9", "#fbe3d6", "#f8d9e0"];

  function dateLabel(ms) {
    return new Date(ms).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }

  data.instruments.forEach(function (instrument) {
    var canvas = document.getElementById("measure-" + instrument.id);
    if (!canvas) { return; }
    var bands = {
      id: "bands",
      beforeDatasetsDraw: function (chart) {
        var y = chart.scales.y, area = chart.chartArea, ctx = chart.ctx, low = 0;
        ctx.save();
        instrument.bands.forEach(function (band, i) {
          var top = y.getPixelForValue(band.max + 0.5), bottom = y.getPixelForValue(low - 0.5);
          ctx.fillStyle = SHADES[Math.min(i, SHADES.length - 1)];
          ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
          ctx.fillStyle = "#4a5260";
          ctx.font = "11px system-ui, sans-serif";
          ctx.fillText(band.label, area.left + 4, Math.max(top + 12, area.top + 12));
          low = band.max + 1;
        });
        ctx.restore();
      }
    };
    var times = instrument.points.map(function (p) { return p[0]; });
    var pad = 24 * 3600 * 1000;
    new window.Chart(canvas, {
      type: "line",
      data: { datasets: [{ label: instrument.name, data: instrument.points.map(function (p) { return { x: p[0], y: p[1] }; }),
                           borderColor: "#24508f", backgroundColor: "#24508f", tension: 0 }] },
      options: {
        animation: false, maintainAspectRatio: false, parsing: false,
        scales: {
          x: { type: "linear", min: Math.min.apply(null, times) - pad, max: Math.max.apply(null, times) + pad,
               ticks: { callback: dateLabel, maxTicksLimit: 8 } },
          y: { min: 0, max: instrument.max, ticks: { stepSize: 3 } }
        },
        plugins: { legend: { display: false },
                   tooltip: { callbacks: { title: function (items) { return dateLabel(items[0].parsed.x); } } } }
      },
      plugins: [bands]
    });
    canvas.setAttribute("data-rendered", "true");
  });
})();

// The mood chart on a patient's timeline: mood, anxiety and distress (0-10) over
// time, with infusion days drawn as dashed vertical lines. Data comes from the
// JSON block #mood-data written by the server; nothing here runs inline.
(function () {
  "use strict";
  var canvas = document.getElementById("mood-chart");
  var source = document.getElementById("mood-data");
  if (!canvas || !source) { return; }
  if (typeof window.Chart === "undefined") {
    document.getElementById("chart-note").textContent = "The chart could not be drawn in this browser.";
    return;
  }
  var data = JSON.parse(source.textContent);
  var DAY = 24 * 3600 * 1000;

  function points(pairs) {
    return pairs.map(function (p) { return { x: p[0], y: p[1] }; });
  }

  function dateLabel(ms) {
    return new Date(ms).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }

  var infusionLines = {
    id: "infusionLines",
    afterDatasetsDraw: function (chart) {
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = "#6b4fa0";
      ctx.fillStyle = "#6b4fa0";
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.font = "12px system-ui, sans-serif";
      var lastLabel = -Infinity;
      data.infusions.forEach(function (ms) {
        var px = x.getPixelForValue(ms);
        if (px < area.left || px > area.right) { return; }
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        if (px - lastLabel > 60) {  // labels of infusions close together would overlap
          ctx.fillText("infusion", Math.max(area.left + 2, Math.min(px - 24, area.right - 52)), area.top + 12);
          lastLabel = px;
        }
      });
      ctx.restore();
    }
  };

  // Show the span that has data (at most the 90 days sent), not 90 mostly empty days.
  var now = Date.now();
  var times = [].concat(data.mood, data.anxiety, data.distress)
    .map(function (p) { return p[0]; }).concat(data.infusions);
  var earliest = times.length ? Math.min.apply(null, times) : now - 14 * DAY;
  var start = Math.max(data.since, Math.min(earliest - DAY, now - 7 * DAY));
  var chart = new window.Chart(canvas, {
    type: "line",
    data: {
      datasets: [
        { label: "Mood", data: points(data.mood), borderColor: "#1f6f43", backgroundColor: "#1f6f43", tension: 0.2 },
        { label: "Anxiety", data: points(data.anxiety), borderColor: "#b35c00", backgroundColor: "#b35c00", tension: 0.2 },
        { label: "Distress (grounding)", data: points(data.distress), borderColor: "#a3123a", backgroundColor: "#a3123a",
          showLine: false, pointStyle: "rectRot", pointRadius: 5 }
      ]
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: { type: "linear", min: start, max: now + DAY / 4,
             ticks: { callback: dateLabel, maxTicksLimit: 10,
                      stepSize: DAY * Math.max(1, Math.ceil((now - start) / DAY / 8)) } },
        y: { min: 0, max: 10, ticks: { stepSize: 2 } }
      },
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { title: function (items) {
          return items.length ? new Date(items[0].parsed.x).toLocaleString() : "";
        } } }
      }
    },
    plugins: [infusionLines, {
      id: "renderedFlag",
      afterRender: function (c) { c.canvas.dataset.rendered = "true"; }
    }]
  });
  window.moodChart = chart;
}());

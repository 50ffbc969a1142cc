// recoup dashboard: the charts and the copy button. No inline scripts (the CSP forbids them);
// chart data comes from a JSON block the server wrote, never from report text.
(function () {
  "use strict";

  function chartData() {
    var block = document.getElementById("chart-data");
    return block ? JSON.parse(block.textContent) : {};
  }

  function money(value) {
    return Number(value).toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }

  function drawCharts(root) {
    if (typeof Chart === "undefined") { return; }
    var data = chartData();
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var d = data[canvas.dataset.currency];
      if (!d) { return; }
      canvas.dataset.drawn = "1";
      var tooltip = {callbacks: {label: function (c) { return c.dataset.label + ": " + money(c.parsed.y !== undefined ? c.parsed.y : c.parsed.x); }}};
      if (canvas.dataset.chart === "owed") {
        new Chart(canvas, {type: "bar", data: {labels: d.owed.labels, datasets: [
          {label: "claimable", data: d.owed.values, backgroundColor: "#2f6fdf"}]},
          options: {indexAxis: "y", animation: false, plugins: {legend: {display: false}, tooltip: tooltip}}});
      } else {
        new Chart(canvas, {type: "bar", data: {labels: d.months.labels, datasets: [
          {label: "recovered", data: d.months.recovered, backgroundColor: "#2a9d5c"},
          {label: "missed", data: d.months.missed, backgroundColor: "#d1495b"}]},
          options: {animation: false, plugins: {tooltip: tooltip}}});
      }
    });
  }

  function copyText(button) {
    var source = document.querySelector(button.dataset.copy);
    if (!source) { return; }
    var text = source.textContent;
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy the case text"; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(source); done(); });
    } else {
      fallback(source);
      done();
    }
  }

  // Plain http on another host is not a secure context: select the text and copy it the old way.
  function fallback(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected for Ctrl+C */ }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (button) { copyText(button); }
  });
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
  // Large reports take a while to send: show how much of the upload has gone.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = event.target.querySelector ? event.target.querySelector("progress.upload") : null;
    if (bar && event.detail.lengthComputable) {
      bar.hidden = false;
      bar.max = event.detail.total;
      bar.value = event.detail.loaded;
    }
  });
  // A form is busy while htmx sends it: no double filing by a double click.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.target.tagName === "FORM") { event.target.querySelectorAll("button").forEach(function (b) { b.disabled = true; }); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.target.tagName === "FORM") { event.target.querySelectorAll("button").forEach(function (b) { b.disabled = false; }); }
  });
})();

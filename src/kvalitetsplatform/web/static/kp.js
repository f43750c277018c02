// Kvalitetsplatformen: charts (Vega-Lite specs built on the server, rendered with vega-embed) and small helpers.
// The specs carry their own number/time locale (config.locale), so Danish pages show "72,1 %" and "mar 2026".
(function () {
  "use strict";

  function renderCharts(root) {
    root.querySelectorAll("[data-kp-chart]:not([data-kp-rendered])").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-kp-chart"));
      if (!source || typeof vegaEmbed !== "function") return;
      el.setAttribute("data-kp-rendered", "1");
      var spec = JSON.parse(source.textContent);
      var locale = (spec.config && spec.config.locale) || {};
      vegaEmbed(el, spec, {
        actions: false, renderer: "svg", ast: true, formatLocale: locale.number, timeFormatLocale: locale.time,
        tooltip: {theme: "light"}
      }).then(function (result) {
        var svg = el.querySelector("svg");
        if (svg) {
          // the text alternative is the figure's description; the SVG itself is decoration for screen readers
          svg.setAttribute("aria-hidden", "true");
          svg.setAttribute("focusable", "false");
        }
        el.classList.add("kp-chart--ready");
      }).catch(function (err) {
        el.classList.add("kp-chart--failed");
        el.textContent = el.getAttribute("data-kp-failed") || "Diagrammet kunne ikke vises.";
        if (window.console) console.error(err);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderCharts(document);
    // the demo practice system posts its launch token by itself, as a real one would
    var launch = document.querySelector("form[data-kp-autosubmit]");
    if (launch) launch.submit();
  });
  document.addEventListener("htmx:afterSettle", function () { renderCharts(document); });
  document.addEventListener("htmx:oobAfterSwap", function () { renderCharts(document); });

  // htmx requests carry the CSRF token of the page (for the few POSTs: reveal, sign-out)
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) evt.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  });
})();

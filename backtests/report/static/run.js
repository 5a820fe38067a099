/* Draws a run's charts from the JSON block with id "run-data" (built by backtests/report/chart.py),
   the equity comparison of several runs from the block "compare-data", and the decision filter buttons.
   Uses only the bundled lightweight-charts (window.LightweightCharts); nothing is fetched. */
(function () {
  "use strict";
  var LWC = window.LightweightCharts;

  function precisionFor(points) {
    var low = Infinity;
    points.forEach(function (p) { if (p.value !== undefined && p.value > 0 && p.value < low) { low = p.value; } });
    return low >= 100 ? 2 : low >= 1 ? 4 : low >= 0.01 ? 6 : 8;
  }

  function grouped(digits) {
    return function (value) {
      return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    };
  }

  function amount(digits) {
    return { type: "custom", formatter: grouped(digits), minMove: Math.pow(10, -digits) };
  }

  function makeChart(container) {
    return LWC.createChart(container, {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#344054", fontSize: 12,
                panes: { separatorColor: "#e4e7ec" } },
      grid: { vertLines: { color: "#f2f4f7" }, horzLines: { color: "#f2f4f7" } },
      rightPriceScale: { borderVisible: false },
      timeScale: { timeVisible: true, secondsVisible: false, borderVisible: false },
      crosshair: { mode: LWC.CrosshairMode.Normal }
    });
  }

  function drawPrice(data) {
    var box = document.getElementById("price-chart");
    if (!box) { return null; }
    var digits = precisionFor(data.price);
    var chart = makeChart(box);
    var format = amount(digits);
    var price = chart.addSeries(LWC.LineSeries, { color: "#344054", lineWidth: 2, priceFormat: format,
                                                  priceLineVisible: false, title: "close" });
    price.setData(data.price);
    var markers = LWC.createSeriesMarkers(price, data.markers);
    var stops = chart.addSeries(LWC.LineSeries, { color: "#d0463b", lineWidth: 1, lineStyle: LWC.LineStyle.Dashed,
      lineType: LWC.LineType.WithSteps, priceFormat: format, priceLineVisible: false, lastValueVisible: false,
      crosshairMarkerVisible: false, title: "stop" });
    stops.setData(data.stops);
    if (data.wakes.length) {
      var wakes = chart.addSeries(LWC.HistogramSeries, { priceLineVisible: false, lastValueVisible: false,
        priceFormat: { type: "custom", formatter: function () { return ""; } }, title: "wakes" }, 1);
      wakes.setData(data.wakes);
      chart.panes()[1].setHeight(56);
    }
    chart.timeScale().fitContent();
    return { chart: chart, markers: markers };
  }

  function drawEquity(data) {
    var box = document.getElementById("equity-chart");
    if (!box) { return null; }
    var chart = makeChart(box);
    var money = amount(2);
    var equity = chart.addSeries(LWC.LineSeries, { color: "#2f6fdb", lineWidth: 2, priceFormat: money,
                                                   title: "equity" });
    equity.setData(data.equity);
    var hold = chart.addSeries(LWC.LineSeries, { color: "#98a2b3", lineWidth: 1, lineStyle: LWC.LineStyle.Dotted,
      priceFormat: money, priceLineVisible: false, title: "buy & hold" });
    hold.setData(data.buy_hold);
    var drawdown = chart.addSeries(LWC.AreaSeries, { lineColor: "#c2372d", topColor: "rgba(194,55,45,0.05)",
      bottomColor: "rgba(194,55,45,0.35)", lineWidth: 1, priceLineVisible: false, title: "drawdown %",
      priceFormat: { type: "custom", formatter: function (v) { return v.toFixed(2) + "%"; } } }, 1);
    drawdown.setData(data.drawdown);
    chart.panes()[1].setHeight(90);
    chart.timeScale().fitContent();
    return { chart: chart };
  }

  var COLOURS = ["#2f6fdb", "#e0891b", "#15935a", "#8a4fd6", "#d0463b", "#0e9aa7", "#6b7280"];

  function drawCompare(runs) {
    var box = document.getElementById("compare-chart");
    if (!box) { return null; }
    var chart = makeChart(box);
    runs.forEach(function (run, i) {
      var series = chart.addSeries(LWC.LineSeries, { color: COLOURS[i % COLOURS.length], lineWidth: 2,
        title: run.name, priceFormat: { type: "custom", formatter: function (v) { return v.toFixed(2) + "%"; } } });
      series.setData(run.points);
    });
    chart.timeScale().fitContent();
    return { chart: chart };
  }

  function wireDecisionFilters() {
    document.querySelectorAll("[data-decision-filter]").forEach(function (button) {
      button.addEventListener("click", function () {
        var list = document.getElementById(button.getAttribute("data-target"));
        var mode = button.getAttribute("data-decision-filter");
        list.classList.toggle("only-acted", mode === "acted");
        list.classList.toggle("only-vetoes", mode === "vetoes");
        button.parentNode.querySelectorAll("button").forEach(function (b) { b.classList.toggle("on", b === button); });
      });
    });
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var drawn = {};
  var run = readJson("run-data");
  if (run && LWC) {
    drawn.price = drawPrice(run);
    drawn.equity = drawEquity(run);
  }
  var compare = readJson("compare-data");
  if (compare && LWC) { drawn.compare = drawCompare(compare); }
  wireDecisionFilters();
  window.tradewakeCharts = drawn;
  document.documentElement.setAttribute("data-charts", LWC ? "ready" : "missing");
})();

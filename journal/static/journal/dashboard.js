/* The performance dashboard's charts, drawn with uPlot (vendor/uplot, MIT).

   The data comes from the page's <script type="application/json" id="dashboard-data">
   (journal.analytics.charts.payload): no inline script, as the Content-Security-Policy
   wants. Days sit on a real UTC time axis (gaps for days without a closed trade), ticks
   read "4,000" or "12.5", and hovering a chart shows the day's figure in a tooltip. */
(function () {
  "use strict";

  const DAY = 86400;
  const GREEN = "#2e7d32", RED = "#c62828", BLUE = "#1565c0";
  // Steps of a count axis: whole trades only.
  const COUNTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];

  function number(value, decimals) {
    return value.toLocaleString("en-US", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
  }

  function money(value, currency) {
    if (value === null || value === undefined) return "—";
    const sign = value > 0 ? "+" : value < 0 ? "-" : "";
    const digits = currency === "JPY" ? 0 : 2;
    return sign + number(Math.abs(value), digits) + (currency ? " " + currency : "");
  }

  // Axis ticks: whole numbers with separators above 100, else as many decimals as the
  // step needs; never "4,000.00".
  function ticks(u, splits) {
    const step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1;
    const decimals = step >= 1 ? 0 : Math.min(4, Math.ceil(-Math.log10(step)));
    return splits.map((v) => (v === 0 ? "0" : number(v, decimals)));
  }

  function utcDay(seconds) {
    const d = new Date(seconds * 1000);
    const names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    return d.toISOString().slice(0, 10) + " " + names[d.getUTCDay()];
  }

  // The days' range with room at both ends: one day, or a few, never fill the chart.
  function dayRange(days) {
    const first = days[0], last = days[days.length - 1];
    const pad = Math.max(DAY, (last - first) * 0.03);
    return () => [first - pad, last + pad];
  }

  function tooltip(describe) {
    let tip;
    return {
      hooks: {
        init: (u) => {
          tip = document.createElement("div");
          tip.className = "chart-tooltip";
          u.over.appendChild(tip);
        },
        setCursor: (u) => {
          const i = u.cursor.idx;
          if (i === null || i === undefined) {
            tip.classList.remove("shown");
            return;
          }
          const lines = describe(u, i);
          tip.replaceChildren();
          lines.forEach(([css, text]) => {
            const line = document.createElement("div");
            line.className = css;
            line.textContent = text;
            tip.appendChild(line);
          });
          const left = u.valToPos(u.data[0][i], "x");
          const right = left > u.over.clientWidth / 2;
          tip.style.left = (right ? left - tip.offsetWidth - 12 : left + 12) + "px";
          tip.style.top = Math.max(0, (u.cursor.top || 0) - 10) + "px";
          tip.classList.add("shown");
        },
      },
    };
  }

  // Day ticks as the rest of the back office writes days: 2026-03-02 (UTC).
  function dayTicks(u, splits) {
    return splits.map((v) => new Date(v * 1000).toISOString().slice(0, 10));
  }

  // Tick steps of a day axis: whole days, weeks, about a month, a quarter, a year.
  const DAY_STEPS = [1, 2, 7, 14, 30, 61, 91, 182, 365, 730].map((n) => n * DAY);

  function timeAxes(currency) {
    return [
      { space: 90, values: dayTicks, incrs: DAY_STEPS },
      { values: ticks, size: 64, label: currency || undefined, labelSize: currency ? 18 : 0 },
    ];
  }

  function base(el, extra) {
    return Object.assign(
      {
        width: el.clientWidth || 600,
        height: 230,
        padding: [12, 36, 0, 4], // room for the last day's label
        legend: { show: false },
        cursor: { points: { size: 7 }, drag: { x: false, y: false } },
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      },
      extra
    );
  }

  function draw(el, options, data) {
    const chart = new uPlot(base(el, options), data, el);
    el.uplot = chart; // for the browser tests: where a point is
    new ResizeObserver(() => {
      if (el.clientWidth && el.clientWidth !== chart.width) {
        chart.setSize({ width: el.clientWidth, height: 230 });
      }
    }).observe(el);
    return chart;
  }

  function dailyDescribe(data, name, values) {
    return (u, i) => [
      ["tip-title", utcDay(data.days[i])],
      ["tip-value", name + " " + money(values[i], data.currency)],
      ["tip-title", data.trades[i] + " trade" + (data.trades[i] === 1 ? "" : "s") + " closed"],
    ];
  }

  // A fall is drawn below zero, with zero at the top even when nothing fell.
  function fallRange(u, min, max) {
    const low = Math.min(min, 0);
    return [low === 0 ? -1 : low * 1.1, 0];
  }

  function lineChart(el, data, name, values, colour, fill, falls) {
    const many = data.days.length > 120;
    draw(
      el,
      {
        scales: { x: { time: true, range: dayRange(data.days) }, y: falls ? { range: fallRange } : {} },
        axes: timeAxes(data.currency),
        series: [
          {},
          {
            label: name,
            stroke: colour,
            width: 1.5,
            fill: fill,
            points: { show: !many, size: 4 },
            spanGaps: true,
          },
        ],
        plugins: [tooltip(dailyDescribe(data, name, values))],
      },
      [data.days, values]
    );
  }

  function dailyBars(el, data) {
    const bars = uPlot.paths.bars({ size: [0.7, 28], align: 0 });
    const ups = data.net.map((v) => (v >= 0 ? v : null));
    const downs = data.net.map((v) => (v < 0 ? v : null));
    draw(
      el,
      {
        scales: { x: { time: true, range: dayRange(data.days) } },
        axes: timeAxes(data.currency),
        series: [
          {},
          { label: "Gain", fill: GREEN, stroke: GREEN, paths: bars, points: { show: false } },
          { label: "Loss", fill: RED, stroke: RED, paths: bars, points: { show: false } },
        ],
        plugins: [tooltip(dailyDescribe(data, "Net P&L", data.net))],
      },
      [data.days, ups, downs]
    );
  }

  function histogram(el, data) {
    const h = data.r_histogram;
    const bars = uPlot.paths.bars({ size: [0.9, 40], align: 0 });
    draw(
      el,
      {
        scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] } },
        axes: [
          { values: (u, splits) => splits.map((v) => (v > 0 ? "+" : "") + v + "R") },
          { values: ticks, size: 50, label: "trades", labelSize: 18, incrs: COUNTS },
        ],
        series: [
          {},
          {
            label: "Trades",
            fill: BLUE,
            stroke: BLUE,
            paths: bars,
            points: { show: false },
          },
        ],
        plugins: [
          tooltip((u, i) => [
            ["tip-title", h.labels[i]],
            ["tip-value", h.counts[i] + " trade" + (h.counts[i] === 1 ? "" : "s")],
          ]),
        ],
      },
      [h.centres, h.counts]
    );
  }

  function start() {
    const source = document.getElementById("dashboard-data");
    if (!source || typeof uPlot === "undefined") return;
    const data = JSON.parse(source.textContent);
    const find = (name) => document.querySelector('.chart[data-chart="' + name + '"]');
    const equity = find("equity");
    if (equity) lineChart(equity, data, "Equity", data.equity, BLUE, "rgba(21,101,192,0.08)");
    const daily = find("daily-pnl");
    if (daily) dailyBars(daily, data);
    const drawdown = find("drawdown");
    if (drawdown) lineChart(drawdown, data, "Drawdown", data.drawdown, RED, "rgba(198,40,40,0.15)", true);
    const r = find("r-histogram");
    if (r) histogram(r, data);
    document.body.classList.add("charts-drawn");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/* A trade on its price chart (the trade's page), drawn with uPlot (vendor/uplot, MIT).

   Why uPlot and not TradingView's lightweight-charts: the dashboard already draws with
   uPlot, vendored, pinned and proven under this site's Content-Security-Policy by the
   browser tests; a second charting library would be 160 KB more to vendor, pin and
   audit, and lightweight-charts' licence asks for TradingView's attribution link on
   the page. What a trade's chart needs beyond uPlot's lines -- candles, price levels,
   the entry, exit, MAE and MFE points -- is the canvas drawing below, in uPlot's draw
   hook (as uPlot's own candlestick demo does), tested in Chromium by
   tests/admin/test_trade_chart_browser.py.

   The data comes from the page's <script type="application/json" id="trade-chart-data">
   (journal.analytics.trade_chart.chart_of): no inline script, as the CSP wants. Times
   are UTC seconds; a bar is drawn across its timeframe from the time it began. */
(function () {
  "use strict";

  const UP = "#2e7d32", DOWN = "#c62828";
  const COLOURS = {
    entry: "#1565c0", exit: "#6a1b9a", stop: "#c62828", target: "#2e7d32",
    mae: "#ef6c00", mfe: "#00838f",
  };
  const HEIGHT = 340;

  function fixed(value, decimals) {
    if (value === null || value === undefined) return "—";
    if (decimals === null || decimals === undefined) return String(value);
    return value.toLocaleString("en-US", {
      minimumFractionDigits: decimals, maximumFractionDigits: decimals,
    });
  }

  function stamp(seconds, daily) {
    const text = new Date(seconds * 1000).toISOString();
    return daily ? text.slice(0, 10) : text.slice(0, 10) + " " + text.slice(11, 16);
  }

  // The price range of the bars and of every mark, with a little room.
  function priceRange(data) {
    const values = data.bars.l.concat(data.bars.h);
    const m = data.marks;
    [m.entry, m.exit, m.mae, m.mfe].forEach((p) => p && values.push(p.price));
    m.levels.forEach((level) => values.push(level.price));
    const low = Math.min(...values), high = Math.max(...values);
    const pad = (high - low) * 0.06 || Math.abs(high) * 0.001 || 1;
    return [low - pad, high + pad];
  }

  function drawCandles(u, data) {
    const ctx = u.ctx, b = data.bars, half = data.seconds / 2;
    const x0 = u.valToPos(b.t[0], "x", true);
    const x1 = u.valToPos(b.t[0] + data.seconds, "x", true);
    const width = Math.max(1, Math.min(14 * devicePixelRatio, (x1 - x0) * 0.7));
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    for (let i = 0; i < b.t.length; i++) {
      const x = u.valToPos(b.t[i] + half, "x", true);
      const up = b.c[i] >= b.o[i];
      ctx.strokeStyle = ctx.fillStyle = up ? UP : DOWN;
      ctx.lineWidth = Math.max(1, devicePixelRatio);
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, u.valToPos(b.h[i], "y", true));
      ctx.lineTo(Math.round(x) + 0.5, u.valToPos(b.l[i], "y", true));
      ctx.stroke();
      const top = u.valToPos(Math.max(b.o[i], b.c[i]), "y", true);
      const bottom = u.valToPos(Math.min(b.o[i], b.c[i]), "y", true);
      ctx.fillRect(x - width / 2, top, width, Math.max(1, bottom - top));
    }
    ctx.restore();
  }

  // A mark's words on a pale box, left of ``x`` (alignRight) or right of it.
  function label(ctx, text, x, y, colour, alignRight) {
    ctx.save();
    ctx.font = `${11 * devicePixelRatio}px sans-serif`;
    ctx.textAlign = "left";  // uPlot leaves its axes' alignment on the context
    ctx.textBaseline = "middle";
    const w = ctx.measureText(text).width + 6 * devicePixelRatio;
    const h = 14 * devicePixelRatio;
    const left = alignRight ? x - w : x;
    ctx.fillStyle = "rgba(255,255,255,0.75)";
    ctx.fillRect(left, y - h / 2, w, h);
    ctx.fillStyle = colour;
    ctx.fillText(text, left + 3 * devicePixelRatio, y);
    ctx.restore();
  }

  // Where a mark was drawn, in CSS pixels from the plot's top left (as u.valToPos
  // without its canvas flag): what the browser tests compare.
  function plotted(u, x, y) {
    return { x: (x - u.bbox.left) / devicePixelRatio, y: (y - u.bbox.top) / devicePixelRatio };
  }

  function drawLevels(u, data, placed) {
    const ctx = u.ctx, right = u.bbox.left + u.bbox.width;
    data.marks.levels.forEach((level) => {
      const y = u.valToPos(level.price, "y", true);
      ctx.save();
      ctx.strokeStyle = COLOURS[level.kind];
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.restore();
      label(ctx, `${level.label} ${fixed(level.price, data.decimals)}`, right, y - 9 * devicePixelRatio,
        COLOURS[level.kind], true);
      placed[level.kind] = plotted(u, right, y);
    });
  }

  // The entry and the exit: a triangle pointing the trade's way, and a square; a
  // vertical hairline at each so the eye finds the holding window.
  function drawExecutions(u, data, placed) {
    const ctx = u.ctx, m = data.marks, s = devicePixelRatio;
    [["entry", m.entry], ["exit", m.exit]].forEach(([name, point]) => {
      if (!point) return;
      const x = u.valToPos(point.t, "x", true), y = u.valToPos(point.price, "y", true);
      ctx.save();
      ctx.strokeStyle = COLOURS[name];
      ctx.globalAlpha = 0.35;
      ctx.lineWidth = s;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.restore();
      ctx.fillStyle = COLOURS[name];
      ctx.beginPath();
      if (name === "entry") {
        const dir = data.side === "long" ? -1 : 1;  // up for a long, down for a short
        ctx.moveTo(x, y + dir * 7 * s);
        ctx.lineTo(x - 6 * s, y - dir * 5 * s);
        ctx.lineTo(x + 6 * s, y - dir * 5 * s);
        ctx.closePath();
        ctx.fill();
      } else {
        ctx.fillRect(x - 5 * s, y - 5 * s, 10 * s, 10 * s);
      }
      label(ctx, `${name} ${fixed(point.price, data.decimals)}`, x + 8 * s, y - 12 * s,
        COLOURS[name], false);
      placed[name] = plotted(u, x, y);
    });
  }

  function drawExcursions(u, data, placed) {
    const ctx = u.ctx, s = devicePixelRatio;
    ["mae", "mfe"].forEach((name) => {
      const point = data.marks[name];
      if (!point) return;
      const x = u.valToPos(point.t, "x", true);
      const y = u.valToPos(point.price, "y", true);
      ctx.save();
      ctx.strokeStyle = COLOURS[name];
      ctx.lineWidth = 2 * s;
      ctx.beginPath();
      ctx.arc(x, y, 6 * s, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.restore();
      const r = point.r === null ? "" : ` (${point.r.toFixed(2)} R)`;
      label(ctx, `${name.toUpperCase()} ${fixed(point.price, data.decimals)}${r}`,
        x - 8 * s, y + (name === "mae" ? 14 : -14) * s * (data.side === "long" ? 1 : -1),
        COLOURS[name], true);
      placed[name] = plotted(u, x, y);
    });
  }

  function tooltip(data) {
    let tip;
    const daily = data.seconds >= 86400;
    return {
      hooks: {
        init: (u) => {
          tip = document.createElement("div");
          tip.className = "trade-chart-tooltip";
          u.over.appendChild(tip);
        },
        setCursor: (u) => {
          const i = u.cursor.idx;
          if (i === null || i === undefined) {
            tip.classList.remove("shown");
            return;
          }
          const b = data.bars, d = data.decimals;
          tip.textContent =
            `${stamp(b.t[i], daily)} ${data.timeframe}  O ${fixed(b.o[i], d)}  H ${fixed(b.h[i], d)}` +
            `  L ${fixed(b.l[i], d)}  C ${fixed(b.c[i], d)}`;
          const left = u.valToPos(b.t[i], "x");
          const right = left > u.over.clientWidth / 2;
          tip.style.left = (right ? left - tip.offsetWidth - 12 : left + 12) + "px";
          tip.style.top = "4px";
          tip.classList.add("shown");
        },
      },
    };
  }

  function draw(el, data) {
    const daily = data.seconds >= 86400;
    const b = data.bars;
    const first = Math.min(b.t[0], data.marks.entry.t) - data.seconds;
    const lastBar = b.t[b.t.length - 1] + data.seconds;
    const last = Math.max(lastBar, data.marks.exit ? data.marks.exit.t : lastBar) + data.seconds;
    const placed = {};
    const options = {
      width: el.clientWidth || 800,
      height: HEIGHT,
      padding: [10, 10, 0, 4],
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: { time: true, range: () => [first, last] },
        y: { range: () => priceRange(data) },
      },
      axes: [
        { space: 110, values: (u, splits) => splits.map((v) => stamp(v, daily)) },
        {
          size: 76,
          values: (u, splits) => splits.map((v) => fixed(v, data.decimals)),
        },
      ],
      // The closes, drawn invisibly: the cursor and the tooltip find bars by them.
      series: [{}, { label: "close", stroke: "rgba(0,0,0,0)", width: 0, points: { show: false } }],
      hooks: {
        draw: [
          (u) => {
            drawCandles(u, data);
            drawLevels(u, data, placed);
            drawExecutions(u, data, placed);
            drawExcursions(u, data, placed);
            el.dataset.state = "drawn";
          },
        ],
      },
      plugins: [tooltip(data)],
    };
    const chart = new uPlot(options, [b.t, b.c], el);
    el.uplot = chart;  // for the browser tests: where each mark is drawn
    el.marks = placed;
    new ResizeObserver(() => {
      if (el.clientWidth && el.clientWidth !== chart.width) {
        chart.setSize({ width: el.clientWidth, height: HEIGHT });
      }
    }).observe(el);
  }

  function start() {
    const source = document.getElementById("trade-chart-data");
    const el = document.querySelector(".trade-chart");
    if (!source || !el || typeof uPlot === "undefined") return;
    draw(el, JSON.parse(source.textContent));
    document.body.classList.add("trade-chart-drawn");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

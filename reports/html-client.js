// Runs inside report.html (no modules, no network): draws the charts from the embedded report.json with uPlot.
/* global uPlot */
(() => {
  const report = JSON.parse(document.getElementById('report-data').textContent);
  // The timeline's buckets may be finer than a second (250 ms, for timing recovery); the charts show whole seconds,
  // so a second's counts are summed, its p50 averaged, its p99 the worst, its backlog the last value.
  const tl = chartTimeline(report.timeline);
  const bucketSec = tl.bucketMs / 1000;
  const xs = tl.sendOk.map((_, i) => (tl.startMs + i * tl.bucketMs) / 1000);
  const perSec = (arr) => arr.map((v) => v / bucketSec);
  const endSec = report.run.endMs / 1000;
  function chartTimeline(t) {
    const k = t.bucketMs >= 1000 ? 1 : Math.round(1000 / t.bucketMs);
    if (k <= 1) return t;
    const groups = (arr) => Array.from({ length: Math.ceil(arr.length / k) }, (_, i) => arr.slice(i * k, i * k + k));
    const present = (g) => g.filter((v) => v !== null && v !== undefined);
    const sum = (arr) => groups(arr).map((g) => g.reduce((n, v) => n + (v ?? 0), 0));
    const mean = (arr) =>
      groups(arr).map((g) => (present(g).length ? present(g).reduce((n, v) => n + v, 0) / present(g).length : null));
    const worst = (arr) => groups(arr).map((g) => (present(g).length ? Math.max(...present(g)) : null));
    const last = (arr) => groups(arr).map((g) => (present(g).length ? present(g).at(-1) : null));
    return {
      startMs: t.startMs,
      bucketMs: t.bucketMs * k,
      sendOk: sum(t.sendOk),
      sendFail: sum(t.sendFail),
      sendUnknown: sum(t.sendUnknown),
      received: sum(t.received),
      acked: sum(t.acked),
      backlog: last(t.backlog),
      brokerBacklog: last(t.brokerBacklog),
      sendP50Ms: mean(t.sendP50Ms),
      sendP99Ms: worst(t.sendP99Ms),
      e2eP50Ms: mean(t.e2eP50Ms),
      e2eP99Ms: worst(t.e2eP99Ms),
    };
  }

  const FAULT_FILL = 'rgba(220, 38, 38, 0.10)';
  const FAULT_EDGE = 'rgba(220, 38, 38, 0.55)';
  // Phases worth a label on the charts (the short set-up phases before the load would only crowd the left edge).
  const LABELLED_PHASES = new Set(['load', 'faults', 'heal', 'drain', 'drain-wait', 'check']);
  const labelBoxes = {};

  /** Shades fault windows behind the series and draws phase boundaries as dashed lines with labels. */
  function windowsPlugin() {
    return {
      hooks: {
        drawClear: [
          (u) => {
            const { ctx, bbox } = u;
            ctx.save();
            for (const f of report.faults) {
              const x0 = u.valToPos(f.startMs / 1000, 'x', true);
              const x1 = u.valToPos((f.endMs ?? report.run.endMs) / 1000, 'x', true);
              ctx.fillStyle = FAULT_FILL;
              ctx.fillRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height);
              ctx.fillStyle = FAULT_EDGE;
              ctx.fillRect(x0, bbox.top, 2, bbox.height);
            }
            ctx.restore();
          },
        ],
        draw: [
          (u) => {
            const { ctx, bbox } = u;
            const px = devicePixelRatio;
            ctx.save();
            ctx.font = `${11 * px}px system-ui, sans-serif`;
            // Labels go in up to three rows; a label that would overlap another in every row is left out (its dashed
            // line stays). The boxes drawn are kept for the report test.
            const rows = [[], [], []];
            const placed = [];
            const place = (text, x, color) => {
              const width = ctx.measureText(text).width;
              const left = x + 4 * px;
              const row = rows.findIndex((r) => r.every(([a, b]) => left > b + 6 * px || left + width < a - 6 * px));
              if (row < 0) return;
              rows[row].push([left, left + width]);
              const y = bbox.top + (12 + row * 14) * px;
              ctx.fillStyle = color;
              ctx.fillText(text, left, y);
              placed.push({ text, left: left / px, right: (left + width) / px, row });
            };
            ctx.setLineDash([4 * px, 4 * px]);
            ctx.strokeStyle = 'rgba(71, 85, 105, 0.7)';
            for (const f of report.faults) {
              const x = u.valToPos(f.startMs / 1000, 'x', true);
              place(`⚡ ${f.name}`, x, 'rgba(185, 28, 28, 0.95)');
            }
            for (const p of report.phases) {
              if (!LABELLED_PHASES.has(p.name)) continue;
              const x = u.valToPos(p.startMs / 1000, 'x', true);
              if (x < bbox.left || x > bbox.left + bbox.width) continue;
              ctx.beginPath();
              ctx.moveTo(x, bbox.top);
              ctx.lineTo(x, bbox.top + bbox.height);
              ctx.stroke();
              place(p.name, x, 'rgba(51, 65, 85, 0.9)');
            }
            ctx.restore();
            labelBoxes[u.root.parentElement.id] = placed;
            document.body.dataset.phaseLabels = JSON.stringify(labelBoxes);
          },
        ],
      },
    };
  }

  const axisStyle = { stroke: '#475569', grid: { stroke: '#e2e8f0', width: 1 }, ticks: { stroke: '#cbd5e1' } };

  function makeChart(id, yLabel, series, data, extra = {}) {
    const el = document.getElementById(id);
    const width = Math.max(320, el.clientWidth);
    const opts = {
      width,
      height: 260,
      plugins: [windowsPlugin()],
      scales: { x: { time: true, range: [xs[0] ?? 0, Math.max(endSec, (xs.at(-1) ?? 0) + bucketSec)] }, ...extra },
      axes: [axisStyle, { ...axisStyle, label: yLabel, size: 60 }],
      series: [{}, ...series],
      cursor: { drag: { x: true, y: false } },
      // Not live: a live legend shows "--" for every series while the cursor is off the chart.
      legend: { live: false },
    };
    const chart = new uPlot(opts, [xs, ...data], el);
    charts.push([chart, el]);
    return chart;
  }

  const charts = [];
  const line = (label, stroke, fill) => ({ label, stroke, width: 2, fill, points: { show: false } });
  const dashed = (label, stroke) => ({ label, stroke, width: 2, dash: [6, 4], points: { show: false } });

  makeChart(
    'chart-throughput',
    'messages / s',
    [
      line('sent ok', '#2563eb', 'rgba(37, 99, 235, 0.08)'),
      line('received', '#16a34a'),
      dashed('acked', '#0d9488'),
      line('send failed', '#dc2626'),
      line('send unknown', '#d97706'),
    ],
    [perSec(tl.sendOk), perSec(tl.received), perSec(tl.acked), perSec(tl.sendFail), perSec(tl.sendUnknown)],
  );
  makeChart(
    'chart-latency',
    'ms (log)',
    [
      line('send p50', '#60a5fa'),
      line('send p99', '#1d4ed8'),
      line('end-to-end p50', '#c084fc'),
      line('end-to-end p99', '#7e22ce'),
    ],
    [tl.sendP50Ms, tl.sendP99Ms, tl.e2eP50Ms, tl.e2eP99Ms],
    { y: { distr: 3 } },
  );
  makeChart(
    'chart-backlog',
    'messages',
    [line('backlog (ledger)', '#ea580c', 'rgba(234, 88, 12, 0.12)'), dashed('broker lag', '#334155')],
    [tl.backlog, tl.brokerBacklog],
  );

  window.addEventListener('resize', () => {
    for (const [chart, el] of charts) chart.setSize({ width: Math.max(320, el.clientWidth), height: 260 });
  });
  document.body.dataset.chartsReady = String(charts.length);
})();

// Runs inside report.html (no modules, no network): draws the charts from the embedded report.json with uPlot.
/* global uPlot */
(() => {
  const report = JSON.parse(document.getElementById('report-data').textContent);
  const tl = report.timeline;
  const bucketSec = tl.bucketMs / 1000;
  const xs = tl.sendOk.map((_, i) => (tl.startMs + i * tl.bucketMs) / 1000);
  const perSec = (arr) => arr.map((v) => v / bucketSec);
  const endSec = report.run.endMs / 1000;
  const FAULT_FILL = 'rgba(220, 38, 38, 0.10)';
  const FAULT_EDGE = 'rgba(220, 38, 38, 0.55)';

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
            ctx.save();
            ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
            ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.strokeStyle = 'rgba(71, 85, 105, 0.7)';
            ctx.fillStyle = 'rgba(51, 65, 85, 0.9)';
            for (const p of report.phases) {
              const x = u.valToPos(p.startMs / 1000, 'x', true);
              if (x < bbox.left || x > bbox.left + bbox.width) continue;
              ctx.beginPath();
              ctx.moveTo(x, bbox.top);
              ctx.lineTo(x, bbox.top + bbox.height);
              ctx.stroke();
              ctx.fillText(p.name, x + 4 * devicePixelRatio, bbox.top + 12 * devicePixelRatio);
            }
            for (const f of report.faults) {
              const x = u.valToPos(f.startMs / 1000, 'x', true);
              ctx.fillStyle = 'rgba(185, 28, 28, 0.9)';
              ctx.fillText(`⚡ ${f.name}`, x + 5 * devicePixelRatio, bbox.top + 26 * devicePixelRatio);
            }
            ctx.restore();
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
      legend: { live: true },
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

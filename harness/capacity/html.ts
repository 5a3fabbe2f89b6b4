/**
 * report.html of `mqdrill capacity`: the curve (arrival rate against send p50/p99/p99.9, and against achieved send
 * and receive rates and error share) drawn with the uPlot copy, styles and table helpers of reports/html.ts, so it
 * looks like a drill's report and works offline. Reads only the CapacityReport.
 */
import { assets, esc, STYLE, table } from '../../reports/html.ts';
import type { CapacityReport } from './report.ts';

const n0 = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US');
const ms = (n: number | undefined) => (n === undefined ? '—' : `${n.toFixed(1)} ms`);

const LIMIT_SUB: Record<string, string> = {
  generator: 'the load generator, not the target',
  ceiling: 'nothing up to --max-rate',
  unknown: 'no step broke',
};

function cards(report: CapacityReport): string {
  const r = report.result;
  const items: [string, string, string][] = [
    ['Sustainable send', `${n0(r.sustainableSendRate)}/s`, `arrival rate ${n0(r.sustainableRate)}/s held`],
    [
      'Sustainable receive',
      `${n0(r.sustainableReceiveRate)}/s`,
      report.drainProbe ? 'draining a backlog' : 'at the held rate',
    ],
    ['Broke at', `${n0(r.breakingRate)}/s`, r.converged ? 'converged' : 'not converged'],
    ['Limited by', r.limitedBy, LIMIT_SUB[r.limitedBy] ?? 'the target'],
    ['Lost', n0(report.lost.count), report.lost.verdict],
  ];
  return items
    .map(
      ([title, value, sub]) =>
        `<div class="card"><div class="card-title">${esc(title)}</div><div class="card-value">${esc(value)}</div>` +
        `<div class="card-sub">${esc(sub)}</div></div>`,
    )
    .join('');
}

function stepTable(report: CapacityReport): string {
  const rows = [...report.steps]
    .sort((a, b) => a.rate - b.rate)
    .map((s) => [
      n0(s.rate),
      n0(s.sendRate),
      n0(s.receiveRate),
      ms(s.sendP50Ms),
      ms(s.sendP99Ms),
      ms(s.sendP999Ms),
      `${(s.errorShare * 100).toFixed(2)}%`,
      `${(s.droppedShare * 100).toFixed(1)}%`,
      `${s.generatorCpuCores.toFixed(2)} / ${s.cpus}`,
      s.pass
        ? '<span class="badge pass">held</span>'
        : '<span class="badge fail">broke</span> ' +
          `<span class="muted small">${esc(s.reasons.map((r) => r.detail).join('; '))}</span>`,
    ]);
  return table(
    ['#rate/s', '#sent/s', '#received/s', '#p50', '#p99', '#p99.9', '#errors', '#dropped', '#generator cpu', 'result'],
    rows,
  );
}

function planSection(report: CapacityReport): string {
  const p = report.drainProbe;
  const c = report.consumerPlan;
  if (!p) return '<p class="muted">No drain probe: the scenario has no consumers, or no rate held.</p>';
  const probe =
    `<p>${p.consumers} consumers drained ${n0(p.backlog)} messages at ${n0(p.receiveRate)}/s ` +
    `(${n0(p.perConsumerRate)}/s per consumer)${p.note ? ` <span class="muted">(${esc(p.note)})</span>` : ''}.</p>`;
  const plan = c
    ? `<p id="consumer-plan">To drain <b>${n0(c.backlog)}</b> messages within ` +
      `<b>${Math.round(c.withinMs / 1000)} s</b>: <b>${c.needed}</b> consumers; <b>${c.neededWhileSending}</b> ` +
      'while producers keep sending at the sustainable rate.</p>'
    : '';
  return probe + plan;
}

const CLIENT = `
(() => {
  const report = JSON.parse(document.getElementById('capacity-data').textContent);
  const steps = [...report.steps].sort((a, b) => a.rate - b.rate);
  const x = steps.map((s) => s.rate);
  const v = (k) => steps.map((s) => (s[k] === undefined || s[k] === null ? null : s[k]));
  const broke = report.result.breakingRate;
  const mark = {
    hooks: {
      draw: [(u) => {
        if (broke === null) return;
        const ctx = u.ctx, px = u.valToPos(broke, 'x', true);
        ctx.save(); ctx.strokeStyle = 'rgba(185,28,28,.8)'; ctx.setLineDash([6, 4]);
        ctx.beginPath(); ctx.moveTo(px, u.bbox.top); ctx.lineTo(px, u.bbox.top + u.bbox.height); ctx.stroke();
        ctx.fillStyle = 'rgba(185,28,28,.95)';
        ctx.fillText('broke: ' + report.result.limitedBy, px + 4, u.bbox.top + 12);
        ctx.restore();
      }],
    },
  };
  const axis = { stroke: '#475569', grid: { stroke: '#e2e8f0', width: 1 } };
  function chart(id, label, series, data) {
    const el = document.getElementById(id);
    new uPlot({
      width: Math.max(320, el.clientWidth), height: 280, plugins: [mark],
      scales: { x: { time: false } },
      axes: [{ ...axis, label: 'arrival rate (messages/s)' }, { ...axis, label, size: 60 }],
      series: [{ label: 'rate/s' }, ...series.map((s) => ({ points: { show: true, size: 6 }, width: 2, ...s }))],
    }, [x, ...data], el);
  }
  chart('chart-latency', 'send latency (ms)', [
    { label: 'p50', stroke: '#2563eb' }, { label: 'p99', stroke: '#d97706' }, { label: 'p99.9', stroke: '#b91c1c' },
  ], [v('sendP50Ms'), v('sendP99Ms'), v('sendP999Ms')]);
  chart('chart-rate', 'messages/s', [
    { label: 'sent ok/s', stroke: '#15803d' }, { label: 'received/s', stroke: '#7c3aed' },
    { label: 'asked/s', stroke: '#94a3b8', dash: [4, 4] },
  ], [v('sendRate'), v('receiveRate'), x]);
  chart('chart-errors', 'share (%)', [
    { label: 'errors %', stroke: '#b91c1c' }, { label: 'dropped %', stroke: '#a16207' },
  ], [steps.map((s) => s.errorShare * 100), steps.map((s) => s.droppedShare * 100)]);
})();
`;

export function renderCapacityHtml(report: CapacityReport): string {
  const { js, css } = assets();
  const held = report.result.sustainableRate !== null;
  const verdict = report.exitCode === 6 ? 'unknown' : report.exitCode === 0 && held ? 'pass' : 'fail';
  const title = `capacity: ${report.scenario} on ${report.target}${report.flush ? ` (${report.flush} flush)` : ''}`;
  const env = report.environment;
  const envRows = [
    ['mqdrill', `${env.mqdrillVersion} ${env.gitCommit ?? ''}`],
    ['target', `${env.target} · ${env.targetVersion}`],
    ['machine', env.machine],
    ['node', env.node],
    ['seed', String(report.seed)],
    ['SLO', JSON.stringify(report.slo)],
    ['search', JSON.stringify(report.search)],
  ].map(([k, val]) => [esc(k), esc(val)]);
  const command = env.command
    ? `<p><b>Reproduce:</b></p><pre class="command" id="reproduce">${esc(env.command)}</pre>`
    : '';
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${esc(title)}</title><style>${css}</style><style>${STYLE}</style></head>`,
    '<body>',
    `<header class="${verdict}"><h1>${esc(title)}</h1>`,
    `<div class="reason" id="capacity-reason">${esc(report.exitReason)}</div>`,
    `<div class="sub">limited by <b>${esc(report.result.limitedBy)}</b>: ${esc(report.result.why)}</div></header>`,
    '<main>',
    `<div class="cards">${cards(report)}</div>`,
    '<section><h2>The curve</h2><p class="legend-note">One point per step (its measured window, warm-up ' +
      'discarded); the dashed line is the lowest rate that broke.</p>',
    '<div class="charts"><div id="chart-latency" class="chart"></div><div id="chart-rate" class="chart"></div>',
    '<div id="chart-errors" class="chart"></div></div></section>',
    `<section><h2>Steps</h2>${stepTable(report)}</section>`,
    `<section><h2>Consumers</h2>${planSection(report)}</section>`,
    `<section id="environment"><h2>Environment</h2>${table(['item', 'value'], envRows)}${command}</section>`,
    `<footer>report.json schema ${esc(report.schema)} v${report.version}. Charts: uPlot (MIT).</footer>`,
    '</main>',
    `<script type="application/json" id="capacity-data">${JSON.stringify(report).replace(/</g, '\\u003c')}</script>`,
    `<script>${js}</script>`,
    `<script>${CLIENT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

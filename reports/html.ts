import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { formatDurationMs } from '../lib/duration.ts';
import { ERROR_HEADERS, environmentRows, errorRows, FAULT_HEADERS, faultRows, loadGeneratorLine } from './facts.ts';
import { formatGateBound, formatGateValue, formatMs, runTitle } from './format.ts';
import type { AnomalyReport, Report } from './schema.ts';

const require = createRequire(import.meta.url);

/** uPlot (MIT, github.com/leeoniya/uPlot) is embedded whole, so report.html works offline and forever. */
export function assets(): { js: string; css: string; client: string } {
  const dist = require.resolve('uplot/dist/uPlot.iife.min.js');
  return {
    js: readFileSync(dist, 'utf8'),
    css: readFileSync(dist.replace('uPlot.iife.min.js', 'uPlot.min.css'), 'utf8'),
    client: readFileSync(new URL('./html-client.js', import.meta.url), 'utf8'),
  };
}

export function esc(text: string | number | undefined): string {
  return String(text ?? '').replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** JSON that is safe inside <script>: no `</script>`, no `<!--`. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const ms = formatMs;

const num = (n: number | undefined) => (n ?? 0).toLocaleString('en-US');

function badge(verdict: string, extra = ''): string {
  return `<span class="badge ${esc(verdict)}">${esc(verdict)}${extra}</span>`;
}

/** A table; a header starting with `#` is a right-aligned number column. */
export function table(headers: string[], rows: string[][]): string {
  const cls = (h: string | undefined) => (h?.startsWith('#') ? ' class="num"' : '');
  const head = headers.map((h) => `<th${cls(h)}>${esc(h.replace(/^#/, ''))}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((cell, i) => `<td${cls(headers[i])}>${cell}</td>`).join('')}</tr>`);
  return `<table><thead><tr>${head}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function cards(report: Report): string {
  const c = report.counts;
  const anomaly = (name: string) => report.anomalies.find((a) => a.name === name);
  const lost = anomaly('lost');
  const dup = anomaly('duplicate');
  const items: [string, string, string][] = [
    ['Sent ok', num(c.sends_ok), `${num(c.sends)} sends`],
    ['Send failed / unknown', `${num(c.sends_fail)} / ${num(c.sends_unknown)}`, 'fail is definite, unknown may land'],
    ['Delivered', num(c.deliveries), `${num(c.redeliveries)} redeliveries`],
    ['Lost', num(lost?.count), lost ? lost.verdict : ''],
    ['Duplicates', num(dup?.count), dup ? `${(dup.rate * 100).toFixed(3)}% of delivered` : ''],
    ['Drain', report.drainMs === undefined ? '—' : ms(report.drainMs), 'after the drain started'],
    ['Send p99', ms(report.latencies.send_duration?.p99), `p50 ${ms(report.latencies.send_duration?.med)}`],
    ['End-to-end p99', ms(report.latencies.e2e_latency?.p99), `p50 ${ms(report.latencies.e2e_latency?.med)}`],
  ];
  return items
    .map(([title, value, sub]) => {
      const tone = title === 'Lost' && (lost?.count ?? 0) > 0 ? ' bad' : '';
      return (
        `<div class="card${tone}"><div class="card-title">${esc(title)}</div>` +
        `<div class="card-value">${esc(value)}</div><div class="card-sub">${esc(sub)}</div></div>`
      );
    })
    .join('');
}

function gateTable(report: Report): string {
  if (report.gates.length === 0) return '<p class="muted">No gates were given (<code>--gates FILE</code>).</p>';
  const rows = report.gates.map((g) => [
    `<code>${esc(g.source)}</code>`,
    esc(formatGateValue(g)),
    esc(formatGateBound(g)),
    badge(g.status),
    `<span class="muted">${esc(g.note)}</span>`,
  ]);
  return table(['gate', '#measured', 'bound', 'result', ''], rows);
}

function faultSection(report: Report): string {
  const rows = faultRows(report);
  if (rows.length === 0) return '';
  const cells = rows.map((r) => r.map((c, i) => (i === 0 ? `<b>${esc(c)}</b>` : esc(c))));
  return (
    '<section id="faults"><h2>Faults: before, during, after</h2>' +
    '<p class="muted small">Each window: ok sends per second, ok share of sends, worst send p99 over 250 ms ' +
    'buckets. Recovery: from the heal until sends succeed at the pre-fault rate and messages are received again.</p>' +
    `${table(FAULT_HEADERS, cells)}</section>`
  );
}

function errorSection(report: Report): string {
  const rows = errorRows(report);
  const body = rows.length
    ? table(
        ERROR_HEADERS.map((h) => (h === 'count' ? '#count' : h)),
        rows.map((r) => r.map((c, i) => (i === 4 ? `<code class="small">${esc(c)}</code>` : esc(c)))),
      )
    : '<p class="muted">No failed or unknown operation.</p>';
  return `<section id="errors"><h2>Errors by status</h2>${body}</section>`;
}

function generatorLine(report: Report): string {
  const g = loadGeneratorLine(report);
  if (!g) return '';
  const warning = g.warning ? `<div class="warning" id="generator-warning">⚠ ${esc(g.warning)}</div>` : '';
  return `<div class="generator" id="generator"><b>Load generator:</b> ${esc(g.line)}${warning}</div>`;
}

function environmentSection(report: Report): string {
  const env = environmentRows(report);
  const rows = env.rows.map(([k, v]) => [esc(k), esc(v)]);
  const command = env.command
    ? `<p><b>Reproduce:</b></p><pre class="command" id="reproduce">${esc(env.command)}</pre>`
    : '';
  return `<section id="environment"><h2>Environment</h2>${table(['item', 'value'], rows)}${command}</section>`;
}

function exampleItem(e: AnomalyReport['examples'][number]): string {
  const where = `<code>${esc(e.file ? `${e.file.split('/').at(-1)}:${e.line}` : '—')}</code>`;
  const id = e.id ? ` <code>${esc(e.id)}</code>` : '';
  const group = e.group ? ` <span class="muted">${esc(e.group)}</span>` : '';
  return `<li>${where}${id}${group} ${esc(e.detail)}</li>`;
}

function anomalyRows(report: Report): string[][] {
  return report.anomalies.map((a) => {
    const extra = a.allowed ? ' · allowed' : a.applicable ? '' : ' · n/a';
    const notes = a.notes.map((n) => `<li class="muted">${esc(n)}</li>`).join('');
    const error = a.error ? `<li class="error">checker error: ${esc(a.error)}</li>` : '';
    const items = `${error}${notes}${a.examples.map(exampleItem).join('')}`;
    const open = a.verdict === 'fail' ? ' open' : '';
    const detail = items ? `<details${open}><summary>details</summary><ul>${items}</ul></details>` : '';
    const marker = `<span class="mark ${esc(a.verdict)}"></span>`;
    return [
      `${marker}<b>${esc(a.name)}</b><div class="muted small">${esc(a.description)}</div>${detail}`,
      badge(a.verdict, extra),
      num(a.count),
      num(a.checked),
      `${(a.rate * 100).toFixed(3)}%`,
    ];
  });
}

function latencyTable(report: Report): string {
  const rows = Object.entries(report.latencies).map(([name, l]) => [
    esc(name),
    num(l.count),
    ...[l.min, l.avg, l.med, l.p90, l.p99, l.p999, l.max].map(ms),
  ]);
  if (rows.length === 0) return '<p class="muted">No latencies were recorded.</p>';
  return table(['metric', '#count', '#min', '#avg', '#p50', '#p90', '#p99', '#p99.9', '#max'], rows);
}

function windowList(report: Report): string {
  const all = [
    ...report.faults.map((f) => ({ kind: 'fault', ...f })),
    ...report.phases.map((p) => ({ kind: 'phase', ...p })),
  ].sort((a, b) => a.startMs - b.startMs);
  if (all.length === 0) return '';
  const at = (t: number | undefined) => (t === undefined ? '…' : `+${formatDurationMs(t - report.run.startMs)}`);
  const items = all
    .map(
      (w) =>
        `<li><span class="chip ${w.kind}">${w.kind}</span> <b>${esc(w.name)}</b> ` +
        `${at(w.startMs)} → ${at(w.endMs)}</li>`,
    )
    .join('');
  return `<ul class="windows">${items}</ul>`;
}

export const STYLE = `
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--pass:#15803d;--fail:#b91c1c;--unknown:#a16207}
*{box-sizing:border-box}
body{
  margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:22px 32px;color:#fff;background:linear-gradient(120deg,#1e293b,#334155)}
header.fail{background:linear-gradient(120deg,#7f1d1d,#b91c1c)}
header.pass{background:linear-gradient(120deg,#14532d,#15803d)}
header.unknown{background:linear-gradient(120deg,#713f12,#a16207)}
header h1{margin:0 0 4px;font-size:24px;font-weight:650}
header .sub{opacity:.85}
main{max-width:1280px;margin:0 auto;padding:20px 32px 48px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:12px;margin:4px 0 20px}
.card{
  background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px;
  box-shadow:0 1px 2px rgba(0,0,0,.04)}
.card.bad{border-color:#fecaca;background:#fef2f2}
.card-title{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card-value{font-size:22px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums}
.card-sub{color:var(--muted);font-size:12px}
section{
  background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin:0 0 18px;
  box-shadow:0 1px 2px rgba(0,0,0,.04)}
h2{font-size:16px;margin:0 0 10px}
.charts{display:grid;grid-template-columns:1fr;gap:8px}
.chart{min-height:300px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:7px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{
  display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:650;text-transform:uppercase;
  letter-spacing:.03em;white-space:nowrap}
.badge.pass{background:#dcfce7;color:var(--pass)}
.badge.fail{background:#fee2e2;color:var(--fail)}
.badge.unknown{background:#fef9c3;color:var(--unknown)}
td{position:relative}
.mark.fail,.mark.unknown{position:absolute;left:0;top:6px;bottom:6px;width:3px;border-radius:2px}
.mark.fail{background:var(--fail)}
.mark.unknown{background:var(--unknown)}
.muted{color:var(--muted)}
.small{font-size:12px}
.error{color:var(--fail)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f5f9;padding:1px 4px;border-radius:4px}
details{margin-top:4px}
summary{cursor:pointer;color:#2563eb;font-size:12px}
details ul{margin:6px 0 0;padding-left:18px}
.windows{list-style:none;padding:0;margin:8px 0 0;display:flex;flex-wrap:wrap;gap:6px 18px;font-size:13px}
.chip{font-size:11px;padding:1px 7px;border-radius:999px;text-transform:uppercase}
.chip.fault{background:#fee2e2;color:#991b1b}
.chip.phase{background:#e2e8f0;color:#334155}
.legend-note{font-size:12px;color:var(--muted);margin:0 0 6px}
.legend-note i{
  display:inline-block;width:14px;height:10px;background:rgba(220,38,38,.18);border-left:2px solid rgba(220,38,38,.6);
  vertical-align:middle;margin-right:4px}
footer{color:var(--muted);font-size:12px;margin-top:18px}
header .reason{font-size:16px;font-weight:600;margin:2px 0 4px}
.generator{background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px 14px;margin:0 0 18px}
.warning{margin-top:6px;padding:8px 10px;border-radius:8px;background:#fef3c7;color:#92400e;font-weight:600}
pre.command{background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:8px;overflow-x:auto;
  font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
`;

/** report.html: one self-contained page (inline uPlot, CSS and data) that a person opens after a drill. */
export function renderHtml(report: Report): string {
  const { js, css, client } = assets();
  const title = `${runTitle(report)}: ${report.verdict.toUpperCase()}`;
  const duration = formatDurationMs(Math.max(0, report.run.endMs - report.run.startMs));
  const started = new Date(report.run.startMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  const anomalies = table(['anomaly', 'verdict', '#count', '#checked', '#rate'], anomalyRows(report));
  const ledgers = report.inputs.ledgers
    .map((l) => {
      const malformed = l.malformed ? `, ${l.malformed} malformed` : '';
      return `<code>${esc(l.path)}</code> (${esc(l.process)}, ${num(l.records)} records${malformed})`;
    })
    .join(', ');
  const stats = report.checkStats;
  const sub = [`exit code ${report.exitCode}`, `guarantee <b>${esc(report.guarantee)}</b>`, `started ${esc(started)}`]
    .concat(esc(duration))
    .join(' · ');
  const charts = ['throughput', 'latency', 'backlog'].map((c) => `<div id="chart-${c}" class="chart"></div>`);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${esc(title)}</title><style>${css}</style><style>${STYLE}</style></head>`,
    '<body>',
    `<header class="${esc(report.verdict)}"><h1>${esc(title)}</h1>`,
    `<div class="reason" id="verdict-reason">${esc(report.verdict.toUpperCase())}: ${esc(report.exitReason)}</div>`,
    `<div class="sub">${sub}</div></header>`,
    '<main>',
    `<div class="cards">${cards(report)}</div>`,
    generatorLine(report),
    '<section><h2>Over time</h2>',
    '<p class="legend-note"><i></i>fault windows are shaded; dashed lines mark phases. ' +
      'Drag to zoom, double-click to reset.</p>',
    `<div class="charts">${charts.join('')}</div>`,
    `${windowList(report)}</section>`,
    `<section><h2>Gates</h2>${gateTable(report)}</section>`,
    faultSection(report),
    errorSection(report),
    `<section><h2>Anomalies</h2>${anomalies}</section>`,
    `<section><h2>Latency</h2>${latencyTable(report)}</section>`,
    environmentSection(report),
    `<footer>Ledgers: ${ledgers}. Checked ${num(stats.records)} records, ${num(stats.messages)} messages ` +
      `in ${ms(stats.durationMs)}. report.json schema ${esc(report.schema)} v${report.version}. ` +
      'Charts: uPlot (MIT).</footer>',
    '</main>',
    `<script type="application/json" id="report-data">${scriptJson(report)}</script>`,
    `<script>${js}</script>`,
    `<script>${client}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

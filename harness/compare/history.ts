/**
 * `mqdrill compare --history DIR`: every report.json under DIR (nightly runs kept side by side), oldest first, drawn
 * as one trend chart per figure in a self-contained HTML page (uPlot from reports/html.ts), with each figure's spread
 * across the runs: on reports of one build, max / min is the run-to-run noise a tolerance must allow.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assets, esc, STYLE, table } from '../../reports/html.ts';
import { type Figure, figuresOf, NotAReportError, type ReportFigures } from './figures.ts';

/** Every report.json under dir (recursive), parsed; files that are not reports are listed in `skipped`. */
export function readHistory(dir: string): { reports: Array<ReportFigures & { path: string }>; skipped: string[] } {
  const reports: Array<ReportFigures & { path: string }> = [];
  const skipped: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'report.json') {
        try {
          reports.push({ ...figuresOf(JSON.parse(readFileSync(p, 'utf8')), p), path: p });
        } catch (err) {
          if (!(err instanceof NotAReportError) && !(err instanceof SyntaxError)) throw err;
          skipped.push(`${p}: ${(err as Error).message}`);
        }
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  reports.sort((a, b) => a.generatedMs - b.generatedMs);
  return { reports, skipped };
}

export interface Spread {
  name: string;
  runs: number;
  min: number;
  max: number;
  /** max / min (Infinity when min is 0 and max is not). */
  ratio: number;
}

export function spreads(reports: readonly ReportFigures[]): Spread[] {
  const names = [...new Set(reports.flatMap((r) => [...r.figures.keys()]))].sort();
  return names.map((name) => {
    const values = reports.flatMap((r) => {
      const f = r.figures.get(name);
      return f && f.unknown === undefined ? [f.value] : [];
    });
    const min = Math.min(...values);
    const max = Math.max(...values);
    return { name, runs: values.length, min, max, ratio: min > 0 ? max / min : max > 0 ? Infinity : 1 };
  });
}

const CLIENT = `
(() => {
  const data = JSON.parse(document.getElementById('history-data').textContent);
  const axis = { stroke: '#475569', grid: { stroke: '#e2e8f0', width: 1 } };
  for (const [i, f] of data.figures.entries()) {
    const el = document.getElementById('trend-' + i);
    new uPlot({
      width: Math.max(300, el.clientWidth), height: 200, title: f.name,
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 60, label: f.unit }],
      series: [{}, { label: f.name, stroke: '#2563eb', width: 2, points: { show: true, size: 6 } }],
    }, [data.times, f.values], el);
  }
})();
`;

export function renderHistoryHtml(reports: ReadonlyArray<ReportFigures & { path: string }>): string {
  const { js, css } = assets();
  const names = [...new Set(reports.flatMap((r) => [...r.figures.keys()]))].sort();
  const figures = names.map((name) => {
    const unit = reports.find((r) => r.figures.has(name))?.figures.get(name)?.unit ?? '';
    const value = (f: Figure | undefined) => (f && f.unknown === undefined ? f.value : null);
    return { name, unit, values: reports.map((r) => value(r.figures.get(name))) };
  });
  const data = { times: reports.map((r) => r.generatedMs / 1000), figures };
  const spreadRows = spreads(reports).map((s) => [
    esc(s.name),
    String(s.runs),
    s.min.toFixed(1),
    s.max.toFixed(1),
    Number.isFinite(s.ratio) ? `x${s.ratio.toFixed(2)}` : '∞',
  ]);
  const runRows = reports.map((r) => [
    esc(new Date(r.generatedMs).toISOString().replace('T', ' ').slice(0, 19)),
    esc(r.title),
    esc([...r.gates.values()].filter((g) => g === 'fail').length ? 'gate failed' : 'gates held'),
    `<code>${esc(r.path)}</code>`,
  ]);
  const charts = figures.map((_, i) => `<div id="trend-${i}" class="chart"></div>`).join('');
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<title>mqdrill trend: ${reports.length} reports</title><style>${css}</style><style>${STYLE}</style></head><body>`,
    `<header><h1>mqdrill trend</h1><div class="sub">${reports.length} reports, oldest first</div></header><main>`,
    `<section><h2>Figures over time</h2><div class="charts">${charts}</div></section>`,
    '<section><h2>Spread</h2><p class="muted small">max / min of each figure across these reports: on reports ' +
      'of one build, the run-to-run noise a compare tolerance must allow.</p>' +
      `${table(['figure', '#runs', '#min', '#max', '#max / min'], spreadRows)}</section>`,
    `<section><h2>Runs</h2>${table(['generated', 'run', 'gates', 'report'], runRows)}</section>`,
    '<footer>Charts: uPlot (MIT).</footer></main>',
    `<script type="application/json" id="history-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>`,
    `<script>${js}</script><script>${CLIENT}</script></body></html>`,
    '',
  ].join('\n');
}

import { formatDurationMs } from '../lib/duration.ts';
import type { Report } from './schema.ts';

const ICON: Record<string, string> = { pass: '✅', fail: '❌', unknown: '❔' };

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function ms(value: number | undefined): string {
  return value === undefined ? '—' : value < 10 ? `${value.toFixed(2)} ms` : formatDurationMs(value);
}

/** summary.md: the verdict, gates, anomalies and latencies, short enough for a CI job summary. */
export function renderMarkdown(report: Report, examplesMax = 3): string {
  const c = report.counts;
  const runName = report.run.id ? ` \`${report.run.id}\`` : '';
  const lines: string[] = [
    `## ${ICON[report.verdict]} mqdrill check: ${report.verdict.toUpperCase()}`,
    '',
    `${report.exitReason} (exit code ${report.exitCode}). Guarantee: \`${report.guarantee}\`. ` +
      `Run${runName}: ${formatDurationMs(report.run.endMs - report.run.startMs)}, ` +
      `${c.sends ?? 0} sends (${c.sends_ok ?? 0} ok, ${c.sends_fail ?? 0} fail, ${c.sends_unknown ?? 0} unknown), ` +
      `${c.deliveries ?? 0} deliveries, ${report.faults.length} faults` +
      (report.drainMs !== undefined ? `, drained in ${ms(report.drainMs)}.` : '.'),
    '',
  ];
  if (report.gates.length > 0) {
    lines.push('| gate | actual | result |', '| --- | --- | --- |');
    for (const g of report.gates) {
      const actual = g.actual === undefined ? (g.note ?? '—') : String(+g.actual.toFixed(4));
      lines.push(`| \`${cell(g.source)}\` | ${cell(actual)} | ${ICON[g.status]} ${g.status} |`);
    }
    lines.push('');
  }
  lines.push('| anomaly | verdict | count | of | rate |', '| --- | --- | --- | --- | --- |');
  for (const a of report.anomalies) {
    const verdict = `${ICON[a.verdict]} ${a.verdict}${a.allowed ? ' (allowed)' : ''}${a.applicable ? '' : ' (n/a)'}`;
    lines.push(`| ${a.name} | ${verdict} | ${a.count} | ${a.checked} | ${(a.rate * 100).toFixed(2)}% |`);
  }
  lines.push('');
  const bad = report.anomalies.filter((a) => a.verdict !== 'pass' || a.count > 0);
  for (const a of bad) {
    lines.push(`<details><summary><b>${a.name}</b>: ${a.count} (${cell(a.description)})</summary>`, '');
    if (a.error) lines.push(`Checker error: \`${cell(a.error)}\``, '');
    for (const note of a.notes) lines.push(`- ${note}`);
    for (const e of a.examples.slice(0, examplesMax)) {
      lines.push(`- \`${e.file}:${e.line}\` ${e.id ? `\`${e.id}\` ` : ''}${e.group ? `(${e.group}) ` : ''}${e.detail}`);
    }
    lines.push('', '</details>', '');
  }
  const latencyRows = Object.entries(report.latencies);
  if (latencyRows.length > 0) {
    lines.push('| latency | count | avg | p50 | p90 | p99 | max |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const [name, l] of latencyRows) {
      lines.push(`| ${name} | ${l.count} | ${ms(l.avg)} | ${ms(l.med)} | ${ms(l.p90)} | ${ms(l.p99)} | ${ms(l.max)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

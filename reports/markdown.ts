import { ERROR_HEADERS, environmentRows, errorRows, FAULT_HEADERS, faultRows, loadGeneratorLine } from './facts.ts';
import { formatGateBound, formatGateValue, formatMs, runTitle } from './format.ts';
import type { Report } from './schema.ts';

const ICON: Record<string, string> = { pass: '✅', fail: '❌', unknown: '❔' };

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function mdTable(headers: string[], rows: string[][]): string[] {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    '',
  ];
}

function runLine(report: Report): string {
  const c = report.counts;
  const runName = report.run.id ? ` \`${report.run.id}\`` : '';
  return (
    `${report.exitReason} (exit code ${report.exitCode}). Guarantee: \`${report.guarantee}\`. ` +
    `Run${runName}: ${formatMs(report.run.endMs - report.run.startMs)}, ` +
    `${c.sends ?? 0} sends (${c.sends_ok ?? 0} ok, ${c.sends_fail ?? 0} fail, ${c.sends_unknown ?? 0} unknown), ` +
    `${c.deliveries ?? 0} deliveries, ${report.faults.length} faults` +
    (report.drainMs !== undefined ? `, drained in ${formatMs(report.drainMs)}.` : '.')
  );
}

function faultSection(report: Report): string[] {
  const rows = faultRows(report);
  if (rows.length === 0) return [];
  return [
    '### Faults: before, during, after',
    '',
    'Each window: ok sends per second, ok share of sends, worst send p99 over 250 ms buckets. ' +
      'Recovery: from the heal until sends succeed at the pre-fault rate and messages are received again.',
    '',
    ...mdTable(FAULT_HEADERS, rows),
  ];
}

/** summary.md: the verdict and everything a CI job summary or a release ticket needs, in GitHub-flavoured Markdown. */
export function renderMarkdown(report: Report, examplesMax = 3): string {
  const lines: string[] = [`## ${ICON[report.verdict]} ${runTitle(report)}: ${report.verdict.toUpperCase()}`, ''];
  lines.push(runLine(report), '');
  const generator = loadGeneratorLine(report);
  if (generator) {
    lines.push(`Load generator: ${generator.line}.`, '');
    if (generator.warning) lines.push(`> ⚠️ **Warning:** ${generator.warning}`, '');
  }
  if (report.gates.length > 0) {
    const rows = report.gates.map((g) => [
      `\`${g.source}\``,
      formatGateValue(g),
      formatGateBound(g),
      `${ICON[g.status]} ${g.status}`,
      g.note ?? '',
    ]);
    lines.push(...mdTable(['gate', 'measured', 'bound', 'result', 'note'], rows));
  }
  lines.push(...faultSection(report));
  const errors = errorRows(report);
  if (errors.length > 0) lines.push('### Errors by status', '', ...mdTable(ERROR_HEADERS, errors));
  const anomalyRows = report.anomalies.map((a) => {
    const verdict = `${ICON[a.verdict]} ${a.verdict}${a.allowed ? ' (allowed)' : ''}${a.applicable ? '' : ' (n/a)'}`;
    return [a.name, verdict, String(a.count), String(a.checked), `${(a.rate * 100).toFixed(2)}%`];
  });
  lines.push(...mdTable(['anomaly', 'verdict', 'count', 'of', 'rate'], anomalyRows));
  for (const a of report.anomalies.filter((x) => x.verdict !== 'pass' || x.count > 0)) {
    lines.push(`<details><summary><b>${a.name}</b>: ${a.count} (${cell(a.description)})</summary>`, '');
    if (a.error) lines.push(`Checker error: \`${cell(a.error)}\``, '');
    for (const note of a.notes) lines.push(`- ${note}`);
    for (const e of a.examples.slice(0, examplesMax)) {
      lines.push(`- \`${e.file}:${e.line}\` ${e.id ? `\`${e.id}\` ` : ''}${e.group ? `(${e.group}) ` : ''}${e.detail}`);
    }
    lines.push('', '</details>', '');
  }
  lines.push(...ledgerDefects(report));
  const latencyRows = Object.entries(report.latencies).map(([name, l]) => [
    name,
    String(l.count),
    ...[l.avg, l.med, l.p90, l.p99, l.p999, l.max].map(formatMs),
  ]);
  if (latencyRows.length > 0) {
    lines.push(...mdTable(['latency', 'count', 'avg', 'p50', 'p90', 'p99', 'p99.9', 'max'], latencyRows));
  }
  const env = environmentRows(report);
  if (env.rows.length > 0) {
    lines.push('### Environment', '', ...mdTable(['item', 'value'], env.rows));
    if (env.command) lines.push('Reproduce:', '', '```sh', env.command, '```', '');
  }
  return `${lines.join('\n')}\n`;
}

/** Every ledger line the check skipped or tolerated (torn last lines included): a pass over them is weaker. */
function ledgerDefects(report: Report): string[] {
  const skipped = report.inputs.ledgers.reduce((n, l) => n + l.malformed, 0);
  if (skipped === 0 && report.inputs.malformedExamples.length === 0) return [];
  const lines = [`**Ledger defects**: ${skipped} line(s) skipped or tolerated.`, ''];
  for (const d of report.inputs.malformedExamples) {
    lines.push(`- \`${d.file}:${d.line}\` ${d.torn ? '(torn last line, tolerated) ' : ''}${cell(d.problem)}`);
  }
  lines.push('');
  return lines;
}

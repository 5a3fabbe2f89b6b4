/**
 * The facts summary.md and report.html both state, as rows of plain text: the per-fault liveness table, errors by
 * status, the load generator's health and the environment with the command that reproduces the run. One source for
 * both renderers, so the two files never disagree.
 */
import { drillMeta, formatMs, formatShare } from './format.ts';
import type { Report, WindowStats } from './schema.ts';

function rate(value: number | undefined): string {
  return value === undefined ? '—' : `${value < 10 ? value.toFixed(1) : Math.round(value)}/s`;
}

function windowCell(w: WindowStats | undefined): string {
  if (!w) return '—';
  return `${rate(w.sendOkRate)} ok, ${formatShare(w.okShare)} ok, p99 ${formatMs(w.sendP99Ms)}`;
}

export const FAULT_HEADERS = ['fault', 'window', 'before', 'during', 'after', 'unknown during', 'recovery'];

/** One row per fault: window, before / during / after (ok send rate, ok share, worst p99), recovery after the heal. */
export function faultRows(report: Report): string[][] {
  const live = report.liveness;
  if (!live) return [];
  const at = (ms: number | undefined) => (ms === undefined ? '…' : `+${formatMs(ms - report.run.startMs)}`);
  return live.faults.map((f) => {
    const recovery =
      f.status === 'recovered' ? formatMs(f.recoveryMs) : f.status === 'unknown' ? `unknown: ${f.note}` : f.note;
    return [
      f.name,
      `${at(f.startMs)} → ${at(f.endMs)}`,
      windowCell(f.before),
      windowCell(f.during),
      windowCell(f.after),
      formatShare(f.during?.unknownShare),
      f.status === 'not-recovered' ? `not recovered: ${recovery}` : recovery,
    ];
  });
}

export const ERROR_HEADERS = ['operation', 'outcome', 'status', 'count', 'example'];

export function errorRows(report: Report): string[][] {
  return (drillMeta(report)?.errorsByStatus ?? []).map((e) => [
    e.operation,
    e.outcome,
    e.status,
    String(e.count),
    e.example,
  ]);
}

/** The load generator's health in one line, and a warning when it fell behind its schedule. */
export function loadGeneratorLine(report: Report): { line: string; warning: string | null } | undefined {
  const g = drillMeta(report)?.loadGenerator;
  if (!g) return undefined;
  const line =
    `dropped iterations ${g.droppedIterations}; send_delay p99 ${formatMs(g.sendDelayP99Ms)}, ` +
    `max ${formatMs(g.sendDelayMaxMs)} (how late sends started against the schedule)`;
  return { line, warning: g.warning };
}

/** Environment rows (name, value) and the command that reproduces the run. */
export function environmentRows(report: Report): { rows: [string, string][]; command: string | undefined } {
  const drill = drillMeta(report);
  const env = drill?.environment;
  const rows: [string, string][] = [];
  const add = (name: string, value: unknown) => {
    if (value !== undefined && value !== null && value !== '') rows.push([name, String(value)]);
  };
  add('mqdrill', env?.mqdrillVersion);
  add('git commit', env?.gitCommit);
  add('target', env?.target ?? drill?.target);
  add('target version', env?.targetVersion);
  add('machine', env?.machine);
  add('node', env?.node);
  add('seed', env?.seed ?? drill?.seed);
  add('guarantee', report.guarantee);
  add(
    'started',
    new Date(report.run.startMs)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC'),
  );
  return { rows, command: env?.command ?? undefined };
}

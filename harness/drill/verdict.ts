/**
 * The drill's verdict: the checker's anomalies and gates, the load engine's k6 thresholds and the fault layer's own
 * health folded into one report.json (so every renderer shows one gate table) and one exit code from the table in
 * lib/exit-codes.ts.
 */
import { formatDurationMs } from '../../lib/duration.ts';
import { ExitCode } from '../../lib/exit-codes.ts';
import type { GateReport, Report } from '../../reports/schema.ts';
import type { FaultError } from '../faults/index.ts';
import type { LoadSummary } from '../load/summary.ts';

/** Each k6 threshold of the load engine as a gate row: `send_duration: p(99)<1000`. */
export function thresholdGates(summary: LoadSummary | undefined): GateReport[] {
  if (!summary) return [];
  return summary.thresholds.map((t) => ({
    source: `${t.key}: ${t.source} (load threshold)`,
    metric: t.key,
    expression: t.source,
    ...(t.value !== undefined ? { actual: t.value } : {}),
    status: t.value === undefined && !t.ok ? 'unknown' : t.ok ? 'pass' : 'fail',
    ...(t.value === undefined ? { note: 'no samples' } : {}),
  }));
}

/** A gate row: was every scheduled fault injected and healed? (a drill whose faults failed proves less) */
export function faultGate(scheduled: number, injected: number, errors: readonly FaultError[]): GateReport | undefined {
  if (scheduled === 0) return undefined;
  const failed = errors.map((e) => `${e.step} ${e.name}: ${e.error.message}`);
  return {
    source: 'faults: every scheduled fault injected and healed',
    metric: 'faults',
    expression: `injected==${scheduled}`,
    actual: injected,
    status: failed.length === 0 && injected === scheduled ? 'pass' : 'fail',
    ...(failed.length > 0 ? { note: failed.slice(0, 3).join('; ') } : {}),
  };
}

/** The exit code: the report's (1 guarantee, 99 gate, 6 unknown, 0), unless the run itself could not go on. */
export function drillExitCode(
  report: Report | undefined,
  loadFailure: string | undefined,
  interrupted: boolean,
): number {
  if (interrupted) return ExitCode.INTERRUPTED;
  if (report === undefined) return loadFailure ? ExitCode.TARGET_FAILED : ExitCode.INTERNAL;
  if (report.exitCode === ExitCode.GUARANTEE_VIOLATED) return report.exitCode;
  if (loadFailure) return ExitCode.TARGET_FAILED;
  return report.exitCode;
}

/** Retry amplification: deliveries per acknowledged send (1.0 = every message delivered once). */
export function retryAmplification(counts: Record<string, number>): number | undefined {
  const sends = counts.sends_ok ?? 0;
  const deliveries = counts.deliveries ?? 0;
  return sends > 0 ? deliveries / sends : undefined;
}

const TIMED_METRICS = new Set(['send_duration', 'e2e_latency', 'send_delay', 'ack_duration', 'drain']);

function formatActual(gate: GateReport): string {
  if (gate.actual === undefined) return 'none';
  const timed = TIMED_METRICS.has(gate.metric.replace(/\{.*$/, '')) && !gate.expression.startsWith('count');
  return timed ? formatDurationMs(gate.actual) : String(+gate.actual.toFixed(4));
}

/** The table printed at the end: every anomaly, then every gate, each with its verdict. */
export function formatGateTable(report: Report): string {
  const rows: string[] = ['  verdict  check                                              actual'];
  for (const a of report.anomalies) {
    if (!a.applicable && a.verdict === 'pass') continue;
    const note = a.allowed ? ' (allowed)' : '';
    rows.push(`  ${a.verdict.padEnd(7)}  ${`anomaly ${a.name}${note}`.padEnd(50)} ${a.count} of ${a.checked}`);
  }
  for (const g of report.gates) {
    rows.push(
      `  ${g.status.padEnd(7)}  ${`gate ${g.source}`.padEnd(50)} ${formatActual(g)}${g.note ? `  (${g.note})` : ''}`,
    );
  }
  return rows.join('\n');
}

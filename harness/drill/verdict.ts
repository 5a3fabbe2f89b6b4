/**
 * The drill's verdict: the checker's anomalies and gates, the load engine's k6 thresholds and the fault layer's own
 * health folded into one report.json (so every renderer shows one gate table) and one exit code from the table in
 * lib/exit-codes.ts.
 */
import { ExitCode } from '../../lib/exit-codes.ts';
import { formatGateValue } from '../../reports/format.ts';
import type { GateReport, Report } from '../../reports/schema.ts';
import type { CheckResult } from '../checks/engine.ts';
import { evaluateGates, parseGates } from '../checks/gates.ts';
import type { FaultError } from '../faults/index.ts';
import type { LoadSummary } from '../load/summary.ts';

/** Metrics the checker measures from the ledger: a load threshold on one of them is judged on the checker's value. */
const CHECKER_METRICS = new Set(['send_duration', 'e2e_latency', 'send_delay', 'ack_duration']);

/**
 * Each k6 threshold of the load engine as a gate row: `send_duration: p(99)<1000`. A threshold on a metric the
 * checker also measures (send_duration, ...; no tag filter) is evaluated on the checker's value, so one run states
 * one p99, whether it came from a gate or a threshold; the others (iterations, dropped_iterations, tagged metrics)
 * keep the load engine's value.
 */
export function thresholdGates(summary: LoadSummary | undefined, result?: CheckResult): GateReport[] {
  if (!summary) return [];
  return summary.thresholds.map((t) => {
    const source = `${t.key}: ${t.source} (load threshold)`;
    if (result && CHECKER_METRICS.has(t.key)) {
      const parsed = parseGates([`${t.key}: ${t.source}`]);
      const gate = parsed.gates[0];
      if (gate && parsed.errors.length === 0) {
        const [row] = evaluateGates([gate], result);
        if (row) return { ...row, source };
      }
    }
    return {
      source,
      metric: t.key,
      expression: t.source,
      ...(t.value !== undefined ? { actual: t.value } : {}),
      status: t.value === undefined && !t.ok ? 'unknown' : t.ok ? 'pass' : 'fail',
      ...(t.value === undefined ? { note: 'no samples' } : {}),
    } satisfies GateReport;
  });
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

/** A gate's value with its unit, the same text every report file prints (reports/format.ts). */
export { formatGateValue } from '../../reports/format.ts';

const formatActual = formatGateValue;

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

import { ExitCode } from '../../lib/exit-codes.ts';
import {
  type GateReport,
  type LivenessReport,
  REPORT_SCHEMA,
  REPORT_VERSION,
  type Report,
  type VerdictValue,
} from '../../reports/schema.ts';
import type { CheckResult } from './engine.ts';
import { computeLiveness } from './liveness.ts';

/**
 * The exit code of `mqdrill check`, from one table (lib/exit-codes.ts), most serious first:
 * a guarantee violated (1), a gate failed (99), something undecided (6), else 0.
 */
export function decideExit(
  result: Pick<CheckResult, 'anomalies'>,
  gates: GateReport[],
): { exitCode: number; reason: string; verdict: VerdictValue } {
  const failed = result.anomalies.filter((a) => a.verdict === 'fail').map((a) => a.name);
  if (failed.length > 0) {
    return {
      exitCode: ExitCode.GUARANTEE_VIOLATED,
      reason: `guarantee violated: ${failed.join(', ')}`,
      verdict: 'fail',
    };
  }
  const gatesFailed = gates.filter((g) => g.status === 'fail').map((g) => g.source);
  if (gatesFailed.length > 0) {
    return { exitCode: ExitCode.THRESHOLDS_FAILED, reason: `gates failed: ${gatesFailed.join('; ')}`, verdict: 'fail' };
  }
  const unknown = [
    ...result.anomalies.filter((a) => a.verdict === 'unknown').map((a) => a.name),
    ...gates.filter((g) => g.status === 'unknown').map((g) => `gate ${g.source}`),
  ];
  if (unknown.length > 0) {
    return { exitCode: ExitCode.CHECK_UNKNOWN, reason: `could not decide: ${unknown.join(', ')}`, verdict: 'unknown' };
  }
  return { exitCode: ExitCode.OK, reason: 'every guarantee and gate held', verdict: 'pass' };
}

/** The report of a check; liveness per fault is computed from the check unless the caller (the drill) gives it. */
export function buildReport(
  result: CheckResult,
  gates: GateReport[],
  nowMs: number,
  liveness: LivenessReport = computeLiveness({
    timeline: result.timeline,
    faults: result.faults,
    phases: result.phases,
  }),
): Report {
  const exit = decideExit(result, gates);
  const report: Report = {
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    generatedMs: nowMs,
    verdict: exit.verdict,
    exitCode: exit.exitCode,
    exitReason: exit.reason,
    guarantee: result.guarantee,
    run: result.run,
    inputs: { ledgers: result.inputs, malformedExamples: result.malformedExamples },
    anomalies: result.anomalies,
    gates,
    counts: result.counts,
    latencies: result.latencies,
    faults: result.faults,
    phases: result.phases,
    timeline: result.timeline,
    liveness,
    checkStats: result.stats,
  };
  if (result.drainMs !== undefined) report.drainMs = result.drainMs;
  return report;
}

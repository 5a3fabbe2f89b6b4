/**
 * Assertions on a finished drill, for the tests that run drills against real targets: passed on every guarantee and
 * gate (timing bounds optionally reported, not required), with every named fault shown to have hit the sends. The
 * drill's result is read through the structural types below (what `runDrill` returns), so the kit stays free of
 * harness imports.
 */
import { expect } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';

/** One anomaly of a drill report, as far as these assertions read it. */
export interface VerdictAnomaly {
  name: string;
  verdict: string;
  applicable?: boolean;
  notes: string[];
  examples: { detail: string }[];
}

/** The fault-impact entry the drill writes into `run.meta.drill.faultImpact`. */
export interface VerdictFaultImpact {
  name: string;
  startMs: number;
  endMs: number;
  /** Sends whose span overlapped the fault window, and how many of them failed. */
  sends: number;
  failed: number;
  hit: boolean;
}

/** A drill's result (runDrill's), as far as these assertions read it. */
export interface VerdictRun {
  result: {
    exitCode: number;
    report?: {
      anomalies: VerdictAnomaly[];
      gates: { source: string; status: string; actual?: string | number | null; note?: string }[];
      run: { meta: Record<string, unknown> };
    };
  };
  /** What the drill said, line by line. */
  lines: string[];
}

/**
 * Timing bounds a real target may miss on a shared 2-core CI machine (a send p99, the drain SLO): reported, not
 * required. Each must still have been evaluated (pass or fail, never unknown); every guarantee and every other
 * liveness gate stays required.
 */
export interface TimingReported {
  /** Gate sources that are timing bounds, e.g. /^send_duration/. */
  gates: RegExp;
  /** The drain anomaly may fail only for its SLO ("over the SLO"), never for a drain that did not end. */
  drainSlo: boolean;
}

/** The faults the drill measured (name, sends during it, whether it hit). */
export function faultImpactOf(result: VerdictRun['result']): VerdictFaultImpact[] {
  const meta = result.report?.run.meta.drill as { faultImpact?: VerdictFaultImpact[] } | undefined;
  return meta?.faultImpact ?? [];
}

/**
 * Passed on every anomaly and gate (less the timing bounds `timing` reports), the route check saying the clients go
 * through the fault proxy, and every fault named in `faults` shown to have hit sends.
 */
export function expectPassedWithHits(run: VerdictRun, faults: RegExp[], timing?: TimingReported): void {
  const { result, lines } = run;
  const report = result.report;
  const sloOnly = (a: VerdictAnomaly) =>
    timing?.drainSlo === true &&
    a.name === 'drain' &&
    a.examples.length > 0 &&
    a.examples.every((e) => /over the SLO/.test(e.detail));
  const failedAnomalies = (report?.anomalies ?? []).filter((a) => a.verdict !== 'pass');
  const timed = (report?.gates ?? []).filter((g) => timing?.gates.test(g.source));
  const failing = [
    ...failedAnomalies.filter((a) => !sloOnly(a)).map((a) => `${a.name}: ${a.examples[0]?.detail}`),
    ...(report?.gates ?? [])
      .filter((g) => g.status !== 'pass' && !(g.status === 'fail' && timing?.gates.test(g.source)))
      .map((g) => `${g.source} (${g.actual ?? g.note})`),
  ];
  // The exit code a tolerated timing miss gives: 99 for a gate or threshold, 1 for the drain SLO (an anomaly).
  const timingMissed = timed.some((g) => g.status === 'fail') || failedAnomalies.some(sloOnly);
  const allowed: number[] = timingMissed
    ? [ExitCode.OK, ExitCode.THRESHOLDS_FAILED, ExitCode.GUARANTEE_VIOLATED]
    : [ExitCode.OK];
  expect({ exitAllowed: allowed.includes(result.exitCode), failing }, lines.join('\n')).toEqual({
    exitAllowed: true,
    failing: [],
  });
  if (timing) {
    // Reported, so evaluated: every timing gate has a verdict, and the drain was measured against its SLO.
    expect(timed.length, 'timing gates evaluated').toBeGreaterThan(0);
    for (const g of timed) expect(['pass', 'fail'], `${g.source}: ${g.note}`).toContain(g.status);
    const drain = report?.anomalies.find((a) => a.name === 'drain');
    expect(drain?.applicable).toBe(true);
    expect(drain?.notes.join(' ')).toMatch(/drained in \d+ ms/);
  }
  // gRPC routes advertise the fault proxy; the remoting driver dials the broker through it.
  expect(lines).toContainEqual(expect.stringMatching(/^route check: .*through the fault proxy/));
  const impact = faultImpactOf(result);
  for (const f of faults) {
    const hit = impact.find((i) => f.test(i.name));
    expect(hit, `${f} in ${JSON.stringify(impact)}`).toMatchObject({ hit: true });
    expect(hit?.sends).toBeGreaterThan(0);
  }
}

/**
 * report.json, version 1: what `mqdrill check` decided and measured. Documented in docs/report-schema.md; the
 * renderers (junit.xml, summary.md, report.html) read only this, so `mqdrill report` can re-render any report.json.
 */

export const REPORT_SCHEMA = 'mqdrill-report';
export const REPORT_VERSION = 1;

export type VerdictValue = 'pass' | 'fail' | 'unknown';

/** Where an example came from: the ledger file and 1-based line. */
export interface AnomalyExample {
  file: string;
  line: number;
  /** Harness message id, when the example is about one message. */
  id?: string;
  group?: string;
  detail: string;
}

export interface AnomalyReport {
  name: string;
  description: string;
  verdict: VerdictValue;
  /** The guarantee level allows this anomaly: it is counted but does not fail. */
  allowed: boolean;
  /** False when the ledger had nothing this checker applies to (no delayed messages, no counters...). */
  applicable: boolean;
  count: number;
  /** What the count is out of (e.g. acknowledged sends for lost, delivered messages for duplicate). */
  checked: number;
  /** count / checked, 0 when nothing was checked. */
  rate: number;
  examples: AnomalyExample[];
  /** Why the verdict is unknown, or other context. */
  notes: string[];
  /** The checker threw: the error text (the verdict is then unknown). */
  error?: string;
}

export interface GateReport {
  /** As written in the gates file, e.g. `duplicate.rate < 0.01` or `send_duration: p(99)<200`. */
  source: string;
  metric: string;
  /** The k6 expression applied, e.g. `p(99)<200`. */
  expression: string;
  /** The measured value (ms for durations), absent when there was none. */
  actual?: number;
  status: VerdictValue;
  note?: string;
}

export interface LatencySummary {
  count: number;
  min: number;
  avg: number;
  med: number;
  max: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

export interface TimeWindow {
  name: string;
  startMs: number;
  /** Absent when the window never ended in the ledger. */
  endMs?: number;
}

export interface Timeline {
  startMs: number;
  bucketMs: number;
  /** Per bucket, all the same length. Latencies in ms (null where a bucket had no samples). */
  sendOk: number[];
  sendFail: number[];
  sendUnknown: number[];
  received: number[];
  acked: number[];
  /** Messages sent ok and not yet acknowledged or dead-lettered (declared groups), at each bucket's end. */
  backlog: number[];
  /** Broker-reported backlog (bl / ctr lag records), null where not sampled. */
  brokerBacklog: (number | null)[];
  sendP50Ms: (number | null)[];
  sendP99Ms: (number | null)[];
  e2eP50Ms: (number | null)[];
  e2eP99Ms: (number | null)[];
}

export interface LedgerInput {
  path: string;
  process: string;
  role?: string;
  records: number;
  malformed: number;
}

/** Liveness per fault (harness/checks/liveness.ts): before / during / after the fault, recovery after the heal. */
export interface WindowStats {
  startMs: number;
  endMs: number;
  /** Sends completed in the window (ok + fail + unknown). */
  sends: number;
  sendsOk: number;
  /** ok / sends (undefined without sends). */
  okShare: number | undefined;
  unknownShare: number | undefined;
  /** Ok sends and deliveries per second. */
  sendOkRate: number;
  receiveRate: number;
  /** The worst per-bucket send p99 in the window, ms (undefined without ok sends). */
  sendP99Ms: number | undefined;
}

export interface FaultLiveness {
  name: string;
  startMs: number;
  /** The heal (undefined: never healed in the ledger). */
  endMs: number | undefined;
  before: WindowStats | undefined;
  during: WindowStats | undefined;
  after: WindowStats | undefined;
  /** From the heal until sends and receives worked again; undefined when they did not (see status). */
  recoveryMs: number | undefined;
  /** recovered; not-recovered (no recovered bucket before the producers stopped); unknown (nothing to judge). */
  status: 'recovered' | 'not-recovered' | 'unknown';
  note: string;
}

export interface LivenessReport {
  bucketMs: number;
  faults: FaultLiveness[];
  /** Unknown sends over all sends completed outside the fault windows (when the system should be healthy). */
  unknownShare: number | undefined;
  sends: number;
  sendsUnknown: number;
  /** Whether the drain ended (undefined: no drain in the ledger). */
  drainEnded: boolean | undefined;
}

/** A ledger line the checker skipped (malformed) or tolerated (`torn`: the last line of a file cut short). */
export interface LedgerDefect {
  file: string;
  line: number;
  problem: string;
  torn?: boolean;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  version: typeof REPORT_VERSION;
  generatedMs: number;
  verdict: VerdictValue;
  /** The process exit code `mqdrill check` ended with, and why. */
  exitCode: number;
  exitReason: string;
  guarantee: string;
  run: { id?: string; startMs: number; endMs: number; meta: Record<string, unknown> };
  inputs: { ledgers: LedgerInput[]; malformedExamples: LedgerDefect[] };
  anomalies: AnomalyReport[];
  gates: GateReport[];
  counts: Record<string, number>;
  latencies: Record<string, LatencySummary>;
  /** Drain duration in ms, when a drain phase was recorded. */
  drainMs?: number;
  faults: TimeWindow[];
  phases: TimeWindow[];
  timeline: Timeline;
  /** Per fault: before / during / after and the recovery time after the heal. */
  liveness?: LivenessReport;
  /** How long the check took and how much memory it needed. */
  checkStats: { durationMs: number; records: number; messages: number; rssBytesMax: number };
}

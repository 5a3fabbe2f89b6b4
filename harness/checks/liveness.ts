/**
 * Liveness: did the system work again after each fault healed? From the check's timeline (sends and receives per
 * bucket, by completion time) and the fault windows in the ledger, for each fault:
 *
 * - before / during / after: attempted sends, ok share (availability), unknown share, ok sends and receives per
 *   second, and the worst per-bucket send p99. "Before" is the stretch before the fault as long as the fault (at
 *   most), after the load start and the previous fault's heal; "after" the same length after the heal, before the
 *   producers stopped.
 * - recovery time: from the heal until sends succeed again at the pre-fault rate and receives happen again. A bucket
 *   counts as recovered when its ok sends reach RATE_FRACTION of the expected rate (the scenario's scheduled rate at
 *   that time times the pre-fault ok share when the drill knows the schedule, else the pre-fault ok rate) and its ok
 *   share reaches SHARE_FRACTION of the pre-fault share, both over the RECOVERY_WINDOW_MS from it; receives have
 *   recovered at the first bucket with a delivery (when there were deliveries before the fault). The resolution is
 *   the timeline's bucket (250 ms for runs under 5 minutes, doubling beyond).
 *
 * Default gates (every drill): recovery within a bound after every heal, the unknown share of the sends completed
 * outside fault windows under a bound, and the drain ended. A fault healed too close to the end of the load to judge
 * is unknown, never pass.
 */
import type {
  FaultLiveness,
  GateReport,
  LivenessReport,
  Timeline,
  TimeWindow,
  WindowStats,
} from '../../reports/schema.ts';

/** A bucket is recovered when its ok sends reach this share of the expected rate... */
export const RATE_FRACTION = 0.5;
/** ...and its ok share this fraction of the pre-fault ok share. */
export const SHARE_FRACTION = 0.9;
export const DEFAULT_RECOVERY_BOUND_MS = 10_000;
/** The load engine's default per-send timeout (harness/load/options.ts). */
export const DEFAULT_SEND_TIMEOUT_MS = 3000;
/** Sends must hold the recovered rate and share this long (less only when the load ends sooner). */
export const RECOVERY_WINDOW_MS = 1000;
export const DEFAULT_UNKNOWN_SHARE_BOUND = 0.2;

export interface LivenessInput {
  timeline: Timeline;
  faults: TimeWindow[];
  phases: TimeWindow[];
  /** The drill knows whether its drain condition was met; without it, a `drain` phase with an end counts. */
  drainEnded?: boolean;
  /** The producers' send timeout: a send in flight at a fault ends unknown up to this long after the heal. */
  sendTimeoutMs?: number;
  /** Scheduled sends per second at a wall time (arrival-rate producers), when the drill knows its plan. */
  scheduledRate?: (wallMs: number) => number | undefined;
}

interface Bucket {
  startMs: number;
  endMs: number;
  ok: number;
  attempts: number;
  unknown: number;
  received: number;
  p99: number | null;
}

function bucketsOf(t: Timeline): Bucket[] {
  return t.sendOk.map((ok, i) => ({
    startMs: t.startMs + i * t.bucketMs,
    endMs: t.startMs + (i + 1) * t.bucketMs,
    ok,
    attempts: ok + (t.sendFail[i] ?? 0) + (t.sendUnknown[i] ?? 0),
    unknown: t.sendUnknown[i] ?? 0,
    received: t.received[i] ?? 0,
    p99: t.sendP99Ms[i] ?? null,
  }));
}

function statsOf(buckets: Bucket[]): WindowStats | undefined {
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  if (!first || !last) return undefined;
  const sum = (f: (b: Bucket) => number) => buckets.reduce((n, b) => n + f(b), 0);
  const sends = sum((b) => b.attempts);
  const sendsOk = sum((b) => b.ok);
  const seconds = (last.endMs - first.startMs) / 1000;
  const p99s = buckets.flatMap((b) => (b.p99 === null ? [] : [b.p99]));
  return {
    startMs: first.startMs,
    endMs: last.endMs,
    sends,
    sendsOk,
    okShare: sends > 0 ? sendsOk / sends : undefined,
    unknownShare: sends > 0 ? sum((b) => b.unknown) / sends : undefined,
    sendOkRate: sendsOk / seconds,
    receiveRate: sum((b) => b.received) / seconds,
    sendP99Ms: p99s.length > 0 ? Math.max(...p99s) : undefined,
  };
}

/** The producers' stretch: the first `load` phase (the load engine's), else the whole timeline. */
function loadWindow(input: LivenessInput, buckets: Bucket[]): { startMs: number; endMs: number } {
  const load = input.phases.find((p) => p.name === 'load');
  const timelineEnd = buckets[buckets.length - 1]?.endMs ?? input.timeline.startMs;
  return { startMs: load?.startMs ?? input.timeline.startMs, endMs: load?.endMs ?? timelineEnd };
}

export function computeLiveness(input: LivenessInput): LivenessReport {
  const buckets = bucketsOf(input.timeline);
  const load = loadWindow(input, buckets);
  const faults = [...input.faults].sort((a, b) => a.startMs - b.startMs);
  const out: FaultLiveness[] = faults.map((f, i) => {
    // Not before the previous heal, nor before the bucket the load starts in.
    const loadBucketStart = load.startMs - input.timeline.bucketMs + 1;
    const previousHeal = faults[i - 1]?.endMs ?? loadBucketStart;
    return faultLiveness(f, Math.max(loadBucketStart, previousHeal), load.endMs, buckets, input);
  });
  // Unknown sends are expected while a fault is in force and until its effects pass: a send in flight when a broker
  // dies ends unknown at its timeout, possibly after the heal, and sends during the recovery may too. The gate looks
  // at the rest of the load, when the system should be healthy.
  const settleMs = input.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const disturbed = faults.map((f, i) => {
    const recovery = out[i]?.recoveryMs ?? 0;
    return { from: f.startMs, to: (f.endMs ?? Number.POSITIVE_INFINITY) + Math.max(settleMs, recovery) };
  });
  const healthy = buckets.filter(
    (b) =>
      b.startMs >= load.startMs - input.timeline.bucketMs &&
      !disturbed.some((d) => b.endMs > d.from && b.startMs < d.to),
  );
  const sends = healthy.reduce((n, b) => n + b.attempts, 0);
  const sendsUnknown = healthy.reduce((n, b) => n + b.unknown, 0);
  const drainPhase = input.phases.find((p) => p.name === 'drain');
  const drainEnded = input.drainEnded ?? (drainPhase ? drainPhase.endMs !== undefined : undefined);
  return {
    bucketMs: input.timeline.bucketMs,
    faults: out,
    unknownShare: sends > 0 ? sendsUnknown / sends : undefined,
    sends,
    sendsUnknown,
    drainEnded,
  };
}

function faultLiveness(
  f: TimeWindow,
  notBeforeMs: number,
  loadEndMs: number,
  buckets: Bucket[],
  input: LivenessInput,
): FaultLiveness {
  const base = { name: f.name, startMs: f.startMs, endMs: f.endMs };
  const lengthMs = Math.max(input.timeline.bucketMs, (f.endMs ?? loadEndMs) - f.startMs);
  // The windows are whole buckets on the timeline's grid, which is not aligned with the fault: "before" takes the
  // buckets that end in the lookback (so at least one whole bucket, as the lookback is at least a bucket long), "after"
  // those that start in the look-ahead.
  const before = statsOf(
    buckets.filter((b) => b.endMs <= f.startMs && b.endMs > f.startMs - lengthMs && b.startMs >= notBeforeMs),
  );
  const healMs = f.endMs;
  const during = statsOf(buckets.filter((b) => b.endMs > f.startMs && b.startMs < (healMs ?? loadEndMs)));
  if (healMs === undefined) {
    const none = { before, during, after: undefined, recoveryMs: undefined };
    return { ...base, ...none, status: 'unknown', note: 'the fault was never healed in the ledger' };
  }
  const afterEndMs = Math.min(loadEndMs, healMs + lengthMs);
  const after = statsOf(buckets.filter((b) => b.startMs >= healMs && b.startMs < afterEndMs));
  const windows = { before, during, after };
  if (!before || before.sendsOk === 0) {
    return { ...base, ...windows, recoveryMs: undefined, status: 'unknown', note: 'no ok sends before the fault' };
  }
  const candidates = buckets.filter((b) => b.endMs > healMs && b.startMs < loadEndMs);
  const sendAt = candidates.find((_b, i) => sendRecovered(recoveryWindow(candidates, i, loadEndMs), before, input));
  const needReceives = before.receiveRate > 0;
  const receiveAt = needReceives ? buckets.find((b) => b.endMs > healMs && b.received > 0) : undefined;
  if (sendAt && (!needReceives || receiveAt)) {
    const at = Math.max(sendAt.startMs, receiveAt?.startMs ?? healMs, healMs);
    return { ...base, ...windows, recoveryMs: at - healMs, status: 'recovered', note: '' };
  }
  const judgedMs = loadEndMs - healMs;
  if (judgedMs < RECOVERY_WINDOW_MS) {
    const note =
      judgedMs < 0
        ? `the heal ended ${-judgedMs} ms after the producers stopped: no load left to judge recovery`
        : `the producers stopped ${judgedMs} ms after the heal: too soon to judge recovery`;
    return { ...base, ...windows, recoveryMs: undefined, status: 'unknown', note };
  }
  const what = !sendAt ? 'sends did not succeed again at the pre-fault rate' : 'nothing was received again';
  const note = `${what} in the ${Math.round(judgedMs / 1000)} s between the heal and the end of the load`;
  return { ...base, ...windows, recoveryMs: undefined, status: 'not-recovered', note };
}

/** A bucket and the ones after it, up to RECOVERY_WINDOW_MS (or the end of the load): recovery must hold that long. */
function recoveryWindow(candidates: Bucket[], from: number, loadEndMs: number): Bucket {
  const first = candidates[from] as Bucket;
  const endMs = Math.min(first.startMs + RECOVERY_WINDOW_MS, Math.max(loadEndMs, first.endMs));
  const window = candidates.slice(from).filter((b) => b.startMs < endMs);
  const sum = (f: (b: Bucket) => number) => window.reduce((n, b) => n + f(b), 0);
  const last = window[window.length - 1] ?? first;
  return {
    startMs: first.startMs,
    endMs: last.endMs,
    ok: sum((b) => b.ok),
    attempts: sum((b) => b.attempts),
    unknown: sum((b) => b.unknown),
    received: sum((b) => b.received),
    p99: null,
  };
}

function sendRecovered(b: Bucket, before: WindowStats, input: LivenessInput): boolean {
  if (b.ok === 0 || b.attempts === 0) return false;
  const share = before.okShare ?? 1;
  if (b.ok / b.attempts < SHARE_FRACTION * share) return false;
  const scheduled = input.scheduledRate?.((b.startMs + b.endMs) / 2);
  const expectedRate = scheduled !== undefined ? scheduled * share : before.sendOkRate;
  const okRate = b.ok / ((b.endMs - b.startMs) / 1000);
  return okRate >= RATE_FRACTION * expectedRate;
}

export interface LivenessBounds {
  recoveryMs: number;
  unknownShare: number;
}

/** The default gates: recovery after every heal, the unknown share of sends, the drain's end. */
export function livenessGates(
  report: LivenessReport,
  bounds: LivenessBounds = { recoveryMs: DEFAULT_RECOVERY_BOUND_MS, unknownShare: DEFAULT_UNKNOWN_SHARE_BOUND },
): GateReport[] {
  const gates: GateReport[] = report.faults.map((f) => {
    const base = { source: `recovery after ${f.name} < ${bounds.recoveryMs / 1000}s`, metric: 'recovery' };
    const expression = `value<${bounds.recoveryMs}`;
    if (f.status === 'recovered' && f.recoveryMs !== undefined) {
      const status = f.recoveryMs < bounds.recoveryMs ? 'pass' : 'fail';
      return { ...base, expression, actual: f.recoveryMs, status };
    }
    return { ...base, expression, status: f.status === 'unknown' ? 'unknown' : 'fail', note: f.note };
  });
  const unknownSource = `send_unknown_share outside faults < ${bounds.unknownShare}`;
  // "Outside faults": from a fault's start until its heal plus the send timeout (or the recovery time, if longer).
  if (report.unknownShare === undefined) {
    const note = 'no sends outside the fault windows';
    gates.push({ source: unknownSource, metric: 'send_unknown_share', expression: '', status: 'unknown', note });
  } else {
    gates.push({
      source: unknownSource,
      metric: 'send_unknown_share',
      expression: `rate<${bounds.unknownShare}`,
      actual: report.unknownShare,
      status: report.unknownShare < bounds.unknownShare ? 'pass' : 'fail',
      note: `${report.sendsUnknown} of ${report.sends} sends outside fault windows unknown`,
    });
  }
  if (report.drainEnded !== undefined) {
    gates.push({
      source: 'drain ended',
      metric: 'drain_ended',
      expression: 'value==1',
      actual: report.drainEnded ? 1 : 0,
      status: report.drainEnded ? 'pass' : 'fail',
      ...(report.drainEnded ? {} : { note: 'the drain deadline passed with messages undelivered' }),
    });
  }
  return gates;
}

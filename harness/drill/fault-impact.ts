/**
 * Did each fault hit? A fault that lands on nothing (a proxy the clients bypass, a process nobody talks to) leaves a
 * drill that proves less than it claims. For each fault window in the ledgers (fs/fe records), this counts the
 * sends that overlapped it and how many of them failed, and compares their durations with a baseline: the sends
 * outside every fault window within 3 s (or the window's length) before and after it, where the machine is as busy.
 * A fault hit when a send failed during it, or sends were clearly slower during it: for a latency fault, the 10th
 * percentile inside the window (200 ms trimmed from each end) at least 80% of (latency - jitter) above the
 * baseline's (every send slowed by it), or the median during it that much above the baseline's median and at least
 * twice it plus 5 ms (most sends slowed by it: CI saw a 1 s fault with the median at 1,020 ms against 25.6 ms
 * around it, yet a tenth of the sends counted inside fast); otherwise the median during it at least twice the
 * baseline's plus 5 ms.
 *
 * A fault on one broker node of several reaches only the sends that go to it: it also hit when the middle of that
 * share of the sends (quantile 1 - 1/(2N)) is clearly slower than the baseline's (FaultImpactOptions.brokerNodes).
 *
 * A partition between two nodes (`a~b`) on a target whose client operations never cross that link (the bundled
 * broker's nodes never call each other) cannot fail or slow a send: the ledger cannot show it. Its injector proved it
 * in force by a probe at inject (a connect from each side that must not answer); such a fault has its own status,
 * `verified-at-inject`, neither a hit nor "no visible effect".
 */
import { readAllEvents } from '../ledger/reader.ts';
import type { LedgerEvent } from '../ledger/types.ts';

/** hit: the ledger shows it; no-visible-effect: it does not; verified-at-inject: see the file comment. */
export type FaultImpactStatus = 'hit' | 'no-visible-effect' | 'verified-at-inject';

export interface FaultImpact {
  name: string;
  status: FaultImpactStatus;
  /** Why the status is what it is, when the figures alone do not say it. */
  note?: string;
  startMs: number;
  endMs: number;
  /** Sends whose [start, end] overlapped the fault window. */
  sends: number;
  failed: number;
  medianMs: number | undefined;
  /** Median duration of the sends outside every fault window. */
  outsideMedianMs: number | undefined;
  /** The ledger shows the fault (status `hit`). */
  hit: boolean;
}

export interface FaultImpactOptions {
  /**
   * Whether any client operation crosses the link between two nodes; false on targets whose nodes never talk to
   * each other. Absent, or undefined for a pair: the ledger decides, as for every other fault.
   */
  clientPathCrosses?: (a: string, b: string) => boolean | undefined;
  /**
   * The target's broker nodes. A fault on one of N > 1 of them reaches only about 1/N of the sends (the others go to
   * the other nodes), so besides the rules above it hit when the quantile 1 - 1/(2N) of the sends during it (the
   * middle of the share that went to that node) is clearly above the baseline's (the same rules, that quantile for
   * the median). Absent: every fault is judged as if it reached every send.
   */
  brokerNodes?: readonly string[];
}

/** Between two nodes: the partition target `a~b`. */
const PAIR_SEPARATOR = '~';
/** The note on a node-to-node partition that no client operation crosses. */
export const NO_CLIENT_PATH_NOTE = 'no client operation crosses it; the probe at inject showed the link cut';

interface SendSpan {
  startMs: number;
  endMs: number;
  durationMs: number;
  ok: boolean;
}

interface Window {
  name: string;
  startMs: number;
  endMs: number;
  latencyMs: number | undefined;
  jitterMs: number;
  /** Partition pair `a~b`, when the fault is one. */
  pair?: [string, string];
  /** The share of the broker nodes the fault is on (1 unless it names one of several). */
  share: number;
}

/** Trimmed from both ends of a latency fault's window before its sends are compared. */
const EDGE_MS = 200;
/** How far before and after a fault window the baseline sends are taken from (at least the window's length). */
const NEIGHBOURHOOD_MS = 3000;

export async function faultImpact(files: readonly string[], options: FaultImpactOptions = {}): Promise<FaultImpact[]> {
  const events = (await readAllEvents(files)).map((e) => e.event as LedgerEvent);
  const open = new Map<number, Omit<Window, 'endMs'> & { endMs: number | undefined }>();
  const sends: SendSpan[] = [];
  let lastMs = 0;
  for (const e of events) {
    lastMs = Math.max(lastMs, e.ts);
    if (e.t === 'fs') {
      const latencyMs = e.dt?.kind === 'latency' ? Number(e.dt.latencyMs) : undefined;
      const jitterMs = Number(e.dt?.jitterMs ?? 0);
      const pair = pairOf(e.dt);
      const brokers = options.brokerNodes ?? [];
      const share = brokers.length > 1 && brokers.includes(String(e.dt?.target)) ? 1 / brokers.length : 1;
      const w = { name: e.f, startMs: e.ts, endMs: undefined, latencyMs, jitterMs, share };
      open.set(e.fid, { ...w, ...(pair ? { pair } : {}) });
    }
    if (e.t === 'fe') {
      const w = open.get(e.fid);
      if (w) w.endMs = e.ts;
    }
    if (e.t === 'sc') sends.push({ startMs: e.ts - e.d, endMs: e.ts, durationMs: e.d, ok: e.r === 'ok' });
  }
  const windows: Window[] = [...open.values()].map((w) => ({ ...w, endMs: w.endMs ?? lastMs }));
  const overlaps = (s: SendSpan, w: Window) => s.startMs <= w.endMs && s.endMs >= w.startMs;
  const outside = sends.filter((s) => !windows.some((w) => overlaps(s, w)));
  const outsideMedianMs = quantile(
    outside.map((s) => s.durationMs),
    0.5,
  );
  return windows.map((w) => {
    const during = sends.filter((s) => overlaps(s, w));
    const failed = during.filter((s) => !s.ok).length;
    const medianMs = quantile(
      during.map((s) => s.durationMs),
      0.5,
    );
    // The baseline is the sends just before and after the window (the machine as busy as during it), or every send
    // outside faults when there are too few of those.
    const spanMs = Math.max(NEIGHBOURHOOD_MS, w.endMs - w.startMs);
    const near = outside.filter((s) => s.startMs >= w.startMs - spanMs && s.startMs <= w.endMs + spanMs);
    const baseline = (near.length >= 20 ? near : outside).map((s) => s.durationMs);
    const figures = { name: w.name, startMs: w.startMs, endMs: w.endMs, sends: during.length, failed, medianMs };
    if (w.pair && options.clientPathCrosses?.(...w.pair) === false) {
      return { ...figures, outsideMedianMs, status: 'verified-at-inject', note: NO_CLIENT_PATH_NOTE, hit: false };
    }
    const hit = failed > 0 || slowerDuring(w, during, baseline, medianMs);
    return { ...figures, outsideMedianMs, status: hit ? 'hit' : 'no-visible-effect', hit };
  });
}

/** Whether the sends during a window were clearly slower than the baseline (see the file comment). */
function slowerDuring(w: Window, during: SendSpan[], baseline: number[], medianMs: number | undefined): boolean {
  return slowerAtMedian(w, during, baseline, medianMs) || (w.share < 1 && slowerOnItsNode(w, during, baseline));
}

/** One node of several: the middle of the share of sends that went to it, against the baseline's same quantile. */
function slowerOnItsNode(w: Window, during: SendSpan[], baseline: number[]): boolean {
  const q = 1 - w.share / 2;
  const inside = quantile(
    during.map((s) => s.durationMs),
    q,
  );
  const base = quantile(baseline, q);
  if (inside === undefined || base === undefined || inside < 2 * base + 5) return false;
  return w.latencyMs === undefined || inside >= base + 0.8 * Math.max(1, w.latencyMs - w.jitterMs);
}

function slowerAtMedian(w: Window, during: SendSpan[], baseline: number[], medianMs: number | undefined): boolean {
  const baseMedian = quantile(baseline, 0.5);
  if (w.latencyMs === undefined) {
    return medianMs !== undefined && baseMedian !== undefined && medianMs >= 2 * baseMedian + 5;
  }
  // Every response through the proxy waits latency +- jitter, so even the faster sends inside slow down by it.
  // The window's edges are trimmed: the fault is in force a little after its start record and gone a little
  // before its end record.
  const from = w.startMs + EDGE_MS;
  const to = w.endMs - EDGE_MS;
  const inside = during.filter((s) => s.startMs >= from && s.endMs <= to).map((s) => s.durationMs);
  const insideP10 = quantile(inside, 0.1);
  const baseP10 = quantile(baseline, 0.1) ?? 0;
  const added = 0.8 * Math.max(1, w.latencyMs - w.jitterMs);
  const mostSlowed =
    medianMs !== undefined &&
    baseMedian !== undefined &&
    medianMs >= baseMedian + added &&
    medianMs >= 2 * baseMedian + 5;
  return (insideP10 !== undefined && insideP10 >= baseP10 + added) || mostSlowed;
}

/** The two nodes of a partition between nodes (`a~b`), from a fault start's detail. */
function pairOf(dt: Record<string, unknown> | undefined): [string, string] | undefined {
  if (dt?.kind !== 'partition' || typeof dt.target !== 'string') return undefined;
  const parts = dt.target.split(PAIR_SEPARATOR);
  return parts.length === 2 && parts[0] && parts[1] ? [parts[0], parts[1]] : undefined;
}

function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

export function describeImpact(i: FaultImpact): string {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
  const status = { hit: 'hit', 'no-visible-effect': 'NO visible effect', 'verified-at-inject': 'verified at inject' };
  return (
    `fault ${i.name}: ${status[i.status]}${i.note ? ` (${i.note})` : ''} (${i.sends} sends during it, ` +
    `${i.failed} failed, median ${ms(i.medianMs)} vs ${ms(i.outsideMedianMs)} outside faults)`
  );
}

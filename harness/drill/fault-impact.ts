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
 */
import { readAllEvents } from '../ledger/reader.ts';
import type { LedgerEvent } from '../ledger/types.ts';

export interface FaultImpact {
  name: string;
  startMs: number;
  endMs: number;
  /** Sends whose [start, end] overlapped the fault window. */
  sends: number;
  failed: number;
  medianMs: number | undefined;
  /** Median duration of the sends outside every fault window. */
  outsideMedianMs: number | undefined;
  hit: boolean;
}

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
}

/** Trimmed from both ends of a latency fault's window before its sends are compared. */
const EDGE_MS = 200;
/** How far before and after a fault window the baseline sends are taken from (at least the window's length). */
const NEIGHBOURHOOD_MS = 3000;

export async function faultImpact(files: readonly string[]): Promise<FaultImpact[]> {
  const events = (await readAllEvents(files)).map((e) => e.event as LedgerEvent);
  const open = new Map<number, Omit<Window, 'endMs'> & { endMs: number | undefined }>();
  const sends: SendSpan[] = [];
  let lastMs = 0;
  for (const e of events) {
    lastMs = Math.max(lastMs, e.ts);
    if (e.t === 'fs') {
      const latencyMs = e.dt?.kind === 'latency' ? Number(e.dt.latencyMs) : undefined;
      const jitterMs = Number(e.dt?.jitterMs ?? 0);
      open.set(e.fid, { name: e.f, startMs: e.ts, endMs: undefined, latencyMs, jitterMs });
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
    let slower = false;
    if (w.latencyMs !== undefined) {
      // Every response through the proxy waits latency +- jitter, so even the faster sends inside slow down by it.
      // The window's edges are trimmed: the fault is in force a little after its start record and gone a little
      // before its end record.
      const from = w.startMs + EDGE_MS;
      const to = w.endMs - EDGE_MS;
      const inside = during.filter((s) => s.startMs >= from && s.endMs <= to).map((s) => s.durationMs);
      const insideP10 = quantile(inside, 0.1);
      const baseP10 = quantile(baseline, 0.1) ?? 0;
      const added = 0.8 * Math.max(1, w.latencyMs - w.jitterMs);
      const baseMedian = quantile(baseline, 0.5);
      const mostSlowed =
        medianMs !== undefined &&
        baseMedian !== undefined &&
        medianMs >= baseMedian + added &&
        medianMs >= 2 * baseMedian + 5;
      slower = (insideP10 !== undefined && insideP10 >= baseP10 + added) || mostSlowed;
    } else {
      const baseMedian = quantile(baseline, 0.5);
      slower = medianMs !== undefined && baseMedian !== undefined && medianMs >= 2 * baseMedian + 5;
    }
    return {
      name: w.name,
      startMs: w.startMs,
      endMs: w.endMs,
      sends: during.length,
      failed,
      medianMs,
      outsideMedianMs,
      hit: failed > 0 || slower,
    };
  });
}

function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

export function describeImpact(i: FaultImpact): string {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
  return (
    `fault ${i.name}: ${i.hit ? 'hit' : 'NO visible effect'} (${i.sends} sends during it, ${i.failed} failed, ` +
    `median ${ms(i.medianMs)} vs ${ms(i.outsideMedianMs)} outside faults)`
  );
}

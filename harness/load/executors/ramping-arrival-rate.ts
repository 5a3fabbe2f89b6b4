/**
 * k6 ramping-arrival-rate: the rate moves linearly from startRate through each stage's target. Arrival n starts
 * when the integral of the rate reaches n, so the count in any interval is the area under the rate curve.
 */
import type { Schedule } from '../options.ts';
import { runArrivalRate } from './arrival-rate-runner.ts';
import type { ExecutorHooks, RunningExecutor } from './types.ts';

type RampingArrivalRate = Extract<Schedule, { executor: 'ramping-arrival-rate' }>;

interface Segment {
  startMs: number;
  durationMs: number;
  /** Rates per millisecond at the start and end of the stage. */
  fromRate: number;
  toRate: number;
  /** Arrivals before this stage. */
  countBefore: number;
  count: number;
}

function segments(s: RampingArrivalRate): Segment[] {
  const list: Segment[] = [];
  let startMs = 0;
  let fromRate = s.startRate / s.timeUnitMs;
  let countBefore = 0;
  for (const stage of s.stages) {
    const toRate = stage.target / s.timeUnitMs;
    const count = ((fromRate + toRate) / 2) * stage.durationMs;
    list.push({ startMs, durationMs: stage.durationMs, fromRate, toRate, countBefore, count });
    startMs += stage.durationMs;
    countBefore += count;
    fromRate = toRate;
  }
  return list;
}

/** Solves fromRate*t + (toRate-fromRate)*t^2/(2D) = x for t in [0, D], in a form stable when the slope is ~0. */
function timeForCount(seg: Segment, x: number): number {
  const a = (seg.toRate - seg.fromRate) / (2 * seg.durationMs);
  const b = seg.fromRate;
  const disc = Math.max(0, b * b + 4 * a * x);
  const denominator = b + Math.sqrt(disc);
  return denominator > 0 ? Math.min(seg.durationMs, (2 * x) / denominator) : 0;
}

export function rampingArrivalAtMs(s: RampingArrivalRate): (n: number) => number | undefined {
  const list = segments(s);
  let cursor = 0;
  return (n) => {
    // Arrivals are asked for in increasing n, so the stage cursor normally only moves forward.
    if (cursor > 0 && n < (list[cursor] as Segment).countBefore) cursor = 0;
    for (let seg = list[cursor]; seg; seg = list[++cursor]) {
      if (n < seg.countBefore + seg.count) return seg.startMs + timeForCount(seg, n - seg.countBefore);
    }
    return undefined;
  };
}

export function runRampingArrivalRate(s: RampingArrivalRate, hooks: ExecutorHooks, name: string): RunningExecutor {
  return runArrivalRate({ ...s, arrivalAtMs: rampingArrivalAtMs(s), name }, hooks);
}

/**
 * The closed-model core shared by constant-vus, ramping-vus, per-vu-iterations and shared-iterations: each active VU
 * runs iterations back to back. The number of active VUs follows a list of (time, count) changes; a VU that is
 * deactivated finishes its current iteration and stops (k6 would interrupt it after gracefulRampDown; TODO(#6)). Intended start = actual start,
 * so these executors have no send delay: that is the coordinated omission the arrival-rate executors avoid.
 */
import { type ExecutorHooks, type ExecutorResult, emptyResult, type RunningExecutor } from './types.ts';

export interface VuLoopParams {
  /** (ms after start, active VU count) in time order; the first entry is at 0. */
  vuChanges: ReadonlyArray<{ atMs: number; vus: number }>;
  /** No iteration starts at or after this time. */
  endMs: number;
  startTimeMs: number;
  gracefulStopMs: number;
  /** Per-VU iteration limit (per-vu-iterations). */
  iterationsPerVU?: number;
  /** Shared iteration limit (shared-iterations). */
  iterationsShared?: number;
}

interface Vu {
  id: number;
  active: boolean;
  busy: boolean;
  iterationsDone: number;
}

export function runVuLoop(params: VuLoopParams, hooks: ExecutorHooks): RunningExecutor {
  const { clock } = hooks;
  const result = emptyResult();
  const vus: Vu[] = [];
  let startMs = 0;
  let inFlight = 0;
  let stopped = false;
  let finished = false;
  let sharedLeft = params.iterationsShared ?? Number.POSITIVE_INFINITY;
  const timers: Array<() => void> = [];
  let settle: (r: ExecutorResult) => void = () => {};
  const done = new Promise<ExecutorResult>((resolve) => {
    settle = resolve;
  });

  const finish = () => {
    if (finished) return;
    finished = true;
    for (const cancel of timers) cancel();
    result.interruptedIterations += inFlight;
    settle({ ...result });
  };
  const canStart = (vu: Vu) =>
    !stopped &&
    vu.active &&
    clock.monotonicMs() - startMs < params.endMs &&
    sharedLeft > 0 &&
    vu.iterationsDone < (params.iterationsPerVU ?? Number.POSITIVE_INFINITY);
  const allIdleAndExhausted = () => inFlight === 0 && (stopped || sharedLeft <= 0 || vus.every((vu) => !canStart(vu)));

  const runNext = (vu: Vu) => {
    if (!canStart(vu)) {
      if (allIdleAndExhausted() && (stopped || noMoreWork())) finish();
      return;
    }
    sharedLeft--;
    vu.busy = true;
    inFlight++;
    const nowMs = clock.monotonicMs() - startMs;
    const ctx = { vu: vu.id, iteration: result.startedIterations++, intendedStartMs: nowMs, actualStartMs: nowMs };
    let promise: Promise<void>;
    try {
      promise = hooks.iterate(ctx);
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise
      .then(
        () => result.completedIterations++,
        () => result.failedIterations++,
      )
      .finally(() => {
        inFlight--;
        vu.busy = false;
        vu.iterationsDone++;
        runNext(vu);
      });
  };
  /** True when no VU can ever start another iteration (limits reached, or no VU change is still to come). */
  const noMoreWork = () => {
    const nowMs = clock.monotonicMs() - startMs;
    if (nowMs >= params.endMs || sharedLeft <= 0) return true;
    if (params.iterationsPerVU === undefined) return false;
    const vusMax = Math.max(...params.vuChanges.map((c) => c.vus));
    return vus.length >= vusMax && vus.every((vu) => vu.iterationsDone >= (params.iterationsPerVU as number));
  };
  const setActive = (count: number) => {
    while (vus.length < count) vus.push({ id: vus.length, active: false, busy: false, iterationsDone: 0 });
    result.vusAllocatedMax = Math.max(result.vusAllocatedMax, count);
    vus.forEach((vu, i) => {
      const wasActive = vu.active;
      vu.active = i < count;
      if (vu.active && !wasActive && !vu.busy) runNext(vu);
    });
  };
  const end = () => {
    stopped = true;
    if (inFlight === 0) finish();
    else timers.push(clock.setTimer(params.gracefulStopMs, finish));
  };
  timers.push(
    clock.setTimer(params.startTimeMs, () => {
      startMs = clock.monotonicMs();
      for (const change of params.vuChanges) {
        if (change.atMs === 0) setActive(change.vus);
        else if (change.atMs < params.endMs) timers.push(clock.setTimer(change.atMs, () => setActive(change.vus)));
      }
      timers.push(clock.setTimer(params.endMs, end));
      if (allIdleAndExhausted() && noMoreWork()) end();
    }),
  );
  return {
    done,
    stop: end,
    progress: () => ({ ...result, activeVUs: inFlight }),
  };
}

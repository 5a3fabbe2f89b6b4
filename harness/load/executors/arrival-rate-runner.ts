/**
 * The open-model core shared by constant-arrival-rate and ramping-arrival-rate: iterations start at their intended
 * times whatever the latency of earlier ones. Each wake-up starts every arrival that is due (a late timer starts
 * several at once, each recording its own intended time), so slow iterations never slow the schedule down; when
 * no VU is free and maxVUs are allocated, the arrival is dropped and counted (k6's dropped_iterations).
 */
import { BoundedQueue } from '../../../lib/bounded-queue.ts';
import { type ExecutorHooks, type ExecutorResult, emptyResult, type RunningExecutor } from './types.ts';

export interface ArrivalRateParams {
  /** Intended start of arrival n (0-based), ms after the executor starts; undefined when the schedule is over. */
  arrivalAtMs(n: number): number | undefined;
  startTimeMs: number;
  preAllocatedVUs: number;
  maxVUs: number;
  gracefulStopMs: number;
  /** Name for the free-VU queue (shows up in queue-length metrics). */
  name: string;
}

export function runArrivalRate(params: ArrivalRateParams, hooks: ExecutorHooks): RunningExecutor {
  const { clock } = hooks;
  const result = emptyResult();
  const freeVUs = new BoundedQueue<number>(`load-free-vus:${params.name}`, params.maxVUs);
  for (let vu = 0; vu < params.preAllocatedVUs; vu++) freeVUs.push(vu);
  result.vusAllocatedMax = params.preAllocatedVUs;
  let allocatedVUs = params.preAllocatedVUs;
  let inFlight = 0;
  let n = 0;
  let nextMs: number | undefined;
  let stopped = false;
  let cancelTimer: () => void = () => {};
  let startMs = 0;
  let settle: (r: ExecutorResult) => void = () => {};
  const done = new Promise<ExecutorResult>((resolve) => {
    settle = resolve;
  });
  let schedulingOver = false;
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    result.interruptedIterations = inFlight;
    freeVUs.dispose();
    settle({ ...result });
  };
  const endScheduling = () => {
    if (schedulingOver) return;
    schedulingOver = true;
    cancelTimer();
    if (inFlight === 0) finish();
    else clock.setTimer(params.gracefulStopMs, finish);
  };
  const startArrival = (intendedMs: number, actualMs: number) => {
    let vu = freeVUs.shift();
    if (vu === undefined && allocatedVUs < params.maxVUs) {
      vu = allocatedVUs++;
      result.vusAllocatedMax = allocatedVUs;
    }
    if (vu === undefined) {
      result.droppedIterations++;
      hooks.onDropped?.(intendedMs);
      return;
    }
    const slot = vu;
    inFlight++;
    result.startedIterations++;
    const ctx = { vu: slot, iteration: n, intendedStartMs: intendedMs, actualStartMs: actualMs };
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
        freeVUs.push(slot);
        if (schedulingOver && inFlight === 0) finish();
      });
  };
  const tick = () => {
    if (stopped) return;
    const nowMs = clock.monotonicMs() - startMs;
    while (nextMs !== undefined && nextMs <= nowMs && !stopped) {
      startArrival(nextMs, nowMs);
      n++;
      nextMs = params.arrivalAtMs(n);
    }
    if (nextMs === undefined || stopped) endScheduling();
    else cancelTimer = clock.setTimer(nextMs - nowMs, tick);
  };
  clock.setTimer(params.startTimeMs, () => {
    startMs = clock.monotonicMs();
    nextMs = params.arrivalAtMs(0);
    tick();
  });
  return {
    done,
    stop() {
      stopped = true;
      endScheduling();
    },
    progress: () => ({ ...result, activeVUs: inFlight }),
  };
}

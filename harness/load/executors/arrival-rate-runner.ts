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
  return new ArrivalRateRun(params, hooks).begin();
}

class ArrivalRateRun {
  private readonly result = emptyResult();
  private readonly freeVUs: BoundedQueue<number>;
  private allocatedVUs: number;
  private inFlight = 0;
  private n = 0;
  private nextMs: number | undefined;
  private stopped = false;
  private schedulingOver = false;
  private finished = false;
  private startMs = 0;
  private cancelTimer: () => void = () => {};
  private settle: (r: ExecutorResult) => void = () => {};

  constructor(
    private readonly params: ArrivalRateParams,
    private readonly hooks: ExecutorHooks,
  ) {
    this.freeVUs = new BoundedQueue<number>(`load-free-vus:${params.name}`, params.maxVUs);
    for (let vu = 0; vu < params.preAllocatedVUs; vu++) this.freeVUs.push(vu);
    this.result.vusAllocatedMax = params.preAllocatedVUs;
    this.allocatedVUs = params.preAllocatedVUs;
  }

  begin(): RunningExecutor {
    const done = new Promise<ExecutorResult>((resolve) => {
      this.settle = resolve;
    });
    const { clock } = this.hooks;
    clock.setTimer(this.params.startTimeMs, () => {
      this.startMs = clock.monotonicMs();
      this.nextMs = this.params.arrivalAtMs(0);
      this.tick();
    });
    return {
      done,
      stop: () => {
        this.stopped = true;
        this.endScheduling();
      },
      progress: () => ({ ...this.result, activeVUs: this.inFlight }),
    };
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.result.interruptedIterations = this.inFlight;
    this.freeVUs.dispose();
    this.settle({ ...this.result });
  }

  private endScheduling(): void {
    if (this.schedulingOver) return;
    this.schedulingOver = true;
    this.cancelTimer();
    if (this.inFlight === 0) this.finish();
    else this.hooks.clock.setTimer(this.params.gracefulStopMs, () => this.finish());
  }

  private tick(): void {
    if (this.stopped) return;
    const nowMs = this.hooks.clock.monotonicMs() - this.startMs;
    while (this.nextMs !== undefined && this.nextMs <= nowMs && !this.stopped) {
      this.startArrival(this.nextMs, nowMs);
      this.n++;
      this.nextMs = this.params.arrivalAtMs(this.n);
    }
    if (this.nextMs === undefined || this.stopped) this.endScheduling();
    else this.cancelTimer = this.hooks.clock.setTimer(this.nextMs - nowMs, () => this.tick());
  }

  private startArrival(intendedMs: number, actualMs: number): void {
    let vu = this.freeVUs.shift();
    if (vu === undefined && this.allocatedVUs < this.params.maxVUs) {
      vu = this.allocatedVUs++;
      this.result.vusAllocatedMax = this.allocatedVUs;
    }
    if (vu === undefined) {
      this.result.droppedIterations++;
      this.hooks.onDropped?.(intendedMs);
      return;
    }
    const slot = vu;
    this.inFlight++;
    this.result.startedIterations++;
    const ctx = { vu: slot, iteration: this.n, intendedStartMs: intendedMs, actualStartMs: actualMs };
    let promise: Promise<void>;
    try {
      promise = this.hooks.iterate(ctx);
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise
      .then(
        () => this.result.completedIterations++,
        () => this.result.failedIterations++,
      )
      .finally(() => {
        this.inFlight--;
        this.freeVUs.push(slot);
        if (this.schedulingOver && this.inFlight === 0) this.finish();
      });
  }
}

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
  return new VuLoopRun(params, hooks).begin();
}

class VuLoopRun {
  private readonly result = emptyResult();
  private readonly vus: Vu[] = [];
  private readonly timers: Array<() => void> = [];
  private startMs = 0;
  private inFlight = 0;
  private stopped = false;
  private finished = false;
  private sharedLeft: number;
  private settle: (r: ExecutorResult) => void = () => {};

  constructor(
    private readonly params: VuLoopParams,
    private readonly hooks: ExecutorHooks,
  ) {
    this.sharedLeft = params.iterationsShared ?? Number.POSITIVE_INFINITY;
  }

  begin(): RunningExecutor {
    const done = new Promise<ExecutorResult>((resolve) => {
      this.settle = resolve;
    });
    const { clock } = this.hooks;
    this.timers.push(
      clock.setTimer(this.params.startTimeMs, () => {
        this.startMs = clock.monotonicMs();
        for (const change of this.params.vuChanges) {
          if (change.atMs === 0) this.setActive(change.vus);
          else if (change.atMs < this.params.endMs) {
            this.timers.push(clock.setTimer(change.atMs, () => this.setActive(change.vus)));
          }
        }
        this.timers.push(clock.setTimer(this.params.endMs, () => this.end()));
        if (this.allIdleAndExhausted() && this.noMoreWork()) this.end();
      }),
    );
    return { done, stop: () => this.end(), progress: () => ({ ...this.result, activeVUs: this.inFlight }) };
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const cancel of this.timers) cancel();
    this.result.interruptedIterations += this.inFlight;
    this.settle({ ...this.result });
  }

  private end(): void {
    this.stopped = true;
    if (this.inFlight === 0) this.finish();
    else this.timers.push(this.hooks.clock.setTimer(this.params.gracefulStopMs, () => this.finish()));
  }

  private elapsedMs(): number {
    return this.hooks.clock.monotonicMs() - this.startMs;
  }

  private canStart(vu: Vu): boolean {
    return (
      !this.stopped &&
      vu.active &&
      this.elapsedMs() < this.params.endMs &&
      this.sharedLeft > 0 &&
      vu.iterationsDone < (this.params.iterationsPerVU ?? Number.POSITIVE_INFINITY)
    );
  }

  private allIdleAndExhausted(): boolean {
    return this.inFlight === 0 && (this.stopped || this.sharedLeft <= 0 || this.vus.every((vu) => !this.canStart(vu)));
  }

  /** True when no VU can ever start another iteration (limits reached, or no VU change is still to come). */
  private noMoreWork(): boolean {
    if (this.elapsedMs() >= this.params.endMs || this.sharedLeft <= 0) return true;
    const perVU = this.params.iterationsPerVU;
    if (perVU === undefined) return false;
    const vusMax = Math.max(...this.params.vuChanges.map((c) => c.vus));
    return this.vus.length >= vusMax && this.vus.every((vu) => vu.iterationsDone >= perVU);
  }

  private setActive(count: number): void {
    while (this.vus.length < count)
      this.vus.push({ id: this.vus.length, active: false, busy: false, iterationsDone: 0 });
    this.result.vusAllocatedMax = Math.max(this.result.vusAllocatedMax, count);
    this.vus.forEach((vu, i) => {
      const wasActive = vu.active;
      vu.active = i < count;
      if (vu.active && !wasActive && !vu.busy) this.runNext(vu);
    });
  }

  private runNext(vu: Vu): void {
    if (!this.canStart(vu)) {
      if (this.allIdleAndExhausted() && (this.stopped || this.noMoreWork())) this.finish();
      return;
    }
    this.sharedLeft--;
    vu.busy = true;
    this.inFlight++;
    const nowMs = this.elapsedMs();
    const iteration = this.result.startedIterations++;
    const ctx = { vu: vu.id, iteration, intendedStartMs: nowMs, actualStartMs: nowMs };
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
        vu.busy = false;
        vu.iterationsDone++;
        this.runNext(vu);
      });
  }
}

import type { Clock } from '../../../lib/clock.ts';

/** What an executor tells one iteration (one send, one transaction, one consumer client lifetime). */
export interface IterationContext {
  /** The VU (concurrency slot) running it, 0-based. */
  vu: number;
  /** Index of this iteration in its scenario segment, 0-based, in start order. */
  iteration: number;
  /** When the schedule wanted it to start, ms since the executor started (monotonic). */
  intendedStartMs: number;
  /** When it did start; actual - intended is the send delay (coordinated omission made visible). */
  actualStartMs: number;
}

export interface ExecutorHooks {
  clock: Clock;
  /** Runs one iteration; the VU is busy until the promise settles. Rejections are counted, never thrown. */
  iterate(ctx: IterationContext): Promise<void>;
  /** An arrival that could not start because every VU was busy and maxVUs was reached (k6 dropped_iterations). */
  onDropped?(intendedStartMs: number): void;
}

export interface ExecutorResult {
  startedIterations: number;
  completedIterations: number;
  /** Iterations whose promise rejected (the driver normally records failures itself and resolves). */
  failedIterations: number;
  droppedIterations: number;
  /** Still running when gracefulStop (or gracefulRampDown) ran out; not awaited. */
  interruptedIterations: number;
  /** The most VUs that were ever allocated at once. */
  vusAllocatedMax: number;
}

/** A driver that ran no iteration (a consumer, or one that never reported a result). */
export const NO_ITERATIONS: Readonly<ExecutorResult> = {
  startedIterations: 0,
  completedIterations: 0,
  failedIterations: 0,
  droppedIterations: 0,
  interruptedIterations: 0,
  vusAllocatedMax: 0,
};

export interface RunningExecutor {
  /** Settles when the schedule is over and in-flight iterations finished or were interrupted. */
  readonly done: Promise<ExecutorResult>;
  /** Stops starting iterations now (abortOnFail, SIGINT); in-flight ones get gracefulStop as usual. */
  stop(): void;
  /** Live counters, for progress and metrics snapshots. */
  progress(): ExecutorResult & { activeVUs: number };
}

export function emptyResult(): ExecutorResult {
  return {
    startedIterations: 0,
    completedIterations: 0,
    failedIterations: 0,
    droppedIterations: 0,
    interruptedIterations: 0,
    vusAllocatedMax: 0,
  };
}

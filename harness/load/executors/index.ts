/**
 * Executors, one file each as in k6. They are pure scheduling over an injected Clock: the driver (in a worker) gives
 * them an iterate() that does the messaging. The Go driver implements the same arithmetic (docs/load.md).
 */
import type { Schedule } from '../options.ts';
import { runConstantArrivalRate } from './constant-arrival-rate.ts';
import { runConstantVus } from './constant-vus.ts';
import { runPerVuIterations } from './per-vu-iterations.ts';
import { runRampingArrivalRate } from './ramping-arrival-rate.ts';
import { rampingVusDurationMs, runRampingVus } from './ramping-vus.ts';
import { runSharedIterations } from './shared-iterations.ts';
import type { ExecutorHooks, RunningExecutor } from './types.ts';

export type { ExecutorHooks, ExecutorResult, IterationContext, RunningExecutor } from './types.ts';
export { NO_ITERATIONS } from './types.ts';

export function startExecutor(schedule: Schedule, hooks: ExecutorHooks, name = 'scenario'): RunningExecutor {
  switch (schedule.executor) {
    case 'constant-arrival-rate':
      return runConstantArrivalRate(schedule, hooks, name);
    case 'ramping-arrival-rate':
      return runRampingArrivalRate(schedule, hooks, name);
    case 'constant-vus':
      return runConstantVus(schedule, hooks);
    case 'ramping-vus':
      return runRampingVus(schedule, hooks);
    case 'per-vu-iterations':
      return runPerVuIterations(schedule, hooks);
    case 'shared-iterations':
      return runSharedIterations(schedule, hooks);
  }
}

/** How long the schedule runs after its startTime, not counting gracefulStop (iteration executors: maxDuration). */
export function scheduleDurationMs(schedule: Schedule): number {
  switch (schedule.executor) {
    case 'constant-arrival-rate':
    case 'constant-vus':
      return schedule.durationMs;
    case 'ramping-arrival-rate':
      return schedule.stages.reduce((sum, st) => sum + st.durationMs, 0);
    case 'ramping-vus':
      return rampingVusDurationMs(schedule);
    case 'per-vu-iterations':
    case 'shared-iterations':
      return schedule.maxDurationMs;
  }
}

/** Splits a count as evenly as possible: part `index` of `count` parts (earlier parts get the remainder). */
export function splitCount(total: number, index: number, count: number): number {
  return Math.floor(total / count) + (index < total % count ? 1 : 0);
}

/**
 * The share of a schedule that worker `index` of `count` runs (k6 execution segments, simplified to equal parts):
 * rates and iteration counts are divided, VUs are divided with at least one per worker.
 */
export function splitSchedule(schedule: Schedule, index: number, count: number): Schedule {
  if (count === 1) return schedule;
  const vus = (n: number) => Math.max(1, splitCount(n, index, count));
  switch (schedule.executor) {
    case 'constant-arrival-rate':
      return {
        ...schedule,
        rate: schedule.rate / count,
        preAllocatedVUs: vus(schedule.preAllocatedVUs),
        maxVUs: vus(schedule.maxVUs),
      };
    case 'ramping-arrival-rate':
      return {
        ...schedule,
        startRate: schedule.startRate / count,
        stages: schedule.stages.map((st) => ({ ...st, target: st.target / count })),
        preAllocatedVUs: vus(schedule.preAllocatedVUs),
        maxVUs: vus(schedule.maxVUs),
      };
    case 'constant-vus':
    case 'per-vu-iterations':
      return { ...schedule, vus: vus(schedule.vus) };
    case 'ramping-vus':
      return {
        ...schedule,
        startVUs: splitCount(schedule.startVUs, index, count),
        stages: schedule.stages.map((st) => ({ ...st, target: splitCount(st.target, index, count) })),
      };
    case 'shared-iterations': {
      const iterations = splitCount(schedule.iterations, index, count);
      return {
        ...schedule,
        iterations,
        vus: Math.max(1, Math.min(iterations, splitCount(schedule.vus, index, count))),
      };
    }
  }
}

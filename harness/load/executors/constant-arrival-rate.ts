/** k6 constant-arrival-rate: `rate` iterations per `timeUnit` for `duration`, open model. */
import type { Schedule } from '../options.ts';
import { runArrivalRate } from './arrival-rate-runner.ts';
import type { ExecutorHooks, RunningExecutor } from './types.ts';

type ConstantArrivalRate = Extract<Schedule, { executor: 'constant-arrival-rate' }>;

/** Arrival n starts at n * timeUnit / rate (the first immediately), while before the duration ends. */
export function constantArrivalAtMs(s: ConstantArrivalRate): (n: number) => number | undefined {
  const intervalMs = s.timeUnitMs / s.rate;
  return (n) => {
    const atMs = n * intervalMs;
    return atMs < s.durationMs ? atMs : undefined;
  };
}

export function runConstantArrivalRate(s: ConstantArrivalRate, hooks: ExecutorHooks, name: string): RunningExecutor {
  return runArrivalRate({ ...s, arrivalAtMs: constantArrivalAtMs(s), name }, hooks);
}

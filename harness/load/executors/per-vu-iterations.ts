/** k6 per-vu-iterations: each of `vus` VUs runs exactly `iterations` iterations, within `maxDuration`. */
import type { Schedule } from '../options.ts';
import type { ExecutorHooks, RunningExecutor } from './types.ts';
import { runVuLoop } from './vu-loop-runner.ts';

export function runPerVuIterations(
  s: Extract<Schedule, { executor: 'per-vu-iterations' }>,
  hooks: ExecutorHooks,
): RunningExecutor {
  return runVuLoop(
    { ...s, vuChanges: [{ atMs: 0, vus: s.vus }], endMs: s.maxDurationMs, iterationsPerVU: s.iterations },
    hooks,
  );
}

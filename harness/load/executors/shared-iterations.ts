/** k6 shared-iterations: `iterations` in total, taken by whichever of `vus` VUs is free, within `maxDuration`. */
import type { Schedule } from '../options.ts';
import type { ExecutorHooks, RunningExecutor } from './types.ts';
import { runVuLoop } from './vu-loop-runner.ts';

export function runSharedIterations(
  s: Extract<Schedule, { executor: 'shared-iterations' }>,
  hooks: ExecutorHooks,
): RunningExecutor {
  return runVuLoop(
    { ...s, vuChanges: [{ atMs: 0, vus: s.vus }], endMs: s.maxDurationMs, iterationsShared: s.iterations },
    hooks,
  );
}

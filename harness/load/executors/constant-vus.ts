/** k6 constant-vus: `vus` VUs run iterations back to back for `duration`. */
import type { Schedule } from '../options.ts';
import type { ExecutorHooks, RunningExecutor } from './types.ts';
import { runVuLoop } from './vu-loop-runner.ts';

export function runConstantVus(
  s: Extract<Schedule, { executor: 'constant-vus' }>,
  hooks: ExecutorHooks,
): RunningExecutor {
  return runVuLoop({ ...s, vuChanges: [{ atMs: 0, vus: s.vus }], endMs: s.durationMs }, hooks);
}

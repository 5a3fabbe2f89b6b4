/**
 * k6 ramping-vus: the VU count moves linearly from startVUs through each stage's target; it changes to the integer k
 * at the moment the line reaches k (so 0 -> 10 over 10s adds one VU per second, the first at 1s).
 */
import type { Schedule } from '../options.ts';
import type { ExecutorHooks, RunningExecutor } from './types.ts';
import { runVuLoop } from './vu-loop-runner.ts';

type RampingVus = Extract<Schedule, { executor: 'ramping-vus' }>;

export function rampingVuChanges(s: RampingVus): Array<{ atMs: number; vus: number }> {
  const changes = [{ atMs: 0, vus: s.startVUs }];
  let fromVUs = s.startVUs;
  let stageStartMs = 0;
  for (const stage of s.stages) {
    const step = stage.target > fromVUs ? 1 : -1;
    for (let k = fromVUs + step; step > 0 ? k <= stage.target : k >= stage.target; k += step) {
      const fraction = stage.durationMs === 0 ? 0 : (k - fromVUs) / (stage.target - fromVUs);
      changes.push({ atMs: stageStartMs + fraction * stage.durationMs, vus: k });
    }
    fromVUs = stage.target;
    stageStartMs += stage.durationMs;
  }
  return changes;
}

export function rampingVusDurationMs(s: RampingVus): number {
  return s.stages.reduce((sum, st) => sum + st.durationMs, 0);
}

export function runRampingVus(s: RampingVus, hooks: ExecutorHooks): RunningExecutor {
  return runVuLoop({ ...s, vuChanges: rampingVuChanges(s), endMs: rampingVusDurationMs(s) }, hooks);
}

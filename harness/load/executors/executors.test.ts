import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../../lib/clock.ts';
import type { Schedule } from '../options.ts';
import { type IterationContext, splitSchedule, startExecutor } from './index.ts';
import { rampingArrivalAtMs } from './ramping-arrival-rate.ts';
import { rampingVuChanges } from './ramping-vus.ts';

const common = { startTimeMs: 0, gracefulStopMs: 1000 };

/** Advances a ManualClock in steps, letting promise callbacks run between steps (VUs free up on microtasks). */
async function advance(clock: ManualClock, totalMs: number, stepMs = 1): Promise<void> {
  for (let t = 0; t < totalMs; t += stepMs) {
    clock.advance(stepMs);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

/** An iteration that takes latencyMs of clock time. */
function sleeper(clock: ManualClock, latencyMs: number, starts: IterationContext[]) {
  return (ctx: IterationContext) => {
    starts.push(ctx);
    return new Promise<void>((resolve) => clock.setTimer(latencyMs, resolve));
  };
}

function perSecond(starts: IterationContext[], key: 'intendedStartMs' | 'actualStartMs'): number[] {
  const counts: number[] = [];
  for (const s of starts) {
    const second = Math.floor(s[key] / 1000);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return Array.from(counts, (c) => c ?? 0);
}

describe('arrival-rate executors (open model)', () => {
  test('ramping-arrival-rate produces the intended count in every second within 1%', async () => {
    const clock = new ManualClock();
    const schedule: Schedule = {
      executor: 'ramping-arrival-rate',
      ...common,
      startRate: 1000,
      timeUnitMs: 1000,
      stages: [
        { target: 5000, durationMs: 5000 },
        { target: 5000, durationMs: 3000 },
        { target: 500, durationMs: 4000 },
      ],
      preAllocatedVUs: 100,
      maxVUs: 100,
    };
    const starts: IterationContext[] = [];
    const run = startExecutor(schedule, { clock, iterate: sleeper(clock, 5, starts) });
    await advance(clock, 13_000, 5);
    const result = await run.done;
    // The intended rate at second k is the area under the rate line over [k, k+1].
    const rateAt = (tMs: number) =>
      tMs < 5000 ? 1000 + (4000 * tMs) / 5000 : tMs < 8000 ? 5000 : 5000 - (4500 * (tMs - 8000)) / 4000;
    const expected = Array.from({ length: 12 }, (_, k) => (rateAt(k * 1000) + rateAt((k + 1) * 1000)) / 2);
    const actual = perSecond(starts, 'actualStartMs');
    expect(actual).toHaveLength(12);
    actual.forEach((count, k) => {
      expect(Math.abs(count - (expected[k] as number))).toBeLessThanOrEqual((expected[k] as number) * 0.01);
    });
    expect(result.droppedIterations).toBe(0);
    expect(result.startedIterations).toBe(starts.length);
    expect(starts.every((s) => s.actualStartMs - s.intendedStartMs < 5)).toBe(true);
  });

  test('starts on schedule whatever the latency; busy VUs make drops, not a slower schedule', async () => {
    const clock = new ManualClock();
    const dropped: number[] = [];
    const starts: IterationContext[] = [];
    const run = startExecutor(
      {
        executor: 'constant-arrival-rate',
        ...common,
        rate: 100,
        timeUnitMs: 1000,
        durationMs: 2000,
        preAllocatedVUs: 5,
        maxVUs: 10,
      },
      { clock, iterate: sleeper(clock, 200, starts), onDropped: (ms) => dropped.push(ms) },
    );
    await advance(clock, 3500, 1);
    const result = await run.done;
    // 10 VUs x (1 iteration / 200 ms) = 50/s can run; 100/s were asked for.
    expect(result.startedIterations + result.droppedIterations).toBe(200);
    expect(result.startedIterations).toBe(100);
    expect(result.droppedIterations).toBe(100);
    expect(dropped).toHaveLength(100);
    expect(result.vusAllocatedMax).toBe(10);
    expect(starts.every((s) => s.actualStartMs === s.intendedStartMs)).toBe(true);
  });

  test('a late timer starts every due arrival at once, each with its own intended time (send delay)', async () => {
    const clock = new ManualClock();
    const starts: IterationContext[] = [];
    startExecutor(
      {
        executor: 'constant-arrival-rate',
        ...common,
        rate: 1000,
        timeUnitMs: 1000,
        durationMs: 1000,
        preAllocatedVUs: 50,
        maxVUs: 50,
      },
      { clock, iterate: sleeper(clock, 1, starts) },
    );
    clock.advance(0);
    clock.advance(20); // the event loop was blocked for 20 ms
    expect(starts.map((s) => s.intendedStartMs)).toEqual(Array.from({ length: 21 }, (_, i) => i));
    expect(starts.at(-1)?.actualStartMs).toBe(20);
    expect(starts[1]?.actualStartMs).toBe(1);
  });

  test('startTime delays the start; stop() ends scheduling and in-flight iterations get gracefulStop', async () => {
    const clock = new ManualClock();
    const starts: IterationContext[] = [];
    const run = startExecutor(
      {
        executor: 'constant-arrival-rate',
        startTimeMs: 500,
        gracefulStopMs: 100,
        rate: 10,
        timeUnitMs: 1000,
        durationMs: 10_000,
        preAllocatedVUs: 5,
        maxVUs: 5,
      },
      { clock, iterate: sleeper(clock, 1000, starts) },
    );
    await advance(clock, 499);
    expect(starts).toHaveLength(0);
    await advance(clock, 301);
    expect(starts.map((s) => s.intendedStartMs)).toEqual([0, 100, 200, 300]);
    run.stop();
    await advance(clock, 150);
    const result = await run.done;
    expect(result).toMatchObject({ startedIterations: 4, interruptedIterations: 4, completedIterations: 0 });
  });

  test('ramping arrival times are monotonic and end with the stages', () => {
    const at = rampingArrivalAtMs({
      executor: 'ramping-arrival-rate',
      ...common,
      startRate: 0,
      timeUnitMs: 1000,
      preAllocatedVUs: 1,
      maxVUs: 1,
      stages: [
        { target: 10, durationMs: 2000 },
        { target: 0, durationMs: 0 },
        { target: 0, durationMs: 5000 },
      ],
    });
    const times: number[] = [];
    for (let n = 0, t = at(0); t !== undefined; t = at(++n)) times.push(t);
    expect(times).toHaveLength(10);
    expect(times[0]).toBe(0);
    expect(times.every((t, i) => i === 0 || t > (times[i - 1] as number))).toBe(true);
    expect(times.at(-1)).toBeLessThan(2000);
  });
});

describe('VU executors (closed model)', () => {
  test('constant-vus: each VU runs iterations back to back for the duration', async () => {
    const clock = new ManualClock();
    const starts: IterationContext[] = [];
    const run = startExecutor(
      { executor: 'constant-vus', ...common, vus: 3, durationMs: 1000 },
      { clock, iterate: sleeper(clock, 100, starts) },
    );
    await advance(clock, 1200);
    const result = await run.done;
    expect(result).toMatchObject({
      startedIterations: 30,
      completedIterations: 30,
      interruptedIterations: 0,
      vusAllocatedMax: 3,
    });
    expect(new Set(starts.map((s) => s.vu))).toEqual(new Set([0, 1, 2]));
  });

  test('constant-vus: an iteration longer than gracefulStop is interrupted', async () => {
    const clock = new ManualClock();
    const run = startExecutor(
      { executor: 'constant-vus', startTimeMs: 0, gracefulStopMs: 50, vus: 1, durationMs: 250 },
      { clock, iterate: sleeper(clock, 200, []) },
    );
    await advance(clock, 400);
    expect(await run.done).toMatchObject({ startedIterations: 2, completedIterations: 1, interruptedIterations: 1 });
  });

  test('ramping-vus: the VU count follows the stages', async () => {
    const schedule: Schedule = {
      executor: 'ramping-vus',
      ...common,
      startVUs: 0,
      gracefulRampDownMs: 0,
      stages: [
        { target: 4, durationMs: 4000 },
        { target: 0, durationMs: 2000 },
      ],
    };
    expect(rampingVuChanges(schedule)).toEqual([
      { atMs: 0, vus: 0 },
      { atMs: 1000, vus: 1 },
      { atMs: 2000, vus: 2 },
      { atMs: 3000, vus: 3 },
      { atMs: 4000, vus: 4 },
      { atMs: 4500, vus: 3 },
      { atMs: 5000, vus: 2 },
      { atMs: 5500, vus: 1 },
      { atMs: 6000, vus: 0 },
    ]);
    const clock = new ManualClock();
    const starts: IterationContext[] = [];
    const run = startExecutor(schedule, { clock, iterate: sleeper(clock, 100, starts) });
    await advance(clock, 6500);
    const result = await run.done;
    // VU-seconds: 1+2+3 during the ramp up, then 4*0.5+3*0.5+2*0.5+1*0.5 ramping down = 11 s -> 110 iterations.
    expect(result.startedIterations).toBe(110);
    expect(result.vusAllocatedMax).toBe(4);
  });

  test('per-vu-iterations: every VU runs exactly its iterations, then the executor ends early', async () => {
    const clock = new ManualClock();
    const starts: IterationContext[] = [];
    const run = startExecutor(
      { executor: 'per-vu-iterations', ...common, vus: 4, iterations: 5, maxDurationMs: 60_000 },
      { clock, iterate: sleeper(clock, 10, starts) },
    );
    await advance(clock, 100);
    const result = await run.done;
    expect(result).toMatchObject({ startedIterations: 20, completedIterations: 20 });
    for (let vu = 0; vu < 4; vu++) expect(starts.filter((s) => s.vu === vu)).toHaveLength(5);
  });

  test('shared-iterations: the total is shared; a fast VU takes more; maxDuration cuts it short', async () => {
    const clock = new ManualClock();
    const starts: IterationContext[] = [];
    const run = startExecutor(
      { executor: 'shared-iterations', ...common, vus: 2, iterations: 30, maxDurationMs: 60_000 },
      { clock, iterate: (ctx) => sleeper(clock, ctx.vu === 0 ? 10 : 20, starts)(ctx) },
    );
    await advance(clock, 400);
    expect(await run.done).toMatchObject({ startedIterations: 30, completedIterations: 30 });
    expect(starts.filter((s) => s.vu === 0)).toHaveLength(20);

    const clock2 = new ManualClock();
    const run2 = startExecutor(
      { executor: 'shared-iterations', ...common, vus: 1, iterations: 1000, maxDurationMs: 100 },
      { clock: clock2, iterate: sleeper(clock2, 10, []) },
    );
    await advance(clock2, 200);
    expect((await run2.done).startedIterations).toBe(10);
  });

  test('a rejected iteration is counted, never thrown', async () => {
    const clock = new ManualClock();
    const run = startExecutor(
      { executor: 'per-vu-iterations', ...common, vus: 1, iterations: 3, maxDurationMs: 1000 },
      {
        clock,
        iterate: async () => {
          throw new Error('boom');
        },
      },
    );
    await advance(clock, 5);
    expect(await run.done).toMatchObject({ startedIterations: 3, failedIterations: 3 });
  });
});

test('splitSchedule divides rates, VUs and iterations between workers', () => {
  const s: Schedule = {
    executor: 'constant-arrival-rate',
    ...common,
    rate: 1000,
    timeUnitMs: 1000,
    durationMs: 1,
    preAllocatedVUs: 10,
    maxVUs: 21,
  };
  expect(splitSchedule(s, 0, 2)).toMatchObject({ rate: 500, preAllocatedVUs: 5, maxVUs: 11 });
  expect(splitSchedule(s, 1, 2)).toMatchObject({ rate: 500, preAllocatedVUs: 5, maxVUs: 10 });
  const shared: Schedule = { executor: 'shared-iterations', ...common, vus: 3, iterations: 10, maxDurationMs: 1 };
  const parts = [0, 1, 2].map((i) => splitSchedule(shared, i, 3));
  expect(parts.map((p) => (p as { iterations: number }).iterations)).toEqual([4, 3, 3]);
});

import { expect, describe as suite, test } from 'vitest';
import { describe, InvalidOptionsError, parseOptions, validateOptions } from './options.ts';

const producer = {
  executor: 'constant-arrival-rate',
  rate: 200,
  duration: '1m',
  preAllocatedVUs: 50,
  role: 'producer',
  message: { type: 'NORMAL', topic: 'orders', bodySizeBytes: 1024 },
};
const consumer = {
  executor: 'constant-vus',
  vus: 2,
  duration: '1m',
  role: 'consumer',
  consumer: { group: 'billing', topic: 'orders', kind: 'simple', failureShare: 0.2 },
};

suite('validateOptions', () => {
  test('a valid k6-shaped module normalises durations to milliseconds', () => {
    const plan = parseOptions({
      scenarios: { orders: producer, billing: consumer },
      thresholds: { send_duration: ['p(99)<50'] },
    });
    expect(plan.scenarios[0]?.schedule).toEqual({
      executor: 'constant-arrival-rate',
      rate: 200,
      timeUnitMs: 1000,
      durationMs: 60_000,
      preAllocatedVUs: 50,
      maxVUs: 50,
      startTimeMs: 0,
      gracefulStopMs: 30_000,
    });
    expect(plan.scenarios[0]?.message?.bodySizeBytes).toEqual({ distribution: 'constant', value: 1024 });
    expect(plan.scenarios[1]?.consumer).toMatchObject({
      group: 'billing',
      failureShare: 0.2,
      invisibleDurationMs: 30_000,
    });
    expect(plan.scenarios[1]?.tags).toEqual({ scenario: 'billing' });
    expect(plan.thresholds[0]?.metric).toBe('send_duration');
  });

  test('every executor with its k6 options', () => {
    const m = { role: 'producer', message: { topic: 't' } };
    const plan = parseOptions({
      scenarios: {
        a: {
          executor: 'ramping-arrival-rate',
          startRate: 10,
          timeUnit: '1s',
          preAllocatedVUs: 5,
          maxVUs: 9,
          stages: [
            { target: 100, duration: '30s' },
            { target: 0, duration: '10s' },
          ],
          ...m,
        },
        b: { executor: 'constant-vus', vus: 3, duration: '10s', ...m },
        c: {
          executor: 'ramping-vus',
          startVUs: 0,
          stages: [{ target: 4, duration: '5s' }],
          gracefulRampDown: '1s',
          ...m,
        },
        d: { executor: 'per-vu-iterations', vus: 2, iterations: 10, maxDuration: '1m', ...m },
        e: { executor: 'shared-iterations', vus: 2, iterations: 10, startTime: '5s', gracefulStop: '2s', ...m },
      },
    });
    expect(plan.scenarios.map((s) => s.schedule.executor)).toEqual([
      'ramping-arrival-rate',
      'constant-vus',
      'ramping-vus',
      'per-vu-iterations',
      'shared-iterations',
    ]);
    expect(plan.scenarios[0]?.schedule).toMatchObject({
      stages: [
        { target: 100, durationMs: 30_000 },
        { target: 0, durationMs: 10_000 },
      ],
    });
    expect(plan.scenarios[4]?.schedule).toMatchObject({
      startTimeMs: 5000,
      gracefulStopMs: 2000,
      maxDurationMs: 600_000,
    });
  });

  test('unknown options and bad values are all reported at once, with paths', () => {
    const { plan, errors } = validateOptions({
      vus: 10,
      scenarios: {
        burst: { ...producer, rate: 0, timeUnit: 'fortnight', maxVUs: 10, preAllocatedVUs: 20, colour: 'red' },
        slow: { ...consumer, executor: 'ramping-vus', consumer: { group: 'g', kind: 'pull', fliter: {} } },
        fifo: {
          executor: 'constant-vus',
          duration: '1s',
          role: 'producer',
          message: { type: 'FIFO', topic: 'f', delay: '1s' },
        },
      },
      thresholds: { send_duration: ['p99<5'] },
    });
    expect(plan).toBeUndefined();
    const text = errors.join('\n');
    for (const expected of [
      'options.vus: unknown option',
      'scenarios.burst.colour: unknown option',
      'scenarios.burst.rate: must be > 0',
      'scenarios.burst.timeUnit: invalid duration "fortnight"',
      'scenarios.burst.maxVUs: must be >= preAllocatedVUs (20)',
      'scenarios.slow.executor: consumer scenarios use constant-vus',
      'scenarios.slow.consumer.fliter: unknown option',
      'scenarios.slow.consumer.kind: must be one of: simple, push',
      'scenarios.slow.consumer.topic: is required',
      'scenarios.slow.duration: unknown option',
      'scenarios.slow.vus: unknown option',
      'scenarios.slow.stages: is required',
      'scenarios.fifo.message.keys: is required for FIFO',
      'scenarios.fifo.message.delay: only DELAY messages have a delay',
      'thresholds["send_duration"][0]: invalid threshold "p99<5"',
    ]) {
      expect(text).toContain(expected);
    }
    expect(() => parseOptions({ scenarios: {} })).toThrow(InvalidOptionsError);
  });

  test('distributions, keys and transaction shares', () => {
    const plan = parseOptions({
      scenarios: {
        tx: {
          executor: 'shared-iterations',
          iterations: 100,
          role: 'producer',
          message: {
            type: 'TRANSACTION',
            topic: 't',
            tags: ['a', 'b'],
            keys: { count: 100, distribution: 'zipf', exponent: 1.2 },
            bodySizeBytes: { distribution: 'uniform', min: 100, max: 2000 },
            transaction: { commit: 0.8, rollback: 0.1, unknown: 0.1 },
          },
        },
        delayed: {
          executor: 'shared-iterations',
          iterations: 1,
          role: 'producer',
          message: { type: 'DELAY', topic: 'd', delay: { distribution: 'uniform', min: '1s', max: '10s' } },
        },
      },
    });
    expect(plan.scenarios[0]?.message).toMatchObject({
      keys: { count: 100, distribution: 'zipf', exponent: 1.2, prefix: 'key-' },
      transaction: { commit: 0.8, rollback: 0.1, unknown: 0.1 },
    });
    expect(plan.scenarios[1]?.message?.delayMs).toEqual({ distribution: 'uniform', min: 1000, max: 10_000 });
    const bad = validateOptions({
      scenarios: {
        tx: {
          executor: 'shared-iterations',
          role: 'producer',
          message: {
            type: 'TRANSACTION',
            topic: 't',
            transaction: { commit: 0.5 },
          },
        },
      },
    });
    expect(bad.errors.join('\n')).toContain('scenarios.tx.message.transaction: commit + rollback + unknown must be 1');
  });
});

test('describe says what will run in one paragraph', () => {
  const text = describe(
    parseOptions({ scenarios: { orders: producer, billing: consumer }, thresholds: { send_duration: ['p(99)<50'] } }),
  );
  expect(text).toContain('"orders" sends NORMAL messages to orders at 200 msg/s for 1m');
  expect(text).toContain('"billing" consumes orders as group billing with 2 simple consumers, failing 20% once');
  expect(text).toContain('1 threshold;');
  expect(text.split('\n')).toHaveLength(1);
});

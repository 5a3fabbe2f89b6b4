import { describe, expect, test } from 'vitest';
import {
  type Aggregation,
  evaluateThreshold,
  parseMetricKey,
  parseThresholdConfig,
  parseThresholdExpression,
  tagsMatch,
} from './index.ts';

describe('parseThresholdExpression', () => {
  test.each([
    ['p(99)<50', { kind: 'p', percentile: 99 }, '<', 50],
    ['p(99.9) < 200', { kind: 'p', percentile: 99.9 }, '<', 200],
    ['avg<100', { kind: 'avg' }, '<', 100],
    ['rate<0.01', { kind: 'rate' }, '<', 0.01],
    ['count==0', { kind: 'count' }, '==', 0],
    ['med<=10', { kind: 'med' }, '<=', 10],
    ['  max >= 3 ', { kind: 'max' }, '>=', 3],
    ['min>1', { kind: 'min' }, '>', 1],
    ['value != 7', { kind: 'value' }, '!=', 7],
    ['count===5', { kind: 'count' }, '===', 5],
    ['p( 95 )<1e3', { kind: 'p', percentile: 95 }, '<', 1000],
    ['p(99)<200ms', { kind: 'p', percentile: 99 }, '<', 200],
    ['p(99)<1s', { kind: 'p', percentile: 99 }, '<', 1000],
    ['avg < 1m30s', { kind: 'avg' }, '<', 90_000],
  ] as const)('%s', (source, aggregation, op, value) => {
    expect(parseThresholdExpression(source)).toEqual({ source, aggregation, op, value });
  });

  test.each([
    ['', /empty expression/],
    ['p99<50', /expected "\(" after p/],
    ['p(99<50', /percentile "99<50"|expected "\)"/],
    ['p(101)<5', /percentile "101" must be a number from 0 to 100/],
    ['mean<5', /unknown aggregation "mean"/],
    ['avg 5', /expected an operator/],
    ['avg<', /expected a value/],
    ['avg<fast', /value "fast" must be a number or a duration/],
    ['avg<10parsecs', /value "10parsecs"/],
    ['<5', /expected an aggregation/],
  ])('rejects %j with a message quoting it', (source, problem) => {
    let message = '';
    try {
      parseThresholdExpression(source);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(problem);
    expect(message).toContain(`"${source}"`);
    expect(message).toMatch(/\^/);
  });
});

describe('evaluateThreshold', () => {
  const values: Record<string, number> = { 'p(99)': 40, avg: 12, count: 0, rate: 0.02 };
  const lookup = (a: Aggregation) => values[a.kind === 'p' ? `p(${a.percentile})` : a.kind];

  test('compares the aggregated value with each operator', () => {
    expect(evaluateThreshold(parseThresholdExpression('p(99)<50'), lookup)).toBe(true);
    expect(evaluateThreshold(parseThresholdExpression('p(99)<40'), lookup)).toBe(false);
    expect(evaluateThreshold(parseThresholdExpression('p(99)<=40'), lookup)).toBe(true);
    expect(evaluateThreshold(parseThresholdExpression('avg>12'), lookup)).toBe(false);
    expect(evaluateThreshold(parseThresholdExpression('avg>=12'), lookup)).toBe(true);
    expect(evaluateThreshold(parseThresholdExpression('count==0'), lookup)).toBe(true);
    expect(evaluateThreshold(parseThresholdExpression('count===0'), lookup)).toBe(true);
    expect(evaluateThreshold(parseThresholdExpression('count!=0'), lookup)).toBe(false);
    expect(evaluateThreshold(parseThresholdExpression('rate<0.01'), lookup)).toBe(false);
  });

  test('a missing value fails the threshold', () => {
    expect(evaluateThreshold(parseThresholdExpression('med<1000'), lookup)).toBe(false);
    expect(evaluateThreshold(parseThresholdExpression('p(50)<1000'), () => Number.NaN)).toBe(false);
  });
});

describe('parseMetricKey', () => {
  test('plain metric and sub-metric tags', () => {
    expect(parseMetricKey('send_duration')).toEqual({ metric: 'send_duration', tags: {} });
    expect(parseMetricKey('send_duration{scenario:burst}')).toEqual({
      metric: 'send_duration',
      tags: { scenario: 'burst' },
    });
    expect(parseMetricKey('e2e_latency{ topic: "orders" , group:g1}')).toEqual({
      metric: 'e2e_latency',
      tags: { topic: 'orders', group: 'g1' },
    });
  });

  test.each(['', 'send_duration{}', 'send_duration{scenario}', 'x{a:1,a:2}', '9lives'])('rejects %j', (key) => {
    expect(() => parseMetricKey(key)).toThrow(/invalid metric/);
  });
});

describe('parseThresholdConfig', () => {
  test('k6 string and object forms, with sub-metrics', () => {
    const { thresholds, errors } = parseThresholdConfig({
      send_duration: ['p(99)<50'],
      'send_duration{scenario:burst}': [{ threshold: 'p(99)<80', abortOnFail: true, delayAbortEval: '10s' }],
    });
    expect(errors).toEqual([]);
    expect(thresholds).toHaveLength(2);
    expect(thresholds[0]).toMatchObject({ key: 'send_duration', metric: 'send_duration', tags: {} });
    expect(thresholds[0]?.thresholds[0]).toMatchObject({ abortOnFail: false, delayAbortEvalMs: 0 });
    expect(thresholds[1]).toMatchObject({ metric: 'send_duration', tags: { scenario: 'burst' } });
    expect(thresholds[1]?.thresholds[0]).toMatchObject({
      expr: { op: '<', value: 80, aggregation: { kind: 'p', percentile: 99 } },
      abortOnFail: true,
      delayAbortEvalMs: 10_000,
    });
  });

  test('reports every problem at once, with paths', () => {
    const { errors } = parseThresholdConfig({
      send_duration: ['p(99)<50', 'p99<5'],
      'bad{': ['avg<1'],
      e2e_latency: [{ threshold: 'avg<1', abortOnFail: 'yes', delayAbortEval: 'soon', colour: 'red' }],
      messages_failed: 42,
    });
    expect(errors).toHaveLength(6);
    expect(errors[0]).toMatch(/^thresholds\["send_duration"\]\[1\]: invalid threshold "p99<5"/);
    expect(errors[1]).toMatch(/^thresholds\["bad\{"\]: invalid metric/);
    expect(errors.join('\n')).toMatch(/thresholds\["e2e_latency"\]\[0\]\.colour: unknown option/);
    expect(errors.join('\n')).toMatch(/thresholds\["e2e_latency"\]\[0\]\.abortOnFail: must be true or false/);
    expect(errors.join('\n')).toMatch(/thresholds\["e2e_latency"\]\[0\]\.delayAbortEval: invalid duration/);
    expect(errors.join('\n')).toMatch(/thresholds\["messages_failed"\]: must be a list/);
  });

  test('undefined means no thresholds; a non-object is one error', () => {
    expect(parseThresholdConfig(undefined)).toEqual({ thresholds: [], errors: [] });
    expect(parseThresholdConfig(['p(99)<5']).errors).toHaveLength(1);
  });
});

test('tagsMatch: every filter tag must be present with the same value', () => {
  expect(tagsMatch({}, { scenario: 'a' })).toBe(true);
  expect(tagsMatch({ scenario: 'a' }, { scenario: 'a', topic: 't' })).toBe(true);
  expect(tagsMatch({ scenario: 'a' }, { scenario: 'b' })).toBe(false);
  expect(tagsMatch({ group: 'g' }, { scenario: 'a' })).toBe(false);
});

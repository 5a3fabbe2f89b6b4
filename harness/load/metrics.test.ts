import { expect, test } from 'vitest';
import { parseThresholdConfig } from '../thresholds/index.ts';
import { MetricRegistry } from './metrics.ts';
import { buildSummary, formatSummary, thresholdToAbort } from './summary.ts';

const a = { scenario: 'a', topic: 't' };
const b = { scenario: 'b', topic: 't' };

test('trends: exact avg/min/max, percentiles within HdrHistogram precision, sub-metrics by tag', () => {
  const r = new MetricRegistry();
  for (let i = 1; i <= 1000; i++) r.trend('send_duration', i / 10, a);
  r.trend('send_duration', 500, b);
  expect(r.aggregate('send_duration', {}, { kind: 'count' }, 1000)).toBe(1001);
  expect(r.aggregate('send_duration', a, { kind: 'max' }, 1000)).toBe(100);
  expect(r.aggregate('send_duration', {}, { kind: 'max' }, 1000)).toBe(500);
  expect(r.aggregate('send_duration', a, { kind: 'min' }, 1000)).toBe(0.1);
  expect(r.aggregate('send_duration', a, { kind: 'avg' }, 1000)).toBeCloseTo(50.05, 6);
  expect(r.aggregate('send_duration', a, { kind: 'p', percentile: 99 }, 1000)).toBeCloseTo(99, 0);
  expect(r.aggregate('send_duration', a, { kind: 'med' }, 1000)).toBeCloseTo(50, 0);
  expect(r.aggregate('send_duration', { scenario: 'c' }, { kind: 'avg' }, 1000)).toBeUndefined();
});

test('deltas from workers merge into the same numbers as recording in one place', () => {
  const direct = new MetricRegistry();
  const engine = new MetricRegistry();
  const workers = [new MetricRegistry(), new MetricRegistry()];
  for (let i = 0; i < 2000; i++) {
    const w = workers[i % 2] as MetricRegistry;
    const v = (i * 7919) % 300;
    w.trend('e2e_latency', v, a);
    direct.trend('e2e_latency', v, a);
    w.count('messages_sent', a);
    direct.count('messages_sent', a);
    w.rate('send_failed', i % 10 === 0, a);
    if (i === 999) for (const x of workers) engine.merge(JSON.parse(JSON.stringify(x.takeDelta())));
  }
  for (const x of workers) engine.merge(x.takeDelta());
  expect(workers[0]?.takeDelta().series).toEqual([]);
  for (const p of [50, 90, 99, 99.9]) {
    const agg = { kind: 'p' as const, percentile: p };
    expect(engine.aggregate('e2e_latency', {}, agg, 1)).toBe(direct.aggregate('e2e_latency', {}, agg, 1));
  }
  expect(engine.aggregate('e2e_latency', {}, { kind: 'avg' }, 1)).toBeCloseTo(
    direct.aggregate('e2e_latency', {}, { kind: 'avg' }, 1) as number,
    9,
  );
  expect(engine.total('messages_sent')).toBe(2000);
  expect(engine.aggregate('messages_sent', {}, { kind: 'rate' }, 4000)).toBe(500);
  expect(engine.aggregate('send_failed', {}, { kind: 'rate' }, 1)).toBeCloseTo(0.1, 9);
});

test('summary: k6 threshold table, JSON shape, abortOnFail after delayAbortEval', () => {
  const r = new MetricRegistry();
  for (let i = 0; i < 100; i++) r.trend('send_duration', i < 98 ? 10 : 200, a);
  r.count('messages_failed', a, 0);
  const { thresholds } = parseThresholdConfig({
    send_duration: ['p(50)<50', 'p(99)<100'],
    'send_duration{scenario:a}': [{ threshold: 'max<150', abortOnFail: true, delayAbortEval: '10s' }],
    e2e_latency: ['p(99)<1000'],
  });
  const summary = buildSummary({ registry: r, thresholds, startedMs: 0, elapsedMs: 20_000, scenarios: {} });
  expect(summary.ok).toBe(false);
  expect(summary.thresholds.map((t) => [t.key, t.source, t.ok])).toEqual([
    ['send_duration', 'p(50)<50', true],
    ['send_duration', 'p(99)<100', false],
    ['send_duration{scenario:a}', 'max<150', false],
    ['e2e_latency', 'p(99)<1000', false],
  ]);
  expect(summary.metrics.send_duration?.thresholds).toEqual({ 'p(50)<50': { ok: true }, 'p(99)<100': { ok: false } });
  expect(summary.metrics.send_duration?.values).toMatchObject({ count: 100, max: 200 });
  const text = formatSummary(summary, { color: false });
  expect(text).toMatch(/✓ 'p\(50\)<50' p\(50\)=10\.0\dms/);
  expect(text).toMatch(/✗ 'p\(99\)<100' p\(99\)=200\.\d\dms/);
  expect(text).toContain("✗ 'p(99)<1000' p(99)=no samples");
  expect(thresholdToAbort(r, thresholds, 5_000)).toBeUndefined();
  expect(thresholdToAbort(r, thresholds, 10_000)).toMatchObject({
    key: 'send_duration{scenario:a}',
    source: 'max<150',
  });
});

import { describe, expect, test } from 'vitest';
import { MetricRegistry } from '../load/metrics.ts';
import { parseOptions } from '../load/options.ts';
import { LiveMetrics, MetricsEndpoint } from './exporter.ts';

/** The exposition the drill's endpoint serves, from driver deltas as the load engine receives them. */
const plan = parseOptions({
  scenarios: {
    orders: {
      executor: 'constant-arrival-rate',
      rate: 50,
      duration: '10s',
      preAllocatedVUs: 2,
      role: 'producer',
      message: { topic: 'orders' },
    },
  },
});

function line(text: string, prefix: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(prefix));
}

describe('LiveMetrics', () => {
  test('counters, errors by status and latency buckets come from the deltas; every series starts at zero', async () => {
    const live = new LiveMetrics();
    live.setPlan(plan);
    let text = await live.text();
    expect(line(text, 'mqdrill_load_messages_sent_total{scenario="orders"}')).toMatch(/ 0$/);
    expect(line(text, 'mqdrill_load_send_errors_total{scenario="orders",outcome="unknown",status="none"}')).toMatch(
      / 0$/,
    );
    const driver = new MetricRegistry();
    const tags = { scenario: 'orders', topic: 'orders' };
    for (const ms of [3, 4, 40, 400]) driver.trend('send_duration', ms, tags);
    driver.count('messages_sent', tags, 4);
    driver.count('messages_failed', tags, 1);
    driver.count('send_errors', { ...tags, outcome: 'fail', status: 'code 40001' }, 1);
    live.addDelta(driver.takeDelta());
    text = await live.text();
    expect(line(text, 'mqdrill_load_messages_sent_total{scenario="orders"}')).toMatch(/ 4$/);
    expect(line(text, 'mqdrill_load_send_errors_total{scenario="orders",outcome="fail",status="code 40001"}')).toMatch(
      / 1$/,
    );
    expect(line(text, 'mqdrill_load_send_duration_ms_bucket{le="5",scenario="orders"}')).toMatch(/ 2$/);
    expect(line(text, 'mqdrill_load_send_duration_ms_bucket{le="50",scenario="orders"}')).toMatch(/ 3$/);
    expect(line(text, 'mqdrill_load_send_duration_ms_count{scenario="orders"}')).toMatch(/ 4$/);
  });

  test('the scheduled rate follows the plan; the fault series is 0, 1 while in force, then 0', async () => {
    const live = new LiveMetrics();
    live.setPlan(plan);
    live.setElapsed(1000);
    expect(line(await live.text(), 'mqdrill_load_scheduled_rate{scenario="orders"}')).toMatch(/ 50$/);
    live.setElapsed(11_000);
    expect(line(await live.text(), 'mqdrill_load_scheduled_rate{scenario="orders"}')).toMatch(/ 0$/);
    const series = 'mqdrill_fault_active{fault="latency-broker-0",target="broker-0"}';
    live.faultScheduled('latency-broker-0', 'broker-0');
    expect(line(await live.text(), series)).toMatch(/ 0$/);
    live.faultActive('latency-broker-0', 'broker-0', true);
    expect(line(await live.text(), series)).toMatch(/ 1$/);
    live.faultActive('latency-broker-0', 'broker-0', false);
    expect(line(await live.text(), series)).toMatch(/ 0$/);
  });

  test("two loads at once (capacity's consumers, one step): each engine's clock rates its own plan", async () => {
    const consumers = parseOptions({
      scenarios: {
        billing: {
          executor: 'constant-vus',
          vus: 1,
          duration: '1h',
          role: 'consumer',
          consumer: { group: 'g', topic: 'orders' },
        },
      },
    });
    const live = new LiveMetrics();
    live.setPlan(consumers);
    live.setPlan(plan);
    live.setElapsed(1000, plan);
    // The consumers' engine, 20 s into its run, ticks after the step's: the step's rate stays.
    live.setElapsed(20_000, consumers);
    expect(line(await live.text(), 'mqdrill_load_scheduled_rate{scenario="orders"}')).toMatch(/ 50$/);
    // Without its plan, the last plan set (the step's) would be rated on the consumers' clock.
    live.setElapsed(20_000);
    expect(line(await live.text(), 'mqdrill_load_scheduled_rate{scenario="orders"}')).toMatch(/ 0$/);
  });

  test('the endpoint serves /metrics and answers 404 elsewhere', async () => {
    const live = new LiveMetrics();
    live.gate('lost == 0', 'fail');
    const endpoint = await MetricsEndpoint.start(live);
    try {
      const res = await fetch(`http://${endpoint.address}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      expect(line(text, 'mqdrill_drill_gate{gate="lost == 0",status="fail"}')).toMatch(/ 1$/);
      expect(line(text, 'mqdrill_drill_gate{gate="lost == 0",status="pass"}')).toMatch(/ 0$/);
      const other = await fetch(`http://${endpoint.address}/`, { signal: AbortSignal.timeout(5000) });
      expect(other.status).toBe(404);
    } finally {
      await endpoint.close();
    }
  });
});

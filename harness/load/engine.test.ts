import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { systemClock } from '../../lib/clock.ts';
import { readAllEvents } from '../ledger/index.ts';
import { MemoryBroker } from './driver/memory-client.ts';
import { runLoad } from './engine.ts';
import { NO_ITERATIONS } from './executors/index.ts';
import { type DriverConnection, type DriverLauncher, inlineLauncher } from './launchers.ts';
import type { DriverToEngine } from './protocol.ts';

const target = { endpoint: 'memory', tls: false, namespace: '' };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scenario(consumer: Record<string, unknown>, message: Record<string, unknown> = {}) {
  return {
    scenarios: {
      orders: {
        executor: 'constant-arrival-rate',
        rate: 400,
        duration: '1s',
        preAllocatedVUs: 400,
        role: 'producer',
        message: {
          type: 'FIFO',
          topic: 'orders',
          // FIFO sends one message group in sequence (a VU waits for its group): many groups, evenly used,
          // and VUs enough for the waits keep 400/s flowing on a loaded machine.
          keys: { count: 200, distribution: 'uniform' },
          tags: ['paid'],
          ...message,
        },
      },
      billing: {
        executor: 'constant-vus',
        vus: 2,
        duration: '1s',
        role: 'consumer',
        consumer: { group: 'billing', topic: 'orders', receiveBatchSize: 8, awaitDuration: '100ms', ...consumer },
      },
    },
    drain: { idle: '1500ms', timeout: '20s' },
    thresholds: {
      send_duration: ['p(99)<1000'],
      'messages_failed{scenario:orders}': ['count==0'],
      e2e_latency: ['max<0'],
    },
  };
}

test('produce and consume through the engine: every acked send is received, summary and ledger agree', async () => {
  const out = mkdtempSync(join(tmpdir(), 'mqdrill-load-'));
  dirs.push(out);
  const broker = new MemoryBroker(systemClock, { maxAttempts: 16, sendLatencyMs: 1 });
  const progress: string[] = [];
  const result = await runLoad(scenario({}), target, {
    launcher: inlineLauncher(systemClock, broker),
    out,
    runId: 'test',
    onProgress: (line) => progress.push(line),
    progressIntervalMs: 500,
    metricsIntervalMs: 200,
  });
  expect(result.failure).toBeUndefined();
  // e2e max<0 cannot hold: the run's exit code is k6's 99.
  expect(result.exitCode).toBe(99);
  expect(result.summary.thresholds.map((t) => t.ok)).toEqual([true, true, false]);
  const m = result.summary.metrics;
  // Open model: every arrival is either sent or counted as dropped (a stalled event loop in CI drops a few).
  const sent = m.messages_sent?.values.count ?? 0;
  expect(sent + (m.dropped_iterations?.values.count ?? 0)).toBe(400);
  expect(sent).toBeGreaterThan(380);
  expect(m.messages_acked?.values.count).toBe(sent);
  expect(m.messages_received?.values.count).toBe(sent);
  expect(m.messages_consumed?.values.count).toBe(sent);
  expect(m.send_delay?.values.count).toBe(sent);
  expect(progress.length).toBeGreaterThan(1);
  expect(progress[0]).toMatch(/^running .* sent \d+/);
  expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).metrics.messages_sent.values.count).toBe(sent);

  const events = (await readAllEvents(result.ledgerPaths)).map((x) => x.event);
  const acked = new Set(events.filter((e) => e.t === 'sc' && e.r === 'ok').map((e) => (e as { id: string }).id));
  const received = new Set(events.filter((e) => e.t === 'rm').map((e) => (e as { id: string }).id));
  expect(acked.size).toBe(sent);
  expect([...acked].filter((id) => !received.has(id))).toEqual([]);
  const phases = events.filter((e) => e.t === 'ph').map((e) => `${(e as { n: string }).n}:${(e as { s: string }).s}`);
  expect(phases).toEqual(['load:start', 'load:end', 'drain:start', 'drain:end']);
  const sends = events.filter((e) => e.t === 'si') as Array<{ g?: string; q?: number }>;
  // Per message group, sequences are 1, 2, 3, ... in send order.
  const lastSeq = new Map<string, number>();
  for (const s of sends) {
    expect(s.q).toBe((lastSeq.get(s.g as string) ?? 0) + 1);
    lastSeq.set(s.g as string, s.q as number);
  }
}, 30_000);

test('a 20% consumer failure share shows as redeliveries; poison messages dead-letter after maxAttempts', async () => {
  const out = mkdtempSync(join(tmpdir(), 'mqdrill-load-'));
  dirs.push(out);
  const broker = new MemoryBroker(systemClock, { maxAttempts: 3 });
  const result = await runLoad(
    scenario(
      { failureShare: 0.2, retryDelay: '50ms', maxAttempts: 3 },
      { type: 'NORMAL', keys: undefined, poisonShare: 0.05 },
    ),
    target,
    { launcher: inlineLauncher(systemClock, broker), out, metricsIntervalMs: 200 },
  );
  expect(result.failure).toBeUndefined();
  const m = result.summary.metrics;
  const redelivered = m.messages_redelivered?.values.count ?? 0;
  const deadLettered = m.messages_dead_lettered?.values.count ?? 0;
  const events = (await readAllEvents(result.ledgerPaths)).map((x) => x.event);
  const poison = events.filter((e) => e.t === 'si' && (e as { po?: 1 }).po === 1).length;
  expect(poison).toBeGreaterThan(5);
  // Poison messages always dead-letter; a healthy one that fails all three attempts (p = 0.008) does too.
  expect(deadLettered).toBeGreaterThanOrEqual(poison);
  expect(broker.group('billing')?.deadLetters.length).toBe(deadLettered);
  // Each healthy message fails its first attempt with p=0.2, poison ones fail three times.
  expect(redelivered).toBeGreaterThan(0.1 * 380);
  expect(events.filter((e) => e.t === 'ni').length).toBe(m.messages_nacked?.values.count);
  expect(events.filter((e) => e.t === 'rm' && (e as { a: number }).a > 1).length).toBe(redelivered);
  expect(m.messages_consumed?.values.count).toBe((m.messages_acked?.values.count ?? 0) - deadLettered);
}, 30_000);

test('a consumer that cannot start (the broker restarting) is not idle: the drain waits, then drains', async () => {
  const out = mkdtempSync(join(tmpdir(), 'mqdrill-load-'));
  dirs.push(out);
  // The consumer's client cannot start for the first 2.5 s (the producers are done after 0.5 s): with "nothing
  // received for drain.idle" alone the drain ended after 0.5 s of failed starts and nothing was consumed.
  const unavailableUntilMs = systemClock.monotonicMs() + 2500;
  class RestartingBroker extends MemoryBroker {
    override async simpleConsumer(...args: Parameters<MemoryBroker['simpleConsumer']>) {
      if (systemClock.monotonicMs() < unavailableUntilMs) throw new Error('14 UNAVAILABLE: broker restarting');
      return super.simpleConsumer(...args);
    }
  }
  const broker = new RestartingBroker(systemClock, { maxAttempts: 16 });
  const plan = scenario({}, { type: 'NORMAL' });
  const producer = { ...plan.scenarios.orders, rate: 100, duration: '500ms', preAllocatedVUs: 20 };
  const consumer = { ...plan.scenarios.billing, vus: 1, duration: '500ms' };
  const result = await runLoad(
    { scenarios: { orders: producer, billing: consumer }, drain: { idle: '500ms', timeout: '20s' } },
    target,
    { launcher: inlineLauncher(systemClock, broker), out, runId: 'test', metricsIntervalMs: 100 },
  );
  expect(result.failure).toBeUndefined();
  const m = result.summary.metrics;
  const acked = m.messages_acked?.values.count ?? 0;
  expect(acked).toBeGreaterThan(0);
  expect(m.messages_consumed?.values.count).toBe(acked);
  expect(m.receive_calls?.values.count).toBeGreaterThan(1);
}, 30_000);

/**
 * Scripted drivers (no client): a transaction producer that says `schedule-over` at once, awaits one check-back
 * which it answers a second later, and answers `done` only when stopped; a consumer that answers `done` when
 * stopped. Each records what it did, in order.
 */

function scriptedLauncher(stops: string[]): DriverLauncher {
  return (driverId) => {
    const conn: DriverConnection = {
      onMessage: () => {},
      onExit: () => {},
      terminate: async () => {},
      send: (m) => {
        const answer = (x: DriverToEngine) => queueMicrotask(() => conn.onMessage(x));
        if (m.type === 'plan') answer({ type: 'ready', driverId, client: 'scripted' });
        if (m.type === 'start' && driverId.startsWith('checkout')) {
          const counter = (name: string) => ({ series: [{ name, tags: { scenario: 'checkout' }, add: 1 }] });
          const metrics = (name: string) => ({ type: 'metrics' as const, driverId, wallMs: 0, delta: counter(name) });
          answer({ ...metrics('transactions_awaiting_check_back'), progress: { ...NO_ITERATIONS, activeVUs: 0 } });
          answer({ type: 'schedule-over', driverId });
          setTimeout(() => {
            stops.push(`${driverId}: answered a check-back`);
            answer({ ...metrics('transactions_checked_back'), progress: { ...NO_ITERATIONS, activeVUs: 0 } });
          }, 1000);
        }
        if (m.type !== 'stop') return;
        stops.push(`${driverId}: ${m.reason}`);
        const result = NO_ITERATIONS;
        answer({ type: 'done', driverId, result, delta: { series: [] }, ledgerPath: null, ledgerRecords: 0 });
      },
    };
    return conn;
  };
}

test('a producer past schedule-over does not hold the load phase; the drain awaits its check-back', async () => {
  const out = mkdtempSync(join(tmpdir(), 'mqdrill-load-'));
  dirs.push(out);
  const stops: string[] = [];
  const options = {
    scenarios: {
      checkout: {
        executor: 'constant-arrival-rate',
        rate: 1,
        duration: '100ms',
        preAllocatedVUs: 1,
        role: 'producer',
        message: { type: 'TRANSACTION', topic: 'tx', transaction: { commit: 0.5, rollback: 0.5 } },
      },
      ledger: {
        executor: 'constant-vus',
        vus: 1,
        duration: '100ms',
        role: 'consumer',
        consumer: { group: 'ledger', topic: 'tx' },
      },
    },
    drain: { idle: '200ms', timeout: '20s' },
  };
  const result = await runLoad(options, target, { launcher: scriptedLauncher(stops), out, runId: 'test' });
  expect(result.failure).toBeUndefined();
  // Before schedule-over the engine never stopped a producer whose schedule ended: it waited for its done. The
  // drain (idle after 200 ms) went on until the awaited check-back was answered.
  expect(stops[0]).toBe('checkout-0: answered a check-back');
  expect(stops.slice(1).sort()).toEqual(['checkout-0: drained', 'ledger-0: drained']);
  const engineLedger = result.ledgerPaths.filter((p) => p.endsWith('ledger-engine.ndjson'));
  const events = (await readAllEvents(engineLedger)).map((x) => x.event);
  const phases = events.filter((e) => e.t === 'ph').map((e) => `${(e as { n: string }).n}:${(e as { s: string }).s}`);
  expect(phases).toEqual(['load:start', 'load:end', 'drain:start', 'drain:end']);
}, 120_000);

/**
 * A load driver against the bundled broker (a real `mqdrill broker` process), shared by the node and Go driver tests:
 * produce and consume 10,000 messages and check the ledger with zero lost; then a 20% consumer failure share with
 * poison messages and a low maxAttempts group, whose retries and dead-letters must show in the ledger, the metrics
 * and the broker's own backlog.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkLedgers } from '../checks/engine.ts';
import { readAllEvents } from '../ledger/index.ts';
import { runLoad } from './engine.ts';
import type { DriverLauncher } from './launchers.ts';

const cli = resolve(import.meta.dirname, '../../bin/mqdrill.mjs');

export interface LoadTestBroker {
  dir: string;
  adminPost(route: string, body: unknown): Promise<void>;
  backlog(group: string): Promise<{ topic: string; ready: number; inflight: number; retry: number; dlq: number }[]>;
  target(): { endpoint: string; tls: boolean; namespace: string };
  stop(): Promise<void>;
}

/** A `mqdrill broker` process on free ports with its own data folder; stop() ends it and removes the folder. */
export async function startLoadTestBroker(prefix: string): Promise<LoadTestBroker> {
  const dir = mkdtempSync(join(tmpdir(), `mqdrill-load-${prefix}-`));
  const readyFile = join(dir, 'ready.json');
  const logs: string[] = [];
  const args = [cli, 'broker', '--data', join(dir, 'data'), '--port', '0', '--ready-file', readyFile];
  const broker: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  broker.stdout?.on('data', (d) => logs.push(String(d)));
  broker.stderr?.on('data', (d) => logs.push(String(d)));
  const deadline = Date.now() + 20_000;
  while (!existsSync(readyFile)) {
    if (broker.exitCode !== null || Date.now() > deadline) throw new Error(`broker did not start:\n${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const { grpcPort } = JSON.parse(readFileSync(readyFile, 'utf8')) as { grpcPort: number };
  const base = `http://127.0.0.1:${grpcPort}`; // the admin API shares the gRPC port
  return {
    dir,
    async adminPost(route, body) {
      const res = await fetch(`${base}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${await res.text()}`);
    },
    async backlog(group) {
      const res = await fetch(`${base}/groups/${group}/backlog`);
      return ((await res.json()) as { topics: never[] }).topics;
    },
    target: () => ({ endpoint: `127.0.0.1:${grpcPort}`, tls: false, namespace: '' }),
    async stop() {
      if (broker.exitCode === null) {
        broker.kill('SIGTERM');
        await new Promise((r) => broker.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Produce 10,000 and consume 10,000 through one driver; the ledger must show every acked send received. */
export async function produceAndConsumeTenThousand(b: LoadTestBroker, launcher: DriverLauncher, runId: string) {
  await b.adminPost('/topics', { name: 'it-orders', queues: 4, type: 'NORMAL' });
  await b.adminPost('/groups', { name: 'it-billing', fifo: false, maxAttempts: 16 });
  const out = join(b.dir, 'run-10k');
  const result = await runLoad(
    {
      scenarios: {
        orders: {
          executor: 'shared-iterations',
          vus: 64,
          iterations: 10_000,
          maxDuration: '3m',
          role: 'producer',
          message: {
            topic: 'it-orders',
            tags: ['paid', 'shipped'],
            keys: { count: 1000, distribution: 'zipf' },
            bodySizeBytes: 1024,
          },
        },
        billing: {
          executor: 'constant-vus',
          vus: 4,
          duration: '1s',
          role: 'consumer',
          consumer: { group: 'it-billing', topic: 'it-orders', receiveBatchSize: 32, awaitDuration: '1s' },
        },
      },
      drain: { idle: '3s', timeout: '2m' },
      thresholds: { 'messages_failed{scenario:orders}': ['count==0'], messages_unknown: ['count==0'] },
    },
    b.target(),
    { launcher, out, runId },
  );
  expect(result.failure).toBeUndefined();
  expect(result.exitCode).toBe(0);
  const m = result.summary.metrics;
  expect(m.messages_acked?.values.count).toBe(10_000);
  expect(m.messages_consumed?.values.count).toBeGreaterThanOrEqual(10_000);
  const events = (await readAllEvents(result.ledgerPaths)).map((x) => x.event);
  const acked = new Set(events.flatMap((e) => (e.t === 'sc' && e.r === 'ok' ? [e.id] : [])));
  const received = new Set(events.flatMap((e) => (e.t === 'rm' && e.id !== undefined ? [e.id] : [])));
  expect(acked.size).toBe(10_000);
  expect([...acked].filter((id) => !received.has(id))).toEqual([]);
  const check = await checkLedgers(result.ledgerPaths);
  const lost = check.anomalies.find((a) => a.name === 'lost');
  expect(lost).toMatchObject({ verdict: 'pass', count: 0 });
  expect(check.anomalies.filter((a) => a.verdict !== 'pass').map((a) => a.name)).toEqual([]);
  expect((await b.backlog('it-billing')).every((t) => t.ready + t.inflight + t.retry === 0)).toBe(true);
}

/** A 20% consumer failure share with poison messages: retries and dead-letters in ledger, metrics and broker. */
export async function failureShareWithPoison(b: LoadTestBroker, launcher: DriverLauncher, runId: string) {
  await b.adminPost('/topics', { name: 'it-retry', queues: 2, type: 'NORMAL' });
  await b.adminPost('/groups', { name: 'it-retry-cg', fifo: false, maxAttempts: 3 });
  await b.adminPost('/groups', { name: 'it-retry-cg-dlq-scan', fifo: false, maxAttempts: 16 });
  const out = join(b.dir, 'run-retry');
  const result = await runLoad(
    {
      scenarios: {
        orders: {
          executor: 'shared-iterations',
          vus: 32,
          iterations: 1000,
          role: 'producer',
          message: { topic: 'it-retry', poisonShare: 0.05 },
        },
        billing: {
          executor: 'constant-vus',
          vus: 2,
          duration: '1s',
          role: 'consumer',
          consumer: {
            group: 'it-retry-cg',
            topic: 'it-retry',
            awaitDuration: '1s',
            failureShare: 0.2,
            retryDelay: '1s',
            maxAttempts: 3,
            deadLetterScanGroup: 'it-retry-cg-dlq-scan',
          },
        },
      },
      drain: { idle: '5s', timeout: '2m' },
    },
    b.target(),
    { launcher, out, runId },
  );
  expect(result.failure).toBeUndefined();
  const m = result.summary.metrics;
  const events = (await readAllEvents(result.ledgerPaths)).map((x) => x.event);
  const poison = events.filter((e) => e.t === 'si' && e.po === 1).length;
  const redeliveries = events.filter((e) => e.t === 'rm' && e.a > 1).length;
  const nacks = events.filter((e) => e.t === 'ni').length;
  const dlqRecords = events.filter((e) => e.t === 'dlq').length;
  const deadLettered = m.messages_dead_lettered?.values.count ?? 0;
  expect(poison).toBeGreaterThan(20);
  expect(redeliveries).toBeGreaterThan(200);
  expect(m.messages_redelivered?.values.count).toBe(redeliveries);
  expect(m.messages_nacked?.values.count).toBe(nacks);
  expect(deadLettered).toBeGreaterThanOrEqual(poison);
  expect(dlqRecords).toBe(deadLettered);
  const broker = await b.backlog('it-retry-cg');
  expect(broker.find((t) => t.topic === 'it-retry')?.dlq).toBe(deadLettered);
  const check = await checkLedgers(result.ledgerPaths);
  expect(check.anomalies.find((a) => a.name === 'dead-letter')?.verdict).toBe('pass');
  expect(check.anomalies.find((a) => a.name === 'lost')).toMatchObject({ verdict: 'pass', count: 0 });
}

/**
 * FIFO: one message group is sent in sequence (each send starts after the previous send of its group completed, in
 * the producer's own ledger), concurrency comes from many groups; every ledger measures its clock offset to the
 * drill's at open and close (`ck` records).
 */
export async function fifoInSequenceWithClockRecords(b: LoadTestBroker, launcher: DriverLauncher, runId: string) {
  await b.adminPost('/topics', { name: 'it-fifo', queues: 4, type: 'FIFO' });
  await b.adminPost('/groups', { name: 'it-fifo-cg', fifo: true, maxAttempts: 16 });
  const out = join(b.dir, 'run-fifo');
  const result = await runLoad(
    {
      scenarios: {
        orders: {
          executor: 'shared-iterations',
          vus: 32,
          iterations: 600,
          maxDuration: '1m',
          role: 'producer',
          message: { type: 'FIFO', topic: 'it-fifo', keys: { count: 8, distribution: 'uniform' }, bodySizeBytes: 64 },
        },
        billing: {
          executor: 'constant-vus',
          vus: 2,
          duration: '1s',
          role: 'consumer',
          consumer: { group: 'it-fifo-cg', topic: 'it-fifo', receiveBatchSize: 16, awaitDuration: '1s' },
        },
      },
      drain: { idle: '2s', timeout: '1m' },
    },
    b.target(),
    { launcher, out, runId },
  );
  expect(result.failure).toBeUndefined();
  const driverLedgers = result.ledgerPaths.filter((path) => !path.endsWith('ledger-engine.ndjson'));
  expect(driverLedgers.length).toBeGreaterThanOrEqual(2);
  for (const path of driverLedgers) {
    const events = (await readAllEvents([path])).map((x) => x.event);
    const clocks = events.filter((e) => e.t === 'ck');
    expect(clocks.length, `${path}: clock records at open and close`).toBe(2);
    for (const c of clocks) expect(c.t === 'ck' && Math.abs(c.off) < 1000 && c.err >= 0).toBe(true);
  }
  const producerEvents = (await readAllEvents(driverLedgers)).map((x) => x.event);
  const groupOf = new Map<string, string>();
  const inFlight = new Map<string, string>(); // message group -> id of its send in flight
  let overlaps = 0;
  let sends = 0;
  for (const e of producerEvents) {
    if (e.t === 'si' && e.g !== undefined) {
      sends++;
      groupOf.set(e.id, e.g);
      if (inFlight.has(e.g)) overlaps++;
      inFlight.set(e.g, e.id);
    } else if (e.t === 'sc' && inFlight.get(groupOf.get(e.id) ?? '') === e.id) {
      inFlight.delete(groupOf.get(e.id) as string);
    }
  }
  expect(sends).toBe(600);
  expect(overlaps).toBe(0);
}

export function describeDriverAgainstBroker(label: string, launcher: () => DriverLauncher, prefix: string): void {
  describe(`${label} against the bundled broker`, () => {
    let b: LoadTestBroker;
    beforeAll(async () => {
      b = await startLoadTestBroker(prefix);
    });
    afterAll(() => b?.stop());
    test(
      'produce 10,000 and consume 10,000: every acked send is received, the checkers find nothing lost',
      () => produceAndConsumeTenThousand(b, launcher(), `${prefix}-10k`),
      240_000,
    );
    test(
      '20% consumer failures retry; poison dead-letters after maxAttempts: ledger, metrics, broker',
      () => failureShareWithPoison(b, launcher(), `${prefix}-retry`),
      240_000,
    );
    test(
      'FIFO: one message group is sent in sequence, many groups at once; ledgers carry clock records',
      () => fifoInSequenceWithClockRecords(b, launcher(), `${prefix}-fifo`),
      120_000,
    );
  });
}

/**
 * Acknowledgements and delivery attempts across a broker restart, with the official Node.js client against a real
 * broker process: a graceful stop (SIGTERM, as `docker stop` sends) while consumers receive and ack keeps every ack the
 * broker answered OK, so no acknowledged message is delivered again or dead-lettered after the restart; and a restart
 * spends no attempt: a message in flight on its last attempt goes out again at that attempt (not to the DLQ), while
 * one its consumer gave back on its last attempt goes to the DLQ.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { afterEach, describe, expect, test } from 'vitest';
import {
  admin,
  type BrokerProcess,
  shutdownAll,
  spawnBroker,
  startProducer,
  startSimpleConsumer,
  waitForExit,
} from '../../test/kit/index.ts';

interface BacklogRow {
  ready: number;
  inflight: number;
  dlq: number;
}

let dataDir: string | undefined;
let broker: BrokerProcess | undefined;

afterEach(() => {
  broker?.child.kill('SIGKILL');
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Waits (bounded) until check() holds. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Receives and acks until told to stop; every message whose ack the broker answered OK goes into `acked`. */
function ackLoop(consumer: SimpleConsumer, acked: Set<string>, running: () => boolean): Promise<void> {
  return (async () => {
    while (running()) {
      const batch = await consumer.receive(16, 20_000).catch(() => []);
      for (const m of batch) {
        try {
          await consumer.ack(m);
          acked.add(m.messageId);
        } catch {
          // not acknowledged (the broker is stopping): owed again after the restart
        }
      }
    }
  })();
}

async function sendAll(endpoints: string, topic: string, count: number): Promise<void> {
  const producer = await startProducer(endpoints, [topic]);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await producer.send({ topic, body: Buffer.from(`m${i}`) });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  await shutdownAll(producer);
}

describe('broker process: acknowledgements across a restart', () => {
  test('SIGTERM amid receives and acks: no acknowledged message is delivered again or dead-lettered', async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-acks-'));
    broker = await spawnBroker(dataDir);
    await admin(broker.endpoints, 'POST', '/topics', { name: 'acks', queues: 4 });
    await admin(broker.endpoints, 'POST', '/groups', { name: 'ackers', maxAttempts: 2 });
    const total = 400;
    await sendAll(broker.endpoints, 'acks', total);
    const endpoints = broker.endpoints;
    const consumers = await Promise.all(
      [1, 2].map(() => startSimpleConsumer(endpoints, 'ackers', { acks: '*' }, 1000)),
    );
    const acked = new Set<string>();
    let running = true;
    const loops = consumers.map((c) => ackLoop(c, acked, () => running));
    await until(() => acked.size >= total / 3, 60_000, 'a third of the messages acknowledged');
    broker.child.kill('SIGTERM');
    const code = await waitForExit(broker.child, 30_000);
    running = false;
    await Promise.all(loops);
    await shutdownAll(...consumers);
    expect(code, broker.logs.join('')).toBe(0);
    expect(acked.size).toBeLessThan(total);

    broker = await spawnBroker(dataDir);
    const again = await startSimpleConsumer(broker.endpoints, 'ackers', { acks: '*' }, 1000);
    const redelivered = new Set<string>();
    const endpointsAfter = broker.endpoints;
    const backlog = async () => ((await admin(endpointsAfter, 'GET', '/backlog')) as { backlog: BacklogRow[] }).backlog;
    for (let round = 0; round < 100; round++) {
      const batch = await again.receive(32, 20_000);
      for (const m of batch) {
        redelivered.add(m.messageId);
        await again.ack(m);
      }
      if (batch.length === 0 && (await backlog()).every((b) => b.ready === 0 && b.inflight === 0)) break;
    }
    await shutdownAll(again);
    expect([...redelivered].filter((id) => acked.has(id))).toEqual([]);
    // An ack the broker took whose answer the stop cut off is in neither set; nothing is left over either way.
    expect(acked.size + redelivered.size).toBeLessThanOrEqual(total);
    expect((await backlog()).map(({ ready, inflight, dlq }) => ({ ready, inflight, dlq }))).toEqual([
      { ready: 0, inflight: 0, dlq: 0 },
    ]);
  }, 180_000);

  test('SIGTERM on last attempts: the one in flight goes out again, the one given back to the DLQ', async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-last-'));
    broker = await spawnBroker(dataDir);
    await admin(broker.endpoints, 'POST', '/topics', { name: 'last', queues: 1 });
    await admin(broker.endpoints, 'POST', '/groups', { name: 'lasts', maxAttempts: 2 });
    await admin(broker.endpoints, 'POST', '/groups', { name: 'dlq-reader' });
    const producer = await startProducer(broker.endpoints, ['last']);
    for (const body of ['held', 'given-back']) await producer.send({ topic: 'last', body: Buffer.from(body) });
    await shutdownAll(producer);
    const consumer = await startSimpleConsumer(broker.endpoints, 'lasts', { last: '*' }, 1000);
    // Attempt 1 is given back (1 s); attempt 2 is the last one.
    const byBody = new Map<string, MessageView>();
    for (let round = 0; round < 20 && byBody.size < 2; round++) {
      for (const m of await consumer.receive(2, 60_000)) {
        if (m.deliveryAttempt === 1) await consumer.changeInvisibleDuration(m, 1_000);
        else byBody.set(m.body.toString(), m);
      }
    }
    expect([...byBody.values()].map((m) => m.deliveryAttempt)).toEqual([2, 2]);
    await consumer.changeInvisibleDuration(byBody.get('given-back') as MessageView, 60_000);
    broker.child.kill('SIGTERM');
    expect(await waitForExit(broker.child, 30_000), broker.logs.join('')).toBe(0);
    await shutdownAll(consumer);

    broker = await spawnBroker(dataDir);
    const again = await startSimpleConsumer(broker.endpoints, 'lasts', { last: '*' }, 1000);
    const after: string[] = [];
    for (let round = 0; round < 5 && after.length === 0; round++) {
      for (const m of await again.receive(2, 60_000)) {
        after.push(`${m.body.toString()}@${m.deliveryAttempt}`);
        await again.ack(m);
      }
    }
    expect(after).toEqual(['held@2']);
    const dlq = await startSimpleConsumer(broker.endpoints, 'dlq-reader', { '%DLQ%lasts': '*' }, 1000);
    const dead: string[] = [];
    for (let round = 0; round < 10 && dead.length === 0; round++) {
      for (const m of await dlq.receive(8, 60_000)) dead.push(m.body.toString());
    }
    await shutdownAll(again, dlq);
    expect(dead).toEqual(['given-back']);
  }, 180_000);
});

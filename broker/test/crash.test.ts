import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

let dataDir: string;
let broker: BrokerProcess | undefined;

afterEach(() => {
  broker?.child.kill('SIGKILL');
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('broker process: durability and lifecycle', () => {
  test('sync flush: SIGKILL amid 20,000 sends, restart, drain: every acknowledged send is delivered', async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-crash-'));
    broker = await spawnBroker(dataDir, ['--flush', 'sync']);
    await admin(broker.endpoints, 'POST', '/topics', { name: 'crash', queues: 4 });
    await admin(broker.endpoints, 'POST', '/groups', { name: 'after-crash' });
    const producer = await startProducer(broker.endpoints, ['crash']);
    const acked = new Set<string>();
    const total = 20_000;
    const concurrency = 64;
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        try {
          const receipt = await producer.send({ topic: 'crash', body: Buffer.from(`m${i}`.padEnd(256, '.')) });
          acked.add(receipt.messageId);
        } catch {
          // sends in flight when the broker dies fail or time out: not acknowledged, so not owed
        }
        if (!killed && acked.size >= total / 2) {
          killed = true;
          broker?.child.kill('SIGKILL');
        }
        if (killed && broker?.child.exitCode !== null) return;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await waitForExit(broker.child);
    await shutdownAll(producer);
    expect(killed).toBe(true);
    expect(acked.size).toBeGreaterThanOrEqual(total / 2);

    broker = await spawnBroker(dataDir, ['--flush', 'sync']);
    const consumer = await startSimpleConsumer(broker.endpoints, 'after-crash', { crash: '*' });
    const delivered = new Set<string>();
    for (let round = 0; round < 2000 && delivered.size < acked.size; round++) {
      const batch = await consumer.receive(32, 30_000);
      if (batch.length === 0 && round > 10) break;
      for (const m of batch) {
        delivered.add(m.messageId);
        await consumer.ack(m);
      }
    }
    const lost = [...acked].filter((id) => !delivered.has(id));
    expect(lost).toEqual([]);
    await shutdownAll(consumer);
  }, 180_000);

  test('SIGTERM stops gracefully (exit 0) and a restart keeps topics, messages and group offsets', async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-term-'));
    const t0 = performance.now();
    broker = await spawnBroker(dataDir);
    const startMs = performance.now() - t0;
    await admin(broker.endpoints, 'POST', '/topics', { name: 'kept', queues: 2 });
    await admin(broker.endpoints, 'POST', '/groups', { name: 'kept-group' });
    const producer = await startProducer(broker.endpoints, ['kept']);
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'kept', body: Buffer.from(`k${i}`) });
    const consumer = await startSimpleConsumer(broker.endpoints, 'kept-group', { kept: '*' });
    const first = await consumer.receive(4, 15_000);
    for (const m of first) await consumer.ack(m);
    await shutdownAll(producer, consumer);
    broker.child.kill('SIGTERM');
    expect(await waitForExit(broker.child)).toBe(0);
    expect(broker.logs.join('')).toMatch(/broker stopped/);

    broker = await spawnBroker(dataDir);
    const topics = (await admin(broker.endpoints, 'GET', '/topics')) as {
      topics: Array<{ name: string; messages: number }>;
    };
    expect(topics.topics.find((t) => t.name === 'kept')?.messages).toBe(10);
    const again = await startSimpleConsumer(broker.endpoints, 'kept-group', { kept: '*' });
    const rest: string[] = [];
    for (let round = 0; round < 10 && rest.length < 10 - first.length; round++) {
      for (const m of await again.receive(32, 15_000)) {
        rest.push(m.messageId);
        await again.ack(m);
      }
    }
    expect(rest).toHaveLength(10 - first.length);
    expect(rest.some((id) => first.some((m) => m.messageId === id))).toBe(false);
    await shutdownAll(again);
    // Start-up budget is a design goal (< 2 s on an empty data dir); recorded here, not asserted as a timing test.
    console.log(`broker process ready in ${Math.round(startMs)} ms (includes node + tsx start)`);
  });
});

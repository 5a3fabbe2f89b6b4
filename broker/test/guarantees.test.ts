import type { MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { Producer } from 'rocketmq-client-nodejs';
import { afterEach, describe, expect, test } from 'vitest';
import { seededRandom } from '../../lib/random.ts';
import {
  quietLogger,
  shutdownAll,
  startProducer,
  startSimpleConsumer,
  startTestBroker,
  stopTestBroker,
  type TestBroker,
} from '../../test/kit/index.ts';
import { defaultBrokerConfig, startBroker } from '../server.ts';

const COMMIT = 1;
const ROLLBACK = 2;
const topics = [
  { name: 'fifo-load', queues: 8, type: 'FIFO' as const },
  { name: 'delay-load', queues: 4, type: 'DELAY' as const },
  { name: 'txn-load', queues: 4, type: 'TRANSACTION' as const },
];
const groups = [{ name: 'fifo-load-g', fifo: true }, { name: 'delay-load-g' }, { name: 'txn-load-g' }];

let b: TestBroker | undefined;
afterEach(async () => {
  await stopTestBroker(b);
  b = undefined;
});

/** Sends with bounded concurrency; returns what each send resolved to. */
async function sendAll<T>(count: number, concurrency: number, send: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await send(i);
      }
    }),
  );
  return out;
}

async function restart(current: TestBroker): Promise<TestBroker> {
  await current.close();
  const running = await startBroker(
    { ...defaultBrokerConfig, dataDir: current.dataDir, port: 0, topics, groups, longPollingMinMs: 0 },
    current.clock,
  );
  return { ...running, clock: current.clock, dataDir: current.dataDir, endpoints: `127.0.0.1:${running.port}` };
}

// These consumers poll 200-500 ms between clock jumps; lenient long polling (longPollingMinMs 0) keeps them fast.
describe('broker guarantees under churn', () => {
  test('fifo: 10,000 messages, 100 groups, consumers dropped at random: no order violation, none lost', async () => {
    b = await startTestBroker({ topics, groups, longPollingMinMs: 0 });
    const broker = b;
    const producer = await startProducer(broker.endpoints, ['fifo-load']);
    const total = 10_000;
    await sendAll(total, 32, (i) =>
      producer.send({
        topic: 'fifo-load',
        messageGroup: `order-${i % 100}`,
        body: Buffer.from(String(Math.floor(i / 100))),
      }),
    );
    const random = seededRandom(7);
    const acked = new Map<string, number>(); // message group -> highest sequence acked
    const done = new Set<string>();
    let violations = 0;
    let consumer: SimpleConsumer | undefined;
    for (let round = 0; round < 2000 && done.size < total; round++) {
      consumer ??= await startSimpleConsumer(broker.endpoints, 'fifo-load-g', { 'fifo-load': '*' }, 200);
      const batch: MessageView[] = await consumer.receive(32, 10_000);
      if (batch.length === 0) broker.clock.advance(11_000); // let abandoned batches become visible again
      for (const m of batch) {
        const seq = Number(m.body.toString());
        const group = m.messageGroup as string;
        if (seq > (acked.get(group) ?? -1) + 1) violations++; // n+1 delivered before n was acked
        if (random.next() < 0.005) {
          // "Kill" this consumer: drop it with its batch in flight, no ack, no goodbye.
          consumer = undefined;
          break;
        }
        await consumer.ack(m);
        acked.set(group, Math.max(acked.get(group) ?? -1, seq));
        done.add(`${group}/${seq}`);
      }
    }
    expect(violations).toBe(0);
    expect(done.size).toBe(total);
    await shutdownAll(producer, consumer);
  });

  test('delay: 0 early deliveries of 10,000 messages with random delays, across a broker restart', async () => {
    b = await startTestBroker({ topics, groups, longPollingMinMs: 0 });
    const producer = await startProducer(b.endpoints, ['delay-load']);
    const random = seededRandom(11);
    const dueById = new Map<string, number>();
    const now = b.clock.wallMs();
    await sendAll(10_000, 32, async () => {
      const due = now + random.int(60_000, 180_000); // far enough that none is due before the restart
      const r = await (producer as Producer).send({
        topic: 'delay-load',
        deliveryTimestamp: new Date(due),
        body: Buffer.from('d'),
      });
      dueById.set(r.messageId, due);
    });
    await shutdownAll(producer);
    expect((b as TestBroker).broker.delayTimer.pendingCount).toBe(10_000);
    b = await restart(b);
    expect(b.broker.delayTimer.pendingCount).toBe(10_000);
    const consumer = await startSimpleConsumer(b.endpoints, 'delay-load-g', { 'delay-load': '*' }, 200);
    let early = 0;
    const seen = new Set<string>();
    for (let step = 0; step < 60 && seen.size < 10_000; step++) {
      if (step < 40) b.clock.advance(5_000); // 200 s in all, then a few rounds for moves still under way
      // Drain what is due; a short batch means caught up (real time keeps making a few more due meanwhile).
      for (
        let batch = await consumer.receive(32, 10_000), more = true;
        more;
        batch = await consumer.receive(32, 10_000)
      ) {
        more = batch.length === 32;
        for (const m of batch) {
          if ((dueById.get(m.messageId) ?? 0) > b.clock.wallMs()) early++;
          seen.add(m.messageId);
        }
        await Promise.all(batch.map((m) => consumer.ack(m)));
      }
    }
    expect(early).toBe(0);
    expect(seen.size).toBe(10_000);
    await shutdownAll(consumer);
  }, 180_000);

  test('transactions: nothing rolled back delivered, everything committed is, across a restart', async () => {
    b = await startTestBroker({ topics, groups, longPollingMinMs: 0, transactions: { checkFirstMs: 6_000 } });
    const decide = (body: string) => (body.startsWith('commit') ? COMMIT : ROLLBACK);
    const producerOn = async (endpoints: string) => {
      const p = new Producer({
        namespace: '',
        logger: quietLogger,
        endpoints,
        topics: ['txn-load'],
        // biome-ignore lint/suspicious/noExplicitAny: the client types the answer as its protobuf enum.
        checker: { check: async (m: MessageView) => decide(m.body.toString()) as any },
      });
      await p.startup();
      return p;
    };
    const producer = await producerOn(b.endpoints);
    const committed = new Set<string>();
    const rolledBack = new Set<string>();
    await sendAll(300, 16, async (i) => {
      const body = `${i % 2 ? 'commit' : 'rollback'}-${i}`;
      const tx = producer.beginTransaction();
      const receipt = await producer.send({ topic: 'txn-load', body: Buffer.from(body) }, tx);
      (i % 2 ? committed : rolledBack).add(receipt.messageId);
      if (i % 3 === 0) return; // left unresolved: the check-back decides, after the restart
      if (i % 2) await tx.commit();
      else await tx.rollback();
    });
    await shutdownAll(producer);
    expect((b as TestBroker).broker.transactions.pendingCount).toBe(100);
    b = await restart(b);
    const checker = await producerOn(b.endpoints);
    const consumer = await startSimpleConsumer(b.endpoints, 'txn-load-g', { 'txn-load': '*' }, 500);
    b.clock.advance(7_000);
    const delivered = new Set<string>();
    for (
      let round = 0;
      round < 200 && (delivered.size < committed.size || b.broker.transactions.pendingCount > 0);
      round++
    ) {
      for (const m of await consumer.receive(32, 10_000)) {
        delivered.add(m.messageId);
        await consumer.ack(m);
      }
    }
    expect([...delivered].filter((id) => rolledBack.has(id))).toEqual([]);
    expect([...committed].filter((id) => !delivered.has(id))).toEqual([]);
    expect(b.broker.transactions.pendingCount).toBe(0);
    await shutdownAll(checker, consumer);
  });
});

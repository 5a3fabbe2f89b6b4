import { FilterExpression, type MessageView, Producer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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

// The proto enum values the nodejs checker returns (TransactionResolution in definition.proto).
const COMMIT = 1;
const ROLLBACK = 2;
const FILTER_TYPE_SQL = 2;

let b: TestBroker;

const topics: Array<{ name: string; queues: number; type?: 'FIFO' | 'DELAY' | 'TRANSACTION' }> = [
  { name: 'fifo-orders', queues: 4, type: 'FIFO' },
  { name: 'delayed', queues: 2, type: 'DELAY' },
  { name: 'payments', queues: 2, type: 'TRANSACTION' },
  { name: 'props', queues: 2 },
];
const groups = [
  { name: 'fifo-g', fifo: true },
  { name: 'delay-g' },
  { name: 'txn-g' },
  { name: 'sql-g' },
  { name: 'plain-on-fifo' },
];

beforeAll(async () => {
  b = await startTestBroker({ topics, groups });
});

afterAll(async () => {
  await stopTestBroker(b);
});

async function receiveAll(consumer: Awaited<ReturnType<typeof startSimpleConsumer>>, rounds = 5, ack = true) {
  const got: MessageView[] = [];
  for (let i = 0; i < rounds; i++) {
    const batch = await consumer.receive(32, 15_000);
    if (batch.length === 0) break;
    for (const m of batch) {
      got.push(m);
      if (ack) await consumer.ack(m);
    }
  }
  return got;
}

describe('message types with the official nodejs client', () => {
  test('fifo: a FIFO group gets message n+1 of a message group only after n is acked', async () => {
    const producer = await startProducer(b.endpoints, ['fifo-orders']);
    for (let i = 0; i < 3; i++) {
      for (const order of ['A', 'B']) {
        await producer.send({
          topic: 'fifo-orders',
          messageGroup: `order-${order}`,
          body: Buffer.from(`${order}${i}`),
        });
      }
    }
    const consumer = await startSimpleConsumer(b.endpoints, 'fifo-g', { 'fifo-orders': '*' });
    const first = await consumer.receive(32, 15_000);
    // A batch may carry consecutive messages of a group, in order; nothing more until they are acked.
    const byGroup = (ms: MessageView[], g: string) =>
      ms.filter((m) => m.messageGroup === g).map((m) => m.body.toString());
    expect(byGroup(first, 'order-A')).toEqual(['A0', 'A1', 'A2']);
    expect(byGroup(first, 'order-B')).toEqual(['B0', 'B1', 'B2']);
    expect(first.every((m) => m.properties.get('__SHARDINGKEY') === m.messageGroup)).toBe(true);
    expect(await consumer.receive(32, 15_000)).toHaveLength(0);
    // Let B's batch expire: it comes back whole, in order, attempt 2, while A (acked) is done.
    for (const m of first.filter((x) => x.messageGroup === 'order-A')) await consumer.ack(m);
    b.clock.advance(16_000);
    const again = await consumer.receive(32, 15_000);
    expect(again.map((m) => m.body.toString())).toEqual(['B0', 'B1', 'B2']);
    expect(again.every((m) => m.deliveryAttempt === 2)).toBe(true);
    for (const m of again) await consumer.ack(m);
    // An ordinary group on the same FIFO topic is not held back (the nodejs FIFO test relies on this).
    const plain = await startSimpleConsumer(b.endpoints, 'plain-on-fifo', { 'fifo-orders': '*' });
    const one = await plain.receive(1, 15_000);
    const two = await plain.receive(1, 15_000);
    expect(one.length + two.length).toBe(2);
    await shutdownAll(producer, consumer, plain);
  });

  test('delay: never delivered before its time, delivered once due', async () => {
    const producer = await startProducer(b.endpoints, ['delayed']);
    // The broker's clock may run ahead of this process's (earlier tests advanced it): aim at its time.
    // Each empty receive long-polls 5 s of real time (the proxy's minimum), which the broker's clock also runs.
    const due = new Date(b.clock.wallMs() + 60_000);
    const receipt = await producer.send({ topic: 'delayed', deliveryTimestamp: due, body: Buffer.from('later') });
    const consumer = await startSimpleConsumer(b.endpoints, 'delay-g', { delayed: '*' });
    expect(await consumer.receive(32, 15_000)).toHaveLength(0);
    b.clock.advance(20_000);
    expect(await consumer.receive(32, 15_000)).toHaveLength(0);
    b.clock.advance(41_000);
    const [m] = await receiveAll(consumer);
    expect(m?.messageId).toBe(receipt.messageId);
    expect(m?.deliveryTimestamp?.getTime()).toBeLessThanOrEqual(b.clock.wallMs());
    expect(m?.transportDeliveryTimestamp?.getTime()).toBeGreaterThanOrEqual(m?.deliveryTimestamp?.getTime() ?? 0);
    await shutdownAll(producer, consumer);
  });

  test('transactions: commit delivers, rollback never does, unknown is resolved by the check-back', async () => {
    const decisions = new Map<string, number>();
    const producer = new Producer({
      namespace: '',
      logger: quietLogger,
      endpoints: b.endpoints,
      topics: ['payments'],
      // biome-ignore lint/suspicious/noExplicitAny: the client types the answer as its protobuf enum.
      checker: { check: async (m: MessageView) => (decisions.get(m.body.toString()) ?? COMMIT) as any },
    });
    await producer.startup();
    const send = async (body: string) => {
      const tx = producer.beginTransaction();
      const receipt = await producer.send({ topic: 'payments', body: Buffer.from(body) }, tx);
      return { tx, receipt };
    };
    const committed = await send('commit-me');
    await committed.tx.commit();
    const rolledBack = await send('roll-me-back');
    await rolledBack.tx.rollback();
    decisions.set('decide-later', COMMIT);
    decisions.set('decide-later-no', ROLLBACK);
    const unknown = await send('decide-later');
    const unknownNo = await send('decide-later-no');
    const consumer = await startSimpleConsumer(b.endpoints, 'txn-g', { payments: '*' });
    const before = await receiveAll(consumer);
    expect(before.map((m) => m.body.toString())).toEqual(['commit-me']);
    expect(before[0]?.properties.get('__transactionId__')).toBe(committed.receipt.messageId);
    b.clock.advance(7_000); // past the first check-back (6 s): the producer's checker decides
    let after: MessageView[] = [];
    for (let i = 0; i < 20 && after.length === 0; i++) after = await receiveAll(consumer);
    expect(after.map((m) => m.messageId)).toEqual([unknown.receipt.messageId]);
    expect(b.broker.transactions.pendingCount).toBe(0);
    expect(unknownNo.receipt.messageId).not.toBe(unknown.receipt.messageId);
    await shutdownAll(producer, consumer);
  });

  test('sql92 filter: only messages whose properties match are delivered; a bad expression is rejected', async () => {
    const producer = await startProducer(b.endpoints, ['props']);
    for (let i = 0; i < 10; i++) {
      await producer.send({
        topic: 'props',
        tag: i % 2 ? 'odd' : 'even',
        properties: new Map([
          ['amount', String(i * 10)],
          ['region', i < 5 ? 'eu' : 'us'],
        ]),
        body: Buffer.from(`p${i}`),
      });
    }
    const sql = new FilterExpression("amount >= 30 AND region = 'eu' AND TAGS <> 'odd'", FILTER_TYPE_SQL);
    const consumer = await startSimpleConsumer(b.endpoints, 'sql-g', {});
    await consumer.subscribe('props', sql);
    const got = await receiveAll(consumer);
    expect(got.map((m) => m.body.toString())).toEqual(['p4']);
    await consumer.subscribe('props', new FilterExpression('amount >> 3', FILTER_TYPE_SQL));
    await expect(consumer.receive(1, 15_000)).rejects.toThrow(/40010|SQL92 filter/);
    await shutdownAll(producer, consumer);
  });
});

describe('message types survive a restart', () => {
  test('pending delayed and half messages are recovered: delayed arrive on time, halves get checked', async () => {
    const first = await startTestBroker({ topics, groups });
    const producer = await startProducer(first.endpoints, ['delayed']);
    const due = new Date(first.clock.wallMs() + 60_000);
    const delayed = await producer.send({
      topic: 'delayed',
      deliveryTimestamp: due,
      body: Buffer.from('after-restart'),
    });
    const txProducer = new Producer({
      namespace: '',
      logger: quietLogger,
      endpoints: first.endpoints,
      topics: ['payments'],
      // biome-ignore lint/suspicious/noExplicitAny: the client types the answer as its protobuf enum.
      checker: { check: async () => COMMIT as any },
    });
    await txProducer.startup();
    const half = await txProducer.send({ topic: 'payments', body: Buffer.from('half') }, txProducer.beginTransaction());
    await shutdownAll(producer, txProducer);
    await first.close();
    const again = await startBroker(
      { ...defaultBrokerConfig, dataDir: first.dataDir, port: 0, topics, groups },
      first.clock,
    );
    try {
      expect(again.broker.delayTimer.pendingCount).toBe(1);
      const endpoints = `127.0.0.1:${again.port}`;
      const consumer = await startSimpleConsumer(endpoints, 'delay-g', { delayed: '*' });
      expect(await consumer.receive(32, 15_000)).toHaveLength(0);
      first.clock.advance(61_000);
      const got = await receiveAll(consumer);
      expect(got.map((m) => m.messageId)).toEqual([delayed.messageId]);
      expect(again.broker.transactions.pendingCount).toBe(1);
      const checker = new Producer({
        namespace: '',
        logger: quietLogger,
        endpoints,
        topics: ['payments'],
        // biome-ignore lint/suspicious/noExplicitAny: the client types the answer as its protobuf enum.
        checker: { check: async () => COMMIT as any },
      });
      await checker.startup();
      const txConsumer = await startSimpleConsumer(endpoints, 'txn-g', { payments: '*' });
      first.clock.advance(7_000);
      let committed: MessageView[] = [];
      for (let i = 0; i < 20 && committed.length === 0; i++) committed = await receiveAll(txConsumer);
      expect(committed.map((m) => m.messageId)).toEqual([half.messageId]);
      await shutdownAll(consumer, checker, txConsumer);
    } finally {
      await again.close();
      await stopTestBroker({ ...first, close: async () => {} });
    }
  });
});

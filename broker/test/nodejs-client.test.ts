import { ConsumeResult, type MessageView, PushConsumer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  eventually,
  quietLogger,
  shutdownAll,
  startProducer,
  startSimpleConsumer,
  startTestBroker,
  stopTestBroker,
  type TestBroker,
} from '../../test/kit/index.ts';

let b: TestBroker;

beforeAll(async () => {
  b = await startTestBroker({
    topics: [
      { name: 'orders', queues: 4 },
      { name: 'audit', queues: 2 },
      { name: 'retries', queues: 2 },
      { name: 'handover', queues: 2 },
    ],
    groups: [
      { name: 'billing' },
      { name: 'shipping' },
      { name: 'tagged' },
      { name: 'pushers' },
      { name: 'retrying', maxAttempts: 2 },
      { name: 'dlq-reader' },
      { name: 'handover-group' },
    ],
  });
});

afterAll(async () => {
  await stopTestBroker(b);
});

async function drain(consumer: Awaited<ReturnType<typeof startSimpleConsumer>>, want: number, ack = true) {
  const got: MessageView[] = [];
  for (let round = 0; round < 50 && got.length < want; round++) {
    const batch = await consumer.receive(32, 15_000);
    for (const m of batch) {
      got.push(m);
      if (ack) await consumer.ack(m);
    }
  }
  return got;
}

describe('broker with the official nodejs client', () => {
  test('normal messages: N sent, N received by a simple consumer and acked; receipts carry id and offset', async () => {
    const producer = await startProducer(b.endpoints, ['audit']);
    const sent = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const receipt = await producer.send({ topic: 'audit', body: Buffer.from(`audit ${i}`), keys: [`k${i}`] });
      expect(receipt.messageId).toBe(receipt.transactionId);
      expect(receipt.offset).toBeGreaterThanOrEqual(0);
      sent.add(receipt.messageId);
    }
    const consumer = await startSimpleConsumer(b.endpoints, 'billing', { audit: '*' });
    const got = await drain(consumer, 100);
    expect(new Set(got.map((m) => m.messageId))).toEqual(sent);
    expect(got.every((m) => m.deliveryAttempt === 1 && !m.corrupted)).toBe(true);
    const backlog = b.broker.backlog('billing').find((x) => x.topic === 'audit');
    expect(backlog).toMatchObject({ ready: 0, inflight: 0 });
    await shutdownAll(producer, consumer);
  });

  test('two groups on one topic each receive every message; a TAG filter delivers only matches', async () => {
    const producer = await startProducer(b.endpoints, ['orders']);
    for (let i = 0; i < 60; i++) {
      await producer.send({ topic: 'orders', tag: i % 3 === 0 ? 'paid' : 'created', body: Buffer.from(`o${i}`) });
    }
    const shipping = await startSimpleConsumer(b.endpoints, 'shipping', { orders: '*' });
    const tagged = await startSimpleConsumer(b.endpoints, 'tagged', { orders: 'paid' });
    const all = await drain(shipping, 60);
    const paid = await drain(tagged, 20);
    expect(all).toHaveLength(60);
    expect(paid).toHaveLength(20);
    expect(paid.every((m) => m.tag === 'paid')).toBe(true);
    expect(await tagged.receive(32, 15_000)).toHaveLength(0); // nothing else pending for the filtered group
    await shutdownAll(producer, shipping, tagged);
  });

  test('push consumer: every message is consumed and acknowledged', async () => {
    const producer = await startProducer(b.endpoints, ['orders']);
    const seen = new Set<string>();
    const consumer = new PushConsumer({
      namespace: '',
      logger: quietLogger,
      endpoints: b.endpoints,
      consumerGroup: 'pushers',
      subscriptions: new Map([['orders', '*']]),
      messageListener: {
        async consume(m: MessageView) {
          seen.add(m.messageId);
          return ConsumeResult.SUCCESS;
        },
      },
    });
    await consumer.startup();
    for (let i = 0; i < 50; i++) await producer.send({ topic: 'orders', body: Buffer.from(`p${i}`) });
    // 'orders' already holds 60 messages from the previous test: a new group starts from the oldest.
    expect(await eventually(() => seen.size >= 110, 20_000)).toBe(true);
    expect(await eventually(() => b.broker.backlog('pushers')[0]?.inflight === 0, 10_000)).toBe(true);
    await shutdownAll(producer, consumer);
  });

  test('redelivery after the invisible time, then dead-letter after max attempts', async () => {
    const producer = await startProducer(b.endpoints, ['retries']);
    const receipt = await producer.send({ topic: 'retries', body: Buffer.from('poison') });
    const consumer = await startSimpleConsumer(b.endpoints, 'retrying', { retries: '*' });
    const [first] = await consumer.receive(1, 10_000);
    expect(first?.messageId).toBe(receipt.messageId);
    expect(first?.deliveryAttempt).toBe(1);
    expect(await consumer.receive(1, 10_000)).toHaveLength(0); // invisible
    b.clock.advance(11_000);
    const [second] = await consumer.receive(1, 10_000);
    expect(second?.messageId).toBe(receipt.messageId);
    expect(second?.deliveryAttempt).toBe(2);
    await expect(consumer.ack(first as MessageView)).rejects.toThrow(/40013|receipt handle/i);
    b.clock.advance(11_000);
    expect(await consumer.receive(1, 10_000)).toHaveLength(0); // max attempts (2) used: moved to the DLQ
    const dlqReader = await startSimpleConsumer(b.endpoints, 'dlq-reader', { '%DLQ%retrying': '*' });
    const [dead] = await drain(dlqReader, 1);
    expect(dead?.messageId).toBe(receipt.messageId);
    expect(dead?.properties.get('ORIGIN_MESSAGE_ID')).toBe(receipt.messageId);
    expect(b.broker.backlog('retrying').find((x) => x.topic === 'retries')).toMatchObject({ dlq: 1, inflight: 0 });
    await shutdownAll(producer, consumer, dlqReader);
  });

  test('a consumer that goes away with messages in flight: another consumer gets them', async () => {
    const producer = await startProducer(b.endpoints, ['handover']);
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'handover', body: Buffer.from(`h${i}`) });
    const leaving = await startSimpleConsumer(b.endpoints, 'handover-group', { handover: '*' });
    const held = await drain(leaving, 10, false);
    expect(held).toHaveLength(10);
    // NotifyClientTermination: as with RocketMQ's proxy, a simple consumer's messages keep their invisible time
    // (only auto-renewed push deliveries are released after 1 s).
    await leaving.shutdown().catch(() => {});
    b.clock.advance(1_500);
    const staying = await startSimpleConsumer(b.endpoints, 'handover-group', { handover: '*' });
    expect(await staying.receive(32, 15_000)).toEqual([]);
    b.clock.advance(15_000);
    const got = await drain(staying, 10);
    expect(new Set(got.map((m) => m.messageId))).toEqual(new Set(held.map((m) => m.messageId)));
    expect(got.every((m) => m.deliveryAttempt === 2)).toBe(true);
    await shutdownAll(producer, staying);
  });

  test('bad input is answered in-band with the matching code and a message naming the problem', async () => {
    const producer = await startProducer(b.endpoints, ['orders']);
    await expect(producer.send({ topic: 'no-such-topic', body: Buffer.from('x') })).rejects.toThrow(
      /40402|No topic route info/,
    );
    await expect(producer.send({ topic: 'orders', body: Buffer.alloc(4 * 1024 * 1024 + 1) })).rejects.toThrow(
      /body size exceeds|41301|4194304/i,
    );
    await expect(
      producer.send({ topic: 'orders', body: Buffer.from('x'), properties: new Map([['UNIQ_KEY', 'mine']]) }),
    ).rejects.toThrow(/40007|reserved/);
    // Unknown consumer groups are auto-created by default, as in RocketMQ: broker/test/fidelity.test.ts.
    await shutdownAll(producer);
  });
});

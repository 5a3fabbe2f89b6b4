import { FilterExpression, type MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
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

/** The client's FilterType.SQL (the enum is not exported). */
const FILTER_TYPE_SQL = 2;

/**
 * Where the bundled broker behaves as RocketMQ 5.3.3 does, through the official Node client (docs/differences.md):
 * redeliveries pass the subscription's filter, unknown consumer groups are created on first use, and a long poll
 * whose deadline leaves less than the proxy's 5 s minimum is refused.
 */
let b: TestBroker;

beforeAll(async () => {
  b = await startTestBroker({ topics: [{ name: 'fid-orders', queues: 1 }], groups: [{ name: 'fid-g' }] });
});

afterAll(async () => {
  await stopTestBroker(b);
});

/** A consumer as an application writes it: the client's own 3 s request timeout, the given awaitDuration. */
async function plainConsumer(endpoints: string, group: string, awaitDuration: number): Promise<SimpleConsumer> {
  const c = new SimpleConsumer({
    namespace: '',
    logger: quietLogger,
    endpoints,
    consumerGroup: group,
    subscriptions: new Map([['fid-orders', '*']]),
    awaitDuration,
  });
  await c.startup();
  return c;
}

async function receiveUntil(c: SimpleConsumer, pred: (got: MessageView[]) => boolean, rounds = 6) {
  const got: MessageView[] = [];
  for (let i = 0; i < rounds && !pred(got); i++) got.push(...(await c.receive(32, 30_000)));
  return got;
}

describe('bundled broker fidelity with RocketMQ 5.3.3 (official Node client)', () => {
  test('a redelivered message that the subscription does not match (TAG, then SQL92) is not handed out', async () => {
    const producer = await startProducer(b.endpoints, ['fid-orders']);
    const props = (amount: number) => new Map([['amount', String(amount)]]);
    await producer.send({ topic: 'fid-orders', tag: 'refund', properties: props(5), body: Buffer.from('refund') });
    await producer.send({ topic: 'fid-orders', tag: 'paid', properties: props(500), body: Buffer.from('big') });
    const first = await startSimpleConsumer(b.endpoints, 'fid-g', { 'fid-orders': '*' });
    const taken = await receiveUntil(first, (got) => got.length >= 2);
    expect(taken.map((m) => m.body.toString()).sort()).toEqual(['big', 'refund']);
    await shutdownAll(first); // not acked: both come back after the invisible time
    b.clock.advance(31_000);
    const tagged = await startSimpleConsumer(b.endpoints, 'fid-g', { 'fid-orders': 'paid' });
    const redelivered = await receiveUntil(tagged, (got) => got.length >= 1);
    expect(redelivered.map((m) => [m.body.toString(), m.deliveryAttempt])).toEqual([['big', 2]]);
    await shutdownAll(tagged);
    b.clock.advance(31_000);
    const sql = await startSimpleConsumer(b.endpoints, 'fid-g', {});
    await sql.subscribe('fid-orders', new FilterExpression('amount < 100', FILTER_TYPE_SQL));
    expect(await sql.receive(32, 30_000)).toEqual([]); // 'big' does not match; 'refund' was skipped above
    expect(b.broker.backlog('fid-g')[0]).toMatchObject({ ready: 0, inflight: 0 });
    await shutdownAll(sql, producer);
  });

  test('an unknown consumer group is created on first use (autoCreateSubscriptionGroup=true)', async () => {
    const producer = await startProducer(b.endpoints, ['fid-orders']);
    const consumer = await startSimpleConsumer(b.endpoints, 'fid-fresh', { 'fid-orders': '*' });
    await producer.send({ topic: 'fid-orders', body: Buffer.from('for-fresh') });
    const got = await receiveUntil(consumer, (g) => g.some((m) => m.body.toString() === 'for-fresh'));
    expect(got.map((m) => m.body.toString())).toContain('for-fresh');
    expect(b.broker.metadata.group('fid-fresh')).toMatchObject({ fifo: false, maxAttempts: 17 });
    await shutdownAll(consumer, producer);
  });

  test('a long poll whose deadline leaves less than 5 s is refused with 40000, as by the proxy', async () => {
    const short = await plainConsumer(b.endpoints, 'fid-g', 1000); // deadline: 3 s + 1 s
    const err = await short.receive(1, 30_000).catch((e: Error) => e);
    expect(String(err)).toMatch(/40000/);
    expect(String(err)).toMatch(/The deadline time remaining is not enough for polling, please check network/);
    const enough = await plainConsumer(b.endpoints, 'fid-g', 5000); // deadline: 3 s + 5 s
    const producer = await startProducer(b.endpoints, ['fid-orders']);
    await producer.send({ topic: 'fid-orders', body: Buffer.from('polled') });
    const got = await receiveUntil(enough, (g) => g.some((m) => m.body.toString() === 'polled'));
    expect(got.map((m) => m.body.toString())).toContain('polled');
    await shutdownAll(short, enough, producer);
  });

  test('configurable: groups not auto-created, lenient long polls', async () => {
    const strict = await startTestBroker({
      topics: [{ name: 'fid-orders', queues: 1 }],
      autoCreateGroups: false,
      longPollingMinMs: 0,
    });
    try {
      const short = await plainConsumer(strict.endpoints, 'fid-nope', 1000);
      const err = await short.receive(1, 30_000).catch((e: Error) => e);
      expect(String(err)).toMatch(/40403|does not exist/);
      await shutdownAll(short);
    } finally {
      await stopTestBroker(strict);
    }
  });
});

import type { MessageView } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  shutdownAll,
  startProducer,
  startSimpleConsumer,
  startTestBroker,
  stopTestBroker,
  type TestBroker,
} from '../../test/kit/index.ts';

const topics = [{ name: 'spread', queues: 2 }];
const groups = [{ name: 'spread-g' }];
let a: TestBroker;
let b: TestBroker;

beforeAll(async () => {
  // The client's access point is a, which names b as its peer; b's own routes are not used here.
  b = await startTestBroker({ brokerName: 'broker-b', topics, groups });
  a = await startTestBroker({
    brokerName: 'broker-a',
    topics,
    groups,
    peers: [{ name: 'broker-b', endpoint: b.endpoints }],
  });
});

afterAll(async () => {
  await stopTestBroker(a);
  await stopTestBroker(b);
});

describe('bundled cluster: a topic spread over several broker nodes', () => {
  test('routes name every node; sends spread over them; one consumer drains them all', async () => {
    const producer = await startProducer(a.endpoints, ['spread']);
    const sent = new Set<string>();
    for (let i = 0; i < 40; i++)
      sent.add((await producer.send({ topic: 'spread', body: Buffer.from(`s${i}`) })).messageId);
    const onA = a.broker.store.queueRange('spread', 0).maxOffset + a.broker.store.queueRange('spread', 1).maxOffset;
    const onB = b.broker.store.queueRange('spread', 0).maxOffset + b.broker.store.queueRange('spread', 1).maxOffset;
    expect(onA + onB).toBe(40);
    expect(onA).toBeGreaterThan(0);
    expect(onB).toBeGreaterThan(0);
    const consumer = await startSimpleConsumer(a.endpoints, 'spread-g', { spread: '*' });
    const got: MessageView[] = [];
    for (let round = 0; round < 40 && got.length < 40; round++) {
      for (const m of await consumer.receive(32, 15_000)) {
        got.push(m);
        await consumer.ack(m);
      }
    }
    expect(new Set(got.map((m) => m.messageId))).toEqual(sent);
    await shutdownAll(producer, consumer);
  });
});

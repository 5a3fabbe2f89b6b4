import type { MessageView } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { shutdownAll, startProducer, startSimpleConsumer } from '../../test/kit/index.ts';
import { startTarget } from './index.ts';
import type { Target } from './types.ts';

let broker: Target;

beforeAll(async () => {
  // The "someone else's RocketMQ": a one-node bundled target, started through the same factory.
  broker = await startTarget({ kind: 'bundled', nodes: 1, flush: 'async' });
});

afterAll(async () => {
  await broker?.stop();
});

describe('external target: an endpoint someone else runs', () => {
  test('with an admin endpoint: provisions, sends and drains via the endpoint; backlog and counters', async () => {
    const endpoint = broker.nodes[0]!.directEndpoint;
    const target = await startTarget({ kind: 'external', endpoint, adminEndpoint: endpoint });
    expect(target.kind).toBe('external');
    expect(target.processes).toBeUndefined();
    expect(target.access).toEqual({ endpoint, tls: false, namespace: '', credentials: undefined });
    await target.provision([{ name: 'ext', queues: 2, type: 'NORMAL' }], [{ name: 'ext-g' }]);
    const producer = await startProducer(target.access.endpoint, ['ext']);
    const sent = new Set<string>();
    for (let i = 0; i < 20; i++)
      sent.add((await producer.send({ topic: 'ext', body: Buffer.from(`e${i}`) })).messageId);
    await shutdownAll(producer);
    expect((await target.counters())?.rocketmq_messages_in_total).toBe(20);
    expect((await target.counters())?.['rocketmq_messages_in_total{topic="ext",message_type="NORMAL"}']).toBe(20);

    const consumer = await startSimpleConsumer(target.access.endpoint, 'ext-g', { ext: '*' }, 1000);
    const got = new Set<string>();
    for (let round = 0; round < 30 && got.size < sent.size; round++) {
      for (const m of (await consumer.receive(32, 15_000)) as MessageView[]) {
        got.add(m.messageId);
        await consumer.ack(m);
      }
    }
    await shutdownAll(consumer);
    expect(got).toEqual(sent);
    expect(await target.backlog(['ext-g'])).toEqual([
      { topic: 'ext', group: 'ext-g', ready: 0, inflight: 0, retry: 0, dlq: 0 },
    ]);
    await target.stop();
  });

  test('without an admin endpoint: provision is a logged no-op; backlog and counters are unknown', async () => {
    const notes: string[] = [];
    const target = await startTarget(
      { kind: 'external', endpoint: 'mq.example.com:8081', accessKey: 'ak', secretKey: 'sk', tls: true },
      { log: (_level, msg) => notes.push(msg) },
    );
    expect(target.nodes).toEqual([
      { name: 'external', endpoint: 'mq.example.com:8081', directEndpoint: 'mq.example.com:8081' },
    ]);
    expect(target.access.credentials).toEqual({ accessKey: 'ak', secretKey: 'sk' });
    expect(target.access.tls).toBe(true);
    await target.provision([{ name: 't', queues: 1, type: 'NORMAL' }], [{ name: 'g' }]);
    await target.provision([{ name: 't', queues: 1, type: 'NORMAL' }], [{ name: 'g' }]);
    expect(notes).toEqual([expect.stringMatching(/not provisioning; its owners must create/)]);
    expect(await target.backlog(['g'])).toBeUndefined();
    expect(await target.counters()).toBeUndefined();
    await target.stop();
  });
});

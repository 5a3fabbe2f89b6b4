/**
 * `mqdrill broker --shards 2` with what a message keeps on its shard: dead-lettering, delay, transactions, and auth
 * on every shard. Official Node.js client, real shard processes, auth on (every client signs its requests). The
 * shard processes run on the system clock (no clock can be injected into another process), so the delay test
 * allows a tolerance after the due time and none before it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type MessageView, Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BrokerProcess, pidAlive, quietLogger, shutdownAll, spawnBroker } from '../../test/kit/index.ts';

// The proto enum value the nodejs transaction checker returns (TransactionResolution in definition.proto).
const COMMIT = 1;
const credentials = { accessKey: 'ops', accessSecret: 'ops-secret' };
/** A delayed message may arrive this much after its time on a busy machine; never before it. */
const delayToleranceMs = 10_000;

let dataDir: string;
let broker: BrokerProcess;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-shards-features-'));
  const config = {
    // Empty receives answer at once: the test does not wait out the proxy's 5 s minimum long poll.
    longPollingMinMs: 0,
    auth: {
      enabled: true,
      accounts: [
        {
          accessKey: credentials.accessKey,
          secretKey: credentials.accessSecret,
          allow: [
            { resource: 'topic:*', actions: ['pub', 'sub'] },
            { resource: 'group:*', actions: ['sub'] },
          ],
        },
      ],
    },
    topics: [
      { name: 'poison', queues: 2 },
      { name: 'later', queues: 2, type: 'DELAY' },
      { name: 'pay', queues: 2, type: 'TRANSACTION' },
    ],
    groups: [{ name: 'poison-g', maxAttempts: 1 }, { name: 'later-g' }, { name: 'pay-g' }, { name: 'dlq-reader' }],
  };
  const configFile = path.join(dataDir, 'broker.json');
  fs.writeFileSync(configFile, JSON.stringify(config));
  const data = path.join(dataDir, 'data');
  broker = await spawnBroker(data, ['--shards', '2', '--config', configFile, '--flush', 'async'], 90_000);
  expect(broker.ready.shards).toHaveLength(2);
}, 120_000);

afterAll(() => {
  broker?.child.kill('SIGKILL');
  for (const s of broker?.ready.shards ?? []) if (pidAlive(s.pid)) process.kill(s.pid, 'SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const clientBase = () => ({ namespace: '', logger: quietLogger, endpoints: broker.endpoints, requestTimeout: 5000 });

async function producer(topics: string[], extra: Record<string, unknown> = {}): Promise<Producer> {
  const p = new Producer({ ...clientBase(), topics, sessionCredentials: credentials, ...extra });
  await p.startup();
  return p;
}

async function consumer(group: string, topic: string): Promise<SimpleConsumer> {
  const c = new SimpleConsumer({
    ...clientBase(),
    consumerGroup: group,
    subscriptions: new Map([[topic, '*']]),
    sessionCredentials: credentials,
    awaitDuration: 1000,
  });
  await c.startup();
  return c;
}

/** Receives until `want` messages arrived or `rounds` receives ran (each bounded); calls `each` on every one. */
async function receiveN(c: SimpleConsumer, want: number, rounds: number, each: (m: MessageView) => Promise<unknown>) {
  const got: MessageView[] = [];
  for (let i = 0; i < rounds && got.length < want; i++) {
    for (const m of await c.receive(32, 15_000)) {
      got.push(m);
      await each(m);
    }
  }
  return got;
}

const shardsOf = (ms: MessageView[]) => new Set(ms.map((m) => m.endpoints.facade));

describe('mqdrill broker --shards 2: retry/DLQ, delay, transactions and auth on every shard', () => {
  test('a message nacked past its group maxAttempts (1) moves to the DLQ of the shard that holds it', async () => {
    const p = await producer(['poison']);
    const sent = new Set<string>();
    for (let i = 0; i < 8; i++) sent.add((await p.send({ topic: 'poison', body: Buffer.from(`p${i}`) })).messageId);
    const c = await consumer('poison-g', 'poison');
    // Nack: visible again at once; its one attempt used, the next receive moves it to %DLQ%poison-g.
    const nacked = await receiveN(c, 8, 20, (m) => c.changeInvisibleDuration(m, 100));
    expect(new Set(nacked.map((m) => m.messageId))).toEqual(sent);
    expect(shardsOf(nacked).size).toBe(2);
    const again = await receiveN(c, 1, 3, (m) => c.ack(m));
    expect(again).toEqual([]);
    const dlq = await consumer('dlq-reader', '%DLQ%poison-g');
    const dead = await receiveN(dlq, 8, 20, (m) => dlq.ack(m));
    expect(new Set(dead.map((m) => m.properties.get('ORIGIN_MESSAGE_ID')))).toEqual(sent);
    expect(shardsOf(dead).size).toBe(2);
    await shutdownAll(p, c, dlq);
  }, 60_000);

  test('delayed messages on both shards are delivered at their time, never before', async () => {
    const p = await producer(['later']);
    const due = Date.now() + 3000;
    const ids = new Set<string>();
    for (let i = 0; i < 4; i++) {
      ids.add(
        (await p.send({ topic: 'later', body: Buffer.from(`d${i}`), deliveryTimestamp: new Date(due) })).messageId,
      );
    }
    const c = await consumer('later-g', 'later');
    const arrivals: number[] = [];
    const got = await receiveN(c, 4, 40, async (m) => {
      arrivals.push(Date.now());
      await c.ack(m);
    });
    expect(new Set(got.map((m) => m.messageId))).toEqual(ids);
    expect(shardsOf(got).size).toBe(2);
    for (const at of arrivals) {
      expect(at).toBeGreaterThanOrEqual(due);
      expect(at).toBeLessThanOrEqual(due + delayToleranceMs);
    }
    await shutdownAll(p, c);
  }, 60_000);

  test('transactions: committed halves are delivered from both shards, rolled-back ones never', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the client types the answer as its protobuf enum.
    const checker = { check: async () => COMMIT as any };
    const p = await producer(['pay'], { checker });
    const committed = new Set<string>();
    // Commit one and roll one back on each shard (the receipt names the shard that holds the half message).
    const todo = new Set(
      ['commit', 'rollback'].flatMap((d) => (broker.ready.shards ?? []).map((s) => `${d}@${s.grpcPort}`)),
    );
    for (let i = 0; i < 40 && todo.size > 0; i++) {
      const tx = p.beginTransaction();
      // Pairs of one decision: the client alternates sends between the shards.
      const decision = Math.floor(i / 2) % 2 === 0 ? 'commit' : 'rollback';
      const receipt = await p.send({ topic: 'pay', body: Buffer.from(decision) }, tx);
      todo.delete(`${decision}@${receipt.endpoints.facade.split(':').pop()}`);
      if (decision === 'commit') {
        await tx.commit();
        committed.add(receipt.messageId);
      } else await tx.rollback();
    }
    expect([...todo]).toEqual([]);
    const c = await consumer('pay-g', 'pay');
    // Asks for one more than was committed: a rolled-back message would show up.
    const got = await receiveN(c, committed.size + 1, 6, (m) => c.ack(m));
    expect(new Set(got.map((m) => m.messageId))).toEqual(committed);
    expect(new Set(got.map((m) => m.body.toString()))).toEqual(new Set(['commit']));
    expect(shardsOf(got).size).toBe(2);
    await shutdownAll(p, c);
  }, 60_000);

  test('a wrong secret is refused by every shard, each with the reason', async () => {
    for (const s of broker.ready.shards ?? []) {
      const p = new Producer({
        ...clientBase(),
        endpoints: `127.0.0.1:${s.grpcPort}`,
        topics: ['poison'],
        sessionCredentials: { accessKey: 'ops', accessSecret: 'wrong-secret' },
      });
      const failure = await p.startup().then(
        () => 'started',
        (err: unknown) => {
          const parts: string[] = [];
          for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message);
          return parts.join(' <- ');
        },
      );
      expect(failure, s.name).toMatch(/signature check failed for access key "ops"/);
      await shutdownAll(p);
    }
  }, 60_000);
});

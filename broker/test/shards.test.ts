import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  admin,
  type BrokerProcess,
  eventually,
  pidAlive,
  receiveUntil,
  shutdownAll,
  spawnBroker,
  startProducer,
  startSimpleConsumer,
  waitForExit,
  withRetries,
} from '../../test/kit/index.ts';

// One `mqdrill broker --shards 2` process tree for the whole file (each start costs seconds on a busy machine).
let dataDir: string;
let broker: BrokerProcess;
const readyTimeoutMs = 90_000;
/** Shard pids seen last, killed after the tests in case a failure left them running. */
let lastPids: number[] = [];

/** The supervisor's admin view (its own port): /shards and /shards/I/ROUTE are served there. */
const adminView = (b: BrokerProcess, method: string, route: string, body?: unknown): Promise<unknown> =>
  admin(`127.0.0.1:${b.ready.adminPort}`, method, route, body);

async function messagesOn(b: BrokerProcess, route: string, topic: string): Promise<number> {
  const { topics } = (await adminView(b, 'GET', route)) as { topics: Array<{ name: string; messages: number }> };
  return topics.find((t) => t.name === topic)?.messages ?? 0;
}

/** The shard processes now (the supervisor's view: a restarted shard has a new pid). */
async function shardPids(b: BrokerProcess): Promise<number[]> {
  const { shards } = (await adminView(b, 'GET', '/shards')) as { shards: Array<{ pid?: number; port?: number }> };
  // A shard without an admin port is starting: not yet serving, so not counted as restarted.
  const pids = shards.map((s) => (s.port === undefined ? 0 : (s.pid ?? 0)));
  lastPids = [...new Set([...lastPids, ...pids])];
  return pids;
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-shards-'));
  broker = await spawnBroker(dataDir, ['--shards', '2', '--admin-port', '0', '--flush', 'sync'], readyTimeoutMs);
  lastPids = (broker.ready.shards ?? []).map((s) => s.pid);
  // Through shard 0's shared gRPC+admin port (what `mqdrill admin --broker` uses): it reaches every shard.
  await admin(broker.endpoints, 'POST', '/topics', { name: 'spread', queues: 2 });
  await admin(broker.endpoints, 'POST', '/topics', { name: 'ordered', queues: 2, type: 'FIFO' });
  await adminView(broker, 'POST', '/groups', { name: 'ordered-g', fifo: true });
  await adminView(broker, 'POST', '/groups', { name: 'after-kill-g' });
}, 120_000);

afterAll(() => {
  broker?.child.kill('SIGKILL');
  for (const pid of lastPids) if (pid > 0 && pidAlive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('mqdrill broker --shards 2, the official Node.js client', () => {
  test('sends spread over both shards; the admin view sums them; one consumer drains all', async () => {
    expect(broker.ready.shards?.length).toBe(2);
    const producer = await startProducer(broker.endpoints, ['spread']);
    const sent = new Set<string>();
    for (let i = 0; i < 40; i++)
      sent.add((await producer.send({ topic: 'spread', body: Buffer.from(`s${i}`) })).messageId);
    const onShard0 = await messagesOn(broker, '/shards/0/topics', 'spread');
    const onShard1 = await messagesOn(broker, '/shards/1/topics', 'spread');
    expect(onShard0).toBeGreaterThan(0);
    expect(onShard1).toBeGreaterThan(0);
    expect(await messagesOn(broker, '/topics', 'spread')).toBe(40);
    const consumer = await startSimpleConsumer(broker.endpoints, 'spread-g', { spread: '*' });
    const got = await receiveUntil(consumer, (g) => g.length >= 40);
    expect(new Set(got.map((m) => m.messageId))).toEqual(sent);
    await shutdownAll(producer, consumer);
  }, 120_000);

  test('FIFO: each message group lives on one shard and is delivered in send order', async () => {
    const producer = await startProducer(broker.endpoints, ['ordered']);
    const groups = 16;
    const perGroup = 8;
    await Promise.all(
      Array.from({ length: groups }, async (_, g) => {
        for (let seq = 0; seq < perGroup; seq++)
          await producer.send({ topic: 'ordered', messageGroup: `g${g}`, body: Buffer.from(String(seq)) });
      }),
    );
    const consumer = await startSimpleConsumer(broker.endpoints, 'ordered-g', { ordered: '*' });
    const got = await receiveUntil(consumer, (g) => g.length >= groups * perGroup);
    expect(got.length).toBe(groups * perGroup);
    const seqs = new Map<string, number[]>();
    const shardOf = new Map<string, Set<string>>();
    for (const m of got) {
      const g = m.messageGroup as string;
      seqs.set(g, [...(seqs.get(g) ?? []), Number(m.body.toString())]);
      shardOf.set(g, (shardOf.get(g) ?? new Set()).add(m.endpoints.facade));
    }
    for (const [g, s] of seqs) expect(s, `group ${g}`).toEqual(Array.from({ length: perGroup }, (_, i) => i));
    for (const [g, s] of shardOf) expect(s.size, `group ${g} on one shard`).toBe(1);
    expect(new Set([...shardOf.values()].map((s) => [...s][0])).size).toBe(2); // groups on both shards
    await shutdownAll(producer, consumer);
  }, 120_000);

  test('kill -9 of one shard: the supervisor starts it again on its port, with everything it had stored', async () => {
    const before = await messagesOn(broker, '/shards/1/topics', 'spread');
    expect(before).toBeGreaterThan(0);
    const old = await shardPids(broker);
    process.kill(old[1] as number, 'SIGKILL');
    let now: number[] = old;
    const restarted = async () => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        now = await shardPids(broker).catch(() => old);
        if (now[1] !== undefined && now[1] !== 0 && now[1] !== old[1]) return true;
        await new Promise((r) => setTimeout(r, 200));
      }
      return false;
    };
    expect(await restarted()).toBe(true);
    expect(now[0]).toBe(old[0]);
    expect(await messagesOn(broker, '/shards/1/topics', 'spread')).toBe(before);
    const producer = await startProducer(broker.endpoints, ['spread']);
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'spread', body: Buffer.from(`r${i}`) });
    await shutdownAll(producer);
    expect(await messagesOn(broker, '/topics', 'spread')).toBeGreaterThanOrEqual(50);
  }, 120_000);

  test('kill -9 of the supervisor amid sends: no shard survives; restarted, every acked send is there', async () => {
    const producer = await startProducer(broker.endpoints, ['spread']);
    const acked = new Set<string>();
    const supervisor = broker.child;
    const pidsBefore = await shardPids(broker);
    let next = 0;
    const worker = async () => {
      while (next < 4000 && supervisor.exitCode === null && supervisor.signalCode === null) {
        const i = next++;
        try {
          acked.add((await producer.send({ topic: 'spread', body: Buffer.from(`k${i}`) })).messageId);
        } catch {
          // in flight when the shards stopped: not acknowledged, not owed
        }
        if (acked.size === 500) supervisor.kill('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await waitForExit(supervisor);
    await shutdownAll(producer);
    expect(acked.size).toBeGreaterThanOrEqual(500);
    expect(pidsBefore.length).toBe(2);
    expect(await eventually(() => !pidsBefore.some(pidAlive), 30_000)).toBe(true);

    broker = await spawnBroker(dataDir, ['--shards', '2', '--admin-port', '0', '--flush', 'sync'], readyTimeoutMs);
    lastPids = (broker.ready.shards ?? []).map((s) => s.pid);
    const endpoints = broker.endpoints;
    const consumer = await withRetries(() => startSimpleConsumer(endpoints, 'after-kill-g', { spread: '*' }), 10, 1000);
    const delivered = new Set<string>();
    await receiveUntil(
      consumer,
      (got) => {
        for (const m of got) delivered.add(m.messageId);
        return [...acked].every((id) => delivered.has(id));
      },
      1000,
    );
    const lost = [...acked].filter((id) => !delivered.has(id));
    expect(lost).toEqual([]);
  }, 240_000);
});

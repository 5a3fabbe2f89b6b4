import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { MessageView, Producer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { processesMentioning, shutdownAll, startProducer, startSimpleConsumer } from '../../test/kit/index.ts';
import { adminBaseUrl } from './admin.ts';
import { type BundledTarget, startBundledTarget } from './bundled.ts';
import { TargetBootError } from './node-process.ts';

/** A trivial TCP forwarder standing in for a Toxiproxy proxy: counts the connections it carries. */
interface Forwarder {
  endpoint: string;
  connections: number;
  close(): Promise<void>;
}

async function startForwarder(direct: string): Promise<Forwarder> {
  const [host, port] = direct.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    fwd.connections++;
    const upstream = net.connect(Number(port), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fwd: Forwarder = {
    endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: 0,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return fwd;
}

async function get<T>(endpoint: string, route: string, timeoutMs = 5000): Promise<T> {
  const res = await fetch(`${adminBaseUrl(endpoint)}${route}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${route}: ${res.status}`);
  return (await res.json()) as T;
}

async function messagesOn(endpoint: string, topic: string): Promise<number> {
  const { topics } = await get<{ topics: Array<{ name: string; messages: number }> }>(endpoint, '/topics');
  return topics.find((t) => t.name === topic)?.messages ?? 0;
}

async function sendAll(producer: Producer, topic: string, count: number, concurrency = 16): Promise<Set<string>> {
  const ids = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      ids.add((await producer.send({ topic, body: Buffer.from(`${topic}-${i}`) })).messageId);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

/** Receives and acks until `want` distinct messages arrived or the round budget is spent (bounded). */
async function drain(endpoint: string, group: string, topic: string, want: number): Promise<Set<string>> {
  const consumer = await startSimpleConsumer(endpoint, group, { [topic]: '*' }, 1000);
  const got = new Set<string>();
  try {
    for (let round = 0; round < 80 && got.size < want; round++) {
      // Right after a node restart the client's pooled connection to it may still be in reconnect backoff.
      const batch: MessageView[] = await consumer.receive(32, 15_000).catch(async (err: Error) => {
        if (!/UNAVAILABLE/.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 250));
        return [];
      });
      for (const m of batch) {
        got.add(m.messageId);
        await consumer.ack(m);
      }
    }
  } finally {
    await shutdownAll(consumer);
  }
  return got;
}

const events: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
const forwarders = new Map<string, Forwarder>();
let dataDir: string;
let target: BundledTarget;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-deploy-'));
  target = await startBundledTarget({
    nodes: 3,
    dataDir,
    flush: 'sync',
    proxied: async (name, direct) => {
      const f = await startForwarder(direct);
      forwarders.set(name, f);
      return f.endpoint;
    },
    log: (_level, msg, fields) => events.push({ msg, fields }),
  });
});

afterAll(async () => {
  await target?.stop();
  for (const f of forwarders.values()) await f.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('bundled target: three broker processes, each behind its own forwarder', () => {
  test('boots three nodes advertising their forwarders; provision (twice) makes topic and group on each', async () => {
    expect(target.nodes.map((n) => n.name)).toEqual(['broker-0', 'broker-1', 'broker-2']);
    for (const n of target.nodes) expect(n.endpoint).toBe(forwarders.get(n.name)?.endpoint);
    expect(target.access.endpoint).toBe(target.nodes[0]?.endpoint);
    const topics = [{ name: 'orders', queues: 4, type: 'NORMAL' as const }];
    await target.provision(topics, [{ name: 'orders-g' }]);
    await target.provision(topics, [{ name: 'orders-g' }]);
    for (const n of target.nodes) {
      const t = await get<{ topics: Array<{ name: string; queues: number }> }>(n.directEndpoint, '/topics');
      expect(t.topics).toContainEqual(expect.objectContaining({ name: 'orders', queues: 4 }));
      const g = await get<{ groups: Array<{ name: string }> }>(n.directEndpoint, '/groups');
      expect(g.groups.map((x) => x.name)).toContain('orders-g');
    }
  });

  test('300 sends via node 0 land on all 3 nodes through the forwarders; drained; backlog sums to 0', async () => {
    const before = Object.fromEntries([...forwarders].map(([name, f]) => [name, f.connections]));
    // The client starts at node 0's direct address: every forwarder it then uses, it learnt from the routes.
    const producer = await startProducer(target.nodes[0]!.directEndpoint, ['orders']);
    const sent = await sendAll(producer, 'orders', 300);
    await shutdownAll(producer);
    expect(sent.size).toBe(300);
    const perNode = await Promise.all(target.nodes.map((n) => messagesOn(n.directEndpoint, 'orders')));
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(300);
    for (const count of perNode) expect(count).toBeGreaterThan(0);
    for (const [name, f] of forwarders) expect(f.connections, name).toBeGreaterThan(before[name] ?? 0);
    expect((await target.counters())?.rocketmq_messages_in_total).toBe(300);

    const got = await drain(target.access.endpoint, 'orders-g', 'orders', 300);
    expect(got).toEqual(sent);
    const backlog = await target.backlog(['orders-g']);
    const orders = backlog.find((b) => b.topic === 'orders' && b.group === 'orders-g');
    expect(orders).toMatchObject({ ready: 0, inflight: 0, dlq: 0 });
    expect((await target.counters())?.rocketmq_messages_out_total).toBeGreaterThanOrEqual(300);
  });

  test('SIGKILL and restart of broker-1 keeps every message it acknowledged (sync flush), same port', async () => {
    await target.provision([{ name: 'durable', queues: 2, type: 'NORMAL' }], [{ name: 'durable-g' }]);
    const producer = await startProducer(target.access.endpoint, ['durable']);
    const sent = await sendAll(producer, 'durable', 60, 4);
    await shutdownAll(producer);
    const node1 = target.nodes[1]!;
    const onNode1 = await messagesOn(node1.directEndpoint, 'durable');
    expect(onNode1).toBeGreaterThan(0);
    await target.processes.kill('broker-1', 'SIGKILL');
    await expect(get(node1.directEndpoint, '/health', 1000)).rejects.toThrow();
    await target.processes.restart('broker-1');
    expect(await messagesOn(node1.directEndpoint, 'durable')).toBe(onNode1);
    expect(await drain(target.access.endpoint, 'durable-g', 'durable', 60)).toEqual(sent);
  });

  test('SIGSTOP freezes broker-2 (its admin API stops answering); SIGCONT brings it back', async () => {
    const node2 = target.nodes[2]!;
    await target.processes.kill('broker-2', 'SIGSTOP');
    await expect(get(node2.directEndpoint, '/health', 500)).rejects.toThrow();
    await target.processes.kill('broker-2', 'SIGCONT');
    expect(await get<{ status: string }>(node2.directEndpoint, '/health', 5000)).toMatchObject({ status: 'ok' });
  });

  test('stop() ends every node with SIGTERM (exit 0) and keeps the data folder it was given', async () => {
    await target.stop();
    const stopped = events.find((e) => e.msg === 'bundled target stopped');
    expect(stopped?.fields?.exits).toEqual({ 'broker-0': 0, 'broker-1': 0, 'broker-2': 0 });
    for (const n of target.nodes) {
      expect(fs.existsSync(n.dataDir as string)).toBe(true);
      expect(fs.readFileSync(n.logFile as string, 'utf8')).toMatch(/broker ready/);
    }
    await expect(target.processes.restart('broker-0')).rejects.toThrow(/stopped/);
  });
});

describe('bundled target: a node that cannot boot', () => {
  test('the error names the node and shows the tail of its log; nothing is left running', async () => {
    const missing = path.join(os.tmpdir(), 'mqdrill-no-such-cert.pem');
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-deploy-fail-'));
    const config = { tls: { certFile: missing, keyFile: missing } };
    const boot = startBundledTarget({ nodes: 1, dataDir: folder, config });
    const err = await boot.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TargetBootError);
    expect((err as TargetBootError).node).toBe('broker-0');
    expect((err as TargetBootError).exitCode).toBe(4);
    expect((err as Error).message).toMatch(/broker-0 failed to start/);
    expect((err as TargetBootError).logTail).toMatch(/no-such-cert|ENOENT/);
    expect(processesMentioning(folder)).toEqual([]);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('a reserved port taken before the node binds it: the boot is retried with fresh ports', async () => {
    const squatters: net.Server[] = [];
    const asked: string[] = [];
    const target = await startBundledTarget({
      nodes: 2,
      proxied: async (name, direct) => {
        asked.push(name);
        if (name === 'broker-1' && squatters.length === 0) {
          const squatter = net.createServer();
          await new Promise<void>((r) => squatter.listen(Number(direct.split(':')[1]), '127.0.0.1', r));
          squatters.push(squatter);
        }
        return undefined;
      },
    });
    try {
      expect(asked).toEqual(['broker-0', 'broker-1', 'broker-0', 'broker-1']);
      const squatted = (squatters[0]!.address() as net.AddressInfo).port;
      expect(target.nodes.map((n) => n.directEndpoint)).not.toContain(`127.0.0.1:${squatted}`);
      await target.provision([{ name: 'after-retry', queues: 1, type: 'NORMAL' }], []);
    } finally {
      await target.stop();
      for (const s of squatters) s.close();
    }
  });
});

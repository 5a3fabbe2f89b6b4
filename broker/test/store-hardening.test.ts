/**
 * Regression tests for the store findings of issue #12, each through the official Node.js client against a broker
 * process (or an in-process broker where the fault has to be injected into the store):
 *   - recovery cut acknowledged records after one bad record in the scanned part of the active segment;
 *   - a group's saved offset beyond a cut queue end silently skipped the new messages;
 *   - a bad record in a sealed segment crash-looped the broker (retention timer);
 *   - one corrupt record blocked its queue forever with INTERNAL_ERROR carrying the data path;
 *   - a full append queue answered INTERNAL_ERROR instead of TOO_MANY_REQUESTS;
 *   - a deleted index checkpoint or group-state file was recovered without a log line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { afterEach, describe, expect, test } from 'vitest';
import { AdjustableClock } from '../../lib/clock.ts';
import {
  admin,
  type BrokerProcess,
  eventually,
  shutdownAll,
  spawnBroker,
  startProducer,
  startSimpleConsumer,
  waitForExit,
} from '../../test/kit/index.ts';
import { type BrokerConfig, defaultBrokerConfig, type RunningBroker, startBroker } from '../server.ts';
import { checkRecord } from '../store/file/record.ts';
import { MemoryMessageStore } from '../store/memory/memory-store.ts';
import { type MessageRecord, StoreFullError } from '../store/types.ts';

let dataDir: string;
let broker: BrokerProcess | undefined;
let inProcess: RunningBroker | undefined;
const clients: Array<Producer | SimpleConsumer> = [];

afterEach(async () => {
  await shutdownAll(...clients.splice(0));
  broker?.child.kill('SIGKILL');
  if (broker) await waitForExit(broker.child).catch(() => null);
  broker = undefined;
  await inProcess?.close();
  inProcess = undefined;
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function newDataDir(): string {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-hardening-'));
  return dataDir;
}

async function start(config: Partial<BrokerConfig> = {}): Promise<BrokerProcess> {
  const configFile = path.join(dataDir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ flush: 'sync', ...config }));
  broker = await spawnBroker(dataDir, ['--config', configFile]);
  return broker;
}

async function stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  broker?.child.kill(signal);
  if (broker) await waitForExit(broker.child);
  broker = undefined;
}

async function sendMany(endpoints: string, topic: string, count: number, bodyBytes = 64): Promise<string[]> {
  const producer = await startProducer(endpoints, [topic]);
  clients.push(producer);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const receipt = await producer.send({ topic, body: Buffer.from(`${topic}-${i}-`.padEnd(bodyBytes, 'x')) });
    ids.push(receipt.messageId);
  }
  return ids;
}

/** Receives and acks until `expected` ids were seen or receives come back empty; every receive error is kept. */
async function drain(endpoints: string, group: string, topic: string, expected: number) {
  const consumer = await startSimpleConsumer(endpoints, group, { [topic]: '*' }, 1000);
  clients.push(consumer);
  const ids: string[] = [];
  const errors: Error[] = [];
  let empty = 0;
  for (let round = 0; round < 400 && ids.length < expected && empty < 4; round++) {
    try {
      const batch = await consumer.receive(32, 30_000);
      empty = batch.length === 0 ? empty + 1 : 0;
      for (const m of batch) {
        ids.push(m.messageId);
        await consumer.ack(m);
      }
    } catch (error) {
      errors.push(error as Error);
      if (errors.length > 5) break;
    }
  }
  return { ids, errors };
}

/** The records of a segment file in order: [position, size, body]. */
function recordsOf(file: string): Array<{ position: number; size: number; bodyAt: number }> {
  const bytes = fs.readFileSync(file);
  const out: Array<{ position: number; size: number; bodyAt: number }> = [];
  for (let position = 0; position < bytes.length; ) {
    const check = checkRecord(bytes, position, bytes.length - position);
    if (!check.ok) break;
    const { sizeBytes, topicBytes, propsBytes } = check.header;
    out.push({ position, size: sizeBytes, bodyAt: position + 44 + topicBytes + propsBytes });
    position += sizeBytes;
  }
  return out;
}

function flipByte(file: string, position: number): void {
  const bytes = fs.readFileSync(file);
  bytes[position] = bytes[position]! ^ 0x5a;
  fs.writeFileSync(file, bytes);
}

const storeDir = () => path.join(dataDir, 'store');
const segments = () =>
  fs
    .readdirSync(path.join(storeDir(), 'commitlog'))
    .sort()
    .map((name) => path.join(storeDir(), 'commitlog', name));
const logText = () => broker?.logs.join('') ?? '';
/** The broker's stdout arrives asynchronously: wait (bounded) until it holds the pattern, then return all of it. */
async function logsWith(pattern: string | RegExp): Promise<string> {
  const holds = () => (typeof pattern === 'string' ? logText().includes(pattern) : pattern.test(logText()));
  await eventually(holds, 10_000);
  return logText();
}

describe('store hardening (#12): findings from the damaged-store and full-disk drills', () => {
  test('recovery keeps every record after a bad one in the scanned active segment (was: cut)', async () => {
    newDataDir();
    const b = await start({ topics: [{ name: 'cut', queues: 1 }], groups: [{ name: 'g' }] });
    const acked = await sendMany(b.endpoints, 'cut', 200);
    await shutdownAll(...clients.splice(0));
    await stop('SIGKILL');
    // Recovery scans from the index checkpoint to the end; without one it scans the whole active segment.
    fs.rmSync(path.join(storeDir(), 'index', 'checkpoint'), { force: true });
    const [active] = segments();
    const victim = recordsOf(active!)[50]!;
    flipByte(active!, victim.bodyAt + 3);

    const after = await start({ topics: [{ name: 'cut', queues: 1 }], groups: [{ name: 'g' }] });
    const { ids, errors } = await drain(after.endpoints, 'g', 'cut', 199);
    expect(errors).toEqual([]);
    expect(new Set(ids)).toEqual(new Set(acked.filter((_, i) => i !== 50)));
    expect(await logsWith('"case":"quarantined"')).not.toContain('torn-tail');
    expect(logText()).not.toContain('never covered by an fsync');
    const quarantine = (await admin(after.endpoints, 'GET', '/quarantine')) as { quarantined: unknown[] };
    expect(quarantine.quarantined).toEqual([
      expect.objectContaining({ kind: 'log-range', commitLogOffset: victim.position, bytes: victim.size }),
    ]);
  });

  test('a group offset beyond a cut queue end is clamped with a log line; the group gets new messages', async () => {
    newDataDir();
    const config = { topics: [{ name: 'clamp', queues: 1 }], groups: [{ name: 'g' }] };
    const b = await start(config);
    await sendMany(b.endpoints, 'clamp', 10);
    const first = await drain(b.endpoints, 'g', 'clamp', 10);
    expect(first.ids).toHaveLength(10);
    const stateFile = path.join(dataDir, 'group-state.json');
    const saved = () => fs.existsSync(stateFile) && fs.readFileSync(stateFile, 'utf8').includes('"floor":10');
    expect(await eventually(saved, 15_000)).toBe(true);
    await shutdownAll(...clients.splice(0));
    await stop('SIGTERM');
    // A torn tail (async flush and power loss are enough) cuts the last three records.
    const [active] = segments();
    const records = recordsOf(active!);
    fs.truncateSync(active!, records[7]!.position + 10);

    const after = await start(config);
    expect(await logsWith('consumer group offset was beyond its queue end')).toMatch(/"savedOffset":10,"queueEnd":7/);
    const fresh = await sendMany(after.endpoints, 'clamp', 3);
    const second = await drain(after.endpoints, 'g', 'clamp', 3);
    expect(second.errors).toEqual([]);
    expect(second.ids.sort()).toEqual([...fresh].sort());
  });

  test('a bad record in a sealed segment neither crashes the broker nor blocks its queue', async () => {
    newDataDir();
    const config = {
      segmentBytesMax: 4096,
      retentionMs: 3_600_000,
      topics: [{ name: 'seal', queues: 1 }],
      groups: [{ name: 'g' }],
    };
    const b = await start(config);
    const acked = await sendMany(b.endpoints, 'seal', 100, 200);
    await shutdownAll(...clients.splice(0));
    await stop('SIGTERM');
    const sealed = segments()[0]!;
    expect(segments().length).toBeGreaterThan(3);
    const victim = recordsOf(sealed)[3]!;
    flipByte(sealed, victim.bodyAt + 5);

    const after = await start(config);
    // The retention timer (every second) scans the sealed segment: it used to throw about 1.5 s after start.
    const health = async () => (await admin(after.endpoints, 'GET', '/health')) as { uptimeMs: number };
    for (let i = 0; i < 100 && (await health()).uptimeMs < 3000; i++) await new Promise((r) => setTimeout(r, 100));
    expect(after.child.exitCode).toBeNull();
    const { ids, errors } = await drain(after.endpoints, 'g', 'seal', 99);
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(new Set(ids)).toEqual(new Set(acked.filter((_, i) => i !== 3)));
    expect(after.child.exitCode).toBeNull();
    const quarantine = (await admin(after.endpoints, 'GET', '/quarantine')) as { quarantined: unknown[] };
    expect(quarantine.quarantined).toEqual([
      expect.objectContaining({
        kind: 'record',
        topic: 'seal',
        queueOffset: 3,
        file: expect.stringMatching(/^commitlog\//),
      }),
    ]);
    const metrics = await (await fetch(`http://${after.endpoints}/metrics`)).text();
    expect(metrics).toMatch(/^mqdrill_store_quarantined_records_total 1$/m);
    expect(JSON.stringify(quarantine)).not.toContain(dataDir);
  });

  test('a full append queue answers the retriable TOO_MANY_REQUESTS (was INTERNAL_ERROR)', async () => {
    newDataDir();
    const store = new MemoryMessageStore({ dataDir, flush: 'sync', flushIntervalMs: 10, segmentBytesMax: 1 << 20 });
    const append = store.append.bind(store);
    store.append = (records: MessageRecord[]) =>
      records.some((r) => r.topic === 'busy')
        ? Promise.reject(new StoreFullError('store-pending-appends', 1))
        : append(records);
    const config = { ...defaultBrokerConfig, dataDir, port: 0, topics: [{ name: 'busy', queues: 1 }] };
    inProcess = await startBroker(config, new AdjustableClock(), () => {}, store);
    const producer = await startProducer(`127.0.0.1:${inProcess.port}`, ['busy']);
    clients.push(producer);
    const error = await producer.send({ topic: 'busy', body: Buffer.from('x') }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 42900, name: 'TooManyRequestsException' });
    expect((error as Error).message).toContain('store-pending-appends is full');
  });

  test('a deleted index checkpoint and a deleted group-state file are recovered with a log line each', async () => {
    newDataDir();
    const config = { topics: [{ name: 'lost', queues: 2 }], groups: [{ name: 'g' }] };
    const b = await start(config);
    await sendMany(b.endpoints, 'lost', 20);
    const first = await drain(b.endpoints, 'g', 'lost', 20);
    expect(first.ids).toHaveLength(20);
    await shutdownAll(...clients.splice(0));
    await stop('SIGTERM');
    fs.rmSync(path.join(storeDir(), 'index', 'checkpoint'));
    fs.rmSync(path.join(dataDir, 'group-state.json'));

    await start(config);
    expect(await logsWith(/"case":"checkpoint-missing".*index checkpoint not usable/)).toBeTruthy();
    expect(await logsWith('group state not restored: every consumer group starts again')).toContain(
      'a full redelivery of up to 20 stored messages',
    );
  });
});

describe('store errors as clients see them', () => {
  test('an internal error names no server path; disk full is the distinct INTERNAL_SERVER_ERROR', async () => {
    const { statusOf } = await import('../protocol/convert.ts');
    const { StoreCorruptError, StoreDiskFullError } = await import('../store/types.ts');
    const corrupt = statusOf(new StoreCorruptError('/var/lib/mq/store/commitlog/00000000000000000000', 7, 'bad'));
    expect(corrupt.code).toBe('INTERNAL_ERROR');
    expect(corrupt.message).not.toContain('/var/lib');
    const open = statusOf(new Error("ENOSPC: no space left on device, open '/data/mq/store/index/t@0.cq'"));
    expect(open.message).toBe("internal error: ENOSPC: no space left on device, open '<path>'");
    expect(statusOf(new StoreDiskFullError('the disk is 95.0% used, over the limit of 90.0%'))).toMatchObject({
      code: 'INTERNAL_SERVER_ERROR',
      message: expect.stringMatching(/^disk full: .* retry later$/),
    });
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  eventually,
  processesMentioning,
  receiveUntil,
  shutdownAll,
  startProducer,
  startSimpleConsumer,
  withRetries,
} from '../../test/kit/index.ts';
import { bundledOptionErrors } from './bundled.ts';
import { startTarget } from './index.ts';
import type { Target } from './types.ts';

let dataDir: string;
let target: Target;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-deploy-shards-'));
  target = await startTarget({ kind: 'bundled', shards: 2, flush: 'sync' }, { dataDir });
  await target.provision([{ name: 'sharded', queues: 2, type: 'NORMAL' }], [{ name: 'sharded-g' }]);
}, 120_000);

afterAll(async () => {
  await target?.stop();
  for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('bundled target with shards: one node, two shard processes', () => {
  test('a node cannot be both sharded and one of several', () => {
    expect(bundledOptionErrors({ nodes: 2, shards: 2 })).toEqual(['shards > 1 needs nodes = 1 (one sharded broker)']);
    expect(bundledOptionErrors({ nodes: 1, shards: 0 })).toEqual(['shards must be an integer from 1 to 64, not 0']);
  });

  test('kill -9 of the node kills every shard at once; restarted, every acknowledged send is delivered', async () => {
    const shardDirs = ['shard-0', 'shard-1'].map((s) => path.join(dataDir, 'broker-0', 'data', s));
    for (const d of shardDirs) expect(processesMentioning(d), d).toHaveLength(1);
    const producer = await startProducer(target.access.endpoint, ['sharded']);
    const sent = new Set<string>();
    for (let i = 0; i < 30; i++)
      sent.add((await producer.send({ topic: 'sharded', body: Buffer.from(`m${i}`) })).messageId);
    await shutdownAll(producer);
    await target.processes?.kill('broker-0', 'SIGKILL');
    expect(await eventually(() => shardDirs.every((d) => processesMentioning(d).length === 0), 10_000)).toBe(true);
    await target.processes?.restart('broker-0');
    const consumer = await withRetries(
      () => startSimpleConsumer(target.access.endpoint, 'sharded-g', { sharded: '*' }),
      10,
      1000,
    );
    // A connection shared with the killed producer may still be in its reconnect backoff: receiveUntil retries.
    const got = await receiveUntil(consumer, (g) => g.length >= sent.size, 100);
    await shutdownAll(consumer);
    expect(new Set(got.map((m) => m.messageId))).toEqual(sent);
  }, 180_000);
});

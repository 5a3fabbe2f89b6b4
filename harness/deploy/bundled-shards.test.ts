import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MessageView } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, shutdownAll, startProducer, startSimpleConsumer, withRetries } from '../../test/kit/index.ts';
import { bundledOptionErrors } from './bundled.ts';
import { startTarget } from './index.ts';
import type { Target } from './types.ts';

/** Pids whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

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
    const got: MessageView[] = [];
    for (let round = 0; round < 100 && got.length < sent.size; round++) {
      // A connection shared with the killed producer may still be in its reconnect backoff: try again next round.
      const batch = await consumer.receive(32, 15_000).catch(async () => {
        await new Promise((r) => setTimeout(r, 500));
        return [];
      });
      for (const m of batch) {
        got.push(m);
        await consumer.ack(m);
      }
    }
    await shutdownAll(consumer);
    expect(new Set(got.map((m) => m.messageId))).toEqual(sent);
  }, 180_000);
});

/**
 * Disk full, for real: a broker process whose data directory is a small tmpfs (mounted by this test; it runs as root
 * in CI) that a ballast file fills to ENOSPC. Through the official Node.js client: sends fail with the distinct,
 * retriable INTERNAL_SERVER_ERROR (was INTERNAL_ERROR ENOSPC), receives and acks keep working, /health says
 * read-only; once the ballast is deleted, sends work again without a restart, and every acknowledged message is
 * delivered exactly once. The disk-usage guard (refusal before the disk is full) is tested in file-store.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  admin,
  type BrokerProcess,
  shutdownAll,
  spawnBroker,
  startProducer,
  startSimpleConsumer,
  waitForExit,
} from '../../test/kit/index.ts';

let mountDir: string;
let mounted = false;
let broker: BrokerProcess | undefined;

beforeAll(() => {
  mountDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-diskfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountDir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `this test mounts a tmpfs and needs root (CI runs as root): mount -t tmpfs ... ${mountDir} failed: ` +
        `${(error as { stderr?: Buffer }).stderr?.toString().trim() ?? error}`,
    );
  }
  mounted = true;
});

afterAll(async () => {
  broker?.child.kill('SIGKILL');
  if (broker) await waitForExit(broker.child).catch(() => null);
  if (mounted) execFileSync('umount', [mountDir]);
  fs.rmSync(mountDir, { recursive: true, force: true });
});

/** Writes the ballast until the file system says ENOSPC. */
function fillDisk(file: string): number {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += fs.writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

test('disk full (tmpfs): retriable status, reads and acks go on, writes resume, nothing lost', async () => {
  const dataDir = path.join(mountDir, 'data');
  const configFile = path.join(mountDir, 'config.json');
  const config = {
    flush: 'sync',
    // The guard is off here so the store really meets ENOSPC; diskCheckIntervalMs is how soon it looks again.
    diskUsedRatioMax: 1,
    diskCheckIntervalMs: 200,
    segmentBytesMax: 1024 * 1024,
    topics: [{ name: 'full', queues: 2 }],
    groups: [{ name: 'g' }],
  };
  fs.writeFileSync(configFile, JSON.stringify(config));
  broker = await spawnBroker(dataDir, ['--config', configFile]);
  const endpoints = broker.endpoints;
  const producer = await startProducer(endpoints, ['full']);
  const consumer = await startSimpleConsumer(endpoints, 'g', { full: '*' }, 1000);
  const body = (tag: string) => Buffer.alloc(8 * 1024, tag);
  const acked: string[] = [];
  for (let i = 0; i < 20; i++)
    acked.push((await producer.send({ topic: 'full', body: body(`before-${i}`) })).messageId);

  const ballast = path.join(mountDir, 'ballast');
  expect(fillDisk(ballast)).toBeGreaterThan(0);
  const failures: Array<{ code?: number; message: string }> = [];
  for (let i = 0; i < 10; i++) {
    try {
      acked.push((await producer.send({ topic: 'full', body: body(`during-${i}`) })).messageId);
    } catch (error) {
      failures.push(error as { code?: number; message: string });
    }
  }
  expect(failures.length).toBeGreaterThan(0);
  for (const failure of failures) {
    expect(failure.code).toBe(50001);
    expect(failure.message).toMatch(/disk full: .*retry later/);
    expect(failure.message).not.toContain(mountDir);
  }
  const health = (await admin(endpoints, 'GET', '/health')) as { status: string; write: { writable: boolean } };
  expect(health).toMatchObject({ status: 'read-only', write: { writable: false } });

  // Reads and acks during the full disk.
  const delivered: string[] = [];
  const receiveSome = async () => {
    const batch = await consumer.receive(16, 30_000);
    for (const m of batch) {
      delivered.push(m.messageId);
      await consumer.ack(m);
    }
    return batch.length;
  };
  expect(await receiveSome()).toBeGreaterThan(0);

  fs.rmSync(ballast);
  const writable = async () =>
    ((await admin(endpoints, 'GET', '/health')) as { write: { writable: boolean } }).write.writable;
  let resumed = false;
  for (let i = 0; i < 100 && !resumed; i++) {
    resumed = await writable();
    if (!resumed) await new Promise((r) => setTimeout(r, 100));
  }
  expect(resumed).toBe(true);
  for (let i = 0; i < 20; i++) acked.push((await producer.send({ topic: 'full', body: body(`after-${i}`) })).messageId);

  let empty = 0;
  for (let round = 0; round < 200 && empty < 3; round++) empty = (await receiveSome()) === 0 ? empty + 1 : 0;
  expect(new Set(delivered).size).toBe(delivered.length);
  expect(new Set(delivered)).toEqual(new Set(acked));
  expect(broker.child.exitCode).toBeNull();
  await shutdownAll(producer, consumer);
});

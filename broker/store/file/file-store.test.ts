import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../../lib/clock.ts';
import { defaultTestOptions, makeTempDir, TestStoreFs, testRecord } from '../testing.ts';
import { StoreClosedError, StoreDiskFullError, type StoreOptions } from '../types.ts';
import { FileMessageStore } from './file-store.ts';

describe('file store', () => {
  let dataDir: string;
  let clock: ManualClock;
  let testFs: TestStoreFs;
  const stores: FileMessageStore[] = [];

  beforeEach(() => {
    dataDir = makeTempDir();
    clock = new ManualClock();
    testFs = new TestStoreFs();
  });
  afterEach(async () => {
    testFs.releaseAll();
    for (const store of stores.splice(0)) await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function openStore(overrides: Partial<StoreOptions> = {}): Promise<FileMessageStore> {
    const store = new FileMessageStore({ ...defaultTestOptions(dataDir), ...overrides }, { clock, fs: testFs });
    stores.push(store);
    await store.open();
    return store;
  }

  test('open of an empty data dir creates commitlog/ and index/ and reports a clean, empty store', async () => {
    const store = new FileMessageStore(defaultTestOptions(dataDir), { clock });
    stores.push(store);
    const report = await store.open();
    expect(readdirSync(dataDir).sort()).toEqual(['commitlog', 'index', 'quarantine']);
    expect(report).toMatchObject({ segmentCount: 0, messageCount: 0, logBytesScanned: 0 });
    expect(report.actions.map((a) => a.case)).toEqual(['clean']);
  });

  test('reopen keeps every message, offset, property and body; appends continue after the last offset', async () => {
    const first = await openStore({ segmentBytesMax: 2048 });
    for (let n = 0; n < 30; n++) await first.append([testRecord('t', n % 3, n, { tag: `tag${n % 2}` })]);
    const before = [0, 1, 2].map((q) => first.read('t', q, 0, 100));
    const logBytes = first.stats().commitLogBytes;
    await first.close();
    const second = await openStore({ segmentBytesMax: 2048 });
    expect([0, 1, 2].map((q) => second.read('t', q, 0, 100))).toEqual(before);
    expect(second.queues()).toHaveLength(3);
    const [next] = await second.append([testRecord('t', 0, 30)]);
    expect(next?.queueOffset).toBe(10);
    expect(next?.commitLogOffset).toBe(logBytes);
  });

  test('segment files are named by their 20-digit base offset and join end to end', async () => {
    const store = await openStore({ segmentBytesMax: 1024 });
    for (let n = 0; n < 12; n++) await store.append([testRecord('t', 0, n, { bodyBytes: 300 })]);
    const names = readdirSync(join(dataDir, 'commitlog')).sort();
    expect(names.length).toBeGreaterThan(2);
    let expectedBase = 0;
    for (const name of names) {
      expect(name).toBe(String(expectedBase).padStart(20, '0'));
      expectedBase += statSync(join(dataDir, 'commitlog', name)).size;
    }
    expect(expectedBase).toBe(store.stats().commitLogBytes);
  });

  test('flush sync: an append resolves only after the fdatasync that covers its record', async () => {
    const store = await openStore({ flush: 'sync' });
    testFs.holding.add('datasync');
    let resolved = false;
    const sent = store.append([testRecord('t', 0, 0)]).then(() => {
      resolved = true;
    });
    await testFs.whenHeld('datasync');
    expect(testFs.logCalls()).toEqual(['write', 'datasync']);
    expect(resolved).toBe(false);
    expect(store.queueRange('t', 0).maxOffset).toBe(0);
    testFs.releaseAll();
    await sent;
    expect(resolved).toBe(true);
    expect(testFs.logDatasyncCount).toBe(1);
    expect(store.stats().flushCount).toBe(1);
  });

  test('flush sync: appends that arrive while an fsync runs share the next fsync (group commit)', async () => {
    const store = await openStore({ flush: 'sync' });
    testFs.holding.add('datasync');
    const first = store.append([testRecord('t', 0, 0)]);
    await testFs.whenHeld('datasync');
    const later = Array.from({ length: 10 }, (_, i) => store.append([testRecord('t', 1, i)]));
    expect(store.stats().pendingAppends).toBe(11);
    testFs.releaseAll();
    await Promise.all([first, ...later]);
    expect(testFs.logDatasyncCount).toBe(2);
    expect(store.stats()).toMatchObject({ flushCount: 2, writeBatchCount: 2, pendingAppends: 0 });
  });

  test('flush async: an append resolves once written, and the flushIntervalMs timer fsyncs', async () => {
    const store = await openStore({ flush: 'async', flushIntervalMs: 50 });
    await store.append([testRecord('t', 0, 0)]);
    await store.append([testRecord('t', 0, 1)]);
    expect(testFs.logDatasyncCount).toBe(0);
    expect(store.read('t', 0, 0, 10)).toHaveLength(2);
    testFs.holding.add('datasync');
    clock.advance(50);
    await testFs.whenHeld('datasync');
    testFs.releaseAll();
    await store.close();
    expect(testFs.logDatasyncCount).toBe(1);
  });

  test('flush async: a due fsync runs between batches even while appends keep coming', async () => {
    const store = await openStore({ flush: 'async', flushIntervalMs: 50 });
    testFs.holding.add('write');
    const first = store.append([testRecord('t', 0, 0)]);
    await testFs.whenHeld('write');
    clock.advance(50);
    const second = store.append([testRecord('t', 0, 1)]);
    testFs.releaseAll();
    await Promise.all([first, second]);
    expect(testFs.logCalls()).toEqual(['write', 'datasync', 'write']);
  });

  test('a failed write is sticky: the append and every later one reject with that error', async () => {
    const store = await openStore();
    await store.append([testRecord('t', 0, 0)]);
    const eio = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    testFs.failNext('write', eio);
    await expect(store.append([testRecord('t', 0, 1)])).rejects.toBe(eio);
    await expect(store.append([testRecord('t', 0, 2)])).rejects.toBe(eio);
    expect(store.read('t', 0, 0, 10).map((m) => m.queueOffset)).toEqual([0]);
    expect(store.writeState()).toMatchObject({ writable: false });
  });

  test('ENOSPC on a log write is not sticky: refused until the next disk check, then offsets go on', async () => {
    const logs: string[] = [];
    let usedRatio = 0.999;
    const store = new FileMessageStore(
      { ...defaultTestOptions(dataDir), diskUsedRatioMax: 1, diskCheckIntervalMs: 500 },
      { clock, fs: testFs, log: (_level, msg) => logs.push(msg), diskUsedRatio: () => usedRatio },
    );
    stores.push(store);
    await store.open();
    await store.append([testRecord('t', 0, 0)]);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    testFs.failNext('write', enospc);
    const failed = [store.append([testRecord('t', 0, 1)]), store.append([testRecord('t', 1, 2)])];
    for (const append of failed) await expect(append).rejects.toBeInstanceOf(StoreDiskFullError);
    expect(store.writeState()).toMatchObject({ writable: false, reason: expect.stringContaining('ENOSPC') });
    await expect(store.append([testRecord('t', 0, 3)])).rejects.toThrow(/^disk full: .*retry later$/);
    expect(store.stats().diskFullRejectedCount).toBe(1);
    expect(store.read('t', 0, 0, 10).map((m) => m.queueOffset)).toEqual([0]);
    await clock.advance(500);
    expect(store.writeState().writable).toBe(false); // nothing was freed yet
    usedRatio = 0.7;
    await clock.advance(500);
    expect(store.writeState()).toMatchObject({ writable: true });
    const [next] = await store.append([testRecord('t', 0, 4)]);
    expect(next?.queueOffset).toBe(1);
    expect(store.read('t', 0, 0, 10).map((m) => m.props.messageId)).toEqual(['msg-t-0-0', 'msg-t-0-4']);
    expect(logs).toEqual([
      'store refuses appends until disk space is freed; reads and acks go on',
      'store accepts appends again: disk space is back',
    ]);
    await store.close();
    const reopened = await openStore();
    expect(reopened.read('t', 0, 0, 10).map((m) => m.props.messageId)).toEqual(['msg-t-0-0', 'msg-t-0-4']);
  });

  test('disk guard: appends are refused above diskUsedRatioMax and resume below it; reads go on', async () => {
    let usedRatio = 0.5;
    const store = new FileMessageStore(
      { ...defaultTestOptions(dataDir), diskUsedRatioMax: 0.9, diskCheckIntervalMs: 1000 },
      { clock, fs: testFs, log: () => {}, diskUsedRatio: () => usedRatio },
    );
    stores.push(store);
    await store.open();
    await store.append([testRecord('t', 0, 0)]);
    usedRatio = 0.93;
    await clock.advance(1000);
    expect(store.writeState()).toEqual({
      writable: false,
      reason: 'the disk is 93.0% used, over the limit of 90.0%',
      diskUsedRatio: 0.93,
      diskUsedRatioMax: 0.9,
    });
    await expect(store.append([testRecord('t', 0, 1)])).rejects.toBeInstanceOf(StoreDiskFullError);
    expect(store.read('t', 0, 0, 10)).toHaveLength(1);
    usedRatio = 0.89;
    await clock.advance(1000);
    expect(store.writeState().writable).toBe(true);
    expect((await store.append([testRecord('t', 0, 2)]))[0]?.queueOffset).toBe(1);
  });

  test('a failed fsync is sticky: records it should have covered never become visible', async () => {
    const store = await openStore({ flush: 'sync' });
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    testFs.failNext('datasync', eio);
    const sends = [store.append([testRecord('t', 0, 0)]), store.append([testRecord('t', 0, 1)])];
    await expect(sends[0]).rejects.toBe(eio);
    await expect(sends[1]).rejects.toBe(eio);
    await expect(store.append([testRecord('t', 0, 2)])).rejects.toBe(eio);
    expect(store.queueRange('t', 0).maxOffset).toBe(0);
  });

  test('a consistent store reopens reading no commit log bytes (only the index tail is checked)', async () => {
    const first = await openStore({ segmentBytesMax: 4096 });
    for (let n = 0; n < 200; n++) await first.append([testRecord('t', n % 4, n)]);
    await first.close();
    const second = new FileMessageStore({ ...defaultTestOptions(dataDir), segmentBytesMax: 4096 }, { clock });
    stores.push(second);
    const report = await second.open();
    expect(report.actions.map((a) => a.case)).toEqual(['clean']);
    expect(report.logBytesScanned).toBe(0);
    expect(report.messageCount).toBe(200);
  });

  test('retention survives reopen: minOffset after reopen is past the deleted segments', async () => {
    const first = await openStore({ segmentBytesMax: 1024, retentionBytesMax: 1024 });
    for (let n = 0; n < 16; n++) await first.append([testRecord('t', 0, n, { bodyBytes: 200 })]);
    expect(first.applyRetention(clock.wallMs())).toBeGreaterThan(0);
    const range = first.queueRange('t', 0);
    await first.close();
    const second = await openStore({ segmentBytesMax: 1024 });
    expect(second.queueRange('t', 0)).toEqual(range);
    expect(second.read('t', 0, 0, 1)[0]?.queueOffset).toBe(range.minOffset);
  });

  test('reads after close throw StoreClosedError', async () => {
    const store = await openStore();
    await store.append([testRecord('t', 0, 0)]);
    await store.close();
    expect(() => store.read('t', 0, 0, 1)).toThrow(StoreClosedError);
  });
});

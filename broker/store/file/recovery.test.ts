/**
 * One test per row of the recovery decision table (recovery.ts, docs/store.md). Each writes a store, closes it,
 * damages the temp directory by hand, and checks what open() reports and what the store then holds.
 */
import { appendFileSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../../lib/clock.ts';
import { defaultTestOptions, makeTempDir, testRecord } from '../testing.ts';
import { StoreCorruptError, type StoreOptions } from '../types.ts';
import { encodeIndexEntry, INDEX_ENTRY_BYTES } from './consume-queue.ts';
import { FileMessageStore } from './file-store.ts';

describe('recovery decision table', () => {
  let dataDir: string;
  const stores: FileMessageStore[] = [];
  const options = (): StoreOptions => ({ ...defaultTestOptions(dataDir), segmentBytesMax: 2048 });

  beforeEach(() => {
    dataDir = makeTempDir();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function makeStore(): FileMessageStore {
    const store = new FileMessageStore(options(), { clock: new ManualClock() });
    stores.push(store);
    return store;
  }

  /** Writes count records round-robin over queueCount queues of topic 't', closes the store. */
  async function writeAndClose(count: number, queueCount = 1): Promise<void> {
    const store = makeStore();
    await store.open();
    for (let n = 0; n < count; n++) await store.append([testRecord('t', n % queueCount, n, { bodyBytes: 100 })]);
    await store.close();
  }

  const segmentPaths = () =>
    readdirSync(join(dataDir, 'commitlog'))
      .sort()
      .map((name) => join(dataDir, 'commitlog', name));
  const indexPath = (queueId: number) => join(dataDir, 'index', `t@${queueId}.cq`);

  function readAll(store: FileMessageStore, queueId: number): string[] {
    return store.read('t', queueId, 0, 1000).map((m) => m.props.messageId);
  }
  const ids = (queueId: number, queueCount: number, count: number) =>
    Array.from({ length: count }, (_, n) => n)
      .filter((n) => n % queueCount === queueId)
      .map((n) => `msg-t-${queueId}-${n}`);

  test('recovery: clean (closed store reopens, nothing to do, no log bytes read)', async () => {
    await writeAndClose(40);
    const report = await makeStore().open();
    expect(report.actions.map((a) => a.case)).toEqual(['clean']);
    expect(report).toMatchObject({ messageCount: 40, logBytesScanned: 0 });
  });

  test('recovery: torn tail (last record half-written) is cut and reported; earlier records survive', async () => {
    await writeAndClose(20);
    const last = segmentPaths().at(-1)!;
    const sizeBefore = statSync(last).size;
    truncateSync(last, sizeBefore - 10);
    const store = makeStore();
    const report = await store.open();
    const torn = report.actions.find((a) => a.case === 'torn-tail');
    expect(torn?.file).toBe(last);
    expect(torn?.detail).toMatch(/^cut \d+ bytes at byte \d+/);
    expect(report.actions.map((a) => a.case)).toEqual(['torn-tail', 'index-ahead']);
    expect(readAll(store, 0)).toEqual(ids(0, 1, 19));
    const [next] = await store.append([testRecord('t', 0, 19)]);
    expect(next?.queueOffset).toBe(19);
  });

  test('recovery: torn tail (zeros after the last record, as from unwritten pages) is cut, nothing lost', async () => {
    await writeAndClose(20);
    const last = segmentPaths().at(-1)!;
    appendFileSync(last, Buffer.alloc(700));
    const store = makeStore();
    const report = await store.open();
    expect(report.actions.map((a) => a.case)).toEqual(['torn-tail']);
    expect(report.actions[0]?.detail).toContain('cut 700 bytes');
    expect(readAll(store, 0)).toEqual(ids(0, 1, 20));
  });

  test('recovery: index ahead of the log (log cut at a record boundary) trims the index', async () => {
    await writeAndClose(20);
    const last = segmentPaths().at(-1)!;
    const lastBase = Number(last.slice(-20));
    const probe = makeStore();
    await probe.open();
    const inLast = probe.read('t', 0, 0, 100).filter((m) => m.commitLogOffset >= lastBase);
    await probe.close();
    expect(inLast.length).toBeGreaterThanOrEqual(2);
    const cut = inLast.at(-2)!;
    truncateSync(last, cut.commitLogOffset - lastBase);
    const store = makeStore();
    const report = await store.open();
    expect(report.actions.map((a) => a.case)).toEqual(['index-ahead']);
    expect(report.actions[0]).toMatchObject({ file: indexPath(0) });
    expect(report.actions[0]?.detail).toContain('trimmed 2 of 20 entries');
    expect(store.queueRange('t', 0)).toEqual({ minOffset: 0, maxOffset: 18 });
    expect(readAll(store, 0)).toEqual(ids(0, 1, 18));
    const [next] = await store.append([testRecord('t', 0, 18)]);
    expect(next).toMatchObject({ queueOffset: 18, commitLogOffset: cut.commitLogOffset });
  });

  test('recovery: index behind the log (index file lost its last entries) adds them from the log', async () => {
    await writeAndClose(30, 3);
    const path = indexPath(1);
    truncateSync(path, statSync(path).size - 4 * INDEX_ENTRY_BYTES);
    const store = makeStore();
    const report = await store.open();
    expect(report.actions).toEqual([
      { case: 'index-behind', file: path, detail: 'added 4 entries from the log, up to offset 10' },
    ]);
    for (const q of [0, 1, 2]) expect(readAll(store, q)).toEqual(ids(q, 3, 30));
    expect(report.logBytesScanned).toBeLessThan(statSync(segmentPaths()[0]!).size * segmentPaths().length);
  });

  test('recovery: index behind (torn entries at the end of an index file) trims and re-adds them', async () => {
    await writeAndClose(10);
    const path = indexPath(0);
    const bytes = readFileSync(path);
    bytes.fill(0, bytes.length - 2 * INDEX_ENTRY_BYTES);
    writeFileSync(path, bytes);
    const store = makeStore();
    const report = await store.open();
    expect(report.actions.map((a) => [a.case, a.file])).toEqual([['index-behind', path]]);
    expect(readAll(store, 0)).toEqual(ids(0, 1, 10));
  });

  test('recovery: missing index (index directory deleted) is rebuilt from the log', async () => {
    await writeAndClose(30, 3);
    rmSync(join(dataDir, 'index'), { recursive: true });
    const store = makeStore();
    const report = await store.open();
    const cases = ['index-rebuilt', 'index-rebuilt', 'index-rebuilt', 'checkpoint-missing'];
    expect(report.actions.map((a) => a.case)).toEqual(cases);
    expect(report.actions[0]?.detail).toMatch(/missing; rebuilt 10 entries from the log/);
    for (const q of [0, 1, 2]) expect(readAll(store, q)).toEqual(ids(q, 3, 30));
    await store.close();
    const again = await makeStore().open();
    expect(again.actions.map((a) => a.case)).toEqual(['clean']);
  });

  test('recovery: corrupt index header is rebuilt from the log', async () => {
    await writeAndClose(30, 3);
    const path = indexPath(2);
    const bytes = readFileSync(path);
    bytes[9] = bytes[9]! ^ 0xff;
    writeFileSync(path, bytes);
    const store = makeStore();
    const report = await store.open();
    expect(report.actions).toEqual([
      { case: 'index-rebuilt', file: path, detail: 'header checksum mismatch; rebuilt 10 entries from the log' },
    ]);
    for (const q of [0, 1, 2]) expect(readAll(store, q)).toEqual(ids(q, 3, 30));
  });

  test('recovery: an index entry that disagrees with the log (pair check) rebuilds that queue', async () => {
    await writeAndClose(30, 3);
    const probe = makeStore();
    await probe.open();
    const wrong = probe.read('t', 1, 9, 1)[0]!;
    await probe.close();
    const path = indexPath(0);
    const bytes = readFileSync(path);
    const lastAt = bytes.length - INDEX_ENTRY_BYTES;
    encodeIndexEntry(bytes, lastAt, { ...wrong, tagHash: 0 }, 9);
    writeFileSync(path, bytes);
    const store = makeStore();
    const report = await store.open();
    expect(report.actions).toHaveLength(1);
    expect(report.actions[0]).toMatchObject({ case: 'index-rebuilt', file: path });
    expect(report.actions[0]?.detail).toContain('the record is t/1@9');
    for (const q of [0, 1, 2]) expect(readAll(store, q)).toEqual(ids(q, 3, 30));
  });

  test('recovery: corrupt index checkpoint makes open scan and verify the whole log', async () => {
    await writeAndClose(30, 3);
    writeFileSync(join(dataDir, 'index', 'checkpoint'), 'garbage');
    const store = makeStore();
    const report = await store.open();
    expect(report.actions.map((a) => a.case)).toEqual(['checkpoint-missing']);
    expect(report.actions[0]?.detail).toMatch(
      /index checkpoint not usable \(.*no checkpoint header\); read the whole log/,
    );
    const logBytes = segmentPaths().reduce((n, p) => n + statSync(p).size, 0);
    expect(report.logBytesScanned).toBeGreaterThanOrEqual(logBytes);
    for (const q of [0, 1, 2]) expect(readAll(store, q)).toEqual(ids(q, 3, 30));
  });

  test('recovery: bad record in a sealed segment met by a scan is quarantined; later records are kept', async () => {
    await writeAndClose(40);
    const probe = makeStore();
    await probe.open();
    const victim = probe.read('t', 0, 3, 1)[0]!;
    await probe.close();
    const sealed = segmentPaths()[0]!;
    expect(segmentPaths().length).toBeGreaterThan(1);
    const bytes = readFileSync(sealed);
    const at = victim.commitLogOffset + victim.sizeBytes - 20;
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(sealed, bytes);
    rmSync(join(dataDir, 'index'), { recursive: true });
    const store = makeStore();
    const report = await store.open();
    const quarantined = report.actions.find((a) => a.case === 'quarantined' && a.file === sealed);
    expect(quarantined?.detail).toMatch(
      new RegExp(`^${victim.sizeBytes} bytes at byte ${victim.commitLogOffset} .*checksum.*records after them pass`),
    );
    expect(report.quarantined).toEqual([
      expect.objectContaining({ kind: 'log-range', commitLogOffset: victim.commitLogOffset, bytes: victim.sizeBytes }),
    ]);
    expect(readAll(store, 0)).toEqual(ids(0, 1, 40).filter((id) => id !== 'msg-t-0-3'));
    expect(store.queueRange('t', 0)).toEqual({ minOffset: 0, maxOffset: 40 });
    expect(store.quarantined().map((q) => q.commitLogOffset)).toEqual([victim.commitLogOffset]);
  });

  test('recovery: bad record in the scanned part of the active segment is quarantined, not cut', async () => {
    await writeAndClose(20);
    const probe = makeStore();
    await probe.open();
    const victim = probe.read('t', 0, 18, 1)[0]!;
    await probe.close();
    const last = segmentPaths().at(-1)!;
    const lastBase = Number(last.slice(-20));
    expect(victim.commitLogOffset).toBeGreaterThanOrEqual(lastBase);
    const bytes = readFileSync(last);
    const at = victim.commitLogOffset - lastBase + 60;
    bytes[at] = bytes[at]! ^ 0x40;
    writeFileSync(last, bytes);
    rmSync(join(dataDir, 'index', 'checkpoint'));
    const store = makeStore();
    const report = await store.open();
    expect(report.actions.map((a) => a.case)).not.toContain('torn-tail');
    expect(report.actions.map((a) => a.case)).toContain('quarantined');
    expect(readAll(store, 0)).toEqual(ids(0, 1, 20).filter((id) => id !== 'msg-t-0-18'));
    const [next] = await store.append([testRecord('t', 0, 20)]);
    expect(next?.queueOffset).toBe(20);
  });

  test('recovery: bad checksum in a sealed segment that no scan meets is skipped by read and quarantined', async () => {
    await writeAndClose(40);
    const probe = makeStore();
    await probe.open();
    const victim = probe.read('t', 0, 3, 1)[0]!;
    await probe.close();
    const sealed = segmentPaths()[0]!;
    const bytes = readFileSync(sealed);
    bytes[victim.commitLogOffset + 50] = bytes[victim.commitLogOffset + 50]! ^ 0x01;
    writeFileSync(sealed, bytes);
    const store = makeStore();
    await store.open();
    expect(store.read('t', 0, 0, 3)).toHaveLength(3);
    expect(store.read('t', 0, 3, 1).map((m) => m.queueOffset)).toEqual([4]);
    expect(store.quarantined()).toEqual([
      expect.objectContaining({ kind: 'record', commitLogOffset: victim.commitLogOffset, queueOffset: 3 }),
    ]);
    expect(store.quarantined()[0]?.file).toBe('commitlog/00000000000000000000');
    expect(store.stats().quarantinedRecordCount).toBe(1);
  });

  test('recovery: segments that do not join end to end are fatal', async () => {
    await writeAndClose(60);
    const paths = segmentPaths();
    expect(paths.length).toBeGreaterThan(2);
    rmSync(paths[1]!);
    const error = await makeStore()
      .open()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect(error).toMatchObject({ file: paths[0] });
    expect((error as Error).message).toMatch(/next one starts at/);
  });
});

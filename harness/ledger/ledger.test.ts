import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import {
  LedgerFileCursor,
  LedgerFormatError,
  LedgerOverflowError,
  LedgerWriter,
  mergeLedgers,
  openLedgers,
  readAllEvents,
} from './index.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'mqd-ledger-'));

describe('ledger writer', () => {
  test('writer: header first, then records in order, one JSON per line', async () => {
    const path = join(dir(), 'p1.ndjson');
    const writer = new LedgerWriter(path, { process: 'p1', startedMs: 1 });
    const o = writer.nextOpId();
    writer.write({ t: 'si', ts: 10, o, id: 'm1', tp: 'orders', q: 1, g: 'g1' });
    writer.write({ t: 'sc', ts: 12, o, id: 'm1', r: 'ok', d: 2, bid: 'B1' });
    await writer.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0] as string)).toEqual({ type: 'header', version: 1, process: 'p1', startedMs: 1 });
    expect(lines.slice(1).map((l) => JSON.parse(l).t)).toEqual(['si', 'sc']);
  });

  test('writer: a partial chunk reaches the file after the flush interval (manual clock)', async () => {
    const clock = new ManualClock();
    const path = join(dir(), 'p.ndjson');
    const writer = new LedgerWriter(path, { process: 'p', startedMs: 0 }, { clock, flushIntervalMs: 500 });
    writer.write({ t: 'ph', ts: 1, n: 'load', s: 'start' });
    expect(clock.pendingTimerCount()).toBe(1);
    clock.advance(500);
    await writer.flush();
    expect(readFileSync(path, 'utf8')).toContain('"n":"load"');
    await writer.close();
  });

  test('writer: refuses to grow past its maximum instead of dropping records', async () => {
    const path = join(dir(), 'p.ndjson');
    const writer = new LedgerWriter(
      path,
      { process: 'p', startedMs: 0 },
      { chunkBytes: 1 << 20, pendingBytesHigh: 100, pendingBytesMax: 200, flushIntervalMs: 0 },
    );
    expect(writer.write({ t: 'ph', ts: 1, n: 'load', s: 'start' })).toBe(true);
    expect(writer.write({ t: 'ph', ts: 2, n: 'a-long-phase-name-to-pass-the-high-mark', s: 'start' })).toBe(false);
    expect(() => writer.write({ t: 'ph', ts: 3, n: 'x'.repeat(200), s: 'start' })).toThrow(LedgerOverflowError);
    await writer.close();
  });
});

describe('ledger reader', () => {
  test('reader: merges three files by time with file:line of every record', async () => {
    const d = dir();
    const files = ['a', 'b', 'c'].map((name) => join(d, `${name}.ndjson`));
    const times = [
      [1, 4, 7],
      [2, 5, 8],
      [3, 6, 6],
    ];
    files.forEach((file, i) => {
      const lines = [JSON.stringify({ type: 'header', version: 1, process: `p${i}`, startedMs: 0 })];
      for (const ts of times[i] as number[]) lines.push(JSON.stringify({ t: 'ph', ts, n: `p${i}`, s: 'start' }));
      writeFileSync(file, `${lines.join('\n')}\n`);
    });
    const events = await readAllEvents(files);
    expect(events.map((e) => e.event.ts)).toEqual([1, 2, 3, 4, 5, 6, 6, 7, 8]);
    expect(events[0]).toMatchObject({ file: files[0], line: 2 });
    expect(events[8]).toMatchObject({ file: files[1], line: 4 });
  });

  test('reader: corrects by the most precise clock sample so far, not a later worse one', async () => {
    const file = join(dir(), 'ck.ndjson');
    const records = [
      { type: 'header', version: 1, process: 'p', startedMs: 0 },
      { t: 'ck', ts: 1000, off: 50, err: 2 },
      { t: 'ph', ts: 1100, n: 'p', s: 'start' },
      { t: 'ck', ts: 2000, off: 400, err: 450 }, // a stalled round trip: kept out
      { t: 'ph', ts: 2100, n: 'p', s: 'start' },
      { t: 'ck', ts: 3000, off: 60, err: 1 }, // more precise: taken
      { t: 'ph', ts: 3100, n: 'p', s: 'start' },
    ];
    writeFileSync(file, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const phases = (await readAllEvents([file])).filter((e) => e.event.t === 'ph').map((e) => e.event.ts);
    expect(phases).toEqual([1050, 2050, 3040]);
  });

  test('reader: streams a file larger than one read chunk in small batches', async () => {
    const path = join(dir(), 'big.ndjson');
    const writer = new LedgerWriter(path, { process: 'p', startedMs: 0 });
    const count = 60_000;
    for (let i = 0; i < count; i++) writer.write({ t: 'si', ts: i, o: i, id: `m${i}`, tp: 'topic-with-a-name' });
    await writer.close();
    let seen = 0;
    let lastTs = -1;
    for await (const batch of mergeLedgers(await openLedgers([path]), 1000)) {
      expect(batch.length).toBeLessThanOrEqual(1000);
      for (let i = 0; i < batch.length; i++) {
        const ts = batch.records[i]?.ts as number;
        expect(ts).toBeGreaterThan(lastTs);
        lastTs = ts;
      }
      seen += batch.length;
    }
    expect(seen).toBe(count);
  });

  test('reader: a gzipped ledger reads the same as the plain one', async () => {
    const d = dir();
    const text =
      '{"type":"header","version":1,"process":"p","startedMs":0}\n{"t":"ph","ts":5,"n":"load","s":"start"}\n';
    writeFileSync(join(d, 'p.ndjson.gz'), gzipSync(text));
    const events = await readAllEvents([join(d, 'p.ndjson.gz')]);
    expect(events).toEqual([
      { event: { t: 'ph', ts: 5, n: 'load', s: 'start' }, file: join(d, 'p.ndjson.gz'), line: 2 },
    ]);
  });

  test('reader: a torn last line is reported, not fatal', async () => {
    const path = join(dir(), 'torn.ndjson');
    writeFileSync(
      path,
      '{"type":"header","version":1,"process":"p","startedMs":0}\n{"t":"ph","ts":1,"n":"x","s":"start"}\n{"t":"si","ts',
    );
    const cursor = new LedgerFileCursor(path, 0);
    await cursor.fill();
    expect(cursor.records).toHaveLength(1);
    expect(await cursor.fill()).toBe(false);
    expect(cursor.malformed).toEqual([expect.objectContaining({ line: 3, torn: true })]);
  });

  test('reader: refuses a file without a header and a future version', async () => {
    const d = dir();
    writeFileSync(join(d, 'a'), '{"t":"ph","ts":1,"n":"x","s":"start"}\n');
    writeFileSync(join(d, 'b'), '{"type":"header","version":2,"process":"p","startedMs":0}\n');
    await expect(openLedgers([join(d, 'a')])).rejects.toThrow(LedgerFormatError);
    await expect(openLedgers([join(d, 'b')])).rejects.toThrow(/version 2 is not supported/);
  });
});

import { rmSync } from 'node:fs';
import { expect, test } from 'vitest';
import { recordSizeBytes } from './file/record.ts';
import { createStore, FileMessageStore, MemoryMessageStore } from './index.ts';
import { defaultTestOptions, describeEachStore, makeTempDir, testRecord } from './testing.ts';
import { StoreClosedError, StoreFullError } from './types.ts';

describeEachStore('store conformance', (harness) => {
  test('append then read returns each record with its offset, timestamp, size and content', async () => {
    const h = harness();
    const store = await h.open();
    const record = testRecord('orders', 0, 1, { tag: 'paid' });
    const [result] = await store.append([record]);
    expect(result).toEqual({ queueOffset: 0, commitLogOffset: 0, storeTimestampMs: h.clock.wallMs() });
    const [message] = store.read('orders', 0, 0, 10);
    expect(message?.body.toString()).toBe(record.body.toString());
    expect(message?.props).toEqual(record.props);
    expect(message).toMatchObject({ topic: 'orders', queueId: 0, queueOffset: 0, commitLogOffset: 0 });
    const propsBytes = Buffer.byteLength(JSON.stringify(record.props));
    expect(message?.sizeBytes).toBe(recordSizeBytes(6, propsBytes, record.body.length));
  });

  test('offsets count from zero per queue, independently of other queues', async () => {
    const store = await harness().open();
    await store.append([testRecord('a', 0, 0), testRecord('a', 1, 0), testRecord('b', 0, 0)]);
    const results = await store.append([testRecord('a', 0, 1), testRecord('a', 0, 2), testRecord('b', 0, 1)]);
    expect(results.map((r) => r.queueOffset)).toEqual([1, 2, 1]);
    expect(store.queueRange('a', 0)).toEqual({ minOffset: 0, maxOffset: 3 });
    expect(store.queueRange('a', 1)).toEqual({ minOffset: 0, maxOffset: 1 });
    expect(store.queueRange('b', 0)).toEqual({ minOffset: 0, maxOffset: 2 });
    expect(store.read('a', 0, 0, 10).map((m) => m.props.messageId)).toEqual(['msg-a-0-0', 'msg-a-0-1', 'msg-a-0-2']);
  });

  test('commit log offsets are consecutive: each record starts where the previous one ended', async () => {
    const store = await harness().open();
    const results = await store.append([testRecord('t', 0, 0), testRecord('t', 1, 1), testRecord('t', 0, 2)]);
    const messages = [...store.read('t', 0, 0, 10), ...store.read('t', 1, 0, 10)];
    messages.sort((a, b) => a.commitLogOffset - b.commitLogOffset);
    for (let i = 1; i < messages.length; i++) {
      expect(messages[i]!.commitLogOffset).toBe(messages[i - 1]!.commitLogOffset + messages[i - 1]!.sizeBytes);
    }
    expect(results.map((r) => r.commitLogOffset)).toEqual([
      0,
      messages[1]!.commitLogOffset,
      messages[2]!.commitLogOffset,
    ]);
  });

  test('many queues: 40 topics x 4 queues, interleaved appends, each queue keeps its own order', async () => {
    const store = await harness().open();
    const sends: Array<Promise<unknown>> = [];
    for (let n = 0; n < 5; n++) {
      for (let t = 0; t < 40; t++)
        for (let q = 0; q < 4; q++) sends.push(store.append([testRecord(`topic-${t}`, q, n)]));
    }
    await Promise.all(sends);
    expect(store.queues()).toHaveLength(160);
    for (let t = 0; t < 40; t++) {
      for (let q = 0; q < 4; q++) {
        const ids = store.read(`topic-${t}`, q, 0, 100).map((m) => m.props.messageId);
        expect(ids).toEqual([0, 1, 2, 3, 4].map((n) => `msg-topic-${t}-${q}-${n}`));
      }
    }
  });

  test('read clamps: below minOffset starts at minOffset, countMax and maxOffset bound the result', async () => {
    const store = await harness().open();
    await store.append([0, 1, 2, 3, 4].map((n) => testRecord('t', 0, n)));
    expect(store.read('t', 0, -5, 2).map((m) => m.queueOffset)).toEqual([0, 1]);
    expect(store.read('t', 0, 3, 100).map((m) => m.queueOffset)).toEqual([3, 4]);
    expect(store.read('t', 0, 5, 10)).toEqual([]);
    expect(store.read('t', 0, 99, 10)).toEqual([]);
    expect(store.read('t', 0, 0, 0)).toEqual([]);
    expect(store.read('never-written', 0, 0, 10)).toEqual([]);
  });

  test('queues() lists every queue written; an unknown queue has range {0, 0} and offsetForTimestamp 0', async () => {
    const store = await harness().open();
    await store.append([testRecord('x', 2, 0), testRecord('y', 0, 0)]);
    expect(store.queues()).toEqual(
      expect.arrayContaining([
        { topic: 'x', queueId: 2 },
        { topic: 'y', queueId: 0 },
      ]),
    );
    expect(store.queueRange('nope', 0)).toEqual({ minOffset: 0, maxOffset: 0 });
    expect(store.offsetForTimestamp('nope', 0, 0)).toBe(0);
  });

  test('offsetForTimestamp: the first offset stored at or after the time, maxOffset when none', async () => {
    const h = harness();
    const store = await h.open();
    const t0 = h.clock.wallMs();
    for (let n = 0; n < 6; n++) {
      await store.append([testRecord('t', 0, n)]);
      h.clock.advance(1000);
    }
    expect(store.offsetForTimestamp('t', 0, t0 - 1)).toBe(0);
    expect(store.offsetForTimestamp('t', 0, t0)).toBe(0);
    expect(store.offsetForTimestamp('t', 0, t0 + 1)).toBe(1);
    expect(store.offsetForTimestamp('t', 0, t0 + 3000)).toBe(3);
    expect(store.offsetForTimestamp('t', 0, t0 + 5000)).toBe(5);
    expect(store.offsetForTimestamp('t', 0, t0 + 5001)).toBe(6);
  });

  test('a record becomes visible only when its append resolves', async () => {
    const store = await harness().open();
    const sent = store.append([testRecord('t', 0, 0)]);
    expect(store.queueRange('t', 0).maxOffset).toBe(0);
    expect(store.read('t', 0, 0, 10)).toEqual([]);
    await sent;
    expect(store.queueRange('t', 0).maxOffset).toBe(1);
  });

  test('bounded pending queue: an append that does not fit rejects with StoreFullError, then goes on', async () => {
    const store = await harness().open({ pendingAppendsMax: 4 });
    const first = store.append([0, 1, 2].map((n) => testRecord('t', 0, n)));
    await expect(store.append([3, 4].map((n) => testRecord('t', 0, n)))).rejects.toBeInstanceOf(StoreFullError);
    expect(store.stats().pendingAppends).toBe(3);
    expect(store.stats().rejectedAppendCount).toBe(1);
    await first;
    await store.append([testRecord('t', 0, 3)]);
    expect(store.queueRange('t', 0)).toEqual({ minOffset: 0, maxOffset: 4 });
    await expect(store.append([0, 1, 2, 3, 4].map((n) => testRecord('t', 1, n)))).rejects.toThrow(
      /store-pending-appends/,
    );
  });

  test('an invalid record rejects the whole batch and leaves no offset gap', async () => {
    const store = await harness().open();
    const bad = { ...testRecord('t', 0, 1), queueId: -1 };
    await expect(store.append([testRecord('t', 0, 0), bad])).rejects.toThrow(/queueId/);
    const [result] = await store.append([testRecord('t', 0, 0)]);
    expect(result?.queueOffset).toBe(0);
  });

  test('segments roll: no segment exceeds segmentBytesMax unless it holds a single record', async () => {
    const store = await harness().open({ segmentBytesMax: 1024 });
    for (let n = 0; n < 20; n++) await store.append([testRecord('t', 0, n, { bodyBytes: 200 })]);
    const sizes = store.read('t', 0, 0, 100).map((m) => m.sizeBytes);
    let segmentCount = 1;
    let usedBytes = 0;
    for (const size of sizes) {
      if (usedBytes > 0 && usedBytes + size > 1024) {
        segmentCount++;
        usedBytes = 0;
      }
      usedBytes += size;
    }
    expect(store.stats().commitLogBytes).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(store.stats().segmentCount).toBe(segmentCount);
    expect(segmentCount).toBeGreaterThan(3);
  });

  test('retention by size deletes whole sealed segments, oldest first, and advances minOffset past them', async () => {
    const h = harness();
    const store = await h.open({ segmentBytesMax: 1024, retentionBytesMax: 2048 });
    for (let n = 0; n < 20; n++) await store.append([testRecord('t', n % 2, n, { bodyBytes: 200 })]);
    const before = store.stats();
    const deleted = store.applyRetention(h.clock.wallMs());
    const after = store.stats();
    expect(deleted).toBeGreaterThan(0);
    expect(after.segmentCount).toBe(before.segmentCount - deleted);
    expect(after.commitLogBytes).toBeLessThanOrEqual(2048);
    const remaining = [...store.read('t', 0, 0, 100), ...store.read('t', 1, 0, 100)];
    expect(remaining).toHaveLength(
      store.queueRange('t', 0).maxOffset -
        store.queueRange('t', 0).minOffset +
        store.queueRange('t', 1).maxOffset -
        store.queueRange('t', 1).minOffset,
    );
    expect(store.queueRange('t', 0).minOffset).toBeGreaterThan(0);
    expect(store.queueRange('t', 0).maxOffset).toBe(10);
    const oldest = Math.min(...remaining.map((m) => m.commitLogOffset));
    expect(store.read('t', 0, 0, 1)[0]!.commitLogOffset).toBeGreaterThanOrEqual(oldest);
    expect(store.applyRetention(h.clock.wallMs())).toBe(0);
  });

  test('retention by age deletes sealed segments whose newest record is older than retentionMs', async () => {
    const h = harness();
    const store = await h.open({ segmentBytesMax: 1024, retentionMs: 60_000 });
    for (let n = 0; n < 8; n++) await store.append([testRecord('t', 0, n, { bodyBytes: 200 })]);
    h.clock.advance(120_000);
    for (let n = 8; n < 16; n++) await store.append([testRecord('t', 0, n, { bodyBytes: 200 })]);
    const segmentsBefore = store.stats().segmentCount;
    expect(store.applyRetention(h.clock.wallMs() - 61_000)).toBe(0);
    const deleted = store.applyRetention(h.clock.wallMs());
    expect(deleted).toBeGreaterThan(0);
    expect(store.stats().segmentCount).toBe(segmentsBefore - deleted);
    const { minOffset, maxOffset } = store.queueRange('t', 0);
    expect(maxOffset).toBe(16);
    expect(minOffset).toBeGreaterThan(0);
    expect(minOffset).toBeLessThanOrEqual(8);
    expect(store.read('t', 0, 0, 1)[0]!.queueOffset).toBe(minOffset);
    expect(store.offsetForTimestamp('t', 0, 0)).toBe(minOffset);
  });

  test('close: pending appends complete, later appends reject with StoreClosedError, close is idempotent', async () => {
    const store = await harness().open();
    const pending = store.append([testRecord('t', 0, 0)]);
    await store.close();
    await expect(pending).resolves.toHaveLength(1);
    await expect(store.append([testRecord('t', 0, 1)])).rejects.toBeInstanceOf(StoreClosedError);
    await store.close();
  });
});

test('createStore makes a file store by default and a memory store on request', async () => {
  const dataDir = makeTempDir();
  try {
    expect(createStore(defaultTestOptions(dataDir))).toBeInstanceOf(FileMessageStore);
    const memory = createStore({ ...defaultTestOptions(dataDir), kind: 'memory' });
    expect(memory).toBeInstanceOf(MemoryMessageStore);
    await memory.open();
    await memory.append([testRecord('t', 0, 0)]);
    expect(memory.queueRange('t', 0)).toEqual({ minOffset: 0, maxOffset: 1 });
    await memory.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

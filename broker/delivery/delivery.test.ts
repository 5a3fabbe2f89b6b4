import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import { BrokerError } from '../errors.ts';
import { type GroupConfig, Metadata, type TopicConfig } from '../metadata.ts';
import { MemoryMessageStore } from '../store/index.ts';
import type { MessageProps } from '../store/types.ts';
import { type Delivered, Delivery, type ReceiveInput } from './delivery.ts';
import type { GroupTopicCheckpoint } from './group-topic.ts';
import { longPollTimeMs } from './long-poll.ts';

/** A delivery service over an in-memory store on a manual clock: no sockets, no sleeps. */
async function setUp(opts: { fifo?: boolean; maxAttempts?: number; queues?: number; waitersMax?: number } = {}) {
  const clock = new ManualClock();
  const store = new MemoryMessageStore(
    { dataDir: '', flush: 'sync', flushIntervalMs: 1, segmentBytesMax: 1 << 20 },
    { clock },
  );
  await store.open();
  const metadata = new Metadata();
  const topic: TopicConfig = metadata.upsertTopic({ name: 'orders', queues: opts.queues ?? 1 });
  const group: GroupConfig = metadata.upsertGroup({
    name: 'billing',
    fifo: opts.fifo ?? false,
    maxAttempts: opts.maxAttempts ?? 17,
  });
  const delivery = new Delivery({
    store,
    clock,
    metadata,
    isClientAlive: () => true,
    waitersMax: opts.waitersMax,
  });
  let n = 0;
  const send = async (props: Partial<MessageProps> = {}, queueId = 0): Promise<string> => {
    const messageId = `m${++n}`;
    await store.append([
      { topic: 'orders', queueId, body: Buffer.from(messageId), props: { messageId, messageType: 'NORMAL', ...props } },
    ]);
    delivery.wake('orders');
    return messageId;
  };
  const input = (over: Partial<ReceiveInput> = {}): ReceiveInput => ({
    group: 'billing',
    topic: 'orders',
    clientId: 'c1',
    batchSize: 32,
    invisibleMs: 30_000,
    autoRenew: false,
    filter: { kind: 'TAG', expression: '*' },
    pollMs: 0,
    ...over,
  });
  const receive = (over: Partial<ReceiveInput> = {}, abort?: AbortSignal) =>
    delivery.receive(group, topic, input(over), abort);
  return { clock, store, metadata, topic, group, delivery, send, receive };
}

const ids = (batch: Delivered[]) => batch.map((d) => d.message.props.messageId);
const settle = () => new Promise((r) => setImmediate(r));

describe('delivery: receive, invisible time and redelivery', () => {
  test('a message is delivered once, stays invisible, and is done after its ack', async () => {
    const t = await setUp();
    await t.send();
    const [first] = await t.receive();
    expect(first?.attempt).toBe(1);
    expect(await t.receive()).toEqual([]);
    expect(t.delivery.backlog('billing')).toEqual([
      { topic: 'orders', group: 'billing', ready: 0, inflight: 1, retry: 0, dlq: 0 },
    ]);
    t.delivery.ack('billing', 'orders', first?.receiptHandle ?? '');
    t.clock.advance(60_000);
    expect(await t.receive()).toEqual([]);
    expect(t.delivery.backlog('billing')[0]).toMatchObject({ ready: 0, inflight: 0 });
  });

  test('after the invisible time the message comes back with the next attempt; the old handle is expired', async () => {
    const t = await setUp();
    await t.send();
    const [first] = await t.receive({ invisibleMs: 10_000 });
    t.clock.advance(9_999);
    expect(await t.receive()).toEqual([]);
    t.clock.advance(1);
    const [again] = await t.receive();
    expect(again?.attempt).toBe(2);
    expect(again?.receiptHandle).not.toBe(first?.receiptHandle);
    expect(() => t.delivery.ack('billing', 'orders', first?.receiptHandle ?? '')).toThrow(/expired or unknown/);
    expect(t.delivery.backlog('billing')[0]).toMatchObject({ inflight: 1, retry: 1 });
  });

  test('changeInvisibleDuration moves the redelivery and returns a new handle; the old one stops working', async () => {
    const t = await setUp();
    await t.send();
    const [first] = await t.receive({ invisibleMs: 60_000 });
    const handle = t.delivery.changeInvisibleDuration('billing', 'orders', first?.receiptHandle ?? '', 1_000);
    expect(() => t.delivery.ack('billing', 'orders', first?.receiptHandle ?? '')).toThrow(BrokerError);
    t.clock.advance(1_000);
    expect(() => t.delivery.ack('billing', 'orders', handle)).toThrow(/invisible time passed/);
    expect((await t.receive()).map((d) => d.attempt)).toEqual([2]);
  });

  test('after maxAttempts deliveries the message goes to the dead-letter topic instead of a new attempt', async () => {
    const t = await setUp({ maxAttempts: 2 });
    await t.send();
    await t.receive({ invisibleMs: 10_000 });
    t.clock.advance(10_000);
    expect((await t.receive({ invisibleMs: 10_000 })).map((d) => d.attempt)).toEqual([2]);
    t.clock.advance(10_000);
    expect(await t.receive()).toEqual([]);
    await settle();
    const [dead] = t.store.read('%DLQ%billing', 0, 0, 1);
    expect(dead?.props).toMatchObject({ originMessageId: 'm1', originTopic: 'orders' });
    expect(dead?.props.system?.deliveryAttempts).toBe(2);
    expect(t.delivery.backlog('billing')[0]).toMatchObject({ ready: 0, inflight: 0, dlq: 1 });
  });

  /** A restart: a second delivery service on a store holding the same message, with the saved group state. */
  async function restarted(saved: GroupTopicCheckpoint | undefined, fifo: boolean) {
    const after = await setUp({ maxAttempts: 2, fifo });
    await after.send(fifo ? { messageGroup: 'g1' } : {});
    after.delivery.state('billing', 'orders').restore(saved as GroupTopicCheckpoint);
    return after;
  }

  /** Two attempts made (maxAttempts 2): the second is in flight, unanswered, within its invisible time. */
  async function onLastAttempt(fifo: boolean) {
    const before = await setUp({ maxAttempts: 2, fifo });
    await before.send(fifo ? { messageGroup: 'g1' } : {});
    await before.receive({ invisibleMs: 10_000 });
    before.clock.advance(10_000);
    const last = await before.receive({ invisibleMs: 10_000 });
    expect(last.map((d) => d.attempt)).toEqual([2]);
    const checkpoint = () =>
      [...before.delivery.groupStates()].map((s) => s.toCheckpoint(before.clock.monotonicMs()))[0];
    return { before, handle: last[0]?.receiptHandle ?? '', checkpoint };
  }

  async function expectDeadLettered(after: Awaited<ReturnType<typeof setUp>>): Promise<void> {
    await settle();
    const [dead] = after.store.read('%DLQ%billing', 0, 0, 1);
    expect(dead?.props).toMatchObject({ originMessageId: 'm1', originTopic: 'orders' });
    expect(dead?.props.system?.deliveryAttempts).toBe(2);
    expect(after.delivery.backlog('billing')[0]).toMatchObject({ ready: 0, inflight: 0, dlq: 1 });
  }

  for (const fifo of [false, true]) {
    const kind = fifo ? 'FIFO' : 'normal';
    test(`${kind}: in flight on its last attempt at a restart: out again at that attempt, never past it`, async () => {
      // The restart cut that delivery short (its receipt handle dies with the process): it does not count, so the
      // message goes out again as attempt 2, and to the DLQ only when that attempt fails too.
      const { checkpoint } = await onLastAttempt(fifo);
      const after = await restarted(checkpoint(), fifo);
      expect((await after.receive({ invisibleMs: 10_000 })).map((d) => d.attempt)).toEqual([2]);
      after.clock.advance(10_000);
      expect(await after.receive()).toEqual([]);
      await expectDeadLettered(after);
    });

    test(`${kind}: failed on its last attempt before a restart (given back, timed out): DLQ, not out`, async () => {
      const nacked = await onLastAttempt(fifo);
      nacked.before.delivery.changeInvisibleDuration('billing', 'orders', nacked.handle, 1_000);
      const afterNack = await restarted(nacked.checkpoint(), fifo);
      expect(await afterNack.receive()).toEqual([]);
      await expectDeadLettered(afterNack);
      // Its invisible time ran out before the restart; the state saved earlier, while it was in flight, is stale.
      const expired = await onLastAttempt(fifo);
      const state = [...expired.before.delivery.groupStates()][0];
      expired.checkpoint();
      expired.before.clock.advance(10_000);
      expect(state?.staleAtMs).toBeLessThanOrEqual(expired.before.clock.monotonicMs());
      const afterExpiry = await restarted(expired.checkpoint(), fifo);
      expect(await afterExpiry.receive()).toEqual([]);
      await expectDeadLettered(afterExpiry);
    });
  }

  test('a receive retried with the same attempt id gets the same batch while it is in flight', async () => {
    const t = await setUp();
    await t.send();
    await t.send();
    const first = await t.receive({ attemptId: 'a1' });
    const retried = await t.receive({ attemptId: 'a1' });
    expect(retried.map((d) => d.receiptHandle)).toEqual(first.map((d) => d.receiptHandle));
    expect(await t.receive({ attemptId: 'a2' })).toEqual([]);
  });

  test('a client gone: its push (auto-renew) messages come back after 1 s, simple ones keep their time', async () => {
    const t = await setUp();
    await t.send();
    await t.send();
    await t.receive({ batchSize: 1, autoRenew: true });
    await t.receive({ batchSize: 1, invisibleMs: 60_000 });
    expect(t.delivery.releaseClient('c1')).toBe(1);
    t.clock.advance(1_000);
    expect(ids(await t.receive({ clientId: 'c2', invisibleMs: 120_000 }))).toEqual(['m1']);
    t.clock.advance(59_000);
    expect(ids(await t.receive({ clientId: 'c2' }))).toEqual(['m2']);
  });

  test('auto-renewed messages stay invisible while their client lives', async () => {
    const t = await setUp();
    await t.send();
    await t.receive({ autoRenew: true });
    for (let i = 0; i < 60; i++) {
      t.clock.advance(2_000);
      t.delivery.renewSweep();
    }
    expect(await t.receive()).toEqual([]);
  });
});

describe('delivery: a redelivery passes the subscription filter, as in RocketMQ', () => {
  test('an expired message the receiving subscription does not match is skipped, not handed out', async () => {
    const t = await setUp();
    await t.send({ tag: 'refund' });
    await t.send({ tag: 'paid' });
    expect(ids(await t.receive({ invisibleMs: 10_000 }))).toEqual(['m1', 'm2']);
    t.clock.advance(10_000);
    const again = await t.receive({ filter: { kind: 'TAG', expression: 'paid' } });
    expect(again.map((d) => [d.message.props.messageId, d.attempt])).toEqual([['m2', 2]]);
    t.delivery.ack('billing', 'orders', again[0]?.receiptHandle ?? '');
    t.clock.advance(60_000);
    expect(await t.receive()).toEqual([]);
    expect(t.delivery.backlog('billing')[0]).toMatchObject({ ready: 0, inflight: 0 });
  });
});

describe('long-poll time against the caller deadline (RocketMQ proxy rule)', () => {
  const rule = { minMs: 5_000, maxMs: 20_000, clientVersion: '5.0.8' };
  test('short requests are raised to the minimum, long ones cut to the maximum', () => {
    expect(longPollTimeMs({ ...rule, requestedMs: 1_000, remainingMs: 30_000 })).toBe(5_000);
    expect(longPollTimeMs({ ...rule, requestedMs: 60_000, remainingMs: 30_000 })).toBe(20_000);
    expect(longPollTimeMs({ ...rule, requestedMs: undefined, remainingMs: Infinity })).toBe(20_000);
  });
  test('a poll longer than the deadline leaves is cut to it while at least the minimum remains', () => {
    expect(longPollTimeMs({ ...rule, requestedMs: 10_000, remainingMs: 8_000 })).toBe(7_500);
  });
  test('less than the minimum left: refused, BAD_REQUEST before client 5.0.3, ILLEGAL_POLLING_TIME after', () => {
    const refused = (clientVersion: string | undefined) => {
      try {
        longPollTimeMs({ ...rule, clientVersion, requestedMs: 1_000, remainingMs: 4_000 });
      } catch (err) {
        return err as BrokerError;
      }
      return undefined;
    };
    expect(refused('1.0.8')?.code).toBe('BAD_REQUEST');
    expect(refused(undefined)?.code).toBe('BAD_REQUEST');
    expect(refused('5.1.4')?.code).toBe('ILLEGAL_POLLING_TIME');
    expect(refused('5.1.4')?.message).toMatch(/^The deadline time remaining is not enough for polling/);
  });
  test('minimum 0 is lenient: any poll time, shortened to fit the deadline, never refused', () => {
    const lenient = { ...rule, minMs: 0 };
    expect(longPollTimeMs({ ...lenient, requestedMs: 1_000, remainingMs: 4_000 })).toBe(1_000);
    expect(longPollTimeMs({ ...lenient, requestedMs: 5_000, remainingMs: 2_000 })).toBe(1_500);
    expect(longPollTimeMs({ ...lenient, requestedMs: 5_000, remainingMs: 100 })).toBe(0);
  });
});

describe('delivery: long polling', () => {
  test('an empty receive waits until a send wakes it', async () => {
    const t = await setUp();
    let result: Delivered[] | undefined;
    const pending = t.receive({ pollMs: 20_000 }).then((r) => {
      result = r;
    });
    t.clock.advance(5_000);
    await settle();
    expect(result).toBeUndefined();
    await t.send();
    await pending;
    expect(ids(result ?? [])).toEqual(['m1']);
    expect(t.delivery.waiters.size).toBe(0);
  });

  test('an empty receive answers [] when its poll time runs out', async () => {
    const t = await setUp();
    let result: Delivered[] | undefined;
    const pending = t.receive({ pollMs: 5_000 }).then((r) => {
      result = r;
    });
    t.clock.advance(4_999);
    await settle();
    expect(result).toBeUndefined();
    t.clock.advance(1);
    await pending;
    expect(result).toEqual([]);
  });

  test('a waiting receive wakes when an in-flight message becomes visible again', async () => {
    const t = await setUp();
    await t.send();
    await t.receive({ invisibleMs: 10_000 });
    const pending = t.receive({ pollMs: 20_000 });
    t.clock.advance(10_000);
    expect((await pending).map((d) => d.attempt)).toEqual([2]);
  });

  test('an aborted receive (client cancelled) answers at once', async () => {
    const t = await setUp();
    const abort = new AbortController();
    const pending = t.receive({ pollMs: 20_000 }, abort.signal);
    abort.abort();
    expect(await pending).toEqual([]);
  });

  test('waiters are bounded: one too many is refused with TOO_MANY_REQUESTS', async () => {
    const t = await setUp({ waitersMax: 1 });
    const first = t.receive({ pollMs: 20_000 });
    await expect(t.receive({ pollMs: 20_000 })).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    t.delivery.close();
    expect(await first).toEqual([]);
  });
});

describe('delivery: FIFO hold-back', () => {
  test('the next message of a message group waits for the ack of the one before it', async () => {
    const t = await setUp({ fifo: true });
    await t.send({ messageGroup: 'g1' });
    await t.send({ messageGroup: 'g1' });
    await t.send({ messageGroup: 'g2' });
    const first = await t.receive({ batchSize: 1 });
    expect(ids(first)).toEqual(['m1']);
    expect(ids(await t.receive())).toEqual(['m3']);
    expect(await t.receive()).toEqual([]);
    t.delivery.ack('billing', 'orders', first[0]?.receiptHandle ?? '');
    expect(ids(await t.receive())).toEqual(['m2']);
  });

  test('expired messages of a group come back in order, never a later one before an earlier one', async () => {
    const t = await setUp({ fifo: true });
    await t.send({ messageGroup: 'g1' });
    await t.send({ messageGroup: 'g1' });
    expect(ids(await t.receive({ invisibleMs: 10_000 }))).toEqual(['m1', 'm2']);
    t.clock.advance(10_000);
    const again = await t.receive({ batchSize: 1 });
    expect(ids(again)).toEqual(['m1']);
    expect(await t.receive()).toEqual([]);
    t.delivery.ack('billing', 'orders', again[0]?.receiptHandle ?? '');
    t.clock.advance(1_000);
    expect(ids(await t.receive())).toEqual(['m2']);
  });

  test('a dead-lettered message releases its group', async () => {
    const t = await setUp({ fifo: true, maxAttempts: 1 });
    await t.send({ messageGroup: 'g1' });
    await t.send({ messageGroup: 'g1' });
    expect(ids(await t.receive({ batchSize: 1, invisibleMs: 10_000 }))).toEqual(['m1']);
    t.clock.advance(10_000);
    expect(await t.receive()).toEqual([]);
    await settle();
    expect(ids(await t.receive())).toEqual(['m2']);
  });
});

describe('delivery: records the store skips as unreadable (quarantined)', () => {
  for (const fifo of [false, true]) {
    test(`${fifo ? 'FIFO' : 'normal'} group: a skipped offset is done; the committed offset moves on`, async () => {
      const t = await setUp({ fifo });
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) sent.push(await t.send(fifo ? { messageGroup: 'g1' } : {}));
      // What FileMessageStore.read does with a record that fails its checksum: leave it out and read on.
      const read = t.store.read.bind(t.store);
      t.store.read = (topic, queueId, from, countMax) =>
        read(topic, queueId, from, countMax + 1)
          .filter((m) => m.queueOffset !== 2)
          .slice(0, countMax);
      const got: string[] = [];
      for (let round = 0; round < 5 && got.length < 4; round++) {
        for (const d of await t.receive()) {
          got.push(d.message.props.messageId);
          t.delivery.ack('billing', 'orders', d.receiptHandle);
        }
      }
      expect(got).toEqual(sent.filter((_, i) => i !== 2));
      expect(t.delivery.state('billing', 'orders').cursor(0, 0)).toMatchObject({ ackedFloor: 5, doneAbove: new Set() });
    });
  }
});

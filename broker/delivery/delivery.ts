import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';
import { fail } from '../errors.ts';
import { compileFilter, type FilterKind, type MessageFilter } from '../filter/index.ts';
import { limits } from '../limits.ts';
import { dlqTopicOf, type GroupConfig, type Metadata, type TopicConfig } from '../metadata.ts';
import type { BrokerMetrics } from '../metrics/index.ts';
import type { MessageProps, MessageStore, StoredMessage } from '../store/types.ts';
import { GroupTopicState, type InflightEntry } from './group-topic.ts';
import { LongPollWaiters } from './long-poll.ts';

export interface ReceiveInput {
  group: string;
  topic: string;
  clientId: string;
  batchSize: number;
  invisibleMs: number;
  autoRenew: boolean;
  filter: { kind: FilterKind; expression: string };
  pollMs: number;
  attemptId?: string;
}

export interface Delivered {
  message: StoredMessage;
  attempt: number;
  receiptHandle: string;
  /** The group's view: invisible until this wall time. */
  invisibleUntilWallMs: number;
}

export interface BacklogEntry {
  topic: string;
  group: string;
  /** Stored, not yet delivered (or due for redelivery). */
  ready: number;
  /** Delivered, not yet acknowledged, still invisible. */
  inflight: number;
  /** In flight on a second or later attempt. */
  retry: number;
  /** Messages in the group's dead-letter topic. */
  dlq: number;
}

export interface DeliveryOptions {
  store: MessageStore;
  clock: Clock;
  metadata: Metadata;
  /** Whether a client still heartbeats (auto-renewed invisible time stops with its client). */
  isClientAlive: (clientId: string, nowMs: number) => boolean;
  inflightPerGroupMax?: number;
  waitersMax?: number;
  /** Canary (tests only): one receive batch in N hands a FIFO message group's later message out first. */
  swapFifoOneIn?: number;
  metrics?: BrokerMetrics;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

const attemptCacheMax = 4096;
/** FIFO: how long an expired message waits before looking again when an earlier one of its group is in flight. */
const fifoParkMs = 1000;
/** A message held for its dead-letter copy stays out of the redelivery heap this long (a failed copy: 1 s). */
const DLQ_HOLD_MS = 60_000;

/** One receive's pass over a group's queues: what every queue scan reads and appends to. */
interface QueueScan {
  state: GroupTopicState;
  group: GroupConfig;
  fifo: boolean;
  input: ReceiveInput;
  filter: MessageFilter;
  batchMax: number;
  out: Delivered[];
  nowMs: number;
}

const stateKey = (group: string, topic: string): string => `${group}\u0000${topic}`;

/**
 * Delivery of stored messages to consumer groups: receive with long polling, invisible time and redelivery, FIFO
 * hold-back, receipt handles, ack, change of invisible time, dead-lettering, auto-renewal and the group's backlog.
 * The caller (the broker) has already checked that the topic and the group exist.
 */
export class Delivery {
  /** Distinguishes this process's receipt handles from a previous run's: those are expired after a restart. */
  private readonly epoch = randomBytes(4).toString('hex');
  private readonly states = new Map<string, GroupTopicState>();
  private readonly rotation = new Map<string, number>();
  readonly waiters: LongPollWaiters;
  private readonly inflightPerGroupMax: number;
  /** Recent batches by attempt id (bounded, oldest dropped first). */
  private readonly attempts = new Map<string, Delivered[]>();
  private canarySwapCounter = 0;
  private closed = false;

  constructor(private readonly options: DeliveryOptions) {
    this.inflightPerGroupMax = options.inflightPerGroupMax ?? 100_000;
    this.waiters = new LongPollWaiters(options.clock, options.waitersMax ?? 8192);
  }

  private get clock(): Clock {
    return this.options.clock;
  }

  private get store(): MessageStore {
    return this.options.store;
  }

  state(group: string, topic: string): GroupTopicState {
    const k = stateKey(group, topic);
    let s = this.states.get(k);
    if (!s) {
      s = new GroupTopicState(group, topic);
      this.states.set(k, s);
    }
    return s;
  }

  groupStates(): IterableIterator<GroupTopicState> {
    return this.states.values();
  }

  /** Wakes the receives waiting on a topic (a send, an ack, a visibility change). */
  wake(topic: string): void {
    this.waiters.wake(topic);
  }

  // ---- receive ----

  /** Long-polling receive: answers as soon as one message is deliverable, or with [] when pollMs runs out. */
  async receive(
    group: GroupConfig,
    topic: TopicConfig,
    input: ReceiveInput,
    abort?: AbortSignal,
  ): Promise<Delivered[]> {
    const filter = compileFilter(input.filter.kind, input.filter.expression);
    const repeated = this.repeatAttempt(input);
    if (repeated) return repeated;
    const deadlineMs = this.clock.monotonicMs() + input.pollMs;
    for (;;) {
      const out = this.tryReceive(group, topic, input, filter);
      if (out.length > 0) this.rememberAttempt(input, out);
      if (out.length > 0 || this.closed || abort?.aborted) return out;
      const remainingMs = deadlineMs - this.clock.monotonicMs();
      if (remainingMs <= 0) return out;
      const earliest = this.state(group.name, topic.name).earliestVisibleAtMs();
      const untilVisibleMs = earliest === undefined ? remainingMs : earliest - this.clock.monotonicMs();
      await this.waiters.wait(topic.name, Math.min(remainingMs, untilVisibleMs), abort);
    }
  }

  /**
   * A receive retried with the same attempt id (the client lost the response) gets the same batch back, with the
   * same receipt handles, while those messages are still in flight: idempotent retries, as RocketMQ's FIFO pop does.
   */
  private repeatAttempt(input: ReceiveInput): Delivered[] | undefined {
    if (!input.attemptId) return undefined;
    const key = `${input.group}\u0000${input.topic}\u0000${input.attemptId}`;
    const batch = this.attempts.get(key);
    if (!batch) return undefined;
    const state = this.states.get(stateKey(input.group, input.topic));
    const nowMs = this.clock.monotonicMs();
    const live = batch.every((d) => {
      const [, q, o, seq] = d.receiptHandle.split('.');
      const e = state?.lookup(Number(q), Number(o));
      return e !== undefined && e.seq === Number(seq) && e.visibleAtMs > nowMs;
    });
    if (!live) this.attempts.delete(key);
    return live ? batch : undefined;
  }

  private rememberAttempt(input: ReceiveInput, out: Delivered[]): void {
    if (!input.attemptId) return;
    if (this.attempts.size >= attemptCacheMax) {
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
    this.attempts.set(`${input.group}\u0000${input.topic}\u0000${input.attemptId}`, out);
  }

  private tryReceive(group: GroupConfig, topic: TopicConfig, input: ReceiveInput, filter: MessageFilter): Delivered[] {
    const state = this.state(group.name, topic.name);
    const batchMax = Math.max(1, Math.min(input.batchSize || limits.receiveBatchMax, limits.receiveBatchMax));
    const nowMs = this.clock.monotonicMs();
    const scan: QueueScan = { state, group, fifo: group.fifo, input, filter, batchMax, out: [], nowMs };
    this.redeliverExpired(scan, group);
    if (scan.out.length < batchMax && state.inflight.size < this.inflightPerGroupMax) this.deliverNew(scan, topic);
    if (group.fifo) this.canarySwapFifo(scan.out);
    if (scan.out.length > 0) {
      this.options.metrics?.messagesOut.inc({ topic: topic.name, consumer_group: group.name }, scan.out.length);
    }
    return scan.out;
  }

  /** Messages whose invisible time passed go out again, FIFO ones only after every earlier one of their group. */
  private redeliverExpired(scan: QueueScan, group: GroupConfig): void {
    const { state, input, batchMax, out, nowMs } = scan;
    const expired = state.takeExpired(nowMs, batchMax * 4);
    expired.sort((a, b) => a.queueId - b.queueId || a.offset - b.offset);
    const putBack: InflightEntry[] = [];
    // FIFO: a message may be redelivered only after every earlier message of its group, in this batch or acked.
    const held = new Set<string>();
    const released = new Set<InflightEntry>();
    for (const e of expired) {
      const fifoGroup = e.messageGroup;
      if (fifoGroup !== undefined && (held.has(fifoGroup) || state.hasEarlierInflight(e, released))) {
        held.add(fifoGroup);
        e.spent = true; // its invisible time passed: the attempt counts
        state.setVisibleAt(e, nowMs + fifoParkMs, false);
        continue;
      }
      if (out.length >= batchMax) {
        putBack.push(e);
        if (fifoGroup !== undefined) held.add(fifoGroup);
        continue;
      }
      const [message] = this.store.read(input.topic, e.queueId, e.offset, 1);
      if (!message || message.queueOffset !== e.offset) {
        state.markDone(e.queueId, e.offset); // removed by retention
        continue;
      }
      if (!scan.filter(message.props)) {
        // As in RocketMQ, whose pop applies the subscription's filter to the retry topic too: a redelivery the
        // receiving subscription does not match is skipped for the group, like a new message that does not match.
        state.markDone(e.queueId, e.offset);
        continue;
      }
      if (e.attempt >= group.maxAttempts) {
        this.moveToDlq(state, group, e, message);
        if (fifoGroup !== undefined) held.add(fifoGroup);
        continue;
      }
      out.push(this.recordDelivery(scan, message));
      const redelivered = state.lookup(e.queueId, e.offset);
      if (redelivered) released.add(redelivered);
    }
    state.putBack(putBack);
  }

  private deliverNew(scan: QueueScan, topic: TopicConfig): void {
    const rotationKey = stateKey(scan.state.group, topic.name);
    const start = (this.rotation.get(rotationKey) ?? 0) % topic.queues;
    this.rotation.set(rotationKey, start + 1);
    for (let i = 0; i < topic.queues && scan.out.length < scan.batchMax; i++) {
      const queueId = (start + i) % topic.queues;
      if (scan.fifo) this.scanFifoQueue(scan, queueId);
      else this.scanQueue(scan, queueId);
    }
  }

  private scanQueue(scan: QueueScan, queueId: number): void {
    const { state, input, filter, batchMax, out } = scan;
    const range = this.store.queueRange(input.topic, queueId);
    const cursor = state.cursor(queueId, range.minOffset);
    while (out.length < batchMax && cursor.nextOffset < range.maxOffset) {
      const messages = this.store.read(input.topic, queueId, cursor.nextOffset, Math.max(batchMax - out.length, 16));
      if (messages.length === 0) break;
      for (const m of messages) {
        if (out.length >= batchMax) break;
        // The store skips records it cannot read (quarantined): their offsets are done, so the floor moves on.
        for (let o = cursor.nextOffset; o < m.queueOffset; o++) state.markDone(queueId, o);
        cursor.nextOffset = m.queueOffset + 1;
        if (state.isDone(cursor, m.queueOffset) || state.lookup(queueId, m.queueOffset)) continue;
        if (!filter(m.props)) {
          state.markDone(queueId, m.queueOffset);
          continue;
        }
        if (this.deadLetterIfExhausted(scan, m)) continue;
        out.push(this.recordDelivery(scan, m));
      }
    }
  }

  /**
   * A message that used up its attempts in the previous run (in flight at the restart, its count kept in the group's
   * checkpoint) goes to the DLQ, as it would have when its last invisible time expired, never out once more.
   */
  private deadLetterIfExhausted(scan: QueueScan, m: StoredMessage): boolean {
    const { state, group } = scan;
    if (state.priorAttemptsOf(m.queueId, m.queueOffset) < group.maxAttempts) return false;
    const e = state.deliver(m.queueId, m.queueOffset, scan.nowMs, DLQ_HOLD_MS, {
      autoRenew: false,
      clientId: '',
      messageGroup: scan.fifo ? (m.props.messageGroup ?? '') : undefined,
      keepAttempt: true,
    });
    this.moveToDlq(state, group, e, m);
    return true;
  }

  /**
   * FIFO groups: scan from the acked floor, skipping done and in-flight offsets, and deliver a message only when no
   * earlier message of its message group is in flight or skipped in this scan. The window bounds the work.
   */
  private scanFifoQueue(scan: QueueScan, queueId: number): void {
    const { state, input, filter, batchMax, out } = scan;
    const range = this.store.queueRange(input.topic, queueId);
    const cursor = state.cursor(queueId, range.minOffset);
    const blocked = new Set(state.blockedMessageGroups.keys());
    const windowEnd = Math.min(range.maxOffset, cursor.ackedFloor + 4096);
    let offset = cursor.ackedFloor;
    while (out.length < batchMax && offset < windowEnd) {
      const messages = this.store.read(input.topic, queueId, offset, 64);
      if (messages.length === 0) break;
      for (const m of messages) {
        if (out.length >= batchMax) break;
        for (let o = offset; o < m.queueOffset; o++) if (!state.lookup(queueId, o)) state.markDone(queueId, o);
        offset = m.queueOffset + 1;
        if (state.isDone(cursor, m.queueOffset)) continue;
        const groupKey = m.props.messageGroup ?? '';
        if (state.lookup(queueId, m.queueOffset) || blocked.has(groupKey)) {
          blocked.add(groupKey);
          continue;
        }
        if (!filter(m.props)) {
          state.markDone(queueId, m.queueOffset);
          continue;
        }
        if (this.deadLetterIfExhausted(scan, m)) {
          blocked.add(groupKey);
          continue;
        }
        out.push(this.recordDelivery(scan, m));
      }
    }
  }

  private recordDelivery(scan: QueueScan, m: StoredMessage): Delivered {
    const { input } = scan;
    const invisibleMs = input.autoRenew ? limits.autoRenewInitialMs : input.invisibleMs;
    const entry = scan.state.deliver(m.queueId, m.queueOffset, scan.nowMs, invisibleMs, {
      autoRenew: input.autoRenew,
      clientId: input.clientId,
      messageGroup: scan.fifo ? (m.props.messageGroup ?? '') : undefined,
      attemptId: input.attemptId,
    });
    return {
      message: m,
      attempt: entry.attempt,
      receiptHandle: this.handleOf(entry),
      invisibleUntilWallMs: this.clock.wallMs() + invisibleMs,
    };
  }

  private handleOf(e: InflightEntry): string {
    return `${this.epoch}.${e.queueId}.${e.offset}.${e.seq}`;
  }

  private moveToDlq(state: GroupTopicState, group: GroupConfig, e: InflightEntry, message: StoredMessage): void {
    // Out of the heap while the copy is written; done once it is durable (retried from the heap otherwise).
    const dlq = this.options.metadata.ensureDlqTopic(group.name);
    const props: MessageProps = {
      ...message.props,
      originMessageId: message.props.messageId,
      originTopic: message.topic,
      system: { ...message.props.system, deliveryAttempts: e.attempt },
    };
    this.store.append([{ topic: dlq.name, queueId: 0, body: message.body, props }]).then(
      () => {
        state.markDone(e.queueId, e.offset);
        this.options.metrics?.sendToDlq.inc({ topic: message.topic, consumer_group: group.name });
        this.wake(dlq.name);
      },
      (err: unknown) => {
        this.options.log?.('error', 'dead-letter append failed; will retry', {
          error: String(err),
          group: group.name,
        });
        state.setVisibleAt(e, this.clock.monotonicMs() + 1000, false);
      },
    );
  }

  // ---- ack, invisible time, DLQ ----

  /** Resolves a receipt handle to its in-flight entry, or INVALID_RECEIPT_HANDLE saying why. */
  private resolveHandle(group: string, topic: string, handle: string): { state: GroupTopicState; e: InflightEntry } {
    const parts = handle.split('.');
    if (parts.length !== 4) return fail('INVALID_RECEIPT_HANDLE', 'receipt handle is malformed');
    const [epoch, q, o, s] = parts;
    if (epoch !== this.epoch) return fail('INVALID_RECEIPT_HANDLE', 'receipt handle is expired (broker restarted)');
    const state = this.states.get(stateKey(group, topic));
    const e = state?.lookup(Number(q), Number(o));
    if (!state || !e || e.seq !== Number(s)) {
      return fail('INVALID_RECEIPT_HANDLE', 'receipt handle is expired or unknown (already acked or redelivered)');
    }
    if (e.visibleAtMs <= this.clock.monotonicMs()) {
      return fail('INVALID_RECEIPT_HANDLE', 'receipt handle is expired: the invisible time passed');
    }
    return { state, e };
  }

  ack(group: string, topic: string, handle: string): void {
    const { state, e } = this.resolveHandle(group, topic, handle);
    state.markDone(e.queueId, e.offset);
    this.wake(topic); // FIFO: the next message of the group may now go
  }

  /** Returns the new receipt handle; the old one stops working. */
  changeInvisibleDuration(group: string, topic: string, handle: string, invisibleMs: number): string {
    const { state, e } = this.resolveHandle(group, topic, handle);
    e.autoRenew = false;
    e.spent = true; // the consumer's answer (RocketMQ clients nack this way): the attempt counts
    state.setVisibleAt(e, this.clock.monotonicMs() + invisibleMs, true);
    // Waiting receives timed their sleep by the earliest visibility they saw; this one may be earlier now.
    this.wake(topic);
    return this.handleOf(e);
  }

  async forwardToDlq(group: GroupConfig, topic: string, handle: string): Promise<void> {
    const { state, e } = this.resolveHandle(group.name, topic, handle);
    const [message] = this.store.read(topic, e.queueId, e.offset, 1);
    if (message?.queueOffset !== e.offset) {
      return fail('INVALID_RECEIPT_HANDLE', 'the message is no longer stored (retention or quarantine)');
    }
    const dlq = this.options.metadata.ensureDlqTopic(group.name);
    const props: MessageProps = { ...message.props, originMessageId: message.props.messageId, originTopic: topic };
    await this.store.append([{ topic: dlq.name, queueId: 0, body: message.body, props }]);
    state.markDone(e.queueId, e.offset);
    this.options.metrics?.sendToDlq.inc({ topic, consumer_group: group.name });
    this.wake(topic);
  }

  // ---- clients ----

  /**
   * A client went away: what it holds under auto-renewal (push consumers) is visible again after 1 s, so other
   * consumers take over; a simple consumer's messages keep their invisible time. RocketMQ's proxy does the same: it
   * tracks only auto-renewed receipt handles and, when their client unregisters, sets them to
   * invisibleTimeMillisWhenClear (1 s) (proxy/.../receipt/DefaultReceiptHandleManager.java, clearGroup).
   */
  releaseClient(clientId: string): number {
    const visibleAtMs = this.clock.monotonicMs() + limits.releaseOnClientGoneMs;
    let released = 0;
    for (const state of this.states.values()) {
      for (const e of state.inflight.values()) {
        if (e.clientId === clientId && e.autoRenew && e.visibleAtMs > visibleAtMs) {
          e.autoRenew = false;
          e.spent = true;
          state.setVisibleAt(e, visibleAtMs, false);
          released++;
        }
      }
      if (released > 0) this.wake(state.topic);
    }
    return released;
  }

  /** Push consumers' messages stay invisible while their client lives, up to 3 h, renewed 10 s ahead. */
  renewSweep(): void {
    const nowMs = this.clock.monotonicMs();
    for (const state of this.states.values()) {
      for (const e of state.inflight.values()) {
        if (!e.autoRenew || e.visibleAtMs - nowMs > limits.autoRenewAheadMs || e.visibleAtMs <= nowMs) continue;
        if (!this.options.isClientAlive(e.clientId, nowMs)) continue;
        if (nowMs - e.firstDeliveredMs > limits.autoRenewTotalMsMax) continue;
        state.setVisibleAt(e, e.visibleAtMs + limits.autoRenewInitialMs, false);
      }
    }
  }

  // ---- admin views ----

  backlog(groupName?: string): BacklogEntry[] {
    const out: BacklogEntry[] = [];
    const nowMs = this.clock.monotonicMs();
    for (const state of this.states.values()) {
      if (groupName !== undefined && state.group !== groupName) continue;
      if (state.group.startsWith('%')) continue;
      const topic = this.options.metadata.topic(state.topic);
      if (!topic) continue;
      let ready = 0;
      let inflight = 0;
      let retry = 0;
      for (let q = 0; q < topic.queues; q++) {
        const range = this.store.queueRange(topic.name, q);
        const c = state.cursor(q, range.minOffset);
        ready += Math.max(0, range.maxOffset - c.nextOffset);
      }
      for (const e of state.inflight.values()) {
        if (e.visibleAtMs > nowMs) inflight++;
        else ready++;
        if (e.attempt > 1) retry++;
      }
      const dlqRange = this.store.queueRange(dlqTopicOf(state.group), 0);
      out.push({ topic: topic.name, group: state.group, ready, inflight, retry, dlq: dlqRange.maxOffset });
    }
    return out;
  }

  /** Moves a group's cursors on a topic to the first message stored at or after wallMs; in-flight is dropped. */
  resetOffset(group: string, topic: TopicConfig, wallMs: number): Array<{ queueId: number; offset: number }> {
    const state = new GroupTopicState(group, topic.name);
    const out: Array<{ queueId: number; offset: number }> = [];
    for (let q = 0; q < topic.queues; q++) {
      const offset = this.store.offsetForTimestamp(topic.name, q, wallMs);
      state.cursors.set(q, { ackedFloor: offset, nextOffset: offset, doneAbove: new Set() });
      out.push({ queueId: q, offset });
    }
    state.dirty = true;
    this.states.set(stateKey(group, topic.name), state);
    this.wake(topic.name);
    return out;
  }

  close(): void {
    this.closed = true;
    this.waiters.close();
  }

  /** Canary (tests only): swap the first two messages of one message group in this batch, one batch in N. */
  private canarySwapFifo(out: Delivered[]): void {
    const n = this.options.swapFifoOneIn;
    if (!n) return;
    const groupOf = (d: Delivered | undefined) => d?.message.props.messageGroup;
    const first = out.findIndex((d, i) => out.some((e, j) => j > i && groupOf(e) === groupOf(d)));
    if (first < 0 || ++this.canarySwapCounter % n !== 0) return;
    const second = out.findIndex((d, j) => j > first && groupOf(d) === groupOf(out[first]));
    [out[first], out[second]] = [out[second] as Delivered, out[first] as Delivered];
  }
}

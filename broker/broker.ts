import { randomBytes } from 'node:crypto';
import { BoundedQueue } from '../lib/bounded-queue.ts';
import type { Clock } from '../lib/clock.ts';
import { ClientRegistry } from './clients.ts';
import { DelayTimer } from './delay/timer.ts';
import { GroupTopicState, type InflightEntry } from './delivery/group-topic.ts';
import { BrokerError, fail, topicNotFoundMessage } from './errors.ts';
import { compileFilter, type FilterKind, type MessageFilter } from './filter/index.ts';
import { limits } from './limits.ts';
import { dlqTopicOf, type GroupConfig, Metadata, type TopicConfig } from './metadata.ts';
import type { BrokerMetrics } from './metrics/index.ts';
import type { MessageProps, MessageRecord, MessageStore, MessageType, StoredMessage } from './store/types.ts';
import { SystemLog } from './system-log.ts';
import {
  defaultTransactionConfig,
  type Resolution,
  type TransactionConfig,
  TransactionService,
} from './transactions/index.ts';

export interface SendInput {
  topic: string;
  body: Buffer;
  props: MessageProps;
  /** The sending client, preferred for transaction check-backs. */
  clientId?: string;
}

/** Writes a check-back command to a producer's telemetry stream (set by the protocol layer). */
export type TransactionCheckWriter = (
  stream: { write(cmd: unknown): boolean },
  message: StoredMessage,
  transactionId: string,
) => void;

export interface SendOutput {
  queueId: number;
  queueOffset: number;
  messageId: string;
}

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

export interface BrokerOptions {
  store: MessageStore;
  clock: Clock;
  metadata?: Metadata;
  /** Create consumer groups on first use instead of answering CONSUMER_GROUP_NOT_FOUND. */
  autoCreateGroups?: boolean;
  inflightPerGroupMax?: number;
  waitersMax?: number;
  /**
   * Test-only canary faults that make the broker misbehave on purpose, so a drill can prove it notices:
   * `dropAckedOneIn` acknowledges but drops one send in N; `swapFifoOneIn` delivers, one receive batch in N that
   * holds two consecutive messages of a FIFO message group, the later one first.
   */
  canary?: { dropAckedOneIn?: number; swapFifoOneIn?: number };
  metrics?: BrokerMetrics;
  /** Longest delay a DELAY message may ask for (RocketMQ: 24 h). */
  delayMsMax?: number;
  delayPendingMax?: number;
  transactions?: Partial<TransactionConfig>;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

const attemptCacheMax = 4096;
/** FIFO: how long an expired message waits before looking again when an earlier one of its group is in flight. */
const fifoParkMs = 1000;

/** One receive's pass over a group's queues: what every queue scan reads and appends to. */
interface QueueScan {
  state: GroupTopicState;
  fifo: boolean;
  input: ReceiveInput;
  filter: MessageFilter;
  batchMax: number;
  out: Delivered[];
  nowMs: number;
}

interface Waiter {
  topic: string;
  wake(): void;
}

/**
 * The broker core, independent of gRPC: topics and groups, send, receive with long polling, ack, invisible time,
 * retry and dead-lettering, client sessions. The protocol layer translates requests into these calls.
 */
export class Broker {
  readonly metadata: Metadata;
  readonly clients = new ClientRegistry();
  readonly store: MessageStore;
  private readonly clock: Clock;
  /** Distinguishes this process's receipt handles from a previous run's: those are expired after a restart. */
  private readonly epoch = randomBytes(4).toString('hex');
  private readonly states = new Map<string, GroupTopicState>();
  private readonly roundRobin = new Map<string, number>();
  private readonly waiters: BoundedQueue<Waiter>;
  private readonly waitersByTopic = new Map<string, Set<Waiter>>();
  private readonly inflightPerGroupMax: number;
  private readonly autoRenewTimer: () => void;
  private canaryCounter = 0;
  private canarySwapCounter = 0;
  /** Recent batches by attempt id (bounded, oldest dropped first). */
  private readonly attempts = new Map<string, Delivered[]>();
  closed = false;
  readonly delayTimer: DelayTimer;
  readonly transactions: TransactionService;
  onTransactionCheck: TransactionCheckWriter | undefined;
  /** Observes how late each delayed message reached its topic (benchmarks). */
  onDelayLateness: ((latenessMs: number) => void) | undefined;

  constructor(readonly options: BrokerOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.metadata = options.metadata ?? new Metadata();
    this.inflightPerGroupMax = options.inflightPerGroupMax ?? 100_000;
    this.waiters = new BoundedQueue<Waiter>('receive-long-poll-waiters', options.waitersMax ?? 8192);
    this.autoRenewTimer = this.scheduleRenewSweep();
    const onError = (err: unknown) =>
      this.log('error', 'internal store write failed; will retry', { error: String(err) });
    this.delayTimer = new DelayTimer({
      log: new SystemLog(this.store, '%SYS_TIMER%'),
      clock: this.clock,
      pendingMax: options.delayPendingMax ?? 1_000_000,
      onDelivered: (topic) => this.wakeTopic(topic),
      onError,
      onLateness: (ms) => {
        this.options.metrics?.timerLateness.observe(ms);
        this.onDelayLateness?.(ms);
      },
    });
    this.transactions = new TransactionService({
      log: new SystemLog(this.store, '%SYS_HALF%'),
      clock: this.clock,
      config: { ...defaultTransactionConfig, ...options.transactions },
      requestCheck: (message, topic, clientId) => this.requestTransactionCheck(message, topic, clientId),
      onCommitted: (topic) => this.wakeTopic(topic),
      onError,
    });
  }

  /** Rebuilds pending delayed and half messages from the store; call once after the store is open. */
  recoverSystemState(): { delayed: number; halfMessages: number } {
    return { delayed: this.delayTimer.recover(), halfMessages: this.transactions.recover() };
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, msg, fields);
  }

  requireTopic(name: string): TopicConfig {
    return this.metadata.topic(name) ?? fail('TOPIC_NOT_FOUND', topicNotFoundMessage(name));
  }

  requireGroup(name: string): GroupConfig {
    const group = this.metadata.group(name);
    if (group) return group;
    if (this.options.autoCreateGroups) return this.metadata.upsertGroup({ name });
    return fail(
      'CONSUMER_GROUP_NOT_FOUND',
      `consumer group ${name} does not exist (create it first: mqdrill admin group create ${name})`,
    );
  }

  // ---- send ----

  async send(input: SendInput): Promise<SendOutput> {
    const topic = this.requireTopic(input.topic);
    checkTypeAllowed(topic, input.props.messageType);
    const queueId = this.chooseQueue(topic, input.props.messageGroup);
    if (this.canaryDropsThisSend()) return { queueId, queueOffset: 0, messageId: input.props.messageId };
    const record: MessageRecord = { topic: topic.name, queueId, body: input.body, props: input.props };
    const queueOffset = await this.storeByType(record, input.clientId);
    this.options.metrics?.messagesIn.inc({ topic: topic.name, message_type: input.props.messageType });
    this.options.metrics?.throughputIn.inc({ topic: topic.name }, input.body.length);
    return { queueId, queueOffset, messageId: input.props.messageId };
  }

  /** NORMAL and FIFO go straight to their queue; DELAY waits in the timer; TRANSACTION waits as a half message. */
  private async storeByType(record: MessageRecord, clientId: string | undefined): Promise<number> {
    const { messageType, deliveryTimestampMs } = record.props;
    if (messageType === 'DELAY' && deliveryTimestampMs !== undefined) {
      const aheadMs = deliveryTimestampMs - this.clock.wallMs();
      const delayMsMax = this.options.delayMsMax ?? limits.delayAheadMsMax;
      if (aheadMs > delayMsMax) {
        fail(
          'ILLEGAL_DELIVERY_TIME',
          `delivery time is ${aheadMs} ms ahead; this broker allows at most ${delayMsMax} ms`,
        );
      }
      if (aheadMs > 0) return this.delayTimer.schedule(record, deliveryTimestampMs);
    }
    if (messageType === 'TRANSACTION') return this.transactions.prepare(record, clientId);
    const [result] = await this.store.append([record]);
    if (!result) return fail('INTERNAL_ERROR', 'store returned no append result');
    this.wakeTopic(record.topic);
    return result.queueOffset;
  }

  async endTransaction(topic: string, messageId: string, resolution: Resolution): Promise<void> {
    this.requireTopic(topic);
    await this.transactions.end(topic, messageId, resolution);
  }

  /** Check-back: the producer that sent the half message if it is still connected, else any producer of the topic. */
  private requestTransactionCheck(message: StoredMessage, topic: string, clientId: string | undefined): boolean {
    const writer = this.onTransactionCheck;
    if (!writer) return false;
    const preferred = clientId ? this.clients.get(clientId) : undefined;
    const candidates = preferred?.streams.size ? [preferred] : [...this.clients.all()];
    for (const session of candidates) {
      if (session.streams.size === 0) continue;
      if (session !== preferred && !(session.clientType === 'PRODUCER' && session.topics.includes(topic))) continue;
      const [stream] = session.streams;
      if (stream) {
        writer(stream, message, message.props.messageId);
        return true;
      }
    }
    return false;
  }

  private chooseQueue(topic: TopicConfig, messageGroup: string | undefined): number {
    if (messageGroup !== undefined) return hashString(messageGroup) % topic.queues;
    const next = ((this.roundRobin.get(topic.name) ?? -1) + 1) % topic.queues;
    this.roundRobin.set(topic.name, next);
    return next;
  }

  // ---- receive ----

  private state(group: string, topic: string): GroupTopicState {
    const k = `${group}\u0000${topic}`;
    let s = this.states.get(k);
    if (!s) {
      s = new GroupTopicState(group, topic);
      this.states.set(k, s);
    }
    return s;
  }

  /** Long-polling receive: answers as soon as one message is deliverable, or with [] when pollMs runs out. */
  async receive(input: ReceiveInput, abort?: AbortSignal): Promise<Delivered[]> {
    this.requireTopic(input.topic);
    const group = this.requireGroup(input.group);
    const filter = compileFilter(input.filter.kind, input.filter.expression);
    const repeated = this.repeatAttempt(input);
    if (repeated) return repeated;
    const deadlineMs = this.clock.monotonicMs() + input.pollMs;
    for (;;) {
      const out = this.tryReceive(group, input, filter);
      if (out.length > 0) this.rememberAttempt(input, out);
      if (out.length > 0 || this.closed || abort?.aborted) return out;
      const remainingMs = deadlineMs - this.clock.monotonicMs();
      if (remainingMs <= 0) return out;
      await this.waitForWork(input.topic, group, remainingMs, abort);
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
    const state = this.states.get(`${input.group}\u0000${input.topic}`);
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

  private waitForWork(topic: string, group: GroupConfig, remainingMs: number, abort?: AbortSignal): Promise<void> {
    const state = this.state(group.name, topic);
    const earliest = state.earliestVisibleAtMs();
    const untilVisibleMs = earliest === undefined ? remainingMs : earliest - this.clock.monotonicMs();
    const waitMs = Math.max(1, Math.min(remainingMs, untilVisibleMs));
    return new Promise<void>((resolve) => {
      let done = false;
      const waiter: Waiter = { topic, wake: () => finish() };
      const cancelTimer = this.clock.setTimer(waitMs, () => finish());
      const onAbort = () => finish();
      const finish = () => {
        if (done) return;
        done = true;
        cancelTimer();
        abort?.removeEventListener('abort', onAbort);
        this.waitersByTopic.get(topic)?.delete(waiter);
        this.waiters.removeWhere((w) => w === waiter);
        resolve();
      };
      if (!this.waiters.push(waiter)) {
        finish();
        fail('TOO_MANY_REQUESTS', `polling full: ${this.waiters.countMax} receives are already waiting`);
      }
      let set = this.waitersByTopic.get(topic);
      if (!set) {
        set = new Set();
        this.waitersByTopic.set(topic, set);
      }
      set.add(waiter);
      abort?.addEventListener('abort', onAbort);
    });
  }

  private wakeTopic(topic: string): void {
    const set = this.waitersByTopic.get(topic);
    if (!set || set.size === 0) return;
    for (const w of [...set]) w.wake();
  }

  private tryReceive(group: GroupConfig, input: ReceiveInput, filter: MessageFilter): Delivered[] {
    const state = this.state(group.name, input.topic);
    const batchMax = Math.max(1, Math.min(input.batchSize || limits.receiveBatchMax, limits.receiveBatchMax));
    const nowMs = this.clock.monotonicMs();
    const out: Delivered[] = [];
    this.redeliverExpired(state, group, input, batchMax, out);
    if (out.length < batchMax && state.inflight.size < this.inflightPerGroupMax) {
      this.deliverNew(state, group, input, filter, batchMax, out, nowMs);
    }
    if (group.fifo) this.canarySwapFifo(out);
    if (out.length > 0) {
      this.options.metrics?.messagesOut.inc({ topic: input.topic, consumer_group: group.name }, out.length);
    }
    return out;
  }

  private redeliverExpired(
    state: GroupTopicState,
    group: GroupConfig,
    input: ReceiveInput,
    batchMax: number,
    out: Delivered[],
  ): void {
    const nowMs = this.clock.monotonicMs();
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
      if (e.attempt >= group.maxAttempts) {
        this.moveToDlq(state, group, e, message);
        if (fifoGroup !== undefined) held.add(fifoGroup);
        continue;
      }
      out.push(this.recordDelivery(state, message, input, nowMs, group.fifo));
      const redelivered = state.lookup(e.queueId, e.offset);
      if (redelivered) released.add(redelivered);
    }
    state.putBack(putBack);
  }

  private deliverNew(
    state: GroupTopicState,
    group: GroupConfig,
    input: ReceiveInput,
    filter: MessageFilter,
    batchMax: number,
    out: Delivered[],
    nowMs: number,
  ): void {
    const topic = this.requireTopic(input.topic);
    const rotationKey = `r\u0000${group.name}\u0000${topic.name}`;
    const start = (this.roundRobin.get(rotationKey) ?? 0) % topic.queues;
    this.roundRobin.set(rotationKey, start + 1);
    const scan: QueueScan = { state, fifo: group.fifo, input, filter, batchMax, out, nowMs };
    for (let i = 0; i < topic.queues && out.length < batchMax; i++) {
      const queueId = (start + i) % topic.queues;
      if (group.fifo) this.scanFifoQueue(scan, queueId);
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
        cursor.nextOffset = m.queueOffset + 1;
        if (state.isDone(cursor, m.queueOffset) || state.lookup(queueId, m.queueOffset)) continue;
        if (!filter(m.props)) {
          state.markDone(queueId, m.queueOffset);
          continue;
        }
        out.push(this.recordDelivery(state, m, input, scan.nowMs, scan.fifo));
      }
    }
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
        offset = m.queueOffset + 1;
        if (out.length >= batchMax) break;
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
        out.push(this.recordDelivery(state, m, input, scan.nowMs, scan.fifo));
      }
    }
  }

  private recordDelivery(
    state: GroupTopicState,
    m: StoredMessage,
    input: ReceiveInput,
    nowMs: number,
    fifo: boolean,
  ): Delivered {
    const invisibleMs = input.autoRenew ? limits.autoRenewInitialMs : input.invisibleMs;
    const entry = state.deliver(m.queueId, m.queueOffset, nowMs, invisibleMs, {
      autoRenew: input.autoRenew,
      clientId: input.clientId,
      messageGroup: fifo ? (m.props.messageGroup ?? '') : undefined,
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
    const dlq = this.metadata.ensureDlqTopic(group.name);
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
        this.wakeTopic(dlq.name);
      },
      (err: unknown) => {
        this.log('error', 'dead-letter append failed; will retry', { error: String(err), group: group.name });
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
    const state = this.states.get(`${group}\u0000${topic}`);
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
    this.requireTopic(topic);
    this.requireGroup(group);
    const { state, e } = this.resolveHandle(group, topic, handle);
    state.markDone(e.queueId, e.offset);
    this.wakeTopic(topic); // FIFO: the next message of the group may now go
  }

  /** Returns the new receipt handle; the old one stops working. */
  changeInvisibleDuration(group: string, topic: string, handle: string, invisibleMs: number): string {
    if (!(invisibleMs >= 0 && invisibleMs <= limits.invisibleDurationMsMax)) {
      fail(
        'ILLEGAL_INVISIBLE_TIME',
        `invisible duration ${invisibleMs}ms is outside 0..${limits.invisibleDurationMsMax}`,
      );
    }
    this.requireTopic(topic);
    this.requireGroup(group);
    const { state, e } = this.resolveHandle(group, topic, handle);
    e.autoRenew = false;
    state.setVisibleAt(e, this.clock.monotonicMs() + invisibleMs, true);
    // Waiting receives timed their sleep by the earliest visibility they saw; this one may be earlier now.
    this.wakeTopic(topic);
    return this.handleOf(e);
  }

  async forwardToDlq(group: string, topic: string, handle: string): Promise<void> {
    this.requireTopic(topic);
    const groupConfig = this.requireGroup(group);
    const { state, e } = this.resolveHandle(group, topic, handle);
    const [message] = this.store.read(topic, e.queueId, e.offset, 1);
    if (!message) return fail('INVALID_RECEIPT_HANDLE', 'the message is no longer stored (retention)');
    const dlq = this.metadata.ensureDlqTopic(groupConfig.name);
    const props: MessageProps = { ...message.props, originMessageId: message.props.messageId, originTopic: topic };
    await this.store.append([{ topic: dlq.name, queueId: 0, body: message.body, props }]);
    state.markDone(e.queueId, e.offset);
    this.options.metrics?.sendToDlq.inc({ topic, consumer_group: group });
    this.wakeTopic(topic);
  }

  // ---- clients ----

  /** Releases everything a client holds: visible again after 1 s, so other consumers take over. */
  releaseClient(clientId: string): number {
    const visibleAtMs = this.clock.monotonicMs() + limits.releaseOnClientGoneMs;
    let released = 0;
    for (const state of this.states.values()) {
      for (const e of state.inflight.values()) {
        if (e.clientId === clientId && e.visibleAtMs > visibleAtMs) {
          e.autoRenew = false;
          state.setVisibleAt(e, visibleAtMs, false);
          released++;
        }
      }
      if (released > 0) this.wakeTopic(state.topic);
    }
    return released;
  }

  private scheduleRenewSweep(): () => void {
    let cancel = () => {};
    const sweep = () => {
      if (this.closed) return;
      this.renewSweep();
      cancel = this.clock.setTimer(2000, sweep);
    };
    cancel = this.clock.setTimer(2000, sweep);
    return () => cancel();
  }

  /** Push consumers' messages stay invisible while their client lives, up to 3 h, renewed 10 s ahead. */
  renewSweep(): void {
    const nowMs = this.clock.monotonicMs();
    for (const state of this.states.values()) {
      for (const e of state.inflight.values()) {
        if (!e.autoRenew || e.visibleAtMs - nowMs > limits.autoRenewAheadMs || e.visibleAtMs <= nowMs) continue;
        if (!this.clients.isAlive(e.clientId, nowMs)) continue;
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
      const topic = this.metadata.topic(state.topic);
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
  resetOffset(groupName: string, topicName: string, wallMs: number): Array<{ queueId: number; offset: number }> {
    const topic = this.requireTopic(topicName);
    this.requireGroup(groupName);
    const state = new GroupTopicState(groupName, topicName);
    const out: Array<{ queueId: number; offset: number }> = [];
    for (let q = 0; q < topic.queues; q++) {
      const offset = this.store.offsetForTimestamp(topicName, q, wallMs);
      state.cursors.set(q, { ackedFloor: offset, nextOffset: offset, doneAbove: new Set() });
      out.push({ queueId: q, offset });
    }
    state.dirty = true;
    this.states.set(`${groupName}\u0000${topicName}`, state);
    this.wakeTopic(topicName);
    return out;
  }

  groupStates(): IterableIterator<GroupTopicState> {
    return this.states.values();
  }

  restoreGroupState(group: string, topic: string, restore: (s: GroupTopicState) => void): void {
    restore(this.state(group, topic));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.autoRenewTimer();
    this.delayTimer.close();
    this.transactions.close();
    for (const set of this.waitersByTopic.values()) for (const w of [...set]) w.wake();
    this.waiters.dispose();
  }

  /** Canary (tests only): swap the first two messages of one message group in this batch, one batch in N. */
  private canarySwapFifo(out: Delivered[]): void {
    const n = this.options.canary?.swapFifoOneIn;
    if (!n) return;
    const groupOf = (d: Delivered | undefined) => d?.message.props.messageGroup;
    const first = out.findIndex((d, i) => out.some((e, j) => j > i && groupOf(e) === groupOf(d)));
    if (first < 0 || ++this.canarySwapCounter % n !== 0) return;
    const second = out.findIndex((d, j) => j > first && groupOf(d) === groupOf(out[first]));
    [out[first], out[second]] = [out[second] as Delivered, out[first] as Delivered];
  }

  /** Canary (tests only): pretend to ack a send but drop it, one in N. */
  canaryDropsThisSend(): boolean {
    const n = this.options.canary?.dropAckedOneIn;
    if (!n) return false;
    this.canaryCounter++;
    return this.canaryCounter % n === 0;
  }
}

function checkTypeAllowed(topic: TopicConfig, type: MessageType): void {
  if (topic.type === 'MIXED' || topic.type === type) return;
  fail(
    'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE',
    `topic ${topic.name} accepts ${topic.type} messages; this message is ${type}`,
  );
}

/** Java's String.hashCode, so FIFO queue choice matches what RocketMQ users expect from consistent hashing. */
export function hashString(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

export { BrokerError };

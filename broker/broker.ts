import type { Clock } from '../lib/clock.ts';
import { ClientRegistry } from './clients.ts';
import { DelayTimer } from './delay/timer.ts';
import { type BacklogEntry, type Delivered, Delivery, type ReceiveInput } from './delivery/delivery.ts';
import type { GroupTopicState } from './delivery/group-topic.ts';
import { BrokerError, fail, topicNotFoundMessage } from './errors.ts';
import { limits } from './limits.ts';
import { type GroupConfig, Metadata, type TopicConfig } from './metadata.ts';
import type { BrokerMetrics } from './metrics/index.ts';
import { SlowSendGate } from './slow-send.ts';
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

export interface BrokerOptions {
  store: MessageStore;
  clock: Clock;
  metadata?: Metadata;
  /**
   * Create a consumer group on first use (not FIFO, 17 attempts), as RocketMQ does with its default
   * autoCreateSubscriptionGroup=true; false answers CONSUMER_GROUP_NOT_FOUND instead. Default true.
   */
  autoCreateGroups?: boolean;
  inflightPerGroupMax?: number;
  waitersMax?: number;
  /**
   * Test-only canary faults that make the broker misbehave on purpose, so a drill can prove it notices:
   * `dropAckedOneIn` acknowledges but drops one send in N; `swapFifoOneIn` delivers, one receive batch in N that
   * holds two consecutive messages of a FIFO message group, the later one first.
   */
  canary?: { dropAckedOneIn?: number; swapFifoOneIn?: number };
  /** Test-only: every send holds one shared line for this long (broker/slow-send.ts); off when absent or 0. */
  testOnlySendDelayMs?: number;
  metrics?: BrokerMetrics;
  /** Longest delay a DELAY message may ask for (RocketMQ: 24 h). */
  delayMsMax?: number;
  delayPendingMax?: number;
  transactions?: Partial<TransactionConfig>;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
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
  private readonly roundRobin = new Map<string, number>();
  readonly delivery: Delivery;
  private readonly inflightPerGroupMax: number;
  private readonly autoRenewTimer: () => void;
  private canaryCounter = 0;
  private readonly slowSends: SlowSendGate | undefined;
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
    const delayMs = options.testOnlySendDelayMs ?? 0;
    this.slowSends = delayMs > 0 ? new SlowSendGate(this.clock, delayMs) : undefined;
    this.delivery = new Delivery({
      store: this.store,
      clock: this.clock,
      metadata: this.metadata,
      isClientAlive: (clientId, nowMs) => this.clients.isAlive(clientId, nowMs),
      inflightPerGroupMax: options.inflightPerGroupMax,
      waitersMax: options.waitersMax,
      swapFifoOneIn: options.canary?.swapFifoOneIn,
      metrics: options.metrics,
      log: options.log,
    });
    this.autoRenewTimer = this.scheduleRenewSweep();
    const onError = (err: unknown) =>
      this.log('error', 'internal store write failed; will retry', { error: String(err) });
    this.delayTimer = new DelayTimer({
      log: new SystemLog(this.store, '%SYS_TIMER%'),
      clock: this.clock,
      pendingMax: options.delayPendingMax ?? 1_000_000,
      onDelivered: (topic) => this.delivery.wake(topic),
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
      onCommitted: (topic) => this.delivery.wake(topic),
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
    if (this.options.autoCreateGroups !== false) return this.metadata.upsertGroup({ name });
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
    if (this.slowSends) await this.slowSends.pass();
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
    this.delivery.wake(record.topic);
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

  // ---- receive, ack, invisible time, DLQ (broker/delivery/) ----

  /** Long-polling receive: answers as soon as one message is deliverable, or with [] when pollMs runs out. */
  async receive(input: ReceiveInput, abort?: AbortSignal): Promise<Delivered[]> {
    const topic = this.requireTopic(input.topic);
    const group = this.requireGroup(input.group);
    return this.delivery.receive(group, topic, input, abort);
  }

  ack(group: string, topic: string, handle: string): void {
    this.requireTopic(topic);
    this.requireGroup(group);
    this.delivery.ack(group, topic, handle);
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
    return this.delivery.changeInvisibleDuration(group, topic, handle, invisibleMs);
  }

  async forwardToDlq(group: string, topic: string, handle: string): Promise<void> {
    this.requireTopic(topic);
    await this.delivery.forwardToDlq(this.requireGroup(group), topic, handle);
  }

  /** A client went away: its auto-renewed (push) messages are visible again after 1 s; see Delivery. */
  releaseClient(clientId: string): number {
    return this.delivery.releaseClient(clientId);
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
    this.delivery.renewSweep();
  }

  // ---- admin views ----

  backlog(groupName?: string): BacklogEntry[] {
    return this.delivery.backlog(groupName);
  }

  /** Moves a group's cursors on a topic to the first message stored at or after wallMs; in-flight is dropped. */
  resetOffset(groupName: string, topicName: string, wallMs: number): Array<{ queueId: number; offset: number }> {
    const topic = this.requireTopic(topicName);
    this.requireGroup(groupName);
    return this.delivery.resetOffset(groupName, topic, wallMs);
  }

  groupStates(): IterableIterator<GroupTopicState> {
    return this.delivery.groupStates();
  }

  restoreGroupState(group: string, topic: string, restore: (s: GroupTopicState) => void): void {
    restore(this.delivery.state(group, topic));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.autoRenewTimer();
    this.delayTimer.close();
    this.transactions.close();
    this.delivery.close();
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

export type { BacklogEntry, Delivered, ReceiveInput };
export { BrokerError };

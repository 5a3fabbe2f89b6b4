import type { AnomalyExample, TimeWindow } from '../../reports/schema.ts';
import type { CounterSnapshot, GuaranteeLevel, LedgerEvent, LedgerHeader, Subscription } from '../ledger/index.ts';
import type { AnomalyName } from './anomalies.ts';
import { compileFilter, compileSqlFilter, type FilterMatcher, type SqlFilter } from './filters.ts';
import type { GroupColumns, Interner, MessageTable } from './message-table.ts';
import type { LatencyRecorder, TimelineBuilder } from './stats.ts';

/** RocketMQ's default: 1 delivery + 16 retries. */
export const MAX_ATTEMPTS_DEFAULT = 17;
export const DELAY_LATE_TOLERANCE_MS_DEFAULT = 10_000;
/** Delivery times are whole milliseconds on the broker; two clocks on one host agree to about this. */
export const CLOCK_TOLERANCE_MS_BASE = 1;

/** A consumer group and what it subscribed to. */
export interface GroupInfo {
  name: string;
  columns: GroupColumns;
  /** Declared in a header, or inferred from deliveries. */
  declared: boolean;
  fifo: boolean;
  maxAttempts: number;
  /** Per topic id: the filter of the group's subscription to that topic. */
  filters: Map<number, { matcher: FilterMatcher; subscription: Subscription; sqlBit?: number }>;
}

/** A SQL92 subscription: evaluated on each send of its topic; the result is bit `bit` of table.sqlMatch. */
export interface SqlSubscription {
  topic: number;
  bit: number;
  evaluate: SqlFilter;
}

/** At most this many SQL92 subscriptions are evaluated (one bit each); more are "cannot tell". */
export const SQL_SUBSCRIPTIONS_MAX = 30;

/** Everything the checkers may read. The engine updates it after the checkers observed each event. */
export interface CheckContext {
  readonly table: MessageTable;
  readonly files: readonly string[];
  readonly headers: readonly LedgerHeader[];
  readonly guarantee: GuaranteeLevel;
  readonly topics: Interner;
  readonly tags: Interner;
  readonly orderKeys: Interner;
  readonly groups: GroupInfo[];
  readonly groupByName: Map<string, GroupInfo>;
  /** Per topic id: the groups that subscribed to it. */
  readonly groupsByTopic: GroupInfo[][];
  readonly sqlSubscriptions: SqlSubscription[];
  readonly delayLateToleranceMs: number;
  readonly drainSloMs: number | undefined;
  readonly phases: TimeWindow[];
  readonly faults: TimeWindow[];
  /** First and last snapshot of each counter source. */
  readonly counters: Map<string, { first: CounterSnapshot; last: CounterSnapshot; fileIndex: number; line: number }>;
  readonly latencies: Record<'send_duration' | 'e2e_latency' | 'send_delay' | 'ack_duration', LatencyRecorder>;
  readonly timeline: TimelineBuilder;
  readonly counts: Record<string, number>;
  /** Deliveries without a harness id: the examples of `unexpected` foreign messages. */
  foreignDeliveries: number;
  drainStartMs: number | undefined;
  drainEndMs: number | undefined;
  drainEndOk: boolean | undefined;
  /** The last ack or dead-lettering at or after the drain start. */
  lastConsumeMs: number | undefined;
  backlogTotal: number;
  /** The broker's last reported backlog per consumer group (`bl` records, counter snapshots). */
  readonly brokerBacklogByGroup: Map<string, number>;
  /** Distinct messages observed in any DLQ. */
  deadLetterObservations: number;
  /** A `dlq-scan` phase ended: the dead-letter queues were read completely. */
  deadLetterScanned: boolean;
  /**
   * Consumer groups some consumer ledger speaks for: a receive, delivery, ack or nack record names the group, or a
   * header of a consumer process (role `consumer` or `both`) declares it. A declared group outside this set had no
   * consumer ledger in the check, so nothing can be said about what it received.
   */
  readonly consumerGroupsSeen: Set<string>;
  /**
   * Clocks: every ledger's timestamps are corrected by its measured offset to the drill's clock (`ck` records) when
   * read; `toleranceMs` bounds what is left (1 ms + twice the worst measurement error plus drift of any ledger), and
   * is added in the accused side's favour wherever two ledgers' timestamps are compared.
   */
  readonly clock: { toleranceMs: number; measuredFiles: Set<number> };
  /** Messages that entered the derived backlog of some group (0: nothing the consumers had to drain). */
  backlogEntered: number;
}

/**
 * Whether group G must receive message i: true, false, or undefined when the checker cannot tell (SQL92 filter).
 * Messages of topics G did not subscribe to are false.
 */
export function expects(ctx: CheckContext, group: GroupInfo, i: number): boolean | undefined {
  const topic = ctx.table.topic[i] as number;
  const sub = group.filters.get(topic);
  if (sub === undefined) return false;
  if (sub.sqlBit !== undefined) {
    const bits = ctx.table.sqlMatch.get(i);
    return bits === undefined ? undefined : (bits & (1 << sub.sqlBit)) !== 0;
  }
  const tagId = ctx.table.tag[i] as number;
  return sub.matcher(tagId >= 0 ? ctx.tags.values[tagId] : undefined);
}

export function makeGroupInfo(ctx: CheckContext, name: string, declared: boolean): GroupInfo {
  const info: GroupInfo = {
    name,
    columns: ctx.table.addGroup(name),
    declared,
    fifo: false,
    maxAttempts: MAX_ATTEMPTS_DEFAULT,
    filters: new Map(),
  };
  ctx.groups.push(info);
  ctx.groupByName.set(name, info);
  return info;
}

export function addSubscription(ctx: CheckContext, group: GroupInfo, subscription: Subscription): void {
  const topic = ctx.topics.id(subscription.topic);
  if (group.filters.has(topic)) return;
  const sql = compileSqlFilter(subscription);
  let sqlBit: number | undefined;
  if (sql && ctx.sqlSubscriptions.length < SQL_SUBSCRIPTIONS_MAX) {
    sqlBit = ctx.sqlSubscriptions.length;
    ctx.sqlSubscriptions.push({ topic, bit: sqlBit, evaluate: sql });
  }
  group.filters.set(topic, { matcher: compileFilter(subscription), subscription, sqlBit });
  if (subscription.fifo) group.fifo = true;
  if (subscription.maxAttempts !== undefined) group.maxAttempts = subscription.maxAttempts;
  while (ctx.groupsByTopic.length <= topic) ctx.groupsByTopic.push([]);
  (ctx.groupsByTopic[topic] as GroupInfo[]).push(group);
}

/** An anomaly's findings while it is being checked. */
export class Findings {
  count = 0;
  checked = 0;
  /** Set when the checker cannot decide (the verdict becomes unknown unless something failed). */
  undecided = false;
  /** Set when the checker judged nothing although the run should have given it something: never a pass. */
  unjudged = false;
  applicable = true;
  readonly examples: AnomalyExample[] = [];
  readonly notes: string[] = [];

  constructor(
    readonly name: AnomalyName,
    private readonly examplesMax: number,
    private readonly files: readonly string[],
  ) {}

  /** Nothing was judged although `why` says there should have been something: the verdict is unknown. */
  nothingJudged(why: string): void {
    this.unjudged = true;
    this.undecided = true;
    this.applicable = true;
    this.notes.push(`nothing judged (${this.checked} checked) although ${why}`);
  }

  /** Counts one occurrence and keeps it as an example while there is room; fileIndex -1: not about one line. */
  add(fileIndex: number, line: number, detail: string, id?: string, group?: string): void {
    this.count++;
    if (this.examples.length >= this.examplesMax) return;
    const example: AnomalyExample = { file: this.files[fileIndex] ?? '', line, detail };
    if (id !== undefined) example.id = id;
    if (group !== undefined) example.group = group;
    this.examples.push(example);
  }
}

/** One anomaly checker: observes events in time order, then decides. */
export interface Checker {
  readonly name: AnomalyName;
  /** Called for every event before the engine applies it to the context, so `ctx` shows the state before it. */
  observe?(event: LedgerEvent, fileIndex: number, line: number, ctx: CheckContext, findings: Findings): void;
  finish(ctx: CheckContext, findings: Findings): void;
}

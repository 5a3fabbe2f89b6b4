import type {
  AckComplete,
  AckInvoke,
  CounterSnapshot,
  DeadLetterObserved,
  LedgerEvent,
  PhaseMarker,
  ReceivedMessage,
  SendComplete,
  SendInvoke,
} from '../ledger/index.ts';
import { PROPERTY_ID, PROPERTY_KEY, PROPERTY_SEQ } from '../ledger/index.ts';
import {
  addSubscription,
  type CheckContext,
  CLOCK_TOLERANCE_MS_BASE,
  expects,
  type GroupInfo,
  makeGroupInfo,
} from './context.ts';
import { GRP, hashString, MSG } from './message-table.ts';

/**
 * The engine's own bookkeeping: applies one event to the shared context after the checkers observed it. It never
 * throws on odd but parseable records (a missing field is counted in `counts.skippedRecords`), because a crash here
 * would hide every verdict.
 */
export class EventApplier {
  /** Ack / forward operations in flight, per file: op id -> message * 1024 + group. */
  private readonly pendingOps: Map<number, number>[] = [];
  private readonly lastOkByKey: number[] = [];
  private readonly openFaults = new Map<number, number>();
  private readonly openPhases = new Map<string, number>();
  private readonly firstClockOffset = new Map<number, number>();

  constructor(private readonly ctx: CheckContext) {}

  apply(event: LedgerEvent, fileIndex: number, line: number): void {
    const ctx = this.ctx;
    switch (event.t) {
      case 'si':
        this.sendInvoke(event, fileIndex, line);
        return;
      case 'sc':
        this.sendComplete(event);
        return;
      case 'rm':
        this.received(event);
        return;
      case 'ai':
        this.ackInvoke(event, fileIndex);
        return;
      case 'ac':
        this.ackComplete(event, fileIndex);
        return;
      case 'ni':
        ctx.counts.nacks = (ctx.counts.nacks ?? 0) + 1;
        if (typeof event.cg === 'string') ctx.consumerGroupsSeen.add(event.cg);
        return;
      case 'ri':
        if (typeof event.cg === 'string') ctx.consumerGroupsSeen.add(event.cg);
        return;
      case 'fi':
        this.remember(event.id, event.cg, fileIndex, event.o);
        return;
      case 'fc':
        this.forwardComplete(event.r, fileIndex, event.o, event.ts);
        return;
      case 'ei':
      case 'tk':
        this.decide(event.id, event.x, event.ts);
        if (event.t === 'tk') this.flag(event.id, MSG.CHECKED_BACK);
        return;
      case 'ec':
        if (event.r !== 'ok') this.flag(event.id, MSG.END_UNSETTLED);
        return;
      case 'dlq':
        this.deadLettered(event);
        return;
      case 'fs':
      case 'fe':
        this.fault(event.t === 'fs', event.f, event.fid, event.ts);
        return;
      case 'ph':
        this.phase(event);
        return;
      case 'ctr':
        this.counterSnapshot(event, fileIndex, line);
        return;
      case 'bl':
        this.brokerBacklog(event.cg, event.n, event.ts);
        return;
      case 'ck':
        this.clockSample(fileIndex, event.off, event.err);
        return;
      case 'rc':
        ctx.counts[`receives_${event.r}`] = (ctx.counts[`receives_${event.r}`] ?? 0) + 1;
        return;
      default:
        return;
    }
  }

  private sendInvoke(event: SendInvoke, fileIndex: number, line: number): void {
    const { table, counts } = this.ctx;
    if (typeof event.id !== 'string' || typeof event.tp !== 'string') {
      this.skipped();
      return;
    }
    const i = table.row(event.id);
    counts.sends = (counts.sends ?? 0) + 1;
    let flags = (table.flags[i] as number) | MSG.SEND_INVOKED;
    if (event.tx === 1) flags |= MSG.TRANSACTIONAL;
    if (event.po === 1) flags |= MSG.POISON;
    if (event.at !== undefined) {
      flags |= MSG.DELAYED;
      table.deliverAtMs.set(i, event.at);
    }
    table.flags[i] = flags;
    if (table.sendLine[i] !== 0) return; // a resend of the same id: keep the first send's facts
    table.topic[i] = this.ctx.topics.id(event.tp);
    if (event.tg !== undefined) table.tag[i] = this.ctx.tags.id(event.tg);
    if (event.g !== undefined) {
      const key = this.ctx.orderKeys.id(event.g);
      table.orderKey[i] = key;
      table.seq[i] = event.q ?? 0;
      table.predecessor[i] = this.lastOkByKey[key] ?? -1;
    }
    table.sendTs[i] = event.ts;
    table.sendFile[i] = fileIndex;
    table.sendLine[i] = line;
    if (this.ctx.sqlSubscriptions.length > 0) this.evaluateSqlFilters(event, i);
    if (event.it !== undefined) this.ctx.latencies.send_delay.record(event.ts - event.it);
  }

  /** SQL92 subscriptions of this topic, evaluated on the properties the broker would see. */
  private evaluateSqlFilters(event: SendInvoke, i: number): void {
    const topic = this.ctx.table.topic[i] as number;
    const subs = this.ctx.sqlSubscriptions.filter((s) => s.topic === topic);
    if (subs.length === 0) return;
    const properties: Record<string, string> = { ...event.pr, [PROPERTY_ID]: event.id, UNIQ_KEY: event.id };
    if (event.tg !== undefined) properties.TAGS = event.tg;
    if (event.k !== undefined) properties.KEYS = properties[PROPERTY_KEY] = event.k;
    if (event.q !== undefined) properties[PROPERTY_SEQ] = String(event.q);
    let bits = 0;
    for (const s of subs) if (s.evaluate(properties)) bits |= 1 << s.bit;
    this.ctx.table.sqlMatch.set(i, bits);
  }

  private sendComplete(event: SendComplete): void {
    const { table, counts, timeline } = this.ctx;
    if (typeof event.id !== 'string') {
      this.skipped();
      return;
    }
    const i = table.row(event.id);
    const outcome = event.r === 'ok' ? MSG.SEND_OK : event.r === 'fail' ? MSG.SEND_FAIL : MSG.SEND_UNKNOWN;
    table.flags[i] = (table.flags[i] as number) | outcome | MSG.SEND_COMPLETED;
    counts[`sends_${event.r}`] = (counts[`sends_${event.r}`] ?? 0) + 1;
    if (event.r === 'ok') {
      timeline.count('sendOk', event.ts);
      timeline.sendLatency(event.ts, event.d);
      this.ctx.latencies.send_duration.record(event.d);
      const key = table.orderKey[i] as number;
      if (key >= 0) {
        const last = this.lastOkByKey[key] ?? -1;
        if (last < 0 || (table.seq[i] as number) > (table.seq[last] as number)) this.lastOkByKey[key] = i;
      }
      if (!((table.flags[i] as number) & MSG.TRANSACTIONAL)) this.enterBacklog(i, event.ts);
    } else {
      timeline.count(event.r === 'fail' ? 'sendFail' : 'sendUnknown', event.ts);
    }
  }

  /** Counts message i into the derived backlog of every declared group that must receive it. */
  private enterBacklog(i: number, ts: number): void {
    const topicGroups = this.ctx.groupsByTopic[this.ctx.table.topic[i] as number];
    if (topicGroups === undefined) return;
    for (const group of topicGroups) {
      if (!group.declared || expects(this.ctx, group, i) !== true) continue;
      this.enterGroupBacklog(group, i, ts);
    }
  }

  private enterGroupBacklog(group: GroupInfo, i: number, ts: number): void {
    const state = group.columns.state[i] as number;
    if (state & (GRP.IN_BACKLOG | GRP.CONSUMED)) return;
    group.columns.state[i] = state | GRP.IN_BACKLOG;
    this.ctx.backlogTotal++;
    this.ctx.backlogEntered++;
    this.ctx.timeline.setBacklog(ts, this.ctx.backlogTotal);
  }

  private leaveBacklog(group: GroupInfo, i: number, ts: number): void {
    const state = group.columns.state[i] as number;
    if (state & GRP.CONSUMED) return;
    group.columns.state[i] = state | GRP.CONSUMED;
    if (state & GRP.IN_BACKLOG) {
      this.ctx.backlogTotal--;
      this.ctx.timeline.setBacklog(ts, this.ctx.backlogTotal);
    }
    if (this.ctx.drainStartMs !== undefined && ts >= this.ctx.drainStartMs) this.ctx.lastConsumeMs = ts;
  }

  /** The group of a delivery, declared or inferred (subscribed with `*` to the topics it receives). */
  private groupOf(name: string, topicId: number): GroupInfo {
    let group = this.ctx.groupByName.get(name);
    if (group === undefined) group = makeGroupInfo(this.ctx, name, false);
    if (!group.declared && topicId >= 0 && !group.filters.has(topicId)) {
      addSubscription(this.ctx, group, { group: name, topic: this.ctx.topics.values[topicId] as string });
    }
    return group;
  }

  private received(event: ReceivedMessage): void {
    const { table, counts, timeline } = this.ctx;
    if (typeof event.cg !== 'string') {
      this.skipped();
      return;
    }
    counts.deliveries = (counts.deliveries ?? 0) + 1;
    this.ctx.consumerGroupsSeen.add(event.cg);
    timeline.count('received', event.ts);
    if ((event.a ?? 1) > 1) counts.redeliveries = (counts.redeliveries ?? 0) + 1;
    if (event.id === undefined) {
      this.ctx.foreignDeliveries++;
      return;
    }
    const i = table.row(event.id);
    if ((table.topic[i] as number) < 0 && event.tp !== undefined) table.topic[i] = this.ctx.topics.id(event.tp);
    if ((table.tag[i] as number) < 0 && event.tg !== undefined) table.tag[i] = this.ctx.tags.id(event.tg);
    const group = this.groupOf(event.cg, table.topic[i] as number);
    const cols = group.columns;
    const deliveries = cols.deliveries[i] as number;
    if (deliveries === 0) {
      const sentMs = table.sendTs[i] as number;
      if (!Number.isNaN(sentMs)) {
        this.ctx.latencies.e2e_latency.record(event.ts - sentMs);
        timeline.e2eLatency(event.ts, event.ts - sentMs);
      }
      if (!group.declared || !((table.flags[i] as number) & MSG.SEND_OK)) this.enterGroupBacklog(group, i, event.ts);
    }
    if (deliveries < 255) cols.deliveries[i] = deliveries + 1;
    const attempt = Math.min(255, Math.max(1, event.a ?? 1));
    if (attempt > (cols.attemptMax[i] as number)) cols.attemptMax[i] = attempt;
    if (event.bid !== undefined && table.brokerIdHash[i] === 0) table.brokerIdHash[i] = hashString(event.bid);
  }

  private remember(id: string, groupName: string, fileIndex: number, op: number): void {
    if (typeof id !== 'string' || typeof groupName !== 'string') {
      this.skipped();
      return;
    }
    const i = this.ctx.table.row(id);
    const group = this.groupOf(groupName, this.ctx.table.topic[i] as number);
    this.opsOf(fileIndex).set(op, i * 1024 + group.columns.index);
  }

  private ackInvoke(event: AckInvoke, fileIndex: number): void {
    if (typeof event.cg === 'string') this.ctx.consumerGroupsSeen.add(event.cg);
    this.remember(event.id, event.cg, fileIndex, event.o);
    const packed = this.opsOf(fileIndex).get(event.o);
    if (packed === undefined) return;
    const group = this.ctx.groups[packed % 1024] as GroupInfo;
    const i = Math.floor(packed / 1024);
    group.columns.state[i] = (group.columns.state[i] as number) | GRP.ACKED;
    const counts = this.ctx.counts;
    counts[`acks@${group.name}`] = (counts[`acks@${group.name}`] ?? 0) + 1;
  }

  private ackComplete(event: AckComplete, fileIndex: number): void {
    const { counts } = this.ctx;
    counts[`acks_${event.r}`] = (counts[`acks_${event.r}`] ?? 0) + 1;
    const ops = this.opsOf(fileIndex);
    const packed = ops.get(event.o);
    if (packed === undefined) return;
    ops.delete(event.o);
    const group = this.ctx.groups[packed % 1024] as GroupInfo;
    const i = Math.floor(packed / 1024);
    const state = group.columns.state[i] as number;
    if (event.r === 'fail') {
      if (!(state & GRP.ACK_OK)) group.columns.state[i] = state & ~GRP.ACKED;
      return;
    }
    if (event.r === 'ok') {
      group.columns.state[i] = state | GRP.ACK_OK;
      counts[`acks_ok@${group.name}`] = (counts[`acks_ok@${group.name}`] ?? 0) + 1;
    }
    this.ctx.timeline.count('acked', event.ts);
    if (!Number.isNaN(event.d)) this.ctx.latencies.ack_duration.record(event.d);
    this.leaveBacklog(group, i, event.ts);
  }

  private forwardComplete(outcome: string, fileIndex: number, op: number, ts: number): void {
    const ops = this.opsOf(fileIndex);
    const packed = ops.get(op);
    if (packed === undefined) return;
    ops.delete(op);
    if (outcome === 'fail') return;
    const group = this.ctx.groups[packed % 1024] as GroupInfo;
    const i = Math.floor(packed / 1024);
    group.columns.state[i] = (group.columns.state[i] as number) | GRP.DEAD_LETTERED;
    this.leaveBacklog(group, i, ts);
  }

  private flag(id: string, flag: number): void {
    if (typeof id !== 'string') return;
    const i = this.ctx.table.row(id);
    this.ctx.table.flags[i] = (this.ctx.table.flags[i] as number) | flag;
  }

  private decide(id: string, decision: string, ts: number): void {
    if (typeof id !== 'string') {
      this.skipped();
      return;
    }
    const { table } = this.ctx;
    const i = table.row(id);
    const flags = (table.flags[i] as number) & ~(MSG.COMMIT | MSG.ROLLBACK);
    table.flags[i] = flags | (decision === 'commit' ? MSG.COMMIT : MSG.ROLLBACK);
    if (decision === 'commit') {
      if (!table.commitTsMs.has(i)) table.commitTsMs.set(i, ts);
      if (flags & MSG.SEND_OK) this.enterBacklog(i, ts);
    }
  }

  private deadLettered(event: DeadLetterObserved): void {
    if (typeof event.cg !== 'string' || event.id === undefined) {
      this.skipped();
      return;
    }
    const i = this.ctx.table.row(event.id);
    const group = this.groupOf(event.cg, this.ctx.table.topic[i] as number);
    const state = group.columns.state[i] as number;
    if (!(state & GRP.DEAD_LETTERED)) this.ctx.deadLetterObservations++;
    group.columns.state[i] = state | GRP.DEAD_LETTERED;
    this.leaveBacklog(group, i, event.ts);
  }

  private fault(start: boolean, name: string, fid: number, ts: number): void {
    const faults = this.ctx.faults;
    if (start) {
      this.openFaults.set(fid, faults.length);
      faults.push({ name, startMs: ts });
      return;
    }
    const index = this.openFaults.get(fid);
    if (index === undefined) faults.push({ name, startMs: this.ctx.timeline.startMs, endMs: ts });
    else (faults[index] as { endMs?: number }).endMs = ts;
    this.openFaults.delete(fid);
  }

  private phase(event: PhaseMarker): void {
    const ctx = this.ctx;
    if (event.s === 'start') {
      this.openPhases.set(event.n, ctx.phases.length);
      ctx.phases.push({ name: event.n, startMs: event.ts });
      if (event.n === 'drain' && ctx.drainStartMs === undefined) ctx.drainStartMs = event.ts;
      return;
    }
    const index = this.openPhases.get(event.n);
    if (index !== undefined) (ctx.phases[index] as { endMs?: number }).endMs = event.ts;
    this.openPhases.delete(event.n);
    if (event.n === 'dlq-scan' && event.ok !== false) ctx.deadLetterScanned = true;
    if (event.n === 'drain') {
      ctx.drainEndMs = event.ts;
      ctx.drainEndOk = event.ok !== false && ctx.drainEndOk !== false;
    }
  }

  private counterSnapshot(event: CounterSnapshot, fileIndex: number, line: number): void {
    const known = this.ctx.counters.get(event.src);
    if (known === undefined) this.ctx.counters.set(event.src, { first: event, last: event, fileIndex, line });
    else Object.assign(known, { last: event, fileIndex, line });
    if (event.lag !== undefined) {
      for (const [group, n] of Object.entries(event.lag)) this.brokerBacklog(group, n, event.ts);
    }
  }

  private brokerBacklog(group: string, n: number, ts: number): void {
    this.ctx.brokerBacklogByGroup.set(group, n);
    let total = 0;
    for (const v of this.ctx.brokerBacklogByGroup.values()) total += v;
    this.ctx.timeline.setBrokerBacklog(ts, total);
  }

  /** Widens the clock tolerance by this ledger's measurement error and its drift since its first sample. */
  private clockSample(fileIndex: number, off: number, err: number): void {
    const first = this.firstClockOffset.get(fileIndex);
    if (first === undefined) this.firstClockOffset.set(fileIndex, off);
    const worst = err + Math.abs(off - (first ?? off));
    const clock = this.ctx.clock;
    clock.measuredFiles.add(fileIndex);
    clock.toleranceMs = Math.max(clock.toleranceMs, CLOCK_TOLERANCE_MS_BASE + 2 * worst);
  }

  private opsOf(fileIndex: number): Map<number, number> {
    let ops = this.pendingOps[fileIndex];
    if (ops === undefined) {
      ops = new Map();
      this.pendingOps[fileIndex] = ops;
    }
    return ops;
  }

  private skipped(): void {
    this.ctx.counts.skippedRecords = (this.ctx.counts.skippedRecords ?? 0) + 1;
  }
}

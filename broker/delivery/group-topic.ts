import { MinHeap } from './heap.ts';

/** One delivered, not yet acknowledged message of a (group, topic). */
export interface InflightEntry {
  queueId: number;
  offset: number;
  /** Delivery attempt of the current delivery, 1-based. */
  attempt: number;
  /** Bumped on every (re)delivery and invisible-time change: a receipt handle names one seq. */
  seq: number;
  visibleAtMs: number;
  autoRenew: boolean;
  clientId: string;
  firstDeliveredMs: number;
  /** FIFO groups: the message group this entry blocks. */
  messageGroup?: string;
  attemptId?: string;
  /**
   * This attempt counts even if the broker restarts before the next delivery: the consumer answered it (changed its
   * invisible time, i.e. gave it back; or its client went away), or it is held for the DLQ. Otherwise it counts only
   * once its invisible time has passed; an attempt a restart cuts short does not count (see toCheckpoint).
   */
  spent: boolean;
}

export interface QueueCursor {
  /** Every offset below ackedFloor is done (acked, filtered out or dead-lettered). */
  ackedFloor: number;
  /** Next offset never delivered to this group. */
  nextOffset: number;
  /** Offsets >= ackedFloor that are done. */
  doneAbove: Set<number>;
}

/**
 * Persisted form: enough to resume after a restart (at-least-once: anything not recorded done is redelivered).
 * `attempts` are the attempts that count per offset: the next delivery after a restart is the one after them.
 */
export interface GroupTopicCheckpoint {
  queues: Record<string, { floor: number; done: number[]; attempts: Array<[number, number]> }>;
}

const key = (queueId: number, offset: number): string => `${queueId}:${offset}`;

/**
 * Delivery state of one consumer group on one topic: per-queue cursors plus the in-flight set with a heap of
 * visibility times. Pure bookkeeping: no I/O, no clock of its own (callers pass nowMs), so it is unit-testable.
 */
export class GroupTopicState {
  readonly cursors = new Map<number, QueueCursor>();
  readonly inflight = new Map<string, InflightEntry>();
  /** Attempts carried over a restart: the next delivery of (queue, offset) continues from here. */
  private readonly priorAttempts = new Map<string, number>();
  private readonly heap = new MinHeap<InflightEntry>();
  private seqNext = 1;
  /** FIFO: message groups with a delivered, unacknowledged message. */
  readonly blockedMessageGroups = new Map<string, number>();
  /** FIFO: the in-flight entries of each message group. */
  private readonly inflightByMessageGroup = new Map<string, Set<InflightEntry>>();
  dirty = false;
  /** When the last checkpoint goes stale: an attempt it saved as not made runs out of invisible time then. */
  staleAtMs = Number.POSITIVE_INFINITY;
  retryCount = 0;

  constructor(
    readonly group: string,
    readonly topic: string,
  ) {}

  cursor(queueId: number, minOffset: number): QueueCursor {
    let c = this.cursors.get(queueId);
    if (!c) {
      c = { ackedFloor: minOffset, nextOffset: minOffset, doneAbove: new Set() };
      this.cursors.set(queueId, c);
    }
    if (c.ackedFloor < minOffset) {
      // Retention removed messages this group never consumed: skip past them.
      c.ackedFloor = minOffset;
      for (const o of c.doneAbove) if (o < minOffset) c.doneAbove.delete(o);
    }
    if (c.nextOffset < c.ackedFloor) c.nextOffset = c.ackedFloor;
    return c;
  }

  /** Attempts made before a restart for a message not yet redelivered since (0 when none are known). */
  priorAttemptsOf(queueId: number, offset: number): number {
    return this.priorAttempts.get(key(queueId, offset)) ?? 0;
  }

  isDone(c: QueueCursor, offset: number): boolean {
    return offset < c.ackedFloor || c.doneAbove.has(offset);
  }

  /** Records a first delivery or a redelivery; returns the entry (with a fresh seq). */
  deliver(
    queueId: number,
    offset: number,
    nowMs: number,
    invisibleMs: number,
    opts: { autoRenew: boolean; clientId: string; messageGroup?: string; attemptId?: string; keepAttempt?: boolean },
  ): InflightEntry {
    const k = key(queueId, offset);
    const previous = this.inflight.get(k);
    const made = previous ? previous.attempt : (this.priorAttempts.get(k) ?? 0);
    // keepAttempt: held for the DLQ, not handed out: no new attempt.
    const attempt = opts.keepAttempt ? made : made + 1;
    this.priorAttempts.delete(k);
    if (attempt > 1 && !opts.keepAttempt) this.retryCount++;
    const entry: InflightEntry = {
      queueId,
      offset,
      attempt,
      seq: this.seqNext++,
      visibleAtMs: nowMs + invisibleMs,
      autoRenew: opts.autoRenew,
      clientId: opts.clientId,
      firstDeliveredMs: previous?.firstDeliveredMs ?? nowMs,
      messageGroup: opts.messageGroup,
      attemptId: opts.attemptId,
      spent: opts.keepAttempt === true,
    };
    this.inflight.set(k, entry);
    this.heap.push(entry.visibleAtMs, entry);
    if (opts.messageGroup !== undefined) {
      let set = this.inflightByMessageGroup.get(opts.messageGroup);
      if (!set) {
        set = new Set();
        this.inflightByMessageGroup.set(opts.messageGroup, set);
      }
      if (previous) set.delete(previous);
      set.add(entry);
    }
    if (!previous && opts.messageGroup !== undefined) {
      this.blockedMessageGroups.set(opts.messageGroup, (this.blockedMessageGroups.get(opts.messageGroup) ?? 0) + 1);
    }
    this.dirty = true;
    return entry;
  }

  /**
   * FIFO: whether an earlier message of e's message group (same queue) is in flight and not among `released`
   * (entries redelivered in the current batch, which may precede e in it).
   */
  hasEarlierInflight(e: InflightEntry, released: ReadonlySet<InflightEntry>): boolean {
    if (e.messageGroup === undefined) return false;
    for (const o of this.inflightByMessageGroup.get(e.messageGroup) ?? []) {
      if (o !== e && o.queueId === e.queueId && o.offset < e.offset && !released.has(o)) return true;
    }
    return false;
  }

  lookup(queueId: number, offset: number): InflightEntry | undefined {
    return this.inflight.get(key(queueId, offset));
  }

  /** Entries whose invisible time has passed, earliest first, removed from the heap (still in flight). */
  takeExpired(nowMs: number, countMax: number): InflightEntry[] {
    const out: InflightEntry[] = [];
    while (out.length < countMax) {
      const k = this.heap.peekKey();
      if (k === undefined || k > nowMs) break;
      const e = this.heap.pop() as InflightEntry;
      if (this.inflight.get(key(e.queueId, e.offset)) === e && e.visibleAtMs === k) out.push(e);
    }
    this.maybeCompactHeap();
    return out;
  }

  /** Puts entries back (e.g. FIFO-blocked or not deliverable now) without changing them. */
  putBack(entries: InflightEntry[]): void {
    for (const e of entries) this.heap.push(e.visibleAtMs, e);
  }

  earliestVisibleAtMs(): number | undefined {
    return this.heap.peekKey();
  }

  setVisibleAt(entry: InflightEntry, visibleAtMs: number, bumpSeq: boolean): void {
    entry.visibleAtMs = visibleAtMs;
    if (bumpSeq) entry.seq = this.seqNext++;
    this.heap.push(visibleAtMs, entry);
    this.dirty = true;
  }

  /** Marks (queue, offset) done: acked, filtered out or dead-lettered. Advances the floor when it can. */
  markDone(queueId: number, offset: number): void {
    const k = key(queueId, offset);
    const entry = this.inflight.get(k);
    if (entry) {
      this.inflight.delete(k);
      if (entry.messageGroup !== undefined) {
        const set = this.inflightByMessageGroup.get(entry.messageGroup);
        set?.delete(entry);
        if (set?.size === 0) this.inflightByMessageGroup.delete(entry.messageGroup);
        const n = (this.blockedMessageGroups.get(entry.messageGroup) ?? 1) - 1;
        if (n <= 0) this.blockedMessageGroups.delete(entry.messageGroup);
        else this.blockedMessageGroups.set(entry.messageGroup, n);
      }
    }
    this.priorAttempts.delete(k);
    const c = this.cursors.get(queueId);
    if (!c || offset < c.ackedFloor) return;
    if (offset === c.ackedFloor) {
      c.ackedFloor++;
      while (c.doneAbove.delete(c.ackedFloor)) c.ackedFloor++;
    } else {
      c.doneAbove.add(offset);
    }
    this.dirty = true;
  }

  private maybeCompactHeap(): void {
    if (this.heap.size > 4 * this.inflight.size + 1024) {
      this.heap.compact((e, k) => this.inflight.get(key(e.queueId, e.offset)) === e && e.visibleAtMs === k);
    }
  }

  /**
   * The state to save at nowMs. A delivery still in flight, unanswered and within its invisible time is saved as not
   * made: if the broker restarts now, that delivery was cut short by the restart (its receipt handle dies with this
   * process, so the consumer cannot ack it any more) and the message goes out again at the same attempt. A restart
   * therefore never spends an attempt, and never sends a message to the DLQ that its consumer did not fail.
   */
  toCheckpoint(nowMs: number): GroupTopicCheckpoint {
    const queues: GroupTopicCheckpoint['queues'] = {};
    this.staleAtMs = Number.POSITIVE_INFINITY;
    for (const [qid, c] of this.cursors) {
      const attempts: Array<[number, number]> = [];
      for (const e of this.inflight.values()) {
        if (e.queueId !== qid) continue;
        const cut = !e.spent && e.visibleAtMs > nowMs;
        if (cut) this.staleAtMs = Math.min(this.staleAtMs, e.visibleAtMs);
        const counted = cut ? e.attempt - 1 : e.attempt;
        if (counted > 0) attempts.push([e.offset, counted]);
      }
      for (const [k, a] of this.priorAttempts) {
        const [q, o] = k.split(':').map(Number);
        if (q === qid) attempts.push([o as number, a]);
      }
      queues[qid] = { floor: c.ackedFloor, done: [...c.doneAbove], attempts };
    }
    return { queues };
  }

  /** Restores cursors; in-flight messages of the previous run are redelivered, keeping the attempts that count. */
  restore(cp: GroupTopicCheckpoint): void {
    for (const [qidText, q] of Object.entries(cp.queues)) {
      const qid = Number(qidText);
      this.cursors.set(qid, { ackedFloor: q.floor, nextOffset: q.floor, doneAbove: new Set(q.done) });
      for (const [offset, attempt] of q.attempts) this.priorAttempts.set(key(qid, offset), attempt);
    }
  }
}

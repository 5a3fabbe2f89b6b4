import type { Clock } from '../../lib/clock.ts';
import { MinHeap } from '../delivery/heap.ts';
import { fail } from '../errors.ts';
import type { MessageRecord, StoredMessage } from '../store/types.ts';
import type { SystemLog } from '../system-log.ts';

export interface DelayTimerDeps {
  log: SystemLog;
  clock: Clock;
  pendingMax: number;
  /** Called after a due message has been appended to its real topic. */
  onDelivered: (topic: string) => void;
  onError: (err: unknown) => void;
  /** Called for every moved message with how late (ms after its delivery time) it reached its real topic. */
  onLateness?: (latenessMs: number) => void;
}

/** Due messages moved per store batch. */
const moveBatchMax = 1024;

interface Pending {
  dueWallMs: number;
  offset: number;
}

/**
 * Durable delayed delivery. A DELAY message is stored in an internal topic and moved to its real topic once its
 * delivery time has come, so consumers can never see it early. One timer is armed for the earliest due time; due
 * messages move in batches, each move a single store batch (real message + finishing op).
 */
export class DelayTimer {
  private readonly heap = new MinHeap<Pending>();
  private cancelTimer: (() => void) | undefined;
  private armedForMs = Number.POSITIVE_INFINITY;
  private firing = false;
  private closed = false;

  constructor(private readonly deps: DelayTimerDeps) {}

  get pendingCount(): number {
    return this.heap.size;
  }

  recover(): number {
    for (const m of this.deps.log.pending()) this.heap.push(dueOf(m), { dueWallMs: dueOf(m), offset: m.queueOffset });
    this.arm();
    return this.heap.size;
  }

  /** Stores a delayed message; returns its offset in the internal topic. */
  async schedule(record: MessageRecord, dueWallMs: number): Promise<number> {
    if (this.heap.size >= this.deps.pendingMax) {
      fail('TOO_MANY_REQUESTS', `delay timer is full (${this.deps.pendingMax} pending delayed messages)`);
    }
    const props = {
      ...record.props,
      system: { ...record.props.system, realTopic: record.topic, realQueueId: record.queueId },
    };
    const offset = await this.deps.log.add({ body: record.body, props });
    this.heap.push(dueWallMs, { dueWallMs, offset });
    this.arm();
    return offset;
  }

  private arm(): void {
    const next = this.heap.peekKey();
    if (next === undefined || this.closed || this.firing) return;
    if (next >= this.armedForMs && this.cancelTimer) return;
    this.cancelTimer?.();
    this.armedForMs = next;
    this.cancelTimer = this.deps.clock.setTimer(Math.max(0, next - this.deps.clock.wallMs()), () => {
      this.cancelTimer = undefined;
      this.armedForMs = Number.POSITIVE_INFINITY;
      void this.fire();
    });
  }

  private async fire(): Promise<void> {
    if (this.firing || this.closed) return;
    this.firing = true;
    try {
      for (;;) {
        const nowMs = this.deps.clock.wallMs();
        const due: Pending[] = [];
        while (due.length < moveBatchMax && (this.heap.peekKey() ?? Number.POSITIVE_INFINITY) <= nowMs) {
          due.push(this.heap.pop() as Pending);
        }
        if (due.length === 0) break;
        await this.moveBatch(due, nowMs);
      }
    } finally {
      this.firing = false;
      this.arm();
    }
  }

  /** Moves due messages to their topics in one store batch (each with its finishing op): one write, one fsync. */
  private async moveBatch(due: Pending[], nowMs: number): Promise<void> {
    const moves: Array<{ offset: number; record: MessageRecord }> = [];
    for (const p of due) {
      const m = this.deps.log.read(p.offset);
      if (!m) continue; // removed by retention: nothing left to deliver
      const system = { ...m.props.system };
      const topic = String(system.realTopic);
      const queueId = Number(system.realQueueId);
      delete system.realTopic;
      delete system.realQueueId;
      moves.push({ offset: p.offset, record: { topic, queueId, body: m.body, props: { ...m.props, system } } });
    }
    try {
      await this.deps.log.finishMany(
        moves.map((mv) => ({ offset: mv.offset, outcome: 'delivered', extra: [mv.record] })),
      );
    } catch (err) {
      this.deps.onError(err);
      for (const p of due) this.heap.push(nowMs + 1000, p);
      return;
    }
    const movedWallMs = this.deps.clock.wallMs();
    for (const p of due) this.deps.onLateness?.(movedWallMs - p.dueWallMs);
    for (const topic of new Set(moves.map((mv) => mv.record.topic))) this.deps.onDelivered(topic);
  }

  close(): void {
    this.closed = true;
    this.cancelTimer?.();
  }
}

function dueOf(m: StoredMessage): number {
  return m.props.deliveryTimestampMs ?? 0;
}

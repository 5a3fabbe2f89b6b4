import assert from 'node:assert/strict';
import { BoundedQueue } from '../../../lib/bounded-queue.ts';
import { type Clock, systemClock } from '../../../lib/clock.ts';
import { PENDING_APPENDS_MAX_DEFAULT, PENDING_APPENDS_QUEUE_NAME } from '../file/append-pipeline.ts';
import { encodeProps, invalidRecordReason, RECORD_HEADER_BYTES, recordSizeBytes } from '../file/record.ts';
import {
  type AppendResult,
  type MessageProps,
  type MessageRecord,
  type MessageStore,
  type QuarantineEntry,
  type QueueRange,
  type RecoveryReport,
  StoreClosedError,
  type StoredMessage,
  StoreFullError,
  type StoreOptions,
  type StoreStats,
  type WriteState,
} from '../types.ts';

interface MemoryMessage {
  topic: string;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  storeTimestampMs: number;
  sizeBytes: number;
  propsJson: string;
  body: Buffer;
}

interface MemoryQueue {
  topic: string;
  queueId: number;
  /** Visible messages [minOffset, maxOffset); messages[i] has offset minOffset + i. */
  messages: MemoryMessage[];
  minOffset: number;
  nextOffset: number;
}

interface VirtualSegment {
  baseOffset: number;
  sizeBytes: number;
  newestTimestampMs: number;
}

interface PendingBatch {
  messages: MemoryMessage[];
  resolve: () => void;
}

/**
 * The store without a disk, for protocol and delivery unit tests. Same semantics as FileMessageStore (the shared
 * conformance suite runs against both): offsets, commit log positions sized by recordSizeBytes(), virtual segments
 * that roll at segmentBytesMax and are dropped whole by retention, the bounded pending queue, visibility only after
 * the append's "flush" (one event-loop turn later), monotonic store timestamps. Nothing survives the process.
 */
export class MemoryMessageStore implements MessageStore {
  private readonly clock: Clock;
  private readonly queueMap = new Map<string, MemoryQueue>();
  private readonly segments: VirtualSegment[] = [];
  private readonly pending: BoundedQueue<PendingBatch>;
  private pendingCount = 0;
  private flushScheduled = false;
  private flushCount = 0;
  private assignedEndOffset = 0;
  private lastStoreTimestampMs = 0;
  private closed = false;

  constructor(
    readonly options: StoreOptions,
    deps: { clock?: Clock } = {},
  ) {
    assert.ok(options.segmentBytesMax > 0, 'segmentBytesMax must be > 0');
    this.clock = deps.clock ?? systemClock;
    this.pending = new BoundedQueue(
      PENDING_APPENDS_QUEUE_NAME,
      options.pendingAppendsMax ?? PENDING_APPENDS_MAX_DEFAULT,
    );
  }

  async open(): Promise<RecoveryReport> {
    return {
      actions: [{ case: 'clean', file: '(memory)', detail: 'memory store: nothing to recover' }],
      segmentCount: this.segments.length,
      messageCount: 0,
      durationMs: 0,
      logBytesScanned: 0,
    };
  }

  append(records: MessageRecord[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (records.length === 0) return Promise.resolve([]);
    const props: Buffer[] = [];
    for (const record of records) {
      const invalid = invalidRecordReason(record);
      if (invalid !== undefined) return Promise.reject(new TypeError(`append: ${invalid}`));
      props.push(encodeProps(record.props));
    }
    if (this.pendingCount + records.length > this.pending.countMax) {
      this.pending.rejectedTotal++;
      return Promise.reject(new StoreFullError(PENDING_APPENDS_QUEUE_NAME, this.pending.countMax));
    }
    const messages = records.map((record, i) => this.place(record, props[i]!));
    this.pendingCount += messages.length;
    return new Promise((resolve) => {
      const results = messages.map(({ queueOffset, commitLogOffset, storeTimestampMs }) => ({
        queueOffset,
        commitLogOffset,
        storeTimestampMs,
      }));
      assert.ok(this.pending.push({ messages, resolve: () => resolve(results) }));
      this.scheduleFlush();
    });
  }

  /** Assigns the queue offset, store timestamp and commit log position, as the file store does. */
  private place(record: MessageRecord, props: Buffer): MemoryMessage {
    const queue = this.queueFor(record.topic, record.queueId);
    this.lastStoreTimestampMs = Math.max(this.lastStoreTimestampMs, this.clock.wallMs());
    const sizeBytes = recordSizeBytes(Buffer.byteLength(record.topic), props.length, record.body.length);
    let segment = this.segments.at(-1);
    if (!segment || (segment.sizeBytes > 0 && segment.sizeBytes + sizeBytes > this.options.segmentBytesMax)) {
      segment = { baseOffset: this.assignedEndOffset, sizeBytes: 0, newestTimestampMs: 0 };
      this.segments.push(segment);
    }
    const message: MemoryMessage = {
      topic: record.topic,
      queueId: record.queueId,
      queueOffset: queue.nextOffset++,
      commitLogOffset: this.assignedEndOffset,
      storeTimestampMs: this.lastStoreTimestampMs,
      sizeBytes,
      propsJson: props.toString('utf8'),
      body: Buffer.from(record.body),
    };
    segment.sizeBytes += sizeBytes;
    segment.newestTimestampMs = message.storeTimestampMs;
    this.assignedEndOffset += sizeBytes;
    assert.ok(sizeBytes > RECORD_HEADER_BYTES);
    return message;
  }

  private queueFor(topic: string, queueId: number): MemoryQueue {
    const key = `${queueId}@${topic}`;
    let queue = this.queueMap.get(key);
    if (!queue) {
      queue = { topic, queueId, messages: [], minOffset: 0, nextOffset: 0 };
      this.queueMap.set(key, queue);
    }
    return queue;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** The memory store's group commit: everything pending becomes visible at once. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    this.flushCount++;
    for (let batch = this.pending.shift(); batch; batch = this.pending.shift()) {
      for (const message of batch.messages) {
        const queue = this.queueFor(message.topic, message.queueId);
        assert.equal(message.queueOffset, queue.minOffset + queue.messages.length, 'messages commit in offset order');
        queue.messages.push(message);
      }
      this.pendingCount -= batch.messages.length;
      batch.resolve();
    }
  }

  read(topic: string, queueId: number, fromOffset: number, countMax: number): StoredMessage[] {
    if (this.closed) throw new StoreClosedError();
    const queue = this.queueMap.get(`${queueId}@${topic}`);
    if (!queue || countMax <= 0) return [];
    const from = Math.max(fromOffset, queue.minOffset);
    const start = from - queue.minOffset;
    return queue.messages.slice(start, start + countMax).map((m) => ({
      topic: m.topic,
      queueId: m.queueId,
      queueOffset: m.queueOffset,
      commitLogOffset: m.commitLogOffset,
      storeTimestampMs: m.storeTimestampMs,
      sizeBytes: m.sizeBytes,
      props: JSON.parse(m.propsJson) as MessageProps,
      body: Buffer.from(m.body),
    }));
  }

  queueRange(topic: string, queueId: number): QueueRange {
    const queue = this.queueMap.get(`${queueId}@${topic}`);
    if (!queue) return { minOffset: 0, maxOffset: 0 };
    return { minOffset: queue.minOffset, maxOffset: queue.minOffset + queue.messages.length };
  }

  queues(): Array<{ topic: string; queueId: number }> {
    return [...this.queueMap.values()].map(({ topic, queueId }) => ({ topic, queueId }));
  }

  offsetForTimestamp(topic: string, queueId: number, wallMs: number): number {
    const queue = this.queueMap.get(`${queueId}@${topic}`);
    if (!queue) return 0;
    const index = queue.messages.findIndex((m) => m.storeTimestampMs >= wallMs);
    return queue.minOffset + (index < 0 ? queue.messages.length : index);
  }

  applyRetention(nowWallMs: number): number {
    const { retentionMs, retentionBytesMax } = this.options;
    let deleted = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const overSize = retentionBytesMax !== undefined && this.sizeBytes() > retentionBytesMax;
      const overAge = retentionMs !== undefined && nowWallMs - oldest.newestTimestampMs > retentionMs;
      if (!overSize && !overAge) break;
      this.segments.shift();
      deleted++;
    }
    const logStart = this.segments[0]?.baseOffset ?? 0;
    for (const queue of this.queueMap.values()) {
      let drop = 0;
      while (drop < queue.messages.length && queue.messages[drop]!.commitLogOffset < logStart) drop++;
      queue.messages.splice(0, drop);
      queue.minOffset += drop;
    }
    return deleted;
  }

  private sizeBytes(): number {
    const first = this.segments[0];
    return first ? this.assignedEndOffset - first.baseOffset : 0;
  }

  /** Nothing is ever damaged in memory. */
  quarantined(): QuarantineEntry[] {
    return [];
  }

  writeState(): WriteState {
    return { writable: true };
  }

  stats(): StoreStats {
    return {
      commitLogBytes: this.sizeBytes(),
      segmentCount: this.segments.length,
      pendingAppends: this.pendingCount,
      flushCount: this.flushCount,
      writeBatchCount: this.flushCount,
      rejectedAppendCount: this.pending.rejectedTotal,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.pending.dispose();
  }
}

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../../lib/clock.ts';
import { CheckpointFile } from '../checkpoint.ts';
import {
  type AppendResult,
  type MessageRecord,
  type MessageStore,
  type QueueRange,
  type RecoveryReport,
  StoreClosedError,
  StoreCorruptError,
  type StoredMessage,
  StoreFullError,
  type StoreOptions,
  type StoreStats,
} from '../types.ts';
import {
  AppendPipeline,
  PENDING_APPENDS_MAX_DEFAULT,
  PENDING_APPENDS_QUEUE_NAME,
  type PendingAppend,
} from './append-pipeline.ts';
import type { CommitLog } from './commit-log.ts';
import { ConsumeQueue, type IndexEntry } from './consume-queue.ts';
import { IndexWriter } from './index-writer.ts';
import { checkRecord, decodeRecord, encodeProps, encodeRecord, invalidRecordReason, tagHashOf } from './record.ts';
import {
  INDEX_CHECKPOINT_FILE,
  type IndexCheckpointDoc,
  queueKey,
  recoverStore,
  validateIndexCheckpoint,
} from './recovery.ts';
import { nodeStoreFs, type StoreFs } from './store-fs.ts';

export const INDEX_CHECKPOINT_INTERVAL_MS_DEFAULT = 1000;

export interface FileStoreDeps {
  clock?: Clock;
  fs?: StoreFs;
}

interface QueueState {
  queue: ConsumeQueue;
  /** Next offset to assign; ahead of queue.maxOffset while appends wait for their flush. */
  nextOffset: number;
}

interface Opened {
  log: CommitLog;
  pipeline: AppendPipeline;
  indexWriter: IndexWriter;
}

/**
 * The durable store: a commit log of checksummed records in segments, a per-queue index derived from it, group
 * commit under a sync or async flush policy, recovery by decision table, retention by age and size.
 * See docs/store.md for the file layouts, the flush policies and the recovery table.
 */
export class FileMessageStore implements MessageStore {
  private readonly clock: Clock;
  private readonly storeFs: StoreFs;
  private readonly states = new Map<string, QueueState>();
  private opened: Opened | undefined;
  private closed = false;
  private lastStoreTimestampMs = 0;
  private cancelTimers: Array<() => void> = [];

  constructor(
    readonly options: StoreOptions,
    deps: FileStoreDeps = {},
  ) {
    assert.ok(options.segmentBytesMax > 0, 'segmentBytesMax must be > 0');
    assert.ok(options.flushIntervalMs > 0, 'flushIntervalMs must be > 0');
    this.clock = deps.clock ?? systemClock;
    this.storeFs = deps.fs ?? nodeStoreFs;
  }

  async open(): Promise<RecoveryReport> {
    assert.equal(this.opened, undefined, 'open() is called once');
    assert.ok(!this.closed, 'a closed store is not reopened; make a new one');
    const startedMs = this.clock.monotonicMs();
    const { dataDir } = this.options;
    const recovered = recoverStore(dataDir, this.options.segmentBytesMax, this.storeFs);
    const log = recovered.log;
    await log.openActive();
    await Promise.all([...recovered.queues.values()].map((queue) => queue.openFile(this.storeFs)));
    for (const [key, queue] of recovered.queues) {
      this.states.set(key, { queue, nextOffset: queue.maxOffset });
      const last = queue.maxOffset > queue.baseOffset ? queue.entryAt(queue.maxOffset - 1) : undefined;
      this.lastStoreTimestampMs = Math.max(this.lastStoreTimestampMs, last?.storeTimestampMs ?? 0);
    }
    const pendingAppendsMax = this.options.pendingAppendsMax ?? PENDING_APPENDS_MAX_DEFAULT;
    const pipeline = new AppendPipeline(log, this.options.flush, (batch) => this.commit(batch), pendingAppendsMax);
    const checkpointFile = new CheckpointFile<IndexCheckpointDoc>(
      join(dataDir, 'index', INDEX_CHECKPOINT_FILE),
      validateIndexCheckpoint,
    );
    const indexWriter = new IndexWriter(
      this.storeFs,
      join(dataDir, 'index'),
      checkpointFile,
      () => [...this.states.values()].map((state) => state.queue),
      (error) => pipeline.poison(error),
      log.writtenEndOffset,
    );
    this.opened = { log, pipeline, indexWriter };
    if (recovered.indexChanged) await this.saveRecoveredIndex();
    this.startTimers();
    const messageCount = [...recovered.queues.values()].reduce((n, q) => n + q.maxOffset - q.minOffset, 0);
    return {
      actions: recovered.actions,
      segmentCount: log.segments.length,
      messageCount,
      durationMs: this.clock.monotonicMs() - startedMs,
      logBytesScanned: recovered.logBytesScanned,
    };
  }

  private async saveRecoveredIndex(): Promise<void> {
    const { indexWriter, pipeline } = this.live();
    for (const state of this.states.values()) indexWriter.markDirty(state.queue);
    indexWriter.requestCheckpoint();
    await indexWriter.whenIdle();
    if (pipeline.error) throw pipeline.error;
  }

  private startTimers(): void {
    const { pipeline, indexWriter } = this.live();
    const every = (intervalMs: number, fn: () => void) => {
      const tick = () => {
        fn();
        this.cancelTimers[slot] = this.clock.setTimer(intervalMs, tick);
      };
      const slot = this.cancelTimers.push(this.clock.setTimer(intervalMs, tick)) - 1;
    };
    if (this.options.flush === 'async') every(this.options.flushIntervalMs, () => pipeline.requestFsync());
    const checkpointIntervalMs = this.options.indexCheckpointIntervalMs ?? INDEX_CHECKPOINT_INTERVAL_MS_DEFAULT;
    every(checkpointIntervalMs, () => indexWriter.requestCheckpoint());
  }

  private live(): Opened {
    assert.ok(this.opened, 'the store is not open: call open() first');
    return this.opened;
  }

  append(records: MessageRecord[]): Promise<AppendResult[]> {
    const { pipeline, log } = this.live();
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (pipeline.error) return Promise.reject(pipeline.error);
    if (records.length === 0) return Promise.resolve([]);
    const props: Buffer[] = [];
    for (const record of records) {
      const invalid = invalidRecordReason(record);
      if (invalid !== undefined) return Promise.reject(new TypeError(`append: ${invalid}`));
      props.push(encodeProps(record.props));
    }
    if (!pipeline.tryReserve(records.length)) {
      return Promise.reject(new StoreFullError(PENDING_APPENDS_QUEUE_NAME, pipeline.queue.countMax));
    }
    const pending: PendingAppend[] = [];
    const results: AppendResult[] = [];
    records.forEach((record, i) => {
      const state = this.stateFor(record.topic, record.queueId);
      const queueOffset = state.nextOffset++;
      this.lastStoreTimestampMs = Math.max(this.lastStoreTimestampMs, this.clock.wallMs());
      const storeTimestampMs = this.lastStoreTimestampMs;
      const bytes = encodeRecord(record, queueOffset, storeTimestampMs, props[i]);
      const place = log.assign(bytes.length);
      const tagHash = tagHashOf(record.props.tag);
      pending.push({ ...place, bytes, storeTimestampMs, queue: state.queue, queueOffset, tagHash, waiter: undefined });
      results.push({ queueOffset, commitLogOffset: place.commitLogOffset, storeTimestampMs });
    });
    return new Promise((resolve, reject) => {
      pending.at(-1)!.waiter = { resolve: () => resolve(results), reject };
      pipeline.enqueue(pending);
    });
  }

  private stateFor(topic: string, queueId: number): QueueState {
    const key = queueKey(topic, queueId);
    let state = this.states.get(key);
    if (!state) {
      const path = ConsumeQueue.pathFor(join(this.options.dataDir, 'index'), topic, queueId);
      state = { queue: new ConsumeQueue(topic, queueId, path, 0, 0, false), nextOffset: 0 };
      this.states.set(key, state);
    }
    return state;
  }

  /** Called by the pipeline once a batch is durable under the policy: its records become visible. */
  private commit(batch: PendingAppend[]): void {
    const { indexWriter } = this.live();
    for (const record of batch) {
      const entry: IndexEntry = {
        commitLogOffset: record.commitLogOffset,
        sizeBytes: record.bytes.length,
        tagHash: record.tagHash,
        storeTimestampMs: record.storeTimestampMs,
      };
      record.queue.append(entry, record.queueOffset);
      indexWriter.markDirty(record.queue);
    }
    const last = batch.at(-1)!;
    indexWriter.committedLogEnd = last.commitLogOffset + last.bytes.length;
  }

  read(topic: string, queueId: number, fromOffset: number, countMax: number): StoredMessage[] {
    if (this.closed) throw new StoreClosedError();
    const state = this.states.get(queueKey(topic, queueId));
    if (!state || countMax <= 0) return [];
    const queue = state.queue;
    const from = Math.max(fromOffset, queue.minOffset);
    const to = Math.min(queue.maxOffset, from + countMax);
    if (from >= to) return [];
    return queue.entries(from, to).map((entry, i) => this.readRecord(queue, entry, from + i));
  }

  /** Reads one record and pair-checks it against its index entry: a disagreement is corruption. */
  private readRecord(queue: ConsumeQueue, entry: IndexEntry, queueOffset: number): StoredMessage {
    const { log } = this.live();
    assert.ok(entry.commitLogOffset >= log.startOffset, `${queue.path}@${queueOffset} points before the log start`);
    assert.ok(entry.commitLogOffset + entry.sizeBytes <= log.writtenEndOffset, 'index entry points past the log end');
    const { bytes, segment } = log.readBytes(entry.commitLogOffset, entry.sizeBytes);
    const position = entry.commitLogOffset - segment.baseOffset;
    const check = checkRecord(bytes, 0, bytes.length);
    if (!check.ok) throw new StoreCorruptError(segment.path, position, check.reason);
    const header = check.header;
    if (header.sizeBytes !== entry.sizeBytes) {
      throw new StoreCorruptError(queue.path, queueOffset, `entry size ${entry.sizeBytes}, record ${header.sizeBytes}`);
    }
    if (header.topic !== queue.topic || header.queueId !== queue.queueId || header.queueOffset !== queueOffset) {
      const found = `${header.topic}/${header.queueId}@${header.queueOffset}`;
      throw new StoreCorruptError(queue.path, queueOffset, `entry ${queueOffset} points at ${found}`);
    }
    return decodeRecord(bytes, entry.commitLogOffset);
  }

  queueRange(topic: string, queueId: number): QueueRange {
    const queue = this.states.get(queueKey(topic, queueId))?.queue;
    return queue ? { minOffset: queue.minOffset, maxOffset: queue.maxOffset } : { minOffset: 0, maxOffset: 0 };
  }

  queues(): Array<{ topic: string; queueId: number }> {
    return [...this.states.values()].map(({ queue }) => ({ topic: queue.topic, queueId: queue.queueId }));
  }

  offsetForTimestamp(topic: string, queueId: number, wallMs: number): number {
    const queue = this.states.get(queueKey(topic, queueId))?.queue;
    if (!queue) return 0;
    return queue.lowerBound(queue.minOffset, wallMs, (entry) => entry.storeTimestampMs);
  }

  applyRetention(nowWallMs: number): number {
    const { log } = this.live();
    const { retentionMs, retentionBytesMax } = this.options;
    let deleted = 0;
    while (log.segments.length > 1) {
      const oldest = log.segments[0]!;
      const overSize = retentionBytesMax !== undefined && log.sizeBytes > retentionBytesMax;
      const newestMs = retentionMs !== undefined && !overSize ? log.newestTimestampMs(oldest) : undefined;
      const overAge = retentionMs !== undefined && newestMs !== undefined && nowWallMs - newestMs > retentionMs;
      if (!overSize && !overAge) break;
      log.deleteOldestSegment();
      deleted++;
    }
    if (deleted > 0) {
      for (const { queue } of this.states.values()) {
        queue.minOffset = queue.lowerBound(queue.minOffset, log.startOffset, (entry) => entry.commitLogOffset);
      }
    }
    return deleted;
  }

  stats(): StoreStats {
    const { log, pipeline } = this.live();
    return {
      commitLogBytes: log.sizeBytes,
      segmentCount: log.segments.length,
      pendingAppends: pipeline.pendingCount,
      flushCount: log.flushCount,
      writeBatchCount: pipeline.writeBatchCount,
      rejectedAppendCount: pipeline.queue.rejectedTotal,
    };
  }

  /** Waits for the pending appends, fsyncs the log, writes the index and its checkpoint, and closes every file. */
  async close(): Promise<void> {
    if (this.closed || !this.opened) {
      this.closed = true;
      return;
    }
    this.closed = true;
    const { pipeline, indexWriter } = this.opened;
    for (const cancel of this.cancelTimers.splice(0)) cancel();
    await pipeline.whenIdle();
    if (!pipeline.error) {
      pipeline.requestFsync();
      await pipeline.whenIdle();
    }
    if (!pipeline.error) indexWriter.requestCheckpoint();
    await indexWriter.whenIdle();
    await this.closeFiles();
  }

  /**
   * Test only: stops like a killed process. Waits for the writes already started, then closes the files without the
   * final fsync, index write or checkpoint; what reached the OS stays, as after `kill -9` (not a power loss).
   */
  async simulateCrash(): Promise<void> {
    this.closed = true;
    if (!this.opened) return;
    for (const cancel of this.cancelTimers.splice(0)) cancel();
    await this.opened.pipeline.whenIdle();
    await this.opened.indexWriter.whenIdle();
    await this.closeFiles();
  }

  private async closeFiles(): Promise<void> {
    const { log, pipeline } = this.live();
    pipeline.dispose();
    await Promise.all([...this.states.values()].map(({ queue }) => queue.close()));
    await log.close();
  }
}

import assert from 'node:assert/strict';
import { mkdirSync, statfsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Clock, systemClock } from '../../../lib/clock.ts';
import { CheckpointFile } from '../checkpoint.ts';
import {
  type AppendResult,
  type MessageRecord,
  type MessageStore,
  type QuarantineEntry,
  type QueueRange,
  type RecoveryReport,
  StoreClosedError,
  StoreCorruptError,
  StoreDiskFullError,
  type StoredMessage,
  StoreFullError,
  type StoreOptions,
  type StoreStats,
  type WriteState,
} from '../types.ts';
import {
  AppendPipeline,
  PENDING_APPENDS_MAX_DEFAULT,
  PENDING_APPENDS_QUEUE_NAME,
  type PendingAppend,
} from './append-pipeline.ts';
import type { CommitLog } from './commit-log.ts';
import { ConsumeQueue, type IndexEntry } from './consume-queue.ts';
import { IndexWriter, isDiskFullError } from './index-writer.ts';
import { Quarantine } from './quarantine.ts';
import { checkRecord, decodeRecord, encodeProps, encodeRecord, invalidRecordReason, tagHashOf } from './record.ts';
import {
  INDEX_CHECKPOINT_FILE,
  type IndexCheckpointDoc,
  QUARANTINE_DIR,
  queueKey,
  recoverStore,
  validateIndexCheckpoint,
} from './recovery.ts';
import { scanSegmentResync } from './segment-scan.ts';
import { nodeStoreFs, type StoreFs } from './store-fs.ts';

export const INDEX_CHECKPOINT_INTERVAL_MS_DEFAULT = 1000;
export const DISK_USED_RATIO_MAX_DEFAULT = 0.9;
export const DISK_CHECK_INTERVAL_MS_DEFAULT = 1000;
/** How far a read looks for a readable neighbour of an unreadable index entry. */
const NEIGHBOUR_SEARCH_MAX = 64;
const REPAIRED_ENTRIES_MAX = 4096;

export type StoreLogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface FileStoreDeps {
  clock?: Clock;
  fs?: StoreFs;
  /** Where background errors (timers, quarantine saves, disk guard) and write-state changes are reported. */
  log?: StoreLogFn;
  /** Used fraction (0..1) of the file system holding dir; default statfs (blocks not available / blocks). */
  diskUsedRatio?: (dir: string) => number;
}

/** Used fraction of the file system, as an unprivileged writer sees it (reserved blocks count as used). */
export function statfsUsedRatio(dir: string): number {
  const stats = statfsSync(dir);
  return stats.blocks > 0 ? (stats.blocks - stats.bavail) / stats.blocks : 0;
}

const stderrLog: StoreLogFn = (level, msg, fields) => {
  process.stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`);
};

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
  private readonly log: StoreLogFn;
  private readonly diskUsedRatio: (dir: string) => number;
  private readonly quarantine: Quarantine;
  /** Set while appends are refused: the disk is over its limit, or the last write failed with ENOSPC. */
  private refusal: string | undefined;
  private lastUsedRatio: number | undefined;
  private usedRatioAtEnospc: number | undefined;
  private diskFullRejectedCount = 0;
  /** Index entries that failed their checksum, found again in the log (bounded; a cache, not a source of truth). */
  private readonly repairedEntries = new Map<string, IndexEntry>();

  constructor(
    readonly options: StoreOptions,
    deps: FileStoreDeps = {},
  ) {
    assert.ok(options.segmentBytesMax > 0, 'segmentBytesMax must be > 0');
    assert.ok(options.flushIntervalMs > 0, 'flushIntervalMs must be > 0');
    this.clock = deps.clock ?? systemClock;
    this.storeFs = deps.fs ?? nodeStoreFs;
    this.log = deps.log ?? stderrLog;
    this.diskUsedRatio = deps.diskUsedRatio ?? statfsUsedRatio;
    this.quarantine = new Quarantine(options.dataDir, (error) =>
      this.log('error', 'store quarantine list not saved', { error: error.message }),
    );
  }

  async open(): Promise<RecoveryReport> {
    assert.equal(this.opened, undefined, 'open() is called once');
    assert.ok(!this.closed, 'a closed store is not reopened; make a new one');
    const startedMs = this.clock.monotonicMs();
    const { dataDir } = this.options;
    const recovered = recoverStore(dataDir, this.options.segmentBytesMax, this.storeFs, this.clock.wallMs());
    mkdirSync(join(dataDir, QUARANTINE_DIR), { recursive: true });
    this.quarantine.load();
    this.quarantine.add(recovered.quarantined);
    const log = recovered.log;
    await log.openActive();
    await Promise.all([...recovered.queues.values()].map((queue) => queue.openFile(this.storeFs)));
    for (const [key, queue] of recovered.queues) {
      this.states.set(key, { queue, nextOffset: queue.maxOffset });
      const last = queue.maxOffset > queue.baseOffset ? queue.entryAt(queue.maxOffset - 1) : undefined;
      this.lastStoreTimestampMs = Math.max(this.lastStoreTimestampMs, last?.storeTimestampMs ?? 0);
    }
    const pendingAppendsMax = this.options.pendingAppendsMax ?? PENDING_APPENDS_MAX_DEFAULT;
    const pipeline = new AppendPipeline(log, this.options.flush, (batch) => this.commit(batch), pendingAppendsMax, {
      recoverable: (error) => this.onWriteFailure(error),
      rolledBack: () => this.rollBackAssignments(),
    });
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
      (error) => this.refuseAfterEnospc(`index write failed: ${error.message}`),
    );
    this.opened = { log, pipeline, indexWriter };
    if (recovered.indexChanged) await this.saveRecoveredIndex();
    this.checkDisk();
    this.startTimers();
    const messageCount = [...recovered.queues.values()].reduce((n, q) => n + q.maxOffset - q.minOffset, 0);
    return {
      actions: recovered.actions,
      quarantined: recovered.quarantined,
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
        try {
          fn();
        } catch (error) {
          this.log('error', 'store background task failed; it runs again on its next tick', {
            error: error instanceof Error ? error.message : String(error),
          });
        }
        this.cancelTimers[slot] = this.clock.setTimer(intervalMs, tick);
      };
      const slot = this.cancelTimers.push(this.clock.setTimer(intervalMs, tick)) - 1;
    };
    if (this.options.flush === 'async') every(this.options.flushIntervalMs, () => pipeline.requestFsync());
    const checkpointIntervalMs = this.options.indexCheckpointIntervalMs ?? INDEX_CHECKPOINT_INTERVAL_MS_DEFAULT;
    every(checkpointIntervalMs, () => indexWriter.requestCheckpoint());
    every(this.options.diskCheckIntervalMs ?? DISK_CHECK_INTERVAL_MS_DEFAULT, () => this.checkDisk());
  }

  /** The disk guard: refuses appends above diskUsedRatioMax, resumes them below it (also after an ENOSPC). */
  private checkDisk(): void {
    const ratioMax = this.options.diskUsedRatioMax ?? DISK_USED_RATIO_MAX_DEFAULT;
    let usedRatio: number;
    try {
      usedRatio = this.diskUsedRatio(this.options.dataDir);
    } catch (error) {
      this.log('warn', 'disk usage check failed; the write state is unchanged', { error: String(error) });
      return;
    }
    this.lastUsedRatio = usedRatio;
    // After an ENOSPC, space is back only once the usage fell below what it was at the failure.
    const stillFull = this.usedRatioAtEnospc !== undefined && usedRatio >= this.usedRatioAtEnospc;
    if (ratioMax < 1 && usedRatio > ratioMax) {
      const percent = (r: number) => `${(r * 100).toFixed(1)}%`;
      this.refuseWrites(`the disk is ${percent(usedRatio)} used, over the limit of ${percent(ratioMax)}`);
    } else if (this.refusal !== undefined && !stillFull) {
      this.log('info', 'store accepts appends again: disk space is back', { usedRatio, refusedFor: this.refusal });
      this.refusal = undefined;
      this.usedRatioAtEnospc = undefined;
    }
  }

  /** A write failed with ENOSPC: refuse appends until the usage falls below what it is now. */
  private refuseAfterEnospc(reason: string): void {
    try {
      this.usedRatioAtEnospc = this.diskUsedRatio(this.options.dataDir);
    } catch {
      this.usedRatioAtEnospc = undefined; // unknown: the next check resumes appends, the next write tells
    }
    this.refuseWrites(reason);
  }

  private refuseWrites(reason: string): void {
    if (this.refusal === undefined) {
      this.log('warn', 'store refuses appends until disk space is freed; reads and acks go on', { reason });
    }
    this.refusal = reason;
  }

  /** A log write failed before any of its batch reached the file: ENOSPC is retriable, anything else sticky. */
  private onWriteFailure(error: Error): Error | undefined {
    if (!isDiskFullError(error)) return undefined;
    this.refuseAfterEnospc(`a commit log write failed: ${error.message}`);
    return new StoreDiskFullError(this.refusal ?? error.message);
  }

  /** Every pending append was rejected: the log and each queue go back to their committed ends. */
  private rollBackAssignments(): void {
    this.live().log.discardUnwritten();
    for (const state of this.states.values()) state.nextOffset = state.queue.maxOffset;
  }

  writeState(): WriteState {
    const diskUsedRatioMax = this.options.diskUsedRatioMax ?? DISK_USED_RATIO_MAX_DEFAULT;
    const base = { diskUsedRatio: this.lastUsedRatio, diskUsedRatioMax };
    const error = this.opened?.pipeline.error;
    if (error) return { ...base, writable: false, reason: `a write failed (${error.message}); restart the broker` };
    if (this.refusal !== undefined) return { ...base, writable: false, reason: this.refusal };
    return { ...base, writable: true };
  }

  quarantined(): QuarantineEntry[] {
    return this.quarantine.list();
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
    if (this.refusal !== undefined) {
      this.diskFullRejectedCount++;
      return Promise.reject(new StoreDiskFullError(this.refusal));
    }
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

  /**
   * Up to countMax readable messages from fromOffset. A record that cannot be read (bad checksum, index entry and
   * record disagree, a hole left by recovery) is skipped and listed in quarantined(); the offsets after it are read
   * on, so one bad record never blocks its queue. Returned offsets may therefore have gaps.
   */
  read(topic: string, queueId: number, fromOffset: number, countMax: number): StoredMessage[] {
    if (this.closed) throw new StoreClosedError();
    const state = this.states.get(queueKey(topic, queueId));
    if (!state || countMax <= 0) return [];
    const queue = state.queue;
    const out: StoredMessage[] = [];
    let from = Math.max(fromOffset, queue.minOffset);
    while (out.length < countMax && from < queue.maxOffset) {
      const to = Math.min(queue.maxOffset, from + countMax - out.length);
      const entries = this.entriesOrHoles(queue, from, to);
      entries.forEach((entry, i) => {
        const message = entry ? this.readOrQuarantine(queue, entry, from + i) : undefined;
        if (message) out.push(message);
      });
      from = to;
    }
    return out;
  }

  /**
   * Index entries for [from, to). An entry that fails its own checksum is looked up in the log between its
   * neighbours' records (the index is derived from the log); when the log does not have it either, it is
   * quarantined and comes back undefined.
   */
  private entriesOrHoles(queue: ConsumeQueue, from: number, to: number): Array<IndexEntry | undefined> {
    try {
      return queue.entries(from, to);
    } catch (error) {
      if (!(error instanceof StoreCorruptError)) throw error;
    }
    const out: Array<IndexEntry | undefined> = [];
    for (let offset = from; offset < to; offset++) {
      const entry = this.entryOrUndefined(queue, offset) ?? this.findInLog(queue, offset);
      if (!entry) this.quarantineRecord(queue, offset, -1, 0, 'index entry unreadable and its record not in the log');
      out.push(entry);
    }
    return out;
  }

  private entryOrUndefined(queue: ConsumeQueue, offset: number): IndexEntry | undefined {
    try {
      return queue.entryAt(offset);
    } catch (error) {
      if (error instanceof StoreCorruptError) return undefined;
      throw error;
    }
  }

  /** Scans the log between the records of the nearest readable neighbours for the record at queueOffset. */
  private findInLog(queue: ConsumeQueue, queueOffset: number): IndexEntry | undefined {
    const { log } = this.live();
    const cached = this.repairedEntries.get(`${queue.path}@${queueOffset}`);
    if (cached) return cached;
    let low = log.startOffset;
    let high = log.writtenEndOffset;
    for (let o = queueOffset - 1; o >= Math.max(queue.minOffset, queueOffset - NEIGHBOUR_SEARCH_MAX); o--) {
      const e = this.entryOrUndefined(queue, o);
      if (e && e.sizeBytes > 0) {
        low = Math.max(low, e.commitLogOffset + e.sizeBytes);
        break;
      }
    }
    for (let o = queueOffset + 1; o < Math.min(queue.maxOffset, queueOffset + NEIGHBOUR_SEARCH_MAX); o++) {
      const e = this.entryOrUndefined(queue, o);
      if (e && e.sizeBytes > 0) {
        high = Math.min(high, e.commitLogOffset);
        break;
      }
    }
    let found: IndexEntry | undefined;
    for (const segment of log.segments) {
      const end = segment.baseOffset + segment.sizeBytes;
      if (found || end <= low || segment.baseOffset >= high) continue;
      const scanEnd = Math.min(end, high) - segment.baseOffset;
      scanSegmentResync(segment.fd, scanEnd, Math.max(0, low - segment.baseOffset), (header, position) => {
        if (found || header.topic !== queue.topic || header.queueId !== queue.queueId) return;
        if (header.queueOffset !== queueOffset) return;
        const commitLogOffset = segment.baseOffset + position;
        found = { commitLogOffset, sizeBytes: header.sizeBytes, tagHash: header.tagHash, storeTimestampMs: 0 };
        found.storeTimestampMs = header.storeTimestampMs;
      });
    }
    if (found && this.repairedEntries.size < REPAIRED_ENTRIES_MAX) {
      this.repairedEntries.set(`${queue.path}@${queueOffset}`, found);
      this.log('warn', 'store read an index entry that fails its checksum; found its record in the log', {
        index: relative(this.options.dataDir, queue.path),
        queueOffset,
        commitLogOffset: found.commitLogOffset,
      });
    }
    return found;
  }

  private readOrQuarantine(queue: ConsumeQueue, entry: IndexEntry, queueOffset: number): StoredMessage | undefined {
    if (entry.sizeBytes === 0) return undefined; // a hole: recovery quarantined the bytes this record was in
    try {
      return this.readRecord(queue, entry, queueOffset);
    } catch (error) {
      const detail = error instanceof StoreCorruptError ? error.detail : String(error);
      this.quarantineRecord(queue, queueOffset, entry.commitLogOffset, entry.sizeBytes, detail);
      return undefined;
    }
  }

  private quarantineRecord(
    queue: ConsumeQueue,
    queueOffset: number,
    commitLogOffset: number,
    bytes: number,
    reason: string,
  ): void {
    const { log } = this.live();
    // Keyed by log offset; an unreadable index entry has none, so it is keyed by a negative stand-in per offset.
    const key = commitLogOffset >= 0 ? commitLogOffset : -1 - queueOffset;
    if (this.quarantine.has('record', key)) return;
    const segment = commitLogOffset >= log.startOffset ? log.segmentAt(commitLogOffset) : undefined;
    const file = relative(this.options.dataDir, segment?.path ?? queue.path);
    const entry: QuarantineEntry = {
      kind: 'record',
      commitLogOffset: key,
      bytes,
      file,
      reason,
      topic: queue.topic,
      queueId: queue.queueId,
      queueOffset,
      foundWallMs: this.clock.wallMs(),
    };
    // Bytes recovery already listed as a bad range are not listed again; the skipped record is still counted.
    const known = commitLogOffset >= 0 && this.quarantine.rangeHolding(commitLogOffset) !== undefined;
    if (known) this.quarantine.markRecord(key);
    else if (this.quarantine.add([entry]) === 0) return;
    this.quarantine.recordCount++;
    this.log('error', 'store skipped an unreadable record for delivery; its queue goes on', { ...entry });
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
        try {
          queue.minOffset = queue.lowerBound(queue.minOffset, log.startOffset, (entry) => entry.commitLogOffset);
        } catch (error) {
          // A bad index entry: keep the old minOffset (reads of deleted records are skipped as unreadable).
          this.log('error', 'retention could not move a queue start', { queue: queue.path, error: String(error) });
        }
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
      quarantinedRecordCount: this.quarantine.recordCount,
      diskFullRejectedCount: this.diskFullRejectedCount,
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

import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { CheckpointFile } from '../checkpoint.ts';
import { type QuarantineEntry, type RecoveryAction, StoreCorruptError } from '../types.ts';
import { CommitLog, listSegmentFiles, type Segment } from './commit-log.ts';
import {
  ConsumeQueue,
  decodeIndexEntry,
  decodeIndexHeader,
  encodeIndexHeader,
  INDEX_ENTRY_BYTES,
  INDEX_HEADER_BYTES,
  type IndexEntry,
  parseIndexFileName,
} from './consume-queue.ts';
import {
  checkRecord,
  RECORD_CHECKSUM_BYTES,
  RECORD_HEADER_BYTES,
  type RecordCheck,
  type RecordHeader,
} from './record.ts';
import { type BadRange, readFullySync, scanSegmentResync } from './segment-scan.ts';
import type { StoreFs } from './store-fs.ts';

/*
 * Recovery decision table (also in docs/store.md, with tests in recovery.test.ts and the generated damages
 * of fault-injection.test.ts). open() applies the rows top to bottom and reports each one that applied.
 *
 * | Found at open                                          | Response                                 | case          |
 * |--------------------------------------------------------|------------------------------------------|---------------|
 * | segment files do not join end to end                   | fatal: StoreCorruptError(file, position) | (throws)      |
 * | last segment ends in bad bytes with no good record     | copy them aside, cut after the last good | torn-tail     |
 * |   after them (torn tail)                               |   record; report bytes, offset, reason   |               |
 * | bad bytes with a good record after them, any segment   | keep and skip them, keep the records     | quarantined   |
 * |   met by a scan; bad bytes ending a sealed segment     |   after them; list them (log-range)      |               |
 * | a queue's next good record is ahead of its index       | hole entries (size 0) for the offsets    | quarantined   |
 * |   after quarantined bytes                              |   whose records were in the bad bytes    |               |
 * | index entries point past the log end (index ahead)     | trim them                                | index-ahead   |
 * | index file ends in unreadable (torn) entries           | trim them; the log scan adds them again  | index-behind  |
 * | log holds records past a queue's last entry (behind)   | add their entries from the log tail      | index-behind  |
 * | index file missing or bad header; its last entry       | rebuild that queue's index from the log  | index-rebuilt |
 * |   disagrees with the log                               |                                          |               |
 * | a record out of queue order while rebuilding from log  | skip it, list it (record); never throw   | (listed)      |
 * | index checkpoint missing or unreadable                 | scan the whole log, save a fresh one     | checkpoint-   |
 * |                                                        |                                          |   missing     |
 * | none of the above                                      | nothing                                  | clean         |
 *
 * The log is scanned only from the index checkpoint (every record before `indexedLogOffset` has a durable index
 * entry), so a consistent store with millions of messages opens after reading its tail. A bad record inside a sealed
 * segment that no scan meets is skipped by the read path (read() quarantines it and goes on).
 */

export const INDEX_CHECKPOINT_FILE = 'checkpoint';
/** Where cut tails are copied and the quarantine list is kept. */
export const QUARANTINE_DIR = 'quarantine';
/** The smallest possible record: a gap of g queue offsets needs at least g times this many bad bytes. */
const RECORD_BYTES_MIN = RECORD_HEADER_BYTES + 1 + RECORD_CHECKSUM_BYTES;
const TORN_INDEX_ENTRIES_MAX = 4096;

export interface IndexCheckpointDoc {
  version: 1;
  /** Every record before this commit log offset has its index entry written and fsynced. */
  indexedLogOffset: number;
  /** [topic, queueId, offset after the last entry in the index file] for every queue. */
  queues: Array<[string, number, number]>;
}

export function validateIndexCheckpoint(doc: unknown): string | undefined {
  const d = doc as Partial<IndexCheckpointDoc> | null;
  if (d?.version !== 1) return 'not a version 1 index checkpoint';
  if (!Number.isSafeInteger(d.indexedLogOffset)) return 'indexedLogOffset is not an integer';
  if (!Array.isArray(d.queues)) return 'queues is not an array';
  return undefined;
}

export function queueKey(topic: string, queueId: number): string {
  return `${queueId}@${topic}`;
}

export interface RecoveredState {
  log: CommitLog;
  queues: Map<string, ConsumeQueue>;
  actions: RecoveryAction[];
  /** Bad log ranges and cut tails found in this open. */
  quarantined: QuarantineEntry[];
  logBytesScanned: number;
  /** True when recovery changed the index, so the store should write it and save a fresh checkpoint. */
  indexChanged: boolean;
}

interface RebuildMark {
  topic: string;
  queueId: number;
  reason: string;
}

/** Opens the segments and index files of dataDir and applies the decision table. */
export function recoverStore(
  dataDir: string,
  segmentBytesMax: number,
  storeFs: StoreFs,
  nowWallMs: number,
): RecoveredState {
  const logDir = join(dataDir, 'commitlog');
  const indexDir = join(dataDir, 'index');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(indexDir, { recursive: true });
  const segments: Segment[] = listSegmentFiles(logDir).map((file) => ({
    ...file,
    fd: openSync(file.path, 'r'),
    handle: undefined,
    dirty: false,
    newestTimestampMs: undefined,
  }));
  const log = new CommitLog(logDir, segmentBytesMax, storeFs, segments);
  const recovery = new Recovery(dataDir, indexDir, log, nowWallMs);
  try {
    return recovery.run();
  } catch (error) {
    recovery.closeAll();
    throw error;
  }
}

class Recovery {
  readonly actions: RecoveryAction[] = [];
  readonly queues = new Map<string, ConsumeQueue>();
  /** By commit log offset: a range met by both passes is reported once. */
  private readonly quarantined = new Map<number, QuarantineEntry>();
  /** Bad bytes met by the current scan pass: bounds how many queue offsets may be missing (holes) after them. */
  private badBytesSeen = 0;
  private readonly holeCounts = new Map<string, number>();
  /** storeTimestampMs of the last good record visited (store timestamps never decrease). */
  private lastTimestampMs = 0;
  private readonly rebuild = new Map<string, RebuildMark>();
  private readonly addedCounts = new Map<string, number>();
  private readonly failedDuringScan = new Map<string, RebuildMark>();
  private readonly createdDuringScan = new Set<string>();
  /** Set when there is no usable index checkpoint: queues found only in the log count as rebuilt. */
  private checkpointProblem: string | undefined;
  private bytesScanned = 0;
  private logStart = 0;
  private logEnd = 0;

  constructor(
    readonly dataDir: string,
    readonly indexDir: string,
    readonly log: CommitLog,
    readonly nowWallMs: number,
  ) {}

  run(): RecoveredState {
    const checkpointFile = new CheckpointFile<IndexCheckpointDoc>(
      join(this.indexDir, INDEX_CHECKPOINT_FILE),
      validateIndexCheckpoint,
    );
    const loaded = checkpointFile.loadSync();
    const checkpoint = loaded.value;
    this.recoverLogTail(checkpoint?.indexedLogOffset);
    this.log.resetAssignment();
    this.logStart = this.log.startOffset;
    this.logEnd = this.log.writtenEndOffset;
    this.loadIndexFiles(checkpoint, loaded.reason);
    this.indexLog(this.planScanStart(checkpoint), undefined);
    this.rebuildFailedQueues();
    this.restoreEmptyQueues(checkpoint);
    this.reportIndexChanges();
    this.reportCheckpointMissing(checkpoint, loaded.reason);
    for (const queue of this.queues.values()) {
      queue.minOffset = queue.lowerBound(queue.baseOffset, this.logStart, (entry) => entry.commitLogOffset);
    }
    // An empty store needs no checkpoint: its next open has nothing to scan either way.
    const indexChanged = this.actions.length > 0 || (checkpoint === undefined && this.queues.size > 0);
    if (this.actions.length === 0) {
      const detail = `index consistent; read ${this.bytesScanned} log bytes after the index checkpoint`;
      this.actions.push({ case: 'clean', file: this.dataDir, detail });
    }
    return {
      log: this.log,
      queues: this.queues,
      actions: this.actions,
      quarantined: [...this.quarantined.values()],
      logBytesScanned: this.bytesScanned,
      indexChanged,
    };
  }

  closeAll(): void {
    for (const segment of this.log.segments) closeSync(segment.fd);
    for (const queue of this.queues.values()) void queue.close();
  }

  /**
   * Row "torn tail": cut the last segment after its last record that passes its checksum, but only when no good
   * record follows the bad bytes (a bad stretch with good records after it is quarantined by indexLog, never cut).
   * The cut bytes are copied to the quarantine directory first.
   */
  private recoverLogTail(checkpointOffset: number | undefined): void {
    const last = this.log.segments.at(-1);
    if (!last) return;
    const lastEnd = last.baseOffset + last.sizeBytes;
    const inLast = checkpointOffset !== undefined && checkpointOffset > last.baseOffset && checkpointOffset <= lastEnd;
    let fromPosition = inLast ? checkpointOffset - last.baseOffset : 0;
    // The checkpoint may not sit on a record boundary of this file: walk it from the start.
    if (fromPosition < last.sizeBytes && !checkRecordInFile(last.fd, last.sizeBytes, fromPosition).ok) fromPosition = 0;
    let previousMs = 0;
    const scan = scanSegmentResync(
      last.fd,
      last.sizeBytes,
      fromPosition,
      (header) => {
        last.newestTimestampMs = header.storeTimestampMs;
        previousMs = header.storeTimestampMs;
      },
      (header) => header.storeTimestampMs >= previousMs,
    );
    this.bytesScanned += scan.bytesRead;
    const tail = scan.badRanges.at(-1);
    if (!tail?.atEnd) return;
    const copy = this.copyAside(last.path, last.baseOffset + tail.position, tail.position, tail.bytes);
    const fd = openSync(last.path, 'r+');
    try {
      ftruncateSync(fd, tail.position);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    last.sizeBytes = tail.position;
    const goodCount = scan.goodEndPosition > fromPosition ? 'records before them pass' : 'nothing before them scanned';
    const detail =
      `cut ${tail.bytes} bytes at byte ${tail.position} (log offset ${last.baseOffset + tail.position}): ` +
      `${tail.reason}; no record after them passes its checksum (a write torn by a crash, or damage to the ` +
      `last records); ${goodCount}; copy kept in ${copy}`;
    this.actions.push({ case: 'torn-tail', file: last.path, detail });
    this.quarantined.set(last.baseOffset + tail.position, {
      kind: 'tail-cut',
      commitLogOffset: last.baseOffset + tail.position,
      bytes: tail.bytes,
      file: relative(this.dataDir, last.path),
      reason: tail.reason,
      copy,
      foundWallMs: this.nowWallMs,
    });
  }

  /** Copies bytes of a segment to the quarantine directory; returns the copy's path relative to the data dir. */
  private copyAside(segmentPath: string, logOffset: number, position: number, bytes: number): string {
    const dir = join(this.dataDir, QUARANTINE_DIR);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `cut-${String(logOffset).padStart(20, '0')}.bin`);
    const buf = Buffer.alloc(bytes);
    const fd = openSync(segmentPath, 'r');
    try {
      readFullySync(fd, buf, 0, bytes, position);
    } finally {
      closeSync(fd);
    }
    writeFileSync(path, buf);
    return relative(this.dataDir, path);
  }

  private loadIndexFiles(checkpoint: IndexCheckpointDoc | undefined, checkpointProblem: string | undefined): void {
    for (const name of readdirSync(this.indexDir)) {
      const parsed = parseIndexFileName(name);
      if (parsed) this.loadIndexFile(parsed.topic, parsed.queueId, join(this.indexDir, name));
    }
    for (const [topic, queueId, maxOffset] of checkpoint?.queues ?? []) {
      const key = queueKey(topic, queueId);
      if (maxOffset > 0 && !this.queues.has(key) && !this.rebuild.has(key)) {
        this.rebuild.set(key, { topic, queueId, reason: 'index file missing' });
      }
    }
    if (!checkpoint) this.checkpointProblem = checkpointProblem ?? 'index checkpoint missing';
  }

  private loadIndexFile(topic: string, queueId: number, path: string): void {
    const fd = openSync(path, 'r+');
    const header = Buffer.alloc(INDEX_HEADER_BYTES);
    readFullySync(fd, header, 0, INDEX_HEADER_BYTES, 0);
    const baseOffset = decodeIndexHeader(header, queueId);
    if (typeof baseOffset === 'string') {
      closeSync(fd);
      this.rebuild.set(queueKey(topic, queueId), { topic, queueId, reason: baseOffset });
      return;
    }
    const fileBytes = fstatSync(fd).size;
    const entryCount = Math.max(0, Math.floor((fileBytes - INDEX_HEADER_BYTES) / INDEX_ENTRY_BYTES));
    const queue = new ConsumeQueue(topic, queueId, path, baseOffset, entryCount, true);
    queue.attachReadFd(fd);
    let problem: string | undefined;
    try {
      problem = this.checkIndexTail(queue, fd, fileBytes);
    } catch (error) {
      if (!(error instanceof StoreCorruptError)) throw error;
      problem = error.message;
    }
    if (problem !== undefined) {
      void queue.close();
      this.rebuild.set(queueKey(topic, queueId), { topic, queueId, reason: problem });
      return;
    }
    this.queues.set(queueKey(topic, queueId), queue);
  }

  /** Trims torn entries and entries past the log end, then pair-checks the last entry against the log. */
  private checkIndexTail(queue: ConsumeQueue, fd: number, fileBytes: number): string | undefined {
    const entryCountBefore = queue.fileEntryCount;
    const tornCount = this.countTornEntries(queue, fd);
    if (tornCount > TORN_INDEX_ENTRIES_MAX) return `more than ${TORN_INDEX_ENTRIES_MAX} unreadable entries at the end`;
    queue.fileEntryCount -= tornCount;
    const firstPastEnd = queue.lowerBound(queue.baseOffset, this.logEnd + 1, (e) => e.commitLogOffset + e.sizeBytes);
    const aheadCount = queue.maxOffset - firstPastEnd;
    queue.fileEntryCount -= aheadCount;
    const keptBytes = INDEX_HEADER_BYTES + queue.fileEntryCount * INDEX_ENTRY_BYTES;
    if (keptBytes !== fileBytes) ftruncateSync(fd, keptBytes);
    if (aheadCount > 0) {
      const detail = `trimmed ${aheadCount} of ${entryCountBefore} entries that point past the log end ${this.logEnd}`;
      this.actions.push({ case: 'index-ahead', file: queue.path, detail });
    }
    if (tornCount > 0) this.addedCounts.set(queueKey(queue.topic, queue.queueId), 0);
    if (queue.fileEntryCount === 0) return undefined;
    const lastOffset = queue.maxOffset - 1;
    return this.pairCheck(queue, queue.entryAt(lastOffset), lastOffset);
  }

  private countTornEntries(queue: ConsumeQueue, fd: number): number {
    const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
    let torn = 0;
    while (torn < queue.fileEntryCount && torn <= TORN_INDEX_ENTRIES_MAX) {
      const index = queue.fileEntryCount - 1 - torn;
      readFullySync(fd, entry, 0, INDEX_ENTRY_BYTES, INDEX_HEADER_BYTES + index * INDEX_ENTRY_BYTES);
      if (typeof decodeIndexEntry(entry, 0, queue.baseOffset + index) !== 'string') break;
      torn++;
    }
    return torn;
  }

  /** The pair check at startup: the entry and the record it points to must agree. Returns the disagreement, if any. */
  private pairCheck(queue: ConsumeQueue, entry: IndexEntry, queueOffset: number): string | undefined {
    if (entry.commitLogOffset < this.logStart) return undefined; // deleted by retention: nothing to compare
    if (entry.sizeBytes === 0) return undefined; // a hole: its record was quarantined
    const check = checkRecordAt(this.log, entry.commitLogOffset);
    const where = `entry ${queueOffset} -> log offset ${entry.commitLogOffset}`;
    if (!check.ok) return `${where}: ${check.reason}`;
    const h = check.header;
    if (h.sizeBytes !== entry.sizeBytes) return `${where}: size ${entry.sizeBytes} but the record has ${h.sizeBytes}`;
    if (h.topic !== queue.topic || h.queueId !== queue.queueId || h.queueOffset !== queueOffset) {
      return `${where}: the record is ${h.topic}/${h.queueId}@${h.queueOffset}`;
    }
    return undefined;
  }

  /** Where the log scan starts: the index checkpoint, or earlier for queues that are behind or being rebuilt. */
  private planScanStart(checkpoint: IndexCheckpointDoc | undefined): number {
    if (!checkpoint || this.rebuild.size > 0) return this.logStart;
    const indexed = checkpoint.indexedLogOffset;
    if (indexed > this.logEnd || !isRecordBoundary(this.log, Math.max(indexed, this.logStart))) return this.logStart;
    let start = Math.max(indexed, this.logStart);
    for (const [topic, queueId, maxOffset] of checkpoint.queues) {
      const queue = this.queues.get(queueKey(topic, queueId));
      if (!queue || queue.maxOffset >= maxOffset) continue;
      const last = queue.maxOffset > queue.baseOffset ? queue.entryAt(queue.maxOffset - 1) : undefined;
      start = Math.min(start, last ? Math.max(this.logStart, last.commitLogOffset + last.sizeBytes) : this.logStart);
    }
    return start;
  }

  /**
   * Adds index entries for the records in [from, logEnd); `only` limits it to some queues (second pass). Bad bytes
   * with good records after them (in any segment) are quarantined and skipped; the good records are kept.
   */
  private indexLog(from: number, only: Set<string> | undefined): void {
    this.badBytesSeen = 0;
    this.lastTimestampMs = 0;
    for (const segment of this.log.segments) {
      if (segment.baseOffset + segment.sizeBytes <= from) continue;
      const fromPosition = Math.max(0, from - segment.baseOffset);
      const scan = scanSegmentResync(
        segment.fd,
        segment.sizeBytes,
        fromPosition,
        (header, position) => this.visit(header, segment.baseOffset + position, only),
        (header) => header.storeTimestampMs >= this.lastTimestampMs,
        (bad) => this.quarantineRange(segment.path, segment.baseOffset, bad),
      );
      this.bytesScanned += scan.bytesRead;
    }
  }

  private quarantineRange(path: string, segmentBase: number, bad: BadRange): void {
    this.badBytesSeen += bad.bytes;
    const commitLogOffset = segmentBase + bad.position;
    if (this.quarantined.has(commitLogOffset)) return;
    this.quarantined.set(commitLogOffset, {
      kind: 'log-range',
      commitLogOffset,
      bytes: bad.bytes,
      file: relative(this.dataDir, path),
      reason: bad.reason,
      foundWallMs: this.nowWallMs,
    });
    const after = bad.atEnd
      ? 'the segment is sealed, so they stay in place'
      : 'the records after them pass and are kept';
    const detail =
      `${bad.bytes} bytes at byte ${bad.position} (log offset ${commitLogOffset}) fail their checksum ` +
      `(${bad.reason}); ${after}; the records in them are skipped (see GET /quarantine)`;
    this.actions.push({ case: 'quarantined', file: path, detail });
  }

  private visit(header: RecordHeader, commitLogOffset: number, only: Set<string> | undefined): void {
    this.lastTimestampMs = header.storeTimestampMs;
    const key = queueKey(header.topic, header.queueId);
    if ((only && !only.has(key)) || this.failedDuringScan.has(key)) return;
    const queue = this.queues.get(key) ?? this.createQueue(header.topic, header.queueId, header.queueOffset);
    const entry: IndexEntry = {
      commitLogOffset,
      sizeBytes: header.sizeBytes,
      tagHash: header.tagHash,
      storeTimestampMs: header.storeTimestampMs,
    };
    const gap = header.queueOffset - queue.maxOffset;
    if (gap > 0 && gap * RECORD_BYTES_MIN <= this.badBytesSeen) {
      // The records of the missing offsets were in quarantined bytes: holes keep the offsets of the ones after.
      const hole: IndexEntry = { ...entry, sizeBytes: 0, tagHash: 0 };
      for (let offset = queue.maxOffset; offset < header.queueOffset; offset++) queue.append(hole, offset);
      this.holeCounts.set(key, (this.holeCounts.get(key) ?? 0) + gap);
    }
    if (header.queueOffset === queue.maxOffset) {
      queue.append(entry, header.queueOffset);
      this.addedCounts.set(key, (this.addedCounts.get(key) ?? 0) + 1);
      return;
    }
    const problem = this.compareEntry(queue, header, entry);
    if (problem === undefined) return;
    if (only) {
      // Rebuilding from the log itself and still out of order: keep the record aside rather than refuse to start.
      this.quarantined.set(commitLogOffset, {
        kind: 'record',
        commitLogOffset,
        bytes: header.sizeBytes,
        file: relative(this.dataDir, this.log.segmentAt(commitLogOffset).path),
        reason: problem,
        topic: header.topic,
        queueId: header.queueId,
        queueOffset: header.queueOffset,
        foundWallMs: this.nowWallMs,
      });
      return;
    }
    this.failedDuringScan.set(key, { topic: header.topic, queueId: header.queueId, reason: problem });
    void queue.close();
    this.queues.delete(key);
  }

  private compareEntry(queue: ConsumeQueue, header: RecordHeader, entry: IndexEntry): string | undefined {
    const where = `${header.topic}/${header.queueId}@${header.queueOffset} at log offset ${entry.commitLogOffset}`;
    if (header.queueOffset > queue.maxOffset) return `${where}: the index ends at ${queue.maxOffset}`;
    if (header.queueOffset < queue.baseOffset) return `${where}: the index starts at ${queue.baseOffset}`;
    let indexed: IndexEntry;
    try {
      indexed = queue.entryAt(header.queueOffset);
    } catch (error) {
      if (error instanceof StoreCorruptError) return `${where}: ${error.message}`;
      throw error;
    }
    if (indexed.commitLogOffset !== entry.commitLogOffset || indexed.sizeBytes !== entry.sizeBytes) {
      return `${where}: the index points at log offset ${indexed.commitLogOffset}`;
    }
    return undefined;
  }

  /** A fresh index file for a queue met in the log (rebuilt, or never indexed before the crash). */
  private createQueue(topic: string, queueId: number, baseOffset: number): ConsumeQueue {
    const path = ConsumeQueue.pathFor(this.indexDir, topic, queueId);
    writeFileSync(path, encodeIndexHeader(baseOffset, queueId));
    const queue = new ConsumeQueue(topic, queueId, path, baseOffset, 0, true);
    queue.attachReadFd(openSync(path, 'r'));
    this.queues.set(queueKey(topic, queueId), queue);
    this.addedCounts.set(queueKey(topic, queueId), 0);
    this.createdDuringScan.add(queueKey(topic, queueId));
    return queue;
  }

  /** Second pass for queues whose index disagreed with the log during the first: rebuild them from the start. */
  private rebuildFailedQueues(): void {
    if (this.failedDuringScan.size === 0) return;
    for (const [key, mark] of this.failedDuringScan) this.rebuild.set(key, mark);
    const only = new Set(this.failedDuringScan.keys());
    this.failedDuringScan.clear();
    this.indexLog(this.logStart, only);
  }

  /** Queues the checkpoint knows whose records retention has deleted entirely: keep their offsets. */
  private restoreEmptyQueues(checkpoint: IndexCheckpointDoc | undefined): void {
    for (const [topic, queueId, maxOffset] of checkpoint?.queues ?? []) {
      if (maxOffset > 0 && !this.queues.has(queueKey(topic, queueId))) this.createQueue(topic, queueId, maxOffset);
    }
    for (const [key, mark] of this.rebuild) {
      if (this.queues.has(key)) continue;
      const path = ConsumeQueue.pathFor(this.indexDir, mark.topic, mark.queueId);
      rmSync(path, { force: true });
      this.actions.push({ case: 'index-rebuilt', file: path, detail: `${mark.reason}; no records left: removed` });
    }
  }

  private reportCheckpointMissing(checkpoint: IndexCheckpointDoc | undefined, reason: string | undefined): void {
    if (checkpoint || this.log.segments.length === 0) return;
    const detail =
      `index checkpoint not usable (${reason ?? 'missing'}); read the whole log (${this.bytesScanned} bytes) ` +
      'to check every index file against it; a fresh checkpoint is saved now';
    this.actions.push({ case: 'checkpoint-missing', file: join(this.indexDir, INDEX_CHECKPOINT_FILE), detail });
  }

  private reportIndexChanges(): void {
    for (const [key, holes] of this.holeCounts) {
      const queue = this.queues.get(key);
      if (!queue) continue;
      const detail = `${holes} queue offsets whose records were in quarantined bytes are skipped (holes)`;
      this.actions.push({ case: 'quarantined', file: queue.path, detail });
    }
    for (const [key, count] of this.addedCounts) {
      const queue = this.queues.get(key);
      if (!queue) continue;
      const created = this.createdDuringScan.has(key);
      const reason = this.rebuild.get(key)?.reason ?? (created ? this.checkpointProblem : undefined);
      if (reason !== undefined) {
        const detail = `${reason}; rebuilt ${count} entries from the log`;
        this.actions.push({ case: 'index-rebuilt', file: queue.path, detail });
      } else {
        const what = created ? 'no index file yet; ' : '';
        const detail = `${what}added ${count} entries from the log, up to offset ${queue.maxOffset}`;
        this.actions.push({ case: 'index-behind', file: queue.path, detail });
      }
    }
  }
}

/** Validates the record starting at commitLogOffset (reading its size first, then the whole record). */
export function checkRecordAt(log: CommitLog, commitLogOffset: number): RecordCheck {
  const segment = log.segmentAt(commitLogOffset);
  return checkRecordInFile(segment.fd, segment.sizeBytes, commitLogOffset - segment.baseOffset);
}

/** Validates the record starting at `position` of a file of fileBytes bytes. */
export function checkRecordInFile(fd: number, fileBytes: number, position: number): RecordCheck {
  const remainingBytes = fileBytes - position;
  const sizeField = Buffer.alloc(4);
  if (readFullySync(fd, sizeField, 0, 4, position) < 4) return { ok: false, reason: 'past the segment end' };
  const sizeBytes = sizeField.readUInt32BE(0);
  if (sizeBytes > remainingBytes) return { ok: false, reason: `a ${sizeBytes}-byte record runs past the segment end` };
  const bytes = Buffer.allocUnsafe(Math.max(sizeBytes, RECORD_HEADER_BYTES));
  const bytesRead = readFullySync(fd, bytes, 0, Math.min(bytes.length, remainingBytes), position);
  return checkRecord(bytes, 0, bytesRead);
}

function isRecordBoundary(log: CommitLog, commitLogOffset: number): boolean {
  if (commitLogOffset === log.writtenEndOffset) return true;
  const segment = log.segmentAt(commitLogOffset);
  if (commitLogOffset === segment.baseOffset + segment.sizeBytes) return true;
  return checkRecordAt(log, commitLogOffset).ok;
}

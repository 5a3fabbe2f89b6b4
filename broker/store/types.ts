/**
 * The message store contract. Upper layers (protocol, consumer groups, FIFO, delay, transactions) import only these
 * types; `FileMessageStore` (durable, broker/store/file) and `MemoryMessageStore` (tests) implement them and share
 * one conformance suite (broker/store/conformance.test.ts).
 */

export type MessageType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION';

/** Everything about a message except its body, kept as one JSON document inside the record. */
export interface MessageProps {
  /** The producer's message id (RocketMQ UNIQ_KEY), echoed on delivery. */
  messageId: string;
  messageType: MessageType;
  tag?: string;
  keys?: string[];
  userProperties?: Record<string, string>;
  /** FIFO message group (RocketMQ __SHARDINGKEY). */
  messageGroup?: string;
  /** DELAY: not deliverable before this wall-clock time. */
  deliveryTimestampMs?: number;
  bornTimestampMs?: number;
  bornHost?: string;
  /** For copies (DLQ, committed transaction messages): the original message id and topic. */
  originMessageId?: string;
  originTopic?: string;
  /** Free-form system fields for later features (transaction state, trace context); JSON values only. */
  system?: Record<string, string | number | boolean>;
}

export interface MessageRecord {
  topic: string;
  queueId: number;
  body: Buffer;
  props: MessageProps;
}

export interface AppendResult {
  queueOffset: number;
  /** Byte position of the record in the commit log (global, across segments). */
  commitLogOffset: number;
  storeTimestampMs: number;
}

export interface StoredMessage extends MessageRecord, AppendResult {
  /** Size of the whole encoded record in the commit log. */
  sizeBytes: number;
}

export interface QueueRange {
  /** Oldest offset still retained (retention may have removed older ones). */
  minOffset: number;
  /** Next offset to be assigned: the queue holds [minOffset, maxOffset). */
  maxOffset: number;
}

export type FlushPolicy = 'sync' | 'async';

export interface StoreOptions {
  dataDir: string;
  flush: FlushPolicy;
  /** async: flush at least this often. sync: the longest a send waits for company before its fsync. */
  flushIntervalMs: number;
  segmentBytesMax: number;
  /** Retention: delete whole sealed segments older than this (by their newest record), or ... */
  retentionMs?: number;
  /** ... while the commit log is larger than this. */
  retentionBytesMax?: number;
  /** Records accepted but not yet durable (the 'store-pending-appends' queue); more are rejected. Default 65536. */
  pendingAppendsMax?: number;
  /** How often the file store fsyncs its per-queue index and saves the index checkpoint. Default 1000. */
  indexCheckpointIntervalMs?: number;
  /**
   * Appends are refused (StoreDiskFullError, retriable) while the data directory's file system is fuller than this
   * ratio, so the store never runs into ENOSPC in normal operation. Default 0.9 (as RocketMQ's
   * diskSpaceWarningLevelRatio). 1 turns the guard off (ENOSPC is still handled).
   */
  diskUsedRatioMax?: number;
  /** How often the disk guard checks the usage. Default 1000. */
  diskCheckIntervalMs?: number;
}

export interface RecoveryAction {
  /** Which row of the recovery decision table applied. */
  case: 'torn-tail' | 'quarantined' | 'index-ahead' | 'index-behind' | 'index-rebuilt' | 'checkpoint-missing' | 'clean';
  file: string;
  detail: string;
}

/**
 * Stored bytes the store could not use and kept aside instead of deleting or delivering them. `file` is relative to
 * the data directory (an entry is shown to operators through the admin API, never to clients).
 */
export interface QuarantineEntry {
  /**
   * 'log-range': commit log bytes that fail their checksum with good records after them (left in place, skipped);
   * 'tail-cut': bytes cut from the end of the log with no good record after them (a copy is kept in `copy`);
   * 'record': a record that failed its checks when read for delivery (skipped; its queue goes on).
   */
  kind: 'log-range' | 'tail-cut' | 'record';
  commitLogOffset: number;
  bytes: number;
  file: string;
  reason: string;
  topic?: string;
  queueId?: number;
  queueOffset?: number;
  /** 'tail-cut': where the cut bytes were copied, relative to the data directory. */
  copy?: string;
  foundWallMs: number;
}

/** Whether the store accepts appends now; refused while the disk is (nearly) full, resumed when space is back. */
export interface WriteState {
  writable: boolean;
  /** Why appends are refused (disk usage over the limit, or the last write failed with ENOSPC). */
  reason?: string;
  /** Disk usage of the data directory's file system (0..1) at the last check, when known. */
  diskUsedRatio?: number;
  /** Appends refuse above this disk usage. */
  diskUsedRatioMax?: number;
}

export interface RecoveryReport {
  actions: RecoveryAction[];
  /** What recovery kept aside in this open (cut tails, bad log ranges). */
  quarantined?: QuarantineEntry[];
  segmentCount: number;
  messageCount: number;
  durationMs: number;
  /** Commit log bytes read to recover: only the tail after the index checkpoint when the index is consistent. */
  logBytesScanned?: number;
}

export interface StoreStats {
  commitLogBytes: number;
  segmentCount: number;
  /** Appends waiting for their flush: a bounded queue, exported as a metric. */
  pendingAppends: number;
  /** Commit log fsyncs (fdatasync) since open. */
  flushCount: number;
  /** Group-commit batches written since open (each one write per segment touched). */
  writeBatchCount?: number;
  /** Appends rejected because 'store-pending-appends' was full. */
  rejectedAppendCount?: number;
  /** Records skipped for delivery because they could not be read (see quarantined()). */
  quarantinedRecordCount?: number;
  /** Appends refused because the disk was full or over its usage limit. */
  diskFullRejectedCount?: number;
}

export interface MessageStore {
  /** Opens (creating if missing) and recovers; throws StoreCorruptError on a bad checksum in a sealed segment. */
  open(): Promise<RecoveryReport>;
  /**
   * Appends records in order. Resolves when they are durable under the flush policy (sync: after an fsync that
   * covers them; async: once written to the OS). Rejects with StoreFullError when the pending-append queue is full,
   * and with the sticky write error after a failed write or fsync.
   */
  append(records: MessageRecord[]): Promise<AppendResult[]>;
  /** Up to countMax messages of one queue starting at fromOffset (clamped to minOffset), in offset order. */
  read(topic: string, queueId: number, fromOffset: number, countMax: number): StoredMessage[];
  /** The range of offsets a queue holds; {0,0} for a queue never written. */
  queueRange(topic: string, queueId: number): QueueRange;
  /** Every (topic, queueId) that has ever been written. */
  queues(): Array<{ topic: string; queueId: number }>;
  /** The first offset whose store timestamp is >= wallMs (maxOffset when none). */
  offsetForTimestamp(topic: string, queueId: number, wallMs: number): number;
  /** Deletes whole sealed segments past the retention limits; returns how many were deleted. */
  applyRetention(nowWallMs: number): number;
  stats(): StoreStats;
  /** What the store kept aside (oldest first, bounded): bad log ranges, cut tails, unreadable records. */
  quarantined(): QuarantineEntry[];
  /** Whether appends are accepted now (the disk guard). */
  writeState(): WriteState;
  /** Flushes everything and closes files; appends after close reject. */
  close(): Promise<void>;
}

export class StoreCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly position: number,
    readonly detail: string,
  ) {
    super(`store corrupt: ${file} at byte ${position}: ${detail}`);
    this.name = 'StoreCorruptError';
  }
}

/** An append after close(): the caller shut the store down, so this is a programming error upstream. */
export class StoreClosedError extends Error {
  constructor() {
    super('store is closed');
    this.name = 'StoreClosedError';
  }
}

/**
 * An append refused because the disk is full or over `diskUsedRatioMax`. Retriable: the store resumes appends by
 * itself once the usage falls below the limit (checked every `diskCheckIntervalMs`).
 */
export class StoreDiskFullError extends Error {
  constructor(readonly detail: string) {
    super(
      `disk full: ${detail}; the broker refuses sends until space is freed (reads and acks still work), retry later`,
    );
    this.name = 'StoreDiskFullError';
  }
}

export class StoreFullError extends Error {
  constructor(queueName: string, countMax: number) {
    super(`${queueName} is full (${countMax} pending appends): the broker is overloaded, retry later`);
    this.name = 'StoreFullError';
  }
}

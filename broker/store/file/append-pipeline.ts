import assert from 'node:assert/strict';
import { BoundedQueue } from '../../../lib/bounded-queue.ts';
import type { FlushPolicy } from '../types.ts';
import type { CommitLog, LogWrite } from './commit-log.ts';
import type { ConsumeQueue } from './consume-queue.ts';

export const PENDING_APPENDS_QUEUE_NAME = 'store-pending-appends';
export const PENDING_APPENDS_MAX_DEFAULT = 65_536;
/** One group-commit batch writes at most this much (at least one record). */
const BATCH_BYTES_MAX = 8 * 1024 * 1024;

export interface AppendWaiter {
  resolve(): void;
  reject(error: Error): void;
}

/** A record accepted by append(): its queue offset and log place are fixed; it waits for its flush. */
export interface PendingAppend extends LogWrite {
  queue: ConsumeQueue;
  queueOffset: number;
  tagHash: number;
  /** Set on the last record of one append() call: it settles the call. */
  waiter: AppendWaiter | undefined;
}

/** Decides what a failed log write means (the store: ENOSPC is not sticky). */
export interface WriteFailureHandler {
  /**
   * A write (not an fsync) failed before any segment group of its batch reached the file. Returns the error to reject
   * the pending appends with, after which the pipeline goes on; undefined keeps the failure sticky.
   */
  recoverable(error: Error): Error | undefined;
  /** Called after every pending append was rejected: undo their offset and log place assignments. */
  rolledBack(): void;
}

/**
 * Group commit. append() puts records in the bounded 'store-pending-appends' queue; one writer loop takes
 * everything waiting (up to 8 MiB), writes it with one write per segment, and then:
 *   sync:  fdatasyncs, and only then makes the records visible and settles their appends. Appends that arrive while
 *          a write or fsync runs wait in the queue and form the next batch, so one fsync covers many sends.
 *   async: makes them visible and settles the appends once the write reached the OS; an fsync runs when the store's
 *          flushIntervalMs timer calls requestFsync().
 * The loop starts one event-loop turn after the first append, so appends made in the same turn share a batch.
 * A failed write or fsync is sticky (a retried fsync can report success for pages already lost): every waiting and
 * every later append rejects with that error.
 */
export class AppendPipeline {
  readonly queue: BoundedQueue<PendingAppend>;
  writeBatchCount = 0;
  private inFlight: PendingAppend[] = [];
  private writeError: Error | undefined;
  private running = false;
  private fsyncDue = false;
  private idleWaiters: Array<() => void> = [];
  private writing = false;

  constructor(
    private readonly log: CommitLog,
    private readonly policy: FlushPolicy,
    private readonly commit: (batch: PendingAppend[]) => void,
    pendingAppendsMax: number,
    private readonly onWriteFailure?: WriteFailureHandler,
  ) {
    this.queue = new BoundedQueue<PendingAppend>(PENDING_APPENDS_QUEUE_NAME, pendingAppendsMax);
  }

  /** The sticky write error, once a write or fsync failed. */
  get error(): Error | undefined {
    return this.writeError;
  }

  /** Accepted records not yet durable: waiting in the queue plus the batch being written. */
  get pendingCount(): number {
    return this.queue.length + this.inFlight.length;
  }

  /** Whether count more records fit; all of an append or none of it is accepted. */
  tryReserve(count: number): boolean {
    if (this.pendingCount + count <= this.queue.countMax) return true;
    this.queue.rejectedTotal++;
    return false;
  }

  enqueue(records: PendingAppend[]): void {
    assert.equal(this.writeError, undefined, 'no appends after a write error');
    for (const record of records) assert.ok(this.queue.push(record), 'tryReserve() made room');
    this.kick();
  }

  requestFsync(): void {
    this.fsyncDue = true;
    this.kick();
  }

  /** Makes the pipeline fail as if a write had failed (the index writer reports its own write errors here). */
  poison(error: Error): void {
    if (!this.writeError) this.failAll(error);
  }

  /** Resolves when nothing is waiting and no write or fsync runs. */
  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  dispose(): void {
    this.queue.dispose();
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (!this.writeError) {
        // A due fsync goes first, so a steady stream of batches cannot starve the async policy's fsync.
        if (this.fsyncDue) {
          this.fsyncDue = false;
          await this.log.sync();
          continue;
        }
        const batch = this.takeBatch();
        if (batch.length === 0) break;
        await this.writeAndCommit(batch);
      }
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const nothingKept = this.writing && this.log.batchGroupsWritten === 0;
      const replacement = nothingKept ? this.onWriteFailure?.recoverable(failure) : undefined;
      if (replacement) {
        this.rejectPending(replacement);
        this.onWriteFailure?.rolledBack();
      } else {
        this.failAll(failure);
      }
    } finally {
      this.writing = false;
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private takeBatch(): PendingAppend[] {
    const batch: PendingAppend[] = [];
    let batchBytes = 0;
    for (let next = this.queue.peek(); next; next = this.queue.peek()) {
      if (batch.length > 0 && batchBytes + next.bytes.length > BATCH_BYTES_MAX) break;
      batch.push(this.queue.shift()!);
      batchBytes += next.bytes.length;
    }
    return batch;
  }

  private async writeAndCommit(batch: PendingAppend[]): Promise<void> {
    this.inFlight = batch;
    this.writing = true;
    await this.log.writeBatch(batch);
    this.writing = false;
    this.writeBatchCount++;
    if (this.policy === 'sync') await this.log.sync();
    this.inFlight = [];
    this.commit(batch);
    for (const record of batch) record.waiter?.resolve();
  }

  private failAll(error: Error): void {
    this.writeError = error;
    this.rejectPending(error);
  }

  private rejectPending(error: Error): void {
    const failed = this.inFlight.splice(0);
    for (let next = this.queue.shift(); next; next = this.queue.shift()) failed.push(next);
    for (const record of failed) record.waiter?.reject(error);
  }
}

import type { CheckpointFile } from '../checkpoint.ts';
import type { ConsumeQueue } from './consume-queue.ts';
import type { IndexCheckpointDoc } from './recovery.ts';
import type { StoreFs } from './store-fs.ts';

/**
 * Moves committed index entries from memory to the index files, one round at a time (one write per queue that got
 * entries), and on request fsyncs the files written since the last checkpoint and saves the index checkpoint:
 * "every record before indexedLogOffset has a durable index entry". Recovery scans the log only after that offset.
 * The index is never fsynced before the log it describes: entries are added only for committed records.
 */
export class IndexWriter {
  /** End of the committed log; set by the store as batches commit. */
  committedLogEnd: number;
  private indexedLogOffset: number;
  private readonly dirty = new Set<ConsumeQueue>();
  private readonly writtenSinceCheckpoint = new Set<ConsumeQueue>();
  private running = false;
  private checkpointDue = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly storeFs: StoreFs,
    private readonly indexDir: string,
    private readonly checkpointFile: CheckpointFile<IndexCheckpointDoc>,
    private readonly allQueues: () => Iterable<ConsumeQueue>,
    private readonly onError: (error: Error) => void,
    logEndOffset: number,
    /** A write failed with ENOSPC: the entries stay in memory (reads see them) and are written on a later round. */
    private readonly onDiskFull: (error: Error) => void = onError,
  ) {
    this.committedLogEnd = logEndOffset;
    this.indexedLogOffset = logEndOffset;
  }

  /** Whether index entries wait for a write (a disk-full round left them in memory). */
  get hasUnwritten(): boolean {
    return this.dirty.size > 0;
  }

  markDirty(queue: ConsumeQueue): void {
    this.dirty.add(queue);
    this.kick();
  }

  requestCheckpoint(): void {
    this.checkpointDue = true;
    this.kick();
  }

  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        if (this.dirty.size > 0) {
          await this.writeRound();
        } else if (this.checkpointDue) {
          this.checkpointDue = false;
          await this.saveCheckpoint();
        } else {
          break;
        }
      }
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.dirty.clear();
      this.checkpointDue = false;
      if (isDiskFullError(failure)) {
        // Retried by the next checkpoint request (a timer); not kicked now, which would spin on a full disk.
        for (const queue of this.allQueues()) if (queue.unwrittenCount > 0) this.dirty.add(queue);
        this.onDiskFull(failure);
      } else {
        this.onError(failure);
      }
    } finally {
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async writeRound(): Promise<void> {
    const logEnd = this.committedLogEnd;
    const queues = [...this.dirty];
    this.dirty.clear();
    await Promise.all(queues.map((queue) => queue.writeTail(this.storeFs)));
    for (const queue of queues) this.writtenSinceCheckpoint.add(queue);
    this.indexedLogOffset = logEnd;
  }

  private async saveCheckpoint(): Promise<void> {
    const written = [...this.writtenSinceCheckpoint];
    const doc: IndexCheckpointDoc = {
      version: 1,
      indexedLogOffset: this.indexedLogOffset,
      queues: [...this.allQueues()].map((q) => [q.topic, q.queueId, q.baseOffset + q.fileEntryCount]),
    };
    await Promise.all(written.map((queue) => queue.datasync()));
    await this.storeFs.syncDir(this.indexDir);
    await this.checkpointFile.save(doc);
    for (const queue of written) this.writtenSinceCheckpoint.delete(queue);
  }
}

/** ENOSPC or EDQUOT: the disk (or the quota) is full; retriable once space is freed. */
export function isDiskFullError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

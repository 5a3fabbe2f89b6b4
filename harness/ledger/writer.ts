import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { LEDGER_VERSION, type LedgerEvent, type LedgerHeader } from './types.ts';

export interface LedgerWriterOptions {
  /** Lines are gathered in memory and handed to the file in chunks of this size (default 64 KiB). */
  chunkBytes?: number;
  /** write() returns false once this many bytes wait for the disk (default 8 MiB): the caller awaits drained(). */
  pendingBytesHigh?: number;
  /** write() throws once this many bytes wait for the disk (default 256 MiB): the caller ignored backpressure. */
  pendingBytesMax?: number;
  /** A partly filled chunk is written after this long at the latest (default 1000 ms; 0 disables the timer). */
  flushIntervalMs?: number;
  clock?: Clock;
}

export class LedgerOverflowError extends Error {
  constructor(path: string, pendingBytes: number) {
    super(`ledger ${path}: ${pendingBytes} bytes wait for the disk, over the maximum; await drained() when write()`);
    this.name = 'LedgerOverflowError';
  }
}

/**
 * Appends ledger records to one NDJSON file. The header is written first; records are buffered into chunks and
 * written in order. Memory is bounded: write() answers false above `pendingBytesHigh` (await drained()) and throws
 * LedgerOverflowError above `pendingBytesMax`. Records are never dropped.
 */
export class LedgerWriter {
  readonly path: string;
  private readonly stream: WriteStream;
  private readonly chunkBytes: number;
  private readonly pendingBytesHigh: number;
  private readonly pendingBytesMax: number;
  private chunk: string[] = [];
  private chunkLength = 0;
  private opId = 0;
  private closed = false;

  /** True once close() has begun: later records (e.g. a late transaction check-back) have nowhere to go. */
  get isClosed(): boolean {
    return this.closed;
  }
  private streamError: Error | undefined;
  private cancelTimer: (() => void) | undefined;
  private readonly flushIntervalMs: number;
  private readonly clock: Clock;
  private lastWrite: Promise<void> = Promise.resolve();
  recordsWritten = 0;

  constructor(path: string, header: Omit<LedgerHeader, 'type' | 'version'>, options: LedgerWriterOptions = {}) {
    this.path = path;
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
    this.pendingBytesHigh = options.pendingBytesHigh ?? 8 * 1024 * 1024;
    this.pendingBytesMax = options.pendingBytesMax ?? 256 * 1024 * 1024;
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.clock = options.clock ?? systemClock;
    if (!(this.pendingBytesHigh <= this.pendingBytesMax))
      throw new Error('pendingBytesHigh must be <= pendingBytesMax');
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: 'w', highWaterMark: this.chunkBytes });
    this.stream.on('error', (err) => {
      this.streamError ??= err;
    });
    const full: LedgerHeader = { type: 'header', version: LEDGER_VERSION, ...header };
    this.stream.write(`${JSON.stringify(full)}\n`);
  }

  /** A fresh operation id for an invocation; its completion repeats it. */
  nextOpId(): number {
    return ++this.opId;
  }

  /** Bytes handed to the file but not yet written, plus the chunk being gathered. */
  get pendingBytes(): number {
    return this.stream.writableLength + this.chunkLength;
  }

  /**
   * Appends one record. Returns false when the caller should slow down (await drained()); throws after close, on a
   * write error (sticky), or when the pending bytes pass the maximum.
   */
  write(record: LedgerEvent): boolean {
    if (this.closed) throw new Error(`ledger ${this.path}: write after close`);
    if (this.streamError) throw this.streamError;
    const line = `${JSON.stringify(record)}\n`;
    this.chunk.push(line);
    this.chunkLength += line.length;
    this.recordsWritten++;
    if (this.chunkLength >= this.chunkBytes) this.writeChunk();
    else if (this.cancelTimer === undefined && this.flushIntervalMs > 0) {
      this.cancelTimer = this.clock.setTimer(this.flushIntervalMs, () => {
        this.cancelTimer = undefined;
        if (!this.closed) this.writeChunk();
      });
    }
    const pending = this.pendingBytes;
    if (pending > this.pendingBytesMax) throw new LedgerOverflowError(this.path, pending);
    return pending <= this.pendingBytesHigh;
  }

  /** Resolves once the pending bytes are back under the high mark. */
  async drained(): Promise<void> {
    this.writeChunk();
    while (this.stream.writableLength > this.pendingBytesHigh && !this.streamError) {
      await new Promise<void>((resolve) => this.stream.once('drain', resolve));
    }
    if (this.streamError) throw this.streamError;
  }

  /** Writes everything gathered so far to the file (not fsync). */
  async flush(): Promise<void> {
    this.writeChunk();
    await this.lastWrite;
    if (this.streamError) throw this.streamError;
  }

  /** Flushes and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.writeChunk();
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await new Promise<void>((resolve, reject) => {
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    if (this.streamError) throw this.streamError;
  }

  private writeChunk(): void {
    if (this.chunkLength === 0) return;
    const data = this.chunk.join('');
    this.lastWrite = new Promise<void>((resolve) => this.stream.write(data, () => resolve()));
    this.chunk = [];
    this.chunkLength = 0;
  }
}

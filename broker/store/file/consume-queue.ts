import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StoreCorruptError } from '../types.ts';
import { readU64, writeU64 } from './record.ts';
import { readFullySync } from './segment-scan.ts';
import { type StoreFileHandle, type StoreFs, writeFully } from './store-fs.ts';

/*
 * Per-queue index ("consume queue"), one file per (topic, queueId):
 * `<dataDir>/index/<topic, URI-encoded>@<queueId>.cq`.
 * Derived from the commit log and always rebuildable from it. Layout (big-endian):
 *
 *   header, 32 bytes:   0 u32 magic 0x4D514351 ("MQCQ")   4 u8 version 1   5..7 reserved
 *                       8 u64 baseOffset (queue offset of entry 0)   16 u32 queueId   20..27 reserved
 *                      28 u32 crc32 over [0, 28)
 *   entry i, 32 bytes:  0 u64 commitLogOffset   8 u32 sizeBytes   12 u32 tagHash   16 u64 storeTimestampMs
 *   (queue offset       24 u32 queueOffset mod 2^32 (catches a misplaced entry)   28 u32 crc32 over [0, 28)
 *    baseOffset + i)
 */
export const INDEX_HEADER_BYTES = 32;
export const INDEX_ENTRY_BYTES = 32;
const INDEX_MAGIC = 0x4d514351;
const INDEX_VERSION = 1;
const FILE_SUFFIX = '.cq';
const TAIL_BYTES_INITIAL = 64 * INDEX_ENTRY_BYTES;

export interface IndexEntry {
  commitLogOffset: number;
  sizeBytes: number;
  tagHash: number;
  storeTimestampMs: number;
}

export function indexFileName(topic: string, queueId: number): string {
  return `${encodeURIComponent(topic)}@${queueId}${FILE_SUFFIX}`;
}

export function parseIndexFileName(name: string): { topic: string; queueId: number } | undefined {
  const match = /^([^@]+)@(\d+)\.cq$/.exec(name);
  if (!match) return undefined;
  try {
    return { topic: decodeURIComponent(match[1]!), queueId: Number(match[2]) };
  } catch {
    return undefined;
  }
}

export function encodeIndexHeader(baseOffset: number, queueId: number): Buffer {
  const buf = Buffer.alloc(INDEX_HEADER_BYTES);
  buf.writeUInt32BE(INDEX_MAGIC, 0);
  buf.writeUInt8(INDEX_VERSION, 4);
  writeU64(buf, 8, baseOffset);
  buf.writeUInt32BE(queueId, 16);
  buf.writeUInt32BE(crc32(buf.subarray(0, 28)) >>> 0, 28);
  return buf;
}

/** The header's baseOffset, or why the header is unusable. */
export function decodeIndexHeader(buf: Buffer, queueId: number): number | string {
  if (buf.length < INDEX_HEADER_BYTES) return `header is ${buf.length} bytes`;
  if (buf.readUInt32BE(0) !== INDEX_MAGIC) return 'bad header magic';
  if (buf.readUInt8(4) !== INDEX_VERSION) return `unknown index version ${buf.readUInt8(4)}`;
  if (crc32(buf.subarray(0, 28)) >>> 0 !== buf.readUInt32BE(28)) return 'header checksum mismatch';
  if (buf.readUInt32BE(16) !== queueId) return `header names queue ${buf.readUInt32BE(16)}`;
  return readU64(buf, 8);
}

export function encodeIndexEntry(buf: Buffer, at: number, entry: IndexEntry, queueOffset: number): void {
  writeU64(buf, at, entry.commitLogOffset);
  buf.writeUInt32BE(entry.sizeBytes, at + 8);
  buf.writeUInt32BE(entry.tagHash, at + 12);
  writeU64(buf, at + 16, entry.storeTimestampMs);
  buf.writeUInt32BE(queueOffset % 2 ** 32, at + 24);
  buf.writeUInt32BE(crc32(buf.subarray(at, at + 28)) >>> 0, at + 28);
}

/** The entry, or why it is unusable (torn, zeroed, misplaced). */
export function decodeIndexEntry(buf: Buffer, at: number, queueOffset: number): IndexEntry | string {
  if (crc32(buf.subarray(at, at + 28)) >>> 0 !== buf.readUInt32BE(at + 28)) return 'entry checksum mismatch';
  if (buf.readUInt32BE(at + 24) !== queueOffset % 2 ** 32) return `entry belongs to another queue offset`;
  return {
    commitLogOffset: readU64(buf, at),
    sizeBytes: buf.readUInt32BE(at + 8),
    tagHash: buf.readUInt32BE(at + 12),
    storeTimestampMs: readU64(buf, at + 16),
  };
}

/**
 * One queue's index: entries [baseOffset, baseOffset + fileEntryCount) are in the file, the rest in `tail` (visible,
 * not yet written). One writer (the store's index writer) moves the tail to the file; reads are synchronous.
 */
export class ConsumeQueue {
  /** Oldest offset still in the commit log (retention moves it). */
  minOffset: number;
  private tail = Buffer.allocUnsafe(TAIL_BYTES_INITIAL);
  private tailCount = 0;
  private handle: StoreFileHandle | undefined;
  /** A read-only descriptor used before the write handle is open (during recovery). */
  private readFd: number | undefined;

  constructor(
    readonly topic: string,
    readonly queueId: number,
    readonly path: string,
    public baseOffset: number,
    public fileEntryCount: number,
    /** True when the file exists with a valid header (recovered); false for a queue first written now. */
    private fileExists: boolean,
  ) {
    this.minOffset = baseOffset;
  }

  static pathFor(indexDir: string, topic: string, queueId: number): string {
    return join(indexDir, indexFileName(topic, queueId));
  }

  get maxOffset(): number {
    return this.baseOffset + this.fileEntryCount + this.tailCount;
  }

  get unwrittenCount(): number {
    return this.tailCount;
  }

  /** Adds the entry of the record just committed at queueOffset (always the next one). */
  append(entry: IndexEntry, queueOffset: number): void {
    assert.equal(queueOffset, this.maxOffset, `${this.topic}/${this.queueId}: index entries arrive in offset order`);
    const at = this.tailCount * INDEX_ENTRY_BYTES;
    if (at + INDEX_ENTRY_BYTES > this.tail.length) {
      const bigger = Buffer.allocUnsafe(this.tail.length * 2);
      this.tail.copy(bigger, 0, 0, at);
      this.tail = bigger;
    }
    encodeIndexEntry(this.tail, at, entry, queueOffset);
    this.tailCount++;
  }

  /** The entries for offsets [from, to), which must lie in [baseOffset, maxOffset). */
  entries(from: number, to: number): IndexEntry[] {
    assert.ok(from >= this.baseOffset && to <= this.maxOffset && from <= to, `entries [${from}, ${to}) out of range`);
    const fileEnd = this.baseOffset + this.fileEntryCount;
    const result: IndexEntry[] = [];
    if (from < fileEnd) {
      const count = Math.min(to, fileEnd) - from;
      const buf = Buffer.allocUnsafe(count * INDEX_ENTRY_BYTES);
      const position = INDEX_HEADER_BYTES + (from - this.baseOffset) * INDEX_ENTRY_BYTES;
      const fd = this.handle?.fd ?? this.readFd;
      assert.ok(fd !== undefined, `${this.path}: entries in a file that is not open`);
      const bytesRead = readFullySync(fd, buf, 0, buf.length, position);
      assert.equal(bytesRead, buf.length, `${this.path}: short index read`);
      for (let i = 0; i < count; i++) result.push(this.decodeOrThrow(buf, i * INDEX_ENTRY_BYTES, from + i, position));
    }
    for (let offset = Math.max(from, fileEnd); offset < to; offset++) {
      const at = (offset - fileEnd) * INDEX_ENTRY_BYTES;
      result.push(this.decodeOrThrow(this.tail, at, offset, -1));
    }
    return result;
  }

  entryAt(offset: number): IndexEntry {
    return this.entries(offset, offset + 1)[0]!;
  }

  private decodeOrThrow(buf: Buffer, at: number, queueOffset: number, filePosition: number): IndexEntry {
    const entry = decodeIndexEntry(buf, at, queueOffset);
    if (typeof entry === 'string') {
      const where = filePosition < 0 ? 'the in-memory tail' : 'the file';
      throw new StoreCorruptError(this.path, filePosition + at, `offset ${queueOffset} in ${where}: ${entry}`);
    }
    return entry;
  }

  /**
   * The first offset in [from, maxOffset) whose key is >= target (keys must not decrease), or maxOffset. An entry
   * that fails its checksum is stepped over (the next readable one stands in for it); a run of unreadable entries up
   * to the end counts as >= target. Never throws for a bad entry: recovery and retention call this.
   */
  lowerBound(from: number, target: number, key: (entry: IndexEntry) => number): number {
    let low = Math.max(from, this.baseOffset);
    let high = this.maxOffset;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const probe = this.firstReadable(mid, high);
      if (probe === undefined) high = mid;
      else if (key(probe.entry) < target) low = probe.offset + 1;
      else high = mid;
    }
    return low;
  }

  private firstReadable(from: number, to: number): { offset: number; entry: IndexEntry } | undefined {
    for (let offset = from; offset < to; offset++) {
      try {
        return { offset, entry: this.entryAt(offset) };
      } catch (error) {
        if (!(error instanceof StoreCorruptError)) throw error;
      }
    }
    return undefined;
  }

  /** Recovery reads through a plain descriptor until openFile() replaces it. */
  attachReadFd(fd: number): void {
    assert.equal(this.readFd, undefined);
    this.readFd = fd;
  }

  /** Opens the file for writing (the recovered file, or a new one with its header). */
  async openFile(storeFs: StoreFs): Promise<void> {
    if (this.handle) return;
    let handle: StoreFileHandle;
    try {
      handle = await storeFs.open(this.path, this.fileExists ? 'r+' : 'wx+');
    } catch (error) {
      // An earlier attempt created the file and then failed (ENOSPC) before its header was written.
      if ((error as { code?: string }).code !== 'EEXIST' || this.fileExists) throw error;
      handle = await storeFs.open(this.path, 'r+');
    }
    try {
      if (!this.fileExists) await writeFully(handle, encodeIndexHeader(this.baseOffset, this.queueId), 0);
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.handle = handle;
    this.fileExists = true;
    if (this.readFd !== undefined) closeSync(this.readFd);
    this.readFd = undefined;
  }

  /** Writes the tail to the file; returns how many entries were written. */
  async writeTail(storeFs: StoreFs): Promise<number> {
    await this.openFile(storeFs);
    const count = this.tailCount;
    if (count === 0) return 0;
    const bytes = Buffer.from(this.tail.subarray(0, count * INDEX_ENTRY_BYTES));
    await writeFully(this.handle!, bytes, INDEX_HEADER_BYTES + this.fileEntryCount * INDEX_ENTRY_BYTES);
    this.tail.copy(this.tail, 0, count * INDEX_ENTRY_BYTES, this.tailCount * INDEX_ENTRY_BYTES);
    this.tailCount -= count;
    this.fileEntryCount += count;
    return count;
  }

  async datasync(): Promise<void> {
    await this.handle?.datasync();
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
    if (this.readFd !== undefined) closeSync(this.readFd);
    this.readFd = undefined;
  }
}

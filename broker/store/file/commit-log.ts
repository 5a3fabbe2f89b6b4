import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StoreCorruptError } from '../types.ts';
import { readFullySync, scanSegmentResync } from './segment-scan.ts';
import { type StoreFileHandle, type StoreFs, writeFully } from './store-fs.ts';

const SEGMENT_NAME = /^\d{20}$/;

/** One commit log file: `<dataDir>/commitlog/<20-digit base offset>`. Only the last segment is written. */
export interface Segment {
  readonly baseOffset: number;
  readonly path: string;
  /** Bytes written to the OS (the file length). */
  sizeBytes: number;
  /** For synchronous positional reads. */
  fd: number;
  /** The write handle: set on the active (last) segment only; its fd is `fd`. */
  handle: StoreFileHandle | undefined;
  /** Written since the last fdatasync. */
  dirty: boolean;
  /** storeTimestampMs of the newest record; undefined until written or scanned (retention scans lazily). */
  newestTimestampMs: number | undefined;
}

/** A record on its way into the log: its place was assigned by CommitLog.assign() when it was accepted. */
export interface LogWrite {
  segmentBase: number;
  commitLogOffset: number;
  bytes: Buffer;
  storeTimestampMs: number;
}

export function segmentFileName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

/** The segment files of dir, oldest first; throws StoreCorruptError when they do not join up end to end. */
export function listSegmentFiles(dir: string): Array<{ baseOffset: number; path: string; sizeBytes: number }> {
  const files = readdirSync(dir)
    .filter((name) => SEGMENT_NAME.test(name))
    .map((name) => ({ baseOffset: Number(name), path: join(dir, name), sizeBytes: statSync(join(dir, name)).size }))
    .sort((a, b) => a.baseOffset - b.baseOffset);
  for (let i = 1; i < files.length; i++) {
    const previous = files[i - 1]!;
    const current = files[i]!;
    const previousEnd = previous.baseOffset + previous.sizeBytes;
    if (previousEnd !== current.baseOffset) {
      const detail = `segment ends at log offset ${previousEnd} but the next one starts at ${current.baseOffset}`;
      throw new StoreCorruptError(previous.path, previous.sizeBytes, detail);
    }
  }
  return files;
}

/**
 * The commit log: append-only segments. Places are assigned in acceptance order (assign), written in that order by
 * one writer (writeBatch, then sync), and read synchronously (readBytes). A segment is fdatasynced before the next one
 * receives its first byte, so a sealed segment is always complete on disk.
 */
export class CommitLog {
  flushCount = 0;
  /** Segment groups of the current (or last) writeBatch that reached the file completely. */
  batchGroupsWritten = 0;
  private assignedEndOffset: number;
  private assignedSegmentBase: number;

  constructor(
    readonly dir: string,
    readonly segmentBytesMax: number,
    private readonly storeFs: StoreFs,
    readonly segments: Segment[],
  ) {
    this.assignedEndOffset = 0;
    this.assignedSegmentBase = 0;
    this.resetAssignment();
  }

  /** After recovery cut the tail: the next record goes where the log now ends. */
  resetAssignment(): void {
    const last = this.segments.at(-1);
    this.assignedEndOffset = last ? last.baseOffset + last.sizeBytes : 0;
    this.assignedSegmentBase = last ? last.baseOffset : 0;
  }

  get startOffset(): number {
    return this.segments[0]?.baseOffset ?? this.assignedSegmentBase;
  }

  /** End of the bytes written to the OS. */
  get writtenEndOffset(): number {
    const last = this.segments.at(-1);
    return last ? last.baseOffset + last.sizeBytes : this.assignedSegmentBase;
  }

  get sizeBytes(): number {
    return this.writtenEndOffset - this.startOffset;
  }

  /** Reserves the next place in the log; rolls to a new segment when this record would overflow the current one. */
  assign(sizeBytes: number): { commitLogOffset: number; segmentBase: number } {
    const usedBytes = this.assignedEndOffset - this.assignedSegmentBase;
    if (usedBytes > 0 && usedBytes + sizeBytes > this.segmentBytesMax)
      this.assignedSegmentBase = this.assignedEndOffset;
    const commitLogOffset = this.assignedEndOffset;
    this.assignedEndOffset += sizeBytes;
    return { commitLogOffset, segmentBase: this.assignedSegmentBase };
  }

  /** Writes records (in assignment order) to the OS, one write per segment touched. */
  async writeBatch(writes: LogWrite[]): Promise<void> {
    this.batchGroupsWritten = 0;
    let start = 0;
    while (start < writes.length) {
      const segmentBase = writes[start]!.segmentBase;
      let end = start + 1;
      while (end < writes.length && writes[end]!.segmentBase === segmentBase) end++;
      const group = writes.slice(start, end);
      const segment = await this.activeSegment(segmentBase);
      const position = group[0]!.commitLogOffset - segment.baseOffset;
      assert.equal(position, segment.sizeBytes, 'writes arrive in assignment order');
      const bytes = group.length === 1 ? group[0]!.bytes : Buffer.concat(group.map((w) => w.bytes));
      segment.dirty = true;
      await writeFully(segment.handle!, bytes, position);
      segment.sizeBytes += bytes.length;
      segment.newestTimestampMs = group.at(-1)!.storeTimestampMs;
      this.batchGroupsWritten++;
      start = end;
    }
  }

  /** fdatasync of the active segment, if it has unsynced writes. */
  async sync(): Promise<void> {
    const segment = this.segments.at(-1);
    if (!segment?.dirty) return;
    segment.dirty = false;
    await segment.handle!.datasync();
    this.flushCount++;
  }

  /**
   * The segment to write baseOffset into: the active one, or a new one after sealing the active one. The new file is
   * created (and its directory entry fsynced) before the active one is sealed, so a failure (ENOSPC) leaves the log
   * as it was.
   */
  private async activeSegment(baseOffset: number): Promise<Segment> {
    const active = this.segments.at(-1);
    if (active?.baseOffset === baseOffset) return active;
    if (active) {
      assert.equal(baseOffset, active.baseOffset + active.sizeBytes, 'a new segment starts where the last one ends');
      await this.sync();
    }
    const path = join(this.dir, segmentFileName(baseOffset));
    const handle = await this.storeFs.open(path, 'wx+');
    try {
      await this.storeFs.syncDir(this.dir);
    } catch (error) {
      await handle.close();
      unlinkSync(path);
      throw error;
    }
    if (active?.handle) {
      const activeHandle = active.handle;
      active.fd = openSync(active.path, 'r');
      active.handle = undefined;
      await activeHandle.close();
    }
    const segment: Segment = {
      baseOffset,
      path,
      sizeBytes: 0,
      fd: handle.fd,
      handle,
      dirty: false,
      newestTimestampMs: undefined,
    };
    this.segments.push(segment);
    return segment;
  }

  /**
   * After a write failed before any group of its batch reached the file (ENOSPC): cuts the bytes the failed write may
   * have left past the active segment's end, and assigns the next record where the log ends.
   */
  discardUnwritten(): void {
    const last = this.segments.at(-1);
    if (last) ftruncateSync(last.fd, last.sizeBytes);
    this.resetAssignment();
  }

  /** Opens the write handle of the active segment after recovery. */
  async openActive(): Promise<void> {
    const active = this.segments.at(-1);
    if (!active) return;
    const handle = await this.storeFs.open(active.path, 'r+');
    closeSync(active.fd);
    active.fd = handle.fd;
    active.handle = handle;
  }

  segmentAt(commitLogOffset: number): Segment {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.segments[mid]!.baseOffset <= commitLogOffset) low = mid;
      else high = mid - 1;
    }
    const segment = this.segments[low];
    assert.ok(segment, `commit log offset ${commitLogOffset}: the log is empty`);
    assert.ok(segment.baseOffset <= commitLogOffset, `commit log offset ${commitLogOffset} is before the log start`);
    return segment;
  }

  /** The bytes of one record, read synchronously (page cache). */
  readBytes(commitLogOffset: number, sizeBytes: number): { bytes: Buffer; segment: Segment } {
    const segment = this.segmentAt(commitLogOffset);
    const position = commitLogOffset - segment.baseOffset;
    assert.ok(position + sizeBytes <= segment.sizeBytes, `record at ${commitLogOffset} runs past its segment's end`);
    const bytes = Buffer.allocUnsafe(sizeBytes);
    const bytesRead = readFullySync(segment.fd, bytes, 0, sizeBytes, position);
    assert.equal(bytesRead, sizeBytes, `short read of the record at ${commitLogOffset}`);
    return { bytes, segment };
  }

  /**
   * storeTimestampMs of a sealed segment's newest record that passes its checksum (scanning it once when unknown;
   * bad bytes are stepped over, never thrown: retention runs on a timer).
   */
  newestTimestampMs(segment: Segment): number | undefined {
    if (segment.newestTimestampMs === undefined && segment.sizeBytes > 0) {
      let previousMs = 0;
      scanSegmentResync(
        segment.fd,
        segment.sizeBytes,
        0,
        (header) => {
          segment.newestTimestampMs = header.storeTimestampMs;
          previousMs = header.storeTimestampMs;
        },
        (header) => header.storeTimestampMs >= previousMs,
      );
    }
    return segment.newestTimestampMs;
  }

  /** Deletes the oldest segment, which must be sealed. */
  deleteOldestSegment(): Segment {
    assert.ok(this.segments.length > 1, 'the active segment is never deleted');
    const segment = this.segments.shift()!;
    assert.equal(segment.handle, undefined, 'a sealed segment has no write handle');
    closeSync(segment.fd);
    unlinkSync(segment.path);
    return segment;
  }

  async close(): Promise<void> {
    for (const segment of this.segments.splice(0)) {
      if (segment.handle) await segment.handle.close();
      else closeSync(segment.fd);
    }
  }
}

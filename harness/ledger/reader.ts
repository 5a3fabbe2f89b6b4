import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { LEDGER_EVENT_TYPES, LEDGER_VERSION, type LedgerEvent, type LedgerHeader } from './types.ts';

/** A line that is not a valid record. The last line of a file cut short by a crash is `torn`. */
export interface MalformedLine {
  file: string;
  line: number;
  problem: string;
  torn: boolean;
}

export class LedgerFormatError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'LedgerFormatError';
  }
}

/** Records in merged order with where each came from: file index into `files`, 1-based line number. */
export interface LedgerBatch {
  records: LedgerEvent[];
  fileIndexes: Uint16Array;
  lines: Uint32Array;
  length: number;
}

const READ_CHUNK_BYTES = 1024 * 1024;
/**
 * The longest line a ledger may hold. A record is about 100 bytes and a header a few KiB; a line past this is not a
 * ledger (a binary file, a log without newlines) and is refused at once instead of being buffered whole.
 */
export const LEDGER_LINE_MAX_CHARS = 1024 * 1024;

/**
 * Reads one ledger file as batches of parsed records, a chunk at a time: memory holds one chunk, never the file.
 * The header (line 1) is checked and kept in `header`.
 */
export class LedgerFileCursor {
  header: LedgerHeader | undefined;
  readonly malformed: MalformedLine[] = [];
  malformedCount = 0;
  records: LedgerEvent[] = [];
  lines: number[] = [];
  position = 0;
  /**
   * This file's clock minus the drill's, from the most precise `ck` record read so far (smallest `err`; the latest of
   * equals), 0 until one is read. Not simply the latest: a sample taken while the process or the machine stalled has
   * a round trip of hundreds of ms and an offset as wrong as half of it, which would move every later record by that
   * much (a CI run judged a latency fault's window with sends shifted into it).
   */
  clockOffsetMs = 0;
  private clockErrMs = Number.POSITIVE_INFINITY;
  private lineNumber = 0;
  private remainder = '';
  private readonly chunks: AsyncIterator<string>;
  private done = false;

  constructor(
    readonly file: string,
    readonly fileIndex: number,
    private readonly malformedKeptMax = 20,
    private readonly lineMaxChars = LEDGER_LINE_MAX_CHARS,
  ) {
    const raw = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
    // A finished ledger may be kept gzipped (`.gz`): it is read the same way, a chunk at a time.
    const stream = file.endsWith('.gz') ? raw.pipe(createGunzip({ chunkSize: READ_CHUNK_BYTES })) : raw;
    stream.setEncoding('utf8');
    raw.on('error', (err) => stream.destroy(err));
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  }

  /** True when `records` has an unread record at `position`. */
  get hasRecord(): boolean {
    return this.position < this.records.length;
  }

  /** Loads the next batch; returns false at the end of the file. */
  async fill(): Promise<boolean> {
    this.records = [];
    this.lines = [];
    this.position = 0;
    while (this.records.length === 0) {
      if (this.done) return false;
      const next = await this.chunks.next();
      if (next.done) {
        this.done = true;
        if (this.remainder.length > 0) this.parseLine(this.remainder, true);
        this.remainder = '';
        if (this.header === undefined) throw new LedgerFormatError(this.file, 'empty file: no header line');
      } else {
        this.parseChunk(next.value);
      }
    }
    return true;
  }

  private parseChunk(chunk: string): void {
    const text = this.remainder.length > 0 ? this.remainder + chunk : chunk;
    let start = 0;
    for (let end = text.indexOf('\n', start); end >= 0; end = text.indexOf('\n', start)) {
      if (end > start) this.parseLine(text.slice(start, end), false);
      else this.lineNumber++;
      start = end + 1;
    }
    this.remainder = text.slice(start);
    if (this.remainder.length > this.lineMaxChars) {
      throw new LedgerFormatError(
        this.file,
        `line ${this.lineNumber + 1} is longer than ${this.lineMaxChars} characters without a newline: ` +
          'not a ledger (each record is one short JSON line); check that this is the file you meant',
      );
    }
  }

  private parseLine(text: string, last: boolean): void {
    const line = ++this.lineNumber;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.addMalformed(line, `not JSON: ${text.slice(0, 80)}`, last);
      return;
    }
    if (line === 1) {
      this.header = checkHeader(this.file, value);
      return;
    }
    const record = value as LedgerEvent;
    if (typeof record !== 'object' || record === null || !LEDGER_EVENT_TYPES.has(record.t)) {
      this.addMalformed(line, `unknown record type ${JSON.stringify((record as { t?: unknown })?.t)}`, false);
      return;
    }
    if (typeof record.ts !== 'number') {
      this.addMalformed(line, 'record without a numeric ts', false);
      return;
    }
    if (record.t === 'ck') {
      if (typeof record.off !== 'number' || typeof record.err !== 'number' || !(record.err >= 0)) {
        this.addMalformed(line, 'clock record (ck) without numeric off and err >= 0', false);
        return;
      }
      if (record.err <= this.clockErrMs) {
        this.clockOffsetMs = record.off;
        this.clockErrMs = record.err;
      }
    }
    // Read every ledger on the drill's clock: this file's measured offset is taken off each timestamp.
    if (this.clockOffsetMs !== 0) {
      record.ts -= this.clockOffsetMs;
      if (record.t === 'si') {
        if (record.at !== undefined) record.at -= this.clockOffsetMs;
        if (record.it !== undefined) record.it -= this.clockOffsetMs;
      }
    }
    this.records.push(record);
    this.lines.push(line);
  }

  private addMalformed(line: number, problem: string, torn: boolean): void {
    if (line === 1) {
      throw new LedgerFormatError(
        this.file,
        `line 1 is not a ledger header (${problem}); every ledger starts with {"type":"header","version":1,...}`,
      );
    }
    this.malformedCount++;
    if (this.malformed.length < this.malformedKeptMax) this.malformed.push({ file: this.file, line, problem, torn });
  }
}

function checkHeader(file: string, value: unknown): LedgerHeader {
  const header = value as Partial<LedgerHeader> | null;
  if (typeof header !== 'object' || header === null || header.type !== 'header') {
    const seen = JSON.stringify(value)?.slice(0, 80);
    throw new LedgerFormatError(
      file,
      `line 1 must be a header record {"type":"header","version":1,...}, not ${seen}: is this a mqdrill ledger?`,
    );
  }
  if (header.version !== LEDGER_VERSION) {
    throw new LedgerFormatError(file, `ledger version ${header.version} is not supported (this mqdrill reads 1)`);
  }
  if (typeof header.process !== 'string') throw new LedgerFormatError(file, 'header without a "process" name');
  return header as LedgerHeader;
}

/** Opens every file and reads its header. */
export async function openLedgers(files: readonly string[]): Promise<LedgerFileCursor[]> {
  if (files.length > 0xffff) throw new Error(`too many ledger files (${files.length}); at most 65535`);
  const cursors = files.map((file, index) => new LedgerFileCursor(file, index));
  for (const cursor of cursors) await cursor.fill();
  return cursors;
}

/**
 * Merges several ledgers by `ts` (ties: file order, then line order) with a k-way merge over one buffered chunk per
 * file. Each file is assumed to be in time order (a process writes as events happen); a record that steps back in
 * time is emitted in file order all the same. Yields batches of up to `batchSize` records.
 */
export async function* mergeLedgers(cursors: LedgerFileCursor[], batchSize = 8192): AsyncGenerator<LedgerBatch> {
  const heap = cursors.filter((c) => c.hasRecord);
  const less = (a: LedgerFileCursor, b: LedgerFileCursor): boolean => {
    const ta = (a.records[a.position] as LedgerEvent).ts;
    const tb = (b.records[b.position] as LedgerEvent).ts;
    return ta < tb || (ta === tb && a.fileIndex < b.fileIndex);
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i, less);
  let batch = newBatch(batchSize);
  while (heap.length > 0) {
    const top = heap[0] as LedgerFileCursor;
    const n = batch.length;
    batch.records.push(top.records[top.position] as LedgerEvent);
    batch.fileIndexes[n] = top.fileIndex;
    batch.lines[n] = top.lines[top.position] as number;
    batch.length = n + 1;
    top.position++;
    if (!top.hasRecord && !(await top.fill())) {
      const last = heap.pop() as LedgerFileCursor;
      if (heap.length > 0 && last !== top) heap[0] = last;
    }
    if (heap.length > 0) siftDown(heap, 0, less);
    if (batch.length === batchSize) {
      yield batch;
      batch = newBatch(batchSize);
    }
  }
  if (batch.length > 0) yield batch;
}

function newBatch(size: number): LedgerBatch {
  return { records: [], fileIndexes: new Uint16Array(size), lines: new Uint32Array(size), length: 0 };
}

function siftDown<T>(heap: T[], start: number, less: (a: T, b: T) => boolean): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) return;
    const right = left + 1;
    const child = right < heap.length && less(heap[right] as T, heap[left] as T) ? right : left;
    if (!less(heap[child] as T, heap[i] as T)) return;
    [heap[i], heap[child]] = [heap[child] as T, heap[i] as T];
    i = child;
  }
}

/** Convenience for tests and small files: every record of the merged ledgers, in order, with its location. */
export async function readAllEvents(
  files: readonly string[],
): Promise<{ event: LedgerEvent; file: string; line: number }[]> {
  const cursors = await openLedgers(files);
  const out: { event: LedgerEvent; file: string; line: number }[] = [];
  for await (const batch of mergeLedgers(cursors)) {
    for (let i = 0; i < batch.length; i++) {
      const file = files[batch.fileIndexes[i] as number] as string;
      out.push({ event: batch.records[i] as LedgerEvent, file, line: batch.lines[i] as number });
    }
  }
  return out;
}

import { readSync } from 'node:fs';
import { checkRecord, RECORD_CHECKSUM_BYTES, RECORD_HEADER_BYTES, type RecordHeader } from './record.ts';

const SCAN_CHUNK_BYTES = 1 << 20;

export interface ScanResult {
  /** End of the last good record: where a torn tail would be cut. */
  goodEndPosition: number;
  /** The first bad record, when the scan stopped before the end of the file. */
  failure?: { position: number; reason: string };
  bytesRead: number;
}

/** Reads exactly length bytes at position (fewer only at end of file); returns how many were read. */
export function readFullySync(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** A window over a file, refilled in 1 MiB chunks (or more, for one large record). */
class ChunkReader {
  private buf = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
  private start = 0;
  private length = 0;
  bytesRead = 0;

  constructor(
    private readonly fd: number,
    private readonly fileBytes: number,
  ) {}

  view(position: number, wantBytes: number): { buf: Buffer; at: number; available: number } {
    const want = Math.min(wantBytes, this.fileBytes - position);
    if (position < this.start || position + want > this.start + this.length) {
      if (want > this.buf.length) this.buf = Buffer.allocUnsafe(want);
      const length = Math.min(this.buf.length, this.fileBytes - position);
      this.length = readFullySync(this.fd, this.buf, 0, length, position);
      this.start = position;
      this.bytesRead += this.length;
    }
    return { buf: this.buf, at: position - this.start, available: this.start + this.length - position };
  }
}

/**
 * Walks the records of one segment file from fromPosition, calling visit for each good one, and stops at the end of
 * the file or at the first record that fails checkRecord (the caller decides: torn tail or fatal corruption).
 */
export function scanSegment(
  fd: number,
  fileBytes: number,
  fromPosition: number,
  visit: (header: RecordHeader, position: number) => void,
): ScanResult {
  const reader = new ChunkReader(fd, fileBytes);
  let position = fromPosition;
  while (position < fileBytes) {
    const head = reader.view(position, RECORD_HEADER_BYTES);
    const claimedBytes = head.available >= 4 ? head.buf.readUInt32BE(head.at) : 0;
    const plausible =
      claimedBytes >= RECORD_HEADER_BYTES + RECORD_CHECKSUM_BYTES && claimedBytes <= fileBytes - position;
    const whole = plausible ? reader.view(position, claimedBytes) : head;
    const check = checkRecord(whole.buf, whole.at, whole.available);
    if (!check.ok) {
      return { goodEndPosition: position, failure: { position, reason: check.reason }, bytesRead: reader.bytesRead };
    }
    visit(check.header, position);
    position += check.header.sizeBytes;
  }
  return { goodEndPosition: position, bytesRead: reader.bytesRead };
}

/** A stretch of a segment whose bytes do not form records that pass their checksum. */
export interface BadRange {
  /** Position in the segment file of the first bad byte. */
  position: number;
  bytes: number;
  /** Why the record at `position` failed. */
  reason: string;
  /** True when no record passing its checksum follows it in this file (a torn or damaged tail). */
  atEnd: boolean;
}

export interface ResyncScanResult {
  /** End of the last good record (the file end when the file ends in good records). */
  goodEndPosition: number;
  badRanges: BadRange[];
  bytesRead: number;
}

const MAGIC_BYTES = Buffer.from('MQDR', 'latin1');

/**
 * scanSegment that does not stop at a bad record: it looks for the next position holding a record that passes its
 * checksum (found by its magic) and that `accept` takes (monotonic store timestamps), reports the bytes in between
 * as a bad range and goes on. A bad stretch with no good record after it is reported with `atEnd`.
 */
export function scanSegmentResync(
  fd: number,
  fileBytes: number,
  fromPosition: number,
  visit: (header: RecordHeader, position: number) => void,
  accept: (header: RecordHeader) => boolean = () => true,
  /** Called for each bad range as soon as it is found, before the records after it are visited. */
  onBad: (bad: BadRange) => void = () => {},
): ResyncScanResult {
  const badRanges: BadRange[] = [];
  let bytesRead = 0;
  let goodEndPosition = fromPosition;
  let position = fromPosition;
  while (position < fileBytes) {
    const scan = scanSegment(fd, fileBytes, position, (header, at) => {
      visit(header, at);
      goodEndPosition = at + header.sizeBytes;
    });
    bytesRead += scan.bytesRead;
    if (!scan.failure) break;
    const bad = scan.failure.position;
    const rest = Buffer.allocUnsafe(fileBytes - bad);
    bytesRead += readFullySync(fd, rest, 0, rest.length, bad);
    const next = findNextRecord(rest, accept);
    const range: BadRange = {
      position: bad,
      bytes: next ?? fileBytes - bad,
      reason: scan.failure.reason,
      atEnd: next === undefined,
    };
    badRanges.push(range);
    onBad(range);
    if (next === undefined) break;
    position = bad + next;
  }
  return { goodEndPosition, badRanges, bytesRead };
}

/** The first position after 0 in buf where a whole record passing its checksum (and `accept`) starts. */
function findNextRecord(buf: Buffer, accept: (header: RecordHeader) => boolean): number | undefined {
  for (let at = buf.indexOf(MAGIC_BYTES, 5); at >= 4; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
    const candidate = at - 4;
    const check = checkRecord(buf, candidate, buf.length - candidate);
    if (check.ok && accept(check.header)) return candidate;
  }
  return undefined;
}

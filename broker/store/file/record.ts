import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import type { MessageProps, MessageRecord, StoredMessage } from '../types.ts';

export const RECORD_MAGIC = 0x4d514452; // "MQDR"
export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 44;
export const RECORD_CHECKSUM_BYTES = 4;
const U32_LIMIT = 2 ** 32;
const TOPIC_BYTES_MAX = 0xffff;

/** What a scan learns from a record without parsing its props or copying its body. */
export interface RecordHeader {
  sizeBytes: number;
  topic: string;
  queueId: number;
  queueOffset: number;
  storeTimestampMs: number;
  tagHash: number;
  topicBytes: number;
  propsBytes: number;
  bodyBytes: number;
}

/** The one size formula: every writer, reader, scanner and the memory store use it. */
export function recordSizeBytes(topicBytes: number, propsBytes: number, bodyBytes: number): number {
  return RECORD_HEADER_BYTES + topicBytes + propsBytes + bodyBytes + RECORD_CHECKSUM_BYTES;
}

/** crc32 of the tag (0 when untagged), kept in the record header and the index so tag filters can skip records. */
export function tagHashOf(tag: string | undefined): number {
  return tag === undefined ? 0 : crc32(tag) >>> 0;
}

export function writeU64(buf: Buffer, position: number, value: number): void {
  assert.ok(Number.isSafeInteger(value), `u64 field must be a safe integer, got ${value}`);
  assert.ok(value >= 0, `u64 field must be >= 0, got ${value}`);
  buf.writeUInt32BE(Math.floor(value / U32_LIMIT), position);
  buf.writeUInt32BE(value % U32_LIMIT, position + 4);
}

export function readU64(buf: Buffer, position: number): number {
  return buf.readUInt32BE(position) * U32_LIMIT + buf.readUInt32BE(position + 4);
}

/**
 * Encodes one commit log record. Byte layout (big-endian; self-describing and checksummed, so recovery can trust it):
 *
 *   offset   size  field
 *        0      4  sizeBytes         the whole record, header to checksum: recordSizeBytes(t, p, b)
 *        4      4  magic             0x4D514452 ("MQDR")
 *        8      1  version           1
 *        9      1  flags             0 (reserved)
 *       10      2  topicBytes  (t)   UTF-8 length of the topic
 *       12      4  queueId
 *       16      8  queueOffset       u64 (values up to 2^53)
 *       24      8  storeTimestampMs  u64
 *       32      4  tagHash           tagHashOf(props.tag), 0 when untagged
 *       36      4  propsBytes  (p)   UTF-8 length of the props JSON (MessageProps)
 *       40      4  bodyBytes   (b)
 *       44      t  topic
 *     44+t      p  props JSON
 *   44+t+p      b  body
 *   size-4      4  checksum          zlib.crc32 over bytes [0, size-4)
 */
export function encodeRecord(
  record: MessageRecord,
  queueOffset: number,
  storeTimestampMs: number,
  props: Buffer = encodeProps(record.props),
): Buffer {
  const topicBytes = Buffer.byteLength(record.topic);
  assert.ok(topicBytes > 0 && topicBytes <= TOPIC_BYTES_MAX, `topic must be 1..${TOPIC_BYTES_MAX} bytes`);
  assert.ok(Number.isInteger(record.queueId) && record.queueId >= 0 && record.queueId < U32_LIMIT, 'bad queueId');
  const sizeBytes = recordSizeBytes(topicBytes, props.length, record.body.length);
  const buf = Buffer.allocUnsafe(sizeBytes);
  buf.writeUInt32BE(sizeBytes, 0);
  buf.writeUInt32BE(RECORD_MAGIC, 4);
  buf.writeUInt8(RECORD_VERSION, 8);
  buf.writeUInt8(0, 9);
  buf.writeUInt16BE(topicBytes, 10);
  buf.writeUInt32BE(record.queueId, 12);
  writeU64(buf, 16, queueOffset);
  writeU64(buf, 24, storeTimestampMs);
  buf.writeUInt32BE(tagHashOf(record.props.tag), 32);
  buf.writeUInt32BE(props.length, 36);
  buf.writeUInt32BE(record.body.length, 40);
  let position = RECORD_HEADER_BYTES;
  position += buf.write(record.topic, position);
  position += props.copy(buf, position);
  position += record.body.copy(buf, position);
  assert.equal(position, sizeBytes - RECORD_CHECKSUM_BYTES);
  buf.writeUInt32BE(crc32(buf.subarray(0, position)) >>> 0, position);
  return buf;
}

export function encodeProps(props: MessageProps): Buffer {
  return Buffer.from(JSON.stringify(props));
}

/**
 * Why a record cannot be stored (an expected failure the caller maps to a status code), or undefined. Checked before
 * any offset is assigned, so a bad record in a batch rejects the whole batch and leaves no gap.
 */
export function invalidRecordReason(record: MessageRecord): string | undefined {
  if (typeof record.topic !== 'string' || record.topic.length === 0) return 'topic must be a non-empty string';
  if (Buffer.byteLength(record.topic) > TOPIC_BYTES_MAX) return `topic is longer than ${TOPIC_BYTES_MAX} bytes`;
  if (!Number.isInteger(record.queueId) || record.queueId < 0 || record.queueId >= U32_LIMIT) {
    return `queueId ${record.queueId} is not an integer in [0, 2^32)`;
  }
  if (!Buffer.isBuffer(record.body)) return 'body must be a Buffer';
  if (typeof record.props !== 'object' || record.props === null) return 'props must be an object';
  return undefined;
}

export type RecordCheck = { ok: true; header: RecordHeader } | { ok: false; reason: string };

/**
 * Validates the record starting at `position` of `buf`, of which `availableBytes` are present (the rest of the file
 * may not be in the buffer yet). Checks size sanity, magic, version, the sum of the parts and the checksum.
 */
export function checkRecord(buf: Buffer, position: number, availableBytes: number): RecordCheck {
  if (availableBytes < RECORD_HEADER_BYTES) return { ok: false, reason: `only ${availableBytes} bytes of a header` };
  const sizeBytes = buf.readUInt32BE(position);
  const magic = buf.readUInt32BE(position + 4);
  if (magic !== RECORD_MAGIC) return { ok: false, reason: `bad magic 0x${magic.toString(16)}` };
  const version = buf.readUInt8(position + 8);
  if (version !== RECORD_VERSION) return { ok: false, reason: `unknown record version ${version}` };
  const topicBytes = buf.readUInt16BE(position + 10);
  const propsBytes = buf.readUInt32BE(position + 36);
  const bodyBytes = buf.readUInt32BE(position + 40);
  if (sizeBytes !== recordSizeBytes(topicBytes, propsBytes, bodyBytes)) {
    return { ok: false, reason: `size field ${sizeBytes} disagrees with the part lengths` };
  }
  if (availableBytes < sizeBytes) return { ok: false, reason: `record of ${sizeBytes} bytes cut at ${availableBytes}` };
  const checksumAt = position + sizeBytes - RECORD_CHECKSUM_BYTES;
  const expected = buf.readUInt32BE(checksumAt);
  const actual = crc32(buf.subarray(position, checksumAt)) >>> 0;
  if (actual !== expected)
    return { ok: false, reason: `checksum 0x${actual.toString(16)} != 0x${expected.toString(16)}` };
  const topicAt = position + RECORD_HEADER_BYTES;
  const header: RecordHeader = {
    sizeBytes,
    topic: buf.toString('utf8', topicAt, topicAt + topicBytes),
    queueId: buf.readUInt32BE(position + 12),
    queueOffset: readU64(buf, position + 16),
    storeTimestampMs: readU64(buf, position + 24),
    tagHash: buf.readUInt32BE(position + 32),
    topicBytes,
    propsBytes,
    bodyBytes,
  };
  return { ok: true, header };
}

/**
 * Decodes a whole record whose bytes are `buf` (exactly one record). Throws on a bad record: callers that may meet a
 * torn tail use checkRecord() instead; a reader holding an index entry treats a bad record as corruption.
 */
export function decodeRecord(buf: Buffer, commitLogOffset: number): StoredMessage {
  const check = checkRecord(buf, 0, buf.length);
  if (!check.ok) throw new Error(`record at commit log offset ${commitLogOffset}: ${check.reason}`);
  const header = check.header;
  assert.equal(header.sizeBytes, buf.length, 'decodeRecord takes exactly one record');
  const propsAt = RECORD_HEADER_BYTES + header.topicBytes;
  const bodyAt = propsAt + header.propsBytes;
  const props = JSON.parse(buf.toString('utf8', propsAt, bodyAt)) as MessageProps;
  return {
    topic: header.topic,
    queueId: header.queueId,
    queueOffset: header.queueOffset,
    commitLogOffset,
    storeTimestampMs: header.storeTimestampMs,
    sizeBytes: header.sizeBytes,
    props,
    body: buf.subarray(bodyAt, bodyAt + header.bodyBytes),
  };
}

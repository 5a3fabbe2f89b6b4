import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { testRecord } from '../testing.ts';
import { checkRecord, decodeRecord, encodeRecord, RECORD_MAGIC, recordSizeBytes } from './record.ts';

describe('commit log record codec', () => {
  test('encode then decode returns the record, and the size is recordSizeBytes()', () => {
    const record = testRecord('orders', 3, 7, { tag: 'paid' });
    const bytes = encodeRecord(record, 42, 1_700_000_000_123);
    const propsBytes = Buffer.byteLength(JSON.stringify(record.props));
    expect(bytes.length).toBe(recordSizeBytes(Buffer.byteLength('orders'), propsBytes, record.body.length));
    expect(bytes.readUInt32BE(4)).toBe(RECORD_MAGIC);
    const decoded = decodeRecord(bytes, 9000);
    expect(decoded).toMatchObject({ topic: 'orders', queueId: 3, queueOffset: 42, commitLogOffset: 9000 });
    expect(decoded.storeTimestampMs).toBe(1_700_000_000_123);
    expect(decoded.props).toEqual(record.props);
    expect(decoded.body.equals(record.body)).toBe(true);
  });

  test('property: any single flipped bit is detected by checkRecord', () => {
    const bytes = encodeRecord(testRecord('t', 0, 1, { bodyBytes: 64 }), 5, 1_700_000_000_000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const damaged = Buffer.from(bytes);
        damaged[bit >> 3] = damaged[bit >> 3]! ^ (1 << (bit & 7));
        expect(checkRecord(damaged, 0, damaged.length).ok).toBe(false);
      }),
    );
  });

  test('a record cut short is reported as cut, not decoded', () => {
    const bytes = encodeRecord(testRecord('t', 0, 1), 0, 0);
    const check = checkRecord(bytes, 0, bytes.length - 1);
    expect(check).toEqual({ ok: false, reason: `record of ${bytes.length} bytes cut at ${bytes.length - 1}` });
  });

  test('unicode topics and large offsets round-trip (u64 fields up to 2^53)', () => {
    const record = { ...testRecord('订单-topic', 0, 1), topic: '订单-topic' };
    const decoded = decodeRecord(encodeRecord(record, 2 ** 53 - 1, 2 ** 41), 0);
    expect(decoded).toMatchObject({ topic: '订单-topic', queueOffset: 2 ** 53 - 1, storeTimestampMs: 2 ** 41 });
  });
});

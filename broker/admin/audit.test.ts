import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import { AuditLog } from './audit.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function lines(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('AuditLog', () => {
  test('past the per-second limit lines are counted, and the count is written before the next second', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-audit-'));
    const file = path.join(dir, 'audit.ndjson');
    const clock = new ManualClock();
    const audit = new AuditLog(file, clock, () => {}, 3);
    const written = Array.from({ length: 5 }, (_, i) => audit.write({ kind: 'grpc', n: i }));
    expect(written).toEqual([true, true, true, false, false]);
    clock.advance(1000);
    expect(audit.write({ kind: 'grpc', n: 5 })).toBe(true);
    expect(lines(file).map((l) => l.n ?? l.suppressed)).toEqual([0, 1, 2, 2, 5]);
    expect(lines(file)[3]).toMatchObject({ kind: 'audit', suppressed: 2, reason: 'more than 3 audit lines a second' });
    expect(lines(file)[0]?.time).toBe(new Date(clock.wallMs() - 1000).toISOString());
  });

  test('a write that fails (no such directory) is reported once and never throws', () => {
    const errors: string[] = [];
    const audit = new AuditLog('/nonexistent-dir/audit.ndjson', new ManualClock(), (_l, msg) => errors.push(msg));
    expect(() => {
      audit.write({ kind: 'admin' });
      audit.write({ kind: 'admin' });
    }).not.toThrow();
    expect(errors).toEqual(['audit log write failed']);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { checkShardLayout, parseShards, shardsMarker } from './shards.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('--shards', () => {
  test('a whole number from 1 to 64, or auto (one per core); anything else is a usage error', () => {
    expect(parseShards(undefined)).toBe(1);
    expect(parseShards('3')).toBe(3);
    expect(parseShards('auto', 4)).toBe(4);
    expect(parseShards('auto', 200)).toBe(64);
    for (const bad of ['0', '-1', '1.5', 'two', '65', ''])
      expect(() => parseShards(bad), bad).toThrow(/--shards .*whole number from 1 to 64, or auto/);
  });

  test('a data folder keeps its shard count: another count, or a single-process folder, is refused', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-shard-layout-'));
    expect(() => checkShardLayout(path.join(dir as string, 'missing'), 2)).not.toThrow();
    expect(() => checkShardLayout(dir as string, 2)).not.toThrow(); // empty
    fs.writeFileSync(path.join(dir, 'metadata.json'), '{}');
    expect(() => checkShardLayout(dir as string, 1)).not.toThrow();
    expect(() => checkShardLayout(dir as string, 2)).toThrow(/single-process broker's data; start it without/);
    fs.writeFileSync(path.join(dir, shardsMarker), JSON.stringify({ shards: 2 }));
    expect(() => checkShardLayout(dir as string, 2)).not.toThrow();
    expect(() => checkShardLayout(dir as string, 1)).toThrow(/made with --shards 2; start it with --shards 2/);
    expect(() => checkShardLayout(dir as string, 3)).toThrow(/made with --shards 2/);
    fs.writeFileSync(path.join(dir, shardsMarker), 'not json');
    expect(() => checkShardLayout(dir as string, 2)).toThrow(/is not JSON/);
  });
});

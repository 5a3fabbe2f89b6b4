import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CheckpointFile } from './checkpoint.ts';
import { makeTempDir } from './testing.ts';

interface GroupOffsets {
  group: string;
  offsets: Record<string, number>;
}

describe('checkpoint file', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = makeTempDir('mqdrill-checkpoint-');
    path = join(dir, 'offsets.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const doc = (n: number): GroupOffsets => ({ group: 'g1', offsets: { 't@0': n, 't@1': n * 2 } });

  test('save then load returns the document, and leaves no temp file behind', async () => {
    const file = new CheckpointFile<GroupOffsets>(path);
    await file.save(doc(7));
    expect(await file.load()).toEqual({ value: doc(7) });
    expect(file.loadSync()).toEqual({ value: doc(7) });
    expect(readdirSync(dir)).toEqual(['offsets.json']);
  });

  test('a missing file loads as undefined with the reason "missing"', async () => {
    const loaded = await new CheckpointFile<GroupOffsets>(path).load();
    expect(loaded).toEqual({ value: undefined, reason: `${path}: missing` });
  });

  test('a flipped byte in the JSON loads as undefined with a checksum reason', async () => {
    const file = new CheckpointFile<GroupOffsets>(path);
    await file.save(doc(7));
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x01;
    writeFileSync(path, bytes);
    const loaded = await file.load();
    expect(loaded.value).toBeUndefined();
    expect(loaded.reason).toMatch(/checksum/);
  });

  test('a torn file (cut short) or a file without the header loads as undefined', async () => {
    const file = new CheckpointFile<GroupOffsets>(path);
    await file.save(doc(7));
    truncateSync(path, 50);
    expect((await file.load()).reason).toMatch(/bytes of JSON, header says/);
    writeFileSync(path, '{"group":"g1"}');
    expect((await file.load()).reason).toMatch(/no checkpoint header/);
  });

  test('a crash after the temp file was written but before the rename leaves the old document', async () => {
    const file = new CheckpointFile<GroupOffsets>(path);
    await file.save(doc(1));
    writeFileSync(join(dir, '.offsets.json.tmp-1-0'), 'half a new docu');
    expect(await file.load()).toEqual({ value: doc(1) });
  });

  test('concurrent saves are applied in call order: the last one wins', async () => {
    const file = new CheckpointFile<GroupOffsets>(path);
    await Promise.all([1, 2, 3, 4, 5].map((n) => file.save(doc(n))));
    expect(await file.load()).toEqual({ value: doc(5) });
  });

  test('a document the validator rejects loads as undefined with the validator reason', async () => {
    await new CheckpointFile<unknown>(path).save({ group: 42 });
    const file = new CheckpointFile<GroupOffsets>(path, (d) =>
      typeof (d as GroupOffsets).group === 'string' ? undefined : 'group is not a string',
    );
    expect(await file.load()).toEqual({ value: undefined, reason: `${path}: group is not a string` });
  });
});

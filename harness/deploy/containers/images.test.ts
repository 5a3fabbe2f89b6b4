/**
 * The containers target's images are cached by content hash: a second build reuses every image (no docker build),
 * with the same tags, and a change of any input gives a new tag. Real dockerd; the images are the ones `mqdrill setup
 * --only images` builds (CI builds them before the tests, so here every call may be a cache hit; the assertion is on
 * the second call, which must be one whatever the first did). The first-build and cached times are measured by hand
 * (docs/targets.md), not here: no timed tests.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureDockerd } from '../../../test/kit/dockerd.ts';
import { baseHash, ensureImages, imageStates } from './images.ts';

let stopDockerd: () => Promise<void> = async () => {};
beforeAll(async () => {
  stopDockerd = await ensureDockerd();
}, 120_000);
afterAll(async () => {
  await stopDockerd();
});

describe('containers images: built once, then reused', () => {
  test('a second build of both broker kinds reuses every image under the same tags', async () => {
    const first = await ensureImages(['bundled', 'rocketmq']);
    const lines: string[] = [];
    const second = await ensureImages(['bundled', 'rocketmq'], (line) => lines.push(line));
    expect(second.map((i) => i.name)).toEqual(['base', 'broker', 'rocketmq']);
    expect(second.map((i) => i.tag)).toEqual(first.map((i) => i.tag));
    expect(second.map((i) => i.cached)).toEqual([true, true, true]);
    expect(lines.filter((l) => /building/.test(l))).toEqual([]);
    const states = await imageStates();
    for (const s of states) expect(s, `setup --check sees ${s.tag}`).toMatchObject({ present: true });
  }, 600_000);

  test('the base tag follows its inputs: a file changed (size or mtime) gives a new tag', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqdrill-images-hash-'));
    try {
      const file = join(dir, 'lib.so');
      writeFileSync(file, 'one');
      utimesSync(file, 1_700_000_000, 1_700_000_000);
      const inputs = { files: [file], libraries: [], node: file, javaHome: dir };
      const before = baseHash(inputs);
      expect(baseHash(inputs)).toBe(before);
      utimesSync(file, 1_700_000_100, 1_700_000_100);
      const touched = baseHash(inputs);
      expect(touched).not.toBe(before);
      writeFileSync(file, 'two!');
      utimesSync(file, 1_700_000_100, 1_700_000_100);
      expect(baseHash(inputs)).not.toBe(touched);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { PowerLossFs, rollBackUnsyncedWrites } from './power-loss-fs.ts';
import { nodeStoreFs, writeFully } from './store-fs.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'mqd-power-loss-'));
  dirs.push(dir);
  const journal = join(dir, 'journal.ndjson');
  return { dir, journal, fs: new PowerLossFs(nodeStoreFs, journal) };
}

describe('PowerLossFs: what a power cut leaves of each store file', () => {
  test('a tail written after the last fsync is cut; a file never synced is left empty', async () => {
    const { dir, journal, fs } = setUp();
    const a = await fs.open(join(dir, 'a'), 'wx+');
    await writeFully(a, Buffer.from('synced.'), 0);
    await a.datasync();
    await writeFully(a, Buffer.from('cached'), 7);
    const b = await fs.open(join(dir, 'b'), 'wx+');
    await writeFully(b, Buffer.from('never synced'), 0);
    await a.close();
    await b.close();
    fs.close();
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('synced.cached');
    const report = rollBackUnsyncedWrites(journal);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('synced.');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('');
    expect(report.bytesLost).toBe('cached'.length + 'never synced'.length);
    expect(readFileSync(journal, 'utf8')).toBe('');
  });

  test('an overwrite of synced bytes after the last fsync gets its old bytes back; one before it stays', async () => {
    const { dir, journal, fs } = setUp();
    const path = join(dir, 'c');
    writeFileSync(path, 'AAAAAAAA');
    const c = await fs.open(path, 'r+');
    await writeFully(c, Buffer.from('BB'), 0);
    await c.datasync();
    await writeFully(c, Buffer.from('CCC'), 1);
    await writeFully(c, Buffer.from('DD'), 2);
    await writeFully(c, Buffer.from('EEEE'), 6);
    await c.close();
    fs.close();
    expect(readFileSync(path, 'utf8')).toBe('BCDDAAEEEE');
    const report = rollBackUnsyncedWrites(journal);
    expect(readFileSync(path, 'utf8')).toBe('BBAAAAAA');
    expect(report.files).toEqual([{ path, lengthBefore: 10, lengthAfter: 8, restoredRanges: 3 }]);
  });

  test('what the store found at start is taken as durable; no journal means nothing to roll back', async () => {
    const { dir, journal, fs } = setUp();
    const path = join(dir, 'd');
    writeFileSync(path, 'old data');
    await (await fs.open(path, 'r+')).close();
    fs.close();
    rollBackUnsyncedWrites(journal);
    expect(readFileSync(path, 'utf8')).toBe('old data');
    expect(rollBackUnsyncedWrites(join(dir, 'none.ndjson'))).toEqual({ files: [], bytesLost: 0 });
    expect(existsSync(join(dir, 'none.ndjson'))).toBe(false);
  });
});

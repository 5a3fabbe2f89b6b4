/**
 * A new user's first commands, on a fresh clone of this repository's HEAD: `npm ci`, then `npx mqdrill ...` as the
 * README writes them (through npm's node_modules/.bin symlink). The npm cache is warm, so the install is offline.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';

const execFileAsync = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');

async function run(
  file: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { cwd, timeout: 240_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('a fresh clone', () => {
  let dir = '';
  let clone = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mqdrill-clone-'));
    clone = path.join(dir, 'mqdrill');
    const cloned = await run('git', ['clone', '--quiet', '--no-hardlinks', repo, clone], dir);
    expect(cloned.code, cloned.stderr).toBe(0);
    const installed = await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], clone);
    expect(installed.code, installed.stderr).toBe(0);
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('npx mqdrill --help lists the commands; a bad command exits 2', async () => {
    const help = await run('npx', ['mqdrill', '--help'], clone);
    expect(help.code).toBe(ExitCode.OK);
    for (const command of ['drill', 'load', 'check', 'report', 'broker', 'admin', 'setup']) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    const bad = await run('npx', ['mqdrill', 'no-such-command'], clone);
    expect(bad.code).toBe(ExitCode.USAGE);
  });

  test('npx mqdrill drill --list lists the six built-in scenarios', async () => {
    const list = await run('npx', ['mqdrill', 'drill', '--list'], clone);
    expect(list.code, list.stderr).toBe(ExitCode.OK);
    const names = list.stdout
      .split('\n')
      .slice(1)
      .filter((line) => /^[a-z][\w-]+\s{2,}\d/.test(line))
      .map((line) => line.split(/\s+/)[0]);
    expect(names).toEqual(['delayed', 'fan-out', 'flash-sale', 'ordered', 'retry-storm', 'transactional']);
  });

  test('npx mqdrill drill flash-sale --dry-run exits 0 and boots nothing', async () => {
    const dry = await run('npx', ['mqdrill', 'drill', 'flash-sale', '--dry-run', '--out', 'runs/dry'], clone);
    expect(dry.code, dry.stderr).toBe(ExitCode.OK);
    expect(dry.stdout).toContain('fault schedule');
    expect(dry.stdout).toContain('nothing was booted');
    // Nothing booted: no report folder, no broker data.
    const runs = await run('ls', ['-A', 'runs'], clone);
    expect(runs.code).not.toBe(0);
  });
});

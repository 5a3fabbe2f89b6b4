import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';

const execFileAsync = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');
const bin = path.join(repo, 'bin', 'mqdrill.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], cwd = repo): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { cwd, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the mqdrill bin', () => {
  let dir = '';
  let linked = '';
  beforeAll(async () => {
    // The layout npm makes for a package's bin: node_modules/.bin/mqdrill -> the package's bin/mqdrill.mjs.
    dir = await mkdtemp(path.join(tmpdir(), 'mqdrill-bin-'));
    await mkdir(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    linked = path.join(dir, 'node_modules', '.bin', 'mqdrill');
    await symlink(bin, linked);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('through an npm-style .bin symlink: --help lists the commands, a bad command exits 2', async () => {
    const help = await run(linked, ['--help'], dir);
    expect(help.code).toBe(ExitCode.OK);
    for (const command of ['drill', 'load', 'check', 'report', 'broker', 'admin', 'setup']) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    const bad = await run(linked, ['no-such-command'], dir);
    expect(bad.code).toBe(ExitCode.USAGE);
    expect(bad.stderr).toContain("unknown command 'no-such-command'");
  });

  test('a closed stdout (mqdrill --help | head -1) ends the command quietly with exit 0', async () => {
    // The reader closes its end before the CLI writes a byte (loading takes far longer than this), so the help's write
    // meets EPIPE every time, as `mqdrill --help | head -1` does when head exits first.
    const child = spawn(process.execPath, [bin, '--help'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

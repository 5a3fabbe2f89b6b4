import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { repoRoot } from './paths.ts';

const execFileAsync = promisify(execFile);

/** Runs the real CLI (bin/mqdrill.mjs through tsx), as a user would. */
async function mqdrill(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.join(repoRoot(), 'bin', 'mqdrill.mjs');
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [bin, ...args], { cwd: repoRoot() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('mqdrill setup', () => {
  test('setup --check after setup: prints the table and exits 0', async () => {
    const result = await mqdrill('setup', '--check');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(ExitCode.OK);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^tool\s+version\s+path\s+status$/);
    for (const tool of ['go', 'mvn', 'java', 'toxiproxy-server', 'toxiproxy-cli', 'rocketmq-client-java']) {
      const row = lines.find((line) => line.startsWith(`${tool} `));
      expect(row, `a row for ${tool}`).toBeDefined();
      expect(row).toMatch(/\sok$/);
    }
    expect(lines.find((line) => line.startsWith('toxiproxy-server '))).toContain('v2.5.0');
    expect(lines.find((line) => line.startsWith('mqdrill-go-driver '))).toMatch(/\s(ok|not present yet)$/);
    for (const program of ['dockerd', 'prometheus', 'chromium', 'tc', 'xmllint']) {
      expect(lines.find((line) => line.startsWith(`${program} (`))).toMatch(/\sok$/);
    }
  });

  test('setup --check --only toxiproxy: restricts the table to toxiproxy and its prerequisite', async () => {
    const result = await mqdrill('setup', '--check', '--only', 'toxiproxy');
    expect(result.code).toBe(ExitCode.OK);
    const tools = result.stdout
      .split('\n')
      .slice(1)
      .filter((line) => line.includes('  '))
      .map((line) => line.split(/\s+/)[0]);
    expect(tools).toEqual(['go', 'toxiproxy-server', 'toxiproxy-cli']);
  });

  test('setup --only with an unknown name: usage error naming it and the known names', async () => {
    for (const args of [['--check'], []]) {
      const result = await mqdrill('setup', ...args, '--only', 'toxiproxy,kafka');
      expect(result.code).toBe(ExitCode.USAGE);
      expect(result.stderr).toContain('unknown tool(s) for --only: kafka');
      expect(result.stderr).toContain('known: toxiproxy, go-driver');
      expect(result.stdout).not.toContain('installing');
    }
  });
});

/**
 * The command line's changes to a built-in drill, without booting anything: --rate-scale, --vus, --body-size,
 * --faults none|FILE; bad values listed at once (exit 3 at the CLI); a missing external endpoint names its variable;
 * --list and --dry-run print what a user needs and start nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { loadDrillModule, resolveDrill } from './load-spec.ts';
import { parseSizeBytes } from './overrides.ts';
import { loadFaultsOption } from './plan-view.ts';
import { type DrillOverrides, type DrillSpec, validateDrill } from './spec.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/mqdrill.mjs');

async function load(nameOrPath: string, overrides: DrillOverrides = {}, env: NodeJS.ProcessEnv = {}) {
  const { name, path: file } = resolveDrill(nameOrPath);
  return validateDrill(name, file, await loadDrillModule(file), overrides, env);
}

function producer(spec: DrillSpec | undefined) {
  const s = spec?.plan.scenarios.find((x) => x.role === 'producer');
  if (!s) throw new Error('no producer');
  return s;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('drill overrides', () => {
  test('--rate-scale multiplies every arrival rate; --vus sets VUs; --body-size makes bodies constant', async () => {
    const base = producer((await load('flash-sale')).spec);
    const { spec, errors } = await load('flash-sale', { rateScale: '2.5', vus: '8', bodySize: '4KiB' });
    expect(errors).toEqual([]);
    const s = producer(spec);
    if (s.schedule.executor !== 'ramping-arrival-rate' || base.schedule.executor !== 'ramping-arrival-rate') {
      throw new Error('flash-sale is a ramping arrival rate');
    }
    expect(s.schedule.startRate).toBe(Math.round(base.schedule.startRate * 2.5));
    expect(s.schedule.stages.map((st) => st.target)).toEqual(
      base.schedule.stages.map((st) => Math.round(st.target * 2.5)),
    );
    expect(s.schedule.preAllocatedVUs).toBe(8);
    expect(s.message?.bodySizeBytes).toEqual({ distribution: 'constant', value: 4096 });
    const consumer = spec?.plan.scenarios.find((x) => x.role === 'consumer');
    expect(consumer?.schedule.executor === 'constant-vus' && consumer.schedule.vus).toBe(8);
  });

  test('bad values are all listed at once', async () => {
    const { spec, errors } = await load('flash-sale', { rateScale: '0', vus: '-1', bodySize: '5MiB' });
    expect(spec).toBeUndefined();
    expect(errors).toEqual([
      expect.stringContaining('--rate-scale: must be a number > 0'),
      expect.stringContaining('--vus: must be a whole number'),
      expect.stringContaining('--body-size: must be a size from 1 B to 4 MiB'),
    ]);
  });

  test('sizes: bytes, k/KiB/MiB', () => {
    expect([parseSizeBytes('512'), parseSizeBytes('4KiB'), parseSizeBytes('1 MiB'), parseSizeBytes('2kb')]).toEqual([
      512,
      4096,
      1 << 20,
      2000,
    ]);
    expect(parseSizeBytes('four')).toBeUndefined();
  });

  test('--faults none drops the faults; --faults FILE replaces them and is validated as drill.faults', async () => {
    const none = await load('ordered', { faults: loadFaultsOption('none') });
    expect(none.spec?.faults).toEqual([]);
    const dir = await mkdtemp(path.join(tmpdir(), 'mqdrill-faults-'));
    try {
      const good = path.join(dir, 'faults.json');
      await writeFile(good, JSON.stringify([{ kind: 'down', target: 'broker-0', at: '1s', duration: '2s' }]));
      const replaced = await load('flash-sale', { faults: loadFaultsOption(good) });
      expect(replaced.errors).toEqual([]);
      expect(replaced.spec?.faults).toHaveLength(1);
      const bad = path.join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ faults: [{ kind: 'latency', target: 'broker-9', at: '1s' }] }));
      const wrong = await load('flash-sale', { faults: loadFaultsOption(bad) });
      expect(wrong.errors.join('\n')).toMatch(/--faults\[0\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an external target without an endpoint names MQDRILL_ENDPOINT; with it set, the spec is valid', async () => {
    const missing = await load('flash-sale', { target: 'external', faults: [] });
    expect(missing.errors.join('\n')).toContain('MQDRILL_ENDPOINT');
    const given = await load('flash-sale', { target: 'external', faults: [] }, { MQDRILL_ENDPOINT: '127.0.0.1:1' });
    expect(given.errors).toEqual([]);
  });

  test('the CLI: --help names the environment; bad overrides exit 3 before anything boots', async () => {
    const help = await cli('drill', '--help');
    for (const v of [
      'MQDRILL_ENDPOINT',
      'MQDRILL_ACCESS_KEY',
      'MQDRILL_SECRET_KEY',
      'MQDRILL_NAMESPACE',
      'MQDRILL_TLS',
    ]) {
      expect(help.stdout).toContain(v);
    }
    for (const flag of ['--list', '--dry-run', '--rate-scale', '--vus', '--body-size', '--faults']) {
      expect(help.stdout).toContain(flag);
    }
    const bad = await cli('drill', 'flash-sale', '--dry-run', '--rate-scale', 'fast');
    expect(bad.code).toBe(ExitCode.INVALID_SPEC);
    expect(bad.stderr).toContain('--rate-scale');
    const dry = await cli('drill', 'ordered', '--dry-run', '--faults', 'none', '--vus', '3');
    expect(dry.code).toBe(ExitCode.OK);
    expect(dry.stdout).toMatch(/fault schedule[^\n]*\n {2}none/);
    expect(dry.stdout).toContain('3 VUs');
  });
});

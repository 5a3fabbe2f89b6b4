/**
 * The CI benchmark smoke test: the compare in short form (bench/compare.ts --smoke) against the grpc-js null server
 * and the bundled broker in one run, judged by bench/smoke-gate.ts (bundled/null acked/s, never absolute rates).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { judgeSmoke, SMOKE_RATIO_MIN, type SmokeFigures, type SmokeRun } from './smoke-gate.ts';

const run = promisify(execFile);
const figures = (ackedPerS: number, cpuSPer1000 = 0.2): SmokeFigures => ({ ackedPerS, cpuSPer1000 });
const history = (bundled: number[], ceiling: number[]): SmokeRun => ({
  targets: ['bundled', 'null'],
  results: {
    'normal-sync/bundled': bundled.map((x) => figures(x)),
    'normal-sync/null': ceiling.map((x) => figures(x)),
  },
});

describe('smoke gate', () => {
  it('passes a broker at its usual share of the null server, on medians', () => {
    const v = judgeSmoke(history([5000, 100, 5200], [6000, 6200, 100]));
    expect(v).toMatchObject({ ok: true, bundledAckedPerS: 5000, nullAckedPerS: 6000 });
    expect(v.ratio).toBeCloseTo(5000 / 6000);
  });

  it('fails a broker below the noise margin, saying by how much and what to do', () => {
    const v = judgeSmoke(history([1000, 1100], [6000, 6000]));
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/bundled acked 1050\/s, 18% of the null server's 6000\/s.*allows down to 25%.*Profile/);
  });

  it('fails a run that measured nothing, or only one target', () => {
    expect(judgeSmoke(history([5000], [0])).reason).toMatch(/null server acknowledged nothing/);
    expect(judgeSmoke({ targets: ['bundled'], results: {} }).ok).toBe(false);
    expect(judgeSmoke(history([5000], [])).ok).toBe(false);
  });
});

describe('compare smoke', () => {
  it('the bundled broker keeps its share of the gRPC ceiling (bundled vs null server, one run)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqdrill-compare-smoke-'));
    try {
      const json = join(dir, 'smoke.json');
      const script = resolve(import.meta.dirname, 'compare.ts');
      const args = ['--import', 'tsx', script, '--smoke', '--targets', 'bundled,null', '--cases', 'normal-sync'];
      const { stdout } = await run(process.execPath, [...args, '--rounds', '2', '--json', json], {
        timeout: 150_000,
      });
      const verdict = judgeSmoke(JSON.parse(readFileSync(json, 'utf8')) as SmokeRun);
      process.stdout.write(`${stdout}\ncompare smoke: ${JSON.stringify(verdict)} (margin ${SMOKE_RATIO_MIN})\n`);
      expect(verdict.reason).toMatch(/^bundled\/null/);
      expect(verdict.ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

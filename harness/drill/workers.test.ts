/**
 * `mqdrill drill --workers 2` end to end (bundled broker processes, toxiproxy, the node driver): the load runs in
 * two worker processes, each writing its ledgers under worker-K/, and the check over all of them passes with every
 * scheduled arrival accounted for in the merged summary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { cliPath } from '../../test/kit/index.ts';
import type { LoadSummary } from '../load/summary.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-drill-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('drill --workers', () => {
  test('two worker processes: ledgers per worker, merged summary, the check passes', () => {
    const out = join(dir, 'run');
    const args = ['drill', 'harness/live/testdata/watched.ts', '--workers', '2', '--faults', 'none'];
    const r = spawnSync(process.execPath, [cliPath, ...args, '--duration', '4s', '--out', out], {
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.OK);
    expect(r.stderr).toContain('load in 2 worker processes');
    for (const k of [0, 1]) expect(existsSync(join(out, `worker-${k}`, `ledger-w${k}-orders-0.ndjson`))).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as LoadSummary;
    const orders = summary.scenarios.orders;
    // 40/s for 4 s, split 20/s per worker: each scheduled arrival was started or dropped (one per driver at the edges).
    expect(Math.abs((orders?.startedIterations ?? 0) + (orders?.droppedIterations ?? 0) - 160)).toBeLessThanOrEqual(2);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { verdict: string };
    expect(report.verdict).toBe('pass');
  }, 180_000);
});

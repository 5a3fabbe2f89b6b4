/**
 * `mqdrill capacity --prometheus` end to end, in short form (two tiny steps): the command (bundled broker processes
 * behind a real toxiproxy-server, the node driver on the official client, a real Prometheus from Debian's package)
 * keeps the TSDB in the run folder; a second Prometheus opened on that folder then answers, through its HTTP API:
 * - every panel query of the capacity dashboard, evaluated with query_range over the run, returns at least one series;
 * - the scheduled rate series holds the search's rate steps: each step's rate, the warm-up's, 0 between runs, and
 *   nothing else (the consumers, which run through the whole search, never rate the steps' producers).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { capacityDashboard } from '../../dashboards/capacity.ts';
import { dashboardQueries } from '../../dashboards/panels.ts';
import { ExitCode } from '../../lib/exit-codes.ts';
import { RunTsdb, type RunWindow } from '../live/run-tsdb.ts';
import type { CapacityReport } from './report.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-capacity-live-'));
const out = join(dir, 'run');
const START_RATE = 40;
let tsdb: RunTsdb | undefined;
let output = '';
let report: CapacityReport;
let run: RunWindow = { startMs: 0, endMs: 0 };

beforeAll(async () => {
  // A loose SLO: what is tested is the watching, not where this busy machine breaks.
  const slo = join(dir, 'slo.json');
  writeFileSync(slo, JSON.stringify({ sendP99Ms: 1000, errorShareMax: 0.05, throughputShortfallMax: 0.5 }));
  const args = ['capacity', join(import.meta.dirname, 'testdata', 'steady.json'), '--prometheus', '--flush', 'async'];
  args.push('--slo', slo, '--start-rate', String(START_RATE), '--max-steps', '2', '--no-confirm');
  args.push('--step', '1s', '--warm-up', '500ms', '--out', out);
  // About a minute at load average 17; at 37 a first step of cold sends settled 17 s and 150 s was not enough. The
  // bound only stops a run that hangs.
  const cmd = spawnSync(process.execPath, ['bin/mqdrill.mjs', ...args], { encoding: 'utf8', timeout: 270_000 });
  output = `${cmd.stdout}\n${cmd.stderr}`;
  // The generator may be the limit on a busy machine (exit 6): the watching is what is tested.
  if (cmd.status !== ExitCode.OK && cmd.status !== ExitCode.CHECK_UNKNOWN) {
    throw new Error(`capacity ended with ${cmd.status}:\n${output}`);
  }
  report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as CapacityReport;
  run = { startMs: report.generatedMs - report.durationMs, endMs: report.generatedMs };
  // The run's own Prometheus has stopped; this one serves the TSDB the run left, scraping nothing.
  tsdb = await RunTsdb.open(out, join(dir, 'reader'));
}, 330_000);

afterAll(async () => {
  await tsdb?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('capacity --prometheus: the run folder holds what the capacity dashboard needs', () => {
  test('Prometheus scraped the harness and the broker for the whole search; the command says how to rerun it', () => {
    const config = readFileSync(join(out, 'prometheus', 'prometheus.yml'), 'utf8');
    expect(config).toContain('job_name: "mqdrill-harness"');
    expect(config).toContain('job_name: "mqdrill-broker"');
    expect(output).toMatch(/prometheus: http:\/\/127\.0\.0\.1:\d+ scraping the harness .* and 127\.0\.0\.1:\d+/);
    expect(output).toContain('prometheus stopped');
    expect(report.environment.command).toMatch(/ --prometheus$/);
    expect(report.steps.length).toBe(2);
  });

  test('every panel query of the capacity dashboard returns at least one series over the run', async () => {
    const queries = dashboardQueries(capacityDashboard());
    const panels = queries.filter((q) => q.where.includes(': panel '));
    expect(panels.length).toBeGreaterThan(8);
    const { failed, empty } = await (tsdb as RunTsdb).emptyQueries(queries, run);
    expect(failed, 'queries Prometheus rejected').toEqual([]);
    // A capacity run injects no fault: the fault-window annotation is valid and has nothing to draw.
    expect(empty, 'queries with no series over the run').toEqual(
      queries.filter((q) => q.where.includes(': annotation ')).map((q) => `${q.where}: ${q.expr}`),
    );
  });

  test('the scheduled rate holds the rate steps and nothing else', async () => {
    const span = Math.ceil((run.endMs - run.startMs) / 1000) + 10;
    const r = await (tsdb as RunTsdb).api('query', {
      query: `sum(mqdrill_load_scheduled_rate)[${span}s:1s]`,
      time: String(run.endMs / 1000 + 5),
    });
    const values = new Set((r.data.result[0]?.values ?? []).map(([, v]) => Number(v)));
    const steps = report.steps.map((s) => s.rate);
    // The warm-up run asks for the start rate (at most 50/s), like the first step.
    const allowed = new Set([0, Math.min(START_RATE, 50), ...steps]);
    expect(
      [...values].filter((v) => !allowed.has(v)),
      `values ${[...values]}, steps ${steps}`,
    ).toEqual([]);
    expect(
      [...values].some((v) => v > 0),
      `values ${[...values]}`,
    ).toBe(true);
  });
});

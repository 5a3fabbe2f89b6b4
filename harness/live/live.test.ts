/**
 * Live watching end to end: `mqdrill drill --prometheus` (a real drill on bundled broker processes behind a real
 * toxiproxy-server, the node driver on the official client, a real Prometheus from Debian's package) keeps the TSDB
 * in the run folder; a second Prometheus opened on that folder then answers, through its HTTP API:
 * - every panel query and Prometheus annotation of every dashboard (broker, drill, capacity), evaluated with
 *   query_range over the run, returns at least one series;
 * - mqdrill_fault_active is 1 exactly during the fault window of the ledger (within a scrape interval), 0 outside.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { allDashboards } from '../../dashboards/cli.ts';
import { dashboardQueries } from '../../dashboards/panels.ts';
import { ExitCode } from '../../lib/exit-codes.ts';
import { eventually } from '../../test/kit/index.ts';
import { DEFAULT_SCRAPE_INTERVAL_MS } from './prometheus.ts';
import { RunTsdb, type RunWindow } from './run-tsdb.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-live-'));
const out = join(dir, 'run');
let tsdb: RunTsdb | undefined;
let drillOutput = '';

let run: RunWindow = { startMs: 0, endMs: 0 };
let fault: RunWindow = { startMs: 0, endMs: 0 };

/** The run's window (plan start to stop end) and its one fault's window (fs to fe), from the drill's ledger. */
function windowsFromLedger(): void {
  const records = readFileSync(join(out, 'ledger-drill.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as { t: string; ts: number; n?: string; s?: string });
  const ts = (pred: (r: (typeof records)[number]) => boolean) => records.find(pred)?.ts ?? Number.NaN;
  run = { startMs: ts((r) => r.t === 'ph' && r.n === 'plan'), endMs: records.at(-1)?.ts ?? Number.NaN };
  fault = { startMs: ts((r) => r.t === 'fs'), endMs: ts((r) => r.t === 'fe') };
}

beforeAll(async () => {
  const drill = spawnSync(
    process.execPath,
    ['bin/mqdrill.mjs', 'drill', 'harness/live/testdata/watched.ts', '--prometheus', '--out', out],
    { encoding: 'utf8', timeout: 150_000 },
  );
  drillOutput = `${drill.stdout}\n${drill.stderr}`;
  if (drill.status !== ExitCode.OK) throw new Error(`the drill ended with ${drill.status}:\n${drillOutput}`);
  windowsFromLedger();
  // The run's own Prometheus has stopped; this one serves the TSDB the run left, scraping nothing.
  tsdb = await RunTsdb.open(out, join(dir, 'reader'));
}, 200_000);

afterAll(async () => {
  await tsdb?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('drill --prometheus: the run folder holds what every dashboard needs', () => {
  test('the generated config scrapes the harness and the broker; the drill said where Prometheus ran', () => {
    const config = readFileSync(join(out, 'prometheus', 'prometheus.yml'), 'utf8');
    expect(config).toContain('job_name: "mqdrill-harness"');
    expect(config).toContain('job_name: "mqdrill-broker"');
    expect(existsSync(join(out, 'prometheus', 'data'))).toBe(true);
    expect(drillOutput).toMatch(/prometheus: http:\/\/127\.0\.0\.1:\d+ scraping the harness/);
    expect(drillOutput).toContain('prometheus stopped');
  });

  test('every panel query and annotation of every dashboard returns at least one series over the run', async () => {
    const queries = allDashboards().flatMap(dashboardQueries);
    expect(queries.length).toBeGreaterThan(20);
    // The run's Prometheus scraped once more after the drill's stop (the gates are set at the check): its end + 10 s.
    const { failed, empty } = await (tsdb as RunTsdb).emptyQueries(queries, run);
    expect(failed, 'queries Prometheus rejected').toEqual([]);
    expect(empty, 'queries with no series over the run').toEqual([]);
  });

  test('mqdrill_fault_active is 1 exactly during the fault window (within a scrape interval), else 0', async () => {
    expect(fault.endMs).toBeGreaterThan(fault.startMs);
    // The raw samples with their scrape times (a range selector at the end of the run).
    const span = Math.ceil((run.endMs - run.startMs) / 1000) + 5;
    const r = await (tsdb as RunTsdb).api('query', {
      query: `mqdrill_fault_active{fault="latency-broker-0",target="broker-0"}[${span}s]`,
      time: String(run.endMs / 1000 + 2),
    });
    const samples = (r.data.result[0]?.values ?? []).map(([t, v]) => ({ ms: t * 1000, v: Number(v) }));
    expect(samples.length, 'samples of the fault series').toBeGreaterThan(5);
    // A sample stamped s was read from the endpoint at some r in [s, s + scrape timeout] (the timeout is the
    // interval): a state change in between may show either value, so the edges allow that much.
    const slackMs = DEFAULT_SCRAPE_INTERVAL_MS;
    const wrong = samples.filter(
      (s) =>
        (s.ms < fault.startMs - slackMs && s.v !== 0) ||
        (s.ms > fault.endMs + slackMs && s.v !== 0) ||
        (s.ms > fault.startMs + slackMs && s.ms < fault.endMs - slackMs && s.v !== 1),
    );
    expect(wrong, `fault window ${fault.startMs}..${fault.endMs}`).toEqual([]);
    expect(
      samples.filter((s) => s.ms > fault.startMs + slackMs && s.ms < fault.endMs - slackMs).length,
    ).toBeGreaterThan(0);
    const ones = samples.filter((s) => s.v === 1);
    const interval = DEFAULT_SCRAPE_INTERVAL_MS + slackMs;
    expect(ones.length).toBeGreaterThan(0);
    expect((ones[0]?.ms ?? 0) - fault.startMs).toBeLessThanOrEqual(interval);
    expect(fault.endMs - (ones.at(-1)?.ms ?? 0)).toBeLessThanOrEqual(interval);
    expect(samples.some((s) => s.ms < fault.startMs && s.v === 0)).toBe(true);
    expect(samples.some((s) => s.ms > fault.endMs && s.v === 0)).toBe(true);
  });
});

describe('drill --prometheus: Ctrl-C stops Prometheus with the drill', () => {
  test('SIGINT during the load: exit 130, Prometheus no longer answers, its data stays in the run folder', async () => {
    const out2 = join(dir, 'interrupted');
    const child = spawn(
      process.execPath,
      ['bin/mqdrill.mjs', 'drill', 'harness/live/testdata/watched.ts', '--prometheus', '--out', out2],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = /prometheus: (http:\/\/127\.0\.0\.1:\d+)/;
    const loading = await eventually(() => url.test(stderr) && stderr.includes('warm-up'), 60_000, 100);
    if (!loading) child.kill('SIGKILL');
    expect(loading, stderr).toBe(true);
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(killer);
    expect(code, stderr).toBe(ExitCode.INTERRUPTED);
    const promUrl = url.exec(stderr)?.[1] ?? '';
    const answer = await fetch(`${promUrl}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch((e: Error) => e);
    expect(answer, 'Prometheus still answers after the drill ended').toBeInstanceOf(Error);
    expect(existsSync(join(out2, 'prometheus', 'data'))).toBe(true);
    expect(stderr).toContain('prometheus stopped');
  }, 120_000);
});

/**
 * Drills end to end with real parts on loopback: bundled broker processes, a real toxiproxy-server in front of every
 * node, the node driver in worker threads. Each built-in scenario in its short form passes with its faults; the
 * canary broker (it acknowledges but drops one send in 25) makes the drill fail and name `lost`; an invalid spec is
 * rejected with every problem listed before anything boots.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { formatGateValue, formatMs } from '../../reports/format.ts';
import type { Report } from '../../reports/schema.ts';
import { spawnBroker } from '../../test/kit/index.ts';
import { goDriverLauncher } from '../load/launchers.ts';
import { type DrillCommandOptions, prepareDrill } from './cli.ts';
import { type DrillResult, runDrill } from './run.ts';
import type { DrillSpec } from './spec.ts';

const cli = resolve(import.meta.dirname, '../../bin/mqdrill.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mqdrill-drill-it-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function drill(
  name: string,
  overrides: DrillCommandOptions = {},
): Promise<{ spec: DrillSpec; result: DrillResult; lines: string[] }> {
  const lines: string[] = [];
  const spec = await prepareDrill(name, overrides, (t) => lines.push(t));
  expect(lines).toEqual([]);
  const result = await runDrill({ spec: spec as DrillSpec, out: join(dir, name), say: (l) => lines.push(l) });
  return { spec: spec as DrillSpec, result, lines };
}

function expectPassed({ result, lines }: { result: DrillResult; lines: string[] }): void {
  const report = result.report;
  const failing = [
    ...(report?.anomalies ?? []).filter((a) => a.verdict !== 'pass').map((a) => `${a.name}: ${a.examples[0]?.detail}`),
    ...(report?.gates ?? []).filter((g) => g.status !== 'pass').map((g) => `${g.source} (${g.actual ?? g.note})`),
  ];
  expect({ exitCode: result.exitCode, failing }, lines.join('\n')).toEqual({ exitCode: 0, failing: [] });
  expect(result.drainMs).toBeDefined();
  expect(result.reportPaths.map((p) => p.split('/').at(-1))).toEqual([
    'report.json',
    'junit.xml',
    'summary.md',
    'report.html',
  ]);
  expect(report?.faults.length).toBeGreaterThan(0);
  expect(report?.faults.every((f) => f.endMs !== undefined)).toBe(true);
  const phases = report?.phases.map((p) => p.name) ?? [];
  for (const phase of ['plan', 'boot', 'provision', 'warm-up', 'faults', 'heal', 'drain-wait', 'check']) {
    expect(phases).toContain(phase);
  }
}

const htmlEscape = (t: string) =>
  t.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
const xmlEscape = (t: string) =>
  t.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/**
 * One run, one value per figure: the drain time, every gate's measured value, the send p99 and each recovery time are
 * the same in the console's result, report.json, summary.md, report.html and junit.xml.
 */
function expectOneValuePerFigure(stdout: string, out: string): void {
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
  const summary = readFileSync(join(out, 'summary.md'), 'utf8');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
  // The drain: one time, the checker's, everywhere (and the drain gate measures that same time).
  expect(report.drainMs).toBeDefined();
  const drain = formatMs(report.drainMs);
  expect(stdout).toContain(`drained in ${drain} (last ack after the drain start)`);
  expect(summary).toContain(`drained in ${drain}.`);
  expect(html).toContain(`<div class="card-title">Drain</div><div class="card-value">${drain}</div>`);
  const drainGate = report.gates.find((g) => g.source === 'drain < 30s');
  expect(drainGate?.actual).toBe(report.drainMs);
  // Every gate: the same measured value in all five places.
  expect(report.gates.length).toBeGreaterThan(5);
  for (const g of report.gates) {
    const value = formatGateValue(g);
    const consoleRow = stdout.split('\n').find((line) => line.includes(`gate ${g.source}`));
    expect(consoleRow, g.source).toMatch(new RegExp(`\\s${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`));
    expect(summary, g.source).toContain(`| \`${g.source}\` | ${value} |`);
    expect(html, g.source).toContain(
      `<code>${htmlEscape(g.source)}</code></td><td class="num">${htmlEscape(value)}</td>`,
    );
    const junitCase = junit.split('<testcase ').find((c) => c.startsWith(`name="${xmlEscape(`gate ${g.source}`)}"`));
    expect(junitCase, g.source).toContain(`measured ${xmlEscape(value)}, bound`);
  }
  // The p99 of sends: the spec's gate, the load threshold and the latency table state one number.
  const p99 = report.latencies.send_duration?.p99;
  const p99Gates = report.gates.filter((g) => g.metric === 'send_duration' && g.expression.startsWith('p(99)'));
  expect(p99Gates).toHaveLength(2);
  for (const g of p99Gates) expect(g.actual).toBe(p99);
  for (const l of Object.values(report.latencies)) {
    expect(l.p99).toBeLessThanOrEqual(l.p999);
    expect(l.p999).toBeLessThanOrEqual(l.max);
  }
  // Recovery after each fault: the liveness table and its gate agree, in every file.
  for (const f of report.liveness?.faults ?? []) {
    const gate = report.gates.find((g) => g.metric === 'recovery' && g.source.includes(f.name));
    expect(gate?.actual).toBe(f.recoveryMs);
    if (f.recoveryMs !== undefined) expect(summary).toContain(`| ${formatMs(f.recoveryMs)} |`);
  }
}

describe('drill: built-in scenarios against the bundled broker, with faults', () => {
  test('flash-sale: a 10x burst with latency on the broker drains within the SLO, nothing lost', async () => {
    const run = await drill('flash-sale');
    expectPassed(run);
    expect(run.result.report?.gates.find((g) => g.source === 'drain < 30s')?.status).toBe('pass');
  }, 120_000);

  test('ordered: FIFO lifecycles keep their order through a broker kill and consumer crashes', async () => {
    // The kill's heal is a broker restart, and the clients reconnect with backoff: both take seconds on a busy machine.
    // 16 s of load (fault times do not scale) leave 11.5 s after the scheduled heal to see sends and receives recover.
    const run = await drill('ordered', { duration: '16s' });
    const recovery = run.result.report?.gates.find((g) => g.metric === 'recovery');
    expect(recovery?.status, recovery?.note).toBe('pass');
    expectPassed(run);
    const order = run.result.report?.anomalies.find((a) => a.name === 'order');
    expect(order?.checked).toBeGreaterThan(0);
    expect(run.result.report?.counts.sends_unknown ?? 0).toBeGreaterThanOrEqual(0);
  }, 120_000);

  test('retry-storm: poison dead-letters, transient failures are processed, amplification reported', async () => {
    const run = await drill('retry-storm');
    expectPassed(run);
    const deadLetter = run.result.report?.anomalies.find((a) => a.name === 'dead-letter');
    expect(deadLetter?.checked).toBeGreaterThan(0);
    const meta = run.result.report?.run.meta.drill as { retryAmplification: number };
    expect(meta.retryAmplification).toBeGreaterThan(1);
  }, 120_000);

  test('delayed: no reminder early or late, none lost, under latency', async () => {
    const run = await drill('delayed');
    expectPassed(run);
    expect(run.result.report?.anomalies.find((a) => a.name === 'delay')?.checked).toBeGreaterThan(0);
  }, 120_000);

  test('transactional: no rolled-back message delivered, every committed one is', async () => {
    const run = await drill('transactional');
    expectPassed(run);
    expect(run.result.report?.anomalies.find((a) => a.name === 'transaction')?.checked).toBeGreaterThan(0);
  }, 120_000);

  test('fan-out: three groups with TAG and SQL92 filters on two nodes each get what they select', async () => {
    const run = await drill('fan-out');
    expectPassed(run);
    expect(run.result.report?.anomalies.find((a) => a.name === 'filter')?.checked).toBeGreaterThan(0);
  }, 120_000);
});

describe('drill: the Go driver', () => {
  test('flash-sale driven by the official Go client (mqdrill-go-driver) passes like the node driver', async () => {
    const lines: string[] = [];
    const spec = await prepareDrill('flash-sale', {}, (t) => lines.push(t));
    const out = join(dir, 'flash-sale-go');
    const result = await runDrill({
      spec: spec as DrillSpec,
      out,
      launcher: goDriverLauncher(),
      say: (l) => lines.push(l),
    });
    expectPassed({ result, lines });
    expect(result.report?.anomalies.find((a) => a.name === 'lost')?.checked).toBeGreaterThan(100);
  }, 120_000);
});

describe('drill: an external target', () => {
  test('a broker the drill did not boot, with a fault on its access point through toxiproxy: passes', async () => {
    const broker = await spawnBroker(mkdtempSync(join(tmpdir(), 'mqdrill-external-')));
    try {
      const specFile = join(dir, 'external.json');
      const spec = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata/canary.json'), 'utf8'));
      spec.drill = {
        description: 'a short load against an external endpoint, with latency on its access point',
        target: { kind: 'external', endpoint: broker.endpoints, adminEndpoint: broker.endpoints },
        warmUp: '1s',
        faults: [{ kind: 'latency', target: 'external', latencyMs: 30, at: '1s', duration: '2s' }],
        gates: ['lost == 0'],
        drain: { deadline: '15s' },
      };
      writeFileSync(specFile, JSON.stringify(spec));
      const lines: string[] = [];
      const prepared = await prepareDrill(specFile, {}, (t) => lines.push(t));
      expect(lines).toEqual([]);
      const out = join(dir, 'external');
      const result = await runDrill({ spec: prepared as DrillSpec, out, say: (l) => lines.push(l) });
      expectPassed({ result, lines });
      expect(existsSync(join(out, 'annotations.json'))).toBe(true);
    } finally {
      broker.child.kill('SIGTERM');
    }
  }, 120_000);
});

describe('drill: the command', () => {
  test('canary: a broker that swaps two messages of a FIFO group fails the drill, exit 1, naming order', () => {
    const out = join(dir, 'canary-order');
    const spec = join(import.meta.dirname, 'testdata/canary-order.json');
    const run = spawnSync(process.execPath, [cli, 'drill', spec, '--out', out], { encoding: 'utf8', timeout: 90_000 });
    expect(run.status, run.stderr).toBe(ExitCode.GUARANTEE_VIOLATED);
    expect(run.stdout).toMatch(/^FAIL: guarantee violated: order\b/m);
    expect(run.stdout).toMatch(/^\s+fail\s+anomaly order\s+[1-9]\d* of \d+$/m);
    expect(run.stdout).toMatch(/^\s+pass\s+anomaly lost\s+0 of \d+$/m);
    expectOneValuePerFigure(run.stdout, out);
  }, 120_000);

  test('canary: a broker that drops acknowledged sends fails the drill, exit 1, naming lost', () => {
    const out = join(dir, 'canary');
    const spec = join(import.meta.dirname, 'testdata/canary.json');
    const run = spawnSync(process.execPath, [cli, 'drill', spec, '--out', out], { encoding: 'utf8', timeout: 90_000 });
    expect(run.status, run.stderr).toBe(ExitCode.GUARANTEE_VIOLATED);
    expect(run.stdout).toMatch(/^FAIL: guarantee violated: lost\b/m);
    expect(run.stdout).toMatch(/^\s+fail\s+anomaly lost\s+\d+ of \d+$/m);
    expect(run.stdout).toContain(`report: ${join(out, 'report.html')}`);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  }, 120_000);

  test('an invalid spec: every problem listed, exit 3, nothing booted', () => {
    const out = join(dir, 'invalid');
    const spec = join(import.meta.dirname, 'testdata/invalid.json');
    const run = spawnSync(process.execPath, [cli, 'drill', spec, '--out', out, '--seed', 'x'], { encoding: 'utf8' });
    expect(run.status).toBe(ExitCode.INVALID_SPEC);
    expect(run.stderr).toContain('(14 problems; nothing was started)');
    expect(run.stderr).toContain('  - --seed: must be a whole number >= 0 (got "x")');
    expect(run.stderr).toContain('  - drill.drian: unknown option');
    expect(run.stderr).not.toContain('boot');
    expect(existsSync(out)).toBe(false);
  });
});

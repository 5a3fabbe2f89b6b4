/**
 * The containers target end to end, with real parts: dockerd, the images `mqdrill setup` builds, the bundled broker
 * and Apache RocketMQ 5.3.3 in containers on a network of their own, faults in the containers' namespaces (iptables,
 * tc or the in-namespace latency proxy) and docker pause/stop, the node driver (official Node.js client) on the host.
 *
 *   - `ordered` and `retry-storm` (short form) on 2 bundled broker containers, with a pause of every node, a
 *     node-to-node partition, a client-to-node partition and a stop/start of every node: pass (timing gates aside,
 *     see timingGates), nothing lost, the pause, the client-to-node partition and the stop shown to hit in the ledger
 *     (sends failed or slowed during them); the node-to-node partition is verified when injected (each node's
 *     namespace no longer reaches the other's port) and reported so (`verified-at-inject`), as bundled nodes do not
 *     talk to each other and no client operation crosses that link;
 *   - `flash-sale` (short form) on a name server and 2 RocketMQ broker+proxy containers, with a latency fault on
 *     every broker shown to hit;
 *   - a drill interrupted with SIGINT exits 130;
 *   - after each of them no container, network or volume of its run is left (`docker ps -a`, `network ls`,
 *     `volume ls` filtered by the owner label and the run id the drill prints).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { ensureDockerd } from '../../test/kit/dockerd.ts';
import { listOwned } from '../deploy/containers/docker.ts';
import { type DrillCommandOptions, prepareDrill } from './cli.ts';
import type { FaultImpact } from './fault-impact.ts';
import { loadDrillModule, resolveDrill } from './load-spec.ts';
import { type DrillResult, runDrill } from './run.ts';
import { type DrillSpec, validateDrill } from './spec.ts';

const cli = resolve(import.meta.dirname, '../../bin/mqdrill.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mqdrill-containers-it-'));
let stopDockerd: () => Promise<void> = async () => {};
beforeAll(async () => {
  stopDockerd = await ensureDockerd();
}, 90_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await stopDockerd();
}, 30_000);

function faultsFile(name: string, faults: unknown[]): string {
  const file = join(dir, `${name}-faults.json`);
  writeFileSync(file, JSON.stringify(faults));
  return file;
}

async function drill(name: string, overrides: DrillCommandOptions): Promise<{ result: DrillResult; lines: string[] }> {
  const lines: string[] = [];
  const spec = await prepareDrill(name, overrides, (t) => lines.push(t));
  expect(lines).toEqual([]);
  const result = await runDrill({ spec: spec as DrillSpec, out: join(dir, name), say: (l) => lines.push(l) });
  return { result, lines };
}

function expectPassed({ result, lines }: { result: DrillResult; lines: string[] }, tolerated?: RegExp): void {
  const report = result.report;
  const failing = [
    ...(report?.anomalies ?? []).filter((a) => a.verdict !== 'pass').map((a) => `${a.name}: ${a.examples[0]?.detail}`),
    ...(report?.gates ?? []).filter((g) => g.status !== 'pass').map((g) => `${g.source} (${g.actual ?? g.note})`),
  ].filter((f) => !tolerated?.test(f));
  const toleratedExit: number[] = [ExitCode.GUARANTEE_VIOLATED, ExitCode.THRESHOLDS_FAILED, ExitCode.CHECK_UNKNOWN];
  const exitCode = tolerated && failing.length === 0 && toleratedExit.includes(result.exitCode) ? 0 : result.exitCode;
  expect({ exitCode, failing }, lines.join('\n')).toEqual({ exitCode: 0, failing: [] });
  expect(report?.anomalies.find((a) => a.name === 'lost')?.count, 'lost').toBe(0);
}

function impactOf(result: DrillResult): FaultImpact[] {
  const meta = result.report?.run.meta.drill as { faultImpact?: FaultImpact[] } | undefined;
  return meta?.faultImpact ?? [];
}

/**
 * The containers run id a drill printed. Leftovers are judged per run: other tests (net-faults.test.ts, in parallel
 * in CI) and other users of the same dockerd have objects of their own under the same owner label.
 */
function runIdOf(text: string): string {
  const id = /containers run (\S+):/.exec(text)?.[1];
  expect(id, `no "containers run" line in:\n${text}`).toBeDefined();
  return id as string;
}

async function expectNothingLeft(output: string | string[]): Promise<void> {
  const runId = runIdOf(Array.isArray(output) ? output.join('\n') : output);
  expect(await listOwned(runId)).toEqual({ containers: [], networks: [], volumes: [] });
}

/**
 * broker-1 cut from the clients (and from broker-0) for 2 s, every node paused, the two nodes cut from each other,
 * every node stopped and started again on its volume, with 12 s of load after the stop's nominal heal. Each pause
 * outlasts the 3 s send timeout, so sends made during it fail: its hit does not depend on how much slower than the
 * baseline a busy machine's sends were (a shorter pause hits only by slowing the sends, which a busy baseline can
 * hide). The client-to-node partition reaches only the sends to broker-1 (TCP retransmits them after the heal): it
 * comes first, while every FIFO message group still sends (after the pause, ordered's groups with a send stuck on a
 * paused node sent next to nothing: 3 sends crossed a later 2 s partition), and hits by the sends that failed or
 * by the share it slowed (fault-impact.ts).
 *
 * Judged only on what the faults guarantee (the guarantees: nothing lost, order, nothing dead-lettered, redeliveries
 * seen, drained; and the hits). Not judged, because they measure the machine rather than the broker:
 *   - retry-storm's send p99 < 1 s (its gate and its threshold, over the whole run): every send made while both nodes
 *     are stopped waits out the restart (median 1.1 s in CI), and whether those sends pass 1 % of the run depends on
 *     how fast two containers restart at that moment (a CI run failed on it, p99 1.9 s, nothing lost);
 *   - recovery after each fault < 10 s: the faults follow each other within 10 s, so a recovery window runs into the
 *     next fault (ordered failed "recovery after partition-broker-0~broker-1" at 12.2 s: the stop came 6.5 s after
 *     it), and the stop's heal restarts two containers one after the other, which took from 3 s to past the
 *     producers' end on a busy machine (then the gate is unknown: no load left to judge);
 *   - the share of sends ending unknown (3 s timeouts) outside faults: it measures how starved the clients and
 *     brokers were (33-44 % at a load average of 25-30 with 2 cores, nothing lost).
 */
const timingGates = /^(send_duration: p\(99\)|recovery after |send_unknown_share outside faults )/;
function bundledFaults(): unknown[] {
  return [
    { kind: 'partition', target: 'broker-1', at: '500ms', duration: '2s' },
    { kind: 'pause', target: 'all', at: '3s', duration: '3500ms' },
    { kind: 'partition', target: 'broker-0~broker-1', at: '7s', duration: '1s' },
    { kind: 'stop', target: 'all', at: '8500ms', duration: '1500ms' },
  ];
}

describe('containers target: bundled broker, 2 nodes', () => {
  for (const name of ['ordered', 'retry-storm'] as const) {
    test(`${name}: pass under pause, partitions, stop/start; each hit or (node-to-node) verified`, async () => {
      const run = await drill(name, {
        target: 'containers',
        broker: 'bundled',
        nodes: 2,
        duration: '22s',
        faults: faultsFile(name, bundledFaults()),
      });
      expectPassed(run, timingGates);
      // Hit: sends failed or slowed during it (the ledger). The node-to-node partition cannot show in the ledger; its
      // probe at inject proved it in force, and it says so rather than "hit" or "no visible effect".
      const impact = impactOf(run.result).map((i) => [i.name, i.status]);
      expect(impact, run.lines.join('\n')).toEqual([
        ['partition-broker-1', 'hit'],
        ['pause-all', 'hit'],
        ['partition-broker-0~broker-1', 'verified-at-inject'],
        ['stop-all', 'hit'],
      ]);
      expect(run.lines.join('\n')).toMatch(/partition-broker-0~broker-1: verified at inject \(no client operation/);
      await expectNothingLeft(run.lines);
    }, 300_000);
  }
});

describe('containers target: RocketMQ, a name server and 2 broker+proxy containers', () => {
  test('flash-sale: nothing lost with a latency fault on every broker, and the fault hits', async () => {
    // As in the rocketmq target's tests, the scenario's timing gates (drain < 30 s, send p99 < 2 s) are left to the
    // bundled broker: three JVMs on a shared 2-core machine are not timed reliably. The guarantee gates stay.
    // The latency is 600 ms (no jitter): every send during it waits at least that long, far above the spread of a
    // busy machine's baseline (sends took 385 ms at the median outside faults once, and a 200 ms fault missed).
    // The timing gates above are reported, not required, here too: the unknown-send share outside faults failed at
    // 20 % once at a load average of 30, and recovery after the fault was unknown once (no send had succeeded before
    // it: the three JVMs were starved), nothing lost either time.
    const { path } = resolveDrill('flash-sale');
    const module = await loadDrillModule(path);
    const latency = { kind: 'latency', target: 'all', latencyMs: 600, jitterMs: 0, at: '2s', duration: '4s' };
    const drillSection = { ...(module.drill as object), gates: ['lost == 0'], faults: [latency] };
    const options = { ...(module.options as object), thresholds: {} };
    const overrides = { target: 'containers', broker: 'rocketmq', nodes: 2, rateScale: '0.1' };
    const { spec, errors } = validateDrill('flash-sale', path, { options, drill: drillSection }, overrides);
    expect(errors).toEqual([]);
    const lines: string[] = [];
    const out = join(dir, 'flash-sale');
    const result = await runDrill({ spec: spec as DrillSpec, out, say: (l) => lines.push(l) });
    const run = { result, lines };
    expectPassed(run, timingGates);
    expect(result.report?.anomalies.find((a) => a.name === 'lost')?.checked).toBeGreaterThan(100);
    const impact = impactOf(result);
    expect(
      impact.map((i) => [i.name, i.hit]),
      lines.join('\n'),
    ).toEqual([['latency-all', true]]);
    await expectNothingLeft(lines);
  }, 600_000);
});

describe('containers target: interrupted', () => {
  test('SIGINT during the load exits 130 and leaves no container, network or volume', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn(
      process.execPath,
      [cli, 'drill', 'ordered', '--target', 'containers', '--nodes', '2', '--faults', 'none', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    const loading = new Promise<void>((resolveLoading, reject) => {
      const timer = setTimeout(() => reject(new Error(`no load phase within 120 s:\n${stderr}`)), 120_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('load with faults')) {
          clearTimeout(timer);
          resolveLoading();
        }
      });
    });
    await loading;
    expect((await listOwned(runIdOf(stderr))).containers.length).toBe(2);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code, stderr).toBe(ExitCode.INTERRUPTED);
    await expectNothingLeft(stderr);
  }, 300_000);
});

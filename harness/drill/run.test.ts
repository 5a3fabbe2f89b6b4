/**
 * The drill's phases without a real broker: the load engine drives the in-memory broker through inline drivers, the
 * target is a fake whose backlog is whatever the test says, and the fault injectors only record what they are told.
 * Covers the phase order in the ledger, heal before drain, the drain deadline and Ctrl-C (abort → heal, stop, 130).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { systemClock } from '../../lib/clock.ts';
import { ExitCode } from '../../lib/exit-codes.ts';
import type { Target } from '../deploy/types.ts';
import { MemoryBroker } from '../load/driver/memory-client.ts';
import { inlineLauncher } from '../load/launchers.ts';
import type { BootTarget } from './boot.ts';
import { runDrill } from './run.ts';
import { type DrillSpec, validateDrill } from './spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-drill-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function spec(drill: Record<string, unknown> = {}): DrillSpec {
  const { spec, errors } = validateDrill('memory', 'memory.ts', {
    options: {
      scenarios: {
        orders: {
          executor: 'constant-arrival-rate',
          rate: 100,
          duration: '1500ms',
          preAllocatedVUs: 8,
          role: 'producer',
          message: { topic: 'orders' },
        },
        billing: {
          executor: 'constant-vus',
          vus: 1,
          duration: '1s',
          role: 'consumer',
          consumer: { group: 'billing', topic: 'orders', awaitDuration: '100ms' },
        },
      },
      drain: { idle: '300ms' },
    },
    drill: {
      warmUp: '500ms',
      faults: [{ kind: 'latency', target: 'broker-0', latencyMs: 10, at: '200ms', duration: '300ms' }],
      gates: ['lost == 0'],
      drain: { deadline: '5s' },
      ...drill,
    },
  });
  expect(errors).toEqual([]);
  return spec as DrillSpec;
}

function fakeBoot(events: string[], backlog: () => number, inflight: number | null = 0): BootTarget {
  return async () => {
    const target: Target = {
      kind: 'bundled',
      nodes: [{ name: 'broker-0', endpoint: 'memory:1', directEndpoint: 'memory:1' }],
      access: { endpoint: 'memory:1', tls: false, namespace: '' },
      provision: async () => void events.push('provision'),
      backlog: async (groups) =>
        groups.map((group) => ({ topic: 'orders', group, ready: backlog(), inflight, retry: 0, dlq: 0 })),
      counters: async () => undefined,
      stop: async () => void events.push('stop'),
    };
    const network = {
      inject: async () => void events.push('inject'),
      heal: async () => void events.push('heal'),
    };
    return { target, injectors: { network }, stop: async () => void events.push('stop') };
  };
}

function phaseOrder(out: string): string[] {
  return readFileSync(join(out, 'ledger-drill.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => JSON.parse(line))
    .filter((r) => r.t === 'ph' && r.s === 'start')
    .map((r) => r.n);
}

describe('drill phases against the in-memory broker', () => {
  test('every phase in order in the ledger; the fault is healed before the drain', async () => {
    const events: string[] = [];
    const out = join(dir, 'pass');
    const result = await runDrill({
      spec: spec(),
      out,
      say: () => {},
      launcher: inlineLauncher(systemClock, new MemoryBroker(systemClock)),
      boot: fakeBoot(events, () => 0),
    });
    const notPassed = result.report?.gates.filter((g) => g.status !== 'pass');
    expect(result.exitCode, `gates not passed: ${JSON.stringify(notPassed)}`).toBe(ExitCode.OK);
    expect(events).toEqual(['provision', 'inject', 'heal', 'stop']);
    expect(phaseOrder(out)).toEqual([
      'plan',
      'boot',
      'provision',
      'warm-up',
      'faults',
      'heal',
      'drain-wait',
      'check',
      'report',
      'stop',
    ]);
    expect(result.drainMs).toBeGreaterThanOrEqual(0);
    expect(result.report?.faults.map((f) => f.name)).toEqual(['latency-broker-0']);
  }, 30_000);

  test('a backlog that never reaches zero: the drain deadline passes and the drain check fails (exit 1)', async () => {
    const out = join(dir, 'stuck');
    const result = await runDrill({
      spec: spec({ drain: { deadline: '1s' } }),
      out,
      say: () => {},
      launcher: inlineLauncher(systemClock, new MemoryBroker(systemClock)),
      boot: fakeBoot([], () => 5),
    });
    expect(result.exitCode).toBe(ExitCode.GUARANTEE_VIOLATED);
    expect(result.drained).toBe(false);
    expect(result.report?.anomalies.find((a) => a.name === 'drain')?.verdict).toBe('fail');
    expect(result.report?.gates.find((g) => g.metric === 'drain_ended')?.status).toBe('fail');
  }, 30_000);

  test('a target that cannot count in-flight messages: the drain never claims backlog 0 for it', async () => {
    // Real RocketMQ 5.3 reports ready and retry but not in-flight (null): unknown, never added as 0.
    const lines: string[] = [];
    const out = join(dir, 'inflight-unknown');
    const result = await runDrill({
      spec: spec(),
      out,
      say: (line) => lines.push(line),
      launcher: inlineLauncher(systemClock, new MemoryBroker(systemClock)),
      boot: fakeBoot([], () => 0, null),
    });
    expect(result.exitCode, lines.join('\n')).toBe(ExitCode.OK);
    expect(lines).not.toContainEqual(expect.stringMatching(/backlog 0/));
    expect(lines).toContainEqual(expect.stringMatching(/^drained: ready \+ retry 0 .*in-flight count is unknown/));
    const gate = result.report?.gates.find(
      (g) => g.metric === 'broker_backlog' && g.expression === 'ready + retry == 0',
    );
    expect(gate).toMatchObject({ status: 'pass' });
    expect(gate?.note).toMatch(/in-flight .* unknown/);
    const samples = readFileSync(join(out, 'ledger-drill.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .filter((line) => JSON.parse(line).t === 'bl');
    expect(samples, 'a broker backlog sample from an unknown in-flight count').toEqual([]);
  }, 30_000);

  test('ready messages with the in-flight count unknown: not drained, the deadline passes (exit 1)', async () => {
    const lines: string[] = [];
    const result = await runDrill({
      spec: spec({ drain: { deadline: '1s' } }),
      out: join(dir, 'inflight-unknown-stuck'),
      say: (line) => lines.push(line),
      launcher: inlineLauncher(systemClock, new MemoryBroker(systemClock)),
      boot: fakeBoot([], () => 3, null),
    });
    expect(result.exitCode).toBe(ExitCode.GUARANTEE_VIOLATED);
    expect(result.drained).toBe(false);
    expect(lines).toContainEqual(expect.stringMatching(/broker backlog ready \+ retry 3, in-flight unknown/));
  }, 30_000);

  test('Ctrl-C during the load: every fault healed, the target stopped, exit 130, no report', async () => {
    const events: string[] = [];
    const controller = new AbortController();
    const result = await runDrill({
      spec: spec({ faults: [{ kind: 'latency', target: 'broker-0', latencyMs: 10, at: '100ms', duration: '5s' }] }),
      out: join(dir, 'interrupted'),
      signal: controller.signal,
      say: (line) => {
        if (line.startsWith('fault in force')) controller.abort();
      },
      launcher: inlineLauncher(systemClock, new MemoryBroker(systemClock)),
      boot: fakeBoot(events, () => 0),
    });
    expect(result.exitCode).toBe(ExitCode.INTERRUPTED);
    expect(events).toEqual(['provision', 'inject', 'heal', 'stop']);
    expect(result.report).toBeUndefined();
  }, 30_000);
});

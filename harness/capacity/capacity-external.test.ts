/**
 * `mqdrill capacity --target external`, the cheapest non-bundled target: a bundled broker process the test starts
 * stands for someone else's broker, given through MQDRILL_ENDPOINT and the spec's adminEndpoint (so the run can
 * create its suffixed topic). The command reaches it through a Toxiproxy proxy named `external`, as a drill does,
 * runs two tiny steps, the drain probe and the lost check, and writes a report naming the external target.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { type BrokerProcess, spawnBroker, waitForExit } from '../../test/kit/index.ts';
import type { CapacityReport } from './report.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-capacity-external-'));
let broker: BrokerProcess | undefined;

beforeAll(async () => {
  broker = await spawnBroker(join(dir, 'broker'), [], 30_000);
}, 60_000);

afterAll(async () => {
  if (broker) {
    broker.child.kill('SIGTERM');
    await waitForExit(broker.child).catch(() => broker?.child.kill('SIGKILL'));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('mqdrill capacity --target external', () => {
  test('measures a broker it did not boot: two steps, drain probe, nothing lost, report says external', () => {
    const endpoint = (broker as BrokerProcess).endpoints;
    const spec = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'steady.json'), 'utf8'));
    spec.drill.target = { adminEndpoint: endpoint };
    const specFile = join(dir, 'external.json');
    writeFileSync(specFile, JSON.stringify(spec));
    const slo = join(dir, 'slo.json');
    writeFileSync(slo, JSON.stringify({ sendP99Ms: 1000, errorShareMax: 0.05, throughputShortfallMax: 0.5 }));
    const out = join(dir, 'run');
    const args = ['capacity', specFile, '--target', 'external', '--slo', slo, '--start-rate', '40'];
    args.push('--max-steps', '2', '--no-confirm', '--step', '1s', '--warm-up', '500ms', '--out', out);
    const cmd = spawnSync(process.execPath, ['bin/mqdrill.mjs', ...args], {
      encoding: 'utf8',
      // 50 s at load average 20, 86 s at 37: the bound only stops a run that hangs.
      timeout: 270_000,
      env: { ...process.env, MQDRILL_ENDPOINT: endpoint },
    });
    const output = `${cmd.stdout}\n${cmd.stderr}`;
    // The generator may be the limit on a busy machine (exit 6): what is tested is that the external path measures.
    expect([ExitCode.OK, ExitCode.CHECK_UNKNOWN], output).toContain(cmd.status);
    expect(output).toMatch(/run suffix -r\w+ on group and topic names/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as CapacityReport;
    expect(report.target).toBe('external');
    expect(report.flush).toBeNull();
    expect(report.steps.length, output).toBe(2);
    expect(
      report.steps.every((s) => s.sendsOk > 0),
      output,
    ).toBe(true);
    expect(report.drainProbe?.perConsumerRate ?? 0, output).toBeGreaterThan(0);
    expect(report.lost, output).toMatchObject({ count: 0, verdict: 'pass' });
    expect(report.lost.checked, output).toBeGreaterThan(0);
    expect(report.environment.command).toContain('--target external');
  }, 300_000);
});

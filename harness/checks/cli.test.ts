import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { parseGates } from './gates.ts';
import { History } from './history.ts';

const BIN = resolve('bin/mqdrill.mjs');
const SUB = [{ group: 'cg', topic: 'orders' }];

function mqdrill(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function ledger(build: (h: History) => void): { files: string[]; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mqd-cli-'));
  const h = new History({ subscriptions: SUB });
  build(h);
  return { files: h.write(join(dir, 'ledger')), dir };
}

function gatesFile(dir: string, gates: unknown): string {
  const path = join(dir, 'gates.json');
  writeFileSync(path, JSON.stringify(gates));
  return path;
}

describe('mqdrill check, end to end', () => {
  test('a clean ledger exits 0 and writes the four reports; mqdrill report re-renders them', () => {
    const { files, dir } = ledger((h) => h.send('m1').send('m2').consume('m1').consume('m2').drained());
    const out = join(dir, 'out');
    const gates = gatesFile(dir, ['lost == 0', 'duplicate.rate < 0.01', 'drain < 60s', 'send_duration: p(99)<200']);
    const run = mqdrill('check', ...files, '--gates', gates, '--out', out);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.OK);
    expect(run.stdout).toMatch(/PASS: every guarantee and gate held/);
    for (const name of ['report.json', 'junit.xml', 'summary.md', 'report.html']) {
      expect(existsSync(join(out, name))).toBe(true);
    }
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ schema: 'mqdrill-report', version: 1, verdict: 'pass', exitCode: 0 });
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(junit.match(/<testcase /g)).toHaveLength(11 + 4);
    const again = join(dir, 'again');
    expect(mqdrill('report', join(out, 'report.json'), '--out', again).code).toBe(ExitCode.OK);
    expect(readFileSync(join(again, 'summary.md'), 'utf8')).toBe(readFileSync(join(out, 'summary.md'), 'utf8'));
  });

  test('a lost message exits GUARANTEE_VIOLATED with the example in the summary', () => {
    const { files, dir } = ledger((h) => h.send('m1').send('m2').consume('m1').drained());
    const run = mqdrill('check', ...files, '--out', join(dir, 'out'));
    expect(run.code).toBe(ExitCode.GUARANTEE_VIOLATED);
    const summary = readFileSync(join(dir, 'out', 'summary.md'), 'utf8');
    expect(summary).toMatch(/producer\.ndjson:4` `m2`/);
  });

  test('a failed gate alone exits THRESHOLDS_FAILED (99)', () => {
    const { files, dir } = ledger((h) => h.send('m1', { d: 500 }).consume('m1').drained());
    const gates = gatesFile(dir, { send_duration: ['p(99)<200'] });
    const run = mqdrill('check', ...files, '--gates', gates, '--out', join(dir, 'out'));
    expect(run.code).toBe(ExitCode.THRESHOLDS_FAILED);
  });

  test('an undecidable check exits CHECK_UNKNOWN (no drain end: the missing message may still come)', () => {
    const { files, dir } = ledger((h) => h.send('m1').send('m2').consume('m1'));
    expect(mqdrill('check', ...files, '--out', join(dir, 'out')).code).toBe(ExitCode.CHECK_UNKNOWN);
  });

  test('a bad gates file and a file that is not a ledger exit INVALID_SPEC with every problem listed', () => {
    const { files, dir } = ledger((h) => h.send('m1').consume('m1').drained());
    const bad = mqdrill('check', ...files, '--gates', gatesFile(dir, ['lost = 0', 'nonsense < 1', 'p(99)<20']));
    expect(bad.code).toBe(ExitCode.INVALID_SPEC);
    expect(bad.stderr.match(/ {2}- /g)).toHaveLength(3);
    const notLedger = join(dir, 'x.ndjson');
    writeFileSync(notLedger, '{"t":"si","ts":1}\n');
    expect(mqdrill('check', notLedger, '--out', join(dir, 'o')).code).toBe(ExitCode.INVALID_SPEC);
  });

  test('broker counters from a JSON file are reconciled', () => {
    const { files, dir } = ledger((h) => h.send('m1').send('m2').consume('m1').consume('m2').drained());
    const counters = join(dir, 'counters.json');
    writeFileSync(counters, JSON.stringify({ type: 'counters', ts: 1_800_000_000_000, src: 'b1', in: { orders: 5 } }));
    const run = mqdrill('check', ...files, counters, '--out', join(dir, 'out'));
    expect(run.code).toBe(ExitCode.GUARANTEE_VIOLATED);
    expect(run.stdout).toMatch(/fail {4}reconcile/);
  });
});

describe('gates', () => {
  test('short, k6 and object forms parse to the same expressions', () => {
    const list = parseGates(['lost == 0', 'duplicate.rate < 0.01', 'drain < 60s', 'e2e_latency: p(99.9)<1s']);
    const object = parseGates({ lost: '== 0', duplicate: ['rate < 0.01'], drain: '< 60s', end_to_end: 'p(99.9)<1s' });
    expect(list.errors).toEqual([]);
    expect(object.errors).toEqual([]);
    const shape = (g: ReturnType<typeof parseGates>) =>
      g.gates.map((x) => [x.metric, x.expr.aggregation, x.expr.value]);
    expect(shape(list)).toEqual(shape(object));
    expect(shape(list)[2]).toEqual(['drain', { kind: 'value' }, 60_000]);
  });
});

/**
 * `mqdrill compare` on real reports: two flash-sale drills of one build on the shared development machine
 * (testdata/flash-sale-{a,b}.report.json, from `mqdrill drill flash-sale --seed 7`) pass; the same reports edited to
 * regress fail with exit 8, naming the figure or gate. Tolerance files, the Markdown summary and --history too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import type { Report } from '../../reports/schema.ts';
import type { CapacityReport } from '../capacity/report.ts';
import { main } from '../cli/main.ts';
import { compareFigures } from './compare.ts';
import { figuresOf } from './figures.ts';
import { readHistory, spreads } from './history.ts';
import { validateTolerances } from './tolerance.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const A = join(import.meta.dirname, 'testdata', 'flash-sale-a.report.json');
const B = join(import.meta.dirname, 'testdata', 'flash-sale-b.report.json');
const load = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;

function write(name: string, report: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(report));
  return file;
}

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args);
    return { code, out: chunks.join('') };
  } finally {
    spy.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

describe('mqdrill compare', () => {
  test('two reports of the same build pass, with a side by side table and a Markdown summary', async () => {
    const md = join(dir, 'same.md');
    const { code, out } = await run(['compare', A, B, '--markdown', md]);
    expect(code).toBe(ExitCode.OK);
    expect(out).toMatch(/latency\.send_duration\.p99\s+608 ms\s+1,185 ms/);
    expect(out).toContain('PASS: nothing regressed beyond its tolerance');
    const markdown = readFileSync(md, 'utf8');
    expect(markdown).toContain('### mqdrill compare: ✅ no regression');
    expect(markdown).toMatch(/\| {3}\| latency\.send_duration\.p99 \| 608 ms \| 1,185 ms \|/);
  });

  test('a latency edited to regress fails with exit 8 naming the figure', async () => {
    const b = load(B);
    const send = b.latencies.send_duration;
    if (!send) throw new Error('fixture without send_duration');
    send.p99 = 30_000;
    const { code, out } = await run(['compare', A, write('slow.json', b)]);
    expect(code).toBe(ExitCode.REGRESSED);
    expect(out).toMatch(/✗\s+latency\.send_duration\.p99/);
    expect(out.trim().split('\n').at(-1)).toBe('REGRESSED: latency.send_duration.p99');
  });

  test('a gate that passed and now fails, and an anomaly count that rose, regress', async () => {
    const b = load(B);
    const gate = b.gates.find((g) => g.source === 'lost == 0');
    const lost = b.anomalies.find((a) => a.name === 'lost');
    if (!gate || !lost) throw new Error('fixture without the lost gate');
    gate.status = 'fail';
    lost.count = 3;
    const { code, out } = await run(['compare', A, write('lost.json', b)]);
    expect(code).toBe(ExitCode.REGRESSED);
    expect(out.trim().split('\n').at(-1)).toBe('REGRESSED: gate "lost == 0", anomaly.lost');
  });

  test('throughput and drain regress only beyond their tolerance; a tolerance file tightens one figure', async () => {
    const a = figuresOf(load(A), A);
    const b = load(B);
    b.drainMs = (load(A).drainMs ?? 0) * 4; // inside the default x5
    const within = compareFigures(a, figuresOf(b, 'b'), {});
    expect(within.regressions).toEqual([]);
    const tight = compareFigures(a, figuresOf(b, 'b'), { drain: { ratio: 2 } });
    expect(tight.regressions.map((r) => r.name)).toEqual(['drain']);
    const file = join(dir, 'tolerance.json');
    writeFileSync(file, JSON.stringify({ drain: { ratio: 2, absolute: 100 } }));
    const { code, out } = await run(['compare', A, write('drain.json', b), '--tolerance', file]);
    expect(code).toBe(ExitCode.REGRESSED);
    expect(out).toMatch(/✗\s+drain\s+4,770 ms\s+19,080 ms\s+\+300%\s+up to x2 and 100 ms/);
  });

  test('bad input: a file that is not a report, a bad tolerance file, missing arguments', async () => {
    const notReport = write('other.json', { hello: 1 });
    expect((await run(['compare', A, notReport])).code).toBe(ExitCode.INVALID_SPEC);
    expect(validateTolerances({ latency: { ratio: 0.5, slack: 1 } }).errors).toEqual([
      'latency.ratio: must be a number >= 1',
      'latency.slack: unknown (expected ratio, absolute)',
    ]);
    const bad = write('bad-tolerance.json', { drain: 3 });
    expect((await run(['compare', A, B, '--tolerance', bad])).code).toBe(ExitCode.INVALID_SPEC);
    expect((await run(['compare', A])).code).toBe(ExitCode.USAGE);
  });

  test('--history draws every report under a folder and prints the spread of each figure', async () => {
    const hist = join(dir, 'history');
    for (const [i, f] of [A, B].entries()) {
      const sub = join(hist, `night-${i}`);
      await import('node:fs').then((fs) => fs.mkdirSync(sub, { recursive: true }));
      writeFileSync(join(sub, 'report.json'), readFileSync(f));
    }
    writeFileSync(join(hist, 'report.json'), '{"schema":"something-else"}');
    const { code, out } = await run(['compare', '--history', hist]);
    expect(code).toBe(ExitCode.OK);
    expect(out).toMatch(/latency\.send_duration\.p99\s+2 runs {2}max\/min 1\.95/);
    const html = readFileSync(join(hist, 'trend.html'), 'utf8');
    expect(html).toContain('id="history-data"');
    expect(html).toContain('latency.send_duration.p99');
    const { reports, skipped } = readHistory(hist);
    expect(reports).toHaveLength(2);
    expect(skipped).toHaveLength(1);
    expect(spreads(reports).find((s) => s.name === 'drain')?.ratio).toBeCloseTo(4770 / 1519.5, 2);
  });
});

/** What figuresOf reads of a capacity report.json, the rest left out. */
function capacityReport(sendRate: number | null, lost: { count: number; verdict: string }): CapacityReport {
  return {
    schema: 'mqdrill-capacity',
    generatedMs: 1_700_000_000_000,
    scenario: 'steady',
    target: 'bundled',
    flush: 'async',
    slo: { lostMax: 0 },
    result: {
      sustainableSendRate: sendRate,
      sustainableReceiveRate: sendRate,
      limitedBy: 'latency',
    },
    drainProbe: { perConsumerRate: 200 },
    lost: { ...lost, checked: 500 },
  } as unknown as CapacityReport;
}

const lastLine = (out: string) => out.trim().split('\n').at(-1);

describe('mqdrill compare never passes silently', () => {
  test('a figure missing from the current report fails, named as missing', async () => {
    const b = load(B);
    delete b.latencies.send_duration;
    const { code, out } = await run(['compare', A, write('no-send.json', b)]);
    expect(code).toBe(ExitCode.REGRESSED);
    expect(out).toMatch(/✗\s+latency\.send_duration\.p99\s+608 ms\s+—/);
    expect(lastLine(out)).toBe(
      'REGRESSED: latency.send_duration.p50 (missing from the current report), ' +
        'latency.send_duration.p99 (missing from the current report)',
    );
  });

  test('a recovery that never came (no recovery figure) fails', async () => {
    const b = load(B);
    for (const f of b.liveness?.faults ?? []) delete f.recoveryMs;
    const { code, out } = await run(['compare', A, write('no-recovery.json', b)]);
    expect(code).toBe(ExitCode.REGRESSED);
    expect(lastLine(out)).toBe('REGRESSED: recovery.latency-broker-0 (missing from the current report)');
  });

  test('a gate renamed in the current report fails naming the baseline gate; the new one is listed', async () => {
    const b = load(B);
    const gate = b.gates.find((g) => g.source === 'lost == 0');
    if (!gate) throw new Error('fixture without the lost gate');
    gate.source = 'lost <= 0';
    const { code, out } = await run(['compare', A, write('renamed.json', b)]);
    expect(code).toBe(ExitCode.REGRESSED);
    expect(out).toMatch(/\+\s+gate: lost <= 0\s+—\s+pass/);
    expect(lastLine(out)).toBe('REGRESSED: gate "lost == 0" (missing from the current report)');
  });

  test('an anomaly whose count is unknown, or a gate that passed and is now unknown: UNKNOWN, exit 6', async () => {
    const b = load(B);
    const lost = b.anomalies.find((a) => a.name === 'lost');
    if (!lost) throw new Error('fixture without lost');
    lost.verdict = 'unknown';
    lost.notes = ['the ledger of one worker is missing'];
    const anomaly = await run(['compare', A, write('lost-unknown.json', b)]);
    expect(anomaly.code).toBe(ExitCode.CHECK_UNKNOWN);
    expect(anomaly.out).toMatch(/\?\s+anomaly\.lost\s+0\s+unknown\s+current: the ledger of one worker is missing/);
    expect(lastLine(anomaly.out)).toBe('UNKNOWN: cannot judge anomaly.lost (unknown in a report: see the table)');
    // Unknown on both sides is still not a pass.
    const both = await run(['compare', write('base-unknown.json', b), write('cur-unknown.json', b)]);
    expect(both.code).toBe(ExitCode.CHECK_UNKNOWN);

    const c = load(B);
    const gate = c.gates.find((g) => g.source === 'drain < 30s');
    if (!gate) throw new Error('fixture without the drain gate');
    gate.status = 'unknown';
    const { code, out } = await run(['compare', A, write('gate-unknown.json', c), '--markdown', join(dir, 'u.md')]);
    expect(code).toBe(ExitCode.CHECK_UNKNOWN);
    expect(lastLine(out)).toBe('UNKNOWN: cannot judge gate "drain < 30s" (unknown in a report: see the table)');
    expect(readFileSync(join(dir, 'u.md'), 'utf8')).toContain('### mqdrill compare: ❔ 1 cannot be judged');
    // A regression elsewhere wins over unknowns: exit 8.
    const send = c.latencies.send_duration;
    if (send) send.p99 = 60_000;
    const both2 = await run(['compare', A, write('gate-unknown-slow.json', c)]);
    expect(both2.code).toBe(ExitCode.REGRESSED);
    expect(lastLine(both2.out)).toBe('REGRESSED: latency.send_duration.p99');
  });

  test('capacity: no rate held now (no sustainable rate) fails; an undecided lost check is unknown', async () => {
    const base = write('cap-base.json', capacityReport(400, { count: 0, verdict: 'pass' }));
    const none = await run([
      'compare',
      base,
      write('cap-none.json', capacityReport(null, { count: 0, verdict: 'pass' })),
    ]);
    expect(none.code).toBe(ExitCode.REGRESSED);
    expect(lastLine(none.out)).toBe(
      'REGRESSED: capacity.sustainable_receive_rate (missing from the current report), ' +
        'capacity.sustainable_send_rate (missing from the current report)',
    );
    const undecided = capacityReport(400, { count: 0, verdict: 'unknown' });
    const unknown = await run(['compare', base, write('cap-unknown.json', undecided)]);
    expect(unknown.code).toBe(ExitCode.CHECK_UNKNOWN);
    expect(lastLine(unknown.out)).toBe(
      'UNKNOWN: cannot judge gate "capacity: nothing lost", anomaly.lost (unknown in a report: see the table)',
    );
  });

  test('a drill report against a capacity report, or a misspelt tolerance key: refused with exit 3', async () => {
    const cap = write('cap.json', capacityReport(400, { count: 0, verdict: 'pass' }));
    expect((await run(['compare', A, cap])).code).toBe(ExitCode.INVALID_SPEC);
    expect(validateTolerances({ latnecy: { ratio: 2 }, 'latency.send_duration.p99': { ratio: 2 } }).errors).toEqual([
      'latnecy: not a figure class (latency, throughput, drain, recovery, capacity, anomaly) nor a figure name ' +
        '(a class, a dot and the rest, as compare prints it, e.g. latency.send_duration.p99)',
    ]);
  });
});

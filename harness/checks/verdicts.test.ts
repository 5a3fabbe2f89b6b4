/**
 * Verdicts a CI gate can trust (issue #11): nothing passes on nothing, verdicts do not depend on the clocks of
 * different processes, an unknown ack is not a duplicate, ledger reading fails loudly and names what it tolerated.
 * Each test here failed on the code before #11.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { validateDrill } from '../drill/spec.ts';
import { type LedgerEvent, LedgerFormatError, type Subscription } from '../ledger/index.ts';
import { checkLedgers } from './engine.ts';
import { evaluateGates, parseGates } from './gates.ts';
import { History } from './history.ts';

const BIN = resolve('bin/mqdrill.mjs');
const SUB: Subscription[] = [{ group: 'cg', topic: 'orders' }];
const FIFO: Subscription[] = [{ group: 'cg', topic: 'orders', fifo: true }];
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqd-verdicts-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function mqdrill(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

async function check(files: string[], guarantee?: 'exactly-once' | 'strict') {
  const result = await checkLedgers(files, guarantee ? { guarantee } : {});
  const by = (name: string) => {
    const found = result.anomalies.find((a) => a.name === name);
    if (!found) throw new Error(`no anomaly ${name}`);
    return found;
  };
  return { result, by };
}

describe('a drain that missed its deadline', () => {
  async function missed(backlog: number | undefined) {
    const h = new History({ subscriptions: SUB });
    for (let i = 0; i < 5; i++) h.send(`m${i}`);
    for (let i = 0; i < 2; i++) h.consume(`m${i}`);
    h.phase('drain', 'start');
    if (backlog !== undefined) h.backlog(backlog);
    h.phase('drain', 'end', false);
    return check(h.write(tempDir()));
  }

  test('the broker still holds what is missing: lost is unknown (stuck, not proven lost), drain fails', async () => {
    const { by } = await missed(3);
    expect(by('lost').verdict).toBe('unknown');
    expect(by('lost').notes.join(' ')).toMatch(/3 acknowledged sends not delivered to cg .* reported 3 waiting/);
    expect(by('drain').verdict).toBe('fail');
  });

  test('the broker holds fewer than are missing, or says nothing: lost fails', async () => {
    expect((await missed(1)).by('lost').verdict).toBe('fail');
    expect((await missed(undefined)).by('lost').verdict).toBe('fail');
  });
});

describe('nothing passes on nothing', () => {
  test('check without the consumer ledgers is unknown (exit 6) and names the group whose ledger is missing', () => {
    const h = new History({ subscriptions: SUB });
    for (let i = 0; i < 5; i++) h.send(`m${i}`);
    for (let i = 0; i < 5; i++) h.consume(`m${i}`);
    h.drained();
    const [producer, consumer, control] = h.write(tempDir()) as [string, string, string];
    const all = mqdrill('check', producer, consumer, control, '--out', join(tempDir(), 'out'));
    expect(all.code).toBe(ExitCode.OK);
    const run = mqdrill('check', producer, control, '--out', join(tempDir(), 'out'));
    expect(run.code).toBe(ExitCode.CHECK_UNKNOWN);
    expect(run.stdout).toMatch(/unknown\s+lost/);
    const report = JSON.parse(
      readFileSync(join(run.stdout.match(/reports: (\S+)report\.json/)?.[1] ?? '', 'report.json'), 'utf8'),
    );
    const lost = report.anomalies.find((a: { name: string }) => a.name === 'lost');
    expect(lost.notes.join(' ')).toMatch(/group cg must receive messages of orders but no consumer ledger/);
  });

  test('a producer ledger alone, with no group declared anywhere, is unknown, not "lost 0 of 400"', async () => {
    const h = new History();
    for (let i = 0; i < 40; i++) h.send(`m${i}`);
    const [producer] = h.write(tempDir());
    const { by } = await check([producer as string]);
    expect(by('lost').verdict).toBe('unknown');
    expect(by('lost').notes.join(' ')).toMatch(/no consumer group is declared/);
  });

  test('a ledger with a header and no records does not pass', async () => {
    const dir = tempDir();
    const path = join(dir, 'empty.ndjson');
    writeFileSync(path, `${JSON.stringify({ type: 'header', version: 1, process: 'p', startedMs: 1 })}\n`);
    const run = mqdrill('check', path, '--out', join(dir, 'out'));
    expect(run.code).toBe(ExitCode.CHECK_UNKNOWN);
    expect(run.stdout).toMatch(/UNKNOWN/);
  });

  test('a drain that started and never ended does not pass; nor does a drain of nothing', async () => {
    const open = new History({ subscriptions: SUB });
    open.send('m1').consume('m1').phase('drain', 'start');
    const { by } = await check(open.write(tempDir()));
    expect(by('drain').verdict).toBe('unknown');
    const empty = new History({ subscriptions: SUB });
    empty.phase('drain', 'start').phase('drain', 'end');
    expect((await check(empty.write(tempDir()))).by('drain').verdict).toBe('unknown');
  });

  test('an unreachable or silent target (no send ok): no "pass 0 of 0", no drain at 0 ms', async () => {
    const h = new History({ subscriptions: SUB, drainSloMs: 30_000 });
    h.phase('load', 'start');
    for (let i = 0; i < 20; i++) h.send(`m${i}`, { r: i % 2 === 0 ? 'unknown' : 'fail' });
    h.phase('load', 'end').drained();
    const { result, by } = await check(h.write(tempDir()));
    expect(by('lost')).toMatchObject({ verdict: 'unknown' });
    expect(by('lost').notes.join(' ')).toMatch(/none of 20 sends was acknowledged/);
    expect(by('drain').verdict).toBe('unknown');
    const gates = evaluateGates(parseGates(['drain < 30s', 'lost == 0']).gates, result);
    expect(gates.map((g) => g.status)).toEqual(['unknown', 'unknown']);
  });

  test('FIFO sends without a defined order (a group sent concurrently): order unknown, not "pass 0 of 0"', async () => {
    const h = new History({ subscriptions: FIFO });
    const o1 = h.sendInvoke('m1', { g: 'k', q: 1 });
    const o2 = h.sendInvoke('m2', { g: 'k', q: 2 });
    h.sendComplete('m1', o1).sendComplete('m2', o2);
    h.consume('m2').consume('m1').drained();
    const { by } = await check(h.write(tempDir()));
    expect(by('order').verdict).toBe('unknown');
    expect(by('order').notes.join(' ')).toMatch(/no pair has a defined order/);
  });

  test('each checker states how many it judged: order counts pairs, lost counts message/group pairs', async () => {
    const h = new History({ subscriptions: FIFO });
    for (const q of [1, 2, 3]) h.send(`m${q}`, { g: 'k', q });
    h.consume('m1').consume('m2').consume('m3').drained();
    const { by } = await check(h.write(tempDir()));
    expect(by('order')).toMatchObject({ verdict: 'pass', checked: 2 });
    expect(by('lost')).toMatchObject({ verdict: 'pass', checked: 3 });
  });
});

/** Shifts every timestamp of a ledger file by byMs, as a host whose clock runs off would; optionally records it. */
function shiftFile(path: string, byMs: number, recordOffset: boolean): void {
  const [header, ...records] = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const shifted = records.map((r: LedgerEvent) => {
    const out = { ...r, ts: r.ts + byMs } as LedgerEvent;
    if (out.t === 'si' && out.at !== undefined) out.at += byMs;
    return out;
  });
  const ck = { t: 'ck', ts: header.startedMs + byMs, off: byMs, err: 0.5 };
  const lines = [header, ...(recordOffset ? [ck] : []), ...shifted];
  writeFileSync(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
}

/** A FIFO swap (m3 before m2 was acked) and an early delayed message, planted in one history. */
function plantedHistory(): History {
  const h = new History({ subscriptions: FIFO });
  for (const q of [1, 2, 3]) h.send(`m${q}`, { g: 'k', q });
  const t0 = h.now();
  h.send('early', { at: t0 + 60_000 });
  h.at(50).consume('m1').deliver('m2').deliver('m3').ack('m2').ack('m3').consume('early').drained();
  return h;
}

function verdicts(result: Awaited<ReturnType<typeof checkLedgers>>) {
  return Object.fromEntries(result.anomalies.map((a) => [a.name, [a.verdict, a.count, a.examples[0]?.id]]));
}

describe('clock independence', () => {
  test('a consumer ledger shifted by +/-5 s (its offset measured) gives the same verdicts', async () => {
    const base = plantedHistory().write(tempDir());
    const expected = verdicts((await check(base)).result);
    expect(expected.order).toEqual(['fail', 1, 'm3']);
    expect(expected.delay).toEqual(['fail', 1, 'early']);
    for (const skew of [-5000, 5000]) {
      const files = plantedHistory().write(tempDir());
      shiftFile(files[1] as string, skew, true);
      expect(verdicts((await check(files)).result)).toEqual(expected);
    }
  });

  test('without clock records, order and loss still hold under +/-5 s: identity and file order', async () => {
    for (const skew of [-5000, 5000]) {
      const files = plantedHistory().write(tempDir());
      shiftFile(files[1] as string, skew, false);
      const { by } = await check(files);
      expect(by('order')).toMatchObject({ verdict: 'fail', count: 1 });
      expect(by('order').examples[0]?.id).toBe('m3');
      expect(by('lost').verdict).toBe('pass');
      expect(by('unexpected').verdict).toBe('pass');
    }
  });

  test('a delivery of a committed transaction under skew is not "before its commit"', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('t1', { tx: 1 }).endTransaction('t1', 'commit').at(20).consume('t1').drained();
    const files = h.write(tempDir());
    shiftFile(files[1] as string, -5000, true);
    expect((await check(files)).by('transaction').verdict).toBe('pass');
  });
});

describe('exactly-once', () => {
  test('a redelivery after an ack whose outcome was unknown or failed is not a duplicate', async () => {
    for (const r of ['unknown', 'fail'] as const) {
      const h = new History({ subscriptions: SUB });
      h.send('m1').deliver('m1').ack('m1', 'cg', r).deliver('m1', 'cg', 2).ack('m1').drained();
      const { by } = await check(h.write(tempDir()), 'exactly-once');
      expect(by('duplicate')).toMatchObject({ verdict: 'pass', count: 0 });
    }
    const acked = new History({ subscriptions: SUB });
    acked.send('m1').consume('m1').deliver('m1', 'cg', 2).ack('m1').drained();
    expect((await check(acked.write(tempDir()), 'exactly-once')).by('duplicate').verdict).toBe('fail');
  });
});

describe('ledger reading', () => {
  test('a line past the bound fails at once, naming the file and the line', async () => {
    const dir = tempDir();
    const path = join(dir, 'huge.ndjson');
    const header = JSON.stringify({ type: 'header', version: 1, process: 'p', startedMs: 1 });
    writeFileSync(path, `${header}\n${'x'.repeat(3 * 1024 * 1024)}`);
    const error = await checkLedgers([path]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerFormatError);
    expect((error as Error).message).toMatch(/huge\.ndjson: line 2 is longer than 1048576 characters/);
    const run = mqdrill('check', path, '--out', join(dir, 'out'));
    expect(run.code).toBe(ExitCode.INVALID_SPEC);
    expect(run.stderr).toMatch(/huge\.ndjson: line 2 is longer/);
  });

  test('a file without a header line, or with a foreign first line, is named with what is wrong', () => {
    const dir = tempDir();
    const bare = join(dir, 'bare.ndjson');
    writeFileSync(bare, `${JSON.stringify({ t: 'si', ts: 1, o: 1, id: 'a', tp: 'x' })}\n`);
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, '{"level":"info","msg":"started"}\n{"level":"info"}\n');
    for (const [path, name] of [
      [bare, 'bare.ndjson'],
      [foreign, 'foreign.json'],
    ] as const) {
      const run = mqdrill('check', path, '--out', join(dir, 'out'));
      expect(run.code).toBe(ExitCode.INVALID_SPEC);
      expect(run.stderr).toContain(`${name}: line 1 must be a header record`);
    }
  });

  test('a torn last line is shown on the console and in summary.md', () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').consume('m1').drained();
    const files = h.write(tempDir());
    writeFileSync(files[1] as string, `${readFileSync(files[1] as string, 'utf8')}{"t":"rm","ts":17000`);
    const out = join(tempDir(), 'out');
    const run = mqdrill('check', ...files, '--out', out);
    expect(run.stderr).toMatch(/consumer\.ndjson:\d+: torn last line tolerated/);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(
      /Ledger defects.*\n\n- `.*consumer\.ndjson:\d+` \(torn/,
    );
  });
});

describe('spec validation', () => {
  test('thresholds and gates on metrics or aggregations that do not exist are refused, all at once', () => {
    const { spec, errors } = validateDrill('x', 'x.ts', {
      options: {
        scenarios: {
          orders: {
            executor: 'constant-arrival-rate',
            rate: 10,
            duration: '5s',
            preAllocatedVUs: 2,
            role: 'producer',
            message: { topic: 'orders' },
          },
        },
        thresholds: { send_durashun: ['p(99)<50'], messages_acked: ['p(99)<5'] },
      },
      drill: { gates: ['lots == 0', 'lost.p(99) < 3', 'sends_bogus == 0', 'drain < 30s'] },
    });
    expect(spec).toBeUndefined();
    expect(errors).toEqual([
      expect.stringMatching(/thresholds\["send_durashun"\]: unknown metric "send_durashun"/),
      expect.stringMatching(/thresholds\["messages_acked"\]: "p\(99\)<5": messages_acked is a counter/),
      expect.stringMatching(/gate "lots == 0": unknown metric "lots"/),
      expect.stringMatching(/gate "lost.p\(99\) < 3": lost has no p\(99\)/),
      expect.stringMatching(/gate "sends_bogus == 0": unknown metric/),
    ]);
  });
});

/**
 * Fault impact on written ledgers: a latency fault whose sends slow down hits; one whose sends stay fast (the route
 * went around the proxy) does not; failed sends during a kill are a hit. A partition between two nodes that no client
 * operation crosses is `verified-at-inject`, never a hit and never "no visible effect"; the same ledger on a target
 * that cannot say is judged by its sends.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { describeImpact, type FaultImpact, faultImpact, NO_CLIENT_PATH_NOTE } from './fault-impact.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-impact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = (process: string) => ({ type: 'header', version: 1, process, role: 'producer', run: 'r', startedMs: 0 });

/** One send every 10 ms for 10 s; a fault from 4 s to 7 s; durationMs(t) and ok(t) decide each send. */
function ledgers(
  name: string,
  fault: Record<string, unknown>,
  durationMs: (t: number) => number,
  ok = (_t: number) => true,
) {
  const f = `${fault.kind}-${fault.target ?? 'broker-0'}`;
  const drill: Record<string, unknown>[] = [header('drill'), { t: 'fs', ts: 4000, f, fid: 1, dt: fault }];
  drill.push({ t: 'fe', ts: 7000, f, fid: 1 });
  const sends: Record<string, unknown>[] = [header('p')];
  for (let o = 1, start = 1000; start < 10_000; o++, start += 10) {
    const d = durationMs(start);
    sends.push({ t: 'si', ts: start, o, id: `m${o}`, tp: 't' });
    sends.push({ t: 'sc', ts: start + d, o, id: `m${o}`, r: ok(start) ? 'ok' : 'fail', d });
  }
  sends.sort((a, b) => (a.ts as number) - (b.ts as number));
  const files = [join(dir, `${name}-drill.ndjson`), join(dir, `${name}-p.ndjson`)];
  writeFileSync(files[0] as string, `${drill.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(files[1] as string, `${sends.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return files;
}

const latency = { kind: 'latency', latencyMs: 30, jitterMs: 10 };
const inFault = (t: number) => t >= 4000 && t <= 7000;

describe('fault impact', () => {
  test('a latency fault whose sends slow down by about its latency hit', async () => {
    const files = ledgers('slow', latency, (t) => (inFault(t) ? 2 + 25 + (t % 20) : 2 + (t % 7)));
    expect(await faultImpact(files)).toMatchObject([{ name: 'latency-broker-0', hit: true, failed: 0 }]);
  });

  test('a latency fault that slowed most sends by its latency hit, though a fifth of them were fast', async () => {
    const files = ledgers('most', latency, (t) => (inFault(t) && t % 50 !== 0 ? 2 + 25 + (t % 20) : 2 + (t % 7)));
    expect(await faultImpact(files)).toMatchObject([{ name: 'latency-broker-0', hit: true, failed: 0 }]);
    // A quarter slowed: the median does not move by the latency, and a tenth is fast: no hit.
    const half = ledgers('half', latency, (t) => (inFault(t) && t % 40 === 0 ? 2 + 25 + (t % 20) : 2 + (t % 7)));
    expect(await faultImpact(half)).toMatchObject([{ hit: false }]);
  });

  test('a latency fault the sends went around (as fast as outside it) did not hit', async () => {
    const files = ledgers('bypass', latency, (t) => 2 + (t % 7));
    const [impact] = await faultImpact(files);
    expect(impact).toMatchObject({ hit: false, failed: 0 });
    expect(impact?.sends).toBeGreaterThan(250);
  });

  test('sends failing during a kill hit; a busy machine (slow sends everywhere) is no hit on its own', async () => {
    const kill = ledgers(
      'kill',
      { kind: 'kill' },
      () => 5,
      (t) => !inFault(t),
    );
    expect(await faultImpact(kill)).toMatchObject([{ hit: true, status: 'hit' }]);
    const busy = ledgers('busy', latency, (t) => 200 + (t % 300));
    expect(await faultImpact(busy)).toMatchObject([{ hit: false, status: 'no-visible-effect' }]);
  });

  test('a node-to-node partition no client operation crosses: verified at inject, not hit, not no-effect', async () => {
    const pair = { kind: 'partition', target: 'broker-0~broker-1' };
    const files = ledgers('pair', pair, (t) => 2 + (t % 7));
    const asked: string[][] = [];
    const noPath = (a: string, b: string) => {
      asked.push([a, b]);
      return false;
    };
    const [impact] = await faultImpact(files, { clientPathCrosses: noPath });
    expect(asked).toEqual([['broker-0', 'broker-1']]);
    expect(impact).toMatchObject({ name: 'partition-broker-0~broker-1', status: 'verified-at-inject', hit: false });
    expect(impact?.note).toBe(NO_CLIENT_PATH_NOTE);
    expect(describeImpact(impact as FaultImpact)).toMatch(
      /^fault partition-broker-0~broker-1: verified at inject \(no client/,
    );
    // The target cannot say (RocketMQ, or no answer): the ledger decides, and these sends show nothing.
    for (const clientPathCrosses of [undefined, () => undefined, () => true]) {
      const [judged] = await faultImpact(files, { clientPathCrosses });
      expect(judged).toMatchObject({ status: 'no-visible-effect', hit: false });
      expect(judged?.note).toBeUndefined();
      expect(describeImpact(judged as FaultImpact)).toMatch(/NO visible effect/);
    }
  });

  test('a client-to-node partition is judged by its sends even where nodes do not talk to each other', async () => {
    const cut = { kind: 'partition', target: 'broker-1' };
    const noPath = () => false;
    const failing = ledgers(
      'cut',
      cut,
      () => 5,
      (t) => !inFault(t) || t % 20 !== 0,
    );
    expect(await faultImpact(failing, { clientPathCrosses: noPath })).toMatchObject([
      { name: 'partition-broker-1', status: 'hit', hit: true },
    ]);
    const unaffected = ledgers('uncut', cut, (t) => 2 + (t % 7));
    expect(await faultImpact(unaffected, { clientPathCrosses: noPath })).toMatchObject([
      { status: 'no-visible-effect', hit: false },
    ]);
    // A pair partition whose link clients do cross, with failed sends during it, is a hit as any other fault.
    const crossed = ledgers(
      'crossed',
      { kind: 'partition', target: 'broker-0~broker-1' },
      () => 5,
      (t) => !inFault(t),
    );
    expect(await faultImpact(crossed, { clientPathCrosses: () => true })).toMatchObject([{ status: 'hit' }]);
  });

  test('a fault on one of two nodes: its share of slowed sends shows once the brokers are named', async () => {
    // 2 sends in 5 during the partition go to broker-1 and wait out the partition; the median stays fast.
    const cut = { kind: 'partition', target: 'broker-1' };
    const slowShare = (t: number) => (inFault(t) && t % 50 < 20 ? 900 : 2 + (t % 7));
    const files = ledgers('one-of-two', cut, slowShare);
    const brokerNodes = ['broker-0', 'broker-1'];
    expect(await faultImpact(files)).toMatchObject([{ status: 'no-visible-effect', failed: 0 }]);
    expect(await faultImpact(files, { brokerNodes })).toMatchObject([{ status: 'hit', hit: true, failed: 0 }]);
    // A fault on every node is judged at the median as before; a busy machine is no hit on one node either.
    expect(await faultImpact(ledgers('all-of-two', { ...cut, target: '*' }, slowShare), { brokerNodes })).toMatchObject(
      [{ status: 'no-visible-effect' }],
    );
    const busy = ledgers('busy-one', cut, (t) => 200 + (t % 300));
    expect(await faultImpact(busy, { brokerNodes })).toMatchObject([{ status: 'no-visible-effect' }]);
  });
});

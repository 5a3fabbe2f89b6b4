import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { AnomalyReport } from '../../reports/schema.ts';
import type { GuaranteeLevel } from '../ledger/index.ts';
import type { AnomalyName } from './anomalies.ts';
import { type CheckOptions, checkLedgers } from './engine.ts';
import { History } from './history.ts';

const SUB = [{ group: 'cg', topic: 'orders' }];
const FIFO = [{ group: 'cg', topic: 'orders', fifo: true }];

async function check(history: History, options: CheckOptions = {}) {
  const files = history.write(mkdtempSync(join(tmpdir(), 'mqd-check-')));
  const result = await checkLedgers(files, { guarantee: 'strict' as GuaranteeLevel, ...options });
  const by = (name: AnomalyName) => result.anomalies.find((a) => a.name === name) as AnomalyReport;
  return { result, by };
}

describe('checkers: clean history and lost', () => {
  test('a clean history passes every checker', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').send('m2').consume('m1').consume('m2').drained();
    const { result } = await check(h);
    expect(result.anomalies.map((a) => [a.name, a.verdict])).toEqual(result.anomalies.map((a) => [a.name, 'pass']));
    expect(result.counts).toMatchObject({ sends: 2, sends_ok: 2, deliveries: 2, messages: 2 });
  });

  test('lost: an acknowledged send never received after the drain', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').send('m2').consume('m1').drained();
    const { by } = await check(h);
    expect(by('lost')).toMatchObject({ verdict: 'fail', count: 1, checked: 2 });
    expect(by('lost').examples[0]).toMatchObject({ id: 'm2', group: 'cg', line: 4 });
    expect(by('lost').examples[0]?.file).toMatch(/producer\.ndjson$/);
  });

  test('lost: without a drain end marker an undelivered message is unknown, not lost', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').send('m2').consume('m1');
    const { by } = await check(h);
    expect(by('lost').verdict).toBe('unknown');
  });

  test('lost: a message filtered out of a group is not lost there', async () => {
    const h = new History({ subscriptions: [{ group: 'cg', topic: 'orders', filter: 'paid', filterType: 'TAG' }] });
    h.send('m1', { tg: 'paid' }).send('m2', { tg: 'cart' }).consume('m1').drained();
    const { by } = await check(h);
    expect(by('lost').verdict).toBe('pass');
  });
});

describe('checkers: recovered, duplicate, unexpected', () => {
  test('recovered, not duplicate: an unknown send that is delivered once', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m0').consume('m0').send('m1', { r: 'unknown' }).consume('m1').drained();
    const { by } = await check(h);
    expect(by('recovered')).toMatchObject({ verdict: 'fail', count: 1 });
    expect(by('duplicate')).toMatchObject({ verdict: 'pass', count: 0 });
    expect(by('lost').verdict).toBe('pass');
  });

  test('recovered is allowed (and counted) under at-least-once; a failed send never delivered is nothing', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1', { r: 'unknown' }).send('m2', { r: 'fail' }).consume('m1').drained();
    const { by } = await check(h, { guarantee: 'at-least-once' });
    expect(by('recovered')).toMatchObject({ verdict: 'pass', allowed: true, count: 1, checked: 2 });
  });

  test('duplicate: delivered again after the ack; counted but allowed under at-least-once', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').send('m2').consume('m1').consume('m1', 'cg', 2).consume('m2').drained();
    const strict = await check(h);
    expect(strict.by('duplicate')).toMatchObject({ verdict: 'fail', count: 1, checked: 2, rate: 0.5 });
    const alo = await check(h, { guarantee: 'at-least-once' });
    expect(alo.by('duplicate')).toMatchObject({ verdict: 'pass', allowed: true, count: 1 });
  });

  test('duplicate: a redelivery after a nack (attempt 2) is not a duplicate', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').deliver('m1').nack('m1').consume('m1', 'cg', 2).drained();
    const { by, result } = await check(h);
    expect(by('duplicate').verdict).toBe('pass');
    expect(result.counts.redeliveries).toBe(1);
  });

  test('duplicate: a second stored copy (another broker id) is a duplicate', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').deliver('m1', 'cg', 1, 'B-1').deliver('m1', 'cg', 1, 'B-2').ack('m1').drained();
    const { by } = await check(h);
    expect(by('duplicate')).toMatchObject({ verdict: 'fail', count: 1 });
  });

  test('unexpected: a delivery of a message never sent, and one without a harness id', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').consume('m1').consume('ghost').deliver(undefined).drained();
    const { by } = await check(h);
    expect(by('unexpected')).toMatchObject({ verdict: 'fail', count: 2 });
    expect(by('unexpected').examples.map((e) => e.id)).toEqual([undefined, 'ghost']);
  });

  test('unexpected: a send logged later than its delivery (clock skew between files) is not unexpected', async () => {
    const h = new History({ subscriptions: SUB });
    h.at(1_700_000_000_000).consume('m1');
    h.at(1_699_999_999_000).send('m1').at(1_700_000_100_000).drained();
    const { by } = await check(h);
    expect(by('unexpected').verdict).toBe('pass');
  });
});

describe('checkers: order, delay, transaction, filter', () => {
  test('order: in a FIFO group message 3 delivered before message 2 was acknowledged', async () => {
    const h = new History({ subscriptions: FIFO });
    for (const q of [1, 2, 3]) h.send(`m${q}`, { g: 'order-7', q });
    h.consume('m1').deliver('m2').deliver('m3').ack('m2').ack('m3').drained();
    const { by } = await check(h);
    expect(by('order')).toMatchObject({ verdict: 'fail', count: 1 });
    expect(by('order').examples[0]?.detail).toMatch(/seq 3 delivered before seq 2/);
  });

  test('order: the same interleaving in a non-FIFO group, or in order in a FIFO group, passes', async () => {
    const inOrder = new History({ subscriptions: FIFO });
    for (const q of [1, 2, 3]) inOrder.send(`m${q}`, { g: 'order-7', q });
    inOrder.consume('m1').consume('m2').consume('m3').drained();
    expect((await check(inOrder)).by('order')).toMatchObject({ verdict: 'pass', checked: 2 });
    const concurrent = new History({ subscriptions: SUB });
    for (const q of [1, 2]) concurrent.send(`m${q}`, { g: 'order-7', q });
    concurrent.deliver('m1').deliver('m2').ack('m1').ack('m2').drained();
    expect((await check(concurrent)).by('order').verdict).toBe('pass');
  });

  test('order: consecutive messages of a group in one batch pass if in order; across batches they fail', async () => {
    const batched = new History({ subscriptions: FIFO });
    for (const q of [1, 2, 3]) batched.send(`m${q}`, { g: 'order-7', q });
    batched.consume('m1').deliver('m2', 'cg', 1, undefined, { o: 41 }).deliver('m3', 'cg', 1, undefined, { o: 41 });
    batched.ack('m2').ack('m3').drained();
    expect((await check(batched)).by('order')).toMatchObject({ verdict: 'pass', checked: 2 });
    const split = new History({ subscriptions: FIFO });
    for (const q of [1, 2, 3]) split.send(`m${q}`, { g: 'order-7', q });
    split.consume('m1').deliver('m2', 'cg', 1, undefined, { o: 41 }).deliver('m3', 'cg', 1, undefined, { o: 42 });
    split.ack('m2').ack('m3').drained();
    expect((await check(split)).by('order')).toMatchObject({ verdict: 'fail', count: 1 });
    const swapped = new History({ subscriptions: FIFO });
    for (const q of [1, 2, 3]) swapped.send(`m${q}`, { g: 'order-7', q });
    swapped.consume('m1').deliver('m3', 'cg', 1, undefined, { o: 41 }).deliver('m2', 'cg', 1, undefined, { o: 41 });
    swapped.ack('m2').ack('m3').drained();
    expect((await check(swapped)).by('order')).toMatchObject({ verdict: 'fail', count: 1 });
  });

  test('order: a predecessor never delivered is lost, not out of order', async () => {
    const h = new History({ subscriptions: FIFO });
    for (const q of [1, 2]) h.send(`m${q}`, { g: 'k', q });
    h.consume('m2').drained();
    const { by } = await check(h);
    expect(by('order').verdict).toBe('pass');
    expect(by('lost').verdict).toBe('fail');
  });

  test('delay: delivered before its delivery time, and too late', async () => {
    const h = new History({ subscriptions: SUB, delayLateToleranceMs: 1000 });
    const t0 = h.now();
    h.send('early', { at: t0 + 500 })
      .send('late', { at: t0 + 10 })
      .send('fine', { at: t0 + 20 });
    h.consume('early')
      .at(t0 + 25)
      .consume('fine')
      .at(t0 + 5000)
      .consume('late')
      .drained();
    const { by } = await check(h);
    expect(by('delay')).toMatchObject({ verdict: 'fail', count: 2, checked: 3 });
    expect(by('delay').examples.map((e) => e.id)).toEqual(['early', 'late']);
  });

  test("delay: lateness counts from the group's first receive when its client started receiving late", async () => {
    const h = new History({ subscriptions: SUB, delayLateToleranceMs: 1000 });
    const t0 = h.now();
    h.send('due-before-start', { at: t0 + 10 }).send('late-while-receiving', { at: t0 + 4100 });
    // The group asks first at t0 + 4000: the first message waited 4 s for a consumer, not for the broker.
    h.at(t0 + 4000)
      .receiveInvoke()
      .at(t0 + 4500)
      .consume('due-before-start')
      .at(t0 + 6000)
      .consume('late-while-receiving')
      .drained();
    const { by } = await check(h);
    expect(by('delay')).toMatchObject({ verdict: 'fail', count: 1, checked: 2 });
    expect(by('delay').examples.map((e) => e.id)).toEqual(['late-while-receiving']);
    expect(by('delay').examples[0]?.detail).toMatch(/^delivered 1\d{3} ms after its delivery time \(tolerance/);
  });

  test("delay: a message delivered too late after the group's first receive is late", async () => {
    const h = new History({ subscriptions: SUB, delayLateToleranceMs: 1000 });
    const t0 = h.now();
    h.send('m1', { at: t0 + 10 });
    h.at(t0 + 2000)
      .receiveInvoke()
      .at(t0 + 3500)
      .consume('m1')
      .drained();
    const { by } = await check(h);
    expect(by('delay')).toMatchObject({ verdict: 'fail', count: 1, checked: 1 });
    expect(by('delay').examples[0]?.detail).toMatch(/after its delivery time and 1\d{3} ms after the group's first/);
  });

  test('transaction: a commit whose end is unknown is judged only once a check-back settled it', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('ok-end', { tx: 1 }).endTransaction('ok-end', 'commit');
    h.send('one-way', { tx: 1 }).endTransaction('one-way', 'commit', 'unknown');
    h.send('checked', { tx: 1 }).endTransaction('checked', 'commit', 'unknown').checkBack('checked', 'commit');
    h.send('delivered', { tx: 1 }).endTransaction('delivered', 'commit', 'unknown').consume('delivered').drained();
    const { by } = await check(h);
    expect(by('transaction')).toMatchObject({ verdict: 'fail', count: 2, checked: 4 });
    expect(
      by('transaction')
        .examples.map((e) => e.id)
        .sort(),
    ).toEqual(['checked', 'ok-end']);
    expect(by('transaction').notes.join(' ')).toMatch(/^1 commits never delivered are not judged: their end-trans/);
  });

  test('transaction: a rolled-back message delivered, a committed one never delivered', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('t1', { tx: 1 }).endTransaction('t1', 'rollback');
    h.send('t2', { tx: 1 }).endTransaction('t2', 'commit');
    h.send('t3', { tx: 1 }).endTransaction('t3', 'commit').consume('t3');
    h.consume('t1').drained();
    const { by } = await check(h);
    expect(by('transaction')).toMatchObject({ verdict: 'fail', count: 2, checked: 3 });
    expect(
      by('transaction')
        .examples.map((e) => e.id)
        .sort(),
    ).toEqual(['t1', 't2']);
    // Only transactional sends: `lost` has nothing of its own to judge and says so (n/a), never "pass 0 of 0".
    expect(by('lost')).toMatchObject({ verdict: 'pass', applicable: false, checked: 0 });
    expect(by('lost').notes.join(' ')).toMatch(/all 3 acknowledged sends are transactional/);
  });

  test('transaction: a half message delivered before its commit', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('t1', { tx: 1 }).deliver('t1').at(50).endTransaction('t1', 'commit').ack('t1').drained();
    const { by } = await check(h);
    expect(by('transaction').examples[0]?.detail).toMatch(/before its commit/);
  });

  test('filter: a message delivered to a group whose TAG filter does not match it', async () => {
    const h = new History({ subscriptions: [{ group: 'cg', topic: 'orders', filter: 'paid || shipped' }] });
    h.send('m1', { tg: 'paid' }).send('m2', { tg: 'cart' }).consume('m1').consume('m2').drained();
    const { by } = await check(h);
    expect(by('filter')).toMatchObject({ verdict: 'fail', count: 1 });
    expect(by('filter').examples[0]).toMatchObject({ id: 'm2', detail: expect.stringMatching(/tag cart/) });
  });
});

describe('checkers: SQL92 filters, evaluated as the broker does', () => {
  const sql = [
    { group: 'cg', topic: 'orders', filter: "amount > 100 AND TAGS = 'paid'", filterType: 'SQL92' as const },
  ];

  test('filter: a message whose properties do not match the SQL92 expression was delivered', async () => {
    const h = new History({ subscriptions: sql });
    h.send('big', { tg: 'paid', pr: { amount: '250' } }).send('small', { tg: 'paid', pr: { amount: '50' } });
    h.consume('big').consume('small').drained();
    const { by } = await check(h);
    expect(by('filter')).toMatchObject({ verdict: 'fail', count: 1 });
    expect(by('filter').examples[0]).toMatchObject({ id: 'small' });
  });

  test('lost: a matching message never delivered is lost; a non-matching one is not expected', async () => {
    const h = new History({ subscriptions: sql });
    h.send('big', { tg: 'paid', pr: { amount: '250' } })
      .send('cart', { tg: 'cart', pr: { amount: '900' } })
      .drained();
    const { by } = await check(h);
    expect(by('lost')).toMatchObject({ verdict: 'fail', count: 1 });
    expect(by('lost').examples[0]).toMatchObject({ id: 'big' });
    expect(by('filter').verdict).toBe('pass');
  });
});

describe('checkers: dead-letter, drain, reconcile, crashes', () => {
  test('dead-letter: poison in the DLQ passes; poison missing and a healthy message there fail', async () => {
    const subs = [{ group: 'cg', topic: 'orders', maxAttempts: 2 }];
    const good = new History({ subscriptions: subs });
    good.send('p1', { po: 1 }).deliver('p1').nack('p1').deliver('p1', 'cg', 2).deadLetter('p1').drained();
    expect((await check(good)).by('dead-letter')).toMatchObject({ verdict: 'pass', checked: 1 });
    const bad = new History({ subscriptions: subs });
    bad.send('p1', { po: 1 }).deliver('p1').deliver('p1', 'cg', 2).send('h1').consume('h1').deadLetter('h1');
    bad.send('p2', { po: 1 }).deliver('p2').deliver('p2', 'cg', 2).deadLetter('p2').drained();
    const { by } = await check(bad);
    expect(by('dead-letter')).toMatchObject({ verdict: 'fail', count: 2 });
    expect(
      by('dead-letter')
        .examples.map((e) => e.id)
        .sort(),
    ).toEqual(['h1', 'p1']);
  });

  test('drain: over the SLO, and a drain that ended with backlog left', async () => {
    const h = new History({ subscriptions: SUB, drainSloMs: 1000 });
    h.send('m1').phase('drain', 'start').at(5000).consume('m1').phase('drain', 'end');
    const { by, result } = await check(h);
    expect(by('drain')).toMatchObject({ verdict: 'fail', count: 1 });
    expect(result.drainMs).toBeGreaterThan(5000);
    const h2 = new History({ subscriptions: SUB });
    h2.send('m1').consume('m1').phase('drain', 'start').phase('drain', 'end', false);
    expect((await check(h2)).by('drain').verdict).toBe('fail');
  });

  test('reconcile: broker counters that match the ledger pass, a broker that stored fewer fails', async () => {
    const ok = new History({ subscriptions: SUB });
    ok.counters({ src: 'b1', in: { orders: 0 }, ack: { cg: 0 } })
      .send('m1')
      .send('m2');
    ok.consume('m1').consume('m2').drained();
    ok.counters({ src: 'b1', in: { orders: 2 }, ack: { cg: 2 }, lag: { cg: 0 } });
    expect((await check(ok)).by('reconcile')).toMatchObject({ verdict: 'pass', checked: 3 });
    const bad = new History({ subscriptions: SUB });
    bad.send('m1').send('m2').consume('m1').consume('m2').drained();
    bad.counters({ src: 'b1', in: { orders: 1 }, lag: { cg: 3 } });
    const { by } = await check(bad);
    expect(by('reconcile')).toMatchObject({ verdict: 'fail', count: 2 });
  });

  test('a checker that throws yields unknown with its error and hides no other verdict', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').send('m2').consume('m1').drained();
    const crashing = {
      name: 'order' as const,
      observe() {
        throw new Error('boom');
      },
      finish() {},
    };
    const { by } = await check(h, { checkers: [crashing] });
    expect(by('order')).toMatchObject({ verdict: 'unknown', error: expect.stringMatching(/boom/) });
    expect(by('lost').verdict).toBe('fail');
    expect(by('duplicate').verdict).toBe('pass');
  });

  test('latencies and the timeline come out of the same pass', async () => {
    const h = new History({ subscriptions: SUB });
    h.send('m1').consume('m1').fault('kill-broker', 1, 'start').fault('kill-broker', 1, 'end').drained();
    const { result } = await check(h);
    expect(result.latencies.send_duration).toMatchObject({ count: 1, p99: 2 });
    expect(result.latencies.e2e_latency?.count).toBe(1);
    expect(result.faults).toEqual([expect.objectContaining({ name: 'kill-broker' })]);
    expect(result.timeline.sendOk.reduce((a, b) => a + b, 0)).toBe(1);
  });
});

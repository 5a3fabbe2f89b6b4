import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type Random, seededRandom } from '../../lib/random.ts';
import type { LedgerEvent, Outcome, Subscription } from '../ledger/index.ts';
import { ANOMALY_NAMES, type AnomalyName } from './anomalies.ts';
import { checkLedgers } from './engine.ts';
import { History } from './history.ts';

/**
 * Property tests: a simulated correct system produces histories that pass every checker; injecting one
 * kind of anomaly into such a history makes exactly that checker fail. Runs under `strict`, where nothing is allowed.
 */
type Kind = 'normal' | 'delayed' | 'commit' | 'rollback' | 'poison';
interface Message {
  id: string;
  kind: Kind;
  g: string;
  q: number;
  tg: 'paid' | 'cart';
  outcome: Outcome;
}

const MAX_ATTEMPTS = 3;
const SUBS: Subscription[] = [
  { group: 'cg-all', topic: 'orders', fifo: true, maxAttempts: MAX_ATTEMPTS },
  { group: 'cg-paid', topic: 'orders', filter: 'paid', filterType: 'TAG', maxAttempts: MAX_ATTEMPTS },
];

const messageArb = fc.record({
  kind: fc.constantFrom<Kind>('normal', 'normal', 'normal', 'delayed', 'commit', 'rollback', 'poison'),
  g: fc.constantFrom('a', 'b', 'c'),
  tg: fc.constantFrom<'paid' | 'cart'>('paid', 'cart'),
  outcome: fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'ok', 'unknown', 'fail'),
});

/** Messages every history has, so each injection has something to act on; then the random ones. */
function planMessages(random: { kind: Kind; g: string; tg: 'paid' | 'cart'; outcome: Outcome }[]): Message[] {
  const fixed: Omit<Message, 'id' | 'q'>[] = [
    { kind: 'normal', g: 'a', tg: 'paid', outcome: 'ok' },
    { kind: 'normal', g: 'a', tg: 'paid', outcome: 'ok' },
    { kind: 'normal', g: 'b', tg: 'cart', outcome: 'ok' },
    { kind: 'delayed', g: 'b', tg: 'paid', outcome: 'ok' },
    { kind: 'commit', g: 'c', tg: 'paid', outcome: 'ok' },
    { kind: 'rollback', g: 'c', tg: 'paid', outcome: 'ok' },
    { kind: 'poison', g: 'c', tg: 'paid', outcome: 'ok' },
    { kind: 'normal', g: 'b', tg: 'paid', outcome: 'unknown' },
  ];
  const seqs = new Map<string, number>();
  return [...fixed, ...random].map((m, index) => {
    const q = (seqs.get(m.g) ?? 0) + 1;
    seqs.set(m.g, q);
    return { ...m, id: `m${index}`, q };
  });
}

function expectedIn(group: Subscription, m: Message): boolean {
  if (m.outcome !== 'ok' || m.kind === 'rollback') return false;
  return group.filter === undefined || m.tg === 'paid';
}

/** The planted anomaly's message id (drain and reconcile are about no one message). */
interface Planted {
  id?: string;
}

/** Simulates a correct broker and consumers, with one anomaly injected when asked. */
function simulate(messages: Message[], seed: number, inject?: AnomalyName, planted: Planted = {}): History {
  const random = seededRandom(seed);
  const h = new History({ subscriptions: SUBS, drainSloMs: 1000, delayLateToleranceMs: 60_000 });
  h.phase('load', 'start');
  for (const m of messages) {
    const delayMs = inject === 'delay' && m.kind === 'delayed' ? 3_600_000 : 5;
    const spec = {
      g: m.g,
      q: m.q,
      tg: m.tg,
      r: m.outcome,
      ...(m.kind === 'delayed' ? { at: h.now() + delayMs } : {}),
      ...(m.kind === 'commit' || m.kind === 'rollback' ? { tx: 1 as const } : {}),
      ...(m.kind === 'poison' ? { po: 1 as const } : {}),
    };
    h.send(m.id, spec);
    if (spec.tx && m.outcome === 'ok') h.endTransaction(m.id, m.kind === 'commit' ? 'commit' : 'rollback');
  }
  h.phase('load', 'end').at(100).phase('drain', 'start');
  const acks = new Map<string, number>();
  const deadLettered = new Map<string, number>();
  for (const group of SUBS) {
    consumeGroup(h, group, messages, random, inject, acks, deadLettered, planted);
  }
  injectAfterConsuming(h, messages, inject, acks, planted);
  h.phase('drain', 'end').phase('dlq-scan', 'start').phase('dlq-scan', 'end');
  const stored = messages.filter((m) => m.outcome === 'ok' && m.kind !== 'rollback').length;
  h.counters({
    src: 'broker-1',
    in: { orders: inject === 'reconcile' ? stored - 1 : stored },
    ack: Object.fromEntries(SUBS.map((s) => [s.group, acks.get(s.group) ?? 0])),
    dlq: Object.fromEntries(SUBS.map((s) => [s.group, deadLettered.get(s.group) ?? 0])),
    lag: Object.fromEntries(SUBS.map((s) => [s.group, 0])),
  });
  return h;
}

function consumeGroup(
  h: History,
  group: Subscription,
  messages: Message[],
  random: Random,
  inject: AnomalyName | undefined,
  acks: Map<string, number>,
  deadLettered: Map<string, number>,
  planted: Planted,
): void {
  const cg = group.group;
  const ack = (id: string) => {
    h.ack(id, cg);
    acks.set(cg, (acks.get(cg) ?? 0) + 1);
  };
  // Per message group, in order; the groups interleave at random.
  const queues = ['a', 'b', 'c'].map((g) => messages.filter((m) => m.g === g && expectedIn(group, m)));
  let lostDone = inject !== 'lost' || cg !== 'cg-all';
  let orderDone = inject !== 'order' || cg !== 'cg-all';
  while (queues.some((q) => q.length > 0)) {
    const queue = random.pick(queues.filter((q) => q.length > 0));
    const m = queue.shift() as Message;
    if (!lostDone && m.kind === 'normal') {
      lostDone = true;
      planted.id = m.id;
      continue;
    }
    if (inject === 'drain' && queues.every((q) => q.length === 0) && cg === 'cg-paid') h.at(5000);
    if (m.kind === 'poison') {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) h.deliver(m.id, cg, attempt).nack(m.id, cg);
      if (inject !== 'dead-letter') {
        h.deadLetter(m.id, cg, MAX_ATTEMPTS);
        deadLettered.set(cg, (deadLettered.get(cg) ?? 0) + 1);
      } else {
        planted.id = m.id;
      }
      continue;
    }
    const next = queue[0];
    if (!orderDone && next !== undefined && next.kind !== 'poison') {
      orderDone = true; // deliver the next of the same message group before acknowledging this one
      planted.id = next.id;
      h.deliver(m.id, cg).deliver(next.id, cg);
      ack(m.id);
      ack(next.id);
      queue.shift();
      continue;
    }
    if (random.next() < 0.2) h.deliver(m.id, cg).nack(m.id, cg).deliver(m.id, cg, 2);
    else h.deliver(m.id, cg);
    ack(m.id);
  }
}

function injectAfterConsuming(
  h: History,
  messages: Message[],
  inject: AnomalyName | undefined,
  acks: Map<string, number>,
  planted: Planted,
): void {
  const deliverAndAck = (id: string, cg: string, attempt = 1) => {
    planted.id = id;
    h.deliver(id, cg, attempt).ack(id, cg);
    acks.set(cg, (acks.get(cg) ?? 0) + 1);
  };
  if (inject === 'delay') planted.id = (messages.find((m) => m.kind === 'delayed') as Message).id;
  const first = messages[0] as Message;
  switch (inject) {
    case 'unexpected':
      deliverAndAck('ghost', 'cg-all');
      return;
    case 'duplicate':
      deliverAndAck(first.id, 'cg-all', 5);
      return;
    case 'recovered':
      deliverAndAck((messages.find((m) => m.outcome === 'unknown') as Message).id, 'cg-all');
      return;
    case 'transaction':
      deliverAndAck((messages.find((m) => m.kind === 'rollback') as Message).id, 'cg-all');
      return;
    case 'filter':
      deliverAndAck((messages.find((m) => m.tg === 'cart' && m.outcome === 'ok') as Message).id, 'cg-paid');
      return;
    default:
      return;
  }
}

/**
 * How a history is written: each process's records split over several files by message group (as several producers
 * own message groups and several consumers share a group), each file with its own clock skew of up to +/-5 s and
 * its measured offset in a `ck` record, as the drivers write it. The drill's own file (phases, DLQ scan) keeps the
 * drill's clock.
 */
interface Layout {
  splits: number;
  skewsMs: number[];
  errMs: number;
}

const layoutArb = fc.record({
  splits: fc.integer({ min: 1, max: 3 }),
  skewsMs: fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: 6, maxLength: 6 }),
  errMs: fc.double({ min: 0, max: 2, noNaN: true }),
});

function shift(event: LedgerEvent, byMs: number): LedgerEvent {
  const out = { ...event, ts: event.ts + byMs } as LedgerEvent;
  if (out.t === 'si') {
    if (out.at !== undefined) out.at += byMs;
    if (out.it !== undefined) out.it += byMs;
  }
  return out;
}

function writeLaidOut(h: History, dir: string, layout: Layout): string[] {
  const groupOf = new Map<string, string>();
  for (const p of h.processes()) {
    for (const r of p.records) if (r.t === 'si' && r.g !== undefined) groupOf.set(r.id, r.g);
  }
  const paths: string[] = [];
  let fileNo = 0;
  for (const p of h.processes()) {
    const parts = p.process === 'control' ? 1 : layout.splits;
    const files: LedgerEvent[][] = Array.from({ length: parts }, () => []);
    const opGroup = new Map<number, string>(); // completions (ac, nc, fc) carry no cg: their invocation's
    for (const r of p.records) {
      const id = 'id' in r && typeof r.id === 'string' ? r.id : '';
      if ('cg' in r && 'o' in r && typeof r.o === 'number') opGroup.set(r.o, r.cg);
      const cg = 'cg' in r ? r.cg : 'o' in r && typeof r.o === 'number' ? (opGroup.get(r.o) ?? '') : '';
      const key = `${cg}/${groupOf.get(id) ?? id}`;
      (files[hashString(key) % parts] as LedgerEvent[]).push(r);
    }
    files.forEach((records, part) => {
      const skew = p.process === 'control' ? 0 : (layout.skewsMs[fileNo++ % layout.skewsMs.length] as number);
      const header = { ...p.header, process: `${p.process}-${part}`, startedMs: p.header.startedMs + skew };
      const ck: LedgerEvent = { t: 'ck', ts: 1_700_000_000_000 + skew, off: skew, err: layout.errMs };
      const lines = [header, ...(skew !== 0 ? [ck] : []), ...records.map((r) => shift(r, skew))];
      const path = join(dir, `${p.process}-${part}.ndjson`);
      writeFileSync(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
      paths.push(path);
    });
  }
  return paths;
}

function hashString(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) >>> 0;
  return h;
}

async function check(h: History, layout: Layout) {
  const dir = mkdtempSync(join(tmpdir(), 'mqd-prop-'));
  try {
    const result = await checkLedgers(writeLaidOut(h, dir, layout), { guarantee: 'strict' });
    return {
      verdicts: Object.fromEntries(result.anomalies.map((a) => [a.name, a.verdict])),
      ids: (name: string) => result.anomalies.find((a) => a.name === name)?.examples.map((e) => e.id) ?? [],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const allPass = Object.fromEntries(ANOMALY_NAMES.map((n) => [n, 'pass']));
const historyArb = fc.record({
  extra: fc.array(messageArb, { maxLength: 25 }),
  seed: fc.integer(),
  layout: layoutArb,
});

/** At least 1,000 generated histories per run: the clean ones and one planted anomaly of each kind. */
const CLEAN_RUNS = 200;
const PLANTED_RUNS = 75;
/** Clean histories that did not pass (false positives), counted across the run and printed at the end. */
let falsePositives = 0;

describe('checker properties, under clock skew and ledger splitting', () => {
  test(`random correct histories pass every checker (${CLEAN_RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, async ({ extra, seed, layout }) => {
        const { verdicts } = await check(simulate(planMessages(extra), seed), layout);
        if (JSON.stringify(verdicts) !== JSON.stringify(allPass)) falsePositives++;
        expect(verdicts).toEqual(allPass);
      }),
      { numRuns: CLEAN_RUNS },
    );
    process.stdout.write(`checker properties: ${falsePositives} false positives in ${CLEAN_RUNS} clean histories\n`);
  });

  for (const anomaly of ANOMALY_NAMES) {
    test(`a planted ${anomaly} is found with its message id, nothing else fails (${PLANTED_RUNS} cases)`, async () => {
      await fc.assert(
        fc.asyncProperty(historyArb, async ({ extra, seed, layout }) => {
          const planted: Planted = {};
          const got = await check(simulate(planMessages(extra), seed, anomaly, planted), layout);
          expect(got.verdicts).toEqual({ ...allPass, [anomaly]: 'fail' });
          if (anomaly !== 'drain' && anomaly !== 'reconcile') {
            expect(planted.id).toBeDefined();
            expect(got.ids(anomaly)).toContain(planted.id);
          }
        }),
        { numRuns: PLANTED_RUNS },
      );
    });
  }
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type Random, seededRandom } from '../../lib/random.ts';
import type { Outcome, Subscription } from '../ledger/index.ts';
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

/** Simulates a correct broker and consumers, with one anomaly injected when asked. */
function simulate(messages: Message[], seed: number, inject?: AnomalyName): History {
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
    consumeGroup(h, group, messages, random, inject, acks, deadLettered);
  }
  injectAfterConsuming(h, messages, inject, acks);
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
      continue;
    }
    if (inject === 'drain' && queues.every((q) => q.length === 0) && cg === 'cg-paid') h.at(5000);
    if (m.kind === 'poison') {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) h.deliver(m.id, cg, attempt).nack(m.id, cg);
      if (inject !== 'dead-letter') {
        h.deadLetter(m.id, cg, MAX_ATTEMPTS);
        deadLettered.set(cg, (deadLettered.get(cg) ?? 0) + 1);
      }
      continue;
    }
    const next = queue[0];
    if (!orderDone && next !== undefined && next.kind !== 'poison') {
      orderDone = true; // deliver the next of the same message group before acknowledging this one
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
): void {
  const deliverAndAck = (id: string, cg: string, attempt = 1) => {
    h.deliver(id, cg, attempt).ack(id, cg);
    acks.set(cg, (acks.get(cg) ?? 0) + 1);
  };
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

async function verdicts(h: History): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'mqd-prop-'));
  try {
    const result = await checkLedgers(h.write(dir), { guarantee: 'strict' });
    return Object.fromEntries(result.anomalies.map((a) => [a.name, a.verdict]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const allPass = Object.fromEntries(ANOMALY_NAMES.map((n) => [n, 'pass']));
const historyArb = fc.record({ extra: fc.array(messageArb, { maxLength: 25 }), seed: fc.integer() });

describe('checker properties', () => {
  test('random correct histories pass every checker', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, async ({ extra, seed }) => {
        expect(await verdicts(simulate(planMessages(extra), seed))).toEqual(allPass);
      }),
      { numRuns: 40 },
    );
  });

  for (const anomaly of ANOMALY_NAMES) {
    test(`injecting ${anomaly} makes exactly the ${anomaly} checker fail`, async () => {
      await fc.assert(
        fc.asyncProperty(historyArb, async ({ extra, seed }) => {
          const got = await verdicts(simulate(planMessages(extra), seed, anomaly));
          expect(got).toEqual({ ...allPass, [anomaly]: 'fail' });
        }),
        { numRuns: 15 },
      );
    });
  }
});

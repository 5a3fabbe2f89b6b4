import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerEvent, LedgerHeader, Outcome, Subscription, TransactionDecision } from '../ledger/index.ts';

/**
 * Hand-written histories for tests and benchmarks: each call appends records at the next tick (1 ms apart, or at
 * `at(ts)`), to one of three files (producer, consumer, control), as the real processes would.
 */
export interface SendSpec {
  tp?: string;
  g?: string;
  q?: number;
  tg?: string;
  pr?: Record<string, string>;
  at?: number;
  tx?: 1;
  po?: 1;
  r?: Outcome;
  bid?: string;
  d?: number;
}

type Process = 'producer' | 'consumer' | 'control';
const ROLES: Record<Process, string> = { producer: 'producer', consumer: 'consumer', control: 'drill' };

export class History {
  private ts = 1_700_000_000_000;
  private op = 0;
  private readonly records: Record<Process, LedgerEvent[]> = { producer: [], consumer: [], control: [] };

  constructor(readonly header: Partial<LedgerHeader> & { subscriptions?: Subscription[] } = {}) {}

  /** Moves time to ts (absolute epoch ms) or, with a relative number below 1e12, forward by that many ms. */
  at(ts: number): this {
    this.ts = ts < 1e12 ? this.ts + ts : ts;
    return this;
  }

  now(): number {
    return this.ts;
  }

  private tick(): number {
    this.ts += 1;
    return this.ts;
  }

  private push(process: Process, event: LedgerEvent): this {
    this.records[process].push(event);
    return this;
  }

  sendInvoke(id: string, spec: SendSpec = {}): number {
    const o = ++this.op;
    const { r: _r, bid: _bid, d: _d, tp = 'orders', ...rest } = spec;
    this.push('producer', { t: 'si', ts: this.tick(), o, id, tp, ...rest });
    return o;
  }

  sendComplete(id: string, o: number, r: Outcome = 'ok', bid = `B-${id}`, d = 2): this {
    return this.push('producer', { t: 'sc', ts: this.tick(), o, id, r, d, ...(r === 'ok' ? { bid } : {}) });
  }

  send(id: string, spec: SendSpec = {}): this {
    const o = this.sendInvoke(id, spec);
    return this.sendComplete(id, o, spec.r ?? 'ok', spec.bid ?? `B-${id}`, spec.d ?? 2);
  }

  deliver(
    id: string | undefined,
    cg = 'cg',
    a = 1,
    bid?: string,
    extra: { tg?: string; tp?: string; o?: number } = {},
  ): this {
    const record: LedgerEvent = { t: 'rm', ts: this.tick(), cg, c: 'c1', a, ...extra };
    if (id !== undefined) Object.assign(record, { id, bid: bid ?? `B-${id}` });
    return this.push('consumer', record);
  }

  ack(id: string, cg = 'cg', r: Outcome = 'ok'): this {
    const o = ++this.op;
    this.push('consumer', { t: 'ai', ts: this.tick(), o, cg, c: 'c1', id });
    return this.push('consumer', { t: 'ac', ts: this.tick(), o, id, r, d: 1 });
  }

  /** A receive call by a consumer of the group (its completion is left out: the checkers judge the deliveries). */
  receiveInvoke(cg = 'cg'): this {
    return this.push('consumer', { t: 'ri', ts: this.tick(), o: ++this.op, cg, c: 'c1' });
  }

  /** Delivery followed by an ok ack. */
  consume(id: string, cg = 'cg', a = 1): this {
    return this.deliver(id, cg, a).ack(id, cg);
  }

  nack(id: string, cg = 'cg'): this {
    const o = ++this.op;
    this.push('consumer', { t: 'ni', ts: this.tick(), o, cg, c: 'c1', id, iv: 1000 });
    return this.push('consumer', { t: 'nc', ts: this.tick(), o, id, r: 'ok', d: 1 });
  }

  endTransaction(id: string, x: TransactionDecision, r: Outcome = 'ok'): this {
    const o = ++this.op;
    this.push('producer', { t: 'ei', ts: this.tick(), o, id, x });
    return this.push('producer', { t: 'ec', ts: this.tick(), o, id, r, d: 1 });
  }

  /** The producer answered the broker's check-back for id with x. */
  checkBack(id: string, x: TransactionDecision): this {
    return this.push('producer', { t: 'tk', ts: this.tick(), id, x });
  }

  deadLetter(id: string, cg = 'cg', a?: number): this {
    return this.push('control', { t: 'dlq', ts: this.tick(), cg, id, ...(a !== undefined ? { a } : {}) });
  }

  phase(n: string, s: 'start' | 'end', ok?: boolean): this {
    return this.push('control', { t: 'ph', ts: this.tick(), n, s, ...(ok !== undefined ? { ok } : {}) });
  }

  fault(f: string, fid: number, s: 'start' | 'end'): this {
    return this.push('control', { t: s === 'start' ? 'fs' : 'fe', ts: this.tick(), f, fid });
  }

  counters(snapshot: Omit<Extract<LedgerEvent, { t: 'ctr' }>, 't' | 'ts'>): this {
    return this.push('control', { t: 'ctr', ts: this.tick(), ...snapshot });
  }

  /** The broker's backlog for a group, as the drill samples it. */
  backlog(n: number, cg = 'cg'): this {
    return this.push('control', { t: 'bl', ts: this.tick(), cg, n });
  }

  /** Drain start and end around nothing: the end of the run. */
  drained(): this {
    return this.phase('drain', 'start').phase('drain', 'end');
  }

  /** The records of each process so far, with the header each file would get (tests split and skew them). */
  processes(): { process: Process; header: LedgerHeader; records: LedgerEvent[] }[] {
    return (Object.keys(this.records) as Process[]).map((process) => ({
      process,
      header: {
        type: 'header',
        version: 1,
        process,
        role: ROLES[process],
        startedMs: 1_700_000_000_000,
        ...this.header,
      },
      records: this.records[process],
    }));
  }

  /** Writes the three files (one may be header-only) and returns their paths. */
  write(dir: string): string[] {
    mkdirSync(dir, { recursive: true });
    return (Object.keys(this.records) as Process[]).map((process) => {
      const header: LedgerHeader = {
        type: 'header',
        version: 1,
        process,
        role: ROLES[process],
        startedMs: 1_700_000_000_000,
        ...this.header,
      };
      const lines = [header, ...this.records[process]].map((r) => JSON.stringify(r));
      const path = join(dir, `${process}.ndjson`);
      writeFileSync(path, `${lines.join('\n')}\n`);
      return path;
    });
  }
}

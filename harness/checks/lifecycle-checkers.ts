import type { CounterSnapshot } from '../ledger/index.ts';
import { type CheckContext, type Checker, expects, type Findings, type GroupInfo } from './context.ts';
import { GRP, IntList, MSG } from './message-table.ts';

/**
 * Transaction: a rolled-back message delivered, a message delivered before its commit (a visible half message),
 * or a committed message never delivered to a group that must receive it (decided after the drain). Deliveries are
 * judged at the end by message identity (a consumer clock behind the producer's merges them before the commit);
 * "before its commit" compares offset-corrected times with the clock tolerance in the broker's favour.
 *
 * A commit whose end-transaction call did not complete ok (unknown: a timeout, or the remoting API's one-way end;
 * fail) may never have reached the broker, which then keeps the half message until a check-back to the producer
 * group settles it. Never delivered and never checked back (the producer closed first), it is not judged, and a
 * note counts it; once a check-back answered commit, it is judged like any commit.
 */
export function makeTransactionChecker(): Checker {
  const candidates = new IntList();
  const times: number[] = [];
  const groupNames: string[] = [];
  return {
    name: 'transaction',
    observe(event, fileIndex, line, ctx) {
      if (event.t !== 'rm' || event.id === undefined) return;
      const i = ctx.table.row(event.id);
      const flags = ctx.table.flags[i] as number;
      if (flags & MSG.SEND_INVOKED && !(flags & MSG.TRANSACTIONAL)) return;
      for (const v of [i, fileIndex, line]) candidates.push(v);
      times.push(event.ts);
      groupNames.push(event.cg);
    },
    finish(ctx, findings) {
      judgeTransactionalDeliveries(ctx, findings, candidates, times, groupNames);
      const { table } = ctx;
      let missing = 0;
      let unsettled = 0;
      for (let i = 0; i < table.size; i++) {
        const flags = table.flags[i] as number;
        if (!(flags & MSG.TRANSACTIONAL)) continue;
        findings.checked++;
        if (!(flags & MSG.COMMIT) || !(flags & MSG.SEND_OK)) continue;
        const settled = !(flags & MSG.END_UNSETTLED) || (flags & MSG.CHECKED_BACK) !== 0;
        for (const group of ctx.groupsByTopic[table.topic[i] as number] ?? []) {
          if (expects(ctx, group, i) !== true || (group.columns.deliveries[i] as number) > 0) continue;
          if (!settled) {
            unsettled++;
            continue;
          }
          missing++;
          const detail = `committed but never delivered to ${group.name}`;
          findings.add(table.sendFile[i] as number, table.sendLine[i] as number, detail, table.ids[i], group.name);
        }
      }
      if (findings.checked === 0) findings.applicable = false;
      if (unsettled > 0) {
        findings.notes.push(
          `${unsettled} commits never delivered are not judged: their end-transaction call did not complete ok ` +
            '(a timeout, or the remoting API ending it one way) and no check-back settled them before the producer ' +
            'closed; the broker keeps such a half message until a check-back does',
        );
      }
      if (missing > 0 && ctx.drainEndMs === undefined) {
        findings.undecided = true;
        findings.notes.push('no drain end marker: committed messages not yet delivered may still arrive');
      }
    },
  };
}

function judgeTransactionalDeliveries(
  ctx: CheckContext,
  findings: Findings,
  candidates: IntList,
  times: number[],
  groupNames: string[],
): void {
  const flagged = new Set<number>();
  for (let k = 0; k < candidates.length; k += 3) {
    const [i, fileIndex, line] = Array.from(candidates.data.subarray(k, k + 3)) as [number, number, number];
    const flags = ctx.table.flags[i] as number;
    if (!(flags & MSG.TRANSACTIONAL) || flagged.has(i)) continue;
    const commitMs = ctx.table.commitTsMs.get(i);
    const ts = times[k / 3] as number;
    let detail: string | undefined;
    if (flags & MSG.ROLLBACK) detail = 'a rolled-back message was delivered';
    else if (commitMs === undefined) detail = 'delivered but never committed (half message)';
    else if (ts + ctx.clock.toleranceMs < commitMs) detail = 'delivered before its commit (half message)';
    if (detail === undefined) continue;
    flagged.add(i);
    findings.add(fileIndex, line, detail, ctx.table.ids[i], groupNames[k / 3]);
  }
}

/** Filter: a message delivered to a declared group whose subscription filter does not select it. */
export function makeFilterChecker(): Checker {
  let sqlUnchecked = 0;
  return {
    name: 'filter',
    observe(event, fileIndex, line, ctx, findings) {
      if (event.t !== 'rm' || event.id === undefined) return;
      const group = ctx.groupByName.get(event.cg);
      const i = ctx.table.find(event.id);
      if (group === undefined || !group.declared || i === undefined) return;
      if ((group.columns.deliveries[i] as number) > 0) return;
      if (!((ctx.table.flags[i] as number) & MSG.SEND_INVOKED)) return; // never sent: `unexpected` reports it
      findings.checked++;
      const expected = expects(ctx, group, i);
      if (expected === undefined) sqlUnchecked++;
      if (expected !== false) return;
      const tagId = ctx.table.tag[i] as number;
      const topic = ctx.topics.values[ctx.table.topic[i] as number];
      const sub = group.filters.get(ctx.table.topic[i] as number);
      const detail = sub
        ? `tag ${tagId >= 0 ? ctx.tags.values[tagId] : '(none)'} does not match filter "${sub.subscription.filter}"`
        : `${group.name} did not subscribe to topic ${topic}`;
      findings.add(fileIndex, line, detail, event.id, event.cg);
    },
    finish(ctx, findings) {
      if (sqlUnchecked > 0) findings.notes.push(`${sqlUnchecked} deliveries behind SQL92 filters were not checked`);
      if (!ctx.groups.some((g) => g.declared)) {
        findings.applicable = false;
        findings.notes.push('no subscription declared in any ledger header');
      }
    },
  };
}

/**
 * Dead-letter: a poison message that a group must receive but that is not in its DLQ after the drain, or that was
 * delivered more often than maxAttempts; a healthy message in a DLQ although it was acknowledged or not retried to
 * its max attempts.
 */
export const deadLetterChecker: Checker = {
  name: 'dead-letter',
  finish(ctx, findings) {
    const { table } = ctx;
    let poisonMissing = 0;
    for (let i = 0; i < table.size; i++) {
      const flags = table.flags[i] as number;
      for (const group of ctx.groupsByTopic[table.topic[i] as number] ?? []) {
        const state = group.columns.state[i] as number;
        const dead = (state & GRP.DEAD_LETTERED) !== 0;
        if (!(flags & MSG.POISON) && !dead) continue;
        findings.checked++;
        const attempts = group.columns.attemptMax[i] as number;
        const problem = deadLetterProblem(flags, state, attempts, group, expects(ctx, group, i) === true);
        if (problem === undefined) continue;
        if (problem.startsWith('poison message not')) poisonMissing++;
        findings.add(table.sendFile[i] as number, table.sendLine[i] as number, problem, table.ids[i], group.name);
      }
    }
    if (findings.checked === 0) findings.applicable = false;
    if (poisonMissing > 0 && ctx.deadLetterObservations === 0 && !ctx.deadLetterScanned) {
      findings.undecided = true;
      findings.notes.push('no dlq records and no dlq-scan phase in the ledger: the DLQ was not inspected');
    } else if (poisonMissing > 0 && ctx.drainEndMs === undefined) {
      findings.undecided = true;
      findings.notes.push('no drain end marker: poison messages may still reach the DLQ');
    }
  },
};

function deadLetterProblem(
  flags: number,
  state: number,
  attempts: number,
  group: GroupInfo,
  expected: boolean,
): string | undefined {
  const dead = (state & GRP.DEAD_LETTERED) !== 0;
  if (flags & MSG.POISON) {
    if (attempts > group.maxAttempts) return `poison message delivered ${attempts} times, over maxAttempts`;
    if (!dead && expected && (flags & MSG.SEND_OK || attempts > 0)) {
      return `poison message not in %DLQ%${group.name} after ${attempts} of ${group.maxAttempts} attempts`;
    }
    return undefined;
  }
  if (state & GRP.ACK_OK) return 'healthy message in the DLQ although it was acknowledged';
  if (attempts < group.maxAttempts) {
    return `healthy message in the DLQ after ${attempts} of ${group.maxAttempts} attempts`;
  }
  return undefined;
}

/** Drain: how long consumers took to finish after the drain started, against the SLO and the drain's own end. */
export const drainChecker: Checker = {
  name: 'drain',
  finish(ctx, findings) {
    if (ctx.drainStartMs === undefined) {
      findings.applicable = false;
      findings.notes.push('no drain phase in the ledger');
      return;
    }
    findings.checked = 1;
    const drainMs = ctx.lastConsumeMs === undefined ? 0 : ctx.lastConsumeMs - ctx.drainStartMs;
    findings.notes.push(`drained in ${Math.round(drainMs)} ms (last ack or dead-lettering after the drain start)`);
    if (ctx.drainEndOk === false) {
      findings.add(-1, 0, 'the drain phase ended with ok:false: its deadline passed with backlog left');
    }
    if (ctx.drainSloMs !== undefined && drainMs > ctx.drainSloMs) {
      findings.add(-1, 0, `drain took ${Math.round(drainMs)} ms, over the SLO of ${ctx.drainSloMs} ms`);
    }
    if (ctx.drainEndMs === undefined) {
      findings.nothingJudged('the drain phase started but never ended in the ledger: it may never have drained');
    } else if (ctx.backlogEntered === 0) {
      findings.nothingJudged(
        'no message ever had to be consumed (no acknowledged send reached a declared consumer group): ' +
          'a drain of nothing proves nothing',
      );
    }
  },
};

type CounterKind = 'in' | 'ack' | 'dlq';

/** Counter deltas over the run: last - first per source when there are two snapshots, else the last. */
function counterDeltas(ctx: CheckContext, kind: CounterKind): Map<string, number> {
  const out = new Map<string, number>();
  for (const { first, last } of ctx.counters.values()) {
    const end = last[kind] ?? {};
    const start: CounterSnapshot[CounterKind] = first === last ? {} : (first[kind] ?? {});
    for (const [name, value] of Object.entries(end)) {
      out.set(name, (out.get(name) ?? 0) + value - (start?.[name] ?? 0));
    }
  }
  return out;
}

/** Reconcile: the broker's counters against the ledger's (messages in per topic, acks and DLQ per group, lag). */
export const reconcileChecker: Checker = {
  name: 'reconcile',
  finish(ctx, findings) {
    if (ctx.counters.size === 0) {
      findings.applicable = false;
      findings.notes.push('no broker counter snapshot (ctr record) in the ledger');
      return;
    }
    const where = [...ctx.counters.values()].at(-1) as { fileIndex: number; line: number };
    const report = (detail: string) => findings.add(where.fileIndex, where.line, detail);
    reconcileMessagesIn(ctx, findings, report);
    for (const [group, acks] of counterDeltas(ctx, 'ack')) {
      findings.checked++;
      const ok = ctx.counts[`acks_ok@${group}`] ?? 0;
      const invoked = ctx.counts[`acks@${group}`] ?? 0;
      if (acks < ok || acks > invoked) report(`${group}: broker counted ${acks} acks, ledger ${ok} ok of ${invoked}`);
    }
    for (const [group, dead] of counterDeltas(ctx, 'dlq')) {
      findings.checked++;
      const observed = countDeadLettered(ctx, group);
      if (ctx.deadLetterObservations > 0 && dead !== observed) {
        report(`${group}: broker dead-lettered ${dead}, the ledger observed ${observed} in the DLQ`);
      }
    }
    reconcileLag(ctx, findings, report);
  },
};

function reconcileMessagesIn(ctx: CheckContext, findings: Findings, report: (detail: string) => void): void {
  const ok = new Map<number, number>();
  const invoked = new Map<number, number>();
  for (let i = 0; i < ctx.table.size; i++) {
    const flags = ctx.table.flags[i] as number;
    if (!(flags & MSG.SEND_INVOKED)) continue;
    if (flags & MSG.TRANSACTIONAL && !(flags & MSG.COMMIT)) continue;
    const topic = ctx.table.topic[i] as number;
    invoked.set(topic, (invoked.get(topic) ?? 0) + 1);
    if (flags & MSG.SEND_OK) ok.set(topic, (ok.get(topic) ?? 0) + 1);
  }
  for (const [topic, stored] of counterDeltas(ctx, 'in')) {
    findings.checked++;
    const id = ctx.topics.find(topic);
    const low = id === undefined ? 0 : (ok.get(id) ?? 0);
    const high = id === undefined ? 0 : (invoked.get(id) ?? 0);
    if (stored < low) report(`${topic}: broker stored ${stored} messages, fewer than the ${low} sends acknowledged`);
    if (stored > high) report(`${topic}: broker stored ${stored} messages, more than the ${high} sends attempted`);
  }
}

function countDeadLettered(ctx: CheckContext, groupName: string): number {
  const group = ctx.groupByName.get(groupName);
  if (group === undefined) return 0;
  let n = 0;
  for (let i = 0; i < ctx.table.size; i++) if ((group.columns.state[i] as number) & GRP.DEAD_LETTERED) n++;
  return n;
}

function reconcileLag(ctx: CheckContext, findings: Findings, report: (detail: string) => void): void {
  if (ctx.drainEndMs === undefined) return;
  for (const { last } of ctx.counters.values()) {
    if (last.ts < ctx.drainEndMs || last.lag === undefined) continue;
    for (const [group, lag] of Object.entries(last.lag)) {
      findings.checked++;
      if (lag > 0) report(`${group}: the broker reports a backlog of ${lag} after the drain`);
    }
  }
}

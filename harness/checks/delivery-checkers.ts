import type { ReceivedMessage } from '../ledger/index.ts';
import { type CheckContext, type Checker, expects, type Findings, type GroupInfo } from './context.ts';
import { GRP, hashString, IntList, MSG } from './message-table.ts';

const NO_DRAIN_NOTE = 'the ledger has no drain end marker, so messages not yet delivered may still arrive';

/**
 * Lost: an acknowledged send never delivered to a group that must receive it (decided after the drain). `checked`
 * counts the (message, group) pairs judged. Nothing judged is never a pass when the run should have given something:
 * no send acknowledged, no consumer group for the topics sent to, or no consumer ledger for a group that must receive.
 */
export const lostChecker: Checker = {
  name: 'lost',
  finish(ctx, findings) {
    const { table } = ctx;
    let sqlUndecidable = 0;
    let transactional = 0;
    let plain = 0;
    const uncovered = new Map<string, Set<string>>();
    const missingByGroup = new Map<string, number>();
    for (let i = 0; i < table.size; i++) {
      const flags = table.flags[i] as number;
      if (!(flags & MSG.SEND_OK)) continue;
      if (flags & MSG.TRANSACTIONAL) {
        transactional++;
        continue;
      }
      plain++;
      for (const group of ctx.groupsByTopic[table.topic[i] as number] ?? []) {
        const expected = expects(ctx, group, i);
        if (expected === undefined) sqlUndecidable++;
        if (expected !== true) continue;
        if (!ctx.consumerGroupsSeen.has(group.name)) {
          const topics = uncovered.get(group.name) ?? new Set<string>();
          topics.add(ctx.topics.values[table.topic[i] as number] as string);
          uncovered.set(group.name, topics);
          continue;
        }
        findings.checked++;
        if ((group.columns.deliveries[i] as number) > 0) continue;
        if ((group.columns.state[i] as number) & GRP.DEAD_LETTERED) continue;
        missingByGroup.set(group.name, (missingByGroup.get(group.name) ?? 0) + 1);
        const detail = `acknowledged send never delivered to ${group.name}`;
        findings.add(table.sendFile[i] as number, table.sendLine[i] as number, detail, table.ids[i], group.name);
      }
    }
    if (sqlUndecidable > 0) findings.notes.push(`${sqlUndecidable} message/group pairs behind SQL92 filters skipped`);
    if (findings.count > 0 && ctx.drainEndMs === undefined) {
      findings.undecided = true;
      findings.notes.push(NO_DRAIN_NOTE);
    } else if (findings.count > 0 && ctx.drainEndOk === false) stuckNotLost(ctx, findings, missingByGroup);
    for (const [group, topics] of uncovered) {
      findings.nothingJudged(
        `group ${group} must receive messages of ${[...topics].join(', ')} but no consumer ledger for it was given ` +
          `(no receive, delivery or ack of ${group}, no consumer header declaring it): pass its ledgers too`,
      );
    }
    if (findings.checked === 0 && uncovered.size === 0 && transactional > 0 && plain === 0) {
      // Only transactional sends: whether each had to arrive depends on its commit, which `transaction` judges.
      findings.applicable = false;
      findings.notes.push(
        `all ${transactional} acknowledged sends are transactional: the transaction check judges them`,
      );
    } else if (findings.checked === 0 && uncovered.size === 0) lostNothingJudged(ctx, findings);
  },
};

/**
 * The drain deadline passed with messages undelivered: where the broker still reported at least as many messages
 * waiting for a group as the ledger misses, they may be stuck (the drain check fails for that), not gone; `lost` is
 * undecided then. Fewer waiting than missing, or no figure from the broker, and the missing ones are lost.
 */
function stuckNotLost(ctx: CheckContext, findings: Findings, missingByGroup: Map<string, number>): void {
  const stuck = [...missingByGroup].filter(([group, n]) => (ctx.brokerBacklogByGroup.get(group) ?? 0) >= n);
  if (stuck.length === 0 || stuck.length < missingByGroup.size) return;
  findings.undecided = true;
  for (const [group, n] of stuck) {
    const backlog = ctx.brokerBacklogByGroup.get(group);
    findings.notes.push(
      `${n} acknowledged sends not delivered to ${group} before the drain deadline, and the broker still reported ` +
        `${backlog} waiting for it: stuck or slow, not proven lost (the drain check fails); rerun with a longer ` +
        'drain deadline to decide',
    );
  }
}

/** Why `lost` judged nothing: no sends, none acknowledged, or no group that must receive them. */
function lostNothingJudged(ctx: CheckContext, findings: Parameters<Checker['finish']>[1]): void {
  const sends = ctx.counts.sends ?? 0;
  const ok = ctx.counts.sends_ok ?? 0;
  if (sends === 0) {
    findings.nothingJudged('the ledgers hold no send at all: the load never ran, or its ledgers were not given');
  } else if (ok === 0) {
    const fail = ctx.counts.sends_fail ?? 0;
    const unknown = ctx.counts.sends_unknown ?? 0;
    findings.nothingJudged(
      `none of ${sends} sends was acknowledged (${fail} fail, ${unknown} unknown): ` +
        'the target was unreachable or silent',
    );
  } else if (ctx.groups.length === 0) {
    findings.nothingJudged(
      `${ok} sends were acknowledged but no consumer group is declared or seen: give the consumer ledgers ` +
        '(and the drill ledger, which declares the groups)',
    );
  } else {
    findings.notes.push('no acknowledged send had to reach any declared group (topics or filters do not match)');
  }
}

/** Unexpected: a delivery of a message never sent (no send invocation anywhere, or no harness id at all). */
export function makeUnexpectedChecker(): Checker {
  const candidates = new IntList();
  const locations: { fileIndex: number; line: number; group: string }[] = [];
  return {
    name: 'unexpected',
    observe(event, fileIndex, line, ctx, findings) {
      if (event.t !== 'rm') return;
      if (event.id === undefined) {
        const detail = `delivery without a ${'mqd_id'} property (broker id ${event.bid ?? '?'})`;
        findings.add(fileIndex, line, detail, undefined, event.cg);
        return;
      }
      const i = ctx.table.find(event.id);
      if (i !== undefined && (ctx.table.flags[i] as number) & MSG.SEND_INVOKED) return;
      // The send may still come later in the merged order (clocks of two hosts): decide at the end.
      candidates.push(i ?? ctx.table.row(event.id));
      locations.push({ fileIndex, line, group: event.cg });
    },
    finish(ctx, findings) {
      findings.checked = ctx.counts.deliveries ?? 0;
      for (let k = 0; k < candidates.length; k++) {
        const i = candidates.data[k] as number;
        if ((ctx.table.flags[i] as number) & MSG.SEND_INVOKED) continue;
        const at = locations[k] as { fileIndex: number; line: number; group: string };
        findings.add(at.fileIndex, at.line, 'delivered but never sent', ctx.table.ids[i], at.group);
      }
    },
  };
}

/**
 * Duplicate: a message delivered again to a group after it was acknowledged there, a second stored copy (another
 * broker message id), or a second delivery without a higher delivery attempt. Redeliveries after a nack, a failed
 * or unknown ack, or an invisible-time expiry (attempt + 1) are not duplicates.
 */
export const duplicateChecker: Checker = {
  name: 'duplicate',
  observe(event, fileIndex, line, ctx, findings) {
    if (event.t !== 'rm' || event.id === undefined) return;
    const i = ctx.table.find(event.id);
    const group = ctx.groupByName.get(event.cg);
    if (i === undefined || group === undefined || (group.columns.deliveries[i] as number) === 0) return;
    const reason = duplicateReason(event, i, group, ctx);
    if (reason !== undefined) findings.add(fileIndex, line, reason, event.id, event.cg);
  },
  finish(ctx, findings) {
    findings.checked = deliveredPairs(ctx);
  },
};

function duplicateReason(event: ReceivedMessage, i: number, group: GroupInfo, ctx: CheckContext): string | undefined {
  const state = group.columns.state[i] as number;
  // Only an ack known to have landed (ok) makes a redelivery a duplicate: after an ack whose outcome was unknown or
  // failed, or one still in flight, the broker may rightly deliver the message again.
  if (state & GRP.ACK_OK) return `delivered again (attempt ${event.a}) after it was acknowledged`;
  const firstHash = ctx.table.brokerIdHash[i] as number;
  if (event.bid !== undefined && firstHash !== 0 && hashString(event.bid) !== firstHash) {
    return `a second stored copy (broker id ${event.bid})`;
  }
  if ((event.a ?? 1) <= (group.columns.attemptMax[i] as number)) {
    return `delivered again with attempt ${event.a}, not above the previous ${group.columns.attemptMax[i]}`;
  }
  return undefined;
}

/** Messages delivered at least once, summed over groups: what duplicate.rate is out of. */
function deliveredPairs(ctx: CheckContext): number {
  let n = 0;
  for (const group of ctx.groups) {
    const deliveries = group.columns.deliveries;
    for (let i = 0; i < ctx.table.size; i++) if ((deliveries[i] as number) > 0) n++;
  }
  return n;
}

/** Recovered: a send that ended fail or unknown (or never completed) whose message was delivered anyway. */
export const recoveredChecker: Checker = {
  name: 'recovered',
  finish(ctx, findings) {
    const { table } = ctx;
    for (let i = 0; i < table.size; i++) {
      const flags = table.flags[i] as number;
      if (!(flags & MSG.SEND_INVOKED) || flags & MSG.SEND_OK) continue;
      findings.checked++;
      if (!ctx.groups.some((g) => (g.columns.deliveries[i] as number) > 0)) continue;
      const outcome = flags & MSG.SEND_FAIL ? 'fail' : flags & MSG.SEND_UNKNOWN ? 'unknown' : 'no completion';
      const detail = `send ended ${outcome} but the message was delivered`;
      findings.add(table.sendFile[i] as number, table.sendLine[i] as number, detail, table.ids[i]);
    }
  },
};

/**
 * Delay: a delayed message's first delivery to a group before its delivery time, or later than the tolerance. Judged
 * at the end by message identity, so a consumer ledger merged before the producer's (a clock behind) is still judged;
 * the delivery time (producer's clock) and the delivery (consumer's clock) are both offset-corrected, and the
 * remaining clock tolerance counts in the broker's favour.
 *
 * Lateness is the broker's: RocketMQ makes a delayed message visible at its delivery time (a timer wheel with 1 s
 * slots, never before the slot it is due in) and hands it to the next receive, so it is counted from the later of the
 * delivery time and the group's first receive call (`ri`). A group whose client started receiving late (a JVM
 * starting on a loaded machine) did not ask for the message; that wait is not the broker's. Push consumers write no
 * `ri`: their lateness counts from the delivery time.
 */
export function makeDelayChecker(): Checker {
  const candidates = new IntList();
  const times: number[] = [];
  /** Each group's first receive call (drill clock). */
  const firstReceive = new Map<string, number>();
  return {
    name: 'delay',
    observe(event, fileIndex, line, ctx) {
      if (event.t === 'ri' && typeof event.cg === 'string') {
        const known = firstReceive.get(event.cg);
        if (known === undefined || event.ts < known) firstReceive.set(event.cg, event.ts);
        return;
      }
      if (event.t !== 'rm' || event.id === undefined) return;
      const i = ctx.table.row(event.id);
      const flags = ctx.table.flags[i] as number;
      if (flags & MSG.SEND_INVOKED && !(flags & MSG.DELAYED)) return;
      const group = ctx.groupByName.get(event.cg);
      if (group !== undefined && (group.columns.deliveries[i] as number) > 0) return;
      for (const v of [i, group?.columns.index ?? -1, fileIndex, line]) candidates.push(v);
      times.push(event.ts);
    },
    finish(ctx, findings) {
      const slack = ctx.clock.toleranceMs;
      const lateFrom = (atMs: number, group: string | undefined) =>
        Math.max(atMs, (group === undefined ? undefined : firstReceive.get(group)) ?? atMs);
      const lateDetail = (ts: number, atMs: number, group: string | undefined) => {
        const from = lateFrom(atMs, group);
        const since = from > atMs ? ` and ${(ts - from).toFixed(0)} ms after the group's first receive` : '';
        return `delivered ${(ts - atMs).toFixed(0)} ms after its delivery time${since} (tolerance ${
          ctx.delayLateToleranceMs
        } ms)`;
      };
      for (let k = 0; k < candidates.length; k += 4) {
        const [i, g, fileIndex, line] = Array.from(candidates.data.subarray(k, k + 4)) as number[] as [
          number,
          number,
          number,
          number,
        ];
        if (!((ctx.table.flags[i] as number) & MSG.DELAYED)) continue;
        const atMs = ctx.table.deliverAtMs.get(i) as number;
        const ts = times[k / 4] as number;
        const group = ctx.groups[g]?.name;
        findings.checked++;
        if (ts < atMs - slack) {
          const early = (atMs - ts).toFixed(0);
          const detail = `delivered ${early} ms before its delivery time (clock tolerance ${slack} ms)`;
          findings.add(fileIndex, line, detail, ctx.table.ids[i], group);
        } else if (ts > lateFrom(atMs, group) + ctx.delayLateToleranceMs + slack) {
          findings.add(fileIndex, line, lateDetail(ts, atMs, group), ctx.table.ids[i], group);
        }
      }
      if (findings.checked > 0) return;
      const sent = delayedSentOk(ctx);
      if (sent > 0) findings.nothingJudged(`${sent} delayed messages were acknowledged for groups that must get them`);
      else findings.applicable = false;
    },
  };
}

/** Delayed messages sent ok that some consumer group with a ledger must receive. */
function delayedSentOk(ctx: CheckContext): number {
  let n = 0;
  for (let i = 0; i < ctx.table.size; i++) {
    const flags = ctx.table.flags[i] as number;
    if (!(flags & MSG.DELAYED) || !(flags & MSG.SEND_OK)) continue;
    const groups = ctx.groupsByTopic[ctx.table.topic[i] as number] ?? [];
    if (groups.some((g) => ctx.consumerGroupsSeen.has(g.name) && expects(ctx, g, i) === true)) n++;
  }
  return n;
}

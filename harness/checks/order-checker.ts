import type { LedgerEvent } from '../ledger/index.ts';
import { type CheckContext, type Checker, expects, type Findings, type GroupInfo } from './context.ts';
import { IntList, MSG } from './message-table.ts';

/** Where the first release of a message in a group happened: its ack or dead-lettering, or its last attempt. */
interface Release {
  fileIndex: number;
  line: number;
  ts: number;
}

/**
 * Order: in a FIFO group, a message delivered while the previous message of its message group was not yet released
 * there (acknowledged, dead-lettered, or delivered for its last attempt).
 *
 * Clock independence: the predecessor comes from the producer's own send sequence (the last message of the group
 * whose send had completed ok when this one was sent: one file, file order). Every delivery is kept and judged at
 * the end, so a consumer ledger whose clock runs behind the producer's (its deliveries merged before the sends) is
 * judged all the same. "Released before" compares line order when the release and the delivery are in the same
 * consumer ledger, and otherwise the offset-corrected timestamps with the measured clock tolerance in the
 * releasing side's favour. `checked` counts the (message, predecessor) pairs judged.
 */
export function makeOrderChecker(): Checker {
  /** Per FIFO delivery: message, group, file, line, receive op (-1 = push); and its timestamp. */
  const deliveries = new IntList();
  const deliveryTs: number[] = [];
  const releases = new Map<number, Release>();
  /**
   * `group/message/file/op` -> line: where a receive call returned a message (RocketMQ hands out n and n+1 together,
   * in order: n+1 is excused only when n came earlier in the same batch).
   */
  const batches = new Map<string, number>();
  return {
    name: 'order',
    observe(event: LedgerEvent, fileIndex, line, ctx) {
      const release = (id: string | undefined, cg: string) => {
        const group = ctx.groupByName.get(cg);
        if (id === undefined || group === undefined || !group.fifo) return;
        const key = ctx.table.row(id) * 1024 + group.columns.index;
        if (!releases.has(key)) releases.set(key, { fileIndex, line, ts: event.ts });
      };
      if (event.t === 'ai' || event.t === 'fi' || event.t === 'dlq') {
        release(event.id, event.cg);
        return;
      }
      if (event.t !== 'rm' || event.id === undefined) return;
      const group = ctx.groupByName.get(event.cg);
      if (group === undefined || !group.fifo) return;
      const i = ctx.table.row(event.id);
      for (const v of [i, group.columns.index, fileIndex, line, event.o ?? -1]) deliveries.push(v);
      deliveryTs.push(event.ts);
      const batchKey = `${group.columns.index}/${i}/${fileIndex}/${event.o}`;
      if (event.o !== undefined && !batches.has(batchKey)) batches.set(batchKey, line);
      // The broker gives up on a message after its last attempt (to the DLQ, seen or not) and moves on.
      if ((event.a ?? 1) >= group.maxAttempts) release(event.id, event.cg);
    },
    finish(ctx, findings) {
      const { table } = ctx;
      for (let k = 0, d = 0; k < deliveries.length; k += 5, d++) {
        const [i, g, fileIndex, line, op] = Array.from(deliveries.data.subarray(k, k + 5)) as number[];
        const group = ctx.groups[g as number] as GroupInfo;
        if ((table.orderKey[i as number] as number) < 0) continue;
        const pred = expectedPredecessor(ctx, group, i as number);
        if (pred < 0) continue;
        findings.checked++;
        if ((group.columns.deliveries[pred] as number) === 0) continue; // never delivered: lost, not out of order
        const rel = releases.get(pred * 1024 + (g as number));
        const ts = deliveryTs[d] as number;
        const released =
          rel !== undefined &&
          (rel.fileIndex === fileIndex ? rel.line < (line as number) : rel.ts <= ts + ctx.clock.toleranceMs);
        if (released) continue;
        const predInBatch = op === -1 ? undefined : batches.get(`${g}/${pred}/${fileIndex}/${op}`);
        if (predInBatch !== undefined && predInBatch < (line as number)) continue;
        const key = ctx.orderKeys.values[table.orderKey[i as number] as number];
        const detail =
          `message group ${key}: seq ${table.seq[i as number]} delivered before seq ` +
          `${table.seq[pred]} (${table.ids[pred]}) was acknowledged`;
        findings.add(fileIndex as number, line as number, detail, table.ids[i as number], group.name);
      }
      if (findings.checked === 0) orderNothingJudged(ctx, findings);
    },
  };
}

/** Order judged nothing: say why when FIFO groups and FIFO sends were there to judge. */
function orderNothingJudged(ctx: CheckContext, findings: Findings): void {
  const fifoGroups = ctx.groups.filter((g) => g.fifo);
  if (fifoGroups.length === 0) {
    findings.applicable = false;
    return;
  }
  const { table } = ctx;
  let ordered = 0;
  const okPerKey = new Map<number, number>();
  for (let i = 0; i < table.size; i++) {
    const key = table.orderKey[i] as number;
    if (key < 0 || !((table.flags[i] as number) & MSG.SEND_OK)) continue;
    if (!fifoGroups.some((g) => expects(ctx, g, i) === true)) continue;
    okPerKey.set(key, (okPerKey.get(key) ?? 0) + 1);
    if ((table.predecessor[i] as number) >= 0) ordered++;
  }
  if (ordered > 0) {
    findings.nothingJudged(`${ordered} FIFO messages had a defined predecessor but no delivery of one was judged`);
  } else if ([...okPerKey.values()].some((n) => n >= 2)) {
    findings.nothingJudged(
      'FIFO sends were made, but no message of a message group was sent after the previous one was acknowledged, ' +
        'so no pair has a defined order (the producer must send one message group in sequence)',
    );
  } else if (okPerKey.size === 0) {
    findings.applicable = false;
  }
}

/**
 * The nearest earlier message of i's message group that the group must receive, skipping filtered-out ones and
 * transactional messages that were never committed.
 */
function expectedPredecessor(ctx: CheckContext, group: GroupInfo, i: number): number {
  let pred = ctx.table.predecessor[i] as number;
  for (let steps = 0; pred >= 0 && steps < 64; steps++) {
    const flags = ctx.table.flags[pred] as number;
    const uncommitted = (flags & MSG.TRANSACTIONAL) !== 0 && (flags & MSG.COMMIT) === 0;
    if (!uncommitted && expects(ctx, group, pred) !== false) return pred;
    pred = ctx.table.predecessor[pred] as number;
  }
  return -1;
}

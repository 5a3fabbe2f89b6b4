/**
 * The drain condition: the target reports zero backlog (ready + inflight + retry) for the scenario's groups AND the
 * ledger shows every acknowledged message delivered to every group that must receive it. The ledger half reuses the
 * checker (harness/checks) on the ledgers written so far, so "delivered" means exactly what `lost` means. A target
 * that cannot count in-flight messages (real RocketMQ 5.3) gives ready + retry: the drill says the rest is unknown.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import { checkLedgers } from '../checks/engine.ts';
import type { Target } from '../deploy/types.ts';

/** Every ledger file under dir (the drain rounds write theirs in sub-folders), the drill's own first. */
export function listLedgers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listLedgers(path));
    else if (/^ledger-.*\.ndjson(\.gz)?$/.test(entry.name)) found.push(path);
  }
  return found.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function rank(path: string): number {
  return path.endsWith('ledger-drill.ndjson') ? 0 : 1;
}

/**
 * The broker's backlog for the groups: `count` = ready + retry + in-flight. When some row's in-flight count is
 * unknown (null), `inflightKnown` is false and `count` is ready + retry only: a lower bound, never "the backlog".
 */
export interface BrokerBacklog {
  count: number;
  inflightKnown: boolean;
}

export interface DrainState {
  /** Messages still waiting on the broker for the groups; undefined when the target cannot tell (or it failed). */
  backlog: BrokerBacklog | undefined;
  /** Acknowledged messages not yet delivered to a group that must receive them (committed ones included). */
  undelivered: number;
  /**
   * The ledger half holds and the broker half is not known to be non-zero: its count is 0, or the target cannot read
   * it (then the drill says so and gates it unknown), or only its in-flight part is unknown (then `brokerExact` is
   * false: ready + retry are 0 and the ledger shows every acknowledged message delivered).
   */
  drained: boolean;
  /** The broker half was read in full (ready, in-flight and retry). */
  brokerExact: boolean;
  /** How long the ledger half took, to space the polls. */
  checkMs: number;
}

export async function brokerBacklog(target: Target, groups: string[]): Promise<BrokerBacklog | undefined> {
  const rows = await target.backlog(groups);
  if (rows === undefined) return undefined;
  let count = 0;
  let inflightKnown = true;
  for (const r of rows) {
    count += r.ready + r.retry + (r.inflight ?? 0);
    if (r.inflight === null) inflightKnown = false;
  }
  return { count, inflightKnown };
}

/** The broker half as the drill prints it: `0`, `12`, `at least 3 (in-flight unknown)`, `unknown`. */
export function describeBacklog(backlog: BrokerBacklog | undefined): string {
  if (backlog === undefined) return 'unknown';
  return backlog.inflightKnown ? String(backlog.count) : `ready + retry ${backlog.count}, in-flight unknown`;
}

/** Counts acknowledged sends not yet delivered where they must be, from the ledgers as written so far. */
export async function undeliveredInLedger(files: string[]): Promise<number> {
  const result = await checkLedgers(files, { examplesMax: 0 });
  let pending = 0;
  for (const anomaly of result.anomalies) {
    // Without a drain end marker both checks are undecided while something is missing: that is the count we want.
    if (anomaly.name === 'lost') pending += anomaly.count;
    if (anomaly.name === 'transaction' && anomaly.verdict === 'unknown') pending += anomaly.count;
  }
  return pending;
}

export async function drainState(
  target: Target,
  groups: string[],
  ledgerDir: string,
  clock: Clock,
): Promise<DrainState> {
  const startedMs = clock.monotonicMs();
  const failed: BrokerBacklog = { count: Number.NaN, inflightKnown: true };
  const [backlog, undelivered] = await Promise.all([
    brokerBacklog(target, groups).catch(() => failed),
    undeliveredInLedger(listLedgers(ledgerDir)),
  ]);
  const checkMs = clock.monotonicMs() - startedMs;
  const brokerDone = backlog === undefined || backlog.count === 0;
  const brokerExact = backlog?.inflightKnown === true && Number.isFinite(backlog.count);
  return { backlog, undelivered, drained: brokerDone && undelivered === 0, brokerExact, checkMs };
}

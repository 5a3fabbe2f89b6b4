/**
 * The drain condition: the target reports zero backlog (ready + inflight + retry) for the scenario's groups AND the
 * ledger shows every acknowledged message delivered to every group that must receive it. The ledger half reuses the
 * checker (harness/checks) on the ledgers written so far, so "delivered" means exactly what `lost` means.
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

export interface DrainState {
  /** Messages still waiting on the broker for the groups; undefined when the target cannot tell. */
  backlog: number | undefined;
  /** Acknowledged messages not yet delivered to a group that must receive them (committed ones included). */
  undelivered: number;
  /** Both halves hold. */
  drained: boolean;
  /** How long the ledger half took, to space the polls. */
  checkMs: number;
}

export async function brokerBacklog(target: Target, groups: string[]): Promise<number | undefined> {
  const rows = await target.backlog(groups);
  if (rows === undefined) return undefined;
  return rows.reduce((n, r) => n + r.ready + r.inflight + r.retry, 0);
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
  const [backlog, undelivered] = await Promise.all([
    brokerBacklog(target, groups).catch(() => Number.NaN),
    undeliveredInLedger(listLedgers(ledgerDir)),
  ]);
  const checkMs = clock.monotonicMs() - startedMs;
  const brokerDone = backlog === undefined || backlog === 0;
  return { backlog, undelivered, drained: brokerDone && undelivered === 0, checkMs };
}

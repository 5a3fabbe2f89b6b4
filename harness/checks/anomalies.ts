import type { GuaranteeLevel } from '../ledger/index.ts';

/** The anomalies the checkers decide, in report order (docs/report-schema.md describes each). */
export const ANOMALY_NAMES = [
  'lost',
  'unexpected',
  'duplicate',
  'recovered',
  'order',
  'delay',
  'transaction',
  'filter',
  'dead-letter',
  'drain',
  'reconcile',
] as const;

export type AnomalyName = (typeof ANOMALY_NAMES)[number];

export const ANOMALY_DESCRIPTIONS: Record<AnomalyName, string> = {
  lost: 'a send acknowledged ok whose message never reached a consumer group that should receive it, after the drain',
  unexpected: 'a delivery of a message that was never sent',
  duplicate: 'a message delivered again to a group after it was acknowledged there, or stored twice',
  recovered: 'a send that ended fail or unknown whose message was delivered anyway',
  order: 'in a FIFO group, message n+1 of a message group delivered before message n was acknowledged',
  delay: 'a delayed message delivered before its delivery time, or later than the tolerance',
  transaction: 'a rolled-back or undecided transactional message delivered, or a committed one never delivered',
  filter: "a message delivered to a group whose filter does not match it, per the group's subscription",
  'dead-letter':
    'a poison message not in the DLQ after its max attempts (or retried past them), or a healthy one there',
  drain: 'the backlog was not consumed within the drain SLO, or the drain ended with backlog left',
  reconcile: "the broker's own counters (messages in, acks, DLQ, lag) disagree with the ledger",
};

/**
 * What each guarantee level allows (docs/ledger.md). Allowed anomalies are still counted and reported; they just do not
 * fail the check. Gates can bound them (`duplicate.rate < 0.01`).
 */
export const ALLOWED_ANOMALIES: Record<GuaranteeLevel, ReadonlySet<AnomalyName>> = {
  'at-least-once': new Set<AnomalyName>(['duplicate', 'recovered']),
  'exactly-once': new Set<AnomalyName>(['recovered']),
  strict: new Set<AnomalyName>(),
};

export const GUARANTEE_LEVELS: readonly GuaranteeLevel[] = ['at-least-once', 'exactly-once', 'strict'];

export type Verdict = 'pass' | 'fail' | 'unknown';

/** The worst of several verdicts: fail, then unknown, then pass (Jepsen's merge-valid). */
export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = 'pass';
  for (const v of verdicts) {
    if (v === 'fail') return 'fail';
    if (v === 'unknown') worst = 'unknown';
  }
  return worst;
}

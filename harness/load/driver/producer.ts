/**
 * One producer scenario segment: the executor calls iterate() at the schedule's times; each iteration plans a
 * message, writes the send invocation to the ledger, sends with a timeout and writes the completion. A timeout is
 * `unknown`, never `fail`. Transactions add the end-transaction operation (commit or rollback) or leave it to the
 * broker's check-back (outcome share `unknown`), answered with commit.
 */

import type { Clock } from '../../../lib/clock.ts';
import type { Random } from '../../../lib/random.ts';
import {
  type LedgerWriter,
  PROPERTY_ID,
  PROPERTY_KEY,
  PROPERTY_POISON,
  PROPERTY_SENT_MS,
  PROPERTY_SEQ,
  type SendInvoke,
} from '../../ledger/index.ts';
import { statusOf } from '../error-status.ts';
import type { IterationContext } from '../executors/index.ts';
import type { MetricRegistry } from '../metrics.ts';
import type { MessageSpec } from '../options.ts';
import { MessagePlanner, type PlannedMessage } from '../sampling.ts';
import { classifySendError, type OutgoingMessage, type ProducerClient, type TransactionDecision } from './client.ts';
import { errorText, withTimeout } from './timeout.ts';

export interface ProducerContext {
  clock: Clock;
  random: Random;
  metrics: MetricRegistry;
  ledger: LedgerWriter | undefined;
  /** Prefix of harness message ids (unique per run and driver). */
  idPrefix: string;
  segment: { index: number; count: number };
  scenario: string;
}

const BODY_POOL_BYTES = 1 << 20;

export class ProducerRunner {
  private readonly planner: MessagePlanner;
  private readonly tags: Record<string, string>;
  private readonly bodyPool: Buffer;
  /** Decisions of transactions left to the check-back, by harness id. */
  readonly pendingCheckBacks = new Set<string>();

  constructor(
    private readonly spec: MessageSpec,
    private readonly client: ProducerClient,
    private readonly ctx: ProducerContext,
  ) {
    this.planner = new MessagePlanner(spec, ctx.idPrefix, ctx.segment, ctx.random);
    this.tags = { scenario: ctx.scenario, topic: spec.topic };
    this.bodyPool = Buffer.alloc(BODY_POOL_BYTES);
    for (let i = 0; i < BODY_POOL_BYTES; i += 4) this.bodyPool.writeUInt32LE(ctx.random.int(0, 0x3fffffff), i);
  }

  /**
   * The broker asks about a transaction left open: commit it and record the answer. After this producer's ledger has
   * closed (the broker asks 6 s after the send) an answer could not be recorded, so it stays undecided ('unknown': no
   * EndTransaction) rather than commit a message the checkers would then see delivered without a commit.
   */
  checkBack(properties: Record<string, string>): TransactionDecision {
    const id = properties[PROPERTY_ID];
    if (this.ctx.ledger?.isClosed) return 'unknown';
    if (id !== undefined) {
      this.pendingCheckBacks.delete(id);
      this.ctx.ledger?.write({ t: 'tk', ts: this.ctx.clock.wallMs(), id, x: 'commit' });
    }
    return 'commit';
  }

  private outgoing(m: PlannedMessage, sentWallMs: number): OutgoingMessage {
    const properties: Record<string, string> = {
      ...this.spec.properties,
      [PROPERTY_ID]: m.id,
      [PROPERTY_KEY]: m.key,
      [PROPERTY_SEQ]: String(m.seq),
      [PROPERTY_SENT_MS]: String(sentWallMs),
    };
    if (m.poison) properties[PROPERTY_POISON] = '1';
    const start = m.bodySizeBytes >= BODY_POOL_BYTES ? 0 : (m.seq * 7919) % (BODY_POOL_BYTES - m.bodySizeBytes);
    const body =
      m.bodySizeBytes <= BODY_POOL_BYTES
        ? this.bodyPool.subarray(start, start + m.bodySizeBytes)
        : Buffer.alloc(m.bodySizeBytes, 7);
    return {
      topic: this.spec.topic,
      body,
      ...(m.tag !== undefined ? { tag: m.tag } : {}),
      keys: [m.key],
      ...(this.spec.type === 'FIFO' ? { messageGroup: m.key } : {}),
      ...(m.delayMs !== undefined ? { deliveryTimestampMs: sentWallMs + m.delayMs } : {}),
      properties,
    };
  }

  /**
   * FIFO topics: one message group's messages are sent in sequence, as an ordered producer must (send n+1 starts only
   * after send n completed), so every pair of a group has a defined order to check; concurrency comes from many
   * groups. An iteration whose group is busy waits for it (the wait counts into send_delay). The map holds one entry
   * per group with a send in flight, so it is bounded by the executor's VUs.
   */
  async iterate(it: IterationContext): Promise<void> {
    const m = this.planner.next();
    if (this.spec.type !== 'FIFO') return this.sendOne(m, it, 0);
    const previous = this.groupTail.get(m.key);
    const queuedMs = this.ctx.clock.monotonicMs();
    const mine = (previous ?? Promise.resolve()).then(() =>
      this.sendOne(m, it, this.ctx.clock.monotonicMs() - queuedMs),
    );
    const tail = mine.catch(() => {});
    this.groupTail.set(m.key, tail);
    try {
      await mine;
    } finally {
      if (this.groupTail.get(m.key) === tail) this.groupTail.delete(m.key);
    }
  }

  private readonly groupTail = new Map<string, Promise<void>>();

  private async sendOne(m: PlannedMessage, it: IterationContext, waitedMs: number): Promise<void> {
    const { clock, metrics, ledger } = this.ctx;
    const sentWallMs = clock.wallMs();
    const message = this.outgoing(m, sentWallMs);
    const sendDelayMs = it.actualStartMs - it.intendedStartMs + waitedMs;
    metrics.count('iterations', this.tags);
    metrics.count('messages_sent', this.tags);
    metrics.trend('send_delay', sendDelayMs, this.tags);
    const o = ledger?.nextOpId() ?? 0;
    if (ledger) {
      const si: SendInvoke = { t: 'si', ts: sentWallMs, o, id: m.id, tp: this.spec.topic, q: m.seq, k: m.key };
      if (this.spec.type === 'FIFO') si.g = m.key;
      if (m.tag !== undefined) si.tg = m.tag;
      if (message.deliveryTimestampMs !== undefined) si.at = message.deliveryTimestampMs;
      if (m.transaction) si.tx = 1;
      if (m.poison) si.po = 1;
      if (Object.keys(this.spec.properties).length) si.pr = this.spec.properties;
      si.it = sentWallMs - sendDelayMs;
      ledger.write(si);
    }
    const t0 = clock.monotonicMs();
    let outcome: 'ok' | 'fail' | 'unknown' = 'ok';
    let error: string | undefined;
    let messageId: string | undefined;
    let half: Awaited<ReturnType<ProducerClient['sendHalf']>> | undefined;
    try {
      if (m.transaction) {
        half = await withTimeout(this.client.sendHalf(message), this.spec.sendTimeoutMs, clock);
        messageId = half.messageId;
      } else {
        messageId = (await withTimeout(this.client.send(message), this.spec.sendTimeoutMs, clock)).messageId;
      }
    } catch (err) {
      outcome = classifySendError(err);
      error = errorText(err);
    }
    const durationMs = clock.monotonicMs() - t0;
    const ledgerKeepsUp = ledger?.write({
      t: 'sc',
      ts: clock.wallMs(),
      o,
      id: m.id,
      r: outcome,
      d: durationMs,
      ...(messageId ? { bid: messageId } : {}),
      ...(error ? { e: error } : {}),
    });
    this.recordOutcome(outcome, durationMs);
    if (outcome !== 'ok') {
      this.ctx.metrics.count('send_errors', { ...this.tags, outcome, status: statusOf(error ?? '') });
    }
    if (half && m.transaction) await this.endTransaction(m, half);
    // The ledger never drops a record: when the disk falls behind, this VU waits (and the schedule shows drops).
    if (ledgerKeepsUp === false) await ledger?.drained();
  }

  private recordOutcome(outcome: 'ok' | 'fail' | 'unknown', durationMs: number): void {
    const { metrics } = this.ctx;
    metrics.trend('send_duration', durationMs, this.tags);
    metrics.count(
      outcome === 'ok' ? 'messages_acked' : outcome === 'fail' ? 'messages_failed' : 'messages_unknown',
      this.tags,
    );
    metrics.rate('send_failed', outcome !== 'ok', this.tags);
  }

  private async endTransaction(
    m: PlannedMessage,
    half: Awaited<ReturnType<ProducerClient['sendHalf']>>,
  ): Promise<void> {
    const { clock, ledger } = this.ctx;
    if (m.transaction === 'unknown') {
      this.pendingCheckBacks.add(m.id);
      return;
    }
    const decision = m.transaction === 'commit' ? 'commit' : 'rollback';
    const o = ledger?.nextOpId() ?? 0;
    ledger?.write({ t: 'ei', ts: clock.wallMs(), o, id: m.id, x: decision });
    const t0 = clock.monotonicMs();
    let outcome: 'ok' | 'fail' | 'unknown' = 'ok';
    let error: string | undefined;
    try {
      await withTimeout(decision === 'commit' ? half.commit() : half.rollback(), this.spec.sendTimeoutMs, clock);
    } catch (err) {
      outcome = classifySendError(err);
      error = errorText(err);
    }
    ledger?.write({
      t: 'ec',
      ts: clock.wallMs(),
      o,
      id: m.id,
      r: outcome,
      d: clock.monotonicMs() - t0,
      ...(error ? { e: error } : {}),
    });
  }
}

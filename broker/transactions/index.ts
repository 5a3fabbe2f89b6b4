import type { Clock } from '../../lib/clock.ts';
import { fail } from '../errors.ts';
import type { MessageRecord, StoredMessage } from '../store/types.ts';
import type { SystemLog } from '../system-log.ts';

export type Resolution = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN';

export interface TransactionConfig {
  /** First check-back this long after the half message was stored (RocketMQ transactionTimeOut: 6 s). */
  checkFirstMs: number;
  /** Then every (transactionCheckInterval: 30 s). */
  checkIntervalMs: number;
  /** At most this many checks (transactionCheckMax: 15), then the default action. */
  checkMax: number;
  defaultAction: 'ROLLBACK' | 'COMMIT';
  halfMax: number;
}

export const defaultTransactionConfig: TransactionConfig = {
  checkFirstMs: 6_000,
  checkIntervalMs: 30_000,
  checkMax: 15,
  defaultAction: 'ROLLBACK',
  halfMax: 100_000,
};

interface Half {
  offset: number;
  topic: string;
  queueId: number;
  messageId: string;
  clientId?: string;
  checks: number;
  nextCheckMs: number;
}

export interface TransactionDeps {
  log: SystemLog;
  clock: Clock;
  config: TransactionConfig;
  /** Sends a check-back to a live producer of the topic; returns whether one was found. */
  requestCheck: (message: StoredMessage, topic: string, preferredClientId: string | undefined) => boolean;
  onCommitted: (topic: string) => void;
  onError: (err: unknown) => void;
}

/**
 * Transactional messages: a half message is stored in an internal topic, invisible to consumers. COMMIT copies it to
 * its real topic (with the finishing op in the same store batch), ROLLBACK only writes the op. Unresolved halves get a
 * check-back over the producer's telemetry stream on a schedule, then the default action. All state is rebuilt from
 * the internal topics after a restart.
 */
export class TransactionService {
  private readonly halves = new Map<string, Half>();
  private cancelSweep: () => void = () => {};
  private closed = false;

  constructor(private readonly deps: TransactionDeps) {}

  get pendingCount(): number {
    return this.halves.size;
  }

  recover(): number {
    const nowMs = this.deps.clock.wallMs();
    for (const m of this.deps.log.pending()) this.track(m, undefined, nowMs);
    this.scheduleSweep();
    return this.halves.size;
  }

  async prepare(record: MessageRecord, clientId: string | undefined): Promise<number> {
    if (this.halves.size >= this.deps.config.halfMax) {
      fail('TOO_MANY_REQUESTS', `too many unresolved transactions (${this.deps.config.halfMax})`);
    }
    const props = {
      ...record.props,
      system: { ...record.props.system, realTopic: record.topic, realQueueId: record.queueId },
    };
    const offset = await this.deps.log.add({ body: record.body, props });
    const stored = this.deps.log.read(offset);
    if (stored) this.track(stored, clientId, this.deps.clock.wallMs());
    return offset;
  }

  private track(m: StoredMessage, clientId: string | undefined, nowMs: number): void {
    this.halves.set(m.props.messageId, {
      offset: m.queueOffset,
      topic: String(m.props.system?.realTopic),
      queueId: Number(m.props.system?.realQueueId),
      messageId: m.props.messageId,
      clientId,
      checks: 0,
      nextCheckMs: nowMs + this.deps.config.checkFirstMs,
    });
  }

  async end(topic: string, messageId: string, resolution: Resolution): Promise<void> {
    const half = this.halves.get(messageId);
    if (!half || half.topic !== topic) {
      fail('INVALID_TRANSACTION_ID', `no unresolved transaction for message ${messageId} on topic ${topic}`);
    }
    if (resolution === 'UNKNOWN') return; // stays half; the check-back will ask again
    await this.resolve(half as Half, resolution);
  }

  private async resolve(half: Half, resolution: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    this.halves.delete(half.messageId);
    try {
      const extra: MessageRecord[] = [];
      if (resolution === 'COMMIT') {
        const m = this.deps.log.read(half.offset);
        if (!m) fail('INVALID_TRANSACTION_ID', `half message ${half.messageId} is no longer stored`);
        const system = { ...m?.props.system };
        delete system.realTopic;
        delete system.realQueueId;
        extra.push({
          topic: half.topic,
          queueId: half.queueId,
          body: (m as StoredMessage).body,
          props: { ...(m as StoredMessage).props, system },
        });
      }
      await this.deps.log.finish(half.offset, resolution, extra);
      if (resolution === 'COMMIT') this.deps.onCommitted(half.topic);
    } catch (err) {
      this.halves.set(half.messageId, half);
      throw err;
    }
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    this.cancelSweep = this.deps.clock.setTimer(1000, () => {
      this.sweep();
      this.scheduleSweep();
    });
  }

  /** Sends due check-backs; applies the default action after the last one. */
  sweep(): void {
    const nowMs = this.deps.clock.wallMs();
    for (const half of [...this.halves.values()]) {
      if (half.nextCheckMs > nowMs) continue;
      if (half.checks >= this.deps.config.checkMax) {
        this.resolve(half, this.deps.config.defaultAction).catch(this.deps.onError);
        continue;
      }
      const m = this.deps.log.read(half.offset);
      if (!m) {
        this.halves.delete(half.messageId);
        continue;
      }
      const system = { ...m.props.system };
      delete system.realTopic;
      delete system.realQueueId;
      const view = { ...m, topic: half.topic, queueId: half.queueId, props: { ...m.props, system } };
      this.deps.requestCheck(view, half.topic, half.clientId);
      half.checks++;
      half.nextCheckMs = nowMs + this.deps.config.checkIntervalMs;
    }
  }

  close(): void {
    this.closed = true;
    this.cancelSweep();
  }
}

/**
 * One consumer scenario segment: `vus` consumer clients (SimpleConsumer receive loops or PushConsumers) run from
 * the scenario's startTime until the engine says the drain is over. Every delivery is written to the ledger (`rm`),
 * processed (processing time drawn from the spec), then acked or failed: poison messages fail on every attempt,
 * `failureShare` of deliveries fail transiently; a failure on attempt >= maxAttempts counts as dead-lettered.
 * crashAfter drops a client without acking what it holds (its messages come back after the invisible duration).
 */
import type { Clock } from '../../../lib/clock.ts';
import type { Random } from '../../../lib/random.ts';
import { type LedgerWriter, PROPERTY_ID, PROPERTY_POISON, PROPERTY_SENT_MS, PROPERTY_SEQ } from '../../ledger/index.ts';
import type { MetricRegistry } from '../metrics.ts';
import type { ConsumerBehaviour } from '../options.ts';
import type { TargetEndpoint } from '../protocol.ts';
import { idShare, sample } from '../sampling.ts';
import type { ClientFactory, Delivery, SimpleConsumerClient } from './client.ts';
import { errorText, sleep } from './timeout.ts';

export interface ConsumerContext {
  clock: Clock;
  random: Random;
  metrics: MetricRegistry;
  ledger: LedgerWriter | undefined;
  driverId: string;
  scenario: string;
  factory: ClientFactory;
  target: TargetEndpoint;
  log(level: 'warn' | 'error', message: string): void;
}

/** How long a dead-letter scan may wait for its topic and for the dead letters still on their way. */
export const DLQ_SCAN_LIMIT_MS = 60_000;

/** Ids of messages this consumer failed on their last attempt, kept for the DLQ scan (bounded; beyond it the scan
 *  waits for the tracked ones only). */
const DEAD_LETTERED_TRACKED_MAX = 100_000;

export class ConsumerRunner {
  private stopping = false;
  private readonly deadLettered = new Set<string>();
  private readonly loops: Promise<void>[] = [];
  private readonly tags: Record<string, string>;

  constructor(
    private readonly behaviour: ConsumerBehaviour,
    private readonly vus: number,
    private readonly ctx: ConsumerContext,
  ) {
    this.tags = { scenario: ctx.scenario, topic: behaviour.topic, group: behaviour.group };
  }

  start(): void {
    for (let vu = 0; vu < this.vus; vu++) {
      this.loops.push(this.behaviour.kind === 'simple' ? this.simpleLoop(vu) : this.pushLoop(vu));
    }
  }

  /** Stops receiving; resolves when every client is closed. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  get activeClients(): number {
    return this.stopping ? 0 : this.vus;
  }

  private spec() {
    const b = this.behaviour;
    return { group: b.group, topic: b.topic, filter: b.filter, awaitDurationMs: b.awaitDurationMs };
  }

  private clientId(vu: number, generation: number): string {
    return `${this.ctx.driverId}-c${vu}${generation ? `.${generation}` : ''}`;
  }

  private async simpleLoop(vu: number): Promise<void> {
    const { clock, ledger, factory, target } = this.ctx;
    let generation = 0;
    let client: SimpleConsumerClient | undefined;
    let sinceStart = 0;
    while (!this.stopping) {
      if (!client) {
        try {
          client = await factory.simpleConsumer(target, this.spec());
        } catch (err) {
          this.ctx.log('warn', `consumer ${this.clientId(vu, generation)} failed to start: ${errorText(err)}`);
          this.ctx.metrics.count('receive_calls', { ...this.tags, result: 'fail' });
          await sleep(clock, 1000);
          continue;
        }
      }
      const c = this.clientId(vu, generation);
      const o = ledger?.nextOpId() ?? 0;
      ledger?.write({ t: 'ri', ts: clock.wallMs(), o, cg: this.behaviour.group, c });
      const t0 = clock.monotonicMs();
      let deliveries: Delivery[];
      try {
        deliveries = await client.receive(this.behaviour.receiveBatchSize, this.behaviour.invisibleDurationMs);
      } catch (err) {
        ledger?.write({ t: 'rc', ts: clock.wallMs(), o, r: 'unknown', d: clock.monotonicMs() - t0, e: errorText(err) });
        this.ctx.metrics.count('receive_calls', { ...this.tags, result: 'fail' });
        if (!this.stopping) await sleep(clock, 200);
        continue;
      }
      for (const d of deliveries) this.recordDelivery(d, c, o);
      ledger?.write({ t: 'rc', ts: clock.wallMs(), o, r: 'ok', d: clock.monotonicMs() - t0, n: deliveries.length });
      this.ctx.metrics.count('receive_calls', { ...this.tags, result: 'ok' });
      for (const d of deliveries) {
        if (this.crashDue(++sinceStart)) {
          // Crash: the rest of the batch is never acked and comes back after the invisible duration.
          this.ctx.metrics.count('consumer_crashes', this.tags);
          void client.close().catch(() => {});
          client = undefined;
          generation++;
          sinceStart = 0;
          await sleep(clock, this.behaviour.restartDelayMs);
          break;
        }
        const ok = await this.process(d);
        await this.settle(client, d, c, ok);
      }
    }
    await client?.close().catch(() => {});
  }

  private crashDue(handledByClient: number): boolean {
    const n = this.behaviour.crashAfterMessages;
    return n !== undefined && handledByClient > n;
  }

  private async pushLoop(vu: number): Promise<void> {
    const { clock, factory, target } = this.ctx;
    const c = this.clientId(vu, 0);
    let client: Awaited<ReturnType<ClientFactory['pushConsumer']>> | undefined;
    while (!client && !this.stopping) {
      try {
        client = await factory.pushConsumer(target, this.spec(), async (d) => {
          this.recordDelivery(d, c, undefined);
          const ok = await this.process(d);
          this.recordSettle(d, c, ok, 0, 'ok');
          return ok;
        });
      } catch (err) {
        this.ctx.log('warn', `push consumer ${c} failed to start: ${errorText(err)}`);
        await sleep(clock, 1000);
      }
    }
    while (!this.stopping) await sleep(clock, 100);
    await client?.close().catch(() => {});
  }

  /**
   * Reads the group's dead-letter queue to the end with the scan group, writing one `dlq` record per message between
   * `dlq-scan` phase markers (the dead-letter check decides only after a complete scan). RocketMQ creates
   * %DLQ%<group> on the first dead letter and its route may stay unknown for up to a minute after: the scan consumer's
   * start is retried until the time limit, and a scan that never starts ends with ok:false (undecided, not passed).
   */
  async scanDeadLetters(scanGroup: string, timeLimitMs = DLQ_SCAN_LIMIT_MS): Promise<number> {
    const { clock, ledger } = this.ctx;
    const group = this.behaviour.group;
    ledger?.write({ t: 'ph', ts: clock.wallMs(), n: 'dlq-scan', s: 'start' });
    const deadlineMs = clock.monotonicMs() + timeLimitMs;
    const client = await this.startScanConsumer(scanGroup, deadlineMs);
    if (client === undefined) {
      ledger?.write({ t: 'ph', ts: clock.wallMs(), n: 'dlq-scan', s: 'end', ok: false });
      return 0;
    }
    let found = 0;
    let emptyInARow = 0;
    let complete = false;
    const seen = new Set<string>();
    const missing = () => [...this.deadLettered].filter((id) => !seen.has(id)).length;
    // RocketMQ moves a message to the DLQ when it comes back after its last failed attempt and a consumer of the group
    // polls (the proxy forwards it instead of delivering it), and a poison message may still have attempts left when
    // the consumers stop: one consumer of the group keeps polling (and failing what it must) during the scan.
    const own =
      this.behaviour.maxAttempts !== undefined
        ? await this.ctx.factory.simpleConsumer(this.ctx.target, this.spec()).catch(() => undefined)
        : undefined;
    const ownId = `${this.behaviour.group}-dlq-wait`;
    while (clock.monotonicMs() < deadlineMs) {
      const [batch, late] = await Promise.all([
        client.receive(32, 30_000).catch(() => []),
        own?.receive(this.behaviour.receiveBatchSize, this.behaviour.invisibleDurationMs).catch(() => []) ?? [],
      ]);
      for (const d of late) {
        this.recordDelivery(d, ownId, undefined);
        await this.settle(own as SimpleConsumerClient, d, ownId, await this.process(d));
      }
      // Dead letters arrive after their invisible time and the broker's retry scan: the scan is complete only once
      // every message failed on its last attempt is in and both queues then stay empty.
      if (batch.length === 0 && late.length === 0 && ++emptyInARow >= 2 && missing() === 0) {
        complete = true;
        break;
      }
      if (batch.length > 0 || late.length > 0) emptyInARow = 0;
      for (const d of batch) {
        const id = d.properties[PROPERTY_ID];
        if (id !== undefined) seen.add(id);
        ledger?.write({
          t: 'dlq',
          ts: clock.wallMs(),
          cg: group,
          ...(id !== undefined ? { id } : {}),
          bid: d.messageId,
        });
        found++;
        await client.ack(d).catch(() => {});
      }
    }
    await client.close().catch(() => {});
    await own?.close().catch(() => {});
    ledger?.write({ t: 'ph', ts: clock.wallMs(), n: 'dlq-scan', s: 'end', ok: complete });
    return found;
  }

  private async startScanConsumer(scanGroup: string, deadlineMs: number): Promise<SimpleConsumerClient | undefined> {
    const { clock, factory, target } = this.ctx;
    for (let attempt = 1; ; attempt++) {
      try {
        return await factory.simpleConsumer(target, {
          group: scanGroup,
          topic: `%DLQ%${this.behaviour.group}`,
          filter: { type: 'TAG', expression: '*' },
          awaitDurationMs: 1000,
        });
      } catch (err) {
        if (clock.monotonicMs() + 3000 > deadlineMs) {
          this.ctx.log(
            'warn',
            `DLQ scan of ${this.behaviour.group}: no consumer after ${attempt} tries: ${errorText(err)}`,
          );
          return undefined;
        }
        if (attempt === 1)
          this.ctx.log('warn', `DLQ scan of ${this.behaviour.group} waits for its topic: ${errorText(err)}`);
        await sleep(clock, 3000);
      }
    }
  }

  private recordDelivery(d: Delivery, c: string, o: number | undefined): void {
    const { clock, metrics, ledger } = this.ctx;
    const nowWallMs = clock.wallMs();
    const id = d.properties[PROPERTY_ID];
    const seq = d.properties[PROPERTY_SEQ];
    ledger?.write({
      t: 'rm',
      ts: nowWallMs,
      cg: this.behaviour.group,
      c,
      ...(id !== undefined ? { id } : {}),
      bid: d.messageId,
      tp: d.topic,
      a: d.deliveryAttempt,
      ...(d.tag !== undefined ? { tg: d.tag } : {}),
      ...(d.messageGroup !== undefined ? { g: d.messageGroup } : {}),
      ...(seq !== undefined ? { q: Number(seq) } : {}),
      ...(o !== undefined ? { o } : {}),
    });
    metrics.count('messages_received', this.tags);
    if (d.deliveryAttempt > 1) {
      metrics.count('messages_redelivered', this.tags);
      return;
    }
    const sentMs = Number(d.properties[PROPERTY_SENT_MS]);
    // One clock: the producer stamped its wall time; a delayed message counts from its delivery time.
    const fromMs = Math.max(sentMs, d.deliveryTimestampMs ?? 0);
    if (Number.isFinite(sentMs)) metrics.trend('e2e_latency', nowWallMs - fromMs, this.tags);
  }

  /** Simulated processing; true = success. */
  private async process(d: Delivery): Promise<boolean> {
    const { clock, random, metrics } = this.ctx;
    const b = this.behaviour;
    const processMs = sample(b.processingTimeMs, random);
    await sleep(clock, processMs);
    metrics.trend('process_duration', processMs, this.tags);
    const id = d.properties[PROPERTY_ID] ?? d.messageId;
    const poison =
      d.properties[PROPERTY_POISON] === '1' ||
      (b.poison.share > 0 && idShare(id, 'poison') < b.poison.share) ||
      (d.tag !== undefined && b.poison.tags.includes(d.tag));
    if (poison) return false;
    return !(b.failureShare > 0 && idShare(id, `fail:${d.deliveryAttempt}`) < b.failureShare);
  }

  private async settle(client: SimpleConsumerClient, d: Delivery, c: string, ok: boolean): Promise<void> {
    const { clock, ledger } = this.ctx;
    const id = d.properties[PROPERTY_ID] ?? d.messageId;
    const o = ledger?.nextOpId() ?? 0;
    const ts = clock.wallMs();
    if (ok) ledger?.write({ t: 'ai', ts, o, cg: this.behaviour.group, c, id, bid: d.messageId });
    else ledger?.write({ t: 'ni', ts, o, cg: this.behaviour.group, c, id, iv: this.behaviour.retryDelayMs });
    const t0 = clock.monotonicMs();
    let outcome: 'ok' | 'unknown' = 'ok';
    let error: string | undefined;
    try {
      if (ok) await client.ack(d);
      else await client.nack(d, this.behaviour.retryDelayMs);
    } catch (err) {
      outcome = 'unknown';
      error = errorText(err);
    }
    this.recordSettle(d, c, ok, clock.monotonicMs() - t0, outcome, o, error);
  }

  /** Metrics for a settled delivery, and the completion record (push: both ack records, see docs/load.md). */
  private recordSettle(
    d: Delivery,
    c: string,
    ok: boolean,
    durationMs: number,
    outcome: 'ok' | 'unknown',
    op?: number,
    error?: string,
  ): void {
    const { clock, ledger, metrics } = this.ctx;
    const id = d.properties[PROPERTY_ID] ?? d.messageId;
    let o = op;
    if (o === undefined && ledger) {
      o = ledger.nextOpId();
      const ts = clock.wallMs();
      if (ok) ledger.write({ t: 'ai', ts, o, cg: this.behaviour.group, c, id, bid: d.messageId });
      else ledger.write({ t: 'ni', ts, o, cg: this.behaviour.group, c, id });
    }
    if (ledger && o !== undefined) {
      const base = { ts: clock.wallMs(), o, id, r: outcome, d: durationMs, ...(error ? { e: error } : {}) };
      ledger.write(ok ? { t: 'ac', ...base } : { t: 'nc', ...base });
    }
    if (ok) {
      metrics.count('messages_consumed', this.tags);
      return;
    }
    metrics.count('messages_nacked', this.tags);
    const maxAttempts = this.behaviour.maxAttempts;
    if (maxAttempts !== undefined && d.deliveryAttempt >= maxAttempts) {
      metrics.count('messages_dead_lettered', this.tags);
      const id = d.properties[PROPERTY_ID];
      if (id !== undefined && this.deadLettered.size < DEAD_LETTERED_TRACKED_MAX) this.deadLettered.add(id);
    }
  }
}

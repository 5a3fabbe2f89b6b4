/**
 * The driver side of the plan protocol, independent of transport and client library: it receives plan/start/stop,
 * runs a producer segment on an executor or a consumer segment, writes the ledger and posts metrics deltas, and
 * finishes with `done`. The node worker (node-worker.ts) wires it to parentPort and rocketmq-client-nodejs; tests
 * wire it to an in-memory broker.
 */
import { hostname } from 'node:os';
import type { Clock } from '../../../lib/clock.ts';
import { seededRandom } from '../../../lib/random.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { type ExecutorResult, type RunningExecutor, startExecutor } from '../executors/index.ts';
import { MetricRegistry } from '../metrics.ts';
import {
  type ClockReplyMessage,
  clockSample,
  type DriverToEngine,
  type EngineToDriver,
  type PlanMessage,
} from '../protocol.ts';

/** How long a driver waits for the engine's clock reply before closing its ledger without a closing `ck`. */
const CLOCK_REPLY_TIMEOUT_MS = 2000;

import type { ClientFactory, ProducerClient } from './client.ts';
import { ConsumerRunner } from './consumer.ts';
import { ProducerRunner } from './producer.ts';
import { errorText } from './timeout.ts';

export class DriverRuntime {
  private plan: PlanMessage | undefined;
  private ledger: LedgerWriter | undefined;
  private readonly metrics = new MetricRegistry();
  private executor: RunningExecutor | undefined;
  private consumer: ConsumerRunner | undefined;
  private producerClient: ProducerClient | undefined;
  private cancelMetrics: (() => void) | undefined;
  private finished = false;
  private clockSeq = 0;
  private readonly clockWaiters = new Map<number, () => void>();

  constructor(
    private readonly clock: Clock,
    private readonly factory: ClientFactory,
    private readonly post: (message: DriverToEngine) => void,
  ) {}

  private get driverId(): string {
    return this.plan?.driverId ?? 'driver';
  }

  /** Handles one engine message; errors become `error` messages (fatal ones end the driver). */
  async handle(message: EngineToDriver): Promise<void> {
    try {
      if (message.type === 'plan') await this.prepare(message);
      else if (message.type === 'start') this.start();
      else if (message.type === 'stop') await this.stop();
      else if (message.type === 'clock') this.onClockReply(message);
    } catch (err) {
      this.post({ type: 'error', driverId: this.driverId, message: errorText(err), fatal: true });
    }
  }

  private async prepare(plan: PlanMessage): Promise<void> {
    this.plan = plan;
    const { scenario } = plan;
    if (plan.ledgerPath) {
      const consumer = scenario.consumer;
      this.ledger = new LedgerWriter(
        plan.ledgerPath,
        {
          process: plan.driverId,
          role: scenario.role,
          run: plan.runId,
          startedMs: this.clock.wallMs(),
          host: hostname(),
          client: this.factory.clientName,
          ...(consumer
            ? {
                subscriptions: [
                  {
                    group: consumer.group,
                    topic: consumer.topic,
                    filter: consumer.filter.expression,
                    filterType: consumer.filter.type,
                    ...(consumer.maxAttempts !== undefined ? { maxAttempts: consumer.maxAttempts } : {}),
                  },
                ],
              }
            : {}),
          meta: { scenario: scenario.name, segment: plan.segment, seed: plan.seed },
        },
        { clock: this.clock },
      );
    }
    // The reply arrives before `start` (the engine answers at once, and starts drivers only after every `ready`).
    if (this.ledger) void this.measureClock(undefined);
    if (scenario.role === 'producer' && scenario.message) {
      let runner: ProducerRunner | undefined;
      this.producerClient = await this.factory.producer(plan.target, scenario.message.topic, (props) =>
        runner ? runner.checkBack(props) : 'commit',
      );
      runner = new ProducerRunner(scenario.message, this.producerClient, {
        clock: this.clock,
        random: seededRandom(plan.seed),
        metrics: this.metrics,
        ledger: this.ledger,
        idPrefix: plan.idPrefix,
        segment: plan.segment,
        scenario: scenario.name,
      });
      this.producer = runner;
    }
    this.post({ type: 'ready', driverId: plan.driverId, client: this.factory.clientName });
  }

  private producer: ProducerRunner | undefined;

  private start(): void {
    const plan = this.plan;
    if (!plan) throw new Error('start before plan');
    this.cancelMetrics = this.clock.setTimer(plan.metricsIntervalMs, () => this.postMetrics());
    const { scenario } = plan;
    if (scenario.role === 'producer') {
      const producer = this.producer;
      if (!producer) throw new Error('producer scenario without a message spec');
      this.executor = startExecutor(
        scenario.schedule,
        {
          clock: this.clock,
          iterate: (ctx) => producer.iterate(ctx),
          onDropped: () => this.metrics.count('dropped_iterations', { scenario: scenario.name }),
        },
        plan.driverId,
      );
      void this.executor.done.then((result) => this.finish(result));
      return;
    }
    const behaviour = scenario.consumer;
    if (!behaviour) throw new Error('consumer scenario without a consumer behaviour');
    const vus = scenario.schedule.executor === 'constant-vus' ? scenario.schedule.vus : 1;
    this.consumer = new ConsumerRunner(behaviour, vus, {
      clock: this.clock,
      random: seededRandom(plan.seed),
      metrics: this.metrics,
      ledger: this.ledger,
      driverId: plan.driverId,
      scenario: scenario.name,
      factory: this.factory,
      target: plan.target,
      log: (level, message) => this.post({ type: 'log', driverId: plan.driverId, level, message }),
    });
    this.clock.setTimer(scenario.schedule.startTimeMs, () => {
      if (!this.finished) this.consumer?.start();
    });
  }

  private progress(): ExecutorResult & { activeVUs: number } {
    if (this.executor) return this.executor.progress();
    const vus = this.consumer?.activeClients ?? 0;
    return {
      startedIterations: 0,
      completedIterations: 0,
      failedIterations: 0,
      droppedIterations: 0,
      interruptedIterations: 0,
      vusAllocatedMax: vus,
      activeVUs: vus,
    };
  }

  private postMetrics(): void {
    if (this.finished || !this.plan) return;
    const progress = this.progress();
    this.metrics.gauge('vus', progress.activeVUs, { scenario: this.plan.scenario.name });
    this.post({
      type: 'metrics',
      driverId: this.driverId,
      wallMs: this.clock.wallMs(),
      delta: this.metrics.takeDelta(),
      progress,
    });
    this.cancelMetrics = this.clock.setTimer(this.plan.metricsIntervalMs, () => this.postMetrics());
  }

  private async stop(): Promise<void> {
    if (this.executor) {
      this.executor.stop();
      return; // finish() runs when the executor settles.
    }
    await this.consumer?.stop();
    const scanGroup = this.plan?.scenario.consumer?.deadLetterScanGroup;
    if (this.consumer && scanGroup && this.plan?.segment.index === 0) {
      try {
        await this.consumer.scanDeadLetters(scanGroup);
      } catch (err) {
        this.post({
          type: 'log',
          driverId: this.driverId,
          level: 'warn',
          message: `DLQ scan failed: ${errorText(err)}`,
        });
      }
    }
    await this.finish(this.progress());
  }

  /** Asks the engine for the drill's clock; the reply becomes a `ck` ledger record. Waits up to timeoutMs if given. */
  private measureClock(timeoutMs: number | undefined): Promise<void> {
    const seq = ++this.clockSeq;
    return new Promise<void>((resolve) => {
      const cancel = timeoutMs === undefined ? undefined : this.clock.setTimer(timeoutMs, () => done());
      const done = () => {
        cancel?.();
        this.clockWaiters.delete(seq);
        resolve();
      };
      this.clockWaiters.set(seq, done);
      this.post({ type: 'clock', driverId: this.driverId, seq, sentMs: this.clock.wallMs() });
      if (timeoutMs === undefined) resolve();
    });
  }

  private onClockReply(reply: ClockReplyMessage): void {
    const waiter = this.clockWaiters.get(reply.seq);
    if (waiter === undefined) return; // late, after its timeout: the ledger may be closed
    this.ledger?.write(clockSample(reply, this.clock.wallMs()));
    waiter();
  }

  private async finish(result: ExecutorResult): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.cancelMetrics?.();
    await this.producerClient?.close().catch(() => {});
    if (this.ledger) await this.measureClock(CLOCK_REPLY_TIMEOUT_MS);
    const records = this.ledger?.recordsWritten ?? 0;
    await this.ledger?.close();
    this.post({
      type: 'done',
      driverId: this.driverId,
      result: { ...result },
      delta: this.metrics.takeDelta(),
      ledgerPath: this.plan?.ledgerPath ?? null,
      ledgerRecords: records,
    });
  }
}

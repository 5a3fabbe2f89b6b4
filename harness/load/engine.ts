/**
 * The load engine: turns a LoadPlan into driver plan segments, starts the drivers together, merges their metrics,
 * prints progress, aborts on an abortOnFail threshold, runs the drain (consumers keep going after the producers
 * until nothing arrives for drain.idle, or drain.timeout), and ends with the k6-style summary and exit code.
 * `mqdrill load` and the drill engine both call runLoad().
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { ExitCode } from '../../lib/exit-codes.ts';
import { LedgerWriter, type Subscription } from '../ledger/index.ts';
import type { LiveMetrics } from '../live/exporter.ts';
import { DLQ_SCAN_LIMIT_MS } from './driver/consumer.ts';
import { sleep } from './driver/timeout.ts';
import { type ExecutorResult, NO_ITERATIONS, scheduleDurationMs, splitSchedule } from './executors/index.ts';
import type { DriverConnection, DriverLauncher } from './launchers.ts';
import { MetricRegistry, type MetricsDelta } from './metrics.ts';
import { type LoadPlan, parseOptions, type ScenarioPlan } from './options.ts';
import { ProgressRate } from './progress-rate.ts';
import { type DriverToEngine, PROTOCOL_VERSION, type TargetEndpoint } from './protocol.ts';
import { buildSummary, formatProgress, type LoadSummary, thresholdToAbort } from './summary.ts';

export interface RunLoadOptions {
  launcher: DriverLauncher;
  clock?: Clock;
  /** Folder for ledgers and summary.json; without it nothing is written. */
  out?: string;
  runId?: string;
  /** Called with a progress line every progressIntervalMs. */
  onProgress?: (line: string) => void;
  progressIntervalMs?: number;
  /** Driver log lines (warnings from the client library...). */
  onLog?: (line: string) => void;
  metricsIntervalMs?: number;
  readyTimeoutMs?: number;
  /** Aborting stops every driver now (SIGINT); the summary is still written. */
  signal?: AbortSignal;
  /** Live metrics (a Prometheus endpoint): fed every driver delta and the scheduled rate as the run goes. */
  live?: LiveMetrics;
  /** Every driver metrics delta as it arrives (a worker process forwards them to its coordinator). */
  onDelta?: (delta: MetricsDelta) => void;
  /**
   * This process's share of the plan when N worker processes run it (`--worker K/N`): every scenario's schedule and
   * key space is split across all drivers of all workers, driver ids (message ids, ledger names) carry the worker.
   */
  segment?: { index: number; count: number };
  /** Awaited once every driver is ready and before the load starts: the workers' coordinated start (bounded). */
  startGate?: () => Promise<void>;
}

export interface LoadResult {
  summary: LoadSummary;
  exitCode: number;
  ledgerPaths: string[];
  summaryPath: string | undefined;
  /** Set when the run could not go on: a driver failed to start or crashed. */
  failure: string | undefined;
}

interface DriverState {
  id: string;
  scenario: ScenarioPlan;
  conn: DriverConnection;
  ready: boolean;
  done: boolean;
  /** A producer past its schedule that stays open for transaction check-backs until the drain's stop. */
  scheduleOver: boolean;
  result: ExecutorResult | undefined;
  ledgerPath: string | null;
}

/**
 * How long an idle drain waits for transaction check-backs still awaited: RocketMQ checks a half message first after
 * its transaction timeout (6 s), then at its check interval (30 s by default).
 */
export const CHECK_BACK_WAIT_MS = 40_000;

/** The run's whole metrics, as one MetricsDelta, beside summary.json. */
export const METRICS_FILE = 'metrics.json';

export async function runLoad(options: unknown, target: TargetEndpoint, run: RunLoadOptions): Promise<LoadResult> {
  const plan = isPlan(options) ? options : parseOptions(options);
  return new LoadRun(plan, target, run).execute();
}

export function isPlan(x: unknown): x is LoadPlan {
  return typeof x === 'object' && x !== null && Array.isArray((x as LoadPlan).scenarios) && 'drainIdleMs' in x;
}

class LoadRun {
  private readonly clock: Clock;
  private readonly registry = new MetricRegistry();
  private readonly drivers: DriverState[] = [];
  private failure: string | undefined;
  private aborted: string | undefined;
  private startedMonoMs = 0;
  private startedWallMs = 0;
  private engineLedger: LedgerWriter | undefined;
  private lastReceived = 0;
  private lastReceivedChangeMs = 0;
  /** Successful receive calls (simple consumers) when `messages_received` last changed. */
  private okReceiveCallsAtChange = 0;

  constructor(
    private readonly plan: LoadPlan,
    private readonly target: TargetEndpoint,
    private readonly opts: RunLoadOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  private elapsedMs(): number {
    return this.clock.monotonicMs() - this.startedMonoMs;
  }

  async execute(): Promise<LoadResult> {
    const runId = this.opts.runId ?? `load-${new Date(this.clock.wallMs()).toISOString().replace(/[:.]/g, '')}`;
    if (this.opts.out) mkdirSync(this.opts.out, { recursive: true });
    this.openEngineLedger(runId);
    this.opts.live?.setPlan(this.plan);
    this.launch(runId);
    const onAbort = () => this.abort('interrupted');
    this.opts.signal?.addEventListener('abort', onAbort);
    try {
      await this.waitUntil(
        () => this.drivers.every((d) => d.ready) || this.failure !== undefined,
        this.opts.readyTimeoutMs ?? 30_000,
      );
      if (!this.failure && !this.drivers.every((d) => d.ready)) this.failure = 'drivers did not become ready in time';
      if (!this.failure && this.opts.startGate) {
        await this.opts.startGate().catch((err: Error) => {
          this.failure = `coordinated start: ${err.message}`;
        });
      }
      if (!this.failure) await this.runPhases();
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort);
      await Promise.all(this.drivers.map((d) => d.conn.terminate().catch(() => {})));
    }
    return this.finish();
  }

  private openEngineLedger(runId: string): void {
    if (!this.opts.out || !this.plan.ledger) return;
    const subscriptions: Subscription[] = this.plan.scenarios.flatMap((s) =>
      s.consumer
        ? [
            {
              group: s.consumer.group,
              topic: s.consumer.topic,
              filter: s.consumer.filter.expression,
              filterType: s.consumer.filter.type,
              ...(s.consumer.maxAttempts ? { maxAttempts: s.consumer.maxAttempts } : {}),
            },
          ]
        : [],
    );
    this.engineLedger = new LedgerWriter(
      join(this.opts.out, 'ledger-engine.ndjson'),
      {
        process: 'load-engine',
        role: 'load',
        run: runId,
        startedMs: this.clock.wallMs(),
        subscriptions,
        meta: { seed: this.plan.seed, target: this.target.endpoint },
      },
      { clock: this.clock },
    );
  }

  private phase(name: string, s: 'start' | 'end', ok?: boolean): void {
    this.engineLedger?.write({ t: 'ph', ts: this.clock.wallMs(), n: name, s, ...(ok !== undefined ? { ok } : {}) });
  }

  private launch(runId: string): void {
    const worker = this.opts.segment ?? { index: 0, count: 1 };
    for (const scenario of this.plan.scenarios) {
      for (let index = 0; index < scenario.workers; index++) {
        const id = worker.count > 1 ? `w${worker.index}-${scenario.name}-${index}` : `${scenario.name}-${index}`;
        // The share of all drivers of all worker processes: disjoint keys, the rate divided across every driver.
        const segment = { index: worker.index * scenario.workers + index, count: worker.count * scenario.workers };
        const conn = this.opts.launcher(id);
        const ledgerPath = this.opts.out && this.plan.ledger ? join(this.opts.out, `ledger-${id}.ndjson`) : null;
        const state: DriverState = {
          id,
          scenario,
          conn,
          ready: false,
          done: false,
          scheduleOver: false,
          result: undefined,
          ledgerPath,
        };
        this.drivers.push(state);
        conn.onMessage = (m) => this.onDriverMessage(state, m);
        conn.onExit = (err) => {
          if (err && !state.done) this.failure ??= `driver ${id} crashed: ${err.message}`;
        };
        conn.send({
          type: 'plan',
          protocol: PROTOCOL_VERSION,
          driverId: id,
          runId,
          segment,
          target: this.target,
          scenario: { ...scenario, schedule: splitSchedule(scenario.schedule, segment.index, segment.count) },
          idPrefix: `${Math.floor(this.clock.wallMs() / 1000).toString(36)}-${id}`,
          seed: this.plan.seed * 7919 + this.drivers.length + worker.index * 104_729,
          ledgerPath,
          metricsIntervalMs: this.opts.metricsIntervalMs ?? 1000,
          fifoTopics: fifoTopics(this.plan),
        });
      }
    }
  }

  private onDriverMessage(d: DriverState, m: DriverToEngine): void {
    switch (m.type) {
      case 'ready':
        d.ready = true;
        return;
      case 'metrics':
        this.registry.merge(m.delta);
        this.opts.live?.addDelta(m.delta);
        this.opts.onDelta?.(m.delta);
        return;
      case 'done':
        this.registry.merge(m.delta);
        this.opts.live?.addDelta(m.delta);
        this.opts.onDelta?.(m.delta);
        d.result = m.result;
        d.done = true;
        return;
      case 'schedule-over':
        d.scheduleOver = true;
        return;
      case 'error':
        this.opts.onLog?.(`${d.id}: ${m.fatal ? 'fatal: ' : ''}${m.message}`);
        if (m.fatal) this.failure ??= `driver ${d.id}: ${m.message}`;
        return;
      case 'log':
        this.opts.onLog?.(`${d.id}: ${m.level}: ${m.message}`);
        return;
      case 'clock':
        // Answered at once: the round trip bounds how wrong the driver's offset to the drill's clock can be.
        d.conn.send({ type: 'clock', seq: m.seq, sentMs: m.sentMs, drillMs: this.clock.wallMs() });
    }
  }

  private abort(reason: string): void {
    if (this.aborted) return;
    this.aborted = reason;
    for (const d of this.drivers) if (!d.done) d.conn.send({ type: 'stop', reason });
  }

  /** Polls cond every 50 ms (progress, abortOnFail and driver failures are checked on the way). */
  private async waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadlineMs = this.clock.monotonicMs() + timeoutMs;
    let nextProgressMs = this.clock.monotonicMs() + (this.opts.progressIntervalMs ?? 1000);
    while (!cond()) {
      if (this.clock.monotonicMs() >= deadlineMs) return false;
      await sleep(this.clock, 50);
      if (this.startedMonoMs > 0 && this.clock.monotonicMs() >= nextProgressMs) {
        nextProgressMs += this.opts.progressIntervalMs ?? 1000;
        this.tick();
      }
      if (this.failure && !this.aborted) this.abort(this.failure);
    }
    return true;
  }

  private readonly sentRate = new ProgressRate();
  private readonly receivedRate = new ProgressRate();

  private tick(): void {
    const elapsedMs = this.elapsedMs();
    const received = this.registry.total('messages_received');
    if (received !== this.lastReceived) {
      this.lastReceived = received;
      this.lastReceivedChangeMs = elapsedMs;
      this.okReceiveCallsAtChange = this.registry.total('receive_calls', { result: 'ok' });
    }
    this.opts.live?.setElapsed(elapsedMs, this.plan);
    const toAbort = thresholdToAbort(this.registry, this.plan.thresholds, elapsedMs);
    if (toAbort) this.abort(`threshold ${toAbort.key} '${toAbort.source}' failed (abortOnFail)`);
    if (!this.opts.onProgress) return;
    const sent = this.registry.total('messages_sent');
    this.opts.onProgress(
      formatProgress(this.registry, elapsedMs, {
        sentPerS: this.sentRate.update(elapsedMs, sent),
        receivedPerS: this.receivedRate.update(elapsedMs, received),
      }),
    );
  }

  private async runPhases(): Promise<void> {
    this.startedMonoMs = this.clock.monotonicMs();
    this.startedWallMs = this.clock.wallMs();
    this.phase('load', 'start');
    for (const d of this.drivers) d.conn.send({ type: 'start' });
    const producers = this.drivers.filter((d) => d.scenario.role === 'producer');
    const consumers = this.drivers.filter((d) => d.scenario.role === 'consumer');
    const producersEndMs = Math.max(
      0,
      ...producers.map(
        (d) =>
          d.scenario.schedule.startTimeMs +
          scheduleDurationMs(d.scenario.schedule) +
          d.scenario.schedule.gracefulStopMs,
      ),
    );
    const loaded = () => producers.every((d) => d.done || d.scheduleOver);
    await this.waitUntil(() => loaded() || this.aborted !== undefined, producersEndMs + 60_000);
    this.phase('load', 'end');
    if (consumers.length === 0 || this.aborted) {
      this.abort(this.aborted ?? 'load over');
      await this.waitUntil(() => this.drivers.every((d) => d.done), 30_000);
      return;
    }
    // Drain: consumers run at least their own duration, then until idle or the drain deadline.
    this.phase('drain', 'start');
    const drainStartMs = this.elapsedMs();
    this.lastReceivedChangeMs = drainStartMs;
    this.okReceiveCallsAtChange = this.registry.total('receive_calls', { result: 'ok' });
    const consumersMinMs = Math.max(
      ...consumers.map((d) => d.scenario.schedule.startTimeMs + scheduleDurationMs(d.scenario.schedule)),
    );
    // Idle means the broker answered and had nothing: a consumer that cannot start or whose receives fail (the broker
    // restarting, a slow client start) is not idle. Simple consumers count their receive calls; push consumers do
    // not, and for them "nothing arrived" alone counts.
    const answeredEmpty = () =>
      this.registry.total('receive_calls') === 0 ||
      this.registry.total('receive_calls', { result: 'ok' }) > this.okReceiveCallsAtChange;
    // Transactions left open that a producer kept open for (schedule-over) awaits the broker's check-back for: once it
    // answers commit they are still to be delivered. Idle waits for them, CHECK_BACK_WAIT_MS at most.
    const checkBacksAnswered = () =>
      this.registry.total('transactions_checked_back') >= this.registry.total('transactions_awaiting_check_back') ||
      this.elapsedMs() - this.lastReceivedChangeMs >= this.plan.drainIdleMs + CHECK_BACK_WAIT_MS;
    const idle = () =>
      this.elapsedMs() >= consumersMinMs &&
      this.elapsedMs() - this.lastReceivedChangeMs >= this.plan.drainIdleMs &&
      answeredEmpty() &&
      checkBacksAnswered();
    const drained = await this.waitUntil(
      () => idle() || this.aborted !== undefined,
      Math.max(consumersMinMs - drainStartMs, 0) + this.plan.drainTimeoutMs,
    );
    // Transaction producers kept open for check-backs stop with the consumers.
    const open = [...consumers, ...producers.filter((d) => d.scheduleOver && !d.done)];
    for (const d of open) d.conn.send({ type: 'stop', reason: drained ? 'drained' : 'drain timeout' });
    const scans = consumers.some((d) => d.scenario.consumer?.deadLetterScanGroup !== undefined);
    await this.waitUntil(() => this.drivers.every((d) => d.done), 30_000 + (scans ? DLQ_SCAN_LIMIT_MS : 0));
    this.phase('drain', 'end', drained && !this.aborted);
  }

  private async finish(): Promise<LoadResult> {
    this.opts.live?.setElapsed(Number.MAX_SAFE_INTEGER, this.plan);
    const elapsedMs = this.startedMonoMs > 0 ? this.elapsedMs() : 0;
    const scenarios: LoadSummary['scenarios'] = {};
    for (const d of this.drivers) {
      const prev = scenarios[d.scenario.name];
      const r = d.result ?? NO_ITERATIONS;
      scenarios[d.scenario.name] = prev
        ? {
            ...prev,
            ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, (prev[k as keyof ExecutorResult] ?? 0) + v])),
          }
        : { role: d.scenario.role, ...r };
    }
    const aborted = this.failure ?? this.aborted;
    const summary = buildSummary({
      registry: this.registry,
      thresholds: this.plan.thresholds,
      startedMs: this.startedWallMs,
      elapsedMs,
      scenarios,
      ...(aborted ? { aborted } : {}),
    });
    await this.engineLedger?.close();
    let summaryPath: string | undefined;
    if (this.opts.out) {
      summaryPath = join(this.opts.out, 'summary.json');
      writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
      // Every metric as one delta (HDR histograms included): worker processes' metrics merge exactly from these.
      writeFileSync(join(this.opts.out, METRICS_FILE), `${JSON.stringify(this.registry.takeDelta())}\n`);
    }
    const exitCode = this.failure
      ? ExitCode.TARGET_FAILED
      : !summary.ok
        ? ExitCode.THRESHOLDS_FAILED
        : this.aborted === 'interrupted'
          ? ExitCode.INTERRUPTED
          : ExitCode.OK;
    const ledgerPaths = [
      ...(this.engineLedger ? [this.engineLedger.path] : []),
      ...this.drivers.flatMap((d) => (d.ledgerPath ? [d.ledgerPath] : [])),
    ];
    return { summary, exitCode, ledgerPaths, summaryPath, failure: this.failure };
  }
}

/** The topics some producer of the plan sends FIFO messages to. */
export function fifoTopics(plan: LoadPlan): string[] {
  const topics = plan.scenarios.flatMap((s) => (s.message?.type === 'FIFO' ? [s.message.topic] : []));
  return [...new Set(topics)];
}

/**
 * `mqdrill capacity`, end to end: boot the scenario's target once (the drill's boot: bundled, rocketmq or external),
 * provision, search the rate (search.ts) with one load run per step, measure how fast the consumers drain a backlog,
 * drain what is left, check that nothing was lost, and write report.json and report.html. Every wait is bounded:
 * each step is a load run with its own drain timeout, and Ctrl-C stops the search between steps.
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { formatDurationMs } from '../../lib/duration.ts';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { checkLedgers } from '../checks/engine.ts';
import type { ExtraBrokerConfig } from '../deploy/bundled.ts';
import { type BootedTarget, type BootTarget, bootTarget } from '../drill/boot.ts';
import { listLedgers, undeliveredInLedger } from '../drill/drain.ts';
import { environmentOf } from '../drill/report-facts.ts';
import type { DrillSpec } from '../drill/spec.ts';
import type { LiveWatch } from '../live/watch.ts';
import { type RunLoadOptions, runLoad } from '../load/engine.ts';
import { type DriverLauncher, nodeWorkerLauncher } from '../load/launchers.ts';
import type { TargetEndpoint } from '../load/protocol.ts';
import { GeneratorCpu } from './cpu.ts';
import { renderCapacityHtml } from './html.ts';
import { consumersOf, consumerVus, type StepShape, stepPlan } from './plan.ts';
import {
  CAPACITY_SCHEMA,
  CAPACITY_VERSION,
  type CapacityReport,
  consumerPlan,
  type DrainProbe,
  type LimitedBy,
} from './report.ts';
import { type SearchOptions, type SearchResult, searchCapacity } from './search.ts';
import type { CapacitySlo } from './slo.ts';
import { judgeStep, quantile, readWindow, type StepResult } from './step.ts';

export interface CapacityOptions {
  spec: DrillSpec;
  out: string;
  slo: CapacitySlo;
  search: SearchOptions;
  stepMs: number;
  warmUpMs: number;
  vus: number | undefined;
  consumers: number | undefined;
  /** The consumer plan: how many consumers drain this backlog within this long. */
  planBacklog: number;
  planWithinMs: number;
  launcher?: DriverLauncher;
  boot?: BootTarget;
  /** Extra bundled broker config (the test-only testOnlySendDelayMs). */
  brokerConfig?: ExtraBrokerConfig;
  clock?: Clock;
  signal?: AbortSignal;
  say: (line: string) => void;
  command?: string;
  /**
   * Live watching (--prometheus): every load run of the search (consumers, warm-up, steps, drain probe, final drain)
   * feeds its metrics; Prometheus scrapes them and the bundled brokers from the boot to the end. The caller starts
   * and stops it.
   */
  live?: LiveWatch;
  /**
   * Runs each of its one-at-a-time load runs (warm-up, steps, drain probe, final drain; not the consumers that run
   * through the search) while holding a lock shared with other searches: two searches measured at once then take
   * turns step by step, so both see the same machine at the same time (the two-run test: on a shared machine the
   * capacity moves within minutes). Default: no lock.
   */
  loadLock?: LoadLock;
}

export type LoadLock = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * A first-come first-served lock: each holder's work starts when the previous holder's ended (failed or not). A
 * waiter waits as long as the holders before it, each bounded by its own load run's timeouts.
 */
export function fifoLock(): LoadLock {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };
}

const PROVISION_TIMEOUT_MS = 60_000;
const DRAIN_IDLE_MS = 1000;
const DRAIN_TIMEOUT_MS = 60_000;
/** The consumers run through the whole search; this only bounds them if a stop were ever missed. */
const CONSUMERS_MAX_MS = 24 * 3_600_000;
/** Drivers flush their ledgers every second: after a step, the consumers' records of its window are on disk by then. */
const LEDGER_FLUSH_WAIT_MS = 1500;
const PRIME_RATE_MAX = 50;
const SETTLE_MIN_MS = 1000;
const OWN_OUTPUT = [
  'steps',
  'consumers',
  'warm-up',
  'drain-probe',
  'final-drain',
  'target',
  'prometheus',
  'report.json',
  'report.html',
];
const SETTLE_MAX_MS = 30_000;
const PRIME_EXTRA_MS = 1000;

interface RunningLoad {
  dir: string;
  stop(): Promise<void>;
}

export class CapacityRun {
  private readonly clock: Clock;
  private booted: BootedTarget | undefined;
  private driverLogLines = 0;
  private consumers: RunningLoad | undefined;

  constructor(private readonly opts: CapacityOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  private get launcher(): DriverLauncher {
    return this.opts.launcher ?? nodeWorkerLauncher();
  }

  private shape(): StepShape {
    return {
      durationMs: this.opts.warmUpMs + this.opts.stepMs,
      vus: this.opts.vus,
      consumers: this.opts.consumers,
      sloP99Ms: this.opts.slo.sendP99Ms,
      drainIdleMs: DRAIN_IDLE_MS,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
    };
  }

  async execute(): Promise<CapacityReport> {
    const startedMs = this.clock.monotonicMs();
    // A reused --out folder: only what an earlier capacity run wrote is removed, never anything else.
    for (const entry of OWN_OUTPUT) rmSync(join(this.opts.out, entry), { recursive: true, force: true });
    await mkdir(this.opts.out, { recursive: true });
    try {
      this.opts.say('boot...');
      const boot = this.opts.boot ?? bootTarget;
      this.booted = await boot(this.opts.spec, this.opts.out, this.opts.say, this.opts.brokerConfig);
      this.opts.say('provision...');
      await this.bounded(this.booted.target.provision(this.opts.spec.topics, this.opts.spec.groups));
      await this.watchLive(this.booted);
      this.consumers = this.startConsumers();
      await this.prime();
      const search = await searchCapacity(
        (rate, index) => this.step(rate, index),
        this.opts.search,
        () => !!this.opts.signal?.aborted,
      );
      await this.consumers?.stop();
      if (search.interrupted || this.opts.signal?.aborted) throw new CliError('interrupted', ExitCode.INTERRUPTED);
      const probe = await this.drainProbe(search.held?.rate);
      const lost = await this.checkLost();
      const report = this.buildReport(search, probe, lost, this.clock.monotonicMs() - startedMs);
      await this.write(report);
      return report;
    } finally {
      await this.consumers?.stop().catch(() => {});
      await this.booted?.stop().catch((err) => this.opts.say(`stopping the target failed: ${String(err)}`));
    }
  }

  /** Prometheus scrapes the bundled brokers' own /metrics (their access port); other targets export elsewhere. */
  private async watchLive(booted: BootedTarget): Promise<void> {
    const live = this.opts.live;
    if (!live) return;
    const target = booted.target;
    if (target.kind !== 'bundled') {
      this.opts.say(`prometheus: a ${target.kind} target's broker metrics are not scraped; the harness's are`);
    }
    await live.watch(target.kind === 'bundled' ? target.nodes.map((n) => n.directEndpoint) : []);
  }

  /** What every load run of the search shares: launcher, clock, driver log, live metrics. */
  private runOptions(dir: string): RunLoadOptions {
    return {
      launcher: this.launcher,
      clock: this.clock,
      out: dir,
      runId: this.runId(dir),
      onLog: this.onDriverLog,
      ...(this.opts.live ? { live: this.opts.live.metrics } : {}),
    };
  }

  private bounded<T>(work: Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      const cancel = this.clock.setTimer(PROVISION_TIMEOUT_MS, () =>
        reject(new CliError(`provision: no answer in ${formatDurationMs(PROVISION_TIMEOUT_MS)}`, 4)),
      );
      work.then(resolve, reject).finally(cancel);
    });
  }

  private endpoint(): TargetEndpoint {
    const access = (this.booted as BootedTarget).target.access;
    return {
      endpoint: access.endpoint,
      tls: access.tls,
      namespace: access.namespace,
      // What the drill gives its drivers too: the remoting driver needs the name server and its routes, FIFO topics.
      ...(access.namesrv ? { namesrv: access.namesrv } : {}),
      ...(access.remotingRoutes ? { remotingRoutes: access.remotingRoutes } : {}),
      fifoTopics: this.opts.spec.topics.filter((t) => t.type === 'FIFO').map((t) => t.name),
      ...(access.credentials
        ? { accessKey: access.credentials.accessKey, secretKey: access.credentials.secretKey }
        : {}),
    };
  }

  private onDriverLog = (line: string) => {
    this.driverLogLines++;
    if (this.driverLogLines <= 3) this.opts.say(line.length > 240 ? `${line.slice(0, 240)}...` : line);
  };

  private runId(dir: string): string {
    return `capacity-${relative(this.opts.out, dir).replace(/\W+/g, '-')}`;
  }

  /**
   * The scenario's consumers run through the whole search, as they would in production, so a step is only its
   * producers: each step's window counts the first deliveries the consumers made in it (leftovers of an earlier,
   * broken step included: consumers that drain faster than the producers send are keeping up).
   */
  private startConsumers(): RunningLoad | undefined {
    if (consumersOf(this.opts.spec.plan).length === 0) return undefined;
    const dir = join(this.opts.out, 'consumers');
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    this.opts.signal?.addEventListener('abort', onAbort);
    const plan = stepPlan(this.opts.spec.plan, 1, this.shape(), this.seed(800), {
      producers: false,
      consumersMs: CONSUMERS_MAX_MS,
    });
    const running = runLoad(plan, this.endpoint(), { ...this.runOptions(dir), signal: controller.signal });
    let stopped: Promise<void> | undefined;
    return {
      dir,
      stop: () => {
        stopped ??= (async () => {
          controller.abort();
          this.opts.signal?.removeEventListener('abort', onAbort);
          await running.catch(() => undefined);
        })();
        return stopped;
      },
    };
  }

  /**
   * A first, unjudged run at a low rate: clients connect and look up routes, the broker and both JITs warm up, so the
   * first judged step does not measure a cold start (first sends take over a second on a busy machine).
   */
  private async prime(): Promise<void> {
    const rate = Math.min(this.opts.search.startRate, PRIME_RATE_MAX);
    this.opts.say(`warm-up run: ${rate}/s for ${formatDurationMs(this.opts.warmUpMs + PRIME_EXTRA_MS)} (not judged)`);
    const shape = { ...this.shape(), durationMs: this.opts.warmUpMs + PRIME_EXTRA_MS };
    await this.load(
      join(this.opts.out, 'warm-up'),
      stepPlan(this.opts.spec.plan, rate, shape, this.seed(700), { producers: true }),
    );
  }

  /** One load run; when its load started (the engine ledger's `load` marker). */
  private async load(dir: string, plan: ReturnType<typeof stepPlan>, cpu?: GeneratorCpu): Promise<{ startMs: number }> {
    let armed = false;
    const lock: LoadLock = this.opts.loadLock ?? ((work) => work());
    const result = await lock(() =>
      runLoad(plan, this.endpoint(), {
        ...this.runOptions(dir),
        progressIntervalMs: 200,
        onProgress: () => {
          if (armed || !cpu) return;
          armed = true;
          // The first progress line comes one interval after the load started.
          cpu.arm(this.opts.warmUpMs - 200, this.opts.stepMs);
        },
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      }),
    );
    if (result.failure) {
      throw new CliError(`the load generator failed: ${result.failure}`, ExitCode.TARGET_FAILED);
    }
    return { startMs: loadStartMs(dir) };
  }

  private async step(rate: number, index: number): Promise<StepResult> {
    const dir = join(this.opts.out, 'steps', `${String(index + 1).padStart(2, '0')}-${rate}`);
    const plan = stepPlan(this.opts.spec.plan, rate, this.shape(), this.seed(index), { producers: true });
    const cpu = new GeneratorCpu(this.clock);
    const { startMs } = await this.load(dir, plan, cpu);
    if (this.consumers) await new Promise<void>((resolve) => this.clock.setTimer(LEDGER_FLUSH_WAIT_MS, resolve));
    const fromMs = startMs + this.opts.warmUpMs;
    const files = [...listLedgers(dir), ...(this.consumers ? listLedgers(this.consumers.dir) : [])];
    const w = await readWindow(files, fromMs, fromMs + this.opts.stepMs);
    const asked = Math.round((rate * this.opts.stepMs) / 1000);
    const step = judgeStep(
      {
        rate,
        windowMs: this.opts.stepMs,
        sends: w.sends,
        sendsOk: w.sendsOk,
        sendsFail: w.sendsFail,
        sendsUnknown: w.sendsUnknown,
        sendP50Ms: quantile(w.sendLatencies, 0.5),
        sendP99Ms: quantile(w.sendLatencies, 0.99),
        sendP999Ms: quantile(w.sendLatencies, 0.999),
        sendDelayP99Ms: quantile(w.sendDelays, 0.99),
        // Without consumers nothing is expected to arrive: no backlog SLO.
        received: this.consumers ? w.received : w.completedOk,
        completedOk: w.completedOk,
        // Iterations that did not start in the window: k6's dropped_iterations, counted in the window alone (a new
        // client's first sends are slow, and the warm-up is not judged).
        // One iteration either side of the window's edges is not a drop.
        scheduled: asked,
        dropped: Math.max(0, asked - w.sends - 1),
        generatorCpuCores: cpu.cores(),
        cpus: os.availableParallelism(),
      },
      this.opts.slo,
    );
    step.dir = relative(this.opts.out, dir);
    if (!step.pass) await this.settle(step);
    const p99 = step.sendP99Ms === undefined ? 'n/a' : `${step.sendP99Ms.toFixed(1)} ms`;
    this.opts.say(
      `step ${index + 1}: ${rate}/s → sent ${Math.round(step.sendRate)}/s, ` +
        `received ${Math.round(step.receiveRate)}/s, ` +
        `p99 ${p99}, errors ${(step.errorShare * 100).toFixed(2)}%: ` +
        (step.pass ? 'held' : `broke (${step.reasons.map((r) => r.detail).join('; ')})`),
    );
    return step;
  }

  /**
   * After a step that broke, the target may still be working through what it was sent (queued sends the clients
   * already gave up on, their retries): the next step would measure that. Wait as long as the target needs to
   * acknowledge what it did not, at the rate it did acknowledge, within SETTLE_MAX_MS.
   */
  private async settle(step: StepResult): Promise<void> {
    const unacknowledged = Math.max(0, step.sends - step.completedOk);
    if (unacknowledged === 0) return;
    const perS = Math.max(1, step.sendRate);
    const waitMs = Math.min(SETTLE_MAX_MS, Math.max(SETTLE_MIN_MS, (unacknowledged / perS) * 1000));
    this.opts.say(
      `settle: ${unacknowledged} sends were not acknowledged in the window; waiting ${formatDurationMs(waitMs)} ` +
        `(what the target acknowledged: ${Math.round(step.sendRate)}/s) before the next step`,
    );
    await new Promise<void>((resolve) => this.clock.setTimer(waitMs, resolve));
  }

  private seed(index: number): number {
    return this.opts.spec.plan.seed * 1000 + index;
  }

  /**
   * With the search's consumers stopped, producers alone at the held rate (else the start rate) for one step leave a
   * backlog; then the consumers alone drain it (and whatever earlier steps left). Their rate while draining is the
   * receive capacity, per consumer client. It is also the final drain before the lost check.
   */
  private async drainProbe(heldRate: number | undefined): Promise<DrainProbe | null> {
    if (consumersOf(this.opts.spec.plan).length === 0) return null;
    const rate = heldRate ?? this.opts.search.startRate;
    this.opts.say(
      `drain probe: producers alone at ${rate}/s for ${formatDurationMs(this.opts.stepMs)}, then consumers`,
    );
    const base = this.opts.spec.plan;
    const shape = { ...this.shape(), durationMs: this.opts.stepMs };
    const fill = join(this.opts.out, 'drain-probe', 'fill');
    await this.load(fill, stepPlan(base, rate, shape, this.seed(900), { producers: true }));
    const drain = join(this.opts.out, 'drain-probe', 'drain');
    await this.load(drain, stepPlan(base, rate, shape, this.seed(901), { producers: false, consumersMs: 0 }));
    const w = await readWindow(listLedgers(drain), 0, Number.MAX_SAFE_INTEGER);
    const filled = await readWindow(listLedgers(fill), 0, Number.MAX_SAFE_INTEGER);
    const clients = consumersOf(base).reduce((n, s) => n + (this.opts.consumers ?? consumerVus(s)), 0);
    // From the first receive call (the consumers are up), not the first delivery: a batch arrives all at once.
    const spanMs = Math.max(1, (w.lastReceiveMs ?? 0) - (w.firstReceiveCallMs ?? w.firstReceiveMs ?? 0));
    const receiveRate = w.received > 1 ? (w.received * 1000) / spanMs : 0;
    const note =
      spanMs < 500 ? `the drain took only ${Math.round(spanMs)} ms: a longer --step gives a steadier figure` : null;
    return {
      backlog: filled.sendsOk,
      consumers: clients,
      receiveRate,
      perConsumerRate: clients > 0 ? receiveRate / clients : 0,
      drainMs: spanMs,
      note,
    };
  }

  /**
   * Drain rounds (consumers alone until idle) while the ledgers show acknowledged messages undelivered, up to the
   * drain deadline: messages the stopped search consumers had received but not recorded come back only after their
   * invisible time. Then the checker over every ledger of the run: acknowledged messages never delivered.
   */
  private async checkLost(): Promise<{ count: number; checked: number; verdict: string }> {
    const base = this.opts.spec.plan;
    const startedMs = this.clock.monotonicMs();
    for (let round = 1; consumersOf(base).length > 0; round++) {
      const left = await undeliveredInLedger(listLedgers(this.opts.out));
      if (left === 0 || this.clock.monotonicMs() - startedMs > DRAIN_TIMEOUT_MS || this.opts.signal?.aborted) break;
      this.opts.say(`final drain round ${round}: ${left} acknowledged messages not delivered yet`);
      const dir = join(this.opts.out, 'final-drain', String(round));
      await this.load(
        dir,
        stepPlan(base, 1, this.shape(), this.seed(950 + round), { producers: false, consumersMs: 0 }),
      );
    }
    this.opts.say('check: nothing acknowledged is lost...');
    const result = await checkLedgers(listLedgers(this.opts.out), { examplesMax: 3 });
    const lost = result.anomalies.find((a) => a.name === 'lost');
    return { count: lost?.count ?? 0, checked: lost?.checked ?? 0, verdict: lost?.verdict ?? 'unknown' };
  }

  private buildReport(
    search: SearchResult,
    probe: DrainProbe | null,
    lost: { count: number; checked: number; verdict: string },
    durationMs: number,
  ): CapacityReport {
    const { held, broke } = search;
    const limitedBy: LimitedBy = search.ceilingHeld ? 'ceiling' : (broke?.reasons[0]?.kind ?? 'unknown');
    const why = search.ceilingHeld
      ? `every step held up to the ceiling --max-rate ${this.opts.search.maxRate}/s: the limit is higher`
      : broke
        ? broke.reasons.map((r) => r.detail).join('; ')
        : 'no step broke the SLO before the step budget ran out';
    const sendRate = held ? held.sendRate : null;
    const { code, reason } = exitOf(limitedBy, held, lost, this.opts.slo, search.converged);
    const spec = this.opts.spec;
    return {
      schema: CAPACITY_SCHEMA,
      version: CAPACITY_VERSION,
      generatedMs: this.clock.wallMs(),
      scenario: spec.name,
      seed: spec.plan.seed,
      target: spec.target.kind,
      flush: 'flush' in spec.target.spec ? (spec.target.spec.flush ?? 'sync') : null,
      slo: this.opts.slo,
      search: {
        ...this.opts.search,
        stepMs: this.opts.stepMs,
        warmUpMs: this.opts.warmUpMs,
        vus: this.opts.vus ?? null,
        consumers: this.opts.consumers ?? null,
      },
      steps: search.steps,
      result: {
        sustainableSendRate: sendRate,
        sustainableRate: held?.rate ?? null,
        sustainableReceiveRate: probe ? probe.receiveRate : (held?.receiveRate ?? null),
        breakingRate: broke?.rate ?? null,
        limitedBy,
        why,
        converged: search.converged,
      },
      drainProbe: probe,
      consumerPlan: consumerPlan(probe, sendRate, this.opts.planBacklog, this.opts.planWithinMs),
      lost,
      environment: environmentOf(spec, this.opts.command),
      exitCode: code,
      exitReason: reason,
      durationMs,
    };
  }

  private async write(report: CapacityReport): Promise<void> {
    await writeFile(join(this.opts.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(this.opts.out, 'report.html'), renderCapacityHtml(report));
  }
}

/**
 * 0: the target's limit was found (or the ceiling held); 6: the generator was the limit, so the target's is unknown
 * (at least the held rate); 1: messages were lost; 99 (k6's failed thresholds): no rate held the SLO at all, so
 * there is no capacity to report and a CI gate on it must not pass.
 */
export function exitOf(
  limitedBy: LimitedBy,
  held: StepResult | undefined,
  lost: { count: number },
  slo: CapacitySlo,
  converged: boolean,
): { code: number; reason: string } {
  if (lost.count > slo.lostMax) {
    return { code: ExitCode.GUARANTEE_VIOLATED, reason: `FAIL: ${lost.count} acknowledged messages were lost` };
  }
  if (limitedBy === 'generator') {
    return {
      code: ExitCode.CHECK_UNKNOWN,
      reason:
        `UNKNOWN: the load generator was the limit, not the target; the target sustains at least ` +
        `${held ? Math.round(held.sendRate) : 0}/s (give the generator more VUs, workers or CPU: --vus, --driver go)`,
    };
  }
  if (!held) {
    return {
      code: ExitCode.THRESHOLDS_FAILED,
      reason:
        'FAIL: no rate held the SLO, down to the lowest rate tried (see where and why it broke; ' +
        'try a lower --start-rate or a looser --slo)',
    };
  }
  const found = converged ? 'found' : 'bracketed (the step budget ran out before the precision was reached)';
  return { code: ExitCode.OK, reason: `capacity ${found}: limited by ${limitedBy}` };
}

/** The engine ledger's `load` start marker, epoch ms. */
function loadStartMs(dir: string): number {
  const text = readFileSync(join(dir, 'ledger-engine.ndjson'), 'utf8');
  for (const line of text.split('\n')) {
    if (!line.includes('"ph"')) continue;
    const r = JSON.parse(line) as { t: string; n?: string; s?: string; ts: number };
    if (r.t === 'ph' && r.n === 'load' && r.s === 'start') return r.ts;
  }
  throw new Error(`${dir}: the load engine wrote no load start marker`);
}

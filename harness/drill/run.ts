/**
 * One drill, end to end (docs/architecture.md, "A drill, end to end"), each phase a `ph` marker in the drill's own
 * ledger (ledger-drill.ndjson):
 *
 *   plan → boot → provision → warm-up → faults (load with the fault schedule running) → heal → drain-wait
 *        → check → report → stop
 *
 * The load engine runs from warm-up to the end of its drain and writes its own `load` and `drain` markers. The fault
 * schedule counts from the end of the warm-up; at the end of the load every fault is healed, then the drain waits
 * until the target reports zero backlog for the scenario's groups and the ledger shows every acknowledged message
 * delivered, or the drain deadline passes (then a `drain` end marker with ok:false fails the `drain` check). When the
 * load engine's consumers go idle before that, drain rounds run the consumers again. Everything is bounded in time;
 * an abort (Ctrl-C) heals, stops and ends with 130.
 */
import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { formatDurationMs } from '../../lib/duration.ts';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { writeReports } from '../../reports/index.ts';
import type { GateReport, Report } from '../../reports/schema.ts';
import { checkLedgers } from '../checks/engine.ts';
import { evaluateGates } from '../checks/gates.ts';
import { computeLiveness, livenessGates } from '../checks/liveness.ts';
import { buildReport } from '../checks/report.ts';
import { routeEndpoints } from '../deploy/route-check.ts';
import type { Target } from '../deploy/types.ts';
import {
  type FaultEvent,
  FaultRunner,
  faultAnnotations,
  faultLedgerRecord,
  type ScheduledFault,
} from '../faults/index.ts';
import { faultFamily } from '../faults/model.ts';
import { LedgerWriter, type PhaseMarker, type Subscription } from '../ledger/index.ts';
import type { LiveWatch } from '../live/watch.ts';
import type { DriverName } from '../load/driver-names.ts';
import { type LoadResult, runLoad } from '../load/engine.ts';
import { type DriverLauncher, nodeWorkerLauncher } from '../load/launchers.ts';
import type { LoadPlan } from '../load/options.ts';
import type { TargetEndpoint } from '../load/protocol.ts';
import { runWorkers } from '../load/workers.ts';
import { type BootedTarget, type BootTarget, bootTarget } from './boot.ts';
import { scheduleOf } from './describe.ts';
import { type DrainState, describeBacklog, drainState, listLedgers } from './drain.ts';
import { describeImpact, type FaultImpact, faultImpact } from './fault-impact.ts';
import { type ErrorRow, environmentOf, errorsByStatus, loadGeneratorHealth, scheduledRateOf } from './report-facts.ts';
import { type DrillSpec, drainGroups, withRunSuffix } from './spec.ts';
import { drillExitCode, faultGate, retryAmplification, thresholdGates } from './verdict.ts';

export interface DrillRunOptions {
  spec: DrillSpec;
  /** Folder for ledgers, the load summary, reports and the target's data. */
  out: string;
  clock?: Clock;
  signal?: AbortSignal;
  /** Status lines: phases, faults, results. */
  say: (line: string) => void;
  /** The live progress line while the load runs. */
  progress?: (line: string) => void;
  launcher?: DriverLauncher;
  /**
   * Which driver the launcher runs. `java-remoting` reaches the broker through the addresses the name server hands
   * out, not the gRPC access point: its network-fault coverage comes from the target's remotingRoutes.
   */
  driver?: DriverName;
  /** Tests may boot something else. */
  boot?: BootTarget;
  /** The command line that reproduces this drill, for the report's environment section. */
  command?: string;
  runId?: string;
  /** Live watching (--prometheus): metrics, fault windows, phases and gates on an endpoint Prometheus scrapes. */
  live?: LiveWatch;
  /** Run the load in this many worker processes (`--workers N`), each its share of the plan; 1: in this process. */
  workers?: number;
}

export interface DrillResult {
  exitCode: number;
  report: Report | undefined;
  reportPaths: string[];
  /** The drain time, the checker's (report.drainMs): from the drain start to the last ack after it. */
  drainMs: number | undefined;
  /** Whether the drain condition (backlog 0, every acknowledged message delivered) was met before the deadline. */
  drained: boolean;
  durationMs: number;
  /** Duration of each phase, in order. */
  phasesMs: Record<string, number>;
  loadFailure: string | undefined;
}

const PROVISION_TIMEOUT_MS = 60_000;
const HEAL_TIMEOUT_MS = 60_000;
const ROCKETMQ_FAULT_STEP_TIMEOUT_MS = 180_000;
const PROGRESS_INTERVAL_MS = 200;
const SAMPLE_INTERVAL_MS = 1000;
const DRIVER_LINES_SHOWN = 5;
/** What a drill writes into its --out folder (cleared when the folder is reused). */
const STALE_OUTPUT = new RegExp(
  '^(ledger-.*\\.ndjson(\\.gz)?|drain-round-\\d+|target|prometheus|drivers\\.log|summary\\.(json|md)|' +
    'report\\.(json|html)|junit\\.xml|metrics\\.json|plan\\.json|barrier|worker-\\d+(\\.log)?)$',
);

class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

export class DrillRun {
  private readonly clock: Clock;
  private readonly spec: DrillSpec;
  private readonly plan: LoadPlan;
  private readonly groups: string[];
  private ledger: LedgerWriter | undefined;
  private booted: BootedTarget | undefined;
  private runner: FaultRunner | undefined;
  private schedule: ScheduledFault[] = [];
  private readonly phasesMs: Record<string, number> = {};
  private readonly openPhases = new Map<string, number>();
  private currentPhase = 'plan';
  private drainStartMs: number | undefined;
  private drainedAtMs: number | undefined;
  private drainedAtWallMs: number | undefined;
  /** Set when the drain ended on ready + retry 0 with the broker's in-flight count unknown (real RocketMQ 5.3). */
  private drainInflightUnknown = false;
  private stopSampling: (() => void) | undefined;
  private drainRounds = 0;
  private driverLines = 0;
  /** Why network faults may not reach the broker traffic (a route that bypasses the fault proxy), when they may not. */
  private networkBypass: string | undefined;
  private impact: FaultImpact[] = [];

  constructor(private readonly opts: DrillRunOptions) {
    this.clock = opts.clock ?? systemClock;
    this.spec = opts.spec;
    this.plan = { ...opts.spec.plan, drainTimeoutMs: opts.spec.drainDeadlineMs };
    this.groups = drainGroups(opts.spec);
  }

  private get runId(): string {
    return this.opts.runId ?? `${this.spec.name}-${this.clock.wallMs()}`;
  }

  private get target(): Target {
    if (!this.booted) throw new Error('no target');
    return this.booted.target;
  }

  private startedMonoMs = 0;

  async execute(): Promise<DrillResult> {
    const startedMs = this.clock.monotonicMs();
    this.startedMonoMs = startedMs;
    this.clearPreviousRun();
    this.openLedger();
    let report: Report | undefined;
    let reportPaths: string[] = [];
    let load: LoadResult | undefined;
    let exitCode: number;
    try {
      await this.phase('plan', async () => {
        this.schedule = scheduleOf(this.spec);
        for (const f of this.schedule) this.opts.live?.metrics.faultScheduled(f.name, f.fault.target);
      });
      this.booted = await this.phase('boot', () =>
        (this.opts.boot ?? bootTarget)(this.spec, this.opts.out, this.opts.say),
      );
      await this.phase('provision', () =>
        this.bounded(this.target.provision(this.spec.topics, this.spec.groups), PROVISION_TIMEOUT_MS, 'provision'),
      );
      await this.checkRoutes();
      await this.watchLive();
      this.startSampling();
      load = await this.loadWithFaults();
      await this.drainUntilDone(load);
      this.stopSampling?.();
      ({ report, reportPaths } = await this.checkAndReport(load));
      exitCode = drillExitCode(report, load.failure, false);
    } catch (err) {
      exitCode = this.failureCode(err);
    } finally {
      this.stopSampling?.();
      await this.cleanUp();
    }
    const drainMs = report?.drainMs;
    const drained = this.drainedAtMs !== undefined;
    const durationMs = this.clock.monotonicMs() - startedMs;
    const phasesMs = this.phasesMs;
    return { exitCode, report, reportPaths, drainMs, drained, durationMs, phasesMs, loadFailure: load?.failure };
  }

  private failureCode(err: unknown): number {
    if (err instanceof Interrupted || this.opts.signal?.aborted) {
      this.opts.say('interrupted: healing every fault and stopping the target');
      return ExitCode.INTERRUPTED;
    }
    if (err instanceof CliError) {
      this.opts.say(`${this.currentPhase} failed: ${err.message}`);
      return err.exitCode;
    }
    this.opts.say(`${this.currentPhase} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return this.currentPhase === 'boot' || this.currentPhase === 'provision'
      ? ExitCode.TARGET_FAILED
      : ExitCode.INTERNAL;
  }

  /**
   * Network faults act on the fault proxy in front of the access point. A RocketMQ route names the endpoints clients
   * use after their first lookup; when those are not the proxy, every later call bypasses it and a network fault
   * misses silently. Bundled nodes advertise their own proxies (checked by the bundled target itself).
   */
  private async checkRoutes(): Promise<void> {
    // Containers: network faults act in each node's network namespace, whatever address a route names.
    if (this.spec.target.kind === 'bundled' || this.spec.target.kind === 'containers') return;
    if (this.opts.driver === 'java-remoting') return this.checkRemotingRoutes();
    const topic = this.spec.topics[0]?.name;
    if (topic === undefined) return;
    const access = this.target.access;
    const check = await routeEndpoints(access.endpoint, topic, { tls: access.tls, namespace: access.namespace });
    if (check.error !== undefined) {
      this.networkBypass = `the route of ${topic} could not be read through the fault proxy (${check.error})`;
    } else if (check.bypass.length > 0) {
      this.networkBypass =
        `the route of ${topic} names ${check.endpoints.join(', ')}, not the fault proxy ${access.endpoint}: ` +
        'clients reach the broker directly after their first route lookup';
    } else {
      this.opts.say(`route check: ${topic} routes through the fault proxy ${access.endpoint}`);
      return;
    }
    const faults = this.schedule.length > 0 ? 'network faults will MISS and their results are marked unknown' : '';
    this.opts.say(`WARNING: ${this.networkBypass}${faults ? `; ${faults}` : ''}`);
  }

  /**
   * The remoting driver dials the broker addresses the name server returns; they go through a fault proxy only when
   * the target put one in front of each (remotingRoutes: the rocketmq target does). Otherwise network faults miss.
   */
  private checkRemotingRoutes(): void {
    const routes = this.target.access.remotingRoutes;
    if (routes !== undefined && Object.keys(routes).length > 0) {
      const list = Object.entries(routes).map(([direct, proxy]) => `${direct} -> ${proxy}`);
      this.opts.say(`route check: the remoting driver dials broker addresses through the fault proxy (${list})`);
      return;
    }
    this.networkBypass =
      'the remoting driver dials the broker addresses the name server returns, and no fault proxy is in front of ' +
      'them: clients reach the broker directly';
    const faults = this.schedule.length > 0 ? '; network faults will MISS and their results are marked unknown' : '';
    this.opts.say(`WARNING: ${this.networkBypass}${faults}`);
  }

  /** Prometheus scrapes the bundled brokers' own /metrics (their admin port); other targets export elsewhere. */
  private async watchLive(): Promise<void> {
    if (!this.opts.live) return;
    const brokers = this.target.kind === 'bundled' ? this.target.nodes.map((n) => n.directEndpoint) : [];
    if (this.target.kind !== 'bundled') {
      this.opts.say(`prometheus: a ${this.target.kind} target's broker metrics are not scraped; the harness's are`);
    }
    await this.opts.live.watch(brokers);
  }

  /** Gates for what the drill could not prove: faults that bypassed the proxy, faults the target cannot apply. */
  private coverageGates(): GateReport[] {
    const gates: GateReport[] = [];
    const network = this.schedule.filter((f) => faultFamily(f.fault.kind) === 'network');
    if (this.networkBypass !== undefined && network.length > 0) {
      gates.push({
        source: 'faults: network faults reach the broker traffic',
        metric: 'faults',
        expression: 'route == fault proxy',
        status: 'unknown',
        note: this.networkBypass,
      });
    }
    const t = this.spec.target.spec;
    if (t.kind === 'external' && !t.namesrv && !t.adminEndpoint) {
      gates.push({
        source: 'drain: the broker backlog reached zero',
        metric: 'drain',
        expression: 'backlog == 0',
        status: 'unknown',
        note: 'the external target has no namesrv or adminEndpoint: its backlog cannot be read',
      });
    }
    if (this.drainInflightUnknown) {
      gates.push({
        source: 'drain: the broker ready + retry backlog reached zero',
        metric: 'broker_backlog',
        expression: 'ready + retry == 0',
        actual: 0,
        status: 'pass',
        note:
          'the in-flight count (delivered, not yet acknowledged) is unknown on this target, not counted as 0; ' +
          'the ledger shows every acknowledged message delivered',
      });
    }
    if (this.spec.skippedFaults.length > 0) {
      gates.push({
        source: 'faults: every fault of the scenario applied',
        metric: 'faults',
        expression: 'skipped == 0',
        actual: this.spec.skippedFaults.length,
        status: 'unknown',
        note: this.spec.skippedFaults.join('; '),
      });
    }
    return gates;
  }

  private async cleanUp(): Promise<void> {
    try {
      if (this.runner) await this.bounded(this.runner.healAll(), HEAL_TIMEOUT_MS, 'heal');
    } catch (err) {
      this.opts.say(`heal failed: ${(err as Error).message}`);
    }
    try {
      if (this.booted) await this.phase('stop', () => (this.booted as BootedTarget).stop(), true);
    } catch (err) {
      this.opts.say(`stopping the target failed: ${(err as Error).message}`);
    }
    await this.ledger?.close().catch(() => {});
  }

  /** A reused --out folder: the previous drill's ledgers, broker data and reports would mix with this one's. */
  private clearPreviousRun(): void {
    mkdirSync(this.opts.out, { recursive: true });
    const stale = readdirSync(this.opts.out).filter((f) => STALE_OUTPUT.test(f));
    if (stale.length > 0) this.opts.say(`clearing the previous drill in ${this.opts.out} (${stale.length} entries)`);
    for (const f of stale) rmSync(join(this.opts.out, f), { recursive: true, force: true });
  }

  /** Subscriptions as the checker needs them: FIFO groups (order check) and max attempts (dead-letter check). */
  private subscriptions(): Subscription[] {
    return this.plan.scenarios.flatMap((s) => {
      const c = s.consumer;
      if (!c) return [];
      const fifo = this.spec.groups.find((g) => g.name === c.group)?.fifo ?? false;
      const sub: Subscription = {
        group: c.group,
        topic: c.topic,
        filter: c.filter.expression,
        filterType: c.filter.type,
      };
      return [{ ...sub, fifo, ...(c.maxAttempts !== undefined ? { maxAttempts: c.maxAttempts } : {}) }];
    });
  }

  private openLedger(): void {
    this.ledger = new LedgerWriter(
      join(this.opts.out, 'ledger-drill.ndjson'),
      {
        process: 'drill',
        role: 'drill',
        run: this.runId,
        startedMs: this.clock.wallMs(),
        guarantee: this.spec.guarantee,
        subscriptions: this.subscriptions(),
        ...(this.spec.drainSloMs !== undefined ? { drainSloMs: this.spec.drainSloMs } : {}),
        meta: {
          scenario: this.spec.name,
          source: this.spec.source,
          seed: this.plan.seed,
          target: this.spec.target.kind,
          nodes: this.spec.target.nodes,
        },
      },
      { clock: this.clock },
    );
  }

  private mark(name: string, s: PhaseMarker['s'], extra: { ok?: boolean; ts?: number } = {}): void {
    const ts = extra.ts ?? this.clock.wallMs();
    this.ledger?.write({ t: 'ph', ts, n: name, s, ...(extra.ok !== undefined ? { ok: extra.ok } : {}) });
    if (s === 'start') {
      this.opts.live?.metrics.phase(name);
      this.openPhases.set(name, this.clock.monotonicMs());
      this.currentPhase = name;
      return;
    }
    const startedMs = this.openPhases.get(name);
    if (startedMs !== undefined) this.phasesMs[name] = this.clock.monotonicMs() - startedMs;
    this.openPhases.delete(name);
  }

  /** Runs one phase between its markers; checks for an abort before it starts. */
  private async phase<T>(name: string, work: () => Promise<T>, evenIfAborted = false): Promise<T> {
    if (!evenIfAborted && this.opts.signal?.aborted) throw new Interrupted();
    this.mark(name, 'start');
    this.opts.say(`${name}...`);
    try {
      return await work();
    } finally {
      this.mark(name, 'end');
    }
  }

  private bounded<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const cancel = this.clock.setTimer(timeoutMs, () =>
        reject(new CliError(`${what}: no answer in ${formatDurationMs(timeoutMs)}`, ExitCode.TARGET_FAILED)),
      );
      work.then(resolve, reject).finally(cancel);
    });
  }

  private endpoint(): TargetEndpoint {
    const access = this.target.access;
    return {
      endpoint: access.endpoint,
      tls: access.tls,
      namespace: access.namespace,
      ...(access.namesrv ? { namesrv: access.namesrv } : {}),
      ...(access.remotingRoutes ? { remotingRoutes: access.remotingRoutes } : {}),
      fifoTopics: this.spec.topics.filter((t) => t.type === 'FIFO').map((t) => t.name),
      ...(access.credentials
        ? { accessKey: access.credentials.accessKey, secretKey: access.credentials.secretKey }
        : {}),
    };
  }

  /** Broker backlog samples (`bl` records) every second for the report's backlog chart. */
  private startSampling(): void {
    let cancel: (() => void) | undefined;
    let stopped = false;
    const tick = async () => {
      const rows = await this.target.backlog(this.groups).catch(() => undefined);
      if (stopped || rows === undefined) return;
      // A group with an unknown in-flight count has no sample: its broker backlog is unknown, not ready + retry.
      const perGroup = new Map<string, number | null>();
      for (const r of rows) {
        const before = perGroup.get(r.group) ?? 0;
        perGroup.set(r.group, before === null || r.inflight === null ? null : before + r.ready + r.inflight + r.retry);
      }
      for (const [cg, n] of perGroup) if (n !== null) this.ledger?.write({ t: 'bl', ts: this.clock.wallMs(), cg, n });
    };
    const arm = () => {
      cancel = this.clock.setTimer(SAMPLE_INTERVAL_MS, () => void tick().finally(() => stopped || arm()));
    };
    arm();
    this.stopSampling = () => {
      stopped = true;
      cancel?.();
    };
  }

  /**
   * Warm-up, load with faults, heal, and the drill's drain wait, while the load engine runs. The engine says when its
   * load starts only through its first progress line, PROGRESS_INTERVAL_MS after the start.
   */
  private async loadWithFaults(): Promise<LoadResult> {
    if (this.opts.signal?.aborted) throw new Interrupted();
    const timers: Array<() => void> = [];
    let loadDone = false;
    const onStart = (sinceStartMs: number) => {
      const startWallMs = this.clock.wallMs() - sinceStartMs;
      this.mark('warm-up', 'start', { ts: startWallMs });
      this.opts.say(`warm-up (${formatDurationMs(this.spec.warmUpMs)}, no faults)...`);
      timers.push(this.clock.setTimer(this.spec.warmUpMs - sinceStartMs, () => this.startFaults()));
      timers.push(
        this.clock.setTimer(this.spec.loadDurationMs - sinceStartMs, () => {
          if (!loadDone) this.healWatch ??= this.healThenWatchDrain(() => loadDone);
        }),
      );
    };
    let started = false;
    const run =
      (this.opts.workers ?? 1) > 1
        ? this.runWorkerProcesses((sinceStartMs) => {
            if (!started) onStart(sinceStartMs);
            started = true;
          })
        : runLoad(this.plan, this.endpoint(), {
            launcher: this.opts.launcher ?? nodeWorkerLauncher(),
            clock: this.clock,
            out: this.opts.out,
            runId: this.runId,
            progressIntervalMs: PROGRESS_INTERVAL_MS,
            onProgress: (line) => {
              if (!started) {
                started = true;
                onStart(PROGRESS_INTERVAL_MS);
              }
              this.opts.progress?.(this.progressLine(line));
            },
            onLog: (line) => this.driverLog(line),
            readyTimeoutMs: driverReadyTimeoutMs(this.spec),
            ...(this.opts.signal ? { signal: this.opts.signal } : {}),
            ...(this.opts.live ? { live: this.opts.live.metrics } : {}),
          });
    const result = await run.finally(() => {
      loadDone = true;
      for (const cancel of timers) cancel();
    });
    if (this.opts.signal?.aborted) throw new Interrupted();
    this.healWatch ??= this.healThenWatchDrain(() => true);
    await this.healWatch;
    if (result.failure) this.opts.say(`load failed: ${result.failure}`);
    return result;
  }

  /**
   * The load in worker processes (`--workers N`): each runs its share from plan.json and writes its ledgers under
   * worker-K/, which the check reads with the others; their metrics merge into summary.json. onStart gets how long
   * ago the workers' common start was.
   */
  private async runWorkerProcesses(onStart: (sinceStartMs: number) => void): Promise<LoadResult> {
    const endpoint = this.endpoint();
    const count = this.opts.workers ?? 1;
    this.opts.say(`load in ${count} worker processes (${join(this.opts.out, 'worker-K')}, logs worker-K.log)`);
    this.opts.live?.metrics.setPlan(this.plan);
    let stopRate = () => {};
    const rateFrom = (startWallMs: number) => {
      // The scheduled rate on the live endpoint, as the in-process engine sets it on each progress tick.
      const tick = () => {
        this.opts.live?.metrics.setElapsed(this.clock.wallMs() - startWallMs);
        stopRate = this.clock.setTimer(SAMPLE_INTERVAL_MS, tick);
      };
      if (this.opts.live) tick();
    };
    const result = await runWorkers({
      plan: this.plan,
      endpoint: endpoint.endpoint,
      count,
      out: this.opts.out,
      ...(this.opts.driver ? { driver: this.opts.driver } : {}),
      env: {
        MQDRILL_TLS: endpoint.tls ? '1' : '0',
        MQDRILL_NAMESPACE: endpoint.namespace,
        ...(endpoint.accessKey ? { MQDRILL_ACCESS_KEY: endpoint.accessKey } : {}),
        ...(endpoint.secretKey ? { MQDRILL_SECRET_KEY: endpoint.secretKey } : {}),
        ...(endpoint.namesrv ? { MQDRILL_NAMESRV: endpoint.namesrv } : {}),
      },
      onStart: (startWallMs) => {
        onStart(Math.max(0, this.clock.wallMs() - startWallMs));
        rateFrom(startWallMs);
      },
      onDelta: (delta) => this.opts.live?.metrics.addDelta(delta),
      onLog: (line) => this.driverLog(line),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    }).finally(() => stopRate());
    this.opts.live?.metrics.setElapsed(Number.MAX_SAFE_INTEGER);
    const ledgerPaths = listLedgers(this.opts.out).filter((p) => p.includes('worker-'));
    return { ...result, ledgerPaths, failure: result.failure };
  }

  /**
   * Client libraries log a line per failed call during a fault; the first DRIVER_LINES_SHOWN are shown, all of them
   * go to <out>/drivers.log.
   */
  private driverLog(line: string): void {
    this.driverLines++;
    appendFileSync(join(this.opts.out, 'drivers.log'), `${new Date(this.clock.wallMs()).toISOString()} ${line}\n`);
    if (this.driverLines <= DRIVER_LINES_SHOWN) this.opts.say(line.length > 300 ? `${line.slice(0, 300)}...` : line);
    if (this.driverLines === DRIVER_LINES_SHOWN) {
      this.opts.say(`(further driver messages go to ${join(this.opts.out, 'drivers.log')} only)`);
    }
  }

  private progressLine(line: string): string {
    const active = this.runner?.activeFaults().map((f) => f.name) ?? [];
    return `[${this.currentPhase}] ${line}${active.length > 0 ? ` | faults: ${active.join(', ')}` : ''}`;
  }

  private startFaults(): void {
    this.mark('warm-up', 'end');
    this.mark('faults', 'start');
    const count = this.schedule.length;
    this.opts.say(`load with faults (${count} scheduled)...`);
    this.runner = new FaultRunner({
      clock: this.clock,
      schedule: this.schedule,
      injectors: this.booted?.injectors ?? {},
      onEvent: (event) => this.onFaultEvent(event),
      onError: (e) => this.opts.say(`fault ${e.step} ${e.name} failed: ${e.error.message}`),
      // A real RocketMQ broker restarted after a kill recovers its store and boots a JVM: on a busy machine that takes
      // longer than the default step bound.
      ...(this.spec.target.kind === 'rocketmq' || this.spec.target.broker === 'rocketmq'
        ? { stepTimeoutMs: ROCKETMQ_FAULT_STEP_TIMEOUT_MS }
        : {}),
    });
    this.runner.start();
  }

  private onFaultEvent(event: FaultEvent): void {
    this.ledger?.write(faultLedgerRecord(event));
    this.opts.live?.metrics.faultActive(event.name, event.target, event.type === 'fault-start');
    this.opts.say(`${event.type === 'fault-start' ? 'fault in force' : 'fault healed'}: ${event.name}`);
  }

  private healWatch: Promise<void> | undefined;

  /** Heals everything, then watches the drain until it is done, the load engine is done, or the deadline. */
  private async healThenWatchDrain(engineDone: () => boolean): Promise<void> {
    if (this.openPhases.has('warm-up')) this.mark('warm-up', 'end');
    if (this.openPhases.has('faults')) this.mark('faults', 'end');
    this.mark('heal', 'start');
    this.opts.say('heal: every fault healed...');
    if (this.runner)
      await this.bounded(this.runner.healAll(), HEAL_TIMEOUT_MS, 'heal').catch((e) => this.opts.say(String(e)));
    this.mark('heal', 'end');
    this.mark('drain-wait', 'start');
    this.drainStartMs = this.clock.monotonicMs();
    this.opts.say(
      'drain: until zero backlog and every acknowledged message delivered ' +
        `(deadline ${formatDurationMs(this.spec.drainDeadlineMs)})...`,
    );
    await this.watchDrain(engineDone);
  }

  private deadlinePassed(): boolean {
    return this.clock.monotonicMs() - (this.drainStartMs ?? 0) >= this.spec.drainDeadlineMs;
  }

  private async watchDrain(engineDone: () => boolean): Promise<void> {
    while (this.drainedAtMs === undefined && !engineDone() && !this.deadlinePassed() && !this.opts.signal?.aborted) {
      if (await this.pollDrain()) return;
    }
  }

  /** One look at the drain condition; waits before returning false so polls are spaced by their own cost. */
  private async pollDrain(): Promise<boolean> {
    await this.ledger?.flush();
    const state = await drainState(this.target, this.groups, this.opts.out, this.clock);
    if (state.drained) {
      this.drainedNow(state);
      return true;
    }
    const waitMs = Math.max(SAMPLE_INTERVAL_MS, 2 * state.checkMs);
    await new Promise<void>((resolve) => this.clock.setTimer(waitMs, resolve));
    return false;
  }

  /**
   * After the load engine ends: if the drain condition does not hold yet, run the consumers again (a drain round:
   * consumers only, until idle) until it holds or the deadline passes; then close the drain with its verdict.
   */
  private async drainUntilDone(load: LoadResult): Promise<void> {
    while (this.drainedAtMs === undefined && !this.opts.signal?.aborted) {
      if (await this.pollDrainOnce()) break;
      if (this.deadlinePassed() || load.failure) break;
      await this.drainRound();
    }
    if (this.opts.signal?.aborted) throw new Interrupted();
    const ok = this.drainedAtMs !== undefined;
    this.mark('drain-wait', 'end', { ok, ...(this.drainedAtWallMs !== undefined ? { ts: this.drainedAtWallMs } : {}) });
    if (!ok) {
      // Fails the `drain` check: the deadline passed with backlog left.
      this.ledger?.write({ t: 'ph', ts: this.clock.wallMs(), n: 'drain', s: 'end', ok: false });
      this.opts.say(`drain deadline (${formatDurationMs(this.spec.drainDeadlineMs)}) passed with messages undelivered`);
    }
  }

  private async pollDrainOnce(): Promise<boolean> {
    await this.ledger?.flush();
    const state = await drainState(this.target, this.groups, this.opts.out, this.clock);
    if (!state.drained) {
      const backlog = describeBacklog(state.backlog);
      this.opts.say(`not drained yet: broker backlog ${backlog}, ${state.undelivered} undelivered`);
      return false;
    }
    this.drainedNow(state);
    return true;
  }

  /** Records the drain's end; says what the broker half was known to be (an unknown part is named, never 0). */
  private drainedNow(state: DrainState): void {
    this.drainedAtMs = this.clock.monotonicMs();
    this.drainedAtWallMs = this.clock.wallMs();
    this.drainInflightUnknown = state.backlog !== undefined && !state.backlog.inflightKnown;
    // No time here: the drain time is the checker's, measured from the ledger and printed with the verdict.
    if (state.brokerExact) this.opts.say('drained: backlog 0, every acknowledged message delivered');
    else if (this.drainInflightUnknown) {
      this.opts.say(
        'drained: ready + retry 0 on the broker (its in-flight count is unknown), every acknowledged message delivered',
      );
    } else this.opts.say('drained: every acknowledged message delivered (the broker backlog is unknown)');
  }

  /** The scenario's consumers alone, until idle or what is left of the drain deadline. */
  private async drainRound(): Promise<void> {
    const leftMs = this.spec.drainDeadlineMs - (this.clock.monotonicMs() - (this.drainStartMs ?? 0));
    const consumers = this.plan.scenarios
      .filter((s) => s.role === 'consumer')
      .map((s) => ({ ...s, schedule: { ...s.schedule, startTimeMs: 0, durationMs: 0 } }));
    const round = ++this.drainRounds;
    this.opts.say(`drain round ${round}: consumers again, for at most ${formatDurationMs(leftMs)}`);
    await runLoad({ ...this.plan, scenarios: consumers, drainTimeoutMs: Math.max(1000, leftMs) }, this.endpoint(), {
      launcher: this.opts.launcher ?? nodeWorkerLauncher(),
      clock: this.clock,
      out: join(this.opts.out, `drain-round-${round}`),
      runId: this.runId,
      onLog: (line) => this.driverLog(line),
      readyTimeoutMs: driverReadyTimeoutMs(this.spec),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      ...(this.opts.live ? { live: this.opts.live.metrics } : {}),
    });
  }

  private async checkAndReport(load: LoadResult): Promise<{ report: Report; reportPaths: string[] }> {
    this.mark('check', 'start');
    await this.ledger?.flush();
    this.opts.say('check...');
    const result = await checkLedgers(listLedgers(this.opts.out));
    this.mark('check', 'end');
    const nowMs = this.clock.wallMs();
    for (const p of result.phases) if (p.name === 'check' && p.endMs === undefined) p.endMs = nowMs;
    const injected = this.runner?.events.filter((e) => e.type === 'fault-start').length ?? 0;
    // Every figure is computed here, once, from the check: the console, report.json, summary.md, report.html and
    // junit.xml print these values (the drain time is the checker's, from the ledger, not the drill's poll).
    const liveness = computeLiveness({
      timeline: result.timeline,
      faults: result.faults,
      phases: result.phases,
      drainEnded: this.drainedAtMs !== undefined,
      scheduledRate: scheduledRateOf(this.plan, result.phases),
      sendTimeoutMs: Math.max(0, ...this.plan.scenarios.map((s) => s.message?.sendTimeoutMs ?? 0)),
    });
    const target = this.booted?.target;
    const clientPathCrosses = target?.clientPathCrosses?.bind(target);
    const brokerNodes = target?.nodes.map((n) => n.name).filter((n) => !n.startsWith('namesrv'));
    this.impact = await faultImpact(listLedgers(this.opts.out), { clientPathCrosses, brokerNodes }).catch(() => []);
    for (const i of this.impact) this.opts.say(describeImpact(i));
    const gates = [
      ...evaluateGates(this.spec.gates, result),
      ...thresholdGates(load.summary, result),
      ...[faultGate(this.schedule.length, injected, this.runner?.errors ?? [])].filter((g) => g !== undefined),
      ...livenessGates(liveness),
      ...this.coverageGates(),
    ];
    const report = buildReport(result, gates, nowMs, liveness);
    for (const g of gates) this.opts.live?.metrics.gate(g.source, g.status);
    report.run.meta.drill = this.reportMeta(report, load, await errorsByStatus(listLedgers(this.opts.out)));
    return this.phase('report', async () => {
      const reportPaths = await writeReports(report, this.opts.out);
      // Fault windows as Grafana annotations (POST each to /api/annotations; the broker dashboard shows tag
      // mqdrill-fault), beside the reports.
      const annotations = faultAnnotations(this.runner?.events ?? []);
      await writeFile(join(this.opts.out, 'annotations.json'), `${JSON.stringify(annotations, null, 2)}\n`);
      return { report, reportPaths };
    });
  }

  private reportMeta(report: Report, load: LoadResult, errors: ErrorRow[]): Record<string, unknown> {
    return {
      scenario: this.spec.name,
      description: this.spec.description ?? null,
      seed: this.plan.seed,
      target: this.spec.target.kind,
      nodes: this.spec.target.nodes,
      faultsScheduled: this.schedule.map((f) => ({ name: f.name, startMs: f.startMs, endMs: f.endMs })),
      faultImpact: this.impact,
      networkBypass: this.networkBypass ?? null,
      skippedFaults: this.spec.skippedFaults,
      drainRounds: this.drainRounds,
      retryAmplification: retryAmplification(report.counts) ?? null,
      phasesMs: this.phasesMs,
      durationMs: this.clock.monotonicMs() - this.startedMonoMs,
      loadSummary: load.summaryPath ? relative(this.opts.out, load.summaryPath) : null,
      loadGenerator: loadGeneratorHealth(load.summary, report),
      environment: environmentOf(this.spec, this.opts.command),
      errorsByStatus: errors,
    };
  }
}

/**
 * Runs a validated drill. On a broker that outlives the run (rocketmq keeps its store in the run folder, external
 * is someone else's) group names, and topic names where the drill can create topics, get a run suffix so nothing
 * of an earlier run reaches this one.
 */
export function runDrill(options: DrillRunOptions): Promise<DrillResult> {
  const { spec } = options;
  // Bundled and containers brokers start on fresh data every run: nothing of an earlier run can reach this one.
  if (spec.target.kind === 'bundled' || spec.target.kind === 'containers') return new DrillRun(options).execute();
  const wallMs = (options.clock ?? systemClock).wallMs();
  const suffix = `-r${(wallMs % 36 ** 6).toString(36)}`;
  const t = spec.target.spec;
  const canProvision = t.kind === 'rocketmq' || (t.kind === 'external' && (!!t.namesrv || !!t.adminEndpoint));
  options.say(`run suffix ${suffix} on group${canProvision ? ' and topic' : ''} names`);
  return new DrillRun({ ...options, spec: withRunSuffix(spec, suffix, { topics: canProvision }) }).execute();
}

/**
 * How long the load engine waits for its drivers' clients to start (bounded). A client's start asks the broker for
 * routes; RocketMQ's proxy answered that in over 30 s (the engine's default) with three JVMs on two cores shared with
 * other test suites (a containers drill failed "drivers did not become ready in time"). Elsewhere the default holds.
 */
function driverReadyTimeoutMs(spec: DrillSpec): number {
  const t = spec.target.spec;
  const jvmBroker = t.kind === 'rocketmq' || (t.kind === 'containers' && t.broker === 'rocketmq');
  return jvmBroker ? 120_000 : 30_000;
}

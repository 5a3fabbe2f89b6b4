/**
 * Live metrics of a load run or a drill on a Prometheus endpoint (prom-client does the exposition format). The load
 * engine feeds it the drivers' metric deltas as they arrive; the drill adds the fault windows, the phase and, at the
 * end, the gates. Every series a dashboard panel reads is created at zero when the plan is known, so a panel shows a
 * flat line, not "no data", for what has not happened yet.
 *
 * Metric names: `mqdrill_load_<metric>_total` for the engine's counters, `mqdrill_load_<trend>_ms` histograms for
 * its trends, `mqdrill_load_send_errors_total{outcome,status}` (fail | unknown; the status from the error text),
 * `mqdrill_fault_active{fault,target}` (1 while a fault is in force, 0 otherwise), `mqdrill_drill_phase{phase}`,
 * `mqdrill_drill_gate{gate,status}`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRICS, type MetricsDelta } from '../load/metrics.ts';
import type { LoadPlan } from '../load/options.ts';
import { scheduledRate } from '../load/scheduled-rate.ts';

/** Latency buckets in ms: fine below 50 ms (where a healthy broker answers), coarse up to a minute. */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 30, 50, 75, 100, 200, 300, 500, 1000, 2000, 5000, 10_000, 60_000];

const COUNTERS = Object.entries(METRICS)
  .filter(([name, m]) => m.type === 'counter' && name !== 'send_errors')
  .map(([name]) => name);
const TRENDS = Object.entries(METRICS)
  .filter(([, m]) => m.type === 'trend')
  .map(([name]) => name);
const US_PER_MS = 1000;

export class LiveMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter<'scenario'>>();
  private readonly histograms = new Map<string, Histogram<'scenario'>>();
  private readonly errors = new Counter({
    name: 'mqdrill_load_send_errors_total',
    help:
      'sends not ok, by outcome (fail: refused; unknown: no answer in time) and status (a RocketMQ code, a gRPC ' +
      'status, timeout; none: the zero series)',
    labelNames: ['scenario', 'outcome', 'status'] as const,
    registers: [this.registry],
  });
  private readonly vus = this.gauge('mqdrill_load_vus', 'iterations in flight', ['scenario']);
  private readonly scheduled = this.gauge(
    'mqdrill_load_scheduled_rate',
    'sends per second the plan schedules now (arrival-rate producers; the rate steps of a capacity run)',
    ['scenario'],
  );
  private readonly faults = this.gauge('mqdrill_fault_active', '1 while the fault is in force, 0 otherwise', [
    'fault',
    'target',
  ]);
  private readonly phases = this.gauge('mqdrill_drill_phase', '1 for the phase the drill is in', ['phase']);
  private readonly gates = this.gauge('mqdrill_drill_gate', 'each gate of the verdict, 1 on its status', [
    'gate',
    'status',
  ]);
  private plan: LoadPlan | undefined;
  private currentPhase: string | undefined;

  constructor() {
    for (const name of COUNTERS) {
      const help = METRICS[name]?.help ?? name;
      const c = new Counter({
        name: `mqdrill_load_${name}_total`,
        help,
        labelNames: ['scenario'] as const,
        registers: [this.registry],
      });
      this.counters.set(name, c);
    }
    for (const name of TRENDS) {
      const help = METRICS[name]?.help ?? name;
      const h = new Histogram({
        name: `mqdrill_load_${name}_ms`,
        help,
        labelNames: ['scenario'] as const,
        buckets: LATENCY_BUCKETS_MS,
        registers: [this.registry],
      });
      this.histograms.set(name, h);
    }
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** Creates every load series at zero for the plan's scenarios. */
  setPlan(plan: LoadPlan): void {
    this.plan = plan;
    for (const s of plan.scenarios) {
      const labels = { scenario: s.name };
      for (const c of this.counters.values()) c.inc(labels, 0);
      for (const outcome of ['fail', 'unknown']) this.errors.inc({ ...labels, outcome, status: 'none' }, 0);
      this.vus.set(labels, 0);
      this.scheduled.set(labels, 0);
    }
    for (const h of this.histograms.values()) h.zero({ scenario: plan.scenarios[0]?.name ?? 'none' });
  }

  /** Adds a driver's metrics delta (the same deltas the load engine merges for its summary). */
  addDelta(delta: MetricsDelta): void {
    for (const item of delta.series) {
      const scenario = item.tags.scenario ?? 'none';
      if (item.add) {
        this.counters.get(item.name)?.inc({ scenario }, item.add);
        if (item.name === 'send_errors') {
          const labels = { scenario, outcome: item.tags.outcome ?? 'fail', status: item.tags.status ?? 'other' };
          this.errors.inc(labels, item.add);
        }
      }
      if (item.name === 'vus' && item.value !== undefined) this.vus.set({ scenario }, item.value);
      const histogram = this.histograms.get(item.name);
      if (histogram && item.hdr !== undefined && item.count) observeAll(histogram, scenario, item.hdr);
    }
  }

  /**
   * The scheduled send rate of each arrival-rate producer of `plan` (default: the last one set), elapsedMs after its
   * load start. A command that runs two loads at once (capacity: its consumers through the whole search, one step's
   * producers at a time) passes each engine's own plan, so one engine's clock never rates the other's scenarios.
   */
  setElapsed(elapsedMs: number, plan: LoadPlan | undefined = this.plan): void {
    for (const s of plan?.scenarios ?? []) {
      if (s.role !== 'producer') continue;
      const rate = scheduledRate(s.schedule, elapsedMs);
      if (rate !== undefined) this.scheduled.set({ scenario: s.name }, rate);
    }
  }

  faultScheduled(fault: string, target: string): void {
    this.faults.set({ fault, target }, 0);
  }

  faultActive(fault: string, target: string, active: boolean): void {
    this.faults.set({ fault, target }, active ? 1 : 0);
  }

  phase(name: string): void {
    if (this.currentPhase !== undefined) this.phases.set({ phase: this.currentPhase }, 0);
    this.currentPhase = name;
    this.phases.set({ phase: name }, 1);
  }

  gate(gate: string, status: 'pass' | 'fail' | 'unknown'): void {
    for (const s of ['pass', 'fail', 'unknown'] as const) this.gates.set({ gate, status: s }, s === status ? 1 : 0);
  }

  /** The exposition text, as the endpoint serves it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Every value of a delta's HDR histogram into the Prometheus histogram, at each recorded value's highest equivalent
 * (the HDR bucket's upper bound, so a value is never counted under a smaller `le` than it had).
 */
function observeAll(histogram: Histogram<'scenario'>, scenario: string, encoded: string): void {
  const h = hdr.decodeFromCompressedBase64(encoded, 'packed', false) as hdr.JsHistogram;
  try {
    const it = h.recordedValuesIterator;
    it.reset();
    while (it.hasNext()) {
      const v = it.next();
      const valueMs = v.valueIteratedTo / US_PER_MS;
      for (let i = 0; i < v.countAddedInThisIterationStep; i++) histogram.observe({ scenario }, valueMs);
    }
  } finally {
    h.destroy();
  }
}

/** An HTTP endpoint serving /metrics on loopback; port 0 picks a free one. */
export class MetricsEndpoint {
  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  static async start(metrics: LiveMetrics, port = 0, host = '127.0.0.1'): Promise<MetricsEndpoint> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics is served here\n');
        return;
      }
      metrics.text().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const { port: bound } = server.address() as AddressInfo;
    return new MetricsEndpoint(server, `${host}:${bound}`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

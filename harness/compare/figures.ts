/**
 * The figures `mqdrill compare` compares, read from a drill's report.json (schema mqdrill-report) or a capacity
 * report.json (schema mqdrill-capacity): gate statuses, anomaly counts, and numbers that each have a direction
 * (latency, drain and recovery: lower is better; throughput and capacity: higher is better).
 */
import type { Report } from '../../reports/schema.ts';
import type { CapacityReport } from '../capacity/report.ts';

export type FigureClass = 'latency' | 'throughput' | 'drain' | 'recovery' | 'capacity' | 'anomaly';

export interface Figure {
  name: string;
  class: FigureClass;
  value: number;
  unit: 'ms' | '/s' | 'count';
  /** Which way is better. */
  better: 'lower' | 'higher';
  /** Why the value is not known (a checker that could not decide): compare cannot judge it, and says so. */
  unknown?: string;
}

export interface ReportFigures {
  kind: 'drill' | 'capacity';
  /** A title for tables: the scenario, target and when. */
  title: string;
  generatedMs: number;
  gates: Map<string, string>;
  figures: Map<string, Figure>;
}

export class NotAReportError extends Error {}

function add(map: Map<string, Figure>, f: Figure | undefined): void {
  if (f && Number.isFinite(f.value)) map.set(f.name, f);
}

function drillFigures(r: Report): ReportFigures {
  const figures = new Map<string, Figure>();
  for (const [name, l] of Object.entries(r.latencies)) {
    if (name === 'send_delay') continue; // the generator's lateness, not the target's
    add(figures, { name: `latency.${name}.p50`, class: 'latency', value: l.med, unit: 'ms', better: 'lower' });
    add(figures, { name: `latency.${name}.p99`, class: 'latency', value: l.p99, unit: 'ms', better: 'lower' });
  }
  const load = r.phases.find((p) => p.name === 'load');
  const seconds = load?.endMs !== undefined ? (load.endMs - load.startMs) / 1000 : undefined;
  for (const key of ['sends_ok', 'deliveries'] as const) {
    const count = r.counts[key];
    if (count === undefined || !seconds) continue;
    add(figures, {
      name: `throughput.${key}`,
      class: 'throughput',
      value: count / seconds,
      unit: '/s',
      better: 'higher',
    });
  }
  if (r.drainMs !== undefined) {
    add(figures, { name: 'drain', class: 'drain', value: r.drainMs, unit: 'ms', better: 'lower' });
  }
  for (const f of r.liveness?.faults ?? []) {
    if (f.recoveryMs === undefined) continue;
    add(figures, { name: `recovery.${f.name}`, class: 'recovery', value: f.recoveryMs, unit: 'ms', better: 'lower' });
  }
  for (const a of r.anomalies) {
    if (!a.applicable) continue;
    const f: Figure = { name: `anomaly.${a.name}`, class: 'anomaly', value: a.count, unit: 'count', better: 'lower' };
    // An undecided checker's count is not a count (it may have stopped early): never compared as one.
    if (a.verdict === 'unknown' || !Number.isFinite(a.count)) {
      figures.set(f.name, {
        ...f,
        value: Number.NaN,
        unknown: a.error ?? a.notes[0] ?? 'the checker could not decide',
      });
    } else add(figures, f);
  }
  const meta = r.run.meta.drill as { scenario?: string; target?: string } | undefined;
  return {
    kind: 'drill',
    title: `${meta?.scenario ?? r.run.id ?? 'drill'} on ${meta?.target ?? '?'}`,
    generatedMs: r.generatedMs,
    gates: new Map(r.gates.map((g) => [g.source, g.status])),
    figures,
  };
}

function capacityFigures(r: CapacityReport): ReportFigures {
  const figures = new Map<string, Figure>();
  const res = r.result;
  const rate = (name: string, value: number | null) =>
    value === null ? undefined : ({ name, class: 'capacity', value, unit: '/s', better: 'higher' } as Figure);
  add(figures, rate('capacity.sustainable_send_rate', res.sustainableSendRate));
  add(figures, rate('capacity.sustainable_receive_rate', res.sustainableReceiveRate));
  add(figures, rate('capacity.per_consumer_rate', r.drainProbe?.perConsumerRate ?? null));
  const lost: Figure = { name: 'anomaly.lost', class: 'anomaly', value: r.lost.count, unit: 'count', better: 'lower' };
  if (r.lost.verdict === 'unknown' || !Number.isFinite(r.lost.count)) {
    figures.set(lost.name, { ...lost, value: Number.NaN, unknown: 'the lost check could not decide' });
  } else add(figures, lost);
  const gates = new Map<string, string>([
    // A generator-limited run did not measure the target: unknown, not a failure of the target.
    ['capacity: the target was the limit (not the load generator)', res.limitedBy === 'generator' ? 'unknown' : 'pass'],
    [
      'capacity: nothing lost',
      r.lost.verdict === 'unknown' ? 'unknown' : r.lost.count > r.slo.lostMax ? 'fail' : 'pass',
    ],
  ]);
  return {
    kind: 'capacity',
    title: `capacity of ${r.scenario} on ${r.target}${r.flush ? ` (${r.flush} flush)` : ''}`,
    generatedMs: r.generatedMs,
    gates,
    figures,
  };
}

/** Figures of a parsed report.json; throws NotAReportError naming what the file is not. */
export function figuresOf(value: unknown, source: string): ReportFigures {
  const schema = (value as { schema?: unknown } | null)?.schema;
  if (schema === 'mqdrill-report') return drillFigures(value as Report);
  if (schema === 'mqdrill-capacity') return capacityFigures(value as CapacityReport);
  throw new NotAReportError(
    `${source} is not an mqdrill report.json (schema ${JSON.stringify(schema)}; expected mqdrill-report or ` +
      'mqdrill-capacity): give the report.json a drill or capacity run wrote',
  );
}

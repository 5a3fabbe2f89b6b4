/**
 * Load metrics, k6-style: trends (HDR histograms), counters, rates and gauges, each series tagged (scenario, topic,
 * group). Drivers record into their own registry and send deltas (histograms encoded as compressed base64) to the
 * engine, which merges them; thresholds and the summary read the merged registry.
 *
 * Trends are recorded in microseconds (HdrHistogram wants integers, 3 significant digits) and reported in ms; exact
 * min, max and sum are kept beside the histogram, so avg/min/max are exact and only percentiles are approximated.
 */
import * as hdr from 'hdr-histogram-js';
import type { Aggregation } from '../thresholds/index.ts';
import { tagsMatch } from '../thresholds/index.ts';

export type MetricType = 'trend' | 'counter' | 'rate' | 'gauge';
export type Tags = Record<string, string>;

/** Every metric the engine knows, with its type (k6 validates threshold aggregations against the type). */
export const METRICS: Record<string, { type: MetricType; time?: boolean; help: string }> = {
  send_duration: { type: 'trend', time: true, help: 'send call to its result (ms)' },
  send_delay: { type: 'trend', time: true, help: 'actual - intended send start: coordinated omission (ms)' },
  e2e_latency: { type: 'trend', time: true, help: 'receive wall time - send wall time, one clock (ms)' },
  process_duration: { type: 'trend', time: true, help: 'consumer processing time per delivery (ms)' },
  messages_sent: { type: 'counter', help: 'send calls started' },
  messages_acked: { type: 'counter', help: 'sends that ended ok' },
  messages_failed: { type: 'counter', help: 'sends that ended fail' },
  messages_unknown: { type: 'counter', help: 'sends that ended unknown (e.g. timeout)' },
  send_errors: { type: 'counter', help: 'sends not ok, tagged outcome (fail | unknown) and status (from the error)' },
  messages_received: { type: 'counter', help: 'deliveries, including redeliveries' },
  messages_redelivered: { type: 'counter', help: 'deliveries with attempt > 1' },
  messages_consumed: { type: 'counter', help: 'deliveries acknowledged by the consumer' },
  messages_nacked: { type: 'counter', help: 'deliveries the consumer failed (to be retried)' },
  messages_dead_lettered: { type: 'counter', help: 'deliveries failed on their last attempt (to the DLQ)' },
  consumer_crashes: { type: 'counter', help: 'consumer clients killed by crashAfter' },
  receive_calls: {
    type: 'counter',
    help: 'simple-consumer receive calls, tagged result ok or fail (a failed call or a client that failed to start)',
  },
  transactions_awaiting_check_back: {
    type: 'counter',
    help: 'transactions the broker is to check back (left open, or their end did not complete ok); Java driver',
  },
  transactions_checked_back: {
    type: 'counter',
    help: 'check-backs answered for those transactions; the drain waits until both counters are equal',
  },
  iterations: { type: 'counter', help: 'executor iterations started' },
  dropped_iterations: { type: 'counter', help: 'arrivals not started: every VU busy and maxVUs reached' },
  send_failed: { type: 'rate', help: 'share of sends not ok (fail or unknown)' },
  vus: { type: 'gauge', help: 'iterations in flight' },
};

const US_PER_MS = 1000;

interface TrendSeries {
  histogram: hdr.Histogram;
  minMs: number;
  maxMs: number;
  sumMs: number;
  count: number;
}

interface Series {
  name: string;
  tags: Tags;
  trend?: TrendSeries;
  counter?: number;
  /** Rate: how many true, of how many. */
  passes?: number;
  total?: number;
  gauge?: { value: number; min: number; max: number };
}

/** What a driver sends: the change since its previous snapshot. JSON-safe, for postMessage and NDJSON alike. */
export interface MetricsDelta {
  series: Array<{
    name: string;
    tags: Tags;
    /** Trend: HdrHistogram compressed base64 (microseconds) and exact stats in ms. */
    hdr?: string;
    minMs?: number;
    maxMs?: number;
    sumMs?: number;
    count?: number;
    /** Counter increment. */
    add?: number;
    /** Rate increments. */
    passes?: number;
    total?: number;
    /** Gauge: latest value. */
    value?: number;
  }>;
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 'packed', autoResize: true, numberOfSignificantValueDigits: 3 });
}

function seriesKey(name: string, tags: Tags): string {
  const parts = Object.keys(tags)
    .sort()
    .map((k) => `${k}:${tags[k]}`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

export class MetricRegistry {
  private readonly series = new Map<string, Series>();

  private get(name: string, tags: Tags): Series {
    const key = seriesKey(name, tags);
    let s = this.series.get(key);
    if (!s) {
      s = { name, tags: { ...tags } };
      this.series.set(key, s);
    }
    return s;
  }

  /** Records a duration in ms into a trend. */
  trend(name: string, valueMs: number, tags: Tags): void {
    const s = this.get(name, tags);
    s.trend ??= { histogram: newHistogram(), minMs: Number.POSITIVE_INFINITY, maxMs: 0, sumMs: 0, count: 0 };
    const t = s.trend;
    const v = Math.max(valueMs, 0);
    t.histogram.recordValue(Math.round(v * US_PER_MS));
    t.minMs = Math.min(t.minMs, v);
    t.maxMs = Math.max(t.maxMs, v);
    t.sumMs += v;
    t.count++;
  }

  count(name: string, tags: Tags, increment = 1): void {
    const s = this.get(name, tags);
    s.counter = (s.counter ?? 0) + increment;
  }

  rate(name: string, passed: boolean, tags: Tags): void {
    const s = this.get(name, tags);
    s.passes = (s.passes ?? 0) + (passed ? 1 : 0);
    s.total = (s.total ?? 0) + 1;
  }

  gauge(name: string, value: number, tags: Tags): void {
    const s = this.get(name, tags);
    s.gauge = s.gauge
      ? { value, min: Math.min(s.gauge.min, value), max: Math.max(s.gauge.max, value) }
      : { value, min: value, max: value };
  }

  /** Everything recorded since the last takeDelta(), then starts afresh (a driver's periodic snapshot). */
  takeDelta(): MetricsDelta {
    const out: MetricsDelta = { series: [] };
    for (const s of this.series.values()) {
      const item: MetricsDelta['series'][number] = { name: s.name, tags: s.tags };
      if (s.trend && s.trend.count > 0) {
        const t = s.trend;
        Object.assign(item, {
          hdr: hdr.encodeIntoCompressedBase64(t.histogram),
          minMs: t.minMs,
          maxMs: t.maxMs,
          sumMs: t.sumMs,
          count: t.count,
        });
        t.histogram.destroy();
      }
      if (s.counter) item.add = s.counter;
      if (s.total) Object.assign(item, { passes: s.passes, total: s.total });
      if (s.gauge) item.value = s.gauge.value;
      if (Object.keys(item).length > 2) out.series.push(item);
    }
    this.series.clear();
    return out;
  }

  /** Adds a driver's delta into this registry (the engine's merged view). */
  merge(delta: MetricsDelta): void {
    for (const item of delta.series) {
      const s = this.get(item.name, item.tags);
      if (item.hdr !== undefined && item.count) {
        const incoming = hdr.decodeFromCompressedBase64(item.hdr, 'packed', false);
        s.trend ??= { histogram: newHistogram(), minMs: Number.POSITIVE_INFINITY, maxMs: 0, sumMs: 0, count: 0 };
        s.trend.histogram.add(incoming);
        incoming.destroy();
        s.trend.minMs = Math.min(s.trend.minMs, item.minMs ?? 0);
        s.trend.maxMs = Math.max(s.trend.maxMs, item.maxMs ?? 0);
        s.trend.sumMs += item.sumMs ?? 0;
        s.trend.count += item.count;
      }
      if (item.add) s.counter = (s.counter ?? 0) + item.add;
      if (item.total) {
        s.passes = (s.passes ?? 0) + (item.passes ?? 0);
        s.total = (s.total ?? 0) + item.total;
      }
      if (item.value !== undefined) this.gauge(item.name, item.value, item.tags);
    }
  }

  /** Names of metrics with at least one series, and every distinct series key (for sub-metric listing). */
  names(): string[] {
    return [...new Set([...this.series.values()].map((s) => s.name))].sort();
  }

  /** True when some series of `name` matches the tag filter. */
  has(name: string, filter: Tags = {}): boolean {
    for (const _ of this.matching(name, filter)) return true;
    return false;
  }

  /** Sum of a counter over every series matching the tag filter. */
  total(name: string, filter: Tags = {}): number {
    let sum = 0;
    for (const s of this.matching(name, filter)) sum += s.counter ?? 0;
    return sum;
  }

  private *matching(name: string, filter: Tags): Iterable<Series> {
    for (const s of this.series.values()) if (s.name === name && tagsMatch(filter, s.tags)) yield s;
  }

  /**
   * The value of an aggregation over every series of `name` matching `filter` (a k6 sub-metric), or undefined when
   * there is none (then a threshold on it fails). elapsedMs turns counts into per-second rates.
   */
  aggregate(name: string, filter: Tags, aggregation: Aggregation, elapsedMs: number): number | undefined {
    const list = [...this.matching(name, filter)];
    if (list.length === 0) {
      // A known counter that never counted is 0 (k6 reports an empty counter as count=0); trends have no value.
      const counterAsked =
        METRICS[name]?.type === 'counter' && (aggregation.kind === 'count' || aggregation.kind === 'rate');
      return counterAsked ? 0 : undefined;
    }
    const type = METRICS[name]?.type ?? inferType(list);
    if (type === 'trend') return aggregateTrend(list, aggregation);
    if (type === 'counter') {
      const count = list.reduce((n, s) => n + (s.counter ?? 0), 0);
      if (aggregation.kind === 'count') return count;
      if (aggregation.kind === 'rate') return elapsedMs > 0 ? count / (elapsedMs / 1000) : undefined;
      return undefined;
    }
    if (type === 'rate') {
      const total = list.reduce((n, s) => n + (s.total ?? 0), 0);
      const passes = list.reduce((n, s) => n + (s.passes ?? 0), 0);
      if (aggregation.kind === 'rate') return total > 0 ? passes / total : undefined;
      if (aggregation.kind === 'count') return passes;
      if (aggregation.kind === 'value') return total;
      return undefined;
    }
    const gauges = list.map((s) => s.gauge).filter((g) => g !== undefined);
    if (gauges.length === 0) return undefined;
    if (aggregation.kind === 'value') return gauges.reduce((n, g) => n + g.value, 0);
    if (aggregation.kind === 'min') return Math.min(...gauges.map((g) => g.min));
    if (aggregation.kind === 'max') return gauges.reduce((n, g) => n + g.max, 0);
    return undefined;
  }
}

function inferType(list: Series[]): MetricType {
  const s = list[0] as Series;
  return s.trend ? 'trend' : s.total ? 'rate' : s.gauge ? 'gauge' : 'counter';
}

function aggregateTrend(list: Series[], aggregation: Aggregation): number | undefined {
  const trends = list.map((s) => s.trend).filter((t): t is TrendSeries => t !== undefined && t.count > 0);
  const count = trends.reduce((n, t) => n + t.count, 0);
  if (aggregation.kind === 'count') return count;
  if (count === 0) return undefined;
  switch (aggregation.kind) {
    case 'avg':
      return trends.reduce((n, t) => n + t.sumMs, 0) / count;
    case 'min':
      return Math.min(...trends.map((t) => t.minMs));
    case 'max':
      return Math.max(...trends.map((t) => t.maxMs));
    case 'med':
    case 'p': {
      const percentile = aggregation.kind === 'p' ? aggregation.percentile : 50;
      const merged = trends.length === 1 ? (trends[0] as TrendSeries).histogram : mergedHistogram(trends);
      const valueUs = merged.getValueAtPercentile(percentile);
      if (merged !== (trends[0] as TrendSeries).histogram) merged.destroy();
      return valueUs / US_PER_MS;
    }
    default:
      return undefined;
  }
}

function mergedHistogram(trends: TrendSeries[]): hdr.Histogram {
  const merged = newHistogram();
  for (const t of trends) merged.add(t.histogram);
  return merged;
}

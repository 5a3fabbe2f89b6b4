import * as hdr from 'hdr-histogram-js';
import type { LatencySummary, Timeline } from '../../reports/schema.ts';

/** A latency distribution in ms, kept as an HDR histogram of microseconds (3 significant digits). */
export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    useWebAssembly: false,
  });
  /** Values below zero (clock steps between hosts) are counted and left out. */
  negativeCount = 0;

  record(valueMs: number): void {
    if (!(valueMs >= 0)) {
      this.negativeCount++;
      return;
    }
    this.histogram.recordValue(Math.min(Math.round(valueMs * 1000), 3_600_000_000));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /**
   * HDR answers a percentile with the highest value equivalent to its bucket, which can exceed the largest value
   * recorded (p99.9 above max in a report); clamped to the recorded range, every output shows p <= max.
   */
  percentileMs(percentile: number): number | undefined {
    if (this.count === 0) return undefined;
    const value = this.histogram.getValueAtPercentile(percentile);
    return Math.max(this.minUs(), Math.min(value, this.histogram.maxValue)) / 1000;
  }

  /** The smallest value recorded, µs (HDR's minNonZeroValue is a huge sentinel when every value was 0). */
  private minUs(): number {
    const min = this.histogram.minNonZeroValue;
    return min > this.histogram.maxValue ? 0 : min;
  }

  summary(): LatencySummary | undefined {
    if (this.count === 0) return undefined;
    const p = (q: number) => this.percentileMs(q) as number;
    return {
      count: this.count,
      min: this.minUs() / 1000,
      avg: this.histogram.mean / 1000,
      med: p(50),
      max: this.histogram.maxValue / 1000,
      p90: p(90),
      p95: p(95),
      p99: p(99),
      p999: p(99.9),
    };
  }
}

/**
 * Per-bucket latency sketches for the charts: 128 log buckets from 10 µs growing by 15% (about ±7% error), enough
 * for a line of p50 / p99 over time at a fraction of an HDR histogram's size.
 */
const SKETCH_BINS = 128;
const SKETCH_BASE_MS = 0.01;
const SKETCH_GROWTH_LOG = Math.log(1.15);

function sketchBin(valueMs: number): number {
  if (!(valueMs > SKETCH_BASE_MS)) return 0;
  return Math.min(SKETCH_BINS - 1, Math.floor(Math.log(valueMs / SKETCH_BASE_MS) / SKETCH_GROWTH_LOG) + 1);
}

function sketchValueMs(bin: number): number {
  return bin === 0 ? SKETCH_BASE_MS : SKETCH_BASE_MS * Math.exp((bin - 0.5) * SKETCH_GROWTH_LOG);
}

/**
 * Series over time; buckets start at 250 ms (fine enough to time a recovery after a heal, harness/checks/liveness.ts)
 * and double (merging pairs) to keep at most `bucketsMax` of them.
 */
export class TimelineBuilder {
  bucketMs = 250;
  private readonly counters = {
    sendOk: [] as number[],
    sendFail: [] as number[],
    sendUnknown: [] as number[],
    received: [] as number[],
    acked: [] as number[],
  };
  private backlog: number[] = [];
  private brokerBacklog: (number | null)[] = [];
  private sendSketch: Uint32Array[] = [];
  private e2eSketch: Uint32Array[] = [];
  private buckets = 0;

  constructor(
    readonly startMs: number,
    private readonly bucketsMax = 1200,
  ) {}

  /** The bucket of a time, growing the series (and coarsening them when too many). */
  bucketOf(ts: number): number {
    let b = Math.max(0, Math.floor((ts - this.startMs) / this.bucketMs));
    while (b >= this.bucketsMax) {
      this.coarsen();
      b = Math.max(0, Math.floor((ts - this.startMs) / this.bucketMs));
    }
    while (this.buckets <= b) this.addBucket();
    return b;
  }

  count(series: keyof TimelineBuilder['counters'], ts: number): void {
    const b = this.bucketOf(ts);
    const arr = this.counters[series];
    arr[b] = (arr[b] as number) + 1;
  }

  sendLatency(ts: number, ms: number): void {
    const sketch = this.sendSketch[this.bucketOf(ts)] as Uint32Array;
    sketch[sketchBin(ms)] = (sketch[sketchBin(ms)] as number) + 1;
  }

  e2eLatency(ts: number, ms: number): void {
    const sketch = this.e2eSketch[this.bucketOf(ts)] as Uint32Array;
    sketch[sketchBin(ms)] = (sketch[sketchBin(ms)] as number) + 1;
  }

  /** The derived backlog after an event at ts (the last value in a bucket wins). */
  setBacklog(ts: number, value: number): void {
    this.backlog[this.bucketOf(ts)] = value;
  }

  setBrokerBacklog(ts: number, value: number): void {
    this.brokerBacklog[this.bucketOf(ts)] = value;
  }

  private addBucket(): void {
    for (const arr of Object.values(this.counters)) arr.push(0);
    this.backlog.push(Number.NaN);
    this.brokerBacklog.push(null);
    this.sendSketch.push(new Uint32Array(SKETCH_BINS));
    this.e2eSketch.push(new Uint32Array(SKETCH_BINS));
    this.buckets++;
  }

  private coarsen(): void {
    const half = Math.ceil(this.buckets / 2);
    const pairSum = (arr: number[]) =>
      Array.from({ length: half }, (_, i) => (arr[2 * i] ?? 0) + (arr[2 * i + 1] ?? 0));
    for (const key of Object.keys(this.counters) as (keyof TimelineBuilder['counters'])[]) {
      this.counters[key] = pairSum(this.counters[key]);
    }
    const lastOf = <T>(arr: T[], empty: (v: T) => boolean) =>
      Array.from({ length: half }, (_, i) => {
        const second = arr[2 * i + 1];
        return second === undefined || empty(second) ? (arr[2 * i] as T) : second;
      });
    this.backlog = lastOf(this.backlog, Number.isNaN);
    this.brokerBacklog = lastOf(this.brokerBacklog, (v) => v === null);
    const mergeSketches = (arr: Uint32Array[]) =>
      Array.from({ length: half }, (_, i) => {
        const merged = new Uint32Array(arr[2 * i] as Uint32Array);
        const second = arr[2 * i + 1];
        if (second) for (let k = 0; k < SKETCH_BINS; k++) merged[k] = (merged[k] as number) + (second[k] as number);
        return merged;
      });
    this.sendSketch = mergeSketches(this.sendSketch);
    this.e2eSketch = mergeSketches(this.e2eSketch);
    this.buckets = half;
    this.bucketMs *= 2;
  }

  build(): Timeline {
    // A bucket without backlog events keeps the previous bucket's value.
    const backlog: number[] = [];
    let last = 0;
    for (const v of this.backlog) {
      if (!Number.isNaN(v)) last = v;
      backlog.push(last);
    }
    const quantiles = (sketches: Uint32Array[], q: number) => sketches.map((s) => sketchQuantile(s, q));
    return {
      startMs: this.startMs,
      bucketMs: this.bucketMs,
      ...this.counters,
      backlog,
      brokerBacklog: this.brokerBacklog,
      sendP50Ms: quantiles(this.sendSketch, 0.5),
      sendP99Ms: quantiles(this.sendSketch, 0.99),
      e2eP50Ms: quantiles(this.e2eSketch, 0.5),
      e2eP99Ms: quantiles(this.e2eSketch, 0.99),
    };
  }
}

function sketchQuantile(sketch: Uint32Array, q: number): number | null {
  let total = 0;
  for (const c of sketch) total += c;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let bin = 0; bin < SKETCH_BINS; bin++) {
    seen += sketch[bin] as number;
    if (seen >= rank) return Math.round(sketchValueMs(bin) * 1000) / 1000;
  }
  return Math.round(sketchValueMs(SKETCH_BINS - 1) * 1000) / 1000;
}

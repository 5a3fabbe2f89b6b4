/**
 * Threshold evaluation, the end-of-run summary (k6's threshold table with ✓/✗ and its metric lines) and the live
 * progress line. The JSON summary (summary.json) follows k6's handleSummary `data` shape where it can:
 * `metrics[<name or name{tag:value}>] = { type, contains, values, thresholds: { '<expr>': { ok } } }`.
 */
import { formatDurationMs } from '../../lib/duration.ts';
import { evaluateThreshold, type MetricThresholds } from '../thresholds/index.ts';
import type { ExecutorResult } from './executors/index.ts';
import { METRICS, type MetricRegistry, type MetricType, type Tags } from './metrics.ts';

export interface ThresholdResult {
  /** `send_duration` or `send_duration{scenario:burst}`. */
  key: string;
  source: string;
  ok: boolean;
  /** The aggregated value the expression was checked against; undefined when there were no samples. */
  value: number | undefined;
  abortOnFail: boolean;
}

export function evaluateThresholds(
  registry: MetricRegistry,
  thresholds: readonly MetricThresholds[],
  elapsedMs: number,
): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const m of thresholds) {
    for (const t of m.thresholds) {
      const value = registry.aggregate(m.metric, m.tags, t.expr.aggregation, elapsedMs);
      const ok = evaluateThreshold(t.expr, () => value);
      results.push({ key: m.key, source: t.expr.source, ok, value, abortOnFail: t.abortOnFail });
    }
  }
  return results;
}

/** The first abortOnFail threshold that fails, once its delayAbortEval has passed (k6 semantics). */
export function thresholdToAbort(
  registry: MetricRegistry,
  thresholds: readonly MetricThresholds[],
  elapsedMs: number,
): ThresholdResult | undefined {
  for (const m of thresholds) {
    for (const t of m.thresholds) {
      if (!t.abortOnFail || elapsedMs < t.delayAbortEvalMs) continue;
      const value = registry.aggregate(m.metric, m.tags, t.expr.aggregation, elapsedMs);
      if (!evaluateThreshold(t.expr, () => value)) {
        return { key: m.key, source: t.expr.source, ok: false, value, abortOnFail: true };
      }
    }
  }
  return undefined;
}

export interface MetricSummary {
  type: MetricType;
  contains: 'time' | 'default';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface LoadSummary {
  version: 1;
  state: { startedMs: number; testRunDurationMs: number; aborted?: string };
  /** What ran: executor counters per scenario. */
  scenarios: Record<string, ExecutorResult & { role: string }>;
  metrics: Record<string, MetricSummary>;
  thresholds: ThresholdResult[];
  /** True when every threshold passed. */
  ok: boolean;
}

const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)'];

function metricValues(
  registry: MetricRegistry,
  name: string,
  tags: Tags,
  elapsedMs: number,
): Record<string, number> | undefined {
  const type = METRICS[name]?.type ?? 'counter';
  const stats =
    type === 'trend'
      ? [...TREND_STATS, 'count']
      : type === 'counter'
        ? ['count', 'rate']
        : type === 'rate'
          ? ['rate', 'count', 'value']
          : ['value', 'min', 'max'];
  const values: Record<string, number> = {};
  for (const stat of stats) {
    const p = /^p\((.+)\)$/.exec(stat);
    const aggregation = p ? { kind: 'p' as const, percentile: Number(p[1]) } : { kind: stat as 'avg' };
    const v = registry.aggregate(name, tags, aggregation, elapsedMs);
    if (v !== undefined) values[stat] = v;
  }
  return Object.keys(values).length ? values : undefined;
}

export function buildSummary(input: {
  registry: MetricRegistry;
  thresholds: readonly MetricThresholds[];
  startedMs: number;
  elapsedMs: number;
  scenarios: LoadSummary['scenarios'];
  aborted?: string;
}): LoadSummary {
  const { registry, elapsedMs } = input;
  const thresholdResults = evaluateThresholds(registry, input.thresholds, elapsedMs);
  const metrics: Record<string, MetricSummary> = {};
  const add = (key: string, name: string, tags: Tags, force = false) => {
    if (!force && !registry.has(name, tags)) return;
    const values = metricValues(registry, name, tags, elapsedMs);
    if (!values) return;
    const type = METRICS[name]?.type ?? 'counter';
    metrics[key] = { type, contains: METRICS[name]?.time ? 'time' : 'default', values };
  };
  for (const name of registry.names()) add(name, name, {});
  const scenarioNames = Object.keys(input.scenarios);
  if (scenarioNames.length > 1) {
    for (const name of registry.names())
      for (const sc of scenarioNames) add(`${name}{scenario:${sc}}`, name, { scenario: sc });
  }
  for (const m of input.thresholds) {
    if (!metrics[m.key]) add(m.key, m.metric, m.tags, true);
    metrics[m.key] ??= { type: METRICS[m.metric]?.type ?? 'counter', contains: 'default', values: {} };
    const entry = metrics[m.key] as MetricSummary;
    entry.thresholds = {};
    for (const r of thresholdResults.filter((x) => x.key === m.key)) entry.thresholds[r.source] = { ok: r.ok };
  }
  return {
    version: 1,
    state: {
      startedMs: input.startedMs,
      testRunDurationMs: elapsedMs,
      ...(input.aborted ? { aborted: input.aborted } : {}),
    },
    scenarios: input.scenarios,
    metrics,
    thresholds: thresholdResults,
    ok: thresholdResults.every((r) => r.ok),
  };
}

function formatValue(stat: string, value: number, time: boolean): string {
  if (stat === 'count') return String(Math.round(value));
  if (stat === 'rate') return time ? value.toFixed(2) : `${value.toFixed(2)}/s`;
  if (!time) return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (value < 1) return `${(value * 1000).toFixed(0)}µs`;
  if (value < 1000) return `${value.toFixed(2)}ms`;
  return formatDurationMs(value);
}

/** k6's end-of-test summary: the threshold table, then one line per metric. */
export function formatSummary(summary: LoadSummary, options: { color: boolean }): string {
  const paint = (code: number, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  if (summary.thresholds.length > 0) {
    lines.push('  █ THRESHOLDS', '');
    let lastKey = '';
    for (const r of summary.thresholds) {
      if (r.key !== lastKey) lines.push(`    ${r.key}`);
      lastKey = r.key;
      const time = METRICS[r.key.replace(/\{.*$/, '')]?.time ?? false;
      const shown = r.value === undefined ? 'no samples' : formatValue('x', r.value, time);
      const mark = r.ok ? paint(32, '✓') : paint(31, '✗');
      lines.push(`    ${mark} '${r.source}' ${aggregationLabel(r.source)}=${shown}`);
    }
    lines.push('');
  }
  lines.push('  █ TOTAL RESULTS', '');
  const keys = Object.keys(summary.metrics).sort();
  const width = Math.max(...keys.map((k) => k.length), 10) + 3;
  for (const key of keys) {
    const m = summary.metrics[key] as MetricSummary;
    const time = m.contains === 'time';
    const parts =
      m.type === 'rate'
        ? [`${((m.values.rate ?? 0) * 100).toFixed(2)}%`, `${m.values.count ?? 0} out of ${m.values.value ?? 0}`]
        : Object.entries(m.values).map(([stat, v]) =>
            m.type === 'trend' ? `${stat}=${formatValue(stat, v, time)}` : formatValue(stat, v, time),
          );
    const mark = m.thresholds ? (Object.values(m.thresholds).every((t) => t.ok) ? '✓ ' : '✗ ') : '  ';
    lines.push(`    ${mark}${key.padEnd(width, '.')}: ${parts.join(' ')}`);
  }
  lines.push(
    '',
    `  run ${formatDurationMs(summary.state.testRunDurationMs)}${summary.state.aborted ? `, aborted: ${summary.state.aborted}` : ''}`,
  );
  return lines.join('\n');
}

function aggregationLabel(source: string): string {
  const m = /^\s*(p\s*\([^)]*\)|[a-z]+)/.exec(source);
  return m ? (m[1] as string).replace(/\s+/g, '') : 'value';
}

/** One progress line: `running 0m12s  sent 1200 (100/s) ok 1199 fail 0 unknown 0  received 1150  dropped 0`. */
export function formatProgress(
  registry: MetricRegistry,
  elapsedMs: number,
  intervalRates: { sentPerS: number; receivedPerS: number },
): string {
  const n = (name: string) => registry.total(name);
  return (
    `running ${formatDurationMs(elapsedMs)}  sent ${n('messages_sent')} (${intervalRates.sentPerS.toFixed(0)}/s) ` +
    `ok ${n('messages_acked')} fail ${n('messages_failed')} unknown ${n('messages_unknown')}  ` +
    `received ${n('messages_received')} (${intervalRates.receivedPerS.toFixed(0)}/s) ` +
    `redelivered ${n('messages_redelivered')} dlq ${n('messages_dead_lettered')}  dropped ${n('dropped_iterations')}`
  );
}

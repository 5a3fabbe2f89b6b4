import type { GateReport } from '../../reports/schema.ts';
import {
  type Aggregation,
  aggregationName,
  evaluateThreshold,
  parseThresholdExpression,
  type ThresholdExpr,
} from '../thresholds/index.ts';
import { ANOMALY_NAMES, type AnomalyName } from './anomalies.ts';
import type { CheckResult } from './engine.ts';

/**
 * Gates: SLOs over a check's results, written as in k6 (`p(99)<200`) plus a short form for anomalies and the drain.
 * A gates file is JSON, either a list of strings or an object of metric -> expression(s):
 *
 *   ["lost == 0", "duplicate.rate < 0.01", "drain < 60s", "send_duration: p(99)<200"]
 *   {"lost": "== 0", "duplicate": ["rate < 0.01"], "drain": "< 60s", "e2e_latency": ["p(99)<1s", "avg<100"]}
 *
 * Metrics: every anomaly name (value/count = its count, rate = count / checked) except that `drain` alone is the drain
 * duration in ms (`drain.count` is the anomaly's count), the latencies
 * `send_duration`, `e2e_latency`, `send_delay`, `ack_duration` (avg, min, max, med, p(N), count; ms) and every
 * count in the report (`sends_ok`, `deliveries`, ...). Durations may be written 200ms, 1s, 1m30s.
 */
export interface Gate {
  source: string;
  metric: string;
  expr: ThresholdExpr;
}

const LATENCY_METRICS = new Set(['send_duration', 'e2e_latency', 'send_delay', 'ack_duration']);
const ALIASES: Record<string, string> = { end_to_end: 'e2e_latency', e2e: 'e2e_latency', latency: 'send_duration' };
const SHORT_FORM = /^\s*([A-Za-z_][\w-]*)(?:\.(p\([^)]*\)|[a-z]+))?\s*((?:[<>!=]=?=?).*)$/;

/** Parses a gates file's JSON; every problem is collected (k6's Validate() []error style). */
export function parseGates(config: unknown): { gates: Gate[]; errors: string[] } {
  const gates: Gate[] = [];
  const errors: string[] = [];
  const add = (source: string, metric: string, expression: string, path: string) => {
    const name = ALIASES[metric] ?? metric;
    try {
      gates.push({ source, metric: name, expr: parseThresholdExpression(expression) });
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message}`);
    }
  };
  if (Array.isArray(config)) {
    config.forEach((item, index) => {
      const path = `gates[${index}]`;
      if (typeof item !== 'string') {
        errors.push(`${path}: must be a string such as "lost == 0"`);
        return;
      }
      const split = splitGateString(item);
      if (split === undefined) {
        errors.push(`${path}: "${item}" is not "<metric>[.<aggregation>] <op> <value>"`);
        return;
      }
      add(item, split.metric, split.expression, path);
    });
  } else if (typeof config === 'object' && config !== null) {
    for (const [metric, value] of Object.entries(config)) {
      const items = Array.isArray(value) ? value : [value];
      items.forEach((item: unknown, index: number) => {
        const path = `gates[${JSON.stringify(metric)}][${index}]`;
        if (typeof item !== 'string') {
          errors.push(`${path}: must be a string such as "p(99)<200" or "== 0"`);
          return;
        }
        const expression = /^\s*[<>!=]/.test(item) ? `value${item.trim()}` : item;
        add(`${metric}: ${item}`, metric, expression, path);
      });
    }
  } else {
    errors.push('gates: must be a JSON list of strings or an object of metric -> expressions');
  }
  for (const gate of gates) {
    if (!isKnownMetricName(gate.metric)) {
      errors.push(
        `gate "${gate.source}": unknown metric "${gate.metric}" ` +
          `(gates read the anomalies ${ANOMALY_NAMES.join(', ')}; ` +
          `the latencies ${[...LATENCY_METRICS].join(', ')}; and the counts sends_ok, deliveries, ...)`,
      );
      continue;
    }
    const allowed = aggregationsOf(gate.metric);
    if (!allowed.includes(gate.expr.aggregation.kind)) {
      errors.push(
        `gate "${gate.source}": ${gate.metric} has no ${aggregationName(gate.expr.aggregation)} ` +
          `(use ${allowed.map((a) => (a === 'p' ? 'p(N)' : a)).join(', ')})`,
      );
    }
  }
  return { gates, errors };
}

/** The aggregations a gate metric has: anything else could never be measured, so it is refused when parsed. */
function aggregationsOf(metric: string): readonly string[] {
  if (LATENCY_METRICS.has(metric)) return ['avg', 'min', 'max', 'med', 'p', 'count'];
  if ((ANOMALY_NAMES as readonly string[]).includes(metric)) return ['value', 'count', 'rate'];
  return ['value', 'count'];
}

function splitGateString(text: string): { metric: string; expression: string } | undefined {
  const colon = text.indexOf(':');
  if (colon > 0 && !/[<>=!]/.test(text.slice(0, colon))) {
    return { metric: text.slice(0, colon).trim(), expression: text.slice(colon + 1).trim() };
  }
  const m = SHORT_FORM.exec(text);
  if (!m) return undefined;
  return { metric: m[1] as string, expression: `${m[2] ?? 'value'}${m[3]}` };
}

/** Names checked when parsing; counts are open-ended (any `sends_*`, `acks_*`, ... key) so they are accepted. */
function isKnownMetricName(metric: string): boolean {
  return (
    (ANOMALY_NAMES as readonly string[]).includes(metric) ||
    LATENCY_METRICS.has(metric) ||
    /^((sends|acks|receives)(_(ok|fail|unknown))?|deliveries|redeliveries|nacks|messages|groups)$/.test(metric)
  );
}

/** Evaluates every gate against a check result. A gate on an anomaly whose verdict is unknown is unknown. */
export function evaluateGates(gates: Gate[], result: CheckResult): GateReport[] {
  return gates.map((gate) => {
    const expression = `${aggregationName(gate.expr.aggregation)}${gate.expr.op}${gate.expr.value}`;
    const base = { source: gate.source, metric: gate.metric, expression };
    const anomaly = result.anomalies.find((a) => a.name === gate.metric);
    if (anomaly !== undefined && anomaly.verdict === 'unknown') {
      return { ...base, status: 'unknown', note: `the ${anomaly.name} check could not decide` };
    }
    const actual = metricValue(result, gate.metric, gate.expr.aggregation);
    if (actual === undefined) return { ...base, status: 'unknown', note: `no ${gate.metric} ${expression} measured` };
    const ok = evaluateThreshold(gate.expr, () => actual);
    return { ...base, actual, status: ok ? 'pass' : 'fail' };
  });
}

function metricValue(result: CheckResult, metric: string, aggregation: Aggregation): number | undefined {
  if (metric === 'drain' && aggregation.kind === 'value') return result.drainMs;
  const anomaly = result.anomalies.find((a) => a.name === (metric as AnomalyName));
  if (anomaly !== undefined) {
    if (aggregation.kind === 'rate') return anomaly.rate;
    return aggregation.kind === 'count' || aggregation.kind === 'value' ? anomaly.count : undefined;
  }
  if (LATENCY_METRICS.has(metric)) {
    const recorder = result.latencyRecorders[metric];
    if (recorder === undefined || recorder.count === 0) return undefined;
    const summary = recorder.summary();
    switch (aggregation.kind) {
      case 'p':
        return recorder.percentileMs(aggregation.percentile);
      case 'avg':
      case 'min':
      case 'max':
      case 'med':
      case 'count':
        return summary?.[aggregation.kind];
      default:
        return undefined;
    }
  }
  if (aggregation.kind === 'count' || aggregation.kind === 'value') return result.counts[metric] ?? 0;
  return undefined;
}

/**
 * k6 threshold expressions and threshold configuration, kept in k6's syntax because users know it
 * (https://grafana.com/docs/k6/latest/using-k6/thresholds/):
 *
 *   thresholds: {
 *     send_duration: ['p(99)<50', 'avg<10'],
 *     'send_duration{scenario:burst}': [{ threshold: 'p(99)<80', abortOnFail: true, delayAbortEval: '10s' }],
 *   }
 *
 * An expression is `<aggregation> <op> <value>`: aggregations avg, min, max, med, count, rate, value and p(N);
 * operators < <= > >= == != ===; the value a number or a duration literal (`200ms`, `1s`, `1m30s`) in milliseconds.
 * The load engine, the checker's gates and the reports all use this one parser.
 */
import { parseDurationMs } from '../../lib/duration.ts';

export type Aggregation =
  | { kind: 'avg' | 'min' | 'max' | 'med' | 'count' | 'rate' | 'value' }
  | { kind: 'p'; percentile: number };

export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==' | '!=' | '===';

export type ThresholdExpr = {
  source: string;
  aggregation: Aggregation;
  op: ThresholdOp;
  value: number;
};

const PLAIN_AGGREGATIONS = new Set(['avg', 'min', 'max', 'med', 'count', 'rate', 'value']);
/** Longest first, so `<=` is not read as `<` followed by `=`. */
const OPS: readonly ThresholdOp[] = ['===', '==', '!=', '<=', '>=', '<', '>'];
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function fail(source: string, column: number, problem: string): never {
  const pointer = `${' '.repeat(column + 1)}^`;
  throw new Error(`invalid threshold "${source}": ${problem} (at column ${column + 1})\n  "${source}"\n  ${pointer}`);
}

/** Parses one k6 threshold expression such as `p(99.9) < 200` or `rate<0.01`; throws with a pointer at the problem. */
export function parseThresholdExpression(source: string): ThresholdExpr {
  if (typeof source !== 'string') throw new Error(`invalid threshold ${JSON.stringify(source)}: must be a string`);
  let pos = 0;
  const skipSpaces = () => {
    while (pos < source.length && /\s/.test(source[pos] as string)) pos++;
  };
  skipSpaces();
  if (pos === source.length) fail(source, 0, 'empty expression; expected e.g. "p(99)<50"');
  const nameMatch = /^[a-z]+/i.exec(source.slice(pos));
  if (!nameMatch) fail(source, pos, 'expected an aggregation: avg, min, max, med, count, rate, value or p(N)');
  const name = nameMatch[0];
  const nameStart = pos;
  pos += name.length;
  let aggregation: Aggregation;
  if (name === 'p') {
    skipSpaces();
    if (source[pos] !== '(') fail(source, pos, 'expected "(" after p, as in p(99)');
    const close = source.indexOf(')', pos);
    if (close < 0) fail(source, source.length - 1, 'expected ")" to close p(');
    const inner = source.slice(pos + 1, close).trim();
    const percentile = Number(inner);
    if (!NUMBER.test(inner) || !(percentile >= 0 && percentile <= 100)) {
      fail(source, pos + 1, `percentile "${inner}" must be a number from 0 to 100`);
    }
    aggregation = { kind: 'p', percentile };
    pos = close + 1;
  } else if (PLAIN_AGGREGATIONS.has(name)) {
    aggregation = { kind: name as 'avg' };
  } else {
    fail(source, nameStart, `unknown aggregation "${name}"; expected avg, min, max, med, count, rate, value or p(N)`);
  }
  skipSpaces();
  const op = OPS.find((o) => source.startsWith(o, pos));
  if (!op) fail(source, pos, 'expected an operator: <, <=, >, >=, ==, != or ===');
  pos += op.length;
  skipSpaces();
  const valueStart = pos;
  const literal = source.slice(pos).trim();
  if (literal === '') fail(source, pos, 'expected a value after the operator');
  const value = parseValue(literal);
  if (value === undefined) {
    fail(source, valueStart, `value "${literal}" must be a number or a duration such as 200ms or 1s`);
  }
  return { source, aggregation, op, value };
}

function parseValue(literal: string): number | undefined {
  if (NUMBER.test(literal)) return Number(literal);
  if (!/^\d/.test(literal)) return undefined;
  try {
    return parseDurationMs(literal);
  } catch {
    return undefined;
  }
}

/** True when the threshold holds. An aggregation with no value (no samples, unknown metric) fails the threshold. */
export function evaluateThreshold(
  expr: ThresholdExpr,
  aggregatedValue: (aggregation: Aggregation) => number | undefined,
): boolean {
  const actual = aggregatedValue(expr.aggregation);
  if (actual === undefined || Number.isNaN(actual)) return false;
  switch (expr.op) {
    case '<':
      return actual < expr.value;
    case '<=':
      return actual <= expr.value;
    case '>':
      return actual > expr.value;
    case '>=':
      return actual >= expr.value;
    case '==':
    case '===':
      return actual === expr.value;
    case '!=':
      return actual !== expr.value;
  }
}

/** The aggregation's name as k6 prints it in summaries: `p(99)`, `avg`, ... */
export function aggregationName(aggregation: Aggregation): string {
  return aggregation.kind === 'p' ? `p(${aggregation.percentile})` : aggregation.kind;
}

/** One threshold of a metric, after parsing the config (string or object form). */
export interface Threshold {
  expr: ThresholdExpr;
  abortOnFail: boolean;
  /** How long after the run starts abortOnFail is first evaluated (k6's delayAbortEval). */
  delayAbortEvalMs: number;
}

/** All thresholds on one metric or sub-metric, e.g. `send_duration{scenario:burst}`. */
export interface MetricThresholds {
  /** The key as written in the config: `send_duration{scenario:burst}`. */
  key: string;
  metric: string;
  /** Sub-metric tag filter; empty for the whole metric. */
  tags: Record<string, string>;
  thresholds: Threshold[];
}

export type ThresholdConfig = Record<
  string,
  ReadonlyArray<string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string | number }>
>;

const METRIC_KEY = /^([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:\{(.*)\})?$/s;

/** Splits `send_duration{scenario:burst,topic:"orders"}` into the metric name and its tag filter. */
export function parseMetricKey(key: string): { metric: string; tags: Record<string, string> } {
  const m = METRIC_KEY.exec(key.trim());
  if (!m) {
    throw new Error(`invalid metric "${key}": expected a name such as send_duration, optionally with {tag:value,...}`);
  }
  const tags: Record<string, string> = {};
  const body = m[2];
  if (body !== undefined) {
    if (body.trim() === '') throw new Error(`invalid metric "${key}": empty tag list "{}"`);
    for (const part of body.split(',')) {
      const colon = part.indexOf(':');
      if (colon < 0) throw new Error(`invalid metric "${key}": tag "${part.trim()}" must be written name:value`);
      const name = part.slice(0, colon).trim();
      const value = part
        .slice(colon + 1)
        .trim()
        .replace(/^(["'])(.*)\1$/, '$2');
      if (name === '' || value === '') throw new Error(`invalid metric "${key}": tag "${part.trim()}" is incomplete`);
      if (name in tags) throw new Error(`invalid metric "${key}": tag "${name}" given twice`);
      tags[name] = value;
    }
  }
  return { metric: m[1] as string, tags };
}

/**
 * Parses a k6 `thresholds` object. Every problem is collected (k6's `Validate() []error` style) with a path such as
 * `thresholds["send_duration"][1]`; the caller reports them all at once.
 */
export function parseThresholdConfig(
  config: unknown,
  pathPrefix = 'thresholds',
): { thresholds: MetricThresholds[]; errors: string[] } {
  const errors: string[] = [];
  const thresholds: MetricThresholds[] = [];
  if (config === undefined) return { thresholds, errors };
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return { thresholds, errors: [`${pathPrefix}: must be an object of metric name -> list of thresholds`] };
  }
  for (const [key, list] of Object.entries(config)) {
    const path = `${pathPrefix}[${JSON.stringify(key)}]`;
    let parsedKey: { metric: string; tags: Record<string, string> };
    try {
      parsedKey = parseMetricKey(key);
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message}`);
      continue;
    }
    const items = typeof list === 'string' ? [list] : list;
    if (!Array.isArray(items)) {
      errors.push(`${path}: must be a list of thresholds, e.g. ['p(99)<50']`);
      continue;
    }
    const entry: MetricThresholds = { key, ...parsedKey, thresholds: [] };
    items.forEach((item: unknown, index: number) => {
      const threshold = parseThresholdItem(item, `${path}[${index}]`, errors);
      if (threshold) entry.thresholds.push(threshold);
    });
    thresholds.push(entry);
  }
  return { thresholds, errors };
}

const OBJECT_KEYS = new Set(['threshold', 'abortOnFail', 'delayAbortEval']);

function parseThresholdItem(item: unknown, path: string, errors: string[]): Threshold | undefined {
  if (typeof item === 'string') {
    try {
      return { expr: parseThresholdExpression(item), abortOnFail: false, delayAbortEvalMs: 0 };
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message}`);
      return undefined;
    }
  }
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    errors.push(`${path}: must be a string such as 'p(99)<50' or {threshold, abortOnFail, delayAbortEval}`);
    return undefined;
  }
  const obj = item as Record<string, unknown>;
  const before = errors.length;
  for (const k of Object.keys(obj)) {
    if (!OBJECT_KEYS.has(k))
      errors.push(`${path}.${k}: unknown option (expected threshold, abortOnFail, delayAbortEval)`);
  }
  let expr: ThresholdExpr | undefined;
  if (typeof obj.threshold !== 'string') {
    errors.push(`${path}.threshold: is required and must be a string such as 'p(99)<50'`);
  } else {
    try {
      expr = parseThresholdExpression(obj.threshold);
    } catch (err) {
      errors.push(`${path}.threshold: ${(err as Error).message}`);
    }
  }
  if (obj.abortOnFail !== undefined && typeof obj.abortOnFail !== 'boolean') {
    errors.push(`${path}.abortOnFail: must be true or false`);
  }
  let delayAbortEvalMs = 0;
  if (obj.delayAbortEval !== undefined) {
    try {
      delayAbortEvalMs = parseDurationMs(obj.delayAbortEval as string | number);
    } catch (err) {
      errors.push(`${path}.delayAbortEval: ${(err as Error).message}`);
    }
  }
  if (!expr || errors.length > before) return undefined;
  return { expr, abortOnFail: obj.abortOnFail === true, delayAbortEvalMs };
}

/** True when a sample's tags match a sub-metric's tag filter (every filter tag present with the same value). */
export function tagsMatch(filter: Record<string, string>, tags: Record<string, string | undefined>): boolean {
  for (const [name, value] of Object.entries(filter)) if (tags[name] !== value) return false;
  return true;
}

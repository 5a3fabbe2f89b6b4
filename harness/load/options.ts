/**
 * The scenario module format. A scenario is a TypeScript module exporting `options` shaped like k6's
 * (https://grafana.com/docs/k6/latest/using-k6/scenarios/), with two mqdrill additions per scenario: its `role`
 * (producer or consumer) and either a `message` spec or a `consumer` behaviour. docs/load.md has the full reference.
 *
 *   export const options = {
 *     scenarios: {
 *       orders: { executor: 'constant-arrival-rate', rate: 200, duration: '1m', preAllocatedVUs: 50,
 *                 role: 'producer', message: { type: 'NORMAL', topic: 'orders', bodySizeBytes: 1024 } },
 *       billing: { executor: 'constant-vus', vus: 2, duration: '1m', role: 'consumer',
 *                  consumer: { group: 'billing', topic: 'orders', kind: 'simple' } },
 *     },
 *     thresholds: { send_duration: ['p(99)<50'] },
 *   };
 *
 * validateOptions() checks everything and returns every problem at once (k6's `Validate() []error`); the result is a
 * normalised LoadPlan with every duration in milliseconds, which is what drivers receive.
 */
import { formatDurationMs } from '../../lib/duration.ts';
import { aggregationName, type MetricThresholds, parseThresholdConfig } from '../thresholds/index.ts';
import { METRICS, type MetricType } from './metrics.ts';
import { Problems } from './validate.ts';

export const EXECUTORS = [
  'constant-arrival-rate',
  'ramping-arrival-rate',
  'constant-vus',
  'ramping-vus',
  'per-vu-iterations',
  'shared-iterations',
] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface Stage {
  target: number;
  durationMs: number;
}

interface ScheduleCommon {
  startTimeMs: number;
  gracefulStopMs: number;
}

export type Schedule = ScheduleCommon &
  (
    | {
        executor: 'constant-arrival-rate';
        rate: number;
        timeUnitMs: number;
        durationMs: number;
        preAllocatedVUs: number;
        maxVUs: number;
      }
    | {
        executor: 'ramping-arrival-rate';
        startRate: number;
        timeUnitMs: number;
        stages: Stage[];
        preAllocatedVUs: number;
        maxVUs: number;
      }
    | { executor: 'constant-vus'; vus: number; durationMs: number }
    | { executor: 'ramping-vus'; startVUs: number; stages: Stage[]; gracefulRampDownMs: number }
    | { executor: 'per-vu-iterations'; vus: number; iterations: number; maxDurationMs: number }
    | { executor: 'shared-iterations'; vus: number; iterations: number; maxDurationMs: number }
  );

/** A number drawn per message: sizes in bytes, times in milliseconds. */
export type Distribution =
  | { distribution: 'constant'; value: number }
  | { distribution: 'uniform'; min: number; max: number }
  | { distribution: 'normal'; mean: number; stddev: number; min: number; max: number }
  | { distribution: 'exponential'; mean: number; max: number };

export interface KeySpec {
  /** How many distinct keys (message groups for FIFO). */
  count: number;
  distribution: 'uniform' | 'zipf';
  /** Zipf exponent s (weight of key k is 1/k^s). */
  exponent: number;
  prefix: string;
}

export const MESSAGE_TYPES = ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface MessageSpec {
  type: MessageType;
  topic: string;
  /** One is picked uniformly per message; empty for no tag. */
  tags: string[];
  /** Message keys; for FIFO the key is also the message group. Absent: a key per message (its harness id). */
  keys: KeySpec | undefined;
  bodySizeBytes: Distribution;
  /** DELAY only: how far in the future the delivery time is. */
  delayMs: Distribution | undefined;
  /** TRANSACTION only: shares of each outcome, summing to 1. `unknown` leaves the transaction for check-back. */
  transaction: { commit: number; rollback: number; unknown: number } | undefined;
  properties: Record<string, string>;
  /** Per-send timeout; a send that times out is recorded as `unknown`. */
  sendTimeoutMs: number;
  /** Share of messages marked poison (user property mqd_poison=1): every consumer fails them, so they dead-letter. */
  poisonShare: number;
  /**
   * How the application sends: `sync` (wait for each send) or `async` (a send callback). The remoting Java driver
   * (DefaultMQProducer) honours it; the gRPC clients' sends are asynchronous underneath either way.
   */
  sendMode?: 'sync' | 'async';
}

export const SEND_MODES = ['sync', 'async'] as const;

export interface ConsumerBehaviour {
  group: string;
  topic: string;
  kind: 'simple' | 'push';
  filter: { type: 'TAG' | 'SQL92'; expression: string };
  processingTimeMs: Distribution;
  /** Share of deliveries that fail once (transiently) and are retried by the broker. */
  failureShare: number;
  /**
   * Poison messages fail on every delivery: those the producer marked (mqd_poison=1, what the dead-letter check
   * knows about), plus a share chosen by a hash of the harness id, plus those with one of these tags.
   */
  poison: { share: number; tags: string[] };
  /** SimpleConsumer: how long a failed message stays invisible before it is redelivered. */
  retryDelayMs: number;
  /** The consumer client dies abruptly (in-flight messages unacked) after this many messages, then restarts. */
  crashAfterMessages: number | undefined;
  restartDelayMs: number;
  invisibleDurationMs: number;
  /** SimpleConsumer: messages per receive call, and the long-polling wait. */
  receiveBatchSize: number;
  awaitDurationMs: number;
  /** The group's max delivery attempts, to count a failing last attempt as dead-lettered. */
  maxAttempts: number | undefined;
  /**
   * After the drain, read %DLQ%<group> with this (pre-created) consumer group and write a `dlq` ledger record per
   * message, so the dead-letter check can decide. Absent: no scan.
   */
  deadLetterScanGroup: string | undefined;
}

export interface ScenarioPlan {
  name: string;
  role: 'producer' | 'consumer';
  schedule: Schedule;
  message: MessageSpec | undefined;
  consumer: ConsumerBehaviour | undefined;
  tags: Record<string, string>;
  /** How many driver workers share this scenario (k6 execution segments). */
  workers: number;
}

export interface LoadPlan {
  scenarios: ScenarioPlan[];
  thresholds: MetricThresholds[];
  seed: number;
  /** After producers finish, consumers run until nothing arrived for drainIdleMs, or drainTimeoutMs passes. */
  drainIdleMs: number;
  drainTimeoutMs: number;
  ledger: boolean;
}

export class InvalidOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `invalid load options (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
    );
    this.name = 'InvalidOptionsError';
  }
}

export const TOP_LEVEL = ['scenarios', 'thresholds', 'seed', 'drain', 'ledger'];
export const COMMON = ['executor', 'startTime', 'gracefulStop', 'tags', 'role', 'message', 'consumer', 'workers'];
export const EXECUTOR_OPTIONS: Record<ExecutorName, readonly string[]> = {
  'constant-arrival-rate': ['rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs'],
  'ramping-arrival-rate': ['startRate', 'timeUnit', 'stages', 'preAllocatedVUs', 'maxVUs'],
  'constant-vus': ['vus', 'duration'],
  'ramping-vus': ['startVUs', 'stages', 'gracefulRampDown'],
  'per-vu-iterations': ['vus', 'iterations', 'maxDuration'],
  'shared-iterations': ['vus', 'iterations', 'maxDuration'],
};
const SCENARIO_NAME = /^[A-Za-z0-9_-]+$/;

/** Validates k6-shaped options; returns the normalised plan or every problem found. */
export function validateOptions(options: unknown): { plan: LoadPlan | undefined; errors: string[] } {
  const p = new Problems();
  const top = p.object('options', options, TOP_LEVEL);
  const scenarios: ScenarioPlan[] = [];
  const rawScenarios = top?.scenarios;
  if (top && rawScenarios === undefined) p.add('scenarios', 'is required (at least one scenario)');
  if (rawScenarios !== undefined) {
    const record = p.object('scenarios', rawScenarios, Object.keys(rawScenarios as object));
    if (record && Object.keys(record).length === 0) p.add('scenarios', 'must have at least one scenario');
    for (const [name, raw] of Object.entries(record ?? {})) {
      if (!SCENARIO_NAME.test(name)) p.add(`scenarios.${name}`, 'name may contain only letters, digits, _ and -');
      const scenario = validateScenario(p, name, raw);
      if (scenario) scenarios.push(scenario);
    }
  }
  const parsedThresholds = parseThresholdConfig(top?.thresholds);
  for (const message of parsedThresholds.errors) p.messages.push(message);
  for (const message of thresholdMetricErrors(parsedThresholds.thresholds)) p.messages.push(message);
  const seed = p.number('seed', top?.seed, { integer: true, fallback: 1 }) ?? 1;
  const drain = top?.drain === undefined ? {} : p.object('drain', top.drain, ['idle', 'timeout']);
  const drainIdleMs = p.duration('drain.idle', drain?.idle, { fallbackMs: 5000, positive: true }) ?? 5000;
  const drainTimeoutMs = p.duration('drain.timeout', drain?.timeout, { fallbackMs: 120_000, positive: true }) ?? 0;
  const ledger = p.boolean('ledger', top?.ledger, true);
  if (p.messages.length > 0) return { plan: undefined, errors: p.messages };
  return {
    plan: { scenarios, thresholds: parsedThresholds.thresholds, seed, drainIdleMs, drainTimeoutMs, ledger },
    errors: [],
  };
}

/** The aggregations each metric type has (as k6 checks them): anything else could never be measured. */
const AGGREGATIONS: Record<MetricType, readonly string[]> = {
  trend: ['avg', 'min', 'max', 'med', 'p', 'count'],
  counter: ['count', 'rate'],
  rate: ['rate', 'count', 'value'],
  gauge: ['value', 'min', 'max'],
};

/**
 * A threshold on a metric the engine never records, or with an aggregation its type does not have, would run the
 * whole load and then fail for want of a value: refuse it before anything boots.
 */
export function thresholdMetricErrors(thresholds: readonly MetricThresholds[]): string[] {
  const errors: string[] = [];
  const known = Object.keys(METRICS).join(', ');
  for (const t of thresholds) {
    const metric = METRICS[t.metric];
    if (metric === undefined) {
      errors.push(
        `thresholds[${JSON.stringify(t.key)}]: unknown metric "${t.metric}" (the load engine records ${known})`,
      );
      continue;
    }
    for (const { expr } of t.thresholds) {
      const allowed = AGGREGATIONS[metric.type];
      if (allowed.includes(expr.aggregation.kind)) continue;
      errors.push(
        `thresholds[${JSON.stringify(t.key)}]: "${expr.source}": ${t.metric} is a ${metric.type}, which has no ` +
          `${aggregationName(expr.aggregation)} (use ${allowed.map((a) => (a === 'p' ? 'p(N)' : a)).join(', ')})`,
      );
    }
  }
  return errors;
}

/** validateOptions, throwing InvalidOptionsError with every problem. */
export function parseOptions(options: unknown): LoadPlan {
  const { plan, errors } = validateOptions(options);
  if (!plan) throw new InvalidOptionsError(errors);
  return plan;
}

function validateScenario(p: Problems, name: string, raw: unknown): ScenarioPlan | undefined {
  const path = `scenarios.${name}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    p.add(path, 'must be an object with an executor');
    return undefined;
  }
  const executor = p.oneOf(`${path}.executor`, (raw as Record<string, unknown>).executor, EXECUTORS);
  const allowed = [...COMMON, ...(executor ? EXECUTOR_OPTIONS[executor] : Object.values(EXECUTOR_OPTIONS).flat())];
  const s = p.object(path, raw, allowed) ?? {};
  const role = p.oneOf(`${path}.role`, s.role, ['producer', 'consumer'] as const);
  const common: ScheduleCommon = {
    startTimeMs: p.duration(`${path}.startTime`, s.startTime, { fallbackMs: 0 }) ?? 0,
    gracefulStopMs: p.duration(`${path}.gracefulStop`, s.gracefulStop, { fallbackMs: 30_000 }) ?? 0,
  };
  const schedule = executor ? validateSchedule(p, path, executor, s, common) : undefined;
  let message: MessageSpec | undefined;
  let consumer: ConsumerBehaviour | undefined;
  if (role === 'producer') {
    if (s.consumer !== undefined) p.add(`${path}.consumer`, 'only consumer scenarios have a consumer behaviour');
    message = validateMessage(p, `${path}.message`, s.message);
  } else if (role === 'consumer') {
    if (s.message !== undefined) p.add(`${path}.message`, 'only producer scenarios have a message spec');
    if (executor && executor !== 'constant-vus') {
      // TODO(#6): ramping-vus consumers (scaling consumer clients up and down).
      p.add(`${path}.executor`, 'consumer scenarios use constant-vus (vus = consumer clients)');
    }
    consumer = validateConsumer(p, `${path}.consumer`, s.consumer);
  }
  const tags = validateTags(p, `${path}.tags`, s.tags);
  const workers = p.number(`${path}.workers`, s.workers, { integer: true, min: 1, max: 64, fallback: 1 }) ?? 1;
  if (!schedule || !role) return undefined;
  return { name, role, schedule, message, consumer, tags: { ...tags, scenario: name }, workers };
}

function validateTags(p: Problems, path: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  const record = p.object(path, raw, Object.keys(raw as object)) ?? {};
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) {
    if (typeof v !== 'string') p.add(`${path}.${k}`, 'tag values must be strings');
    else tags[k] = v;
  }
  return tags;
}

function validateStages(p: Problems, path: string, raw: unknown, integer: boolean): Stage[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    p.add(path, 'is required: a non-empty list of {target, duration}');
    return [];
  }
  return raw.map((stage, i) => {
    const st = p.object(`${path}[${i}]`, stage, ['target', 'duration']) ?? {};
    return {
      target: p.number(`${path}[${i}].target`, st.target, { min: 0, integer, fallback: 0 }) ?? 0,
      durationMs: p.duration(`${path}[${i}].duration`, st.duration) ?? 0,
    };
  });
}

function validateSchedule(
  p: Problems,
  path: string,
  executor: ExecutorName,
  s: Record<string, unknown>,
  common: ScheduleCommon,
): Schedule | undefined {
  const vus = (fallback?: number) => p.number(`${path}.vus`, s.vus, { integer: true, min: 1, fallback }) ?? 1;
  switch (executor) {
    case 'constant-arrival-rate':
    case 'ramping-arrival-rate': {
      const timeUnitMs = p.duration(`${path}.timeUnit`, s.timeUnit, { fallbackMs: 1000, positive: true }) ?? 1000;
      const preAllocatedVUs = p.number(`${path}.preAllocatedVUs`, s.preAllocatedVUs, { integer: true, min: 1 }) ?? 1;
      const maxVUs = p.number(`${path}.maxVUs`, s.maxVUs, { integer: true, min: 1, fallback: preAllocatedVUs });
      if (maxVUs !== undefined && maxVUs < preAllocatedVUs) {
        p.add(`${path}.maxVUs`, `must be >= preAllocatedVUs (${preAllocatedVUs})`);
      }
      const vuLimits = { preAllocatedVUs, maxVUs: Math.max(maxVUs ?? 1, preAllocatedVUs) };
      if (executor === 'constant-arrival-rate') {
        const rate = p.number(`${path}.rate`, s.rate, { above: 0 }) ?? 1;
        const durationMs = p.duration(`${path}.duration`, s.duration, { positive: true }) ?? 0;
        return { executor, ...common, rate, timeUnitMs, durationMs, ...vuLimits };
      }
      const startRate = p.number(`${path}.startRate`, s.startRate, { min: 0, fallback: 0 }) ?? 0;
      const stages = validateStages(p, `${path}.stages`, s.stages, false);
      return { executor, ...common, startRate, timeUnitMs, stages, ...vuLimits };
    }
    case 'constant-vus':
      return { executor, ...common, vus: vus(1), durationMs: p.duration(`${path}.duration`, s.duration) ?? 0 };
    case 'ramping-vus': {
      const startVUs = p.number(`${path}.startVUs`, s.startVUs, { integer: true, min: 0, fallback: 1 }) ?? 1;
      const stages = validateStages(p, `${path}.stages`, s.stages, true);
      const gracefulRampDownMs = p.duration(`${path}.gracefulRampDown`, s.gracefulRampDown, { fallbackMs: 30_000 });
      return { executor, ...common, startVUs, stages, gracefulRampDownMs: gracefulRampDownMs ?? 0 };
    }
    case 'per-vu-iterations':
    case 'shared-iterations': {
      const iterations = p.number(`${path}.iterations`, s.iterations, { integer: true, min: 1, fallback: 1 }) ?? 1;
      const maxDurationMs = p.duration(`${path}.maxDuration`, s.maxDuration, { fallbackMs: 600_000 }) ?? 0;
      const v = vus(1);
      if (executor === 'shared-iterations' && iterations < v) {
        p.add(`${path}.iterations`, `must be >= vus (${v}): every VU gets at least one iteration`);
      }
      return { executor, ...common, vus: v, iterations, maxDurationMs };
    }
  }
}

const DISTRIBUTION_OPTIONS: Record<Distribution['distribution'], readonly string[]> = {
  constant: ['distribution', 'value'],
  uniform: ['distribution', 'min', 'max'],
  normal: ['distribution', 'mean', 'stddev', 'min', 'max'],
  exponential: ['distribution', 'mean', 'max'],
};

/** A number (or a duration string when time is true) means constant; otherwise {distribution, ...}. */
export function validateDistribution(
  p: Problems,
  path: string,
  raw: unknown,
  time: boolean,
  fallback: Distribution,
): Distribution {
  if (raw === undefined) return fallback;
  const scalar = (where: string, v: unknown, fb?: number) =>
    time ? p.duration(where, v, { fallbackMs: fb }) : p.number(where, v, { min: 0, fallback: fb });
  if (typeof raw === 'number' || typeof raw === 'string') {
    return { distribution: 'constant', value: scalar(path, raw) ?? 0 };
  }
  const kind = p.oneOf(
    `${path}.distribution`,
    (raw as Record<string, unknown>)?.distribution,
    Object.keys(DISTRIBUTION_OPTIONS) as Distribution['distribution'][],
  );
  const d = p.object(path, raw, kind ? DISTRIBUTION_OPTIONS[kind] : ['distribution']) ?? {};
  switch (kind) {
    case 'constant':
      return { distribution: kind, value: scalar(`${path}.value`, d.value) ?? 0 };
    case 'uniform': {
      const min = scalar(`${path}.min`, d.min) ?? 0;
      const max = scalar(`${path}.max`, d.max) ?? 0;
      if (max < min) p.add(`${path}.max`, `must be >= min (${min})`);
      return { distribution: kind, min, max };
    }
    case 'normal': {
      const mean = scalar(`${path}.mean`, d.mean) ?? 0;
      const stddev = scalar(`${path}.stddev`, d.stddev) ?? 0;
      const min = scalar(`${path}.min`, d.min, 0) ?? 0;
      const max = scalar(`${path}.max`, d.max, mean + 6 * stddev) ?? 0;
      return { distribution: kind, mean, stddev, min, max };
    }
    case 'exponential': {
      const mean = scalar(`${path}.mean`, d.mean) ?? 0;
      return { distribution: kind, mean, max: scalar(`${path}.max`, d.max, mean * 20) ?? 0 };
    }
    default:
      return fallback;
  }
}

export const MESSAGE_OPTIONS = [
  'type',
  'topic',
  'tags',
  'keys',
  'bodySizeBytes',
  'delay',
  'transaction',
  'properties',
  'sendTimeout',
  'poisonShare',
  'sendMode',
];

function validateMessage(p: Problems, path: string, raw: unknown): MessageSpec | undefined {
  if (raw === undefined) {
    p.add(path, 'is required for a producer scenario ({type, topic, ...})');
    return undefined;
  }
  const m = p.object(path, raw, MESSAGE_OPTIONS);
  if (!m) return undefined;
  const type = p.oneOf(`${path}.type`, m.type, MESSAGE_TYPES, 'NORMAL') ?? 'NORMAL';
  const topic = p.string(`${path}.topic`, m.topic) ?? '';
  const tags = typeof m.tags === 'string' ? [m.tags] : m.tags === undefined ? [] : m.tags;
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t === '' || /[|]/.test(t))) {
    p.add(`${path}.tags`, 'must be a tag or a list of tags (non-empty strings without "|")');
  }
  const keys = m.keys === undefined ? undefined : validateKeys(p, `${path}.keys`, m.keys);
  if (type === 'FIFO' && !keys) p.add(`${path}.keys`, 'is required for FIFO messages: keys are the message groups');
  const bodySizeBytes = validateDistribution(p, `${path}.bodySizeBytes`, m.bodySizeBytes, false, {
    distribution: 'constant',
    value: 1024,
  });
  let delayMs: Distribution | undefined;
  if (type === 'DELAY') {
    if (m.delay === undefined) p.add(`${path}.delay`, 'is required for DELAY messages (e.g. "10s")');
    delayMs = validateDistribution(p, `${path}.delay`, m.delay, true, { distribution: 'constant', value: 0 });
  } else if (m.delay !== undefined) {
    p.add(`${path}.delay`, 'only DELAY messages have a delay');
  }
  let transaction: MessageSpec['transaction'];
  if (type === 'TRANSACTION') {
    transaction = validateShares(p, `${path}.transaction`, m.transaction);
  } else if (m.transaction !== undefined) {
    p.add(`${path}.transaction`, 'only TRANSACTION messages have transaction outcome shares');
  }
  const properties: Record<string, string> = {};
  if (m.properties !== undefined) {
    const record = p.object(`${path}.properties`, m.properties, Object.keys(m.properties as object)) ?? {};
    for (const [k, v] of Object.entries(record)) {
      if (typeof v !== 'string') p.add(`${path}.properties.${k}`, 'must be a string');
      else properties[k] = v;
    }
  }
  const sendTimeoutMs = p.duration(`${path}.sendTimeout`, m.sendTimeout, { fallbackMs: 3000, positive: true }) ?? 0;
  const poisonShare = p.number(`${path}.poisonShare`, m.poisonShare, { min: 0, max: 1, fallback: 0 }) ?? 0;
  const sendMode = p.oneOf(`${path}.sendMode`, m.sendMode, SEND_MODES, 'sync') ?? 'sync';
  return {
    ...{ type, topic, tags: tags as string[], keys, bodySizeBytes, delayMs, transaction, properties },
    ...{ sendTimeoutMs, poisonShare, sendMode },
  };
}

function validateKeys(p: Problems, path: string, raw: unknown): KeySpec {
  const k = p.object(path, raw, ['count', 'distribution', 'exponent', 'prefix']) ?? {};
  return {
    count: p.number(`${path}.count`, k.count, { integer: true, min: 1 }) ?? 1,
    distribution: p.oneOf(`${path}.distribution`, k.distribution, ['uniform', 'zipf'] as const, 'uniform') ?? 'uniform',
    exponent: p.number(`${path}.exponent`, k.exponent, { above: 0, fallback: 1 }) ?? 1,
    prefix: p.string(`${path}.prefix`, k.prefix, { fallback: 'key-' }) ?? 'key-',
  };
}

function validateShares(
  p: Problems,
  path: string,
  raw: unknown,
): { commit: number; rollback: number; unknown: number } {
  if (raw === undefined) return { commit: 1, rollback: 0, unknown: 0 };
  const t = p.object(path, raw, ['commit', 'rollback', 'unknown']) ?? {};
  const share = (name: string) => p.number(`${path}.${name}`, t[name], { min: 0, max: 1, fallback: 0 }) ?? 0;
  const shares = { commit: share('commit'), rollback: share('rollback'), unknown: share('unknown') };
  const sum = shares.commit + shares.rollback + shares.unknown;
  if (Math.abs(sum - 1) > 1e-9) p.add(path, `commit + rollback + unknown must be 1 (got ${sum})`);
  return shares;
}

export const CONSUMER_OPTIONS = [
  'group',
  'topic',
  'kind',
  'filter',
  'processingTime',
  'failureShare',
  'poison',
  'crashAfter',
  'restartDelay',
  'invisibleDuration',
  'receiveBatchSize',
  'awaitDuration',
  'maxAttempts',
  'retryDelay',
  'deadLetterScanGroup',
];

function validateConsumer(p: Problems, path: string, raw: unknown): ConsumerBehaviour | undefined {
  if (raw === undefined) {
    p.add(path, 'is required for a consumer scenario ({group, topic, ...})');
    return undefined;
  }
  const c = p.object(path, raw, CONSUMER_OPTIONS);
  if (!c) return undefined;
  const f = c.filter === undefined ? {} : (p.object(`${path}.filter`, c.filter, ['type', 'expression']) ?? {});
  const filter = {
    type: p.oneOf(`${path}.filter.type`, f.type, ['TAG', 'SQL92'] as const, 'TAG') ?? 'TAG',
    expression: p.string(`${path}.filter.expression`, f.expression, { fallback: '*' }) ?? '*',
  };
  const poisonRaw = c.poison === undefined ? {} : (p.object(`${path}.poison`, c.poison, ['share', 'tags']) ?? {});
  const poisonTags = poisonRaw.tags ?? [];
  if (!Array.isArray(poisonTags) || poisonTags.some((t) => typeof t !== 'string')) {
    p.add(`${path}.poison.tags`, 'must be a list of tags');
  }
  const share = (where: string, v: unknown) => p.number(where, v, { min: 0, max: 1, fallback: 0 }) ?? 0;
  return {
    group: p.string(`${path}.group`, c.group) ?? '',
    topic: p.string(`${path}.topic`, c.topic) ?? '',
    kind: p.oneOf(`${path}.kind`, c.kind, ['simple', 'push'] as const, 'simple') ?? 'simple',
    filter,
    processingTimeMs: validateDistribution(p, `${path}.processingTime`, c.processingTime, true, {
      distribution: 'constant',
      value: 0,
    }),
    failureShare: share(`${path}.failureShare`, c.failureShare),
    poison: { share: share(`${path}.poison.share`, poisonRaw.share), tags: poisonTags as string[] },
    crashAfterMessages:
      c.crashAfter === undefined
        ? undefined
        : p.number(`${path}.crashAfter`, c.crashAfter, {
            integer: true,
            min: 1,
          }),
    retryDelayMs: p.duration(`${path}.retryDelay`, c.retryDelay, { fallbackMs: 1000 }) ?? 0,
    restartDelayMs: p.duration(`${path}.restartDelay`, c.restartDelay, { fallbackMs: 1000 }) ?? 0,
    invisibleDurationMs:
      p.duration(`${path}.invisibleDuration`, c.invisibleDuration, { fallbackMs: 30_000, positive: true }) ?? 0,
    receiveBatchSize:
      p.number(`${path}.receiveBatchSize`, c.receiveBatchSize, { integer: true, min: 1, max: 32, fallback: 16 }) ?? 16,
    awaitDurationMs: p.duration(`${path}.awaitDuration`, c.awaitDuration, { fallbackMs: 2000, positive: true }) ?? 0,
    deadLetterScanGroup:
      c.deadLetterScanGroup === undefined ? undefined : p.string(`${path}.deadLetterScanGroup`, c.deadLetterScanGroup),
    maxAttempts:
      c.maxAttempts === undefined
        ? undefined
        : p.number(`${path}.maxAttempts`, c.maxAttempts, { integer: true, min: 1 }),
  };
}

function describeSchedule(s: Schedule): string {
  const perUnit = (rate: number, unitMs: number) =>
    unitMs === 1000 ? `${rate} msg/s` : `${rate} per ${formatDurationMs(unitMs)}`;
  const stages = (list: Stage[], unit: string) =>
    list.map((st) => `${st.target}${unit} over ${formatDurationMs(st.durationMs)}`).join(', then ');
  const rampStages = (list: Stage[], unitMs: number) =>
    list.map((st) => `${perUnit(st.target, unitMs)} over ${formatDurationMs(st.durationMs)}`).join(', then ');
  switch (s.executor) {
    case 'constant-arrival-rate':
      return `${perUnit(s.rate, s.timeUnitMs)} for ${formatDurationMs(s.durationMs)} (open model, up to ${s.maxVUs} in flight)`;
    case 'ramping-arrival-rate':
      return `from ${perUnit(s.startRate, s.timeUnitMs)}, ${rampStages(s.stages, s.timeUnitMs)} (open model, up to ${s.maxVUs} in flight)`;
    case 'constant-vus':
      return `${s.vus} VUs for ${formatDurationMs(s.durationMs)}`;
    case 'ramping-vus':
      return `from ${s.startVUs} VUs ramping to ${stages(s.stages, ' VUs')}`;
    case 'per-vu-iterations':
      return `${s.vus} VUs x ${s.iterations} iterations (at most ${formatDurationMs(s.maxDurationMs)})`;
    case 'shared-iterations':
      return `${s.iterations} iterations shared by ${s.vus} VUs (at most ${formatDurationMs(s.maxDurationMs)})`;
  }
}

function describeScenario(s: ScenarioPlan): string {
  const start = s.schedule.startTimeMs > 0 ? ` starting at ${formatDurationMs(s.schedule.startTimeMs)}` : '';
  if (s.message) {
    const m = s.message;
    const keys = m.keys
      ? `, ${m.keys.count} ${m.type === 'FIFO' ? 'message groups' : 'keys'} (${m.keys.distribution})`
      : '';
    return `"${s.name}" sends ${m.type} messages to ${m.topic} at ${describeSchedule(s.schedule)}${start}${keys}`;
  }
  const c = s.consumer;
  if (!c) return `"${s.name}"`;
  const behaviour = [
    c.failureShare > 0 ? `failing ${c.failureShare * 100}% once` : '',
    c.poison.share > 0 ? `${c.poison.share * 100}% poison` : '',
    c.crashAfterMessages ? `crashing after ${c.crashAfterMessages} messages` : '',
  ].filter(Boolean);
  const vus = s.schedule.executor === 'constant-vus' ? s.schedule.vus : 1;
  return (
    `"${s.name}" consumes ${c.topic} as group ${c.group} with ${vus} ${c.kind} consumer${vus === 1 ? '' : 's'}` +
    `${c.filter.expression === '*' ? '' : ` (${c.filter.type} ${c.filter.expression})`}${start}` +
    `${behaviour.length ? `, ${behaviour.join(', ')}` : ''}`
  );
}

/** One paragraph saying what will run, printed before anything starts (k6's GetDescription). */
export function describe(plan: LoadPlan): string {
  const parts = plan.scenarios.map(describeScenario);
  const thresholdCount = plan.thresholds.reduce((n, t) => n + t.thresholds.length, 0);
  const tail =
    `${thresholdCount} threshold${thresholdCount === 1 ? '' : 's'}; ` +
    `consumers drain until idle for ${formatDurationMs(plan.drainIdleMs)} (at most ${formatDurationMs(plan.drainTimeoutMs)}); ` +
    `seed ${plan.seed}; ledger ${plan.ledger ? 'on' : 'off'}.`;
  return `${parts.join('; ')}. ${tail}`;
}

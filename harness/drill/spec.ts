/**
 * The drill spec: a scenario (k6-shaped load `options`, harness/load/options.ts) plus a `drill` section saying where
 * it runs, which faults to inject, how long the drain may take and which gates decide the verdict. A built-in
 * scenario (scenarios/<name>.ts) and a user's spec file have the same shape: a module (or JSON file) exporting
 * `options` and `drill`. validateDrill() checks everything before anything boots and returns every problem at
 * once; unknown keys are errors. docs/drill.md is the reference.
 */
import { type Gate, parseGates } from '../checks/gates.ts';
import { externalNodeName } from '../deploy/external.ts';
import { type TargetSpec, validateTargetSpec } from '../deploy/index.ts';
import type { GroupSpec, TargetKind, TopicSpec } from '../deploy/types.ts';
import { FAULT_KINDS, faultFamily, type KnownTargets } from '../faults/model.ts';
import { type FaultScheduleSpec, validateFaultSchedule } from '../faults/schedule.ts';
import type { GuaranteeLevel } from '../ledger/index.ts';
import { scheduleDurationMs } from '../load/executors/index.ts';
import { type LoadPlan, type ScenarioPlan, type Schedule, validateOptions } from '../load/options.ts';
import { Problems } from '../load/validate.ts';
import { applyLoadOverrides, type LoadOverrides } from './overrides.ts';

export const DRILL_KEYS = [
  'description',
  'target',
  'queues',
  'warmUp',
  'faults',
  'gates',
  'drain',
  'guarantee',
] as const;
export const TARGET_KEYS = [
  'kind',
  'canary',
  'broker',
  'nodes',
  'flush',
  'flushIntervalMs',
  'shards',
  'endpoint',
  'accessKey',
  'secretKey',
  'tls',
  'namespace',
  'adminEndpoint',
  'namesrv',
];
export const DRAIN_KEYS = ['deadline', 'slo'];
const GUARANTEES: readonly GuaranteeLevel[] = ['at-least-once', 'exactly-once', 'strict'];
export const DRILL_TARGETS = ['bundled', 'rocketmq', 'containers', 'external'] as const satisfies readonly TargetKind[];
export type DrillTargetKind = (typeof DRILL_TARGETS)[number];

/**
 * What the command line may override: `--target`, `--seed`, `--duration`, the load (`--rate-scale`, `--vus`,
 * `--body-size`, harness/drill/overrides.ts) and `faults` (from `--faults none|<file>`: replaces `drill.faults`).
 */
export interface DrillOverrides extends LoadOverrides {
  target?: string;
  /** `--broker bundled|rocketmq`: the broker in the containers target's containers. */
  broker?: string;
  /** `--nodes N`: broker nodes (bundled, containers). */
  nodes?: string | number;
  seed?: string | number;
  duration?: string | number;
  faults?: unknown;
}

/** A validated drill: everything in milliseconds, defaults filled in. */
export interface DrillSpec {
  /** Scenario name: the file name without extension. */
  name: string;
  /** Where the spec came from (a path), for messages. */
  source: string;
  description: string | undefined;
  plan: LoadPlan;
  target: {
    kind: DrillTargetKind;
    /** What harness/deploy starts. */
    spec: TargetSpec;
    /** Bundled or containers broker nodes (1 for rocketmq: one broker; 0 for external). */
    nodes: number;
    /** containers: which broker runs in the containers. */
    broker?: 'bundled' | 'rocketmq';
    /** Test-only broker misbehaviour: acknowledge but drop one send in N. */
    canary: { dropAckedOneIn?: number; swapFifoOneIn?: number } | undefined;
  };
  topics: TopicSpec[];
  groups: GroupSpec[];
  /** The first warmUpMs of the load run no fault; fault times count from the end of the warm-up. */
  warmUpMs: number;
  /** How long the producers run (their schedules, startTime included). */
  loadDurationMs: number;
  faults: FaultScheduleSpec;
  gates: Gate[];
  /** Gate sources as written (for the description and the report). */
  gateSources: string[];
  /** The drain ends when the backlog is zero and every acknowledged message was delivered, or at this deadline. */
  drainDeadlineMs: number;
  /** The drain must finish within this long for the `drain` check to pass (ledger header drainSloMs). */
  drainSloMs: number | undefined;
  guarantee: GuaranteeLevel;
  /** Faults the target cannot apply, dropped from the schedule (process faults on `external`); the drill's verdict
   *  is then unknown at best. */
  skippedFaults: string[];
}

/** The parts of a spec module: what `export const options` and `export const drill` hold. */
export interface DrillModule {
  options: unknown;
  drill: unknown;
  /** Top-level keys of a JSON spec file other than options and drill. */
  unknownKeys?: string[];
}

/** Validates a drill module with command-line overrides; returns the spec or every problem found. */
export function validateDrill(
  name: string,
  source: string,
  module: DrillModule,
  overrides: DrillOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): { spec: DrillSpec | undefined; errors: string[] } {
  const p = new Problems();
  const loaded = validateOptions(module.options);
  for (const e of loaded.errors) p.messages.push(`options.${e}`);
  const d = module.drill === undefined ? {} : (p.object('drill', module.drill, DRILL_KEYS) ?? {});
  const target = validateTarget(p, d.target, overrides, env);
  if (module.unknownKeys) for (const k of module.unknownKeys) p.add(k, 'unknown key (expected options, drill)');
  const seed = overrideSeed(p, overrides.seed);
  const durationMs = overrides.duration === undefined ? undefined : p.duration('--duration', overrides.duration);
  if (durationMs !== undefined && durationMs <= 0) p.add('--duration', 'must be > 0');
  let plan = loaded.plan;
  if (plan && seed !== undefined) plan = { ...plan, seed };
  if (plan && durationMs !== undefined && durationMs > 0) plan = scalePlan(plan, durationMs);
  if (plan) plan = applyLoadOverrides(p, plan, overrides);
  const loadDurationMs = plan ? producersDurationMs(plan) : 0;
  if (plan && loadDurationMs === 0) p.add('options.scenarios', 'needs at least one producer scenario');
  const warmUpMs = p.duration('drill.warmUp', d.warmUp, { fallbackMs: 2000 }) ?? 0;
  if (plan && loadDurationMs > 0 && warmUpMs >= loadDurationMs) {
    p.add('drill.warmUp', `must be shorter than the load phase (${loadDurationMs}ms)`);
  }
  const skippedFaults: string[] = [];
  const faultsPath = overrides.faults === undefined ? 'drill.faults' : '--faults';
  const rawFaults = resolveFaultTargets(
    overrides.faults ?? d.faults,
    target.kind,
    target.nodes,
    plan?.seed ?? 0,
    skippedFaults,
    target.broker,
  );
  const faults = validateFaultSchedule(p, faultsPath, rawFaults, {
    knownTargets: knownTargets(target.kind, target.nodes, plan, target.broker),
    ...(plan && loadDurationMs > warmUpMs ? { loadDurationMs: loadDurationMs - warmUpMs } : {}),
  });
  checkFaultFamilies(p, faults, target.kind);
  const gates = validateGates(p, d.gates);
  const drain = d.drain === undefined ? {} : (p.object('drill.drain', d.drain, DRAIN_KEYS) ?? {});
  const drainDeadlineMs = p.duration('drill.drain.deadline', drain.deadline, { fallbackMs: 120_000, positive: true });
  const drainSloMs = drain.slo === undefined ? undefined : p.duration('drill.drain.slo', drain.slo, { positive: true });
  const guarantee = p.oneOf('drill.guarantee', d.guarantee, GUARANTEES, 'at-least-once');
  const description =
    d.description === undefined ? undefined : p.string('drill.description', d.description, { fallback: '' });
  const queues = p.number('drill.queues', d.queues, { integer: true, min: 1, max: 64, fallback: 4 }) ?? 4;
  if (p.messages.length > 0 || !plan || !guarantee || drainDeadlineMs === undefined) {
    return { spec: undefined, errors: p.messages };
  }
  const { topics, groups } = provisioning(plan, queues);
  const spec: DrillSpec = {
    ...{ name, source, description, plan, target, topics, groups, warmUpMs, loadDurationMs, faults },
    ...{ gates: gates.gates, gateSources: gates.sources, drainDeadlineMs, drainSloMs, guarantee, skippedFaults },
  };
  return { spec, errors: [] };
}

/**
 * The target: `drill.target` holds a deploy TargetSpec without `kind` (bundled: nodes, flush; external: endpoint,
 * accessKey, secretKey, tls, namespace, adminEndpoint) plus the bundled broker's test-only `canary`. `--target`
 * picks the kind (default: `drill.target.kind`, else bundled); an external endpoint and credentials not in the spec
 * come from MQDRILL_ENDPOINT, MQDRILL_ACCESS_KEY, MQDRILL_SECRET_KEY, MQDRILL_NAMESPACE and MQDRILL_TLS=1.
 */
function validateTarget(
  p: Problems,
  raw: unknown,
  overrides: DrillOverrides,
  env: NodeJS.ProcessEnv,
): DrillSpec['target'] {
  const given = { ...(raw === undefined ? {} : (p.object('drill.target', raw, TARGET_KEYS) ?? {})) };
  const kind = p.oneOf('--target', overrides.target ?? given.kind, DRILL_TARGETS, 'bundled') ?? 'bundled';
  if (overrides.broker !== undefined && kind !== 'containers') p.add('--broker', 'applies to --target containers only');
  if (overrides.nodes !== undefined) {
    const n = Number(overrides.nodes);
    if (!Number.isInteger(n) || n < 1 || String(overrides.nodes).trim() === '') {
      p.add('--nodes', `must be a whole number >= 1 (got ${JSON.stringify(overrides.nodes)})`);
    } else if (kind !== 'bundled' && kind !== 'containers') {
      p.add('--nodes', 'applies to --target bundled or containers only');
    } else given.nodes = n;
  }
  const { canary: rawCanary, kind: _kind, ...rest } = given;
  let canary: DrillSpec['target']['canary'];
  if (rawCanary !== undefined) {
    const c = p.object('drill.target.canary', rawCanary, ['dropAckedOneIn', 'swapFifoOneIn']) ?? {};
    canary = {};
    for (const key of ['dropAckedOneIn', 'swapFifoOneIn'] as const) {
      if (c[key] === undefined) continue;
      const n = p.number(`drill.target.canary.${key}`, c[key], { integer: true, min: 2 });
      if (n !== undefined) canary[key] = n;
    }
    if (Object.keys(canary).length === 0) p.add('drill.target.canary', 'name a mode: dropAckedOneIn or swapFifoOneIn');
    if (kind !== 'bundled') p.add('drill.target.canary', 'only the bundled broker has canary modes');
  }
  let spec: TargetSpec;
  if (kind === 'containers') {
    const broker = overrides.broker ?? given.broker ?? 'bundled';
    spec = {
      kind,
      broker,
      nodes: given.nodes ?? 1,
      ...(rest.flush !== undefined ? { flush: rest.flush } : {}),
    } as TargetSpec;
    for (const e of validateTargetSpec(spec)) p.messages.push(`drill.${e}`);
    const nodes = Number.isInteger(given.nodes) ? (given.nodes as number) : 1;
    return { kind, spec, nodes, canary, broker: broker === 'rocketmq' ? 'rocketmq' : 'bundled' };
  }
  if (kind === 'bundled') {
    const bundled = Object.fromEntries(
      Object.entries(rest).filter(([k]) => !EXTERNAL_ONLY.includes(k) && k !== 'broker'),
    );
    spec = { kind, ...bundled } as TargetSpec;
  } else if (kind === 'rocketmq') {
    // One broker (+ name server); a scenario's `nodes` is a bundled setting and does not apply.
    spec = { kind, ...(rest.flush !== undefined ? { flush: rest.flush } : {}) } as TargetSpec;
  } else {
    const external = Object.fromEntries(Object.entries(rest).filter(([k]) => !BUNDLED_ONLY.includes(k)));
    spec = { kind, ...externalFromEnvironment(env), ...external } as TargetSpec;
  }
  for (const e of validateTargetSpec(spec)) p.messages.push(`drill.${withEnvironmentHint(e)}`);
  const nodes = spec.kind === 'bundled' ? (spec.nodes ?? 1) : 0;
  if (spec.kind === 'rocketmq') return { kind, spec, nodes: 1, canary };
  if (spec.kind !== 'bundled') return { kind, spec, nodes: 0, canary };
  return { kind, spec, nodes: Number.isInteger(nodes) && nodes >= 1 ? nodes : 1, canary };
}

/** A missing endpoint or key names the environment variable that can give it, as `mqdrill drill --help` does. */
function withEnvironmentHint(error: string): string {
  const hints: Array<[string, string]> = [
    ['target.endpoint', 'MQDRILL_ENDPOINT=host:port'],
    ['target.accessKey', 'MQDRILL_ACCESS_KEY and MQDRILL_SECRET_KEY'],
  ];
  const hint = /required|both or neither/.test(error) ? hints.find(([field]) => error.startsWith(field)) : undefined;
  return hint ? `${error} (in the spec, or from the environment: ${hint[1]})` : error;
}

const BUNDLED_ONLY = ['nodes', 'flush', 'flushIntervalMs', 'shards', 'broker'];
const EXTERNAL_ONLY = ['endpoint', 'accessKey', 'secretKey', 'tls', 'namespace', 'adminEndpoint', 'namesrv'];

function externalFromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  return {
    ...(env.MQDRILL_ENDPOINT ? { endpoint: env.MQDRILL_ENDPOINT } : {}),
    ...(env.MQDRILL_ACCESS_KEY ? { accessKey: env.MQDRILL_ACCESS_KEY } : {}),
    ...(env.MQDRILL_SECRET_KEY ? { secretKey: env.MQDRILL_SECRET_KEY } : {}),
    ...(env.MQDRILL_NAMESPACE ? { namespace: env.MQDRILL_NAMESPACE } : {}),
    ...(env.MQDRILL_TLS === '1' || env.MQDRILL_TLS === 'true' ? { tls: true } : {}),
    ...(env.MQDRILL_NAMESRV ? { namesrv: env.MQDRILL_NAMESRV } : {}),
  };
}

/**
 * Consumer faults change the load engine's consumers, which cannot be changed while they run yet: a scenario sets
 * them in its consumer behaviour (crashAfter, processingTime, failureShare). The external target takes client-side
 * network faults only: a proxy in front of its access point (named `external`); its processes are not ours.
 */
function checkFaultFamilies(p: Problems, faults: FaultScheduleSpec, kind: DrillTargetKind): void {
  faults.forEach((entry, index) => {
    const specs = entry.type === 'timed' ? [entry.fault] : entry.templates.map((t) => t.fault);
    const families = new Set(specs.map((f) => faultFamily(f.kind)));
    const path = `drill.faults[${index}]`;
    if (families.has('consumer')) {
      p.add(path, 'consumer faults go in the consumer behaviour for now (crashAfter, processingTime, failureShare)');
    }
    if (kind === 'external' && (families.has('process') || families.has('consumer'))) {
      p.add(path, 'the external target takes network faults only (its processes are not ours)');
    }
  });
}

function overrideSeed(p: Problems, raw: string | number | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 0 || String(raw).trim() === '') {
    p.add('--seed', `must be a whole number >= 0 (got ${JSON.stringify(raw)})`);
    return undefined;
  }
  return n;
}

function validateGates(p: Problems, raw: unknown): { gates: Gate[]; sources: string[] } {
  if (raw === undefined) return { gates: [], sources: [] };
  const parsed = parseGates(raw);
  for (const e of parsed.errors) p.messages.push(`drill.${e.startsWith('gate') ? e : `gates: ${e}`}`);
  return { gates: parsed.gates, sources: parsed.gates.map((g) => g.source) };
}

/**
 * Node names per fault family, for fault target checks. bundled: broker-0..N-1 (which also name their proxies);
 * rocketmq: broker-0 (the broker + proxy JVM, behind its proxy) and, for process faults, namesrv-0; external: its
 * proxy `external`, no processes.
 */
function knownTargets(
  kind: DrillTargetKind,
  nodes: number,
  plan: LoadPlan | undefined,
  broker?: 'bundled' | 'rocketmq',
): KnownTargets {
  const groups = plan?.scenarios.flatMap((s) => (s.consumer ? [s.consumer.group, s.name] : [])) ?? [];
  const brokers = brokerNodes(kind, nodes);
  if (kind === 'containers') {
    // Network faults act in each container's namespace: nodes, and pairs `a~b` (a partition between two nodes).
    const all = broker === 'rocketmq' ? [...brokers, ROCKETMQ_NAMESRV] : brokers;
    const pairs = all.flatMap((a, i) => all.slice(i + 1).flatMap((b) => [`${a}~${b}`, `${b}~${a}`]));
    return { network: [...all, ...pairs], process: all, consumer: groups };
  }
  const process = kind === 'rocketmq' ? [...brokers, ROCKETMQ_NAMESRV] : kind === 'external' ? [] : brokers;
  return { network: brokers, process, consumer: groups };
}

const ROCKETMQ_NAMESRV = 'namesrv-0';
const FAULT_KIND_NAMES: readonly string[] = FAULT_KINDS;

function brokerNodes(kind: DrillTargetKind, nodes: number): string[] {
  if (kind === 'external') return [externalNodeName];
  return Array.from({ length: Math.max(1, nodes) }, (_, i) => `broker-${i}`);
}

/**
 * Fault targets that fit every target kind, so one scenario runs unchanged on bundled, rocketmq and external:
 * `all` (every node, as `*`), `any` or `broker` (one broker node, picked with the scenario's seed), `namesrv` (the
 * name server; rocketmq only). Concrete names (`broker-1`, `namesrv-0`, `*`) pass through. On `external`, a process
 * fault aimed by role is dropped with a note in `skipped` (its processes are not ours); one aimed by name stays and
 * fails validation.
 */
export function resolveFaultTargets(
  raw: unknown,
  kind: DrillTargetKind,
  nodes: number,
  seed: number,
  skipped: string[],
  broker?: 'bundled' | 'rocketmq',
): unknown {
  if (!Array.isArray(raw)) return raw;
  const brokers = brokerNodes(kind, nodes);
  const pick = brokers[Math.abs(seed) % brokers.length] as string;
  const aliases: Record<string, string | undefined> = {
    all: '*',
    any: pick,
    broker: pick,
    namesrv: kind === 'rocketmq' || broker === 'rocketmq' ? ROCKETMQ_NAMESRV : undefined,
  };
  const isRoleProcessFault = (f: Record<string, unknown>) =>
    typeof f.kind === 'string' &&
    FAULT_KIND_NAMES.includes(f.kind) &&
    faultFamily(f.kind as never) === 'process' &&
    typeof f.target === 'string' &&
    f.target in aliases;
  const mapTarget = (f: unknown): unknown => {
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return f;
    const r = f as Record<string, unknown>;
    if (typeof r.target !== 'string' || !(r.target in aliases)) return f;
    const to = aliases[r.target];
    return to === undefined ? f : { ...r, target: to };
  };
  const out: unknown[] = [];
  for (const entry of raw) {
    const e = entry as Record<string, unknown>;
    if (kind === 'external' && typeof entry === 'object' && entry !== null && isRoleProcessFault(e)) {
      skipped.push(`${e.kind} on ${e.target}: the external target's processes are not ours`);
      continue;
    }
    const random = e?.random as Record<string, unknown> | undefined;
    if (random && Array.isArray(random.kinds)) {
      out.push({ ...e, random: { ...random, kinds: random.kinds.map(mapTarget) } });
      continue;
    }
    out.push(mapTarget(entry));
  }
  return out;
}

/** The end of the last producer's schedule, from the start of the load. */
export function producersDurationMs(plan: LoadPlan): number {
  const producers = plan.scenarios.filter((s) => s.role === 'producer');
  return Math.max(0, ...producers.map((s) => s.schedule.startTimeMs + scheduleDurationMs(s.schedule)));
}

/**
 * `--duration D`: stretches or shrinks the load to D. Producer schedules are scaled in time (rates stay), as are
 * start times and consumer durations, so a burst stays in the same place of the run.
 */
export function scalePlan(plan: LoadPlan, durationMs: number): LoadPlan {
  const currentMs = producersDurationMs(plan);
  if (currentMs <= 0) return plan;
  const factor = durationMs / currentMs;
  return { ...plan, scenarios: plan.scenarios.map((s) => scaleScenario(s, factor)) };
}

function scaleScenario(s: ScenarioPlan, factor: number): ScenarioPlan {
  const ms = (v: number) => Math.round(v * factor);
  const schedule = { ...s.schedule, startTimeMs: ms(s.schedule.startTimeMs) } as Schedule;
  switch (schedule.executor) {
    case 'constant-arrival-rate':
    case 'constant-vus':
      schedule.durationMs = ms(schedule.durationMs);
      break;
    case 'ramping-arrival-rate':
    case 'ramping-vus':
      schedule.stages = schedule.stages.map((st) => ({ ...st, durationMs: ms(st.durationMs) }));
      break;
    case 'per-vu-iterations':
    case 'shared-iterations':
      schedule.maxDurationMs = ms(schedule.maxDurationMs);
      break;
  }
  return { ...s, schedule };
}

/**
 * Topics and groups to create, derived from the scenario: each topic a producer sends to or a consumer reads (its
 * type from the producer's message type), each consumer group (FIFO when its topic is, maxAttempts from the
 * consumer), and each dead-letter scan group.
 */
export function provisioning(plan: LoadPlan, queues: number): { topics: TopicSpec[]; groups: GroupSpec[] } {
  const topics = new Map<string, TopicSpec>();
  for (const s of plan.scenarios) {
    if (s.message) topics.set(s.message.topic, { name: s.message.topic, queues, type: s.message.type });
  }
  const groups = new Map<string, GroupSpec>();
  for (const s of plan.scenarios) {
    const c = s.consumer;
    if (!c) continue;
    if (!topics.has(c.topic)) topics.set(c.topic, { name: c.topic, queues, type: 'NORMAL' });
    const fifo = topics.get(c.topic)?.type === 'FIFO';
    groups.set(c.group, {
      name: c.group,
      fifo,
      ...(c.maxAttempts !== undefined ? { maxAttempts: c.maxAttempts } : {}),
    });
    if (c.deadLetterScanGroup) groups.set(c.deadLetterScanGroup, { name: c.deadLetterScanGroup, fifo: false });
  }
  return { topics: [...topics.values()], groups: [...groups.values()] };
}

/** The consumer groups whose backlog the drain waits for (not the dead-letter scan groups). */
export function drainGroups(spec: DrillSpec): string[] {
  return [...new Set(spec.plan.scenarios.flatMap((s) => (s.consumer ? [s.consumer.group] : [])))];
}

/**
 * The spec with a run suffix on its consumer groups (and, when `topics`, its topics): a broker that outlives runs
 * (real RocketMQ, an external cluster) keeps each group's retry messages and offsets and each topic's messages, which
 * would reach the next run on the same names as unexpected deliveries. Dead-letter scan groups and the groups in
 * `spec.groups` follow.
 */
export function withRunSuffix(spec: DrillSpec, suffix: string, opts: { topics: boolean }): DrillSpec {
  const topic = (t: string) => (opts.topics ? `${t}${suffix}` : t);
  const group = (g: string) => `${g}${suffix}`;
  const scenarios = spec.plan.scenarios.map((s) => ({
    ...s,
    ...(s.message ? { message: { ...s.message, topic: topic(s.message.topic) } } : {}),
    ...(s.consumer
      ? {
          consumer: {
            ...s.consumer,
            group: group(s.consumer.group),
            topic: topic(s.consumer.topic),
            deadLetterScanGroup:
              s.consumer.deadLetterScanGroup === undefined ? undefined : group(s.consumer.deadLetterScanGroup),
          },
        }
      : {}),
  }));
  return {
    ...spec,
    plan: { ...spec.plan, scenarios },
    topics: spec.topics.map((t) => ({ ...t, name: topic(t.name) })),
    groups: spec.groups.map((g) => ({ ...g, name: group(g.name) })),
  };
}

/**
 * Fault schedules: a list of timed faults (`{kind, target, ..., at: '10s', duration: '5s'}`) and random batches
 * (`{random: {count, kinds, durationMin, durationMax, within}}`), validated strictly and turned by buildSchedule into
 * a sorted list of fault instances, each with its start and its heal time. Faults may overlap. The same spec and
 * seed always give the same schedule.
 */
import { formatDurationMs } from '../../lib/duration.ts';
import { seededRandom } from '../../lib/random.ts';
import { Problems } from '../load/validate.ts';
import {
  ALL_TARGETS,
  describeFault,
  FAULT_KINDS,
  type FaultSpec,
  type KnownTargets,
  RANDOM_DEFAULTS,
  validateFault,
} from './model.ts';

export {
  ALL_TARGETS,
  type ConsumerFault,
  type FaultFamily,
  type FaultKind,
  type FaultSpec,
  type NetworkFault,
  type ProcessFault,
} from './model.ts';

/** One fault at a fixed time after the load phase starts. */
export interface TimedFaults {
  type: 'timed';
  fault: FaultSpec;
  atMs: number;
  durationMs: number;
}

/** A fault kind a random batch draws from; `targetGiven` false means the target is drawn from `targets`. */
export interface FaultTemplate {
  fault: FaultSpec;
  targetGiven: boolean;
}

/** `count` faults drawn from the templates, each lasting durationMsMin..durationMsMax, inside the window. */
export interface RandomFaults {
  type: 'random';
  count: number;
  templates: FaultTemplate[];
  targets: string[];
  durationMsMin: number;
  durationMsMax: number;
  withinFromMs: number;
  /** End of the window; undefined = the end of the load phase. */
  withinToMs: number | undefined;
}

/** A validated schedule spec, durations in milliseconds, defaults filled in. */
export type FaultScheduleSpec = Array<TimedFaults | RandomFaults>;

/** One fault instance: injected at startMs, healed at endMs (both after the load phase starts). */
export interface ScheduledFault {
  /** 1-based, unique within the schedule, in start order: the ledger's `fid`. */
  id: number;
  /** `latency-broker-1`: the ledger's `f`. */
  name: string;
  fault: FaultSpec;
  startMs: number;
  endMs: number;
}

export interface ScheduleValidationOptions {
  knownTargets?: KnownTargets;
  /** When known, faults must start inside the load phase. */
  loadDurationMs?: number;
}

/** Thrown by parseFaultSchedule with every problem found. */
export class FaultSpecError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid fault schedule:\n  ${problems.join('\n  ')}`);
    this.name = 'FaultSpecError';
  }
}

/** Validates a schedule, throwing a FaultSpecError that lists every problem at once. */
export function parseFaultSchedule(
  value: unknown,
  options: ScheduleValidationOptions & { path?: string } = {},
): FaultScheduleSpec {
  const problems = new Problems();
  const spec = validateFaultSchedule(problems, options.path ?? 'faults', value, options);
  if (problems.messages.length > 0) throw new FaultSpecError(problems.messages);
  return spec;
}

/** Validates a schedule into the caller's Problems (so a drill spec reports all its errors together). */
export function validateFaultSchedule(
  problems: Problems,
  path: string,
  value: unknown,
  options: ScheduleValidationOptions = {},
): FaultScheduleSpec {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(path, 'must be a list of faults');
    return [];
  }
  const spec: FaultScheduleSpec = [];
  value.forEach((entry, index) => {
    const entryPath = `${path}[${index}]`;
    const isRandom = typeof entry === 'object' && entry !== null && 'random' in entry;
    const parsed = isRandom
      ? validateRandom(problems, entryPath, entry, options)
      : validateTimed(problems, entryPath, entry, options);
    if (parsed !== undefined) spec.push(parsed);
  });
  return spec;
}

function validateTimed(
  problems: Problems,
  path: string,
  value: unknown,
  options: ScheduleValidationOptions,
): TimedFaults | undefined {
  const fault = validateFault(problems, path, value, {
    extraKeys: ['at', 'duration'],
    knownTargets: options.knownTargets,
  });
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const atMs = problems.duration(`${path}.at`, record.at);
  const durationMs = problems.duration(`${path}.duration`, record.duration, { positive: true });
  const loadMs = options.loadDurationMs;
  if (atMs !== undefined && loadMs !== undefined && atMs >= loadMs) {
    problems.add(`${path}.at`, `must be before the end of the load phase (${loadMs}ms)`);
  }
  if (fault === undefined || atMs === undefined || durationMs === undefined) return undefined;
  return { type: 'timed', fault, atMs, durationMs };
}

export const RANDOM_KEYS = ['count', 'kinds', 'targets', 'durationMin', 'durationMax', 'within'];

function validateRandom(
  problems: Problems,
  path: string,
  value: unknown,
  options: ScheduleValidationOptions,
): RandomFaults | undefined {
  const outer = problems.object(path, value, ['random']);
  const record = problems.object(`${path}.random`, outer?.random, RANDOM_KEYS);
  if (record === undefined) return undefined;
  const count = problems.number(`${path}.random.count`, record.count, { min: 1, integer: true });
  const templates = validateTemplates(problems, `${path}.random.kinds`, record.kinds, options);
  const targets = validateTargets(problems, `${path}.random.targets`, record.targets);
  const durationMsMin = problems.duration(`${path}.random.durationMin`, record.durationMin, { positive: true });
  const durationMsMax = problems.duration(`${path}.random.durationMax`, record.durationMax, { positive: true });
  const window = validateWindow(problems, `${path}.random.within`, record.within, options.loadDurationMs);
  if (durationMsMin !== undefined && durationMsMax !== undefined && durationMsMax < durationMsMin) {
    problems.add(`${path}.random.durationMax`, 'must be >= durationMin');
  }
  const windowMs = (window?.toMs ?? options.loadDurationMs ?? Infinity) - (window?.fromMs ?? 0);
  if (durationMsMin !== undefined && windowMs <= 0) problems.add(`${path}.random.within`, 'is empty');
  if (count === undefined || templates === undefined || targets === undefined || window === undefined) return;
  if (durationMsMin === undefined || durationMsMax === undefined || durationMsMax < durationMsMin) return;
  const withinFromMs = window.fromMs;
  return {
    type: 'random',
    count,
    templates,
    targets,
    durationMsMin,
    durationMsMax,
    withinFromMs,
    withinToMs: window.toMs,
  };
}

function validateTemplates(
  problems: Problems,
  path: string,
  value: unknown,
  options: ScheduleValidationOptions,
): FaultTemplate[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.add(path, `must be a non-empty list of kinds (${FAULT_KINDS.join(', ')}) or fault objects`);
    return undefined;
  }
  const templates: FaultTemplate[] = [];
  value.forEach((item, index) => {
    const objectItem = typeof item === 'string' ? { kind: item } : item;
    const fault = validateFault(problems, `${path}[${index}]`, objectItem, {
      knownTargets: options.knownTargets,
      defaults: RANDOM_DEFAULTS,
      targetFallback: ALL_TARGETS,
    });
    const targetGiven = typeof objectItem === 'object' && objectItem !== null && 'target' in objectItem;
    if (fault !== undefined) templates.push({ fault, targetGiven });
  });
  return templates.length === value.length ? templates : undefined;
}

function validateTargets(problems: Problems, path: string, value: unknown): string[] | undefined {
  if (value === undefined) return [ALL_TARGETS];
  if (!Array.isArray(value) || value.length === 0 || !value.every((t) => typeof t === 'string' && t !== '')) {
    problems.add(path, 'must be a non-empty list of target names');
    return undefined;
  }
  return value as string[];
}

/** `within: '60s'` (the first 60 s) or `within: {from: '10s', to: '50s'}`; absent = the whole load phase. */
function validateWindow(
  problems: Problems,
  path: string,
  value: unknown,
  loadDurationMs: number | undefined,
): { fromMs: number; toMs: number | undefined } | undefined {
  if (value === undefined) return { fromMs: 0, toMs: undefined };
  if (typeof value === 'string' || typeof value === 'number') {
    const toMs = problems.duration(path, value, { positive: true });
    return toMs === undefined ? undefined : { fromMs: 0, toMs };
  }
  const record = problems.object(path, value, ['from', 'to']);
  if (record === undefined) return undefined;
  const fromMs = problems.duration(`${path}.from`, record.from, { fallbackMs: 0 });
  const toMs = record.to === undefined ? undefined : problems.duration(`${path}.to`, record.to, { positive: true });
  if (record.to !== undefined && toMs === undefined) return undefined;
  if (fromMs !== undefined && loadDurationMs !== undefined && fromMs >= loadDurationMs) {
    problems.add(`${path}.from`, `must be before the end of the load phase (${loadDurationMs}ms)`);
  }
  return fromMs === undefined ? undefined : { fromMs, toMs };
}

export interface BuildScheduleOptions {
  seed: number;
  loadDurationMs: number;
}

/**
 * The fault instances of a schedule, sorted by start time (ties keep spec order), ids 1..n in that order. Random
 * batches each draw from their own stream seeded by (seed, position), so editing one entry leaves the others alone.
 */
export function buildSchedule(spec: FaultScheduleSpec, options: BuildScheduleOptions): ScheduledFault[] {
  const drafts: Array<Omit<ScheduledFault, 'id' | 'name'>> = [];
  spec.forEach((entry, index) => {
    if (entry.type === 'timed') {
      drafts.push({ fault: entry.fault, startMs: entry.atMs, endMs: entry.atMs + entry.durationMs });
      return;
    }
    drafts.push(...drawRandom(entry, (options.seed + Math.imul(index + 1, 0x9e3779b1)) | 0, options.loadDurationMs));
  });
  const sorted = drafts
    .map((draft, order) => ({ draft, order }))
    .sort((a, b) => a.draft.startMs - b.draft.startMs || a.order - b.order);
  return sorted.map(({ draft }, index) => ({ id: index + 1, name: faultName(draft.fault), ...draft }));
}

function drawRandom(
  entry: RandomFaults,
  seed: number,
  loadDurationMs: number,
): Array<Omit<ScheduledFault, 'id' | 'name'>> {
  const random = seededRandom(seed);
  const toMs = Math.min(entry.withinToMs ?? loadDurationMs, loadDurationMs);
  const drafts: Array<Omit<ScheduledFault, 'id' | 'name'>> = [];
  for (let i = 0; i < entry.count; i++) {
    const template = random.pick(entry.templates);
    const target = template.targetGiven ? template.fault.target : random.pick(entry.targets);
    const durationMs = random.int(Math.round(entry.durationMsMin), Math.round(entry.durationMsMax));
    const latestStartMs = Math.max(entry.withinFromMs, toMs - durationMs);
    const startMs = random.int(Math.round(entry.withinFromMs), Math.round(latestStartMs));
    drafts.push({ fault: { ...template.fault, target }, startMs, endMs: startMs + durationMs });
  }
  return drafts;
}

/** `latency-broker-1`, `kill-all`. */
export function faultName(fault: FaultSpec): string {
  return `${fault.kind}-${fault.target === ALL_TARGETS ? 'all' : fault.target}`;
}

/** One line per fault for the CLI's "what will run" paragraph: "10s–15s  latency 200ms on broker-1". */
export function describeSchedule(schedule: readonly ScheduledFault[]): string[] {
  return schedule.map((s) => `${formatDurationMs(s.startMs)}–${formatDurationMs(s.endMs)}  ${describeFault(s.fault)}`);
}

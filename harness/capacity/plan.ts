/**
 * The load plan of one capacity step, from a drill spec's plan: every producer becomes a constant-arrival-rate
 * producer (the step's rate shared in proportion to the producers' own peak rates), every consumer keeps its
 * behaviour and runs as long as the producers; thresholds are dropped (the SLO decides), drain short.
 */
import type { LoadPlan, ScenarioPlan, Schedule } from '../load/options.ts';

export interface StepShape {
  /** The whole step: warm-up + measured window. */
  durationMs: number;
  /** Generator VUs per producer (arrival-rate maxVUs); undefined: enough for the rate at the SLO's latency. */
  vus: number | undefined;
  /** Consumer clients per consumer scenario; undefined: the scenario's own. */
  consumers: number | undefined;
  /** Send p99 bound of the SLO, ms: sizes the default VUs. */
  sloP99Ms: number;
  /** Consumers keep draining after the producers until nothing arrives for this long. */
  drainIdleMs: number;
  drainTimeoutMs: number;
}

const VUS_MAX_DEFAULT = 2000;
const GRACEFUL_STOP_MS = 5000;

/** Messages per second a producer schedule asks for at its peak (VU-driven schedules count 1: no rate of their own). */
export function peakRate(schedule: Schedule): number {
  switch (schedule.executor) {
    case 'constant-arrival-rate':
      return (schedule.rate * 1000) / schedule.timeUnitMs;
    case 'ramping-arrival-rate':
      return (Math.max(schedule.startRate, ...schedule.stages.map((s) => s.target)) * 1000) / schedule.timeUnitMs;
    default:
      return 1;
  }
}

/**
 * VUs to keep `rate` sends per second in flight at up to four times the SLO's p99 (Little's law with headroom):
 * past that the latency SLO is already broken, so VUs never become the limit first by default.
 */
export function defaultVus(rate: number, sloP99Ms: number): number {
  return Math.min(VUS_MAX_DEFAULT, Math.ceil((rate * 4 * sloP99Ms) / 1000) + 4);
}

export function consumerVus(scenario: ScenarioPlan): number {
  return scenario.schedule.executor === 'constant-vus' ? scenario.schedule.vus : 1;
}

export function producersOf(plan: LoadPlan): ScenarioPlan[] {
  return plan.scenarios.filter((s) => s.role === 'producer');
}

export function consumersOf(plan: LoadPlan): ScenarioPlan[] {
  return plan.scenarios.filter((s) => s.role === 'consumer');
}

function producerAt(s: ScenarioPlan, rate: number, shape: StepShape): ScenarioPlan {
  const maxVUs = Math.max(1, shape.vus ?? defaultVus(rate, shape.sloP99Ms));
  // Big rates are spread over more driver workers (one thread or process each), as k6 segments do; a given --vus
  // count stays in one worker so it means what it says.
  const workers = shape.vus === undefined ? Math.max(s.workers, Math.min(4, Math.ceil(rate / 2000))) : s.workers;
  return {
    ...s,
    workers,
    schedule: {
      executor: 'constant-arrival-rate',
      rate: Math.max(1, Math.round(rate)),
      timeUnitMs: 1000,
      durationMs: shape.durationMs,
      preAllocatedVUs: Math.min(maxVUs, Math.max(1, Math.ceil(maxVUs / 4))),
      maxVUs,
      startTimeMs: 0,
      gracefulStopMs: GRACEFUL_STOP_MS,
    },
  };
}

function consumerFor(s: ScenarioPlan, shape: StepShape, durationMs: number): ScenarioPlan {
  return {
    ...s,
    schedule: {
      executor: 'constant-vus',
      vus: shape.consumers ?? consumerVus(s),
      durationMs,
      startTimeMs: 0,
      gracefulStopMs: GRACEFUL_STOP_MS,
    },
  };
}

/**
 * The plan of a step at `rate` messages per second in all. `consumersMs`: the consumers run this long (0: only the
 * engine's drain, until idle); absent: no consumers. `producers: false` leaves the producers out.
 */
export function stepPlan(
  base: LoadPlan,
  rate: number,
  shape: StepShape,
  seed: number,
  parts: { producers: boolean; consumersMs?: number } = { producers: true, consumersMs: 0 },
): LoadPlan {
  const producers = producersOf(base);
  const total = producers.reduce((n, s) => n + peakRate(s.schedule), 0) || 1;
  const scenarios: ScenarioPlan[] = [];
  if (parts.producers) {
    for (const s of producers) scenarios.push(producerAt(s, (rate * peakRate(s.schedule)) / total, shape));
  }
  if (parts.consumersMs !== undefined) {
    for (const s of consumersOf(base)) scenarios.push(consumerFor(s, shape, parts.consumersMs));
  }
  return {
    ...base,
    scenarios,
    thresholds: [],
    seed,
    drainIdleMs: shape.drainIdleMs,
    drainTimeoutMs: shape.drainTimeoutMs,
    ledger: true,
  };
}

/**
 * Command-line changes to a drill's load, applied to the validated plan: `--rate-scale F` (every arrival rate times
 * F), `--vus N` (every scenario's virtual users), `--body-size SIZE` (every producer's message body, constant).
 * `--duration` lives in spec.ts (scalePlan) and `--faults` replaces `drill.faults` before it is validated.
 */

import type { LoadPlan, ScenarioPlan, Schedule } from '../load/options.ts';
import type { Problems } from '../load/validate.ts';

export interface LoadOverrides {
  rateScale?: string | number;
  vus?: string | number;
  bodySize?: string | number;
}

/** The largest body the official clients send by default (RocketMQ's maxMessageSize, 4 MiB). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1000, kib: 1024, m: 1e6, mb: 1e6, mib: 1 << 20 };

/** "512", "4KiB", "1 MiB", "2kb" → bytes; undefined when the text is not a size. */
export function parseSizeBytes(raw: string | number): number | undefined {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 ? raw : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isFinite(bytes) ? bytes : undefined;
}

/** Applies the overrides that were given; adds a problem per bad value (the plan is returned unchanged then). */
export function applyLoadOverrides(p: Problems, plan: LoadPlan, o: LoadOverrides): LoadPlan {
  let out = plan;
  if (o.rateScale !== undefined) {
    const f = Number(o.rateScale);
    if (!Number.isFinite(f) || f <= 0 || String(o.rateScale).trim() === '') {
      p.add('--rate-scale', `must be a number > 0, e.g. 0.5 or 10 (got ${JSON.stringify(o.rateScale)})`);
    } else {
      out = { ...out, scenarios: out.scenarios.map((s) => withSchedule(s, scaleRates(s.schedule, f))) };
    }
  }
  if (o.vus !== undefined) {
    const n = Number(o.vus);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) {
      p.add('--vus', `must be a whole number from 1 to 10000 (got ${JSON.stringify(o.vus)})`);
    } else {
      out = { ...out, scenarios: out.scenarios.map((s) => withSchedule(s, setVus(s.schedule, n))) };
    }
  }
  if (o.bodySize !== undefined) {
    const bytes = parseSizeBytes(o.bodySize);
    if (bytes === undefined || bytes < 1 || bytes > MAX_BODY_BYTES) {
      p.add(
        '--body-size',
        `must be a size from 1 B to 4 MiB, e.g. 512, 4KiB, 1MiB (got ${JSON.stringify(o.bodySize)})`,
      );
    } else {
      const body = { distribution: 'constant' as const, value: bytes };
      out = {
        ...out,
        scenarios: out.scenarios.map((s) => (s.message ? { ...s, message: { ...s.message, bodySizeBytes: body } } : s)),
      };
    }
  }
  return out;
}

function withSchedule(s: ScenarioPlan, schedule: Schedule): ScenarioPlan {
  return { ...s, schedule };
}

/** Arrival rates (rate, startRate, stage targets) times f; VU-driven executors have no rate and stay. */
function scaleRates(schedule: Schedule, f: number): Schedule {
  // Rates stay positive: a scaled rate below one message per time unit would make a stage send nothing.
  const rate = (r: number) => (r === 0 ? 0 : Math.max(1, Math.round(r * f)));
  switch (schedule.executor) {
    case 'constant-arrival-rate':
      return { ...schedule, rate: rate(schedule.rate) };
    case 'ramping-arrival-rate':
      return {
        ...schedule,
        startRate: rate(schedule.startRate),
        stages: schedule.stages.map((st) => ({ ...st, target: rate(st.target) })),
      };
    default:
      return schedule;
  }
}

/** Arrival-rate executors start with N VUs (and may grow to at least N); ramping-vus peaks at N; others run N. */
function setVus(schedule: Schedule, n: number): Schedule {
  switch (schedule.executor) {
    case 'constant-arrival-rate':
    case 'ramping-arrival-rate':
      return { ...schedule, preAllocatedVUs: n, maxVUs: Math.max(n, schedule.maxVUs) };
    case 'constant-vus':
    case 'per-vu-iterations':
    case 'shared-iterations':
      return { ...schedule, vus: n };
    case 'ramping-vus': {
      // The ramp keeps its shape: its peak becomes N.
      const peak = Math.max(1, schedule.startVUs, ...schedule.stages.map((st) => st.target));
      const scaled = (v: number) => Math.round((v * n) / peak);
      return {
        ...schedule,
        startVUs: scaled(schedule.startVUs),
        stages: schedule.stages.map((st) => ({ ...st, target: scaled(st.target) })),
      };
    }
  }
}

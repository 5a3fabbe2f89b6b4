/**
 * How far a figure may move the wrong way before compare calls it a regression: worse by more than `ratio` times
 * the baseline AND by more than `absolute` (in the figure's unit). Both must be exceeded, so tiny figures (a 2 ms
 * p50) do not fail on noise of a millisecond. Anomaly counts default to no rise at all.
 *
 * The defaults are the run-to-run spread measured on this repository's shared 2-core development machine (five
 * repeated drills of one build; docs/ci.md shows the numbers and how to measure them on your own runner with
 * `mqdrill compare --history`). A file (`--tolerance FILE`) overrides any class or single figure:
 *
 *   { "latency": { "ratio": 1.5 }, "latency.send_duration.p99": { "ratio": 2, "absolute": 20 }, "anomaly": {} }
 */
import { readFileSync } from 'node:fs';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import type { Figure, FigureClass } from './figures.ts';

export interface Tolerance {
  ratio: number;
  absolute: number;
}

export const DEFAULT_TOLERANCES: Record<FigureClass, Tolerance> = {
  latency: { ratio: 8, absolute: 50 },
  throughput: { ratio: 5, absolute: 10 },
  drain: { ratio: 5, absolute: 1000 },
  recovery: { ratio: 4, absolute: 2000 },
  capacity: { ratio: 4, absolute: 10 },
  anomaly: { ratio: 1, absolute: 0 },
};

export type ToleranceOverrides = Record<string, Partial<Tolerance>>;

export function toleranceFor(figure: Figure, overrides: ToleranceOverrides): Tolerance {
  return { ...DEFAULT_TOLERANCES[figure.class], ...overrides[figure.class], ...overrides[figure.name] };
}

/** Worse by more than the tolerance allows? For higher-is-better figures the ratio divides the baseline. */
export function beyond(figure: Figure, baseline: number, current: number, t: Tolerance): boolean {
  if (figure.better === 'lower') return current > baseline * t.ratio && current - baseline > t.absolute;
  return current < baseline / t.ratio && baseline - current > t.absolute;
}

export function validateTolerances(value: unknown): { overrides: ToleranceOverrides; errors: string[] } {
  const errors: string[] = [];
  const overrides: ToleranceOverrides = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { overrides, errors: ['the tolerance file must hold a JSON object of figure or class names'] };
  }
  const classes = Object.keys(DEFAULT_TOLERANCES);
  for (const [key, raw] of Object.entries(value)) {
    // A misspelt key would silently leave its figure at the default: refused instead.
    if (!classes.includes(key) && !classes.some((c) => key.startsWith(`${c}.`))) {
      errors.push(
        `${key}: not a figure class (${classes.join(', ')}) nor a figure name (a class, a dot and the rest, as ` +
          'compare prints it, e.g. latency.send_duration.p99)',
      );
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      errors.push(`${key}: must be an object such as {"ratio": 2, "absolute": 50}`);
      continue;
    }
    const t: Partial<Tolerance> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (k !== 'ratio' && k !== 'absolute') errors.push(`${key}.${k}: unknown (expected ratio, absolute)`);
      else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (k === 'ratio' && v < 1)) {
        errors.push(`${key}.${k}: must be a number ${k === 'ratio' ? '>= 1' : '>= 0'}`);
      } else t[k] = v;
    }
    overrides[key] = t;
  }
  return { overrides, errors };
}

export function loadTolerances(file: string | undefined): ToleranceOverrides {
  if (file === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--tolerance ${file}: cannot read it as JSON: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
  }
  const { overrides, errors } = validateTolerances(value);
  if (errors.length)
    throw new CliError(`--tolerance ${file} is invalid:\n  ${errors.join('\n  ')}`, ExitCode.INVALID_SPEC);
  return overrides;
}

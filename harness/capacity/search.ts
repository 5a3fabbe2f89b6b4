/**
 * The rate search: step the arrival rate up by a factor from a start rate until a step breaks the SLO (or the
 * ceiling is reached), then bisect between the best rate that held and the lowest that broke until they are within
 * the precision or the step budget is spent. When the very first step breaks, it steps down by the same factor until
 * one holds. A step that breaks is run again once (confirmBreaks) and counts as broken only when it breaks twice.
 * The probe (one step at one rate) is injected, so the search is tested without a broker.
 */
import type { StepResult } from './step.ts';

export interface SearchOptions {
  startRate: number;
  factor: number;
  maxRate: number;
  /** Stop bisecting when (broke - held) / broke is at most this. */
  precision: number;
  /** At most this many steps in all. */
  stepsMax: number;
  /** Stepping down below this rate gives up: nothing is sustainable. */
  minRate: number;
  /**
   * A step that breaks runs once more at the same rate before the search believes it: a stall of a busy machine
   * (another process taking the cores for a second) breaks one short step, not two in a row.
   */
  confirmBreaks: boolean;
}

export const DEFAULT_SEARCH: SearchOptions = {
  startRate: 100,
  factor: 2,
  maxRate: 100_000,
  precision: 0.1,
  stepsMax: 12,
  minRate: 1,
  confirmBreaks: true,
};

export interface SearchResult {
  steps: StepResult[];
  /** The highest rate that held, and the lowest that broke above it. */
  held: StepResult | undefined;
  broke: StepResult | undefined;
  /** held and broke within the precision, or the ceiling held, or the floor broke. */
  converged: boolean;
  /** The ceiling (maxRate) held: the limit is higher than was tried. */
  ceilingHeld: boolean;
  interrupted: boolean;
}

export type Probe = (rate: number, index: number) => Promise<StepResult>;

export async function searchCapacity(
  probe: Probe,
  opts: SearchOptions,
  aborted: () => boolean = () => false,
): Promise<SearchResult> {
  const steps: StepResult[] = [];
  let held: StepResult | undefined;
  let broke: StepResult | undefined;
  let rate = Math.max(opts.minRate, Math.round(Math.min(opts.startRate, opts.maxRate)));
  const done = (extra: Partial<SearchResult>): SearchResult => ({
    steps,
    held,
    broke,
    converged: false,
    ceilingHeld: false,
    interrupted: false,
    ...extra,
  });
  while (steps.length < opts.stepsMax) {
    if (aborted()) return done({ interrupted: true });
    let step = await probe(rate, steps.length);
    steps.push(step);
    if (!step.pass && opts.confirmBreaks && steps.length < opts.stepsMax && !aborted()) {
      step = await probe(rate, steps.length);
      steps.push(step);
    }
    if (step.pass && (!held || step.rate > held.rate)) held = step;
    if (!step.pass && (!broke || step.rate < broke.rate) && (!held || step.rate > held.rate)) broke = step;
    if (!broke) {
      if (rate >= opts.maxRate) return done({ converged: true, ceilingHeld: true });
      rate = Math.min(opts.maxRate, Math.round(rate * opts.factor));
      continue;
    }
    if (!held) {
      const lower = Math.floor(broke.rate / opts.factor);
      if (lower < opts.minRate) return done({ converged: true });
      rate = lower;
      continue;
    }
    if ((broke.rate - held.rate) / broke.rate <= opts.precision || broke.rate - held.rate <= 1) {
      return done({ converged: true });
    }
    rate = Math.round((held.rate + broke.rate) / 2);
  }
  const close = held && broke && (broke.rate - held.rate) / broke.rate <= opts.precision;
  return done({ converged: !!close });
}

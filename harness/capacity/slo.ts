/**
 * The capacity SLO: what a step must hold to count as sustainable. A JSON file (`--slo FILE`) may set any of the keys;
 * the rest keep their defaults. Unknown keys and bad values are errors, every one listed.
 *
 *   { "sendP99Ms": 50, "errorShareMax": 0.001, "backlogGrowthShareMax": 0.05, "throughputShortfallMax": 0.1,
 *     "lostMax": 0 }
 */
import { readFileSync } from 'node:fs';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { Problems } from '../load/validate.ts';

export interface CapacitySlo {
  /** Send latency p99 over a step's measured window must stay under this, ms. */
  sendP99Ms: number;
  /** Failed + unknown sends over all sends of the window must stay at or under this share. */
  errorShareMax: number;
  /**
   * Backlog growth over the window (sent ok minus first deliveries) may be at most this share of the messages sent
   * ok in it: consumers that keep up leave only what is in flight.
   */
  backlogGrowthShareMax: number;
  /**
   * Sends started in the window that the target had not acknowledged within it, as a share of those started: a target
   * that acknowledges slower than it is sent to falls behind even while its latency still looks fine.
   */
  throughputShortfallMax: number;
  /** Lost messages over the whole run (acknowledged, never delivered after the final drain). */
  lostMax: number;
}

export const DEFAULT_SLO: CapacitySlo = {
  sendP99Ms: 50,
  errorShareMax: 0.001,
  backlogGrowthShareMax: 0.05,
  throughputShortfallMax: 0.1,
  lostMax: 0,
};

const SLO_KEYS = Object.keys(DEFAULT_SLO);

/** Validates an SLO object; every problem is returned. */
export function validateSlo(value: unknown): { slo: CapacitySlo | undefined; errors: string[] } {
  const p = new Problems();
  const raw = p.object('slo', value, SLO_KEYS);
  if (!raw) return { slo: undefined, errors: p.messages };
  const slo: CapacitySlo = {
    sendP99Ms: p.number('slo.sendP99Ms', raw.sendP99Ms, { above: 0, fallback: DEFAULT_SLO.sendP99Ms }) ?? 0,
    errorShareMax:
      p.number('slo.errorShareMax', raw.errorShareMax, { min: 0, max: 1, fallback: DEFAULT_SLO.errorShareMax }) ?? 0,
    backlogGrowthShareMax:
      p.number('slo.backlogGrowthShareMax', raw.backlogGrowthShareMax, {
        min: 0,
        max: 1,
        fallback: DEFAULT_SLO.backlogGrowthShareMax,
      }) ?? 0,
    throughputShortfallMax:
      p.number('slo.throughputShortfallMax', raw.throughputShortfallMax, {
        min: 0,
        max: 1,
        fallback: DEFAULT_SLO.throughputShortfallMax,
      }) ?? 0,
    lostMax: p.number('slo.lostMax', raw.lostMax, { min: 0, integer: true, fallback: DEFAULT_SLO.lostMax }) ?? 0,
  };
  return p.messages.length ? { slo: undefined, errors: p.messages } : { slo, errors: [] };
}

/** Reads `--slo FILE`; exit 3 with every problem when it is unreadable or invalid. */
export function loadSloFile(file: string | undefined): CapacitySlo {
  if (file === undefined) return DEFAULT_SLO;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--slo ${file}: cannot read it as JSON: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
  }
  const { slo, errors } = validateSlo(value);
  if (!slo) throw new CliError(`--slo ${file} is invalid:\n  ${errors.join('\n  ')}`, ExitCode.INVALID_SPEC);
  return slo;
}

export function describeSlo(slo: CapacitySlo): string {
  return (
    `send p99 < ${slo.sendP99Ms} ms, error share <= ${(slo.errorShareMax * 100).toPrecision(2)}%, ` +
    `acknowledged >= ${((1 - slo.throughputShortfallMax) * 100).toPrecision(2)}% of sends, ` +
    `backlog growth <= ${(slo.backlogGrowthShareMax * 100).toPrecision(2)}% of a step's sends, lost <= ${slo.lostMax}`
  );
}

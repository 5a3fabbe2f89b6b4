/**
 * A small collector for option validation in k6's `Validate() []error` style: every check appends a message with its
 * path (`scenarios.burst.rate: must be > 0`) and returns a usable value, so one pass reports every problem at once.
 */
import { parseDurationMs } from '../../lib/duration.ts';

export class Problems {
  readonly messages: string[] = [];

  add(path: string, problem: string): void {
    this.messages.push(`${path}: ${problem}`);
  }

  /** Reports keys of obj not in allowed (k6's strict unmarshal); returns obj as a record, or undefined if not one. */
  object(path: string, value: unknown, allowed: readonly string[]): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.add(path, 'must be an object');
      return undefined;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) this.add(`${path}.${key}`, `unknown option (expected one of: ${allowed.join(', ')})`);
    }
    return record;
  }

  number(
    path: string,
    value: unknown,
    rule: { min?: number; max?: number; above?: number; integer?: boolean; fallback?: number } = {},
  ): number | undefined {
    if (value === undefined) {
      if (rule.fallback === undefined) this.add(path, 'is required');
      return rule.fallback;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.add(path, 'must be a number');
      return rule.fallback;
    }
    if (rule.integer && !Number.isInteger(value)) this.add(path, 'must be a whole number');
    else if (rule.above !== undefined && !(value > rule.above)) this.add(path, `must be > ${rule.above}`);
    else if (rule.min !== undefined && value < rule.min) this.add(path, `must be >= ${rule.min}`);
    else if (rule.max !== undefined && value > rule.max) this.add(path, `must be <= ${rule.max}`);
    else return value;
    if (rule.integer && Number.isInteger(value)) return value;
    return rule.fallback;
  }

  /** A k6 duration ("30s", "1m30s") or a number of milliseconds. */
  duration(path: string, value: unknown, rule: { fallbackMs?: number; positive?: boolean } = {}): number | undefined {
    if (value === undefined) {
      if (rule.fallbackMs === undefined) this.add(path, 'is required (a duration such as "30s")');
      return rule.fallbackMs;
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      this.add(path, 'must be a duration such as "30s" or a number of milliseconds');
      return rule.fallbackMs;
    }
    try {
      const ms = parseDurationMs(value);
      if (rule.positive && !(ms > 0)) {
        this.add(path, 'must be > 0');
        return rule.fallbackMs;
      }
      return ms;
    } catch (err) {
      this.add(path, (err as Error).message);
      return rule.fallbackMs;
    }
  }

  string(path: string, value: unknown, rule: { fallback?: string; pattern?: RegExp } = {}): string | undefined {
    if (value === undefined) {
      if (rule.fallback === undefined) this.add(path, 'is required');
      return rule.fallback;
    }
    if (typeof value !== 'string' || value === '') {
      this.add(path, 'must be a non-empty string');
      return rule.fallback;
    }
    if (rule.pattern && !rule.pattern.test(value)) {
      this.add(path, `must match ${rule.pattern}`);
      return rule.fallback;
    }
    return value;
  }

  oneOf<T extends string>(path: string, value: unknown, choices: readonly T[], fallback?: T): T | undefined {
    if (value === undefined) {
      if (fallback === undefined) this.add(path, `is required (one of: ${choices.join(', ')})`);
      return fallback;
    }
    if (!choices.includes(value as T)) {
      this.add(path, `must be one of: ${choices.join(', ')} (got ${JSON.stringify(value)})`);
      return fallback;
    }
    return value as T;
  }

  boolean(path: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.add(path, 'must be true or false');
      return fallback;
    }
    return value;
  }
}

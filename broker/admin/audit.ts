import fs from 'node:fs';
import type { Clock } from '../../lib/clock.ts';

export type AuditLogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/**
 * The audit log, `<data>/audit.ndjson`: one JSON line per control-plane call (allowed or not) and per refused
 * request, admin or gRPC. Lines are appended synchronously, so a line is on file before its answer leaves the broker.
 * A flood of refused requests must not turn into unbounded disk writes: past `linesPerSecondMax` lines in one second
 * the rest of that second is counted, and the count is written as one `suppressed` line before the next line.
 */
export class AuditLog {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private linesInWindow = 0;
  private suppressed = 0;
  private writeFailedLogged = false;

  constructor(
    private readonly file: string,
    private readonly clock: Clock,
    private readonly log: AuditLogFn,
    readonly linesPerSecondMax = 1000,
  ) {}

  /** Appends the line; false when it was only counted (over the per-second limit), so callers can skip their log. */
  write(entry: Record<string, unknown>): boolean {
    const nowMs = this.clock.monotonicMs();
    if (nowMs - this.windowStartMs >= 1000) {
      this.windowStartMs = nowMs;
      this.linesInWindow = 0;
      if (this.suppressed > 0) {
        const suppressed = this.suppressed;
        this.suppressed = 0;
        this.append({ kind: 'audit', suppressed, reason: `more than ${this.linesPerSecondMax} audit lines a second` });
      }
    }
    if (this.linesInWindow >= this.linesPerSecondMax) {
      this.suppressed++;
      return false;
    }
    this.linesInWindow++;
    this.append(entry);
    return true;
  }

  private append(entry: Record<string, unknown>): void {
    const line = `${JSON.stringify({ time: new Date(this.clock.wallMs()).toISOString(), ...entry })}\n`;
    try {
      fs.appendFileSync(this.file, line);
      this.writeFailedLogged = false;
    } catch (err) {
      // A full or read-only disk must not fail the request being audited; say so once per failure streak.
      if (!this.writeFailedLogged) this.log('error', 'audit log write failed', { file: this.file, error: String(err) });
      this.writeFailedLogged = true;
    }
  }
}

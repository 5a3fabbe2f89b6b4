/**
 * Time is injected everywhere: timers, backoff, invisible-time expiry, delay and fault schedules read a
 * Clock, so tests advance a ManualClock instead of sleeping.
 */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (what goes into messages and ledgers). */
  wallMs(): number;
  /** Monotonic milliseconds, for measuring durations and scheduling. */
  monotonicMs(): number;
  /** Calls fn after delayMs; returns a cancel function. */
  setTimer(delayMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(handle);
  },
};

interface PendingTimer {
  dueMs: number;
  seq: number;
  fn: () => void;
}

/** A clock that moves only when a test calls advance(); timers fire in due order, ties in creation order. */
export class ManualClock implements Clock {
  private nowMs: number;
  private readonly wallOffsetMs: number;
  private timers: PendingTimer[] = [];
  private seq = 0;

  constructor(startWallMs = 1_700_000_000_000) {
    this.nowMs = 0;
    this.wallOffsetMs = startWallMs;
  }

  wallMs(): number {
    return this.wallOffsetMs + this.nowMs;
  }

  monotonicMs(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const timer = { dueMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward by ms, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const targetMs = this.nowMs + ms;
    for (;;) {
      this.timers.sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.dueMs > targetMs) break;
      this.timers.shift();
      this.nowMs = next.dueMs;
      next.fn();
    }
    this.nowMs = targetMs;
  }

  pendingTimerCount(): number {
    return this.timers.length;
  }
}

/**
 * Real time plus an offset a test can jump forward. For in-process servers driven by real clients over real
 * sockets: the network runs in real time, while invisible times, retries and delays are skipped over with
 * `advance(ms)` instead of slept through. Timers that fall due on the way fire at once.
 */
export class AdjustableClock implements Clock {
  private offsetMs = 0;
  private readonly timers = new Set<{ dueMs: number; fn: () => void; handle: NodeJS.Timeout }>();

  wallMs(): number {
    return Date.now() + this.offsetMs;
  }

  monotonicMs(): number {
    return performance.now() + this.offsetMs;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const timer = { dueMs: this.monotonicMs() + delayMs, fn, handle: undefined as unknown as NodeJS.Timeout };
    this.arm(timer, delayMs);
    this.timers.add(timer);
    return () => {
      clearTimeout(timer.handle);
      this.timers.delete(timer);
    };
  }

  private arm(timer: { dueMs: number; fn: () => void; handle: NodeJS.Timeout }, delayMs: number): void {
    timer.handle = setTimeout(
      () => {
        this.timers.delete(timer);
        timer.fn();
      },
      Math.max(0, delayMs),
    );
  }

  advance(ms: number): void {
    this.offsetMs += ms;
    const now = this.monotonicMs();
    for (const t of [...this.timers]) {
      clearTimeout(t.handle);
      const remainingMs = t.dueMs - now;
      if (remainingMs > 0) {
        this.arm(t, remainingMs);
        continue;
      }
      this.timers.delete(t);
      t.fn();
    }
  }
}

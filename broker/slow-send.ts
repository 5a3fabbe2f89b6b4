/**
 * Test-only: a broker slowed on purpose. Every send waits its turn in one line and holds it for `delayMs`, like a
 * store whose every write takes that long, so the broker can take at most 1000 / delayMs sends per second however
 * many clients send at once. `mqdrill capacity` tests use it to prove a slower broker measures a lower sustainable
 * rate. Off unless the broker config sets `testOnlySendDelayMs`; never meant for a real run.
 *
 * The line is a BoundedQueue: a send that finds it full is refused at once (TOO_MANY_REQUESTS, retriable) instead of
 * waiting without limit. Like RocketMQ's broker, which cleans requests that waited too long in its send queue
 * (waitTimeMillsInSendQueue, "broker busy"), a send whose turn comes after waitMaxMs in line is refused without
 * holding the line: after an overload the line empties within waitMaxMs instead of working through sends whose
 * clients gave up long ago.
 */
import { BoundedQueue } from '../lib/bounded-queue.ts';
import type { Clock } from '../lib/clock.ts';
import { BrokerError } from './errors.ts';

export const SLOW_SEND_WAITERS_MAX = 10_000;
export const SLOW_SEND_WAIT_MAX_MS = 1000;

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  sinceMs: number;
}

export class SlowSendGate {
  private readonly waiting: BoundedQueue<Waiter>;
  private busy = false;

  constructor(
    private readonly clock: Clock,
    readonly delayMs: number,
    waitersMax = SLOW_SEND_WAITERS_MAX,
    private readonly waitMaxMs = SLOW_SEND_WAIT_MAX_MS,
  ) {
    this.waiting = new BoundedQueue('broker.testOnlySendDelay', waitersMax);
  }

  /** Resolves once this send has held the line for delayMs; rejects with TOO_MANY_REQUESTS when the line is full
   *  or the send waited longer than waitMaxMs for its turn. */
  pass(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.waiting.push({ resolve, reject, sinceMs: this.clock.monotonicMs() })) {
        reject(
          new BrokerError(
            'TOO_MANY_REQUESTS',
            `the broker is slowed on purpose (testOnlySendDelayMs ${this.delayMs}) and ${this.waiting.countMax} ` +
              'sends already wait; retry later or remove testOnlySendDelayMs from the broker config',
          ),
        );
        return;
      }
      if (!this.busy) this.next();
    });
  }

  private next(): void {
    for (;;) {
      const waiter = this.waiting.shift();
      if (!waiter) {
        this.busy = false;
        return;
      }
      const waitedMs = this.clock.monotonicMs() - waiter.sinceMs;
      if (waitedMs > this.waitMaxMs) {
        waiter.reject(
          new BrokerError(
            'TOO_MANY_REQUESTS',
            `the broker is busy: this send waited ${Math.round(waitedMs)} ms in line (over ${this.waitMaxMs} ms; ` +
              `slowed on purpose by testOnlySendDelayMs ${this.delayMs}); retry later`,
          ),
        );
        continue;
      }
      this.busy = true;
      this.clock.setTimer(this.delayMs, () => {
        waiter.resolve();
        this.next();
      });
      return;
    }
  }
}

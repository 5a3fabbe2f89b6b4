/**
 * Test-only: a broker slowed on purpose. Every send waits its turn in one line and holds it for `delayMs`, like a
 * store whose every write takes that long, so the broker can take at most 1000 / delayMs sends per second however
 * many clients send at once. `mqdrill capacity` tests use it to prove a slower broker measures a lower sustainable
 * rate. Off unless the broker config sets `testOnlySendDelayMs`; never meant for a real run.
 *
 * The line is a BoundedQueue: a send that finds it full is refused at once (TOO_MANY_REQUESTS, retriable) instead of
 * waiting without limit.
 */
import { BoundedQueue } from '../lib/bounded-queue.ts';
import type { Clock } from '../lib/clock.ts';
import { fail } from './errors.ts';

export const SLOW_SEND_WAITERS_MAX = 10_000;

export class SlowSendGate {
  private readonly waiting: BoundedQueue<() => void>;
  private busy = false;

  constructor(
    private readonly clock: Clock,
    readonly delayMs: number,
    waitersMax = SLOW_SEND_WAITERS_MAX,
  ) {
    this.waiting = new BoundedQueue('broker.testOnlySendDelay', waitersMax);
  }

  /** Resolves once this send has held the line for delayMs; throws TOO_MANY_REQUESTS when the line is full. */
  pass(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.waiting.push(resolve)) {
        fail(
          'TOO_MANY_REQUESTS',
          `the broker is slowed on purpose (testOnlySendDelayMs ${this.delayMs}) and ${this.waiting.countMax} ` +
            'sends already wait; retry later or remove testOnlySendDelayMs from the broker config',
        );
      }
      if (!this.busy) this.next();
    });
  }

  private next(): void {
    const resolve = this.waiting.shift();
    if (!resolve) {
      this.busy = false;
      return;
    }
    this.busy = true;
    this.clock.setTimer(this.delayMs, () => {
      resolve();
      this.next();
    });
  }
}

import { BoundedQueue } from '../../lib/bounded-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { fail } from '../errors.ts';

interface Waiter {
  topic: string;
  wake(): void;
}

/**
 * Parked long-polling receives, by topic. A receive that found nothing waits here until a send, an ack or a
 * visibility change wakes its topic, its timer runs out, or its caller aborts. Bounded: when full, a new waiter is
 * refused with TOO_MANY_REQUESTS instead of growing without limit.
 */
export class LongPollWaiters {
  private readonly waiters: BoundedQueue<Waiter>;
  private readonly byTopic = new Map<string, Set<Waiter>>();

  constructor(
    private readonly clock: Clock,
    waitersMax: number,
  ) {
    this.waiters = new BoundedQueue<Waiter>('receive-long-poll-waiters', waitersMax);
  }

  get size(): number {
    return this.waiters.length;
  }

  /**
   * Resolves after waitMs (at least 1 ms), on wake(topic), or on abort, whichever comes first. Throws
   * TOO_MANY_REQUESTS at once when the waiters are full (the caller answers instead of polling again).
   */
  wait(topic: string, waitMs: number, abort?: AbortSignal): Promise<void> {
    let finish = () => {};
    const waiter: Waiter = { topic, wake: () => finish() };
    if (!this.waiters.push(waiter)) {
      fail('TOO_MANY_REQUESTS', `polling full: ${this.waiters.countMax} receives are already waiting`);
    }
    return new Promise<void>((resolve) => {
      let done = false;
      const cancelTimer = this.clock.setTimer(Math.max(1, waitMs), () => finish());
      const onAbort = () => finish();
      finish = () => {
        if (done) return;
        done = true;
        cancelTimer();
        abort?.removeEventListener('abort', onAbort);
        this.byTopic.get(topic)?.delete(waiter);
        this.waiters.removeWhere((w) => w === waiter);
        resolve();
      };
      let set = this.byTopic.get(topic);
      if (!set) {
        set = new Set();
        this.byTopic.set(topic, set);
      }
      set.add(waiter);
      if (abort?.aborted) finish();
      else abort?.addEventListener('abort', onAbort);
    });
  }

  /** Wakes every receive waiting on the topic; each looks again. */
  wake(topic: string): void {
    const set = this.byTopic.get(topic);
    if (!set || set.size === 0) return;
    for (const w of [...set]) w.wake();
  }

  /** Wakes everyone and refuses new waiters. */
  close(): void {
    for (const set of this.byTopic.values()) for (const w of [...set]) w.wake();
    this.waiters.dispose();
  }
}

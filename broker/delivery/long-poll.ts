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

export interface PollTimeInput {
  /** The request's longPollingTimeout; undefined when absent. */
  requestedMs: number | undefined;
  /** Time left before the call's gRPC deadline (Infinity without one). */
  remainingMs: number;
  /** The proxy's minimum long poll; 0 for lenient polling (any time, shortened to fit the deadline). */
  minMs: number;
  maxMs: number;
  /** The client's x-mq-client-version: clients before 5.0.3 get BAD_REQUEST, later ones ILLEGAL_POLLING_TIME. */
  clientVersion: string | undefined;
}

/** The answer is sent this long before the caller's deadline, so it arrives while the caller still waits. */
const deadlineMarginMs = 500;

/**
 * How long a receive may long-poll, by the rule of RocketMQ 5.3.3's proxy (ReceiveMessageActivity): the requested
 * time (or, when absent, the maximum) is raised to the minimum and cut to the maximum; if that is longer than the
 * deadline leaves, the poll is cut to the remaining time when that is still at least the minimum, and refused
 * otherwise. The refusal says what RocketMQ says, with the numbers. Polls end deadlineMarginMs before the deadline.
 */
export function longPollTimeMs(p: PollTimeInput): number {
  let pollMs = Math.min(Math.max(p.requestedMs ?? p.maxMs, p.minMs), p.maxMs);
  if (pollMs > p.remainingMs) {
    if (p.remainingMs < p.minMs) {
      const code = !p.clientVersion || '5.0.3' > p.clientVersion ? 'BAD_REQUEST' : 'ILLEGAL_POLLING_TIME';
      fail(
        code,
        'The deadline time remaining is not enough for polling, please check network condition' +
          ` (the call's deadline leaves ${Math.round(p.remainingMs)} ms; long polling needs at least ${p.minMs} ms:` +
          ' give the receive a longer timeout, e.g. an awaitDuration of 5 s or more)',
      );
    }
    pollMs = p.remainingMs;
  }
  return Math.max(0, Math.min(pollMs, p.remainingMs - deadlineMarginMs));
}

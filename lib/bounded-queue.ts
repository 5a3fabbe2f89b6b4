/**
 * Every in-memory queue has a name, a maximum and an answer when full: push() returns false and the caller
 * turns that into a status code (TOO_MANY_REQUESTS, RESOURCE_EXHAUSTED) or a dropped-iteration count. Each queue
 * registers itself so its length can be exported as a metric.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;
  rejectedTotal = 0;

  constructor(
    readonly name: string,
    readonly countMax: number,
  ) {
    if (!(countMax > 0)) throw new Error(`queue ${name}: countMax must be > 0`);
    queueRegistry.add(this);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): boolean {
    if (this.length >= this.countMax) {
      this.rejectedTotal++;
      return false;
    }
    this.items.push(item);
    return true;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Removes every item matching pred; returns how many were removed. */
  removeWhere(pred: (item: T) => boolean): number {
    const kept = this.items.slice(this.head).filter((x) => !pred(x));
    const removed = this.length - kept.length;
    this.items = kept;
    this.head = 0;
    return removed;
  }

  dispose(): void {
    queueRegistry.delete(this);
  }
}

/** All live bounded queues, for the queue-length metrics. */
export const queueRegistry = new Set<BoundedQueue<unknown>>();

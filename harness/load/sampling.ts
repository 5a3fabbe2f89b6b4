/**
 * Drawing what each message looks like from a MessageSpec: key (uniform or Zipf), per-key sequence, tag, body size,
 * delay, transaction outcome and poison mark. Deterministic from the seed, so a run replays exactly.
 */
import type { Random } from '../../lib/random.ts';
import { splitCount } from './executors/index.ts';
import type { Distribution, KeySpec, MessageSpec } from './options.ts';

export function sample(d: Distribution, random: Random): number {
  switch (d.distribution) {
    case 'constant':
      return d.value;
    case 'uniform':
      return d.min + random.next() * (d.max - d.min);
    case 'normal': {
      // Box-Muller; clamp to [min, max].
      const u = 1 - random.next();
      const v = random.next();
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      return Math.min(d.max, Math.max(d.min, d.mean + z * d.stddev));
    }
    case 'exponential':
      return Math.min(d.max, -Math.log(1 - random.next()) * d.mean);
  }
}

/**
 * Picks key indexes for one segment of the producers: segment i of n owns the keys k with k % n == i, so a FIFO
 * message group is always sent by one producer and its sequence numbers are in send order.
 */
export class KeyPicker {
  private readonly cdf: Float64Array | undefined;
  private readonly localCount: number;

  constructor(
    private readonly spec: KeySpec,
    private readonly segment: { index: number; count: number },
  ) {
    this.localCount = Math.max(1, splitCount(spec.count, segment.index, segment.count));
    if (spec.distribution === 'zipf') {
      this.cdf = new Float64Array(this.localCount);
      let sum = 0;
      for (let j = 0; j < this.localCount; j++) {
        sum += 1 / (j + 1) ** spec.exponent;
        this.cdf[j] = sum;
      }
      for (let j = 0; j < this.localCount; j++) this.cdf[j] = (this.cdf[j] as number) / sum;
    }
  }

  pick(random: Random): string {
    let local: number;
    if (this.cdf) {
      const u = random.next();
      let lo = 0;
      let hi = this.localCount - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((this.cdf[mid] as number) < u) lo = mid + 1;
        else hi = mid;
      }
      local = lo;
    } else {
      local = random.int(0, this.localCount - 1);
    }
    return `${this.spec.prefix}${local * this.segment.count + this.segment.index}`;
  }
}

export interface PlannedMessage {
  /** Harness message id, unique in the run: `<driverId>-<n>`. */
  id: string;
  /** Ordering key (FIFO message group, else the message key). */
  key: string;
  /** Per-key sequence, 1-based. */
  seq: number;
  tag: string | undefined;
  bodySizeBytes: number;
  /** DELAY: deliver-at time, epoch ms (set at send time). */
  delayMs: number | undefined;
  transaction: 'commit' | 'rollback' | 'unknown' | undefined;
  poison: boolean;
}

export class MessagePlanner {
  private readonly keys: KeyPicker | undefined;
  private readonly sequences = new Map<string, number>();
  private count = 0;

  constructor(
    private readonly spec: MessageSpec,
    private readonly driverId: string,
    segment: { index: number; count: number },
    private readonly random: Random,
  ) {
    this.keys = spec.keys ? new KeyPicker(spec.keys, segment) : undefined;
  }

  next(): PlannedMessage {
    const id = `${this.driverId}-${++this.count}`;
    const key = this.keys ? this.keys.pick(this.random) : id;
    const seq = (this.sequences.get(key) ?? 0) + 1;
    if (this.keys) this.sequences.set(key, seq);
    const tags = this.spec.tags;
    const tag = tags.length === 0 ? undefined : tags.length === 1 ? tags[0] : this.random.pick(tags);
    const bodySizeBytes = Math.max(1, Math.round(sample(this.spec.bodySizeBytes, this.random)));
    const delayMs = this.spec.delayMs ? Math.round(sample(this.spec.delayMs, this.random)) : undefined;
    let transaction: PlannedMessage['transaction'];
    if (this.spec.transaction) {
      const u = this.random.next();
      const t = this.spec.transaction;
      transaction = u < t.commit ? 'commit' : u < t.commit + t.rollback ? 'rollback' : 'unknown';
    }
    const poison = this.spec.poisonShare > 0 && this.random.next() < this.spec.poisonShare;
    return { id, key, seq, tag, bodySizeBytes, delayMs, transaction, poison };
  }
}

/** A deterministic share of ids: FNV-1a of id and salt, then murmur3's finaliser, mapped to [0, 1). */
export function idShare(id: string, salt: string): number {
  let h = 0x811c9dc5;
  const s = `${id}|${salt}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

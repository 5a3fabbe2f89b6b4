import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** Randomness is injected and seeded: fault schedules, key choice and body sizes replay from a seed. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [minInclusive, maxInclusive]. */
  int(minInclusive: number, maxInclusive: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): Random {
  // Small seeds give poor first outputs from xoroshiro; scramble the seed and discard a warm-up.
  const rng = xoroshiro128plus(scramble(seed));
  for (let i = 0; i < 16; i++) rng.next();
  const int = (min: number, max: number): number => uniformInt(rng, min, max);
  return {
    next: () => int(0, 0x3fffffff) / 0x40000000,
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from an empty array');
      return items[int(0, items.length - 1)] as T;
    },
  };
}

/** murmur3's 32-bit finaliser: spreads nearby seeds (1, 2, 3...) over the whole state space. */
function scramble(seed: number): number {
  let h = seed | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

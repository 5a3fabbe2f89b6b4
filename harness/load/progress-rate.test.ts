import { describe, expect, test } from 'vitest';
import { ProgressRate } from './progress-rate.ts';

describe('progress rate', () => {
  test('counters updated once a second, printed every 200 ms: the rate is the real rate, never 0 or 5x', () => {
    const rate = new ProgressRate();
    const seen: number[] = [];
    // 500 msg/s, reported once a second (the total jumps by 500 at each whole second), sampled every 200 ms.
    for (let t = 0; t <= 10_000; t += 200) {
      const total = Math.floor(t / 1000) * 500;
      const r = rate.update(t, total);
      if (t >= 2000) seen.push(r);
    }
    for (const r of seen) expect(r).toBeCloseTo(500, 0);
  });

  test('a stall shows 0/s after a while; a restart shows the new rate', () => {
    const rate = new ProgressRate();
    for (let t = 0; t <= 3000; t += 200) rate.update(t, Math.floor(t / 1000) * 100);
    expect(rate.update(6000, 300)).toBe(0);
    rate.update(7000, 500);
    expect(rate.update(8000, 700)).toBeCloseTo(200, 0);
  });
});

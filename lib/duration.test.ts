import { describe, expect, test } from 'vitest';
import { formatDurationMs } from './duration.ts';

describe('formatDurationMs', () => {
  test('minutes and seconds roll over at 60 s: never 1m60s', () => {
    expect(formatDurationMs(119_600)).toBe('2m');
    expect(formatDurationMs(119_400)).toBe('1m59s');
    expect(formatDurationMs(60_000)).toBe('1m');
    expect(formatDurationMs(61_500)).toBe('1m2s');
    expect(formatDurationMs(3_599_700)).toBe('60m');
  });

  test('below a minute: ms, then seconds with up to two decimals', () => {
    expect(formatDurationMs(250)).toBe('250ms');
    expect(formatDurationMs(1500)).toBe('1.5s');
  });
});

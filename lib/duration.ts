/**
 * k6-style duration strings ("250ms", "30s", "1m30s", "2h") to milliseconds. Written here rather than taken from a
 * package because the common one (`ms`) rejects compound forms like "1m30s" that k6 users write.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

export function parseDurationMs(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`invalid duration ${text}: must be a non-negative number`);
    return text;
  }
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') throw new Error('invalid duration "": expected e.g. "30s", "1m30s", "250ms"');
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(s); m; m = PART.exec(s)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    consumed = PART.lastIndex;
  }
  if (consumed !== s.length) throw new Error(`invalid duration "${text}": expected e.g. "30s", "1m30s", "250ms"`);
  return total;
}

export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`;
  // Rounded to whole seconds before splitting, so 119.6 s is 2m, never 1m60s.
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return s ? `${m}m${s}s` : `${m}m`;
}

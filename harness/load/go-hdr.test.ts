/**
 * The metrics encoding shared with the Go driver, both ways, without a broker: the engine's MetricRegistry merges
 * a histogram the Go driver encoded (drivers/go/internal/load/testdata/go-histogram.txt, written by its
 * `go test`), and the fixture the Go tests decode (testdata/ts-fixture.json) is still what this side produces.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, test } from 'vitest';
import { MetricRegistry } from './metrics.ts';
import { idShare } from './sampling.ts';

const testdata = resolve(import.meta.dirname, '../../drivers/go/internal/load/testdata');

describe('HDR histograms and id shares shared with the Go driver', () => {
  test('a Go-encoded histogram (0.1 ms .. 1 s, 10,000 values) merges with exact percentiles', () => {
    const encoded = readFileSync(resolve(testdata, 'go-histogram.txt'), 'utf8').trim();
    expect(encoded.startsWith('HISTFAA')).toBe(true);
    const registry = new MetricRegistry();
    const tags = { scenario: 's' };
    const series = {
      name: 'send_duration',
      tags,
      hdr: encoded,
      minMs: 0.1,
      maxMs: 1000,
      sumMs: 5_000_500,
      count: 10_000,
    };
    registry.merge({ series: [series] });
    registry.merge({ series: [series] }); // a second snapshot adds up
    expect(registry.aggregate('send_duration', {}, { kind: 'count' }, 1000)).toBe(20_000);
    const p50 = registry.aggregate('send_duration', {}, { kind: 'p', percentile: 50 }, 1000) ?? 0;
    const p99 = registry.aggregate('send_duration', {}, { kind: 'p', percentile: 99 }, 1000) ?? 0;
    expect(Math.abs(p50 - 500) / 500).toBeLessThan(0.002);
    expect(Math.abs(p99 - 990) / 990).toBeLessThan(0.002);
  });

  test('the fixture the Go tests decode is what this side encodes and computes today', () => {
    const fixture = JSON.parse(readFileSync(resolve(testdata, 'ts-fixture.json'), 'utf8')) as {
      histogram: string;
      p50: number;
      count: number;
      shares: { id: string; salt: string; share: number }[];
    };
    for (const s of fixture.shares) expect(idShare(s.id, s.salt)).toBe(s.share);
    const h = hdr.build({ bitBucketSize: 'packed', autoResize: true, numberOfSignificantValueDigits: 3 });
    for (let v = 1; v <= 10_000; v++) h.recordValue(v * 100);
    expect(hdr.encodeIntoCompressedBase64(h)).toBe(fixture.histogram);
    expect(h.getValueAtPercentile(50)).toBe(fixture.p50);
  });
});

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { buildSchedule, describeSchedule, FaultSpecError, parseFaultSchedule } from './index.ts';

function problemsOf(value: unknown, options: Parameters<typeof parseFaultSchedule>[1] = {}): string[] {
  try {
    parseFaultSchedule(value, options);
  } catch (err) {
    if (err instanceof FaultSpecError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('fault spec validation', () => {
  test('a timed schedule of every family parses, with defaults filled in', () => {
    const spec = parseFaultSchedule([
      { kind: 'latency', target: 'broker-1', latencyMs: 200, at: '10s', duration: '5s' },
      { kind: 'down', target: '*', at: '1m', duration: 2000 },
      { kind: 'kill', target: 'broker-2', at: '20s', duration: '3s' },
      { kind: 'consumer-failing', target: 'orders-cg', failShare: 0.1, at: '0s', duration: '30s' },
    ]);
    expect(spec[0]).toEqual({
      type: 'timed',
      fault: { kind: 'latency', target: 'broker-1', latencyMs: 200, jitterMs: 0, stream: 'downstream', toxicity: 1 },
      atMs: 10_000,
      durationMs: 5_000,
    });
    expect(spec.map((s) => (s.type === 'timed' ? s.atMs : -1))).toEqual([10_000, 60_000, 20_000, 0]);
  });

  test('every problem is reported at once, each with its path; unknown keys are rejected', () => {
    const problems = problemsOf(
      [
        { kind: 'latency', target: 'broker-1', latencyMs: -5, latencyms: 3, at: '10s', duration: '5s' },
        { kind: 'split', target: 'broker-1', at: '1s', duration: '1s' },
        { kind: 'kill', at: 'soon', duration: 0 },
        { random: { count: 0, kinds: ['bandwidth', 'flood'], durationMin: '5s', durationMax: '1s', extra: 1 } },
        { kind: 'slicer', target: 'b', averageSizeBytes: 10, sizeVariationBytes: 20, at: '1s', duration: '1s' },
      ],
      { knownTargets: { network: ['broker-1'] } },
    );
    expect(problems).toEqual([
      'faults[0].latencyms: unknown option (expected one of: kind, target, latencyMs, jitterMs, stream, toxicity, ' +
        'at, duration)',
      'faults[0].latencyMs: must be >= 0',
      expect.stringMatching(/^faults\[1\]\.kind: must be one of: latency, .* \(got "split"\)$/),
      'faults[2].target: is required',
      expect.stringMatching(/^faults\[2\]\.at: invalid duration "soon"/),
      'faults[2].duration: must be > 0',
      'faults[3].random.extra: unknown option (expected one of: count, kinds, targets, durationMin, durationMax, ' +
        'within)',
      'faults[3].random.count: must be >= 1',
      expect.stringMatching(/^faults\[3\]\.random\.kinds\[1\]\.kind: must be one of: /),
      'faults[3].random.durationMax: must be >= durationMin',
      'faults[4].target: unknown network target "b" (expected *, broker-1)',
      'faults[4].sizeVariationBytes: must be smaller than averageSizeBytes',
    ]);
  });

  test('loss: lossShare is required and a share 0..1, stream defaults to downstream, no toxicity', () => {
    const [entry] = parseFaultSchedule([
      { kind: 'loss', target: 'broker-1', lossShare: 0.25, at: '1s', duration: '2s' },
    ]);
    expect(entry).toMatchObject({ fault: { kind: 'loss', target: 'broker-1', lossShare: 0.25, stream: 'downstream' } });
    expect(
      problemsOf([
        { kind: 'loss', target: 'broker-1', at: '1s', duration: '1s' },
        { kind: 'loss', target: 'broker-1', lossShare: 1.5, toxicity: 1, at: '1s', duration: '1s' },
      ]),
    ).toEqual([
      'faults[0].lossShare: is required',
      'faults[1].toxicity: unknown option (expected one of: kind, target, lossShare, stream, at, duration)',
      'faults[1].lossShare: must be <= 1',
    ]);
  });

  test('a fault starting after the load phase is rejected when the load duration is known', () => {
    const late = [{ kind: 'pause', target: 'broker-1', at: '2m', duration: '1s' }];
    expect(problemsOf(late, { loadDurationMs: 60_000 })).toEqual([
      'faults[0].at: must be before the end of the load phase (60000ms)',
    ]);
    expect(problemsOf('latency')).toEqual(['faults: must be a list of faults']);
  });
});

describe('fault schedules', () => {
  test('timed faults may overlap; the schedule is sorted by start and numbered in that order', () => {
    const spec = parseFaultSchedule([
      { kind: 'kill', target: 'broker-2', at: '20s', duration: '3s' },
      { kind: 'latency', target: 'broker-1', latencyMs: 100, jitterMs: 10, at: '10s', duration: '15s' },
      { kind: 'down', target: '*', at: '10s', duration: '1s' },
    ]);
    const schedule = buildSchedule(spec, { seed: 1, loadDurationMs: 60_000 });
    expect(schedule.map((s) => [s.id, s.name, s.startMs, s.endMs])).toEqual([
      [1, 'latency-broker-1', 10_000, 25_000],
      [2, 'down-all', 10_000, 11_000],
      [3, 'kill-broker-2', 20_000, 23_000],
    ]);
    expect(describeSchedule(schedule)).toEqual([
      '10s–25s  latency 100ms ±10ms on broker-1',
      '10s–11s  down on every target',
      '20s–23s  kill on broker-2',
    ]);
  });

  test('random faults land inside their window with durations in range, targets drawn from the list', () => {
    const spec = parseFaultSchedule([
      {
        random: {
          count: 50,
          kinds: ['latency', { kind: 'kill', target: 'broker-3' }, 'consumer-slow'],
          targets: ['broker-1', 'broker-2'],
          durationMin: '1s',
          durationMax: '4s',
          within: { from: '10s', to: '50s' },
        },
      },
    ]);
    const schedule = buildSchedule(spec, { seed: 42, loadDurationMs: 60_000 });
    expect(schedule).toHaveLength(50);
    for (const s of schedule) {
      expect(s.startMs).toBeGreaterThanOrEqual(10_000);
      expect(s.endMs).toBeLessThanOrEqual(50_000);
      expect(s.endMs - s.startMs).toBeGreaterThanOrEqual(1_000);
      expect(s.endMs - s.startMs).toBeLessThanOrEqual(4_000);
      if (s.fault.kind === 'kill') expect(s.fault.target).toBe('broker-3');
      else expect(['broker-1', 'broker-2']).toContain(s.fault.target);
      if (s.fault.kind === 'latency') expect(s.fault.latencyMs).toBe(200);
    }
    expect(new Set(schedule.map((s) => s.fault.kind))).toEqual(new Set(['latency', 'kill', 'consumer-slow']));
  });

  test('property: same spec and seed, same sorted schedule; every fault heals after it starts', () => {
    const kinds = fc.subarray(['latency', 'bandwidth', 'down', 'kill', 'pause', 'consumer-crash'], { minLength: 1 });
    const entry = fc.record({ count: fc.integer({ min: 1, max: 20 }), kinds, minS: fc.integer({ min: 1, max: 5 }) });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 3 }), fc.integer(), (entries, seed) => {
        const raw = entries.map((e) => ({
          random: { count: e.count, kinds: e.kinds, durationMin: `${e.minS}s`, durationMax: `${e.minS + 3}s` },
        }));
        const build = () => buildSchedule(parseFaultSchedule(raw), { seed, loadDurationMs: 30_000 });
        const first = build();
        expect(build()).toEqual(first);
        expect(first.map((s) => s.id)).toEqual(first.map((_, i) => i + 1));
        for (let i = 1; i < first.length; i++) expect(first[i]!.startMs).toBeGreaterThanOrEqual(first[i - 1]!.startMs);
        for (const s of first) expect(s.endMs).toBeGreaterThan(s.startMs);
      }),
      { numRuns: 200 },
    );
  });

  test('a different seed gives a different random schedule', () => {
    const spec = parseFaultSchedule([
      { random: { count: 10, kinds: ['latency'], durationMin: '1s', durationMax: '5s' } },
    ]);
    const starts = (seed: number) => buildSchedule(spec, { seed, loadDurationMs: 120_000 }).map((s) => s.startMs);
    expect(starts(1)).not.toEqual(starts(2));
  });
});

/**
 * Liveness on hand-made histories (one bucket a second): a fault healed while producers stay stuck in reconnect
 * backoff must fail; a fault the system recovers from passes with its recovery time; a heal at the very end of the
 * load is unknown, never pass; the unknown share and the drain's end are gates.
 */
import { describe, expect, test } from 'vitest';
import type { Timeline, TimeWindow } from '../../reports/schema.ts';
import { computeLiveness, livenessGates } from './liveness.ts';

const T0 = 1_700_000_000_000;
const S = 1000;

/** Per second: [ok, fail, unknown, received]. */
function timeline(rows: Array<[number, number, number, number]>): Timeline {
  const col = (i: number) => rows.map((r) => r[i] as number);
  return {
    startMs: T0,
    bucketMs: S,
    sendOk: col(0),
    sendFail: col(1),
    sendUnknown: col(2),
    received: col(3),
    acked: col(3),
    backlog: rows.map(() => 0),
    brokerBacklog: rows.map(() => null),
    sendP50Ms: rows.map((r) => (r[0] > 0 ? 2 : null)),
    sendP99Ms: rows.map((r) => (r[0] > 0 ? 9 : null)),
    e2eP50Ms: rows.map(() => null),
    e2eP99Ms: rows.map(() => null),
  };
}

const load = (seconds: number): TimeWindow[] => [
  { name: 'load', startMs: T0, endMs: T0 + seconds * S },
  { name: 'drain', startMs: T0 + seconds * S, endMs: T0 + (seconds + 2) * S },
];
const fault = (from: number, to: number): TimeWindow[] => [
  { name: 'kill-broker-0', startMs: T0 + from * S, endMs: T0 + to * S },
];
const steady: [number, number, number, number] = [100, 0, 0, 100];

describe('liveness', () => {
  test('producers stuck in reconnect backoff after a broker kill: no success after the heal -> fail', () => {
    // 4 s steady, a 2 s kill, then 4 s of sends that all time out (unknown): nothing succeeds after the heal.
    const rows: Array<[number, number, number, number]> = [...Array(4).fill(steady), ...Array(6).fill([0, 0, 60, 0])];
    const live = computeLiveness({ timeline: timeline(rows), faults: fault(4, 6), phases: load(10) });
    const f = live.faults[0];
    expect(f?.status).toBe('not-recovered');
    expect(f?.recoveryMs).toBeUndefined();
    expect(f?.before?.okShare).toBe(1);
    expect(f?.after?.okShare).toBe(0);
    expect(f?.after?.unknownShare).toBe(1);
    const gates = livenessGates(live);
    expect(gates.find((g) => g.metric === 'recovery')?.status).toBe('fail');
    expect(gates.find((g) => g.metric === 'recovery')?.note).toContain('did not succeed again');
    const unknown = gates.find((g) => g.metric === 'send_unknown_share');
    // Outside the fault and the 3 s after its heal (in-flight sends end unknown at their timeout): 400 ok before it,
    // 60 unknown in the last second.
    expect(unknown?.actual).toBeCloseTo(60 / 460);
    expect(unknown?.status).toBe('pass');
    const strict = livenessGates(live, { recoveryMs: 10_000, unknownShare: 0.1 });
    expect(strict.find((g) => g.metric === 'send_unknown_share')?.status).toBe('fail');
  });

  test('sends succeed again but far below the pre-fault rate (a trickle) -> not recovered', () => {
    const rows: Array<[number, number, number, number]> = [
      ...Array(4).fill(steady),
      ...Array(2).fill([0, 50, 50, 0]),
      ...Array(4).fill([10, 0, 0, 10]),
    ];
    const live = computeLiveness({ timeline: timeline(rows), faults: fault(4, 6), phases: load(10) });
    expect(live.faults[0]?.status).toBe('not-recovered');
  });

  test('receives never come back although sends do -> not recovered', () => {
    const rows: Array<[number, number, number, number]> = [
      ...Array(4).fill(steady),
      ...Array(2).fill([0, 100, 0, 0]),
      ...Array(4).fill([100, 0, 0, 0]),
    ];
    const live = computeLiveness({ timeline: timeline(rows), faults: fault(4, 6), phases: load(10) });
    expect(live.faults[0]?.status).toBe('not-recovered');
    expect(live.faults[0]?.note).toContain('nothing was received');
  });

  test('a system that recovers 2 s after the heal passes with recovery 2 s', () => {
    const rows: Array<[number, number, number, number]> = [
      ...Array(4).fill(steady),
      ...Array(2).fill([0, 100, 0, 0]),
      ...Array(2).fill([5, 95, 0, 0]),
      ...Array(4).fill(steady),
    ];
    const live = computeLiveness({ timeline: timeline(rows), faults: fault(4, 6), phases: load(12) });
    const f = live.faults[0];
    expect(f?.status).toBe('recovered');
    expect(f?.recoveryMs).toBe(2000);
    expect(f?.during?.okShare).toBe(0);
    expect(f?.before?.sendOkRate).toBe(100);
    const gates = livenessGates(live);
    expect(gates.map((g) => [g.metric, g.status])).toEqual([
      ['recovery', 'pass'],
      ['send_unknown_share', 'pass'],
      ['drain_ended', 'pass'],
    ]);
    expect(livenessGates(live, { recoveryMs: 1000, unknownShare: 0.2 })[0]?.status).toBe('fail');
  });

  test('the scheduled rate: a burst before the fault and the base rate after it still counts as recovered', () => {
    // 1000/s burst before the fault, the schedule falls to 100/s after it: 100 ok/s is the full expected rate.
    const rows: Array<[number, number, number, number]> = [
      ...Array(4).fill([1000, 0, 0, 1000]),
      ...Array(2).fill([0, 0, 0, 0]),
      ...Array(4).fill(steady),
    ];
    const input = { timeline: timeline(rows), faults: fault(4, 6), phases: load(10) };
    expect(computeLiveness(input).faults[0]?.status).toBe('not-recovered');
    const scheduledRate = (wallMs: number) => (wallMs < T0 + 4 * S ? 1000 : 100);
    const live = computeLiveness({ ...input, scheduledRate });
    expect(live.faults[0]?.status).toBe('recovered');
    expect(live.faults[0]?.recoveryMs).toBe(0);
  });

  test('a fault shorter than a bucket and off the bucket grid still has a whole bucket before and after it', () => {
    // The fault covers 4.7 s - 5.0 s: no 1 s bucket lies inside the 300 ms before it, the one ending at 4 s is taken.
    const rows: Array<[number, number, number, number]> = Array(10).fill(steady);
    const faults = [{ name: 'latency-broker-0', startMs: T0 + 4.7 * S, endMs: T0 + 5 * S }];
    const f = computeLiveness({ timeline: timeline(rows), faults, phases: load(10) }).faults[0];
    expect(f?.before?.sendsOk).toBe(100);
    expect(f?.before?.endMs).toBe(T0 + 4 * S);
    expect(f?.after?.startMs).toBe(T0 + 5 * S);
    expect(f?.status).toBe('recovered');
  });

  test('a fault in the first bucket of the load has nothing before it: unknown, never pass', () => {
    const rows: Array<[number, number, number, number]> = Array(6).fill(steady);
    const faults = [{ name: 'latency-broker-0', startMs: T0 + 0.5 * S, endMs: T0 + 1 * S }];
    const live = computeLiveness({ timeline: timeline(rows), faults, phases: load(6) });
    expect(live.faults[0]?.status).toBe('unknown');
    expect(livenessGates(live)[0]?.status).toBe('unknown');
  });

  test("the second fault looks back no further than the first one's heal", () => {
    const rows: Array<[number, number, number, number]> = [
      ...Array(2).fill(steady),
      ...Array(2).fill([0, 100, 0, 0]),
      ...Array(6).fill(steady),
    ];
    const faults = [
      { name: 'kill-broker-0', startMs: T0 + 2 * S, endMs: T0 + 4 * S },
      { name: 'latency-broker-0', startMs: T0 + 5 * S, endMs: T0 + 8 * S },
    ];
    const second = computeLiveness({ timeline: timeline(rows), faults, phases: load(10) }).faults[1];
    expect(second?.before?.startMs).toBe(T0 + 4 * S);
    expect(second?.before?.okShare).toBe(1);
  });

  test('a heal at the end of the load is unknown, never pass; a fault never healed is unknown', () => {
    const rows: Array<[number, number, number, number]> = [...Array(4).fill(steady), ...Array(2).fill([0, 9, 0, 0])];
    const late = computeLiveness({ timeline: timeline(rows), faults: fault(4, 6), phases: load(6) });
    expect(late.faults[0]?.status).toBe('unknown');
    expect(livenessGates(late)[0]?.status).toBe('unknown');
    const open = computeLiveness({
      timeline: timeline(rows),
      faults: [{ name: 'down-broker-0', startMs: T0 + 4 * S }],
      phases: load(6),
    });
    expect(open.faults[0]?.status).toBe('unknown');
  });

  test('sends unknown with no fault to blame (a silent target) fail the unknown-share gate', () => {
    const rows: Array<[number, number, number, number]> = Array(6).fill([70, 0, 30, 70]);
    const live = computeLiveness({ timeline: timeline(rows), faults: [], phases: load(6) });
    const gate = livenessGates(live).find((g) => g.metric === 'send_unknown_share');
    expect(gate?.status).toBe('fail');
    expect(gate?.actual).toBeCloseTo(0.3);
  });

  test('a drain that never ended fails its gate', () => {
    const rows: Array<[number, number, number, number]> = Array(4).fill(steady);
    const phases: TimeWindow[] = [
      { name: 'load', startMs: T0, endMs: T0 + 4 * S },
      { name: 'drain', startMs: T0 + 4 * S },
    ];
    const live = computeLiveness({ timeline: timeline(rows), faults: [], phases });
    expect(live.drainEnded).toBe(false);
    expect(livenessGates(live).find((g) => g.metric === 'drain_ended')?.status).toBe('fail');
    const told = computeLiveness({ timeline: timeline(rows), faults: [], phases: load(4), drainEnded: false });
    expect(livenessGates(told).find((g) => g.metric === 'drain_ended')?.status).toBe('fail');
  });
});

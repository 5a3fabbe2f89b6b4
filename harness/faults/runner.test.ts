import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import {
  buildSchedule,
  type FaultError,
  type FaultEvent,
  type FaultInjector,
  FaultRunner,
  type FaultSpec,
  faultAnnotations,
  faultLedgerRecord,
  parseFaultSchedule,
  type ScheduledFault,
} from './index.ts';

/** Records every call as "inject kind#id"; throws for the ids in failing. */
class FakeInjector implements FaultInjector {
  readonly calls: string[] = [];
  constructor(private readonly failing: { inject?: number[]; heal?: number[] } = {}) {}

  async inject(fault: FaultSpec, id: number): Promise<void> {
    this.calls.push(`inject ${fault.kind}#${id}`);
    if (this.failing.inject?.includes(id)) throw new Error(`cannot ${fault.kind}`);
  }

  async heal(fault: FaultSpec, id: number): Promise<void> {
    this.calls.push(`heal ${fault.kind}#${id}`);
    if (this.failing.heal?.includes(id)) throw new Error(`cannot heal ${fault.kind}`);
  }
}

function scheduleOf(raw: unknown[]): ScheduledFault[] {
  return buildSchedule(parseFaultSchedule(raw), { seed: 7, loadDurationMs: 60_000 });
}

function runnerWith(raw: unknown[], injector: FakeInjector) {
  const clock = new ManualClock();
  const events: FaultEvent[] = [];
  const errors: FaultError[] = [];
  const runner = new FaultRunner({
    clock,
    schedule: scheduleOf(raw),
    injectors: { network: injector, process: injector, consumer: injector },
    onEvent: (e) => events.push(e),
    onError: (e) => errors.push(e),
  });
  /** Moves time in 500 ms steps, letting the runner's steps finish at each, as real time would. */
  const advance = async (ms: number) => {
    for (let leftMs = ms; leftMs > 0; leftMs -= 500) {
      clock.advance(Math.min(500, leftMs));
      await runner.idle();
    }
  };
  return { clock, runner, events, errors, advance };
}

const latency = { kind: 'latency', target: 'broker-1', latencyMs: 100 };

describe('fault runner', () => {
  test('overlapping faults: each injected at its start, healed at its end, events stamped with wall time', async () => {
    const injector = new FakeInjector();
    const { runner, events, advance } = runnerWith(
      [
        { ...latency, at: '10s', duration: '20s' },
        { kind: 'kill', target: 'broker-2', at: '15s', duration: '5s' },
      ],
      injector,
    );
    runner.start();
    await advance(9_999);
    expect(injector.calls).toEqual([]);
    await advance(1);
    expect(injector.calls).toEqual(['inject latency#1']);
    await advance(7_000);
    expect(runner.activeFaults().map((f) => f.name)).toEqual(['latency-broker-1', 'kill-broker-2']);
    await advance(30_000);
    expect(injector.calls).toEqual(['inject latency#1', 'inject kill#2', 'heal kill#2', 'heal latency#1']);
    expect(events.map((e) => [e.type, e.id, e.atWallMs - 1_700_000_000_000])).toEqual([
      ['fault-start', 1, 10_000],
      ['fault-start', 2, 15_000],
      ['fault-end', 2, 20_000],
      ['fault-end', 1, 30_000],
    ]);
    expect(runner.activeFaults()).toEqual([]);
  });

  test('heal order: at one instant heals go before injects, the latest-started fault healed first', async () => {
    const injector = new FakeInjector();
    const { runner, advance } = runnerWith(
      [
        { kind: 'down', target: 'broker-1', at: '1s', duration: '4s' },
        { kind: 'pause', target: 'broker-1', at: '2s', duration: '3s' },
        { kind: 'down', target: 'broker-1', at: '5s', duration: '1s' },
      ],
      injector,
    );
    runner.start();
    await advance(10_000);
    expect(injector.calls).toEqual([
      'inject down#1',
      'inject pause#2',
      'heal pause#2',
      'heal down#1',
      'inject down#3',
      'heal down#3',
    ]);
  });

  test('healAll cancels the steps to come and heals everything in force, latest first', async () => {
    const injector = new FakeInjector();
    const { runner, events, advance } = runnerWith(
      [
        { ...latency, at: '1s', duration: '1m' },
        { kind: 'consumer-slow', target: '*', processingMs: 50, at: '2s', duration: '1m' },
        { kind: 'kill', target: 'broker-2', at: '30s', duration: '1s' },
      ],
      injector,
    );
    runner.start();
    await advance(5_000);
    await runner.healAll();
    await runner.healAll();
    await advance(120_000);
    expect(injector.calls).toEqual([
      'inject latency#1',
      'inject consumer-slow#2',
      'heal consumer-slow#2',
      'heal latency#1',
    ]);
    expect(events.filter((e) => e.type === 'fault-end').map((e) => e.id)).toEqual([2, 1]);
  });
});

describe('fault runner: failures', () => {
  test('a failing inject is reported and does not stop the others; its heal is skipped', async () => {
    const injector = new FakeInjector({ inject: [1] });
    const { runner, events, errors, advance } = runnerWith(
      [
        { ...latency, at: '1s', duration: '2s' },
        { kind: 'pause', target: 'broker-1', at: '1s', duration: '2s' },
      ],
      injector,
    );
    runner.start();
    await advance(5_000);
    expect(injector.calls).toEqual(['inject latency#1', 'inject pause#2', 'heal pause#2']);
    expect(errors.map((e) => [e.step, e.id, e.error.message])).toEqual([['inject', 1, 'cannot latency']]);
    expect(events.map((e) => `${e.type}#${e.id}`)).toEqual(['fault-start#2', 'fault-end#2']);
    expect(runner.errors).toEqual(errors);
  });

  test('a failing heal is reported, the fault stays in force, and healAll tries it again', async () => {
    const injector = new FakeInjector({ heal: [1] });
    const { runner, errors, advance } = runnerWith([{ ...latency, at: '1s', duration: '1s' }], injector);
    runner.start();
    await advance(3_000);
    expect(errors.map((e) => e.step)).toEqual(['heal']);
    expect(runner.activeFaults().map((f) => f.id)).toEqual([1]);
    await runner.healAll();
    expect(injector.calls).toEqual(['inject latency#1', 'heal latency#1', 'heal latency#1']);
    expect(errors).toHaveLength(2);
  });

  test('an inject with no answer times out on the clock, is reported, and is healed at its end anyway', async () => {
    const injector = new FakeInjector();
    injector.inject = async (fault, id) => {
      injector.calls.push(`inject ${fault.kind}#${id}`);
      await new Promise(() => undefined);
    };
    const clock = new ManualClock();
    const schedule = scheduleOf([{ ...latency, at: '1s', duration: '1m' }]);
    const runner = new FaultRunner({ clock, schedule, injectors: { network: injector }, stepTimeoutMs: 5_000 });
    runner.start();
    clock.advance(1_000);
    await Promise.resolve();
    clock.advance(5_000);
    await runner.idle();
    expect(runner.errors.map((e) => e.error.message)).toEqual([expect.stringMatching(/no answer in 5000ms/)]);
    clock.advance(60_000);
    await runner.idle();
    expect(injector.calls).toEqual(['inject latency#1', 'heal latency#1']);
    expect(runner.events).toEqual([]);
  });

  test('a schedule using a family nobody injects is refused up front', () => {
    const schedule = scheduleOf([{ kind: 'kill', target: 'broker-1', at: '1s', duration: '1s' }]);
    expect(() => new FaultRunner({ clock: new ManualClock(), schedule, injectors: {} })).toThrow(
      'no injector for process faults',
    );
  });
});

describe('fault events as ledger records and annotations', () => {
  test('start and end map to fs/fe records and to one region annotation per fault', async () => {
    const { runner, events, advance } = runnerWith(
      [
        { ...latency, jitterMs: 20, at: '1s', duration: '2s' },
        { kind: 'down', target: 'broker-2', at: '2s', duration: '1m' },
      ],
      new FakeInjector(),
    );
    runner.start();
    await advance(4_000);
    const t0 = 1_700_000_000_000;
    expect(events.map(faultLedgerRecord)).toEqual([
      {
        t: 'fs',
        ts: t0 + 1_000,
        f: 'latency-broker-1',
        fid: 1,
        dt: { kind: 'latency', target: 'broker-1', latencyMs: 100, jitterMs: 20, stream: 'downstream', toxicity: 1 },
      },
      { t: 'fs', ts: t0 + 2_000, f: 'down-broker-2', fid: 2, dt: { kind: 'down', target: 'broker-2' } },
      { t: 'fe', ts: t0 + 3_000, f: 'latency-broker-1', fid: 1 },
    ]);
    expect(faultAnnotations(events)).toEqual([
      {
        time: t0 + 1_000,
        timeEnd: t0 + 3_000,
        text: 'latency 100ms ±20ms on broker-1',
        tags: ['mqdrill-fault', 'latency', 'target:broker-1', 'fault-id:1'],
      },
      {
        time: t0 + 2_000,
        timeEnd: t0 + 2_000,
        text: 'down on broker-2',
        tags: ['mqdrill-fault', 'down', 'target:broker-2', 'fault-id:2', 'active'],
      },
    ]);
  });
});

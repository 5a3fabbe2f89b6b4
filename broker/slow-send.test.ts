import { describe, expect, test } from 'vitest';
import { ManualClock } from '../lib/clock.ts';
import { SlowSendGate } from './slow-send.ts';

describe('SlowSendGate (test-only testOnlySendDelayMs)', () => {
  test('sends pass one at a time, each holding the line for delayMs', async () => {
    const clock = new ManualClock();
    const gate = new SlowSendGate(clock, 10);
    const passedAt: number[] = [];
    const all = [0, 1, 2].map(() => gate.pass().then(() => passedAt.push(clock.monotonicMs())));
    clock.advance(9);
    await Promise.resolve();
    expect(passedAt).toEqual([]);
    for (let i = 0; i < 3; i++) {
      clock.advance(i === 0 ? 1 : 10);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(passedAt).toEqual([10, 20, 30]);
  });

  test('a full line refuses the send at once with TOO_MANY_REQUESTS naming the option', async () => {
    const clock = new ManualClock();
    const gate = new SlowSendGate(clock, 10, 2);
    const first = gate.pass();
    const second = gate.pass();
    const third = gate.pass();
    await expect(gate.pass()).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    await expect(gate.pass()).rejects.toThrow(/testOnlySendDelayMs/);
    clock.advance(30);
    await expect(Promise.all([first, second, third])).resolves.toHaveLength(3);
  });
});

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

  test('a send that waited too long for its turn is refused without holding the line', async () => {
    const clock = new ManualClock();
    const gate = new SlowSendGate(clock, 10, 100, 15);
    const results = [0, 1, 2, 3].map((i) =>
      gate.pass().then(
        () => `${i} passed at ${clock.monotonicMs()}`,
        (e: Error) => `${i} refused: ${e.message.slice(0, 22)}`,
      ),
    );
    for (let t = 0; t < 4; t++) {
      clock.advance(10);
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(results)).toEqual([
      '0 passed at 10',
      '1 passed at 20',
      '2 refused: the broker is busy: th',
      '3 refused: the broker is busy: th',
    ]);
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

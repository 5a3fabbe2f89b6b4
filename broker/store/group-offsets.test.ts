import { expect, test } from 'vitest';
import { clampGroupOffsets, type GroupCursors } from './group-offsets.ts';

const cursor = (ackedFloor: number, nextOffset: number, done: number[] = []) => ({
  ackedFloor,
  nextOffset,
  doneAbove: new Set(done),
});

test('offsets beyond the queue end are clamped with one log line each; offsets within it are left alone', () => {
  const ends: Record<string, number> = { 't/0': 7, 't/1': 20, 't/2': 0 };
  const group: GroupCursors = {
    group: 'g',
    topic: 't',
    dirty: false,
    cursors: new Map([
      [0, cursor(10, 10, [12])],
      [1, cursor(15, 18, [16])],
      [2, cursor(3, 3)],
    ]),
  };
  const lines: Array<Record<string, unknown>> = [];
  const clamps = clampGroupOffsets(
    [group],
    { queueRange: (t, q) => ({ minOffset: 0, maxOffset: ends[`${t}/${q}`]! }) },
    (_level, _msg, fields) => lines.push(fields),
  );
  expect(clamps).toEqual([
    { group: 'g', topic: 't', queueId: 0, savedOffset: 10, queueEnd: 7 },
    { group: 'g', topic: 't', queueId: 2, savedOffset: 3, queueEnd: 0 },
  ]);
  expect(group.cursors.get(0)).toEqual(cursor(7, 7));
  expect(group.cursors.get(1)).toEqual(cursor(15, 18, [16]));
  expect(group.cursors.get(2)).toEqual(cursor(0, 0));
  expect(group.dirty).toBe(true);
  expect(lines).toHaveLength(2);
});

test('a done offset beyond the end alone (floor within it) is dropped, so the new message there is not skipped', () => {
  const group: GroupCursors = { group: 'g', topic: 't', dirty: false, cursors: new Map([[0, cursor(4, 5, [6])]]) };
  const clamps = clampGroupOffsets([group], { queueRange: () => ({ minOffset: 0, maxOffset: 6 }) }, () => {});
  expect(clamps).toHaveLength(1);
  expect(group.cursors.get(0)).toEqual(cursor(4, 5));
});

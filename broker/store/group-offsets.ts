import type { MessageStore } from './types.ts';

/** The part of a consumer group's per-queue cursor that recovery may have to move. */
export interface GroupQueueCursor {
  ackedFloor: number;
  nextOffset: number;
  doneAbove: Set<number>;
}

export interface GroupCursors {
  readonly group: string;
  readonly topic: string;
  readonly cursors: Map<number, GroupQueueCursor>;
  dirty: boolean;
}

export interface OffsetClamp {
  group: string;
  topic: string;
  queueId: number;
  savedOffset: number;
  queueEnd: number;
}

/**
 * After recovery: a group's saved offset beyond its queue's end (the log was cut back, e.g. a torn tail) is moved to
 * the end. Otherwise the next messages, which reuse the cut offsets, would count as already consumed and the group
 * would silently never receive them. Logs one line per clamp; returns the clamps.
 */
export function clampGroupOffsets(
  groups: Iterable<GroupCursors>,
  store: Pick<MessageStore, 'queueRange'>,
  log: (level: 'warn', msg: string, fields: Record<string, unknown>) => void,
): OffsetClamp[] {
  const clamps: OffsetClamp[] = [];
  for (const state of groups) {
    for (const [queueId, cursor] of state.cursors) {
      const queueEnd = store.queueRange(state.topic, queueId).maxOffset;
      const beyond = [...cursor.doneAbove].some((offset) => offset >= queueEnd);
      if (cursor.ackedFloor <= queueEnd && cursor.nextOffset <= queueEnd && !beyond) continue;
      const savedOffset = Math.max(cursor.ackedFloor, cursor.nextOffset);
      cursor.ackedFloor = Math.min(cursor.ackedFloor, queueEnd);
      cursor.nextOffset = Math.min(cursor.nextOffset, queueEnd);
      for (const offset of cursor.doneAbove) if (offset >= queueEnd) cursor.doneAbove.delete(offset);
      state.dirty = true;
      const clamp = { group: state.group, topic: state.topic, queueId, savedOffset, queueEnd };
      clamps.push(clamp);
      log('warn', 'consumer group offset was beyond its queue end after recovery; moved back to the end', {
        ...clamp,
        consequence: 'the group receives the new messages that reuse the offsets above the end',
      });
    }
  }
  return clamps;
}

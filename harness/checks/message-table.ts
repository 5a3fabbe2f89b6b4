/**
 * Compact per-message state for one streaming pass: a map from harness id to a dense index, and typed arrays indexed
 * by it (about 60 bytes per message plus 4 per message per consumer group), so 10 million operations fit well under
 * 2 GiB. Everything the checkers need to decide at the end lives here; examples point back to file:line.
 */

/** Message flags (`flags`). */
export const MSG = {
  SEND_INVOKED: 1,
  SEND_OK: 2,
  SEND_FAIL: 4,
  SEND_UNKNOWN: 8,
  TRANSACTIONAL: 16,
  POISON: 32,
  DELAYED: 64,
  COMMIT: 128,
  ROLLBACK: 256,
  /** The send completion was seen (any outcome). */
  SEND_COMPLETED: 512,
  /** An end-transaction call completed without an ok (unknown or fail): the broker settles it by a check-back. */
  END_UNSETTLED: 1024,
  /** The producer answered a check-back for this message (`tk`). */
  CHECKED_BACK: 2048,
} as const;

/** Per (message, group) flags (`GroupColumns.state`). */
export const GRP = {
  /** An ack was invoked and did not fail. */
  ACKED: 1,
  ACK_OK: 2,
  /** Seen in the group's DLQ, or forwarded there by the consumer. */
  DEAD_LETTERED: 4,
  /** Counted into the derived backlog. */
  IN_BACKLOG: 8,
  /** Taken out of the derived backlog (acked or dead-lettered). */
  CONSUMED: 16,
} as const;

/** Interns strings to small integers (topics, tags, message groups, consumer groups). */
export class Interner {
  private readonly map = new Map<string, number>();
  readonly values: string[] = [];

  id(value: string): number {
    let id = this.map.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.map.set(value, id);
      this.values.push(value);
    }
    return id;
  }

  find(value: string): number | undefined {
    return this.map.get(value);
  }

  get size(): number {
    return this.values.length;
  }
}

type Typed = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

function grow<T extends Typed>(array: T, capacity: number, fill?: number): T {
  const Ctor = array.constructor as new (n: number) => T;
  const next = new Ctor(capacity);
  next.set(array);
  if (fill !== undefined) next.fill(fill, array.length);
  return next;
}

/** One consumer group's columns, indexed by message. */
export class GroupColumns {
  /** Deliveries, saturating at 255. */
  deliveries: Uint8Array;
  /** Highest delivery attempt seen, saturating at 255. */
  attemptMax: Uint8Array;
  state: Uint8Array;

  constructor(
    readonly name: string,
    readonly index: number,
    capacity: number,
  ) {
    this.deliveries = new Uint8Array(capacity);
    this.attemptMax = new Uint8Array(capacity);
    this.state = new Uint8Array(capacity);
  }

  grow(capacity: number): void {
    this.deliveries = grow(this.deliveries, capacity);
    this.attemptMax = grow(this.attemptMax, capacity);
    this.state = grow(this.state, capacity);
  }
}

export class MessageTable {
  private readonly index = new Map<string, number>();
  /** Harness id of each message, for examples. */
  readonly ids: string[] = [];
  capacity: number;
  flags: Uint16Array;
  topic: Int32Array;
  tag: Int32Array;
  /** Ordering key (FIFO message group, else key), interned; -1 for none. */
  orderKey: Int32Array;
  seq: Int32Array;
  /** The previous message of the same ordering key whose send had completed ok when this one was invoked; -1. */
  predecessor: Int32Array;
  sendTs: Float64Array;
  /** Where the send invocation is: file index and line (0 = not seen). */
  sendFile: Uint16Array;
  sendLine: Uint32Array;
  /** FNV-1a of the first broker message id seen for the message (0 = none). */
  brokerIdHash: Int32Array;
  readonly groups: GroupColumns[] = [];
  /** Sparse per-message values: delivery time of delayed messages, commit time of transactional ones. */
  readonly deliverAtMs = new Map<number, number>();
  readonly commitTsMs = new Map<number, number>();
  /** Per message, one bit per SQL92 subscription of its topic that selects it (only when such subscriptions exist). */
  readonly sqlMatch = new Map<number, number>();

  constructor(capacity = 1 << 16) {
    this.capacity = capacity;
    this.flags = new Uint16Array(capacity);
    this.topic = new Int32Array(capacity).fill(-1);
    this.tag = new Int32Array(capacity).fill(-1);
    this.orderKey = new Int32Array(capacity).fill(-1);
    this.seq = new Int32Array(capacity);
    this.predecessor = new Int32Array(capacity).fill(-1);
    this.sendTs = new Float64Array(capacity).fill(Number.NaN);
    this.sendFile = new Uint16Array(capacity);
    this.sendLine = new Uint32Array(capacity);
    this.brokerIdHash = new Int32Array(capacity);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Every checker looks up the same event's id in turn: remember the last answer (an identity compare). */
  private lastId: string | undefined;
  private lastRow = -1;

  find(id: string): number | undefined {
    if (id === this.lastId) return this.lastRow;
    const i = this.index.get(id);
    if (i !== undefined) {
      this.lastId = id;
      this.lastRow = i;
    }
    return i;
  }

  /** The index of a message, creating its row on first sight. */
  row(id: string): number {
    const found = this.find(id);
    if (found !== undefined) return found;
    const i = this.ids.length;
    if (i === this.capacity) this.growTo(this.capacity * 2);
    this.index.set(id, i);
    this.ids.push(id);
    this.lastId = id;
    this.lastRow = i;
    return i;
  }

  addGroup(name: string): GroupColumns {
    const group = new GroupColumns(name, this.groups.length, this.capacity);
    this.groups.push(group);
    return group;
  }

  private growTo(capacity: number): void {
    this.capacity = capacity;
    this.flags = grow(this.flags, capacity);
    this.topic = grow(this.topic, capacity, -1);
    this.tag = grow(this.tag, capacity, -1);
    this.orderKey = grow(this.orderKey, capacity, -1);
    this.seq = grow(this.seq, capacity);
    this.predecessor = grow(this.predecessor, capacity, -1);
    this.sendTs = grow(this.sendTs, capacity, Number.NaN);
    this.sendFile = grow(this.sendFile, capacity);
    this.sendLine = grow(this.sendLine, capacity);
    this.brokerIdHash = grow(this.brokerIdHash, capacity);
    for (const group of this.groups) group.grow(capacity);
  }
}

/** 32-bit FNV-1a, never 0 (0 means "none"). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h === 0 ? 1 : h;
}

/** A growable Int32 column for append-only lists (e.g. candidate order violations). */
export class IntList {
  data: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) this.data = grow(this.data, this.data.length * 2);
    this.data[this.length++] = value;
  }
}

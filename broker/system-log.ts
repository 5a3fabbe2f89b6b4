import type { MessageRecord, MessageStore, StoredMessage } from './store/types.ts';

/**
 * A durable work list kept in two internal store topics: `<name>` holds the entries, `<name>_OP` records which
 * entries are finished. Recovery replays both, so pending delayed and half (transactional) messages survive a
 * restart without a separate database. The op is appended in the same store batch as the work it finishes, so a
 * crash between them cannot repeat the work. Entries always live in queue 0.
 */
export class SystemLog {
  readonly opTopic: string;

  constructor(
    private readonly store: MessageStore,
    readonly topic: string,
  ) {
    this.opTopic = `${topic}_OP`;
  }

  async add(record: Omit<MessageRecord, 'topic' | 'queueId'>): Promise<number> {
    const [result] = await this.store.append([{ ...record, topic: this.topic, queueId: 0 }]);
    return (result as { queueOffset: number }).queueOffset;
  }

  /** Appends `extra` records (e.g. the real message) and the op marking `offset` finished, in one batch. */
  async finish(offset: number, outcome: string, extra: MessageRecord[] = []): Promise<void> {
    await this.finishMany([{ offset, outcome, extra }]);
  }

  /** Several finishes in one store batch: each entry's extra records, then its op. */
  async finishMany(items: Array<{ offset: number; outcome: string; extra?: MessageRecord[] }>): Promise<void> {
    if (items.length === 0) return;
    const records: MessageRecord[] = [];
    for (const { offset, outcome, extra = [] } of items) {
      records.push(...extra, {
        topic: this.opTopic,
        queueId: 0,
        body: Buffer.from(JSON.stringify({ offset, outcome })),
        props: { messageId: `op-${this.topic}-${offset}`, messageType: 'NORMAL' },
      });
    }
    await this.store.append(records);
  }

  read(offset: number): StoredMessage | undefined {
    const [m] = this.store.read(this.topic, 0, offset, 1);
    return m && m.queueOffset === offset ? m : undefined;
  }

  /** Every entry without a finishing op, in offset order. */
  pending(): StoredMessage[] {
    const finished = new Set<number>();
    const opRange = this.store.queueRange(this.opTopic, 0);
    for (let o = opRange.minOffset; o < opRange.maxOffset; ) {
      const batch = this.store.read(this.opTopic, 0, o, 256);
      if (batch.length === 0) break;
      for (const m of batch) finished.add((JSON.parse(m.body.toString('utf8')) as { offset: number }).offset);
      o = (batch[batch.length - 1] as StoredMessage).queueOffset + 1;
    }
    const out: StoredMessage[] = [];
    const range = this.store.queueRange(this.topic, 0);
    for (let o = range.minOffset; o < range.maxOffset; ) {
      const batch = this.store.read(this.topic, 0, o, 256);
      if (batch.length === 0) break;
      for (const m of batch) if (!finished.has(m.queueOffset)) out.push(m);
      o = (batch[batch.length - 1] as StoredMessage).queueOffset + 1;
    }
    return out;
  }
}

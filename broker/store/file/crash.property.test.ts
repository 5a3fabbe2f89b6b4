import { readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { ManualClock } from '../../../lib/clock.ts';
import { defaultTestOptions, makeTempDir, testRecord } from '../testing.ts';
import type { FlushPolicy } from '../types.ts';
import { FileMessageStore } from './file-store.ts';

type Op =
  | { kind: 'append'; queueId: number; count: number; bodyBytes: number }
  | { kind: 'reopen' }
  | { kind: 'crash' }
  | { kind: 'crash-and-cut'; cutFraction: number };

interface Acked {
  queueOffset: number;
  messageId: string;
  body: string;
  commitLogOffset: number;
  storeTimestampMs: number;
  sizeBytes: number;
}

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      queueId: fc.integer({ min: 0, max: 2 }),
      count: fc.integer({ min: 1, max: 4 }),
      bodyBytes: fc.integer({ min: 0, max: 400 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('crash-and-cut' as const),
      cutFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
);

class CrashDrill {
  private readonly acked = new Map<number, Acked[]>();
  private store: FileMessageStore | undefined;
  private serial = 0;
  private readonly clock = new ManualClock();

  constructor(
    private readonly dataDir: string,
    private readonly flush: FlushPolicy,
  ) {}

  async open(): Promise<void> {
    const options = { ...defaultTestOptions(this.dataDir), flush: this.flush, segmentBytesMax: 1500 };
    this.store = new FileMessageStore(options, { clock: this.clock });
    await this.store.open();
    this.verify();
  }

  async apply(op: Op): Promise<void> {
    const store = this.store!;
    if (op.kind === 'append') {
      const records = Array.from({ length: op.count }, () =>
        testRecord('p', op.queueId, this.serial++, { bodyBytes: op.bodyBytes }),
      );
      this.clock.advance(op.bodyBytes);
      const results = await store.append(records);
      const list = this.acked.get(op.queueId) ?? [];
      this.acked.set(op.queueId, list);
      results.forEach((result, i) => {
        const message = store.read('p', op.queueId, result.queueOffset, 1)[0]!;
        const { messageId } = records[i]!.props;
        list.push({ ...result, messageId, body: records[i]!.body.toString('hex'), sizeBytes: message.sizeBytes });
      });
    } else if (op.kind === 'reopen') {
      await store.close();
      await this.open();
    } else {
      await store.simulateCrash();
      if (op.kind === 'crash-and-cut') this.cutLastSegment(op.cutFraction);
      await this.open();
    }
  }

  /** Truncates the last segment at a random byte: everything acknowledged that ends before the cut must survive. */
  private cutLastSegment(cutFraction: number): void {
    const dir = join(this.dataDir, 'commitlog');
    const name = readdirSync(dir).sort().at(-1);
    if (!name) return;
    const path = join(dir, name);
    const cutPosition = Math.floor(statSync(path).size * cutFraction);
    truncateSync(path, cutPosition);
    const cutOffset = Number(name) + cutPosition;
    for (const [queueId, list] of this.acked) {
      this.acked.set(
        queueId,
        list.filter((m) => m.commitLogOffset + m.sizeBytes <= cutOffset),
      );
    }
  }

  verify(): void {
    const store = this.store!;
    for (const [queueId, list] of this.acked) {
      const read = store.read('p', queueId, 0, 10_000).map((m) => ({
        queueOffset: m.queueOffset,
        messageId: m.props.messageId,
        body: m.body.toString('hex'),
        commitLogOffset: m.commitLogOffset,
        storeTimestampMs: m.storeTimestampMs,
        sizeBytes: m.sizeBytes,
      }));
      expect(read).toEqual(list);
      expect(store.queueRange('p', queueId)).toEqual({ minOffset: 0, maxOffset: list.length });
    }
  }

  async close(): Promise<void> {
    await this.store?.close();
  }
}

// Under sync an acknowledged record was fsynced; under async it reached the OS, which a process crash (what
// simulateCrash models, unlike a power loss) keeps. Either way, only a cut may remove records, and only after it.
for (const flush of ['sync', 'async'] as const) {
  test(`property (${flush}): crash, cut the last segment anywhere: acked records before the cut survive`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 25 }), async (ops) => {
        const dataDir = makeTempDir('mqdrill-crash-');
        const drill = new CrashDrill(dataDir, flush);
        try {
          await drill.open();
          for (const op of ops) await drill.apply(op);
          drill.verify();
        } finally {
          await drill.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: Number(process.env.STORE_PROPERTY_RUNS ?? 50) },
    );
  });
}

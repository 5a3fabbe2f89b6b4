import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import { MemoryMessageStore } from '../store/index.ts';
import type { StoredMessage } from '../store/types.ts';
import { SystemLog } from '../system-log.ts';
import { defaultTransactionConfig, type TransactionConfig, TransactionService } from './index.ts';

async function setUp(config: Partial<TransactionConfig>, producerOnline: () => boolean) {
  const clock = new ManualClock();
  const store = new MemoryMessageStore(
    { dataDir: '', flush: 'sync', flushIntervalMs: 1, segmentBytesMax: 1 << 20 },
    { clock },
  );
  await store.open();
  const checks: Array<{ atMs: number; messageId: string }> = [];
  const committed: string[] = [];
  const service = new TransactionService({
    log: new SystemLog(store, '%SYS_HALF%'),
    clock,
    config: { ...defaultTransactionConfig, ...config },
    requestCheck: (m: StoredMessage) => {
      if (!producerOnline()) return false;
      checks.push({ atMs: clock.monotonicMs(), messageId: m.props.messageId });
      return true;
    },
    onCommitted: (topic) => committed.push(topic),
    onError: (err) => {
      throw err;
    },
  });
  service.recover();
  const prepare = (messageId: string) =>
    service.prepare(
      { topic: 'pay', queueId: 0, body: Buffer.from(messageId), props: { messageId, messageType: 'TRANSACTION' } },
      'c1',
    );
  return { clock, store, service, checks, committed, prepare };
}

/** Advances in 1 s steps (the sweep's period), letting store appends settle in between. */
async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
  }
}

describe('transactions: check-back schedule and the default action', () => {
  test('first check after checkFirstMs, then each checkIntervalMs, at most checkMax, then the default', async () => {
    const t = await setUp(
      { checkFirstMs: 6_000, checkIntervalMs: 30_000, checkMax: 3, defaultAction: 'ROLLBACK' },
      () => true,
    );
    await t.prepare('undecided');
    await advance(t.clock, 5_000);
    expect(t.checks).toHaveLength(0);
    await advance(t.clock, 2_000);
    expect(t.checks.map((c) => Math.round(c.atMs / 1000))).toEqual([6]);
    await advance(t.clock, 70_000);
    expect(t.checks.map((c) => Math.round(c.atMs / 1000))).toEqual([6, 36, 66]);
    expect(t.service.pendingCount).toBe(1);
    await advance(t.clock, 31_000);
    expect(t.checks).toHaveLength(3); // no fourth check: the default action applied instead
    expect(t.service.pendingCount).toBe(0);
    expect(t.committed).toEqual([]); // rolled back: nothing reaches the topic
    expect(t.store.queueRange('pay', 0).maxOffset).toBe(0);
  });

  test('the default action COMMIT delivers the half message after the last check', async () => {
    const t = await setUp(
      { checkFirstMs: 1_000, checkIntervalMs: 1_000, checkMax: 2, defaultAction: 'COMMIT' },
      () => true,
    );
    await t.prepare('committed-by-default');
    await advance(t.clock, 5_000);
    expect(t.checks).toHaveLength(2);
    expect(t.committed).toEqual(['pay']);
    expect(t.store.queueRange('pay', 0).maxOffset).toBe(1);
  });

  test('with no producer online the checks still count, so a half message cannot stay forever', async () => {
    const t = await setUp({ checkFirstMs: 1_000, checkIntervalMs: 1_000, checkMax: 2 }, () => false);
    await t.prepare('orphan');
    await advance(t.clock, 5_000);
    expect(t.service.pendingCount).toBe(0);
  });

  test('an explicit end wins; ending an unknown or already-ended transaction is INVALID_TRANSACTION_ID', async () => {
    const t = await setUp({}, () => true);
    await t.prepare('tx1');
    await t.service.end('pay', 'tx1', 'COMMIT');
    expect(t.committed).toEqual(['pay']);
    await expect(t.service.end('pay', 'tx1', 'ROLLBACK')).rejects.toMatchObject({ code: 'INVALID_TRANSACTION_ID' });
    await expect(t.service.end('pay', 'nope', 'COMMIT')).rejects.toMatchObject({ code: 'INVALID_TRANSACTION_ID' });
  });
});

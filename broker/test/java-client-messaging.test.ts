import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type CaseArgs,
  type CompiledConformance,
  compileConformance,
  explain,
  runJavaCase,
} from '../../test/java/conformance.ts';
import { startTestBroker, stopTestBroker, type TestBroker } from '../../test/kit/index.ts';

let java: CompiledConformance | undefined;
let b: TestBroker | undefined;
let secured: TestBroker | undefined;

beforeAll(async () => {
  java = compileConformance();
  b = await startTestBroker({
    topics: [
      { name: 'j-normal', queues: 4, type: 'NORMAL' },
      { name: 'j-push', queues: 4, type: 'NORMAL' },
      { name: 'j-fifo', queues: 4, type: 'FIFO' },
      { name: 'j-fifo-simple', queues: 4, type: 'FIFO' },
      { name: 'j-tags', queues: 2, type: 'NORMAL' },
      { name: 'j-sql', queues: 2, type: 'NORMAL' },
      { name: 'j-delay', queues: 2, type: 'DELAY' },
      { name: 'j-tx', queues: 2, type: 'TRANSACTION' },
      { name: 'j-tx-rollback', queues: 2, type: 'TRANSACTION' },
      { name: 'j-tx-check', queues: 2, type: 'TRANSACTION' },
      { name: 'j-tls', queues: 2, type: 'NORMAL' },
    ],
    groups: [
      { name: 'j-simple' },
      { name: 'j-pushers' },
      { name: 'j-fifo-push', fifo: true },
      { name: 'j-fifo-simple', fifo: true },
      { name: 'j-tagged' },
      { name: 'j-sql-readers' },
      { name: 'j-delay-readers' },
      { name: 'j-tx-readers' },
      { name: 'j-tx-rollback-readers' },
      { name: 'j-tx-check-readers' },
      { name: 'j-tls-readers' },
    ],
    transactions: { checkFirstMs: 1000, checkIntervalMs: 1000, checkMax: 5, defaultAction: 'ROLLBACK' },
  });
  secured = await startTestBroker({
    auth: {
      enabled: true,
      accounts: [
        {
          accessKey: 'ak',
          secretKey: 'sk',
          admin: false,
          allow: [
            { resource: 'topic:*', actions: ['pub', 'sub'] },
            { resource: 'group:*', actions: ['sub'] },
          ],
        },
      ],
    },
    topics: [{ name: 'j-secure', queues: 2, type: 'NORMAL' }],
    groups: [{ name: 'j-secure-readers' }],
  });
});

afterAll(async () => {
  await stopTestBroker(b);
  await stopTestBroker(secured);
  java?.dispose();
});

async function expectCase(broker: TestBroker | undefined, name: string, args: CaseArgs) {
  if (!java || !broker) throw new Error('setup failed (see beforeAll)');
  const run = await runJavaCase(java, broker.endpoints, name, args);
  expect(run.result?.ok, explain(run)).toBe(true);
  expect(run.code, explain(run)).toBe(0);
  return run.result?.detail ?? {};
}

const slow = 120_000;

describe('broker with the official Java client (rocketmq-client-java 5.2.0)', () => {
  test(
    'normal messages: a simple consumer receives and acks each one once, body, tag, keys and properties intact',
    async () => {
      const detail = await expectCase(b, 'normal-simple', { topic: 'j-normal', group: 'j-simple', count: 20 });
      expect(detail).toMatchObject({ sent: 20, received: 20 });
    },
    slow,
  );

  test(
    'push consumer: every normal message is consumed once',
    async () => {
      const detail = await expectCase(b, 'normal-push', { topic: 'j-push', group: 'j-pushers', count: 20 });
      expect(detail).toMatchObject({ sent: 20, received: 20 });
    },
    slow,
  );

  test(
    'FIFO topic, push consumer of a FIFO group: 5 message groups, each consumed in send order',
    async () => {
      const args = { topic: 'j-fifo', group: 'j-fifo-push', groups: 5, 'per-group': 10, consumer: 'push' };
      const detail = await expectCase(b, 'fifo', args);
      expect(detail).toMatchObject({ sent: 50, received: 50 });
    },
    slow,
  );

  test(
    'FIFO topic, simple consumer of a FIFO group acking as it goes: each message group in send order',
    async () => {
      const args = { topic: 'j-fifo-simple', group: 'j-fifo-simple', groups: 5, 'per-group': 10, consumer: 'simple' };
      const detail = await expectCase(b, 'fifo', args);
      expect(detail).toMatchObject({ sent: 50, received: 50 });
    },
    slow,
  );

  test(
    'TAG filter "TagA || TagC": exactly the messages with those tags are delivered',
    async () => {
      const detail = await expectCase(b, 'tag-filter', { topic: 'j-tags', group: 'j-tagged', count: 12 });
      expect(detail).toMatchObject({ expected: 8, missing: [], unexpected: [] });
    },
    slow,
  );

  test(
    'SQL92 filter on user properties (IN, BETWEEN, AND): exactly the matching messages are delivered',
    async () => {
      const detail = await expectCase(b, 'sql-filter', { topic: 'j-sql', group: 'j-sql-readers', count: 20 });
      expect(detail).toMatchObject({ expected: 8, missing: [], unexpected: [] });
    },
    slow,
  );

  test(
    'delay: messages due in 2 s are all delivered, none before the delivery timestamp',
    async () => {
      const detail = await expectCase(b, 'delay', { topic: 'j-delay', group: 'j-delay-readers', 'delay-ms': 2000 });
      expect(detail).toMatchObject({ sent: 3, received: 3, early: [] });
    },
    slow,
  );

  test(
    'transaction commit: the half message is invisible until commit, then delivered',
    async () => {
      await expectCase(b, 'transaction-commit', { topic: 'j-tx', group: 'j-tx-readers', 'hold-ms': 3000 });
    },
    slow,
  );

  test(
    'transaction rollback: the rolled-back message is never delivered, a later committed one is',
    async () => {
      await expectCase(b, 'transaction-rollback', { topic: 'j-tx-rollback', group: 'j-tx-rollback-readers' });
    },
    slow,
  );

  test(
    'transaction with unknown outcome: the check-back reaches the TransactionChecker, whose COMMIT delivers it',
    async () => {
      const args = { topic: 'j-tx-check', group: 'j-tx-check-readers', 'wait-ms': 30_000 };
      const detail = await expectCase(b, 'transaction-unknown-checkback', args);
      expect((detail.checkerCalls as string[]).length).toBeGreaterThanOrEqual(1);
    },
    slow,
  );

  test(
    'credentials: with AK/SK the client sends and receives on a broker with auth enabled',
    async () => {
      const args = { topic: 'j-secure', group: 'j-secure-readers', ak: 'ak', sk: 'sk' };
      await expectCase(secured, 'credentials', args);
    },
    slow,
  );

  test(
    'TLS: the client with sslEnabled (its default) sends and receives on the same port',
    async () => {
      await expectCase(b, 'tls', { topic: 'j-tls', group: 'j-tls-readers' });
    },
    slow,
  );
});

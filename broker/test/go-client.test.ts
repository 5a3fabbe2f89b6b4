import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestBroker, stopTestBroker, type TestBroker } from '../../test/kit/index.ts';
import type { TopicType } from '../metadata.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const conformanceBinary = path.join(repoRoot, '.tools', 'bin', 'mqdrill-go-conformance');

interface CaseResult {
  case: string;
  ok: boolean;
  detail: Record<string, unknown>;
  error?: string;
}

/**
 * Runs one case of drivers/go/cmd/conformance (the official Go client) against the broker. The program bounds
 * every case itself (-timeout); the process gets a little more before it is killed.
 */
async function runGoCase(endpoints: string, name: string, extra: string[] = []): Promise<CaseResult> {
  if (!fs.existsSync(conformanceBinary)) {
    throw new Error(`${conformanceBinary} is missing: run \`mqdrill setup\` (or \`mqdrill setup --only go-driver\`)`);
  }
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-go-client-'));
  const args = ['-endpoint', endpoints, '-case', name, '-timeout', '45s', '-log-dir', logDir, ...extra];
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    execFile(conformanceBinary, args, { timeout: 60_000 }, (_err, out, err) => resolve({ stdout: out, stderr: err }));
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let parsed: CaseResult | undefined;
  try {
    parsed = JSON.parse(line) as CaseResult;
  } catch {
    parsed = undefined;
  }
  if (parsed?.ok) {
    fs.rmSync(logDir, { recursive: true, force: true });
    return parsed;
  }
  const clientLog = path.join(logDir, 'client.log');
  const tail = fs.existsSync(clientLog) ? fs.readFileSync(clientLog, 'utf8').trim().split('\n').slice(-15) : [];
  const why = parsed?.error ?? `no result line (stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)})`;
  throw new Error(`go case ${name} failed: ${why}\nclient log tail:\n${tail.join('\n')}`);
}

let b: TestBroker;
/** A second broker with access keys on (the same topics and groups). */
let secured: TestBroker;

const account = {
  accessKey: 'go-ak',
  secretKey: 'go-sk',
  admin: false,
  allow: [
    { resource: 'topic:*', actions: ['pub' as const, 'sub' as const] },
    { resource: 'group:*', actions: ['sub' as const] },
  ],
};

const topics: Array<{ name: string; queues: number; type: TopicType }> = [
  { name: 'go-normal', queues: 4, type: 'NORMAL' },
  { name: 'go-fifo', queues: 4, type: 'FIFO' },
  { name: 'go-delay', queues: 2, type: 'DELAY' },
  { name: 'go-tx', queues: 2, type: 'TRANSACTION' },
];
const groups = [
  { name: 'go-normal-simple' },
  { name: 'go-normal-push' },
  { name: 'go-fifo', fifo: true },
  { name: 'go-delay' },
  { name: 'go-transaction-commit' },
  { name: 'go-transaction-rollback' },
  { name: 'go-transaction-unknown-checkback' },
  { name: 'go-tag-filter' },
  { name: 'go-sql-filter' },
  { name: 'go-credentials' },
  { name: 'go-tls' },
];

beforeAll(async () => {
  b = await startTestBroker({ topics, groups });
  secured = await startTestBroker({ topics, groups, auth: { enabled: true, accounts: [account] } });
});

afterAll(async () => {
  await stopTestBroker(b);
  await stopTestBroker(secured);
});

describe('broker with the official Go client (drivers/go/cmd/conformance, plaintext)', () => {
  test('normal-simple: 10 messages sent are received once by a simple consumer, ids and bodies intact', async () => {
    const r = await runGoCase(b.endpoints, 'normal-simple');
    expect(r.detail).toMatchObject({ sent: 10, received: { received: 10, duplicates: 0 } });
  }, 70_000);

  test('normal-push: a push consumer receives all 10 messages once', async () => {
    const r = await runGoCase(b.endpoints, 'normal-push');
    expect(r.detail).toMatchObject({ sent: 10, received: { received: 10, duplicates: 0 } });
  }, 70_000);

  test('fifo: 5 message groups, each consumed in send order by a push consumer on a FIFO group', async () => {
    const r = await runGoCase(b.endpoints, 'fifo');
    expect(r.detail).toMatchObject({ orderViolations: null, received: { received: 50 } });
  }, 70_000);

  test('delay: messages due in 2 s are never received early', async () => {
    const r = await runGoCase(b.endpoints, 'delay');
    expect(r.detail).toMatchObject({ early: 0 });
  }, 70_000);

  test('transaction-commit: committed half messages are delivered without a check-back', async () => {
    const r = await runGoCase(b.endpoints, 'transaction-commit');
    expect(r.detail).toMatchObject({ received: { received: 10 }, checkBacks: 0 });
  }, 70_000);

  test('transaction-rollback: rolled-back half messages never arrive, committed ones do', async () => {
    const r = await runGoCase(b.endpoints, 'transaction-rollback');
    expect(r.detail).toMatchObject({ received: { received: 5, unwanted: 0 } });
  }, 70_000);

  test('transaction-unknown-checkback: open transactions are committed by the checker on the check-back', async () => {
    const r = await runGoCase(b.endpoints, 'transaction-unknown-checkback');
    expect(r.detail.checkBacks).toBeGreaterThanOrEqual(3);
  }, 70_000);

  test('tag-filter: "TagA||TagC" gets exactly the TagA and TagC messages', async () => {
    const r = await runGoCase(b.endpoints, 'tag-filter');
    expect(r.detail).toMatchObject({ received: { received: 5, unwanted: 0 } });
  }, 70_000);

  test('sql-filter: an SQL92 filter on user properties; a malformed expression is refused', async () => {
    const r = await runGoCase(b.endpoints, 'sql-filter');
    expect(r.detail).toMatchObject({ received: { received: 4, unwanted: 0 } });
  }, 70_000);
});

describe('broker with the official Go client: access keys and TLS', () => {
  test('credentials: AK/SK send and receive; a wrong secret, an unknown key and no key are refused', async () => {
    const r = await runGoCase(secured.endpoints, 'credentials', ['-ak', account.accessKey, '-sk', account.secretKey]);
    expect(r.detail).toMatchObject({ received: { received: 10 } });
    expect(String(r.detail.wrongSecret)).toContain('UNAUTHORIZED');
    expect(String(r.detail.unknownAccessKey)).toContain('UNAUTHORIZED');
    expect(String(r.detail.noCredentials)).toContain('UNAUTHORIZED');
  }, 70_000);

  test('tls: the Go client over TLS (its default) on the same port that serves plaintext', async () => {
    const r = await runGoCase(b.endpoints, 'tls');
    expect(r.detail).toMatchObject({ tls: true, received: { received: 10 } });
  }, 70_000);

  test('tls with credentials: a round trip over TLS with AK/SK on the secured broker', async () => {
    const r = await runGoCase(secured.endpoints, 'tls', ['-ak', account.accessKey, '-sk', account.secretKey]);
    expect(r.detail).toMatchObject({ tls: true, received: { received: 10 } });
  }, 70_000);

  test('auth off: the authorization header the Go client attaches is ignored, even with made-up keys', async () => {
    const r = await runGoCase(b.endpoints, 'normal-simple', ['-ak', 'made-up', '-sk', 'made-up']);
    expect(r.detail).toMatchObject({ received: { received: 10 } });
  }, 70_000);
});

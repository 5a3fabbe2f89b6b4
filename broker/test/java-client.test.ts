import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type CompiledConformance, compileConformance, explain, runJavaCase } from '../../test/java/conformance.ts';
import { startTestBroker, stopTestBroker, type TestBroker } from '../../test/kit/index.ts';

/**
 * The official Java client (rocketmq-client-java, test/java/Conformance.java) against the broker. The client cases
 * themselves (normal, push, FIFO, filters, delay, transactions, credentials, TLS) are held back until the broker
 * survives the client's telemetry deadline (grpc-timeout "31536000M", 60 years, overflows grpc-js's 32-bit
 * timeout and ends every Telemetry stream with DEADLINE_EXCEEDED, so the client cannot start). What runs here checks
 * that the program builds against the jars and fails in a bounded, readable way, and what needs no Telemetry stream:
 * a wrong secret key is refused at QueryRoute.
 */
let java: CompiledConformance | undefined;
let secured: TestBroker | undefined;

beforeAll(async () => {
  java = compileConformance();
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
  await stopTestBroker(secured);
  java?.dispose();
});

function compiled(): CompiledConformance {
  if (!java) throw new Error('the conformance program did not compile (see beforeAll)');
  return java;
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the Java client conformance program', () => {
  test('an unknown case name is refused with exit 2 and a JSON line listing the known cases', async () => {
    const run = await runJavaCase(compiled(), '127.0.0.1:1', 'no-such-case');
    expect(run.code, explain(run)).toBe(2);
    expect(run.result, explain(run)).toMatchObject({ case: 'no-such-case', ok: false });
    for (const name of ['normal-simple', 'normal-push', 'fifo', 'delay', 'transaction-unknown-checkback', 'tls']) {
      expect(run.result?.error, explain(run)).toContain(name);
    }
  });

  test('with no broker at the endpoint a case fails within its time bound, non-zero, with the error', async () => {
    const port = await closedPort();
    const run = await runJavaCase(compiled(), `127.0.0.1:${port}`, 'normal-simple', {
      topic: 'nowhere',
      group: 'nobody',
      'timeout-ms': 30_000,
    });
    expect(run.code, explain(run)).toBe(1);
    expect(run.result?.ok, explain(run)).toBe(false);
    expect(run.result?.error, explain(run)).toMatch(/UNAVAILABLE|Connection refused|timed out|Failed to fetch/);
    expect(run.elapsedMs).toBeLessThan(50_000);
  }, 60_000);
});

describe('broker with the official Java client (rocketmq-client-java 5.2.0)', () => {
  test("credentials: a wrong secret key is refused with the broker's message naming the access key", async () => {
    if (!secured) throw new Error('the broker did not start (see beforeAll)');
    const args = { topic: 'j-secure', group: 'j-secure-readers', ak: 'ak', sk: 'wrong', 'timeout-ms': 40_000 };
    const run = await runJavaCase(compiled(), secured.endpoints, 'credentials-rejected', args);
    expect(run.result?.ok, explain(run)).toBe(true);
    expect(String(run.result?.detail.rejectedWith), explain(run)).toMatch(/signature check failed for access key "ak"/);
  }, 60_000);
});

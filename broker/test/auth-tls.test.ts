import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { quietLogger, shutdownAll, startTestBroker, stopTestBroker, type TestBroker } from '../../test/kit/index.ts';
import type { AuthConfig } from '../auth/index.ts';
import { packageDefinition, serviceName } from '../protocol/codec.ts';

const auth: AuthConfig = {
  enabled: true,
  accounts: [
    {
      accessKey: 'ops',
      secretKey: 'ops-secret',
      admin: true,
      allow: [{ resource: 'topic:*', actions: ['pub', 'sub'] }],
    },
    {
      accessKey: 'shop',
      secretKey: 'shop-secret',
      allow: [
        { resource: 'topic:orders', actions: ['pub'] },
        { resource: 'topic:audit', actions: ['sub'] },
        { resource: 'group:billing', actions: ['sub'] },
      ],
    },
  ],
};

let b: TestBroker;

beforeAll(async () => {
  b = await startTestBroker({
    auth,
    topics: [
      { name: 'orders', queues: 2 },
      { name: 'audit', queues: 1 },
    ],
    groups: [{ name: 'billing' }],
  });
});

afterAll(async () => {
  await stopTestBroker(b);
});

/** The nodejs client wraps startup failures; the broker's message is in the cause chain. */
async function failureText(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const parts: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message);
    return parts.join(' <- ');
  }
  return 'did not fail';
}

const producerWith = (accessKey: string, accessSecret: string, topics: string[]) =>
  new Producer({
    namespace: '',
    logger: quietLogger,
    endpoints: b.endpoints,
    topics,
    maxAttempts: 1,
    sessionCredentials: { accessKey, accessSecret },
  });

describe('auth: access keys, signatures and permissions', () => {
  test('a producer with a valid key and pub permission sends', async () => {
    const producer = producerWith('shop', 'shop-secret', ['orders']);
    await producer.startup();
    const receipt = await producer.send({ topic: 'orders', body: Buffer.from('signed') });
    expect(receipt.messageId).toBeTruthy();
    await shutdownAll(producer);
  });

  test('a wrong access key, a wrong signature and a missing permission each fail with their own message', async () => {
    const unknownKey = producerWith('nobody', 'x', ['orders']);
    expect(await failureText(unknownKey.startup())).toMatch(/access key "nobody" is unknown/);
    const badSecret = producerWith('shop', 'wrong-secret', ['orders']);
    expect(await failureText(badSecret.startup())).toMatch(/signature check failed for access key "shop"/);
    const noPermission = producerWith('shop', 'shop-secret', ['audit']);
    await noPermission.startup().catch(() => {});
    await expect(noPermission.send({ topic: 'audit', body: Buffer.from('x') })).rejects.toThrow(
      /access key "shop" has no pub permission on topic:audit/,
    );
    const wrongGroup = new SimpleConsumer({
      namespace: '',
      logger: quietLogger,
      endpoints: b.endpoints,
      consumerGroup: 'billing',
      subscriptions: new Map([['orders', '*']]),
      sessionCredentials: { accessKey: 'shop', accessSecret: 'shop-secret' },
      awaitDuration: 1000,
    });
    await wrongGroup.startup();
    await expect(wrongGroup.receive(1, 15_000)).rejects.toThrow(/no sub permission on topic:orders/);
    await shutdownAll(unknownKey, badSecret, noPermission, wrongGroup);
  });

  test('the admin API needs an admin key, and every control-plane call is in the audit log', async () => {
    const call = (authHeader?: string) =>
      fetch(`http://${b.endpoints}/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authHeader ? { authorization: authHeader } : {}) },
        body: JSON.stringify({ name: 'created-by-admin', queues: 1 }),
      });
    const basic = (ak: string, sk: string) => `Basic ${Buffer.from(`${ak}:${sk}`).toString('base64')}`;
    expect((await call()).status).toBe(401);
    expect((await call(basic('shop', 'shop-secret'))).status).toBe(403);
    expect((await call(basic('ops', 'ops-secret'))).status).toBe(201);
    const lines = fs
      .readFileSync(path.join(b.dataDir, 'audit.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.kind === 'admin');
    expect(lines.map((l) => [l.method, l.path, l.status, l.accessKey])).toEqual([
      ['POST', '/topics', 401, undefined],
      ['POST', '/topics', 403, 'shop'],
      ['POST', '/topics', 201, 'ops'],
    ]);
    expect(lines.every((l) => typeof l.time === 'string')).toBe(true);
  });
});

describe('tls: TLS and plaintext on one port', () => {
  test('TLS and plaintext clients both reach the broker; the certificate was made on first start', async () => {
    const certPem = fs.readFileSync(path.join(b.dataDir, 'tls', 'cert.pem'));
    // biome-ignore lint/suspicious/noExplicitAny: proto-loader method definitions are untyped here.
    const method = (packageDefinition[serviceName] as Record<string, any>).QueryRoute;
    const queryRoute = (creds: grpc.ChannelCredentials) => {
      const client = new grpc.Client(b.endpoints, creds, { 'grpc.ssl_target_name_override': 'localhost' });
      const metadata = new grpc.Metadata();
      metadata.set('x-mq-client-id', 'tls-test@1');
      return new Promise<string>((resolve, reject) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          { topic: { name: 'orders' } },
          metadata,
          { deadline: Date.now() + 5000 },
          // biome-ignore lint/suspicious/noExplicitAny: decoded response.
          (err: grpc.ServiceError | null, res?: any) => {
            client.close();
            if (err) reject(err);
            else resolve(res.status.code);
          },
        );
      });
    };
    // No authorization header: auth is on, so both answer UNAUTHORIZED in-band, which proves the RPC got through.
    expect(await queryRoute(grpc.credentials.createSsl(certPem))).toBe('UNAUTHORIZED');
    expect(await queryRoute(grpc.credentials.createInsecure())).toBe('UNAUTHORIZED');
  });
});

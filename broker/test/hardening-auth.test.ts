import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { quietLogger, shutdownAll, startTestBroker, stopTestBroker, type TestBroker } from '../../test/kit/index.ts';
import type { AuthConfig } from '../auth/index.ts';
import { packageDefinition, serviceName } from '../protocol/codec.ts';

/**
 * Issue #12, security findings, through the official nodejs client where it can express the attack and raw gRPC
 * (signed by hand) where it cannot: a client id bound to its key, authorization on session RPCs, the signed-date
 * window, system topics, and an audit line for every refusal.
 */
// biome-ignore lint/suspicious/noExplicitAny: proto-loader method definitions and decoded messages are untyped here.
type Any = any;
const methods = packageDefinition[serviceName] as Record<string, Any>;

const auth: AuthConfig = {
  enabled: true,
  clientUtcOffsetsMinutes: [540],
  accounts: [
    {
      accessKey: 'alice',
      secretKey: 'alice-secret',
      allow: [
        { resource: 'topic:a-orders', actions: ['pub', 'sub'] },
        { resource: 'group:a-readers', actions: ['sub'] },
      ],
    },
    { accessKey: 'mallory', secretKey: 'mallory-secret', allow: [{ resource: 'topic:m-topic', actions: ['pub'] }] },
    { accessKey: 'ops', secretKey: 'ops-secret', admin: true, allow: [{ resource: 'topic:*', actions: ['pub'] }] },
  ],
};

let b: TestBroker;
let raw: grpc.Client;

beforeAll(async () => {
  b = await startTestBroker({
    auth,
    topics: [
      { name: 'a-orders', queues: 1 },
      { name: 'm-topic', queues: 1 },
    ],
    groups: [{ name: 'a-readers' }],
  });
  raw = new grpc.Client(b.endpoints, grpc.credentials.createInsecure());
});

afterAll(async () => {
  raw.close();
  await stopTestBroker(b);
});

/** yyyyMMddTHHmmssZ of a wall time, as the clients write it (shifted by offsetMs to imitate a local zone). */
function signedDate(wallMs: number, offsetMs = 0): string {
  return `${new Date(wallMs + offsetMs).toISOString().split('.')[0]?.replace(/[-:]/g, '')}Z`;
}

function signedMetadata(accessKey: string, secretKey: string, clientId: string, dateTime: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-mq-client-id', clientId);
  m.set('x-mq-date-time', dateTime);
  const signature = createHmac('sha1', secretKey).update(dateTime).digest('hex').toUpperCase();
  m.set(
    'authorization',
    `MQv2-HMAC-SHA1 Credential=${accessKey}, SignedHeaders=x-mq-date-time, Signature=${signature}`,
  );
  return m;
}

function unary(method: string, request: unknown, metadata: grpc.Metadata): Promise<Any> {
  const def = methods[method];
  return new Promise((resolve, reject) => {
    raw.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

const asMallory = (clientId: string, dateTime = signedDate(b.clock.wallMs())) =>
  signedMetadata('mallory', 'mallory-secret', clientId, dateTime);

function auditLines(): Any[] {
  return fs
    .readFileSync(path.join(b.dataDir, 'audit.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('a client id belongs to the key that first used it; session RPCs are authorized', () => {
  test("another tenant cannot release, renew or ack a client's in-flight message by using its client id", async () => {
    const producer = new Producer({
      namespace: '',
      logger: quietLogger,
      endpoints: b.endpoints,
      topics: ['a-orders'],
      sessionCredentials: { accessKey: 'alice', accessSecret: 'alice-secret' },
    });
    const consumer = new SimpleConsumer({
      namespace: '',
      logger: quietLogger,
      endpoints: b.endpoints,
      consumerGroup: 'a-readers',
      subscriptions: new Map([['a-orders', '*']]),
      sessionCredentials: { accessKey: 'alice', accessSecret: 'alice-secret' },
      // The client's 3 s request timeout plus this must leave the broker's 5 s minimum long poll (as RocketMQ's).
      awaitDuration: 5000,
    });
    try {
      await producer.startup();
      await consumer.startup();
      await producer.send({ topic: 'a-orders', body: Buffer.from('private') });
      let received: Awaited<ReturnType<SimpleConsumer['receive']>> = [];
      for (let i = 0; i < 10 && received.length === 0; i++) received = await consumer.receive(1, 30_000);
      expect(received).toHaveLength(1);
      const victim = consumer.clientId;
      const terminate = await unary('NotifyClientTermination', { group: { name: 'a-readers' } }, asMallory(victim));
      expect(terminate.status.code).toBe('FORBIDDEN');
      expect(terminate.status.message).toMatch(/client id ".*" belongs to another access key/);
      const heartbeat = await unary('Heartbeat', { clientType: 'SIMPLE_CONSUMER' }, asMallory(victim));
      expect(heartbeat.status.code).toBe('FORBIDDEN');
      const ack = await unary(
        'AckMessage',
        { group: { name: 'a-readers' }, topic: { name: 'a-orders' }, entries: [{ receiptHandle: 'x.0.0.0' }] },
        asMallory('mallory@1'),
      );
      expect(ack.status).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/group:a-readers|topic/) });
      // Unreleased, the message stays invisible for its 30 s: 2 s later it is still in flight, not ready again.
      b.clock.advance(2000);
      expect(b.broker.backlog('a-readers')).toEqual([expect.objectContaining({ inflight: 1, ready: 0 })]);
      // Client ids are bounded (the binding table is kept in memory).
      const long = await unary('Heartbeat', {}, asMallory('x'.repeat(513)));
      expect(long.status).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/at most 512/) });
      await consumer.ack(received[0] as Any);
    } finally {
      await shutdownAll(consumer, producer);
    }
  }, 60_000);

  test('settings naming a topic the key may not publish to are not recorded (no transaction check-backs)', async () => {
    // The nodejs producer would stop at QueryRoute for the foreign topic; a raw Telemetry stream sends the claim.
    const def = methods.Telemetry;
    const stream = raw.makeBidiStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      asMallory('mallory-producer@1'),
    );
    const answer = new Promise<Any>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.write({
      settings: { clientType: 'PRODUCER', publishing: { topics: [{ name: 'a-orders' }, { name: 'm-topic' }] } },
    });
    expect((await answer).status.code).toBe('OK');
    stream.end();
    stream.cancel();
    expect(b.broker.clients.get('mallory-producer@1')?.topics).toEqual(['m-topic']);
    const refused = auditLines().filter((l) => l.rpc === 'Telemetry' && l.accessKey === 'mallory');
    expect(refused[0]).toMatchObject({ kind: 'grpc', code: 'FORBIDDEN', resource: 'topic:a-orders' });
  });
});

describe('signed-date freshness (auth.signatureWindowMs, default 15 minutes)', () => {
  test('a valid signature over a date 25 years old, an empty date or a malformed one is refused', async () => {
    const now = b.clock.wallMs();
    const old = await unary(
      'QueryRoute',
      { topic: { name: 'm-topic' } },
      asMallory('m@1', signedDate(now - 25 * 365 * 86_400_000)),
    );
    expect(old.status.code).toBe('UNAUTHORIZED');
    expect(old.status.message).toMatch(/signed date \d{8}T\d{6}Z of access key "mallory" is \d+ min from/);
    const empty = await unary('QueryRoute', { topic: { name: 'm-topic' } }, asMallory('m@1', ''));
    expect(empty.status).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/not a date/) });
    const fresh = await unary(
      'QueryRoute',
      { topic: { name: 'm-topic' } },
      asMallory('m@1', signedDate(now - 14 * 60_000)),
    );
    expect(fresh.status.code).toBe('OK');
  });

  test('a local-time date (Java, Go) is accepted at a configured client offset and refused at another', async () => {
    const now = b.clock.wallMs();
    const tokyo = await unary(
      'QueryRoute',
      { topic: { name: 'm-topic' } },
      asMallory('m@1', signedDate(now, 540 * 60_000)),
    );
    expect(tokyo.status.code).toBe('OK');
    const moscow = await unary(
      'QueryRoute',
      { topic: { name: 'm-topic' } },
      asMallory('m@1', signedDate(now, 180 * 60_000)),
    );
    expect(moscow.status.code).toBe('UNAUTHORIZED');
  });
});

describe('system topics and the audit log', () => {
  test('a direct send to a dead-letter topic is refused with FORBIDDEN and says why', async () => {
    const ops = new Producer({
      namespace: '',
      logger: quietLogger,
      endpoints: b.endpoints,
      maxAttempts: 1,
      sessionCredentials: { accessKey: 'ops', accessSecret: 'ops-secret' },
    });
    try {
      await ops.startup();
      await expect(ops.send({ topic: '%DLQ%a-readers', body: Buffer.from('forged') })).rejects.toThrow(
        /Sending message to topic %DLQ%a-readers is forbidden: it is a system topic \(the dead-letter queue of group/,
      );
    } finally {
      await shutdownAll(ops);
    }
  }, 30_000);

  test('every refusal, gRPC or admin (a GET included), has an audit line with key, resource and reason', async () => {
    const res = await fetch(`http://${b.endpoints}/topics`, {
      headers: { authorization: `Basic ${Buffer.from('mallory:mallory-secret').toString('base64')}` },
    });
    expect(res.status).toBe(403);
    const lines = auditLines();
    const find = (pred: (l: Any) => boolean) => lines.find(pred);
    expect(find((l) => l.rpc === 'NotifyClientTermination')).toMatchObject({
      kind: 'grpc',
      code: 'FORBIDDEN',
      accessKey: 'mallory',
      resource: expect.stringMatching(/^client:/),
      reason: expect.stringMatching(/belongs to another access key/),
    });
    expect(find((l) => l.rpc === 'QueryRoute' && /signed date/.test(l.reason))).toMatchObject({
      accessKey: 'mallory',
      resource: 'auth',
    });
    expect(find((l) => l.rpc === 'SendMessage' && l.resource === 'topic:%DLQ%a-readers')).toMatchObject({
      accessKey: 'ops',
    });
    expect(find((l) => l.kind === 'admin' && l.method === 'GET')).toMatchObject({
      path: '/topics',
      status: 403,
      accessKey: 'mallory',
      resource: 'admin:GET /topics',
      reason: expect.stringMatching(/not an admin account/),
    });
    const metrics = await (await fetch(`http://${b.endpoints}/metrics`)).text();
    expect(metrics).toMatch(/^mqdrill_requests_denied_total\{kind="grpc",code="FORBIDDEN"\} [1-9]/m);
    expect(metrics).toMatch(/^mqdrill_requests_denied_total\{kind="admin",code="403"\} 1$/m);
  });
});

describe('signed-date freshness with the official client (moves the broker clock: keep last)', () => {
  test('the official client signs fresh dates; with the broker clock 20 min ahead its sends are refused', async () => {
    const producer = new Producer({
      namespace: '',
      logger: quietLogger,
      endpoints: b.endpoints,
      topics: ['m-topic'],
      maxAttempts: 1,
      sessionCredentials: { accessKey: 'mallory', accessSecret: 'mallory-secret' },
    });
    try {
      await producer.startup();
      await producer.send({ topic: 'm-topic', body: Buffer.from('fresh') });
      b.clock.advance(20 * 60_000);
      try {
        await expect(producer.send({ topic: 'm-topic', body: Buffer.from('stale') })).rejects.toThrow(
          /signed date .* is 20 min from the broker's clock; at most 15 min/,
        );
      } finally {
        b.clock.advance(-20 * 60_000); // back in the window, so the client's termination is accepted
      }
    } finally {
      await shutdownAll(producer);
    }
  }, 30_000);
});

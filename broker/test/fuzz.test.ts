import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  shutdownAll,
  startProducer,
  startSimpleConsumer,
  startTestBroker,
  stopTestBroker,
  type TestBroker,
} from '../../test/kit/index.ts';
import { packageDefinition, serviceName } from '../protocol/codec.ts';

// biome-ignore lint/suspicious/noExplicitAny: proto-loader method definitions are untyped here.
const methods = packageDefinition[serviceName] as Record<string, any>;
const unaryMethods = [
  'QueryRoute',
  'Heartbeat',
  'SendMessage',
  'QueryAssignment',
  'AckMessage',
  'ChangeInvisibleDuration',
  'ForwardMessageToDeadLetterQueue',
  'EndTransaction',
  'NotifyClientTermination',
];

let b: TestBroker;
let client: grpc.Client;

beforeAll(async () => {
  b = await startTestBroker({ topics: [{ name: 'fuzzed', queues: 2 }], groups: [{ name: 'fuzz-group' }] });
  client = new grpc.Client(b.endpoints, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await stopTestBroker(b);
});

function rawUnary(method: string, payload: Buffer): Promise<{ code: string | undefined; grpcCode: number }> {
  const def = methods[method];
  const metadata = new grpc.Metadata();
  metadata.set('x-mq-client-id', 'fuzzer@1');
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      def.path,
      (x: Buffer) => x,
      (buf: Buffer) => def.responseDeserialize(buf),
      payload,
      metadata,
      { deadline: Date.now() + 5000 },
      // biome-ignore lint/suspicious/noExplicitAny: decoded response.
      (err: grpc.ServiceError | null, res?: any) => resolve({ code: res?.status?.code, grpcCode: err ? err.code : 0 }),
    );
  });
}

/** Valid encodings of each request, to mutate: flipping bytes in real messages reaches deeper than pure noise. */
function seedRequests(): Record<string, Buffer> {
  const enc = (m: string, v: unknown) => methods[m].requestSerialize(v) as Buffer;
  const topic = { name: 'fuzzed' };
  return {
    QueryRoute: enc('QueryRoute', {
      topic,
      endpoints: { scheme: 'IPv4', addresses: [{ host: '127.0.0.1', port: 1 }] },
    }),
    SendMessage: enc('SendMessage', {
      messages: [
        {
          topic,
          body: Buffer.from('hello'),
          systemProperties: { messageId: 'AB', tag: 't', keys: ['k'] },
          userProperties: { a: 'b' },
        },
      ],
    }),
    AckMessage: enc('AckMessage', {
      group: { name: 'fuzz-group' },
      topic,
      entries: [{ messageId: 'x', receiptHandle: 'y' }],
    }),
    ChangeInvisibleDuration: enc('ChangeInvisibleDuration', {
      group: { name: 'fuzz-group' },
      topic,
      receiptHandle: 'h',
      invisibleDuration: { seconds: 5 },
    }),
    QueryAssignment: enc('QueryAssignment', { topic, group: { name: 'fuzz-group' } }),
    Heartbeat: enc('Heartbeat', { clientType: 'PRODUCER' }),
  };
}

describe('broker: request decoding never crashes and never loses stored data', () => {
  test('random and mutated requests get an in-band status; stored messages survive', async () => {
    const producer = await startProducer(b.endpoints, ['fuzzed']);
    const before = await producer.send({ topic: 'fuzzed', body: Buffer.from('precious') });
    const seeds = seedRequests();
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...unaryMethods),
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          fc
            .tuple(
              fc.constantFrom(...Object.values(seeds)),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
            )
            .map(([seed, flips]) => {
              const copy = Buffer.from(seed);
              for (const [i, v] of flips) copy[i % copy.length] = v;
              return copy;
            }),
          fc.constantFrom(...Object.values(seeds)).chain((seed) => fc.nat(seed.length).map((n) => seed.subarray(0, n))),
        ),
        async (method, payload) => {
          const res = await rawUnary(method, payload);
          expect(res.grpcCode).toBe(0); // never a transport-level failure: always an in-band status
          expect(res.code).toMatch(/^[A-Z_]+$/);
          seen.set(res.code as string, (seen.get(res.code as string) ?? 0) + 1);
        },
      ),
      { numRuns: 400, seed: 42 },
    );
    expect(seen.has('MESSAGE_CORRUPTED')).toBe(true);
    const consumer = await startSimpleConsumer(b.endpoints, 'fuzz-group', { fuzzed: '*' });
    const ids = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const batch = await consumer.receive(32, 15_000);
      if (batch.length === 0) break;
      for (const m of batch) {
        ids.add(m.messageId);
        await consumer.ack(m);
      }
    }
    expect(ids.has(before.messageId)).toBe(true);
    await shutdownAll(producer, consumer);
  });
});

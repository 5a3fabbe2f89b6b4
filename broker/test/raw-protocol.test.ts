import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  admin,
  shutdownAll,
  startProducer,
  startTestBroker,
  stopTestBroker,
  type TestBroker,
} from '../../test/kit/index.ts';
import { packageDefinition, serviceName } from '../protocol/codec.ts';
import { overflowingTimeoutHeader } from '../protocol/grpc-patches.ts';

// biome-ignore lint/suspicious/noExplicitAny: proto-loader method definitions and decoded messages are untyped here.
type Any = any;
const methods = packageDefinition[serviceName] as Record<string, Any>;

let b: TestBroker;
let client: grpc.Client;
const metadata = () => {
  const m = new grpc.Metadata();
  m.set('x-mq-client-id', 'raw-test@1');
  return m;
};

beforeAll(async () => {
  b = await startTestBroker({
    topics: [
      { name: 'raw', queues: 2, type: 'FIFO' },
      { name: 'timeline', queues: 1 },
    ],
    groups: [{ name: 'raw-fifo', fifo: true }, { name: 'rewind' }],
  });
  client = new grpc.Client(b.endpoints, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await stopTestBroker(b);
});

function unary(method: string, request: unknown): Promise<Any> {
  const def = methods[method];
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      metadata(),
      {},
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

function receive(request: unknown): Promise<Any[]> {
  const def = methods.ReceiveMessage;
  return new Promise((resolve, reject) => {
    const out: Any[] = [];
    const call = client.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      metadata(),
      {
        deadline: Date.now() + 10_000,
      },
    );
    call.on('data', (d) => out.push(d));
    call.on('end', () => resolve(out));
    call.on('error', reject);
  });
}

describe('broker protocol details', () => {
  test('telemetry with a 60-year deadline (as Java opens it) gets its settings, not DEADLINE_EXCEEDED', async () => {
    // Raw HTTP/2, because grpc-js clients never send this header value; the Java client does (31536000M).
    const def = methods.Telemetry;
    const session = http2.connect(`http://${b.endpoints}`);
    const stream = session.request({
      ':method': 'POST',
      ':path': def.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': overflowingTimeoutHeader,
      'x-mq-client-id': 'java-like@1',
    });
    const payload: Buffer = def.requestSerialize({
      settings: { clientType: 'PRODUCER', publishing: { topics: [{ name: 'raw' }] } },
    });
    const frame = Buffer.alloc(5 + payload.length);
    frame.writeUInt32BE(payload.length, 1);
    payload.copy(frame, 5);
    await new Promise((r) => setTimeout(r, 100)); // the client writes its settings a moment after opening the stream
    stream.write(frame);
    const reply = await new Promise<Any>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      stream.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) resolve(def.responseDeserialize(buf.subarray(5)));
      });
      stream.on('trailers', (t) => reject(new Error(`stream ended: ${t['grpc-status']} ${t['grpc-message']}`)));
      stream.on('close', () => reject(new Error('stream closed before any reply')));
      stream.on('error', reject);
    });
    expect(reply.status.code).toBe('OK');
    expect(reply.settings.publishing.maxBodySize).toBe(4 * 1024 * 1024);
    stream.close();
    session.close();
  });

  test('QueryRoute echoes the endpoint the client used; queue 0 first, READ_WRITE, concrete types', async () => {
    const res = await unary('QueryRoute', {
      topic: { name: 'raw', resourceNamespace: 'ns1' },
      endpoints: { scheme: 'IPv4', addresses: [{ host: '127.0.0.9', port: 18081 }] },
    });
    expect(res.status.code).toBe('OK');
    expect(res.messageQueues.map((q: Any) => q.id)).toEqual([0, 1]);
    const q0 = res.messageQueues[0];
    expect(q0).toMatchObject({
      permission: 'READ_WRITE',
      acceptMessageTypes: ['FIFO'],
      topic: { resourceNamespace: 'ns1' },
    });
    expect(q0.broker.endpoints.addresses).toEqual([{ host: '127.0.0.9', port: 18081 }]);
    const missing = await unary('QueryRoute', { topic: { name: 'nope' } });
    expect(missing.status.code).toBe('TOPIC_NOT_FOUND');
    expect(missing.status.message).toContain('CODE: 17  DESC: No topic route info in name server for the topic: nope');
  });

  test('a receive retried with the same attempt id returns the same batch and receipt handles', async () => {
    const producer = await startProducer(b.endpoints, ['raw']);
    await producer.send({ topic: 'raw', messageGroup: 'g1', body: Buffer.from('one') });
    await producer.send({ topic: 'raw', messageGroup: 'g1', body: Buffer.from('two') });
    const request = {
      group: { name: 'raw-fifo' },
      messageQueue: { topic: { name: 'raw' }, id: 0 },
      filterExpression: { type: 'TAG', expression: '*' },
      batchSize: 32,
      invisibleDuration: { seconds: 30 },
      longPollingTimeout: { seconds: 1 },
      attemptId: 'attempt-1',
    };
    const first = await receive(request);
    const again = await receive(request);
    const handles = (frames: Any[]) =>
      frames.filter((f) => f.message).map((f) => f.message.systemProperties.receiptHandle);
    expect(first[0].status.code).toBe('OK');
    expect(handles(first)).toHaveLength(2);
    expect(handles(again)).toEqual(handles(first));
    const other = await receive({ ...request, attemptId: 'attempt-2' });
    expect(other[0].status.code).toBe('MESSAGE_NOT_FOUND'); // the group is held while its batch is in flight
    expect(other.at(-1).deliveryTimestamp).toBeDefined();
    await shutdownAll(producer);
  });

  test('admin API: backlog per group, reset offset to a timestamp, Prometheus metrics', async () => {
    const producer = await startProducer(b.endpoints, ['timeline']);
    for (let i = 0; i < 3; i++) await producer.send({ topic: 'timeline', body: Buffer.from(`early${i}`) });
    b.clock.advance(60_000);
    const cut = b.clock.wallMs();
    for (let i = 0; i < 2; i++) await producer.send({ topic: 'timeline', body: Buffer.from(`late${i}`) });
    const reset = (await admin(b.endpoints, 'POST', '/groups/rewind/reset-offset', {
      topic: 'timeline',
      timestamp: cut,
    })) as Any;
    expect(reset.queues).toEqual([{ queueId: 0, offset: 3 }]);
    const backlog = (await admin(b.endpoints, 'GET', '/groups/rewind/backlog')) as Any;
    expect(backlog.topics).toEqual([{ topic: 'timeline', group: 'rewind', ready: 2, inflight: 0, retry: 0, dlq: 0 }]);
    const metrics = await (await fetch(`http://${b.endpoints}/metrics`)).text();
    expect(metrics).toMatch(/rocketmq_messages_in_total\{topic="timeline",message_type="NORMAL"\} 5/);
    expect(metrics).toMatch(/rocketmq_consumer_lag_messages\{topic="timeline",consumer_group="rewind"\} 2/);
    expect(metrics).toMatch(/mqdrill_queue_length\{queue="receive-long-poll-waiters"\}/);
    expect(metrics).toMatch(/rocketmq_rpc_latency_bucket\{.*request_code="SendMessage"/);
    const health = (await admin(b.endpoints, 'GET', '/health')) as Any;
    expect(health.status).toBe('ok');
    await expect(admin(b.endpoints, 'POST', '/topics', { name: 'bad name!' })).rejects.toThrow(/ILLEGAL_TOPIC/);
    await shutdownAll(producer);
  });
});

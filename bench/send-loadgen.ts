/**
 * Load generator for bench/broker.ts, run in its own process: `concurrency` closed-loop senders of SendMessage with a
 * 1 KiB body over one grpc-js channel for `durationMs`, then prints {sent, failed, ratePerSec, p50Ms, p99Ms} as JSON.
 * Raw grpc-js rather than the RocketMQ client so that the measurement is of the server, not of client bookkeeping.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as hdr from 'hdr-histogram-js';
import { packageDefinition, serviceName } from '../broker/protocol/codec.ts';

const [endpoint = '', topic = 'bench', concurrencyText = '1', durationText = '5000', groupsText = '0'] =
  process.argv.slice(2);
/** With groups > 0, every message is FIFO, in one of that many message groups. */
const groups = Number(groupsText);
const concurrency = Number(concurrencyText);
const durationMs = Number(durationText);
// biome-ignore lint/suspicious/noExplicitAny: proto-loader method definition.
const method = (packageDefinition[serviceName] as Record<string, any>).SendMessage;
const body = Buffer.alloc(1024, 'x');
const requests = Array.from({ length: 256 }, (_, i) =>
  method.requestSerialize({
    messages: [
      {
        topic: { name: topic },
        body,
        systemProperties: {
          messageId: randomUUID().replace(/-/g, '').toUpperCase(),
          ...(groups > 0 ? { messageGroup: `group-${i % groups}` } : {}),
        },
      },
    ],
  }),
);
const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
const histogram = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
});
const metadata = new grpc.Metadata();
metadata.set('x-mq-client-id', `bench@${process.pid}`);
let sent = 0;
let failed = 0;
const deadline = performance.now() + durationMs;

function sendOne(i: number): Promise<void> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method.path,
      (x: Buffer) => x,
      method.responseDeserialize,
      requests[i % requests.length],
      metadata,
      {},
      // biome-ignore lint/suspicious/noExplicitAny: decoded response.
      (err: grpc.ServiceError | null, res?: any) => {
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        if (err || res?.status?.code !== 'OK') failed++;
        else sent++;
        resolve();
      },
    );
  });
}

async function worker(w: number): Promise<void> {
  for (let i = w; performance.now() < deadline; i += concurrency) await sendOne(i);
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
const elapsedS = (performance.now() - t0) / 1000;
process.stdout.write(
  `${JSON.stringify({
    sent,
    failed,
    ratePerSec: Math.round(sent / elapsedS),
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
  })}\n`,
);
client.close();

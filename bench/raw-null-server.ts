/**
 * The null server without grpc-js: the MessagingService answers of bench/null-server.ts (bench/null-answers.ts) served
 * straight on node:http2. It measures how much of the gRPC stack's cost is grpc-js and how much is node's http2
 * itself, so it is hand-rolled on purpose: gRPC's framing here is the least a server can do (each message a 5-byte
 * prefix, flag 0 and a big-endian length, then the protobuf bytes; the response's status in `grpc-status` trailers),
 * with the same protobuf codec the broker uses (proto-loader's, from broker/protocol/codec.ts). It is a benchmark
 * instrument, not a server to build on: no compression, deadlines, metadata, flow-control tuning or bad-input
 * handling beyond answering an unknown method UNIMPLEMENTED and a frame it cannot read INTERNAL. The http2 server
 * options are grpc-js's (no header-block and session-memory limits), so the http2 work per call is the same.
 *
 *   node --import tsx bench/raw-null-server.ts [queues=8]
 */
import http2 from 'node:http2';
import type * as protoLoader from '@grpc/proto-loader';
import { packageDefinition, serviceName } from '../broker/protocol/codec.ts';
import type { TelemetryCommand__Output } from '../broker/protocol/messages.ts';
import { nullAnswers } from './null-answers.ts';

const queues = Number(process.argv[2] ?? 8);
const messageBytesMax = 130 * 1024 * 1024;
let port = 0;
const answers = nullAnswers(queues, () => port);
const service = packageDefinition[serviceName] as protoLoader.ServiceDefinition;
const methods = new Map(Object.values(service).map((m) => [m.path, m]));

type Answer = (request: unknown) => unknown;
const unaryAnswers: Record<string, Answer> = {
  SendMessage: answers.sendMessage as Answer,
  QueryRoute: answers.queryRoute as Answer,
  Heartbeat: answers.plainOk,
  NotifyClientTermination: answers.plainOk,
};

/** One length-prefixed gRPC message. */
function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** Splits a stream's DATA chunks into gRPC messages (5-byte prefix, then the bytes); calls back with each. */
function deframer(onMessage: (payload: Buffer) => void, onError: (why: string) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let broken = false;
  return (chunk) => {
    if (broken) return;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      if (pending[0] !== 0) {
        broken = true;
        onError('compressed messages are not supported');
        return;
      }
      const size = pending.readUInt32BE(1);
      if (size > messageBytesMax) {
        broken = true;
        onError(`message of ${size} bytes is over ${messageBytesMax}`);
        return;
      }
      if (pending.length < 5 + size) return;
      onMessage(pending.subarray(5, 5 + size));
      pending = pending.subarray(5 + size);
    }
  };
}

const okHeaders = { ':status': 200, 'content-type': 'application/grpc' };

function fail(stream: http2.ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else
    stream.respond(
      { ...okHeaders, 'grpc-status': String(code), 'grpc-message': encodeURI(message) },
      { endStream: true },
    );
}

function onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  stream.on('error', () => {}); // a client reset: nothing to do
  const method = methods.get(String(headers[':path']));
  const name = String(headers[':path']).split('/').pop() ?? '';
  if (method === undefined) {
    fail(stream, 12, `unknown method ${headers[':path']}`);
    return;
  }
  const finish = () => stream.sendTrailers({ 'grpc-status': '0' });
  if (name === 'Telemetry') {
    stream.respond(okHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', finish);
    stream.on(
      'data',
      deframer(
        (payload) => {
          const reply = answers.telemetry(method.requestDeserialize(payload) as TelemetryCommand__Output);
          if (reply) stream.write(frame(method.responseSerialize(reply)));
        },
        (why) => fail(stream, 13, why),
      ),
    );
    stream.on('end', () => stream.end());
    return;
  }
  const answer = unaryAnswers[name];
  if (answer === undefined) {
    fail(stream, 12, `${name} is not served by the null server`);
    return;
  }
  let answered = false;
  stream.on(
    'data',
    deframer(
      (payload) => {
        if (answered) return;
        answered = true;
        const response = frame(method.responseSerialize(answer(method.requestDeserialize(payload)) as object));
        stream.respond(okHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', finish);
        stream.end(response);
      },
      (why) => fail(stream, 13, why),
    ),
  );
}

const server = http2.createServer({
  maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
  maxSessionMemory: Number.MAX_SAFE_INTEGER,
});
server.on('stream', onStream);
server.on('sessionError', () => {});
server.listen(0, '127.0.0.1', () => {
  port = (server.address() as { port: number }).port;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on('SIGTERM', () => process.exit(0)); // nothing to flush: it stores nothing

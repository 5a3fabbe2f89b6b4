/**
 * The ceiling of the gRPC stack on this machine: a MessagingService that answers SendMessage with OK and stores
 * nothing. Same service definition, same grpc-js server options as the broker. Prints its port on stdout.
 *
 * It also answers what the official clients need before they send (so bench/load.ts can drive it through the node
 * and Go drivers): QueryRoute (queues 0..N-1, READ_WRITE, broker id 0 at the endpoints the client asked with,
 * accepting NORMAL), Heartbeat and NotifyClientTermination (OK), and Telemetry (each settings command answered
 * with OK and the broker's settings reply: publishing.max_body_size 4 MiB and an exponential backoff policy).
 *
 *   node --import tsx bench/null-server.ts [queues=8]
 */
import * as grpc from '@grpc/grpc-js';
import { tolerantServiceDefinition } from '../broker/protocol/codec.ts';
import type {
  MessageQueue,
  QueryRouteRequest__Output,
  QueryRouteResponse,
  SendMessageRequest__Output,
  SendMessageResponse,
  TelemetryCommand,
  TelemetryCommand__Output,
} from '../broker/protocol/messages.ts';
import { mergeSettings } from '../broker/protocol/settings.ts';

const queues = Number(process.argv[2] ?? 8);
const ok = { code: 'OK', message: 'OK' } as const;
const server = new grpc.Server({ 'grpc.max_receive_message_length': 130 * 1024 * 1024, 'grpc.enable_channelz': 0 });
let offset = 0;
let port = 0;

function queryRoute(request: QueryRouteRequest__Output): QueryRouteResponse {
  const address = request.endpoints?.addresses?.[0] ?? { host: '127.0.0.1', port };
  const endpoints = { scheme: request.endpoints?.scheme ?? 'IPv4', addresses: [address] };
  const broker = { name: 'null-broker', id: 0, endpoints };
  const messageQueues = Array.from(
    { length: queues },
    (_, id): MessageQueue => ({
      topic: request.topic,
      id,
      permission: 'READ_WRITE',
      broker,
      acceptMessageTypes: ['NORMAL'],
    }),
  );
  return { status: ok, messageQueues };
}

function telemetry(call: grpc.ServerDuplexStream<TelemetryCommand__Output, TelemetryCommand>): void {
  call.on('data', (command: TelemetryCommand__Output) => {
    if (command.settings) call.write({ status: ok, settings: mergeSettings(command.settings, undefined) });
  });
  call.on('end', () => call.end());
  call.on('error', () => {});
}

// The null server trusts its (benchmark) clients: a malformed request is not handled here.
const unary =
  <Req, Res>(answer: (request: Req) => Res) =>
  (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) =>
    callback(null, answer(call.request));

server.addService(tolerantServiceDefinition() as grpc.ServiceDefinition, {
  SendMessage: unary((request: SendMessageRequest__Output): SendMessageResponse => {
    const id = request.messages?.[0]?.systemProperties?.messageId ?? '';
    return { status: ok, entries: [{ status: ok, messageId: id, transactionId: id, offset: offset++ }] };
  }),
  QueryRoute: unary(queryRoute),
  Heartbeat: unary(() => ({ status: ok })),
  NotifyClientTermination: unary(() => ({ status: ok })),
  Telemetry: telemetry,
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err;
  port = bound;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());

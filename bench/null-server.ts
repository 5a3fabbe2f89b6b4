/**
 * The ceiling of the gRPC stack on this machine: a MessagingService that answers SendMessage with OK and stores
 * nothing. Same service definition, same grpc-js server options as the broker. Prints its port on stdout.
 *
 * It also answers what the official clients need before they send (so bench/load.ts can drive it through the node
 * and Go drivers): QueryRoute, Heartbeat, NotifyClientTermination and Telemetry (bench/null-answers.ts, shared with
 * bench/raw-null-server.ts, the same answers without grpc-js).
 *
 *   node --import tsx bench/null-server.ts [queues=8]
 */
import * as grpc from '@grpc/grpc-js';
import { tolerantServiceDefinition } from '../broker/protocol/codec.ts';
import type { TelemetryCommand, TelemetryCommand__Output } from '../broker/protocol/messages.ts';
import { nullAnswers } from './null-answers.ts';

const queues = Number(process.argv[2] ?? 8);
const server = new grpc.Server({ 'grpc.max_receive_message_length': 130 * 1024 * 1024, 'grpc.enable_channelz': 0 });
let port = 0;
const answers = nullAnswers(queues, () => port);

function telemetry(call: grpc.ServerDuplexStream<TelemetryCommand__Output, TelemetryCommand>): void {
  call.on('data', (command: TelemetryCommand__Output) => {
    const reply = answers.telemetry(command);
    if (reply) call.write(reply);
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
  SendMessage: unary(answers.sendMessage),
  QueryRoute: unary(answers.queryRoute),
  Heartbeat: unary(answers.plainOk),
  NotifyClientTermination: unary(answers.plainOk),
  Telemetry: telemetry,
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err;
  port = bound;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());

/**
 * The ceiling of the gRPC stack on this machine: a MessagingService that answers SendMessage with OK and stores
 * nothing. Same service definition, same grpc-js server options as the broker. Prints its port on stdout.
 */
import * as grpc from '@grpc/grpc-js';
import { tolerantServiceDefinition } from '../broker/protocol/codec.ts';

const server = new grpc.Server({ 'grpc.max_receive_message_length': 130 * 1024 * 1024 });
let offset = 0;
server.addService(tolerantServiceDefinition() as grpc.ServiceDefinition, {
  // biome-ignore lint/suspicious/noExplicitAny: decoded protobuf request.
  SendMessage: (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
    const id = call.request.messages?.[0]?.systemProperties?.messageId ?? '';
    callback(null, {
      status: { code: 'OK', message: 'OK' },
      entries: [{ status: { code: 'OK', message: 'OK' }, messageId: id, transactionId: id, offset: offset++ }],
    });
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());

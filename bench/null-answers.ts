/**
 * What the null servers (bench/null-server.ts on grpc-js, bench/raw-null-server.ts on node:http2 alone) answer: the
 * same messages from the same code, so the two differ only in their gRPC layer. SendMessage is answered OK and
 * nothing is stored; QueryRoute names N queues (READ_WRITE, broker id 0, at the endpoint the client asked with,
 * accepting NORMAL); Heartbeat and NotifyClientTermination are OK; a Telemetry settings command is answered with OK
 * and the broker's settings reply (publishing.max_body_size 4 MiB, an exponential backoff policy).
 */
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

const ok = { code: 'OK', message: 'OK' } as const;

export interface NullAnswers {
  sendMessage(request: SendMessageRequest__Output): SendMessageResponse;
  queryRoute(request: QueryRouteRequest__Output): QueryRouteResponse;
  /** Heartbeat, NotifyClientTermination. */
  plainOk(): { status: typeof ok };
  /** The reply to one Telemetry command, or none. */
  telemetry(command: TelemetryCommand__Output): TelemetryCommand | undefined;
}

/** port(): the server's own port, for a route request that names no endpoint. */
export function nullAnswers(queues: number, port: () => number): NullAnswers {
  let offset = 0;
  return {
    sendMessage(request) {
      const id = request.messages?.[0]?.systemProperties?.messageId ?? '';
      return { status: ok, entries: [{ status: ok, messageId: id, transactionId: id, offset: offset++ }] };
    },
    queryRoute(request) {
      const address = request.endpoints?.addresses?.[0] ?? { host: '127.0.0.1', port: port() };
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
    },
    plainOk: () => ({ status: ok }),
    telemetry: (command) =>
      command.settings ? { status: ok, settings: mergeSettings(command.settings, undefined) } : undefined,
  };
}

/**
 * Does a broker's route keep clients on the address they dialled? A gRPC client asks the access point for a topic's
 * route once, then talks to the endpoints the route names. When those are not the fault proxy's address, network
 * faults on the proxy miss every call after the route lookup. routeEndpoints() asks (QueryRoute, as the official
 * clients do) and returns the distinct host:port the route names.
 */
import * as grpc from '@grpc/grpc-js';
import { packageDefinition, serviceName } from '../../broker/protocol/codec.ts';

// biome-ignore lint/suspicious/noExplicitAny: proto-loader method definitions and decoded messages are untyped.
type Any = any;

export interface RouteCheck {
  /** Distinct host:port the route names (empty when the route could not be read). */
  endpoints: string[];
  /** Route endpoints other than the one dialled: traffic to them bypasses a proxy at the dialled address. */
  bypass: string[];
  /** Why the route could not be read, when it could not. */
  error?: string;
}

export async function routeEndpoints(
  dialled: string,
  topic: string,
  opts: { tls?: boolean; namespace?: string; timeoutMs?: number } = {},
): Promise<RouteCheck> {
  const credentials = opts.tls
    ? grpc.credentials.createSsl(null, null, null, { checkServerIdentity: () => undefined, rejectUnauthorized: false })
    : grpc.credentials.createInsecure();
  const client = new grpc.Client(dialled, credentials);
  const def = (packageDefinition[serviceName] as Record<string, Any>).QueryRoute;
  const [host, port] = splitHostPort(dialled);
  const request = {
    topic: { name: topic, resourceNamespace: opts.namespace ?? '' },
    endpoints: { scheme: 'IPv4', addresses: [{ host, port }] },
  };
  const metadata = new grpc.Metadata();
  metadata.set('x-mq-client-id', `mqdrill-route-check@${process.pid}`);
  metadata.set('x-mq-language', 'NODE_JS');
  metadata.set('x-mq-protocol', 'v2');
  try {
    const res: Any = await new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + (opts.timeoutMs ?? 10_000) },
        (err, value) => (err ? reject(err) : resolve(value)),
      );
    });
    if (res.status?.code !== 'OK') {
      return { endpoints: [], bypass: [], error: `${res.status?.code}: ${res.status?.message ?? ''}` };
    }
    const endpoints = new Set<string>();
    for (const q of res.messageQueues ?? []) {
      for (const a of q.broker?.endpoints?.addresses ?? []) endpoints.add(`${a.host}:${a.port}`);
    }
    const list = [...endpoints].sort();
    return { endpoints: list, bypass: list.filter((e) => e !== dialled) };
  } catch (err) {
    return { endpoints: [], bypass: [], error: (err as Error).message };
  } finally {
    client.close();
  }
}

function splitHostPort(endpoint: string): [string, number] {
  const i = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, i), Number(endpoint.slice(i + 1))];
}

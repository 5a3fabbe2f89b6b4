import { createRequire } from 'node:module';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The MessagingService definition, loaded from the .proto files that ship in the official nodejs client's npm
 * package, so the broker and that client agree on every field. Messages are plain objects (camelCase fields, enums as
 * strings, int64 as numbers). Request decoding never throws: a malformed request decodes to `{ [MALFORMED]: error }`
 * and the handler answers in-band, as RocketMQ does, instead of grpc-js's bare INTERNAL.
 */
const require = createRequire(import.meta.url);
const protoRoot = path.join(path.dirname(require.resolve('rocketmq-client-nodejs/package.json')), 'proto');

export const MALFORMED = Symbol('malformed');

export interface Malformed {
  [MALFORMED]: Error;
}

export function isMalformed(x: unknown): x is Malformed {
  return typeof x === 'object' && x !== null && MALFORMED in x;
}

const loaderOptions: protoLoader.Options = {
  includeDirs: [protoRoot],
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  keepCase: false,
};

export const packageDefinition = protoLoader.loadSync('apache/rocketmq/v2/service.proto', loaderOptions);
export const serviceName = 'apache.rocketmq.v2.MessagingService';

/** The service definition with tolerant request decoders. */
export function tolerantServiceDefinition(): protoLoader.ServiceDefinition {
  const original = packageDefinition[serviceName] as protoLoader.ServiceDefinition;
  const out: protoLoader.ServiceDefinition = {};
  for (const [name, method] of Object.entries(original)) {
    out[name] = {
      ...method,
      requestDeserialize: (buf: Buffer) => {
        try {
          return method.requestDeserialize(buf);
        } catch (err) {
          return { [MALFORMED]: err instanceof Error ? err : new Error(String(err)) };
        }
      },
    };
  }
  return out;
}

export const protoDir = protoRoot;

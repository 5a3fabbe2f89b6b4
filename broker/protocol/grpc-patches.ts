import { createRequire } from 'node:module';

/**
 * Work-around for a grpc-js server bug that breaks the official Java client. The Java client opens its Telemetry
 * stream with a 60-year deadline (`grpc-timeout: 31536000M`); grpc-js 1.14 converts it to milliseconds with `| 0`,
 * which overflows to a negative number, so the stream ends at once with DEADLINE_EXCEEDED and the client never gets
 * its settings. We treat any timeout longer than setTimeout can represent (2^31-1 ms, ~24.8 days) as "no deadline",
 * and leave every other value to grpc-js. Patched once, on the prototype grpc-js uses for every server call.
 */
const require = createRequire(import.meta.url);
const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
const timerMsMax = 2 ** 31 - 1;
let applied = false;

export function applyGrpcServerPatches(): void {
  if (applied) return;
  applied = true;
  const mod = require('@grpc/grpc-js/build/src/server-interceptors.js') as {
    BaseServerInterceptingCall: { prototype: { handleTimeoutHeader(header: unknown): void } };
  };
  const proto = mod.BaseServerInterceptingCall.prototype;
  const original = proto.handleTimeoutHeader;
  if (typeof original !== 'function') throw new Error('grpc-js internals changed: handleTimeoutHeader not found');
  proto.handleTimeoutHeader = function handleTimeoutHeader(this: unknown, header: unknown) {
    const m = /^(\d{1,8})([HMSmun])$/.exec(String(header));
    if (m && Number(m[1]) * (unitMs[m[2] as string] as number) > timerMsMax) return; // effectively unbounded
    original.call(this, header);
  };
}

/** The timeout header value at which grpc-js would overflow, for tests. */
export const overflowingTimeoutHeader = '31536000M';

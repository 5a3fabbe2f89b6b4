import { limits } from '../limits.ts';
import type { GroupConfig } from '../metadata.ts';
import { msToDuration } from './convert.ts';
import type { Settings, Settings__Output } from './messages.ts';

/** RocketMQ's customized retry delays (CustomizedRetryPolicy): 1s 5s 10s 30s 1m 2m ... 2h. */
export const customizedRetryDelaysMs = [
  1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000, 600_000,
  1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

/**
 * The settings reply (as the RocketMQ proxy's ClientActivity#processAndWriteClientSettings): never a plain echo.
 * Producers need an exponential backoff and a real max_body_size; consumers need batch size, long-polling timeout,
 * the group's FIFO flag and its retry policy.
 */
export function mergeSettings(client: Settings__Output, group: GroupConfig | undefined): Settings {
  const out: Settings = {
    clientType: client.clientType,
    accessPoint: client.accessPoint,
    requestTimeout: client.requestTimeout,
    userAgent: client.userAgent,
    metric: { on: false },
  };
  if (client.publishing || client.clientType === 'PRODUCER') {
    out.publishing = { ...client.publishing, maxBodySize: limits.bodyBytesMax, validateMessageType: true };
    out.backoffPolicy = {
      maxAttempts: 3,
      exponentialBackoff: { initial: msToDuration(10), max: msToDuration(1000), multiplier: 2 },
    };
    return out;
  }
  const maxAttempts = group?.maxAttempts ?? 17;
  out.subscription = {
    ...client.subscription,
    fifo: group?.fifo ?? false,
    receiveBatchSize: limits.receiveBatchMax,
    longPollingTimeout: msToDuration(limits.longPollingMsMax),
  };
  out.backoffPolicy =
    group?.retryPolicy === 'exponential'
      ? {
          maxAttempts,
          exponentialBackoff: { initial: msToDuration(5000), max: msToDuration(7_200_000), multiplier: 2 },
        }
      : { maxAttempts, customizedBackoff: { next: customizedRetryDelaysMs.map(msToDuration) } };
  return out;
}

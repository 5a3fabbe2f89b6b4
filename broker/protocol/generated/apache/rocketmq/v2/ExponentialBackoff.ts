// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../../google/protobuf/Duration.ts';

export interface ExponentialBackoff {
  'initial'?: (_google_protobuf_Duration | null);
  'max'?: (_google_protobuf_Duration | null);
  'multiplier'?: (number | string);
}

export interface ExponentialBackoff__Output {
  'initial'?: (_google_protobuf_Duration__Output);
  'max'?: (_google_protobuf_Duration__Output);
  'multiplier'?: (number);
}

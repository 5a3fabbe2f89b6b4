// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

import type { ExponentialBackoff as _apache_rocketmq_v2_ExponentialBackoff, ExponentialBackoff__Output as _apache_rocketmq_v2_ExponentialBackoff__Output } from '../../../apache/rocketmq/v2/ExponentialBackoff.ts';
import type { CustomizedBackoff as _apache_rocketmq_v2_CustomizedBackoff, CustomizedBackoff__Output as _apache_rocketmq_v2_CustomizedBackoff__Output } from '../../../apache/rocketmq/v2/CustomizedBackoff.ts';

export interface RetryPolicy {
  'maxAttempts'?: (number);
  'exponentialBackoff'?: (_apache_rocketmq_v2_ExponentialBackoff | null);
  'customizedBackoff'?: (_apache_rocketmq_v2_CustomizedBackoff | null);
  'strategy'?: "exponentialBackoff"|"customizedBackoff";
}

export interface RetryPolicy__Output {
  'maxAttempts'?: (number);
  'exponentialBackoff'?: (_apache_rocketmq_v2_ExponentialBackoff__Output);
  'customizedBackoff'?: (_apache_rocketmq_v2_CustomizedBackoff__Output);
  'strategy'?: "exponentialBackoff"|"customizedBackoff";
}

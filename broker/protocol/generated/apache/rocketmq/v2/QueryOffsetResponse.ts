// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Status as _apache_rocketmq_v2_Status, Status__Output as _apache_rocketmq_v2_Status__Output } from '../../../apache/rocketmq/v2/Status.ts';
import type { Long } from '@grpc/proto-loader';

export interface QueryOffsetResponse {
  'status'?: (_apache_rocketmq_v2_Status | null);
  'offset'?: (number | string | Long);
}

export interface QueryOffsetResponse__Output {
  'status'?: (_apache_rocketmq_v2_Status__Output);
  'offset'?: (number);
}

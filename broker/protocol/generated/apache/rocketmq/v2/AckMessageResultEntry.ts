// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Status as _apache_rocketmq_v2_Status, Status__Output as _apache_rocketmq_v2_Status__Output } from '../../../apache/rocketmq/v2/Status.ts';

export interface AckMessageResultEntry {
  'messageId'?: (string);
  'receiptHandle'?: (string);
  'status'?: (_apache_rocketmq_v2_Status | null);
}

export interface AckMessageResultEntry__Output {
  'messageId'?: (string);
  'receiptHandle'?: (string);
  'status'?: (_apache_rocketmq_v2_Status__Output);
}

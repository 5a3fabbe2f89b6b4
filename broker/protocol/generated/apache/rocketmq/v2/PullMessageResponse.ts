// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Status as _apache_rocketmq_v2_Status, Status__Output as _apache_rocketmq_v2_Status__Output } from '../../../apache/rocketmq/v2/Status.ts';
import type { Message as _apache_rocketmq_v2_Message, Message__Output as _apache_rocketmq_v2_Message__Output } from '../../../apache/rocketmq/v2/Message.ts';
import type { Long } from '@grpc/proto-loader';

export interface PullMessageResponse {
  'status'?: (_apache_rocketmq_v2_Status | null);
  'message'?: (_apache_rocketmq_v2_Message | null);
  'nextOffset'?: (number | string | Long);
  'content'?: "status"|"message"|"nextOffset";
}

export interface PullMessageResponse__Output {
  'status'?: (_apache_rocketmq_v2_Status__Output);
  'message'?: (_apache_rocketmq_v2_Message__Output);
  'nextOffset'?: (number);
  'content'?: "status"|"message"|"nextOffset";
}

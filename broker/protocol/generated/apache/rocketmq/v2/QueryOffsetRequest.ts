// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { MessageQueue as _apache_rocketmq_v2_MessageQueue, MessageQueue__Output as _apache_rocketmq_v2_MessageQueue__Output } from '../../../apache/rocketmq/v2/MessageQueue.ts';
import type { QueryOffsetPolicy as _apache_rocketmq_v2_QueryOffsetPolicy, QueryOffsetPolicy__Output as _apache_rocketmq_v2_QueryOffsetPolicy__Output } from '../../../apache/rocketmq/v2/QueryOffsetPolicy.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../../google/protobuf/Timestamp.ts';

export interface QueryOffsetRequest {
  'messageQueue'?: (_apache_rocketmq_v2_MessageQueue | null);
  'queryOffsetPolicy'?: (_apache_rocketmq_v2_QueryOffsetPolicy);
  'timestamp'?: (_google_protobuf_Timestamp | null);
  '_timestamp'?: "timestamp";
}

export interface QueryOffsetRequest__Output {
  'messageQueue'?: (_apache_rocketmq_v2_MessageQueue__Output);
  'queryOffsetPolicy'?: (_apache_rocketmq_v2_QueryOffsetPolicy__Output);
  'timestamp'?: (_google_protobuf_Timestamp__Output);
  '_timestamp'?: "timestamp";
}

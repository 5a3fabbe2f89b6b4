// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Resource as _apache_rocketmq_v2_Resource, Resource__Output as _apache_rocketmq_v2_Resource__Output } from '../../../apache/rocketmq/v2/Resource.ts';

export interface RecallMessageRequest {
  'topic'?: (_apache_rocketmq_v2_Resource | null);
  'recallHandle'?: (string);
}

export interface RecallMessageRequest__Output {
  'topic'?: (_apache_rocketmq_v2_Resource__Output);
  'recallHandle'?: (string);
}

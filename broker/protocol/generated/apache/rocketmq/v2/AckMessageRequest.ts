// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Resource as _apache_rocketmq_v2_Resource, Resource__Output as _apache_rocketmq_v2_Resource__Output } from '../../../apache/rocketmq/v2/Resource.ts';
import type { AckMessageEntry as _apache_rocketmq_v2_AckMessageEntry, AckMessageEntry__Output as _apache_rocketmq_v2_AckMessageEntry__Output } from '../../../apache/rocketmq/v2/AckMessageEntry.ts';

export interface AckMessageRequest {
  'group'?: (_apache_rocketmq_v2_Resource | null);
  'topic'?: (_apache_rocketmq_v2_Resource | null);
  'entries'?: (_apache_rocketmq_v2_AckMessageEntry)[];
}

export interface AckMessageRequest__Output {
  'group'?: (_apache_rocketmq_v2_Resource__Output);
  'topic'?: (_apache_rocketmq_v2_Resource__Output);
  'entries'?: (_apache_rocketmq_v2_AckMessageEntry__Output)[];
}

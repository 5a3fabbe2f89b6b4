// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Resource as _apache_rocketmq_v2_Resource, Resource__Output as _apache_rocketmq_v2_Resource__Output } from '../../../apache/rocketmq/v2/Resource.ts';
import type { MessageQueue as _apache_rocketmq_v2_MessageQueue, MessageQueue__Output as _apache_rocketmq_v2_MessageQueue__Output } from '../../../apache/rocketmq/v2/MessageQueue.ts';
import type { FilterExpression as _apache_rocketmq_v2_FilterExpression, FilterExpression__Output as _apache_rocketmq_v2_FilterExpression__Output } from '../../../apache/rocketmq/v2/FilterExpression.ts';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../../google/protobuf/Duration.ts';

export interface ReceiveMessageRequest {
  'group'?: (_apache_rocketmq_v2_Resource | null);
  'messageQueue'?: (_apache_rocketmq_v2_MessageQueue | null);
  'filterExpression'?: (_apache_rocketmq_v2_FilterExpression | null);
  'batchSize'?: (number);
  'invisibleDuration'?: (_google_protobuf_Duration | null);
  'autoRenew'?: (boolean);
  'longPollingTimeout'?: (_google_protobuf_Duration | null);
  'attemptId'?: (string);
  '_invisibleDuration'?: "invisibleDuration";
  '_longPollingTimeout'?: "longPollingTimeout";
  '_attemptId'?: "attemptId";
}

export interface ReceiveMessageRequest__Output {
  'group'?: (_apache_rocketmq_v2_Resource__Output);
  'messageQueue'?: (_apache_rocketmq_v2_MessageQueue__Output);
  'filterExpression'?: (_apache_rocketmq_v2_FilterExpression__Output);
  'batchSize'?: (number);
  'invisibleDuration'?: (_google_protobuf_Duration__Output);
  'autoRenew'?: (boolean);
  'longPollingTimeout'?: (_google_protobuf_Duration__Output);
  'attemptId'?: (string);
  '_invisibleDuration'?: "invisibleDuration";
  '_longPollingTimeout'?: "longPollingTimeout";
  '_attemptId'?: "attemptId";
}

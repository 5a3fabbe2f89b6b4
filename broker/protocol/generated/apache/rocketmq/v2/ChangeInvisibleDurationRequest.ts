// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Resource as _apache_rocketmq_v2_Resource, Resource__Output as _apache_rocketmq_v2_Resource__Output } from '../../../apache/rocketmq/v2/Resource.ts';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../../google/protobuf/Duration.ts';

export interface ChangeInvisibleDurationRequest {
  'group'?: (_apache_rocketmq_v2_Resource | null);
  'topic'?: (_apache_rocketmq_v2_Resource | null);
  'receiptHandle'?: (string);
  'invisibleDuration'?: (_google_protobuf_Duration | null);
  'messageId'?: (string);
  'liteTopic'?: (string);
  'suspend'?: (boolean);
  '_liteTopic'?: "liteTopic";
  '_suspend'?: "suspend";
}

export interface ChangeInvisibleDurationRequest__Output {
  'group'?: (_apache_rocketmq_v2_Resource__Output);
  'topic'?: (_apache_rocketmq_v2_Resource__Output);
  'receiptHandle'?: (string);
  'invisibleDuration'?: (_google_protobuf_Duration__Output);
  'messageId'?: (string);
  'liteTopic'?: (string);
  'suspend'?: (boolean);
  '_liteTopic'?: "liteTopic";
  '_suspend'?: "suspend";
}

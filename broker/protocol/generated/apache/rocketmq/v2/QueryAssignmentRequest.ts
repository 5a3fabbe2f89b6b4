// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Resource as _apache_rocketmq_v2_Resource, Resource__Output as _apache_rocketmq_v2_Resource__Output } from '../../../apache/rocketmq/v2/Resource.ts';
import type { Endpoints as _apache_rocketmq_v2_Endpoints, Endpoints__Output as _apache_rocketmq_v2_Endpoints__Output } from '../../../apache/rocketmq/v2/Endpoints.ts';

export interface QueryAssignmentRequest {
  'topic'?: (_apache_rocketmq_v2_Resource | null);
  'group'?: (_apache_rocketmq_v2_Resource | null);
  'endpoints'?: (_apache_rocketmq_v2_Endpoints | null);
}

export interface QueryAssignmentRequest__Output {
  'topic'?: (_apache_rocketmq_v2_Resource__Output);
  'group'?: (_apache_rocketmq_v2_Resource__Output);
  'endpoints'?: (_apache_rocketmq_v2_Endpoints__Output);
}

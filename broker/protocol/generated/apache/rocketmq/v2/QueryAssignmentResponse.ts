// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Status as _apache_rocketmq_v2_Status, Status__Output as _apache_rocketmq_v2_Status__Output } from '../../../apache/rocketmq/v2/Status.ts';
import type { Assignment as _apache_rocketmq_v2_Assignment, Assignment__Output as _apache_rocketmq_v2_Assignment__Output } from '../../../apache/rocketmq/v2/Assignment.ts';

export interface QueryAssignmentResponse {
  'status'?: (_apache_rocketmq_v2_Status | null);
  'assignments'?: (_apache_rocketmq_v2_Assignment)[];
}

export interface QueryAssignmentResponse__Output {
  'status'?: (_apache_rocketmq_v2_Status__Output);
  'assignments'?: (_apache_rocketmq_v2_Assignment__Output)[];
}

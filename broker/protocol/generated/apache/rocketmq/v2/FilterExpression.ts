// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

import type { FilterType as _apache_rocketmq_v2_FilterType, FilterType__Output as _apache_rocketmq_v2_FilterType__Output } from '../../../apache/rocketmq/v2/FilterType.ts';

export interface FilterExpression {
  'type'?: (_apache_rocketmq_v2_FilterType);
  'expression'?: (string);
}

export interface FilterExpression__Output {
  'type'?: (_apache_rocketmq_v2_FilterType__Output);
  'expression'?: (string);
}

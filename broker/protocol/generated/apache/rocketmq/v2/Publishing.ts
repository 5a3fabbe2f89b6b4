// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

import type { Resource as _apache_rocketmq_v2_Resource, Resource__Output as _apache_rocketmq_v2_Resource__Output } from '../../../apache/rocketmq/v2/Resource.ts';

export interface Publishing {
  'topics'?: (_apache_rocketmq_v2_Resource)[];
  'maxBodySize'?: (number);
  'validateMessageType'?: (boolean);
}

export interface Publishing__Output {
  'topics'?: (_apache_rocketmq_v2_Resource__Output)[];
  'maxBodySize'?: (number);
  'validateMessageType'?: (boolean);
}

// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

import type { Resource as _apache_rocketmq_v2_Resource, Resource__Output as _apache_rocketmq_v2_Resource__Output } from '../../../apache/rocketmq/v2/Resource.ts';
import type { SystemProperties as _apache_rocketmq_v2_SystemProperties, SystemProperties__Output as _apache_rocketmq_v2_SystemProperties__Output } from '../../../apache/rocketmq/v2/SystemProperties.ts';

export interface Message {
  'topic'?: (_apache_rocketmq_v2_Resource | null);
  'userProperties'?: ({[key: string]: string});
  'systemProperties'?: (_apache_rocketmq_v2_SystemProperties | null);
  'body'?: (Buffer | Uint8Array | string);
}

export interface Message__Output {
  'topic'?: (_apache_rocketmq_v2_Resource__Output);
  'userProperties'?: ({[key: string]: string});
  'systemProperties'?: (_apache_rocketmq_v2_SystemProperties__Output);
  'body'?: (Buffer);
}

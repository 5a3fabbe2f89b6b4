// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

import type { DigestType as _apache_rocketmq_v2_DigestType, DigestType__Output as _apache_rocketmq_v2_DigestType__Output } from '../../../apache/rocketmq/v2/DigestType.ts';

export interface Digest {
  'type'?: (_apache_rocketmq_v2_DigestType);
  'checksum'?: (string);
}

export interface Digest__Output {
  'type'?: (_apache_rocketmq_v2_DigestType__Output);
  'checksum'?: (string);
}

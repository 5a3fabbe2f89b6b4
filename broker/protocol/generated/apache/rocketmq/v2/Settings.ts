// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

import type { ClientType as _apache_rocketmq_v2_ClientType, ClientType__Output as _apache_rocketmq_v2_ClientType__Output } from '../../../apache/rocketmq/v2/ClientType.ts';
import type { Endpoints as _apache_rocketmq_v2_Endpoints, Endpoints__Output as _apache_rocketmq_v2_Endpoints__Output } from '../../../apache/rocketmq/v2/Endpoints.ts';
import type { RetryPolicy as _apache_rocketmq_v2_RetryPolicy, RetryPolicy__Output as _apache_rocketmq_v2_RetryPolicy__Output } from '../../../apache/rocketmq/v2/RetryPolicy.ts';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../../google/protobuf/Duration.ts';
import type { Publishing as _apache_rocketmq_v2_Publishing, Publishing__Output as _apache_rocketmq_v2_Publishing__Output } from '../../../apache/rocketmq/v2/Publishing.ts';
import type { Subscription as _apache_rocketmq_v2_Subscription, Subscription__Output as _apache_rocketmq_v2_Subscription__Output } from '../../../apache/rocketmq/v2/Subscription.ts';
import type { UA as _apache_rocketmq_v2_UA, UA__Output as _apache_rocketmq_v2_UA__Output } from '../../../apache/rocketmq/v2/UA.ts';
import type { Metric as _apache_rocketmq_v2_Metric, Metric__Output as _apache_rocketmq_v2_Metric__Output } from '../../../apache/rocketmq/v2/Metric.ts';

export interface Settings {
  'clientType'?: (_apache_rocketmq_v2_ClientType);
  'accessPoint'?: (_apache_rocketmq_v2_Endpoints | null);
  'backoffPolicy'?: (_apache_rocketmq_v2_RetryPolicy | null);
  'requestTimeout'?: (_google_protobuf_Duration | null);
  'publishing'?: (_apache_rocketmq_v2_Publishing | null);
  'subscription'?: (_apache_rocketmq_v2_Subscription | null);
  'userAgent'?: (_apache_rocketmq_v2_UA | null);
  'metric'?: (_apache_rocketmq_v2_Metric | null);
  '_clientType'?: "clientType";
  '_accessPoint'?: "accessPoint";
  '_backoffPolicy'?: "backoffPolicy";
  '_requestTimeout'?: "requestTimeout";
  'pubSub'?: "publishing"|"subscription";
}

export interface Settings__Output {
  'clientType'?: (_apache_rocketmq_v2_ClientType__Output);
  'accessPoint'?: (_apache_rocketmq_v2_Endpoints__Output);
  'backoffPolicy'?: (_apache_rocketmq_v2_RetryPolicy__Output);
  'requestTimeout'?: (_google_protobuf_Duration__Output);
  'publishing'?: (_apache_rocketmq_v2_Publishing__Output);
  'subscription'?: (_apache_rocketmq_v2_Subscription__Output);
  'userAgent'?: (_apache_rocketmq_v2_UA__Output);
  'metric'?: (_apache_rocketmq_v2_Metric__Output);
  '_clientType'?: "clientType";
  '_accessPoint'?: "accessPoint";
  '_backoffPolicy'?: "backoffPolicy";
  '_requestTimeout'?: "requestTimeout";
  'pubSub'?: "publishing"|"subscription";
}

// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

import type { Digest as _apache_rocketmq_v2_Digest, Digest__Output as _apache_rocketmq_v2_Digest__Output } from '../../../apache/rocketmq/v2/Digest.ts';
import type { Encoding as _apache_rocketmq_v2_Encoding, Encoding__Output as _apache_rocketmq_v2_Encoding__Output } from '../../../apache/rocketmq/v2/Encoding.ts';
import type { MessageType as _apache_rocketmq_v2_MessageType, MessageType__Output as _apache_rocketmq_v2_MessageType__Output } from '../../../apache/rocketmq/v2/MessageType.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../../google/protobuf/Timestamp.ts';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../../google/protobuf/Duration.ts';
import type { DeadLetterQueue as _apache_rocketmq_v2_DeadLetterQueue, DeadLetterQueue__Output as _apache_rocketmq_v2_DeadLetterQueue__Output } from '../../../apache/rocketmq/v2/DeadLetterQueue.ts';
import type { Long } from '@grpc/proto-loader';

export interface SystemProperties {
  'tag'?: (string);
  'keys'?: (string)[];
  'messageId'?: (string);
  'bodyDigest'?: (_apache_rocketmq_v2_Digest | null);
  'bodyEncoding'?: (_apache_rocketmq_v2_Encoding);
  'messageType'?: (_apache_rocketmq_v2_MessageType);
  'bornTimestamp'?: (_google_protobuf_Timestamp | null);
  'bornHost'?: (string);
  'storeTimestamp'?: (_google_protobuf_Timestamp | null);
  'storeHost'?: (string);
  'deliveryTimestamp'?: (_google_protobuf_Timestamp | null);
  'receiptHandle'?: (string);
  'queueId'?: (number);
  'queueOffset'?: (number | string | Long);
  'invisibleDuration'?: (_google_protobuf_Duration | null);
  'deliveryAttempt'?: (number);
  'messageGroup'?: (string);
  'traceContext'?: (string);
  'orphanedTransactionRecoveryDuration'?: (_google_protobuf_Duration | null);
  'deadLetterQueue'?: (_apache_rocketmq_v2_DeadLetterQueue | null);
  'liteTopic'?: (string);
  'priority'?: (number);
  '_tag'?: "tag";
  '_storeTimestamp'?: "storeTimestamp";
  '_deliveryTimestamp'?: "deliveryTimestamp";
  '_receiptHandle'?: "receiptHandle";
  '_queueOffset'?: "queueOffset";
  '_invisibleDuration'?: "invisibleDuration";
  '_deliveryAttempt'?: "deliveryAttempt";
  '_messageGroup'?: "messageGroup";
  '_traceContext'?: "traceContext";
  '_orphanedTransactionRecoveryDuration'?: "orphanedTransactionRecoveryDuration";
  '_deadLetterQueue'?: "deadLetterQueue";
  '_liteTopic'?: "liteTopic";
  '_priority'?: "priority";
}

export interface SystemProperties__Output {
  'tag'?: (string);
  'keys'?: (string)[];
  'messageId'?: (string);
  'bodyDigest'?: (_apache_rocketmq_v2_Digest__Output);
  'bodyEncoding'?: (_apache_rocketmq_v2_Encoding__Output);
  'messageType'?: (_apache_rocketmq_v2_MessageType__Output);
  'bornTimestamp'?: (_google_protobuf_Timestamp__Output);
  'bornHost'?: (string);
  'storeTimestamp'?: (_google_protobuf_Timestamp__Output);
  'storeHost'?: (string);
  'deliveryTimestamp'?: (_google_protobuf_Timestamp__Output);
  'receiptHandle'?: (string);
  'queueId'?: (number);
  'queueOffset'?: (number);
  'invisibleDuration'?: (_google_protobuf_Duration__Output);
  'deliveryAttempt'?: (number);
  'messageGroup'?: (string);
  'traceContext'?: (string);
  'orphanedTransactionRecoveryDuration'?: (_google_protobuf_Duration__Output);
  'deadLetterQueue'?: (_apache_rocketmq_v2_DeadLetterQueue__Output);
  'liteTopic'?: (string);
  'priority'?: (number);
  '_tag'?: "tag";
  '_storeTimestamp'?: "storeTimestamp";
  '_deliveryTimestamp'?: "deliveryTimestamp";
  '_receiptHandle'?: "receiptHandle";
  '_queueOffset'?: "queueOffset";
  '_invisibleDuration'?: "invisibleDuration";
  '_deliveryAttempt'?: "deliveryAttempt";
  '_messageGroup'?: "messageGroup";
  '_traceContext'?: "traceContext";
  '_orphanedTransactionRecoveryDuration'?: "orphanedTransactionRecoveryDuration";
  '_deadLetterQueue'?: "deadLetterQueue";
  '_liteTopic'?: "liteTopic";
  '_priority'?: "priority";
}

// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto


export interface DeadLetterQueue {
  'topic'?: (string);
  'messageId'?: (string);
}

export interface DeadLetterQueue__Output {
  'topic'?: (string);
  'messageId'?: (string);
}

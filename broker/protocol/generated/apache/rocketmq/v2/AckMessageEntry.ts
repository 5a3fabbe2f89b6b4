// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto


export interface AckMessageEntry {
  'messageId'?: (string);
  'receiptHandle'?: (string);
  'liteTopic'?: (string);
  '_liteTopic'?: "liteTopic";
}

export interface AckMessageEntry__Output {
  'messageId'?: (string);
  'receiptHandle'?: (string);
  'liteTopic'?: (string);
  '_liteTopic'?: "liteTopic";
}

// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto


export interface VerifyMessageResult {
  'nonce'?: (string);
}

export interface VerifyMessageResult__Output {
  'nonce'?: (string);
}

// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto


export interface Address {
  'host'?: (string);
  'port'?: (number);
}

export interface Address__Output {
  'host'?: (string);
  'port'?: (number);
}

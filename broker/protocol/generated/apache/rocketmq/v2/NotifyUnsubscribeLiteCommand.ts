// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto


export interface NotifyUnsubscribeLiteCommand {
  'liteTopic'?: (string);
}

export interface NotifyUnsubscribeLiteCommand__Output {
  'liteTopic'?: (string);
}

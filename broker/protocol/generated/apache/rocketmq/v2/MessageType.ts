// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

export const MessageType = {
  MESSAGE_TYPE_UNSPECIFIED: 'MESSAGE_TYPE_UNSPECIFIED',
  NORMAL: 'NORMAL',
  FIFO: 'FIFO',
  DELAY: 'DELAY',
  TRANSACTION: 'TRANSACTION',
  LITE: 'LITE',
  PRIORITY: 'PRIORITY',
} as const;

export type MessageType =
  | 'MESSAGE_TYPE_UNSPECIFIED'
  | 0
  | 'NORMAL'
  | 1
  | 'FIFO'
  | 2
  | 'DELAY'
  | 3
  | 'TRANSACTION'
  | 4
  | 'LITE'
  | 5
  | 'PRIORITY'
  | 6

export type MessageType__Output = typeof MessageType[keyof typeof MessageType]

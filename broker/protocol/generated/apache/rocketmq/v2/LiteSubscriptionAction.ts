// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

export const LiteSubscriptionAction = {
  PARTIAL_ADD: 'PARTIAL_ADD',
  PARTIAL_REMOVE: 'PARTIAL_REMOVE',
  COMPLETE_ADD: 'COMPLETE_ADD',
  COMPLETE_REMOVE: 'COMPLETE_REMOVE',
} as const;

export type LiteSubscriptionAction =
  | 'PARTIAL_ADD'
  | 0
  | 'PARTIAL_REMOVE'
  | 1
  | 'COMPLETE_ADD'
  | 2
  | 'COMPLETE_REMOVE'
  | 3

export type LiteSubscriptionAction__Output = typeof LiteSubscriptionAction[keyof typeof LiteSubscriptionAction]

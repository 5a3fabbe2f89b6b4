// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

export const TransactionSource = {
  SOURCE_UNSPECIFIED: 'SOURCE_UNSPECIFIED',
  SOURCE_CLIENT: 'SOURCE_CLIENT',
  SOURCE_SERVER_CHECK: 'SOURCE_SERVER_CHECK',
} as const;

export type TransactionSource =
  | 'SOURCE_UNSPECIFIED'
  | 0
  | 'SOURCE_CLIENT'
  | 1
  | 'SOURCE_SERVER_CHECK'
  | 2

export type TransactionSource__Output = typeof TransactionSource[keyof typeof TransactionSource]

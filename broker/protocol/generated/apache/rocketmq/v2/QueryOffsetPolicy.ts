// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

export const QueryOffsetPolicy = {
  BEGINNING: 'BEGINNING',
  END: 'END',
  TIMESTAMP: 'TIMESTAMP',
} as const;

export type QueryOffsetPolicy =
  | 'BEGINNING'
  | 0
  | 'END'
  | 1
  | 'TIMESTAMP'
  | 2

export type QueryOffsetPolicy__Output = typeof QueryOffsetPolicy[keyof typeof QueryOffsetPolicy]

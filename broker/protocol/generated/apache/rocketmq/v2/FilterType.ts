// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition.proto

export const FilterType = {
  FILTER_TYPE_UNSPECIFIED: 'FILTER_TYPE_UNSPECIFIED',
  TAG: 'TAG',
  SQL: 'SQL',
} as const;

export type FilterType =
  | 'FILTER_TYPE_UNSPECIFIED'
  | 0
  | 'TAG'
  | 1
  | 'SQL'
  | 2

export type FilterType__Output = typeof FilterType[keyof typeof FilterType]

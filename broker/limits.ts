import { BrokerError, fail } from './errors.ts';

/** Limits with RocketMQ's values (e.g. the 4 MiB body of the proxy's ProxyConfig), so clients behave alike. */
export const limits = {
  bodyBytesMax: 4 * 1024 * 1024,
  userPropertyCountMax: 128,
  propertiesBytesMax: 16 * 1024,
  messageGroupBytesMax: 63,
  topicNameLengthMax: 127,
  groupNameLengthMax: 120,
  delayAheadMsMax: 24 * 3600_000,
  invisibleDurationMsMin: 10_000,
  invisibleDurationMsMax: 12 * 3600_000,
  longPollingMsMin: 5_000,
  longPollingMsMax: 20_000,
  receiveBatchMax: 32,
  autoRenewInitialMs: 60_000,
  autoRenewAheadMs: 10_000,
  autoRenewTotalMsMax: 3 * 3600_000,
  releaseOnClientGoneMs: 1_000,
  /** The official clients send host@pid@index@time (under 300 characters); longer ids are refused (memory). */
  clientIdLengthMax: 512,
} as const;

const NAME = /^[%|a-zA-Z0-9_-]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function validateTopicName(name: string | undefined): string {
  if (typeof name !== 'string') return fail('ILLEGAL_TOPIC', `topic name must be a string, got ${typeof name}`);
  if (!name) return fail('ILLEGAL_TOPIC', 'topic name is empty');
  if (name.length > limits.topicNameLengthMax) {
    fail('ILLEGAL_TOPIC', `topic name "${name.slice(0, 40)}..." is longer than ${limits.topicNameLengthMax}`);
  }
  if (!NAME.test(name)) fail('ILLEGAL_TOPIC', `topic name "${name}" must match ^[%|a-zA-Z0-9_-]+$`);
  return name;
}

/**
 * Topics the broker writes itself: dead-letter queues (%DLQ%<group>), retry topics (%RETRY%<group>), the delay
 * timer's log (%SYS_TIMER%) and the transaction log (%SYS_HALF%). Every name starting with % is reserved: clients may
 * read a dead-letter queue, but nobody creates, deletes or sends to these topics by hand.
 */
export function isSystemTopic(name: string): boolean {
  return name.startsWith('%');
}

export function systemTopicKind(name: string): string {
  if (name.startsWith('%DLQ%')) return `the dead-letter queue of group ${name.slice(5)}`;
  if (name.startsWith('%RETRY%')) return `the retry topic of group ${name.slice(7)}`;
  if (name === '%SYS_TIMER%') return "the delay timer's log";
  if (name === '%SYS_HALF%') return "the transaction log's half messages";
  return 'a name reserved for the broker (every topic starting with % is)';
}

export function validateGroupName(name: string | undefined): string {
  if (typeof name !== 'string') {
    return fail('ILLEGAL_CONSUMER_GROUP', `consumer group name must be a string, got ${typeof name}`);
  }
  if (!name) return fail('ILLEGAL_CONSUMER_GROUP', 'consumer group name is empty');
  if (name.length > limits.groupNameLengthMax) {
    fail('ILLEGAL_CONSUMER_GROUP', `group name is longer than ${limits.groupNameLengthMax}`);
  }
  if (!NAME.test(name)) fail('ILLEGAL_CONSUMER_GROUP', `group name "${name}" must match ^[%|a-zA-Z0-9_-]+$`);
  return name;
}

/** RocketMQ's MessageConst.STRING_HASH_SET: property keys a user may not set. */
export const reservedPropertyKeys = new Set([
  'KEYS',
  'TAGS',
  'WAIT',
  'DELAY',
  'RETRY_TOPIC',
  'REAL_TOPIC',
  'REAL_QID',
  'TRAN_MSG',
  'PGROUP',
  'MIN_OFFSET',
  'MAX_OFFSET',
  'BUYER_ID',
  'ORIGIN_MESSAGE_ID',
  'TRANSFER_FLAG',
  'CORRECTION_FLAG',
  'MQ2_FLAG',
  'RECONSUME_TIME',
  'MSG_REGION',
  'TRACE_ON',
  'UNIQ_KEY',
  'MAX_RECONSUME_TIMES',
  'CONSUME_START_TIME',
  'POP_CK',
  'POP_CK_OFFSET',
  '1ST_POP_TIME',
  'TRAN_PREPARED_QUEUE_OFFSET',
  'DUP_INFO',
  'EXTEND_UNIQ_INFO',
  'INSTANCE_ID',
  'CORRELATION_ID',
  'REPLY_TO_CLIENT',
  'TTL',
  'ARRIVE_TIME',
  'PUSH_REPLY_TIME',
  'CLUSTER',
  'MSG_TYPE',
  'INNER_MULTI_QUEUE_OFFSET',
  'INNER_MULTI_DISPATCH',
  '_CATALOG_ID',
  '__STARTDELIVERTIME',
  '__SHARDINGKEY',
  'TIMER_DELIVER_MS',
  'TIMER_DELAY_SEC',
  'TIMER_DELAY_MS',
]);

export function hasControlCharacter(s: string): boolean {
  return CONTROL.test(s);
}

export function isBrokerError(err: unknown): err is BrokerError {
  return err instanceof BrokerError;
}

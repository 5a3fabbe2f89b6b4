import { hash } from 'node:crypto';
import { BrokerError, fail } from '../errors.ts';
import { hasControlCharacter, limits, reservedPropertyKeys, validateTopicName } from '../limits.ts';
import {
  type MessageProps,
  type MessageType,
  StoreDiskFullError,
  type StoredMessage,
  StoreFullError,
} from '../store/types.ts';
import type { Code, Message, Message__Output, SystemProperties, SystemProperties__Output } from './messages.ts';

export interface ProtoDuration {
  seconds?: number;
  nanos?: number;
}

export function durationToMs(d: ProtoDuration | null | undefined): number | undefined {
  if (d == null) return undefined;
  return Number(d.seconds ?? 0) * 1000 + Math.floor(Number(d.nanos ?? 0) / 1e6);
}

export function msToDuration(ms: number): ProtoDuration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export const msToTimestamp = msToDuration;
export const timestampToMs = durationToMs;

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Validates an incoming Message as RocketMQ's SendMessageActivity does, and turns it into stored props. */
export function toStoredMessage(
  m: Message__Output | null | undefined,
  nowWallMs: number,
): { topic: string; body: Buffer; props: MessageProps } {
  const topic = validateTopicName(m?.topic?.name);
  const body: Buffer = m?.body ? Buffer.from(m.body) : Buffer.alloc(0);
  if (body.length === 0) fail('MESSAGE_BODY_EMPTY', 'message body is empty');
  if (body.length > limits.bodyBytesMax) {
    fail('MESSAGE_BODY_TOO_LARGE', `message body is ${body.length} bytes; the limit is ${limits.bodyBytesMax}`);
  }
  const sp: SystemProperties__Output = m?.systemProperties ?? {};
  const messageId: string = sp.messageId ?? '';
  if (messageId.trim() === '') fail('ILLEGAL_MESSAGE_ID', 'message id is blank');
  let propertyBytes = 0;
  const tag: string | undefined = sp.tag ?? undefined;
  if (tag !== undefined) {
    if (tag.trim() === '' || tag.includes('|') || hasControlCharacter(tag)) {
      fail('ILLEGAL_MESSAGE_TAG', `tag "${tag}" is blank or contains "|" or a control character`);
    }
    propertyBytes += byteLength(tag);
  }
  const keys: string[] = sp.keys ?? [];
  for (const k of keys) {
    if (k.trim() === '' || hasControlCharacter(k))
      fail('ILLEGAL_MESSAGE_KEY', `key "${k}" is blank or has a control character`);
    propertyBytes += byteLength(k);
  }
  const userProperties: Record<string, string> = m?.userProperties ?? {};
  const entries = Object.entries(userProperties);
  if (entries.length > limits.userPropertyCountMax) {
    fail(
      'MESSAGE_PROPERTIES_TOO_LARGE',
      `${entries.length} user properties; the limit is ${limits.userPropertyCountMax}`,
    );
  }
  for (const [k, v] of entries) {
    if (reservedPropertyKeys.has(k))
      fail('ILLEGAL_MESSAGE_PROPERTY_KEY', `property key "${k}" is reserved by RocketMQ`);
    if (k === '' || hasControlCharacter(k) || hasControlCharacter(v)) {
      fail('ILLEGAL_MESSAGE_PROPERTY_KEY', `property "${k}" is empty or contains a control character`);
    }
    propertyBytes += byteLength(k) + byteLength(v);
  }
  if (propertyBytes > limits.propertiesBytesMax) {
    fail('MESSAGE_PROPERTIES_TOO_LARGE', `properties, tag and keys take ${propertyBytes} bytes; the limit is 16 KiB`);
  }
  const props: MessageProps = { messageId, messageType: 'NORMAL', bornHost: sp.bornHost || undefined };
  if (tag !== undefined) props.tag = tag;
  if (keys.length) props.keys = keys;
  if (entries.length) props.userProperties = userProperties;
  const born = timestampToMs(sp.bornTimestamp);
  if (born !== undefined) props.bornTimestampMs = born;
  props.messageType = messageTypeOf(sp, props, nowWallMs);
  props.system = { bodyMd5: md5Hex(body) };
  return { topic, body, props };
}

function messageTypeOf(sp: SystemProperties__Output, props: MessageProps, nowWallMs: number): MessageType {
  const group: string | undefined = sp.messageGroup ?? undefined;
  const delivery = timestampToMs(sp.deliveryTimestamp);
  if (group !== undefined) {
    if (group.trim() === '' || byteLength(group) > limits.messageGroupBytesMax || hasControlCharacter(group)) {
      fail(
        'ILLEGAL_MESSAGE_GROUP',
        `message group "${group}" is blank, 64 bytes or longer, or has a control character`,
      );
    }
    props.messageGroup = group;
  }
  if (delivery !== undefined) {
    if (delivery > nowWallMs + limits.delayAheadMsMax) {
      fail('ILLEGAL_DELIVERY_TIME', `delivery time ${new Date(delivery).toISOString()} is more than 24 h ahead`);
    }
    props.deliveryTimestampMs = delivery;
  }
  const transactional = sp.messageType === 'TRANSACTION';
  const kinds = [group !== undefined, delivery !== undefined, transactional].filter(Boolean).length;
  if (kinds > 1) {
    fail('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', 'a message can be only one of FIFO (group), DELAY (time), TRANSACTION');
  }
  if (group !== undefined) return 'FIFO';
  if (delivery !== undefined) return 'DELAY';
  if (transactional) return 'TRANSACTION';
  return 'NORMAL';
}

/** The body digest RocketMQ sends: upper-case hex MD5 (one-shot crypto.hash: no Hash object per message). */
function md5Hex(body: Buffer): string {
  return hash('md5', body, 'hex').toUpperCase();
}

/** A stored message as the clients expect it delivered (as the RocketMQ proxy's GrpcConverter#buildMessage). */
export function toDeliveredMessage(
  m: StoredMessage,
  extra: { receiptHandle?: string; attempt?: number; namespace: string; storeHost: string },
): Message {
  const p = m.props;
  const userProperties: Record<string, string> = { ...p.userProperties };
  if (p.messageGroup !== undefined) userProperties.__SHARDINGKEY = p.messageGroup;
  if (p.messageType === 'TRANSACTION') userProperties.__transactionId__ = p.messageId;
  if (p.originMessageId !== undefined) userProperties.ORIGIN_MESSAGE_ID = p.originMessageId;
  const md5 = (p.system?.bodyMd5 as string | undefined) ?? md5Hex(m.body);
  const sp: SystemProperties = {
    keys: p.keys ?? [],
    messageId: p.messageId,
    bodyDigest: { type: 'MD5', checksum: md5 },
    bodyEncoding: 'IDENTITY',
    messageType: p.messageType,
    bornTimestamp: msToTimestamp(p.bornTimestampMs ?? m.storeTimestampMs),
    bornHost: p.bornHost ?? '',
    storeTimestamp: msToTimestamp(m.storeTimestampMs),
    storeHost: extra.storeHost,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    deliveryAttempt: extra.attempt ?? 1,
  };
  if (p.tag !== undefined) sp.tag = p.tag;
  if (p.messageGroup !== undefined) sp.messageGroup = p.messageGroup;
  if (p.deliveryTimestampMs !== undefined) sp.deliveryTimestamp = msToTimestamp(p.deliveryTimestampMs);
  if (extra.receiptHandle !== undefined) sp.receiptHandle = extra.receiptHandle;
  if (p.originMessageId !== undefined && p.originTopic !== undefined) {
    sp.deadLetterQueue = { topic: p.originTopic, messageId: p.originMessageId };
  }
  return {
    topic: { name: m.topic, resourceNamespace: extra.namespace },
    userProperties,
    systemProperties: sp,
    body: m.body,
  };
}

/**
 * The status a client sees for an error. Store overload is the retriable TOO_MANY_REQUESTS; a full disk is
 * INTERNAL_SERVER_ERROR, what RocketMQ's proxy answers when its broker's disk guard refuses a put (the broker's
 * SERVICE_NOT_AVAILABLE has no gRPC mapping, so the proxy's default applies); clients retry both. Anything else is
 * INTERNAL_ERROR, with server file paths removed from the message.
 */
export function statusOf(err: unknown): { code: Code & string; message: string } {
  if (err instanceof BrokerError) return { code: err.code, message: err.message };
  if (err instanceof StoreFullError) return { code: 'TOO_MANY_REQUESTS', message: err.message };
  if (err instanceof StoreDiskFullError) return { code: 'INTERNAL_SERVER_ERROR', message: withoutPaths(err.message) };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL_ERROR', message: `internal error: ${withoutPaths(message)}` };
}

/** Replaces absolute file paths (anything like /a/b) in a message meant for a client. */
export function withoutPaths(message: string): string {
  return message.replace(/\/[^\s'",)]*\/[^\s'",)]*/g, '<path>');
}

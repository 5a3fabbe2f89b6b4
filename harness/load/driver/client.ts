/**
 * The narrow messaging interface the driver runtime needs (Jepsen's "client"): the node driver implements it over
 * rocketmq-client-nodejs (rocketmq-client.ts); tests implement it over an in-memory broker (memory-client.ts).
 */
import type { TargetEndpoint } from '../protocol.ts';

export interface OutgoingMessage {
  topic: string;
  body: Buffer;
  tag?: string;
  keys: string[];
  messageGroup?: string;
  deliveryTimestampMs?: number;
  properties: Record<string, string>;
}

export interface SendResult {
  messageId: string;
}

export type TransactionDecision = 'commit' | 'rollback' | 'unknown';

export interface HalfMessage extends SendResult {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface ProducerClient {
  send(message: OutgoingMessage): Promise<SendResult>;
  /** Sends a half message; the caller then commits, rolls back, or does neither (left to the check-back). */
  sendHalf(message: OutgoingMessage): Promise<HalfMessage>;
  close(): Promise<void>;
}

export interface Delivery {
  messageId: string;
  topic: string;
  tag?: string;
  messageGroup?: string;
  properties: Record<string, string>;
  /** 1-based delivery attempt. */
  deliveryAttempt: number;
  deliveryTimestampMs?: number;
}

export interface SimpleConsumerClient {
  receive(maxMessages: number, invisibleDurationMs: number): Promise<Delivery[]>;
  ack(delivery: Delivery): Promise<void>;
  /** Makes the message visible again after invisibleDurationMs (a failed processing). */
  nack(delivery: Delivery, invisibleDurationMs: number): Promise<void>;
  /** Graceful shutdown. */
  close(): Promise<void>;
}

/** A push consumer calls the listener per message; resolving true acks, false (or a throw) fails it. */
export type PushListener = (delivery: Delivery) => Promise<boolean>;

export interface PushConsumerClient {
  close(): Promise<void>;
}

export interface ConsumerSpec {
  group: string;
  topic: string;
  filter: { type: 'TAG' | 'SQL92'; expression: string };
  awaitDurationMs: number;
}

export interface ClientFactory {
  /** Client library and version for the ledger header and the ready message. */
  readonly clientName: string;
  producer(
    target: TargetEndpoint,
    topic: string,
    checkBack: (properties: Record<string, string>) => TransactionDecision,
  ): Promise<ProducerClient>;
  simpleConsumer(target: TargetEndpoint, spec: ConsumerSpec): Promise<SimpleConsumerClient>;
  pushConsumer(target: TargetEndpoint, spec: ConsumerSpec, listener: PushListener): Promise<PushConsumerClient>;
}

/** A send that timed out or lost its connection may have happened: `unknown`. A refusal by the broker is `fail`. */
export class SendTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`send timed out after ${timeoutMs} ms`);
    this.name = 'SendTimeoutError';
  }
}

/**
 * Outcome of a failed send. Broker status errors (bad request, forbidden, not found, too many requests...) are
 * `fail`: the broker refused it. Timeouts, transport errors, internal errors and anything unrecognised are
 * `unknown`: the message may have been stored.
 */
export function classifySendError(err: unknown): 'fail' | 'unknown' {
  if (!(err instanceof Error)) return 'unknown';
  if (err instanceof SendTimeoutError) return 'unknown';
  if (err.name === 'InternalErrorException' || err.name === 'ProxyTimeoutException') return 'unknown';
  const code = (err as { code?: unknown }).code;
  // RocketMQ status codes are 5 digits (40001 BAD_REQUEST, 40300 FORBIDDEN, 42900 TOO_MANY_REQUESTS, ...).
  if (typeof code === 'number' && code >= 10_000 && code < 50_000) return 'fail';
  if (/not running|different topics|different types|mutually exclusive/.test(err.message)) return 'fail';
  return 'unknown';
}

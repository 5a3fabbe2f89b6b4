/**
 * The broker's error table: every failure the broker reports has a RocketMQ `Code` name, chosen here once
 * and translated to the in-band `Status` only at the gRPC boundary. Messages name the problem and, where there is
 * one, what to do next.
 */
export const Code = {
  OK: 20000,
  MULTIPLE_RESULTS: 30000,
  BAD_REQUEST: 40000,
  ILLEGAL_TOPIC: 40002,
  ILLEGAL_CONSUMER_GROUP: 40003,
  ILLEGAL_MESSAGE_TAG: 40004,
  ILLEGAL_MESSAGE_KEY: 40005,
  ILLEGAL_MESSAGE_GROUP: 40006,
  ILLEGAL_MESSAGE_PROPERTY_KEY: 40007,
  INVALID_TRANSACTION_ID: 40008,
  ILLEGAL_MESSAGE_ID: 40009,
  ILLEGAL_FILTER_EXPRESSION: 40010,
  ILLEGAL_INVISIBLE_TIME: 40011,
  ILLEGAL_DELIVERY_TIME: 40012,
  INVALID_RECEIPT_HANDLE: 40013,
  MESSAGE_PROPERTY_CONFLICT_WITH_TYPE: 40014,
  UNRECOGNIZED_CLIENT_TYPE: 40015,
  MESSAGE_CORRUPTED: 40016,
  CLIENT_ID_REQUIRED: 40017,
  ILLEGAL_POLLING_TIME: 40018,
  UNAUTHORIZED: 40100,
  FORBIDDEN: 40300,
  NOT_FOUND: 40400,
  MESSAGE_NOT_FOUND: 40401,
  TOPIC_NOT_FOUND: 40402,
  CONSUMER_GROUP_NOT_FOUND: 40403,
  MESSAGE_BODY_TOO_LARGE: 41301,
  MESSAGE_BODY_EMPTY: 41302,
  TOO_MANY_REQUESTS: 42900,
  MESSAGE_PROPERTIES_TOO_LARGE: 43101,
  INTERNAL_ERROR: 50000,
  INTERNAL_SERVER_ERROR: 50001,
  NOT_IMPLEMENTED: 50100,
  UNSUPPORTED: 50500,
} as const;

export type CodeName = keyof typeof Code;

export class BrokerError extends Error {
  constructor(
    readonly code: CodeName,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

/**
 * A refused request: UNAUTHORIZED or FORBIDDEN, with who asked (when known) and for what, so the boundary that answers
 * it can write the audit line (key, resource, reason).
 */
export class DeniedError extends BrokerError {
  constructor(
    code: 'UNAUTHORIZED' | 'FORBIDDEN',
    message: string,
    readonly accessKey: string | undefined,
    readonly resource: string,
  ) {
    super(code, message);
  }
}

export const fail = (code: CodeName, message: string): never => {
  throw new BrokerError(code, message);
};

/** The proxy's TOPIC_NOT_FOUND text, which the official nodejs tests match on (two spaces after 17). */
export function topicNotFoundMessage(topic: string): string {
  return (
    `CODE: 17  DESC: No topic route info in name server for the topic: ${topic}` +
    ` (create it first: mqdrill admin topic create ${topic})`
  );
}

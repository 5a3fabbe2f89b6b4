/**
 * The ledger: every client operation of a drill, one JSON record per line (NDJSON), one file per process.
 * docs/ledger.md is the reference for humans and for the Go driver; this file is the reference for TypeScript.
 *
 * Field names are short on purpose: a drill writes tens of millions of records. Every record has `t` (its type) and
 * `ts` (wall-clock epoch milliseconds, fractions allowed). An operation is an invocation record and a completion
 * record sharing `o`, an operation id unique within the file; the completion carries the outcome `r`.
 */

/** The ledger format version this code writes and reads. A reader refuses any other version. */
export const LEDGER_VERSION = 1;

/** User properties the harness puts on every message it sends, so consumers can report what they received. */
export const PROPERTY_ID = 'mqd_id';
/** The message's ordering key (its FIFO message group, else its first key). */
export const PROPERTY_KEY = 'mqd_key';
/** The per-key sequence number, 1-based, as a decimal string. */
export const PROPERTY_SEQ = 'mqd_seq';
/** Present ("1") on poison messages: every consumer fails them, so they must end in the dead-letter queue. */
export const PROPERTY_POISON = 'mqd_poison';
/** The wall-clock send time in epoch ms as a decimal string (end-to-end latency when no send record is at hand). */
export const PROPERTY_SENT_MS = 'mqd_sent_ms';

/**
 * ok: it definitely happened. fail: it definitely did not. unknown: it may have happened (a timeout, a lost
 * connection after the request was written). A timeout is never `fail`.
 */
export type Outcome = 'ok' | 'fail' | 'unknown';

export type TransactionDecision = 'commit' | 'rollback';

/** A consumer group's subscription, declared in the header so the checker knows who must receive what. */
export interface Subscription {
  /** Consumer group. */
  group: string;
  topic: string;
  /** Filter expression; `*` (or absent) matches everything. TAG: `a || b`. SQL92: a SQL92 condition. */
  filter?: string;
  filterType?: 'TAG' | 'SQL92';
  /** The group consumes message groups in order (consumeMessageOrderly / FIFO group). */
  fifo?: boolean;
  /** Deliveries before a message goes to the dead-letter queue (RocketMQ default 17 = 1 + 16 retries). */
  maxAttempts?: number;
}

/** Guarantee levels, weakest first. Each level lists the anomalies it allows (see checks/guarantees.ts). */
export type GuaranteeLevel = 'at-least-once' | 'exactly-once' | 'strict';

/** First line of every ledger file. */
export interface LedgerHeader {
  type: 'header';
  version: typeof LEDGER_VERSION;
  /** Name of the writing process, unique within the drill, e.g. `producer-1`. */
  process: string;
  /** What the process does: producer, consumer, both, faults, monitor... */
  role?: string;
  /** Drill run id shared by every file of one run. */
  run?: string;
  startedMs: number;
  host?: string;
  /** Which client wrote it, e.g. `rocketmq-client-nodejs@1.0.8` or `golang/v5@5.1.0`. */
  client?: string;
  /** Subscriptions known to this process. The checker takes the union over all files. */
  subscriptions?: Subscription[];
  guarantee?: GuaranteeLevel;
  /** A delayed message first delivered later than deliverAt + this is a `delay` anomaly (default 10 s). */
  delayLateToleranceMs?: number;
  /** The backlog must be back to zero within this long after the drain phase starts (the drain SLO). */
  drainSloMs?: number;
  /** Anything else worth keeping with the run (scenario name, seed, target). */
  meta?: Record<string, unknown>;
}

interface Base {
  /** Wall-clock epoch milliseconds when the record's event happened. */
  ts: number;
}

interface OpInvoke extends Base {
  /** Operation id, unique within this file; the completion repeats it. */
  o: number;
}

interface OpComplete extends Base {
  o: number;
  r: Outcome;
  /** Duration in ms measured on a monotonic clock (fractions allowed). */
  d: number;
  /** Error text on fail/unknown, short. */
  e?: string;
}

/** Send invocation. */
export interface SendInvoke extends OpInvoke {
  t: 'si';
  /** Harness message id (user property mqd_id). Unique per message in the drill. */
  id: string;
  /** Topic. */
  tp: string;
  /** Per-key sequence number, 1-based, of this message within its ordering key (g, else k). */
  q?: number;
  /** FIFO message group. */
  g?: string;
  /** Message key (the first of its keys). */
  k?: string;
  /** Tag. */
  tg?: string;
  /** Other user properties worth checking filters against (the mqd_* ones are implied). */
  pr?: Record<string, string>;
  /** Delayed message: deliver-at time, epoch ms. */
  at?: number;
  /** 1 on a transactional (half) message. */
  tx?: 1;
  /** 1 on a poison message (every consumer fails it). */
  po?: 1;
  /** Intended start time (open model); ts - it is the send delay (coordinated omission). */
  it?: number;
}

/** Send completion. */
export interface SendComplete extends OpComplete {
  t: 'sc';
  id: string;
  /** Broker message id returned on ok. */
  bid?: string;
}

/** Receive call invocation (SimpleConsumer.receive); push consumers have no receive calls, only `rm` records. */
export interface ReceiveInvoke extends OpInvoke {
  t: 'ri';
  /** Consumer group. */
  cg: string;
  /** Consumer (client) id. */
  c: string;
}

/** Receive call completion; `n` messages came back, each written as an `rm` record before this one. */
export interface ReceiveComplete extends OpComplete {
  t: 'rc';
  n?: number;
}

/** One message delivered to a consumer (by a receive call or a push listener). */
export interface ReceivedMessage extends Base {
  t: 'rm';
  cg: string;
  c: string;
  /** Harness id read from the message's mqd_id user property; absent when the message had none. */
  id?: string;
  bid?: string;
  tp?: string;
  /** Delivery attempt, 1-based (RocketMQ deliveryAttempt). */
  a: number;
  tg?: string;
  g?: string;
  /** Per-key sequence read from mqd_seq. */
  q?: number;
  /** The receive operation that returned it, if any. */
  o?: number;
}

/** Ack invocation. */
export interface AckInvoke extends OpInvoke {
  t: 'ai';
  cg: string;
  c: string;
  id: string;
  bid?: string;
}

export interface AckComplete extends OpComplete {
  t: 'ac';
  id: string;
}

/** Nack / changeInvisibleDuration invocation: the consumer gives the message back for redelivery. */
export interface NackInvoke extends OpInvoke {
  t: 'ni';
  cg: string;
  c: string;
  id: string;
  /** New invisible duration in ms. */
  iv?: number;
}

export interface NackComplete extends OpComplete {
  t: 'nc';
  id: string;
}

/** Forward-to-DLQ invocation (a consumer gives up on the message itself). */
export interface ForwardInvoke extends OpInvoke {
  t: 'fi';
  cg: string;
  c: string;
  id: string;
}

export interface ForwardComplete extends OpComplete {
  t: 'fc';
  id: string;
}

/** End-transaction invocation: commit or roll back a half message. */
export interface EndTransactionInvoke extends OpInvoke {
  t: 'ei';
  id: string;
  x: TransactionDecision;
}

export interface EndTransactionComplete extends OpComplete {
  t: 'ec';
  id: string;
}

/** The producer answered the broker's transaction check-back. */
export interface TransactionCheck extends Base {
  t: 'tk';
  id: string;
  x: TransactionDecision;
}

/** A message observed in a dead-letter queue (%DLQ%<group>), by a DLQ consumer or an admin query. */
export interface DeadLetterObserved extends Base {
  t: 'dlq';
  /** The original consumer group. */
  cg: string;
  id?: string;
  bid?: string;
  /** Attempts the broker made before dead-lettering, when known. */
  a?: number;
}

/** A fault was injected. */
export interface FaultStart extends Base {
  t: 'fs';
  /** Fault name, e.g. `latency-broker-1`. */
  f: string;
  /** Fault instance id pairing start and end (faults may overlap). */
  fid: number;
  /** Free-form detail (target, toxic, parameters). */
  dt?: Record<string, unknown>;
}

/** A fault was healed. */
export interface FaultEnd extends Base {
  t: 'fe';
  f: string;
  fid: number;
}

/** A phase boundary: `load`, `heal`, `drain`, or a scenario's own phases. */
export interface PhaseMarker extends Base {
  t: 'ph';
  /** Phase name. */
  n: string;
  s: 'start' | 'end';
  /** On a drain end: false when the drain deadline passed with backlog left. */
  ok?: boolean;
}

/** A snapshot of the broker's own counters, for reconciliation. Counts are totals since the broker started. */
export interface CounterSnapshot extends Base {
  t: 'ctr';
  /** Where the counters come from: `broker-1`, `prometheus`, `admin`... */
  src: string;
  /** Messages stored per topic (rocketmq_messages_in_total). */
  in?: Record<string, number>;
  /** Acks accepted per consumer group. */
  ack?: Record<string, number>;
  /** Messages moved to the DLQ per consumer group (rocketmq_send_to_dlq_messages_total). */
  dlq?: Record<string, number>;
  /** Backlog (ready + inflight) per consumer group (rocketmq_consumer_lag_messages). */
  lag?: Record<string, number>;
}

/**
 * This ledger's clock against the drill's: written right after the header (at open) and just before the ledger is
 * closed. `off` = this process's wall clock minus the drill's, in ms, measured by a round trip to the drill (NTP
 * style); `err` = half that round trip, the most the measurement can be wrong by. The reader subtracts the latest
 * `off` from every later record's `ts`, so all ledgers are read on the drill's clock; the checkers add the worst
 * `err` plus the drift between the open and close measurement to every comparison of two ledgers' times.
 */
export interface ClockSample extends Base {
  t: 'ck';
  off: number;
  err: number;
}

/** A broker backlog sample for charts (optional; the checker also derives a backlog from the operations). */
export interface BacklogSample extends Base {
  t: 'bl';
  cg: string;
  n: number;
}

export type LedgerEvent =
  | SendInvoke
  | SendComplete
  | ReceiveInvoke
  | ReceiveComplete
  | ReceivedMessage
  | AckInvoke
  | AckComplete
  | NackInvoke
  | NackComplete
  | ForwardInvoke
  | ForwardComplete
  | EndTransactionInvoke
  | EndTransactionComplete
  | TransactionCheck
  | DeadLetterObserved
  | FaultStart
  | FaultEnd
  | PhaseMarker
  | CounterSnapshot
  | BacklogSample
  | ClockSample;

export type LedgerEventType = LedgerEvent['t'];

export type LedgerRecord = LedgerHeader | LedgerEvent;

/** Every event type, for validation. */
export const LEDGER_EVENT_TYPES: ReadonlySet<string> = new Set<LedgerEventType>([
  'si',
  'sc',
  'ri',
  'rc',
  'rm',
  'ai',
  'ac',
  'ni',
  'nc',
  'fi',
  'fc',
  'ei',
  'ec',
  'tk',
  'dlq',
  'fs',
  'fe',
  'ph',
  'ctr',
  'bl',
  'ck',
]);

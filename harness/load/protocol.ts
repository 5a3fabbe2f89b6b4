/**
 * The plan protocol between the load engine and its drivers (docs/load.md has the reference for driver authors).
 * Every message is one JSON object with a `type`; over a child process's stdin/stdout (the Go driver) each message
 * is one line (NDJSON), over worker_threads (the node driver) it is the same object through postMessage. Nothing
 * in a message may be a function, a Map or a Buffer, so both transports carry exactly the same data.
 *
 *   engine -> driver: plan, then start, then (consumers, producers past schedule-over, or any on abort) stop
 *   driver -> engine: ready (clients connected), metrics every metricsIntervalMs, schedule-over (a producer that
 *                     stays open for check-backs), done (final metrics included), error (fatal: the driver is
 *                     exiting) and log
 */
import type { ExecutorResult } from './executors/index.ts';
import type { MetricsDelta } from './metrics.ts';
import type { ScenarioPlan } from './options.ts';

export const PROTOCOL_VERSION = 1;

/** Where and how the driver connects: comes from the target (bundled, external, ...). */
export interface TargetEndpoint {
  /** gRPC access point, host:port (several separated by `;`). */
  endpoint: string;
  tls: boolean;
  accessKey?: string;
  secretKey?: string;
  namespace: string;
  /** Name-server address (host:port, `;`-separated): what the remoting driver (`--driver java-remoting`) dials. */
  namesrv?: string;
  /**
   * Broker addresses the name server hands out (brokerIP1:listenPort), each mapped to the fault proxy in front of
   * it: the remoting driver dials the proxy instead, so network faults reach its broker connections.
   */
  remotingRoutes?: Record<string, string>;
  /** FIFO topics the target was provisioned with (the drill knows them even when only consumers run). */
  fifoTopics?: string[];
}

export interface PlanMessage {
  type: 'plan';
  protocol: typeof PROTOCOL_VERSION;
  /** Unique per driver in the run, e.g. `orders-0`; prefixes harness message ids and names the ledger file. */
  driverId: string;
  runId: string;
  /** This driver's share of the scenario: segment index of count (the schedule is already divided). */
  segment: { index: number; count: number };
  target: TargetEndpoint;
  /** The scenario, with its schedule already divided for this segment. Durations in ms. */
  scenario: ScenarioPlan;
  /** Prefix of harness message ids, unique per run: ids are `<idPrefix>-<n>`, unique across runs on one topic. */
  idPrefix: string;
  /** Seed for this driver's randomness (key choice, body sizes, failure draws). */
  seed: number;
  /** Ledger file to write (docs/ledger.md); null = ledger off. */
  ledgerPath: string | null;
  metricsIntervalMs: number;
  /** Topics the plan's producers send FIFO messages to (a remoting consumer of one consumes orderly). */
  fifoTopics?: string[];
}

export interface StartMessage {
  type: 'start';
}

/** Stop starting iterations (producers: abort; consumers: the drain is over) and finish with `done`. */
export interface StopMessage {
  type: 'stop';
  reason: string;
}

/**
 * The engine's answer to a driver's clock request: the request's `seq` and `sentMs` (driver clock) echoed, and the
 * drill's wall clock when the engine answered. The driver then knows its offset to the drill's clock within half the
 * round trip and writes it to its ledger as a `ck` record (docs/ledger.md).
 */
export interface ClockReplyMessage {
  type: 'clock';
  seq: number;
  sentMs: number;
  drillMs: number;
}

export type EngineToDriver = PlanMessage | StartMessage | StopMessage | ClockReplyMessage;

export interface ReadyMessage {
  type: 'ready';
  driverId: string;
  /** Client library and version, e.g. rocketmq-client-nodejs@1.0.8. */
  client: string;
}

export interface MetricsMessage {
  type: 'metrics';
  driverId: string;
  /** Wall-clock epoch ms of the snapshot. */
  wallMs: number;
  /** Changes since the previous metrics message (histograms as HdrHistogram compressed base64, microseconds). */
  delta: MetricsDelta;
  /** Live executor counters (totals, not deltas). */
  progress: ExecutorResult & { activeVUs: number };
}

export interface DoneMessage {
  type: 'done';
  driverId: string;
  result: ExecutorResult;
  /** The last metrics not yet sent. */
  delta: MetricsDelta;
  ledgerPath: string | null;
  ledgerRecords: number;
}

/**
 * A producer whose schedule is over but whose client stays open to answer the broker's transaction check-backs (the
 * Java driver's transaction producers): the load phase may end without its `done`. The engine stops it with the
 * consumers when the drain ends; it answers `done` then.
 */
export interface ScheduleOverMessage {
  type: 'schedule-over';
  driverId: string;
}

export interface ErrorMessage {
  type: 'error';
  driverId: string;
  message: string;
  /** True when the driver cannot go on and is exiting. */
  fatal: boolean;
}

export interface LogMessage {
  type: 'log';
  driverId: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

/** A driver asks for the drill's clock (at ledger open and before ledger close). */
export interface ClockRequestMessage {
  type: 'clock';
  driverId: string;
  seq: number;
  /** The driver's wall clock when it sent the request. */
  sentMs: number;
}

export type DriverToEngine =
  | ReadyMessage
  | MetricsMessage
  | DoneMessage
  | ScheduleOverMessage
  | ErrorMessage
  | LogMessage
  | ClockRequestMessage;

const ENGINE_TYPES = new Set(['plan', 'start', 'stop', 'clock']);
const DRIVER_TYPES = new Set(['ready', 'metrics', 'done', 'schedule-over', 'error', 'log', 'clock']);

/** The `ck` ledger record a driver writes from a clock reply received at `receivedMs` (its own clock). */
export function clockSample(
  reply: ClockReplyMessage,
  receivedMs: number,
): { t: 'ck'; ts: number; off: number; err: number } {
  const err = Math.max(0, (receivedMs - reply.sentMs) / 2);
  return { t: 'ck', ts: receivedMs, off: (reply.sentMs + receivedMs) / 2 - reply.drillMs, err };
}

/** One NDJSON line (no trailing newline inside; JSON.stringify never emits raw newlines). */
export function encodeLine(message: EngineToDriver | DriverToEngine): string {
  return `${JSON.stringify(message)}\n`;
}

/** Parses one line from a driver; throws with the line quoted if it is not a driver message. */
export function decodeDriverLine(line: string): DriverToEngine {
  const message = JSON.parse(line) as DriverToEngine;
  if (typeof message !== 'object' || message === null || !DRIVER_TYPES.has((message as { type: string }).type)) {
    throw new Error(`not a driver message: ${line.slice(0, 200)}`);
  }
  return message;
}

export function decodeEngineLine(line: string): EngineToDriver {
  const message = JSON.parse(line) as EngineToDriver;
  if (typeof message !== 'object' || message === null || !ENGINE_TYPES.has((message as { type: string }).type)) {
    throw new Error(`not an engine message: ${line.slice(0, 200)}`);
  }
  return message;
}

/** Splits a byte stream into lines; calls onLine for each complete line. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString();
    let newline = rest.indexOf('\n');
    while (newline >= 0) {
      const line = rest.slice(0, newline).trim();
      rest = rest.slice(newline + 1);
      if (line) onLine(line);
      newline = rest.indexOf('\n');
    }
  };
}

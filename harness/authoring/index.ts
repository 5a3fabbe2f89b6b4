/**
 * Scenario authoring as code: what a drill spec imports as `mqdrill`.
 *
 *   import { consumer, defineDrill, faults, producer } from 'mqdrill';
 *   export default defineDrill({ options: { scenarios: { ... } }, drill: { ... } });
 *
 * The types describe a spec as it is written (durations as "30s" or milliseconds, defaults left out), so an editor
 * completes every key and `tsc` rejects a wrong one; the helpers write the blocks every scenario repeats. The spec
 * is still checked at load time by harness/drill/spec.ts (validateDrill), which lists every problem at once: the
 * types catch mistakes earlier, they do not replace that check. harness/authoring/authoring.test.ts keeps these
 * types and the validators' key lists equal. docs/writing-scenarios.md is the guide; docs/drill.md and docs/load.md
 * are the reference.
 *
 * This file imports nothing, on purpose: a spec outside this repository type-checks it under its own tsconfig, and a
 * chain of imports from here would drag the harness (and its `.ts` import paths) into that project's compilation.
 */

/** A duration: "250ms", "30s", "1m30s", "2h", "1d", or a number of milliseconds. */
export type Duration = string | number;

/** A value drawn per message: a plain value means constant. */
export type Distribution<T extends number | Duration = number> =
  | T
  | { distribution: 'constant'; value: T }
  | { distribution: 'uniform'; min: T; max: T }
  | { distribution: 'normal'; mean: T; stddev: T; min?: T; max?: T }
  | { distribution: 'exponential'; mean: T; max?: T };

/** One k6 stage: ramp linearly to `target` (a rate, or VUs) over `duration`. */
export interface Stage {
  target: number;
  duration: Duration;
}

/** Keys common to every scenario (k6's, plus mqdrill's `workers`). */
export interface ScenarioCommon {
  /** When the scenario starts, from the start of the load (default 0s). */
  startTime?: Duration;
  /** How long running iterations may finish after the schedule ends (default 30s). */
  gracefulStop?: Duration;
  tags?: Record<string, string>;
  /** How many driver workers share the scenario; rates, VUs and iterations are divided between them (default 1). */
  workers?: number;
}

export interface ConstantArrivalRate {
  executor: 'constant-arrival-rate';
  /** Iterations (sends) per timeUnit. */
  rate: number;
  timeUnit?: Duration;
  duration: Duration;
  preAllocatedVUs: number;
  maxVUs?: number;
}

export interface RampingArrivalRate {
  executor: 'ramping-arrival-rate';
  startRate?: number;
  timeUnit?: Duration;
  stages: Stage[];
  preAllocatedVUs: number;
  maxVUs?: number;
}

export interface ConstantVus {
  executor: 'constant-vus';
  vus?: number;
  duration: Duration;
}

export interface RampingVus {
  executor: 'ramping-vus';
  startVUs?: number;
  stages: Stage[];
  gracefulRampDown?: Duration;
}

export interface Iterations {
  executor: 'per-vu-iterations' | 'shared-iterations';
  vus?: number;
  iterations?: number;
  maxDuration?: Duration;
}

export type ProducerExecutor = ConstantArrivalRate | RampingArrivalRate | ConstantVus | RampingVus | Iterations;

/** How many keys, how they are drawn; for FIFO messages a key is a message group. */
export interface KeySpec {
  count: number;
  distribution?: 'uniform' | 'zipf';
  /** Zipf exponent s: key k has weight 1/k^s (default 1). */
  exponent?: number;
  /** Default "key-". */
  prefix?: string;
}

interface MessageCommon {
  topic: string;
  /** One tag, or a list: one is picked uniformly per message. */
  tags?: string | string[];
  keys?: KeySpec;
  /** Default 1024. */
  bodySizeBytes?: Distribution<number>;
  properties?: Record<string, string>;
  /** Per-send timeout (default 3s); a send that times out is recorded as unknown, never as failed. */
  sendTimeout?: Duration;
  /** Share of messages marked poison: every consumer fails them, so they must dead-letter. */
  poisonShare?: number;
  /** `sync` (default) or `async` sends (a send callback): the remoting Java driver honours it (docs/load.md). */
  sendMode?: 'sync' | 'async';
}

export type MessageSpec =
  | (MessageCommon & { type?: 'NORMAL'; delay?: never; transaction?: never })
  | (MessageCommon & { type: 'FIFO'; keys: KeySpec; delay?: never; transaction?: never })
  | (MessageCommon & { type: 'DELAY'; delay: Distribution<Duration>; transaction?: never })
  | (MessageCommon & {
      type: 'TRANSACTION';
      /** Shares of each outcome, summing to 1; `unknown` leaves the outcome to the broker's check-back. */
      transaction?: { commit?: number; rollback?: number; unknown?: number };
      delay?: never;
    });

/** What a consumer client does with what it receives. */
export interface ConsumerBehaviour {
  group: string;
  topic: string;
  kind?: 'simple' | 'push';
  filter?: { type?: 'TAG' | 'SQL92'; expression?: string };
  /** Work per message (default 0). */
  processingTime?: Distribution<Duration>;
  /** Share of deliveries that fail once and are retried by the broker. */
  failureShare?: number;
  /** Messages that fail on every delivery: a share (by a hash of the message id) and tags. */
  poison?: { share?: number; tags?: string[] };
  /** The client dies abruptly after this many messages (its in-flight messages unacknowledged), then restarts. */
  crashAfter?: number;
  restartDelay?: Duration;
  invisibleDuration?: Duration;
  /** Messages per receive (1..32, default 16). */
  receiveBatchSize?: number;
  /** The long-polling wait of a receive (default 2s). */
  awaitDuration?: Duration;
  /** The group's max delivery attempts (a failing last attempt counts as dead-lettered). */
  maxAttempts?: number;
  /** How long a failed message stays invisible before it is redelivered (default 1s). */
  retryDelay?: Duration;
  /** After the drain, read %DLQ%<group> with this (pre-created) group, so the dead-letter check can decide. */
  deadLetterScanGroup?: string;
}

export type ProducerScenario = ScenarioCommon &
  ProducerExecutor & { role: 'producer'; message: MessageSpec; consumer?: never };

export type ConsumerScenario = ScenarioCommon &
  ConstantVus & { role: 'consumer'; consumer: ConsumerBehaviour; message?: never };

export type Scenario = ProducerScenario | ConsumerScenario;

/** A k6 threshold: 'p(99)<50', or the object form. */
export type Threshold = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: Duration };

/** The load engine's options (k6-shaped). */
export interface LoadOptions {
  scenarios: Record<string, Scenario>;
  /** Metric name (optionally with tags: 'send_duration{scenario:orders}') to thresholds. */
  thresholds?: Record<string, Threshold | Threshold[]>;
  seed?: number;
  /** After the producers end, consumers run until nothing arrived for `idle` (default 5s), at most `timeout`. */
  drain?: { idle?: Duration; timeout?: Duration };
  ledger?: boolean;
}

/**
 * A fault's target: a node of the bundled target (`broker-0`...), `external` (the proxy in front of an external
 * target), `*` for every one, or any other name the target gives its nodes.
 */
/** A node by name, or a role that fits every target: `all`, `any` / `broker` (one broker, seeded), `namesrv`. */
export type FaultTarget =
  | '*'
  | 'all'
  | 'any'
  | 'broker'
  | 'namesrv'
  | `broker-${number}`
  | 'namesrv-0'
  | 'external'
  | (string & {});

/** When a timed fault starts (from the end of the warm-up) and how long it lasts. */
export interface FaultWindow {
  at: Duration;
  duration: Duration;
}

/** Which way through the proxy: upstream is client → broker, downstream broker → client. */
export type Stream = 'upstream' | 'downstream' | 'both';

interface ToxicCommon {
  target: FaultTarget;
  stream?: Stream;
  /** Share of connections the toxic affects (0..1, default 1). */
  toxicity?: number;
}

export type FaultSpec =
  | (ToxicCommon & { kind: 'latency'; latencyMs: number; jitterMs?: number })
  | (ToxicCommon & { kind: 'bandwidth'; kilobytesPerSecond: number })
  | (ToxicCommon & { kind: 'timeout'; timeoutMs?: number })
  | (ToxicCommon & { kind: 'reset_peer'; timeoutMs?: number })
  | (ToxicCommon & { kind: 'slicer'; averageSizeBytes?: number; sizeVariationBytes?: number; delayUs?: number })
  | { kind: 'loss'; target: FaultTarget; lossShare: number; stream?: Stream }
  | { kind: 'down' | 'partition' | 'kill' | 'pause' | 'restart' | 'power-loss' | 'stop'; target: FaultTarget };

export type FaultKind = FaultSpec['kind'];

export type TimedFault = FaultSpec & FaultWindow;

/** `count` faults drawn from `kinds`, each lasting durationMin..durationMax, inside `within`. */
export interface RandomFaults {
  random: {
    count: number;
    kinds: Array<FaultKind | Partial<FaultSpec>>;
    targets?: FaultTarget[];
    durationMin: Duration;
    durationMax: Duration;
    /** The first part of the load phase ('60s'), or a window; absent: the whole load phase. */
    within?: Duration | { from?: Duration; to?: Duration };
  };
}

export type FaultEntry = TimedFault | RandomFaults;

/**
 * Where the drill runs: the bundled broker (nodes, flush), real RocketMQ (flush), brokers in Docker containers
 * (broker, nodes, flush) or an external deployment.
 */
export interface DrillTarget {
  kind?: 'bundled' | 'rocketmq' | 'containers' | 'external';
  /** Containers: which broker runs in the containers (default bundled). */
  broker?: 'bundled' | 'rocketmq';
  /** Bundled: broker nodes, 1..16 (default 1); containers: 1..8. */
  nodes?: number;
  /** Bundled, one node: `mqdrill broker --shards N`, N broker processes behind one node (default 1). */
  shards?: number;
  flush?: 'sync' | 'async';
  /** Bundled: the broker's fsync interval in ms. */
  flushIntervalMs?: number;
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
  tls?: boolean;
  namespace?: string;
  adminEndpoint?: string;
  /** External: a RocketMQ name server (host:port) for provisioning and backlog through RocketMQ's admin API. */
  namesrv?: string;
  /** Tests only: make the bundled broker misbehave so a drill must fail. */
  canary?: { dropAckedOneIn?: number; swapFifoOneIn?: number };
}

/** The `drill` section: where it runs, the faults, the drain and the gates that decide the verdict. */
export interface DrillSection {
  description?: string;
  target?: DrillTarget;
  /** Queues per topic (default 4). */
  queues?: number;
  /** The first part of the load runs without faults (default 2s); fault times count from its end. */
  warmUp?: Duration;
  faults?: FaultEntry[];
  /** Checker gates: 'lost == 0', 'order == 0', 'drain < 30s', 'send_duration: p(99)<2s', ... */
  gates?: string[];
  drain?: { deadline?: Duration; slo?: Duration };
  guarantee?: 'at-least-once' | 'exactly-once' | 'strict';
}

/** A whole drill spec: the load engine's `options` and the `drill` section. */
export interface DrillDefinition {
  options: LoadOptions;
  drill: DrillSection;
}

/** Returns the spec unchanged: its point is the type, so the editor and `tsc` check the spec as it is written. */
export function defineDrill<const T extends DrillDefinition>(spec: T): T {
  return spec;
}

/** Options every producer helper takes besides its schedule. */
export type ProducerOptions = ScenarioCommon & {
  message: MessageSpec;
  /** VUs allocated up front; default max(16, maxVUs / 4). */
  preAllocatedVUs?: number;
  /** Sends in flight at most; default max(64, peak rate / 10): 100 ms of send latency at the peak rate. */
  maxVUs?: number;
  /** Default '1s': rates are per second. */
  timeUnit?: Duration;
};

function vuLimits(peakRate: number, o: ProducerOptions): { preAllocatedVUs: number; maxVUs: number } {
  const maxVUs = o.maxVUs ?? Math.max(64, Math.ceil(peakRate / 10));
  return { preAllocatedVUs: o.preAllocatedVUs ?? Math.min(maxVUs, Math.max(16, Math.ceil(maxVUs / 4))), maxVUs };
}

function producerScenario<E extends ConstantArrivalRate | RampingArrivalRate>(
  o: ProducerOptions,
  schedule: E,
): ProducerScenario {
  const { message, preAllocatedVUs: _p, maxVUs: _m, timeUnit, ...common } = o;
  return { ...schedule, ...(timeUnit === undefined ? {} : { timeUnit }), ...common, role: 'producer', message };
}

/** Producer scenarios (open model: messages arrive at a rate whatever the send latency). */
export const producer = {
  /** A constant rate for a duration (k6 constant-arrival-rate). */
  rate(o: ProducerOptions & { rate: number; duration: Duration }): ProducerScenario {
    const { rate, duration, ...rest } = o;
    return producerScenario(rest, { executor: 'constant-arrival-rate', rate, duration, ...vuLimits(rate, o) });
  },

  /** Any rate curve: from startRate through the stages (k6 ramping-arrival-rate). */
  ramp(o: ProducerOptions & { startRate?: number; stages: Stage[] }): ProducerScenario {
    const { startRate, stages, ...rest } = o;
    const peak = Math.max(startRate ?? 0, ...stages.map((s) => s.target));
    const schedule: RampingArrivalRate = { executor: 'ramping-arrival-rate', stages, ...vuLimits(peak, o) };
    return producerScenario(rest, startRate === undefined ? schedule : { ...schedule, startRate });
  },

  /**
   * A burst: baseRate for `before`, a ramp to peakRate over `rampUp`, peakRate for `hold`, back to baseRate over
   * `rampDown`, and baseRate for `after` (ramps default to 1s).
   */
  burst(
    o: ProducerOptions & {
      baseRate: number;
      peakRate: number;
      before: Duration;
      rampUp?: Duration;
      hold: Duration;
      rampDown?: Duration;
      after: Duration;
    },
  ): ProducerScenario {
    const { baseRate, peakRate, before, rampUp, hold, rampDown, after, ...rest } = o;
    const stages: Stage[] = [
      { target: baseRate, duration: before },
      { target: peakRate, duration: rampUp ?? '1s' },
      { target: peakRate, duration: hold },
      { target: baseRate, duration: rampDown ?? '1s' },
      { target: baseRate, duration: after },
    ];
    return producer.ramp({ ...rest, startRate: baseRate, stages });
  },
};

/** A consumer scenario: `vus` consumer clients (default 1) of one group for `duration`, then through the drain. */
export function consumer(
  o: ConsumerBehaviour & ScenarioCommon & { vus?: number; duration: Duration },
): ConsumerScenario {
  const { vus, duration, startTime, gracefulStop, tags, workers, ...behaviour } = o;
  const common: ScenarioCommon = { startTime, gracefulStop, tags, workers };
  for (const key of Object.keys(common) as Array<keyof ScenarioCommon>)
    if (common[key] === undefined) delete common[key];
  return { executor: 'constant-vus', vus: vus ?? 1, duration, ...common, role: 'consumer', consumer: behaviour };
}

type ToxicOptions = Omit<ToxicCommon, 'target'>;

/** Timed faults: each takes its target and its window ({at, duration}, from the end of the warm-up). */
export const faults = {
  /** Adds latency (± jitter) to the target's connections. */
  latency(target: FaultTarget, o: FaultWindow & ToxicOptions & { latencyMs: number; jitterMs?: number }): TimedFault {
    return { kind: 'latency', target, ...o };
  },
  /** Limits the target's connections to kilobytesPerSecond. */
  bandwidth(target: FaultTarget, o: FaultWindow & ToxicOptions & { kilobytesPerSecond: number }): TimedFault {
    return { kind: 'bandwidth', target, ...o };
  },
  /** Stops all data; closes the connections after timeoutMs (0: never, until healed). */
  timeout(target: FaultTarget, o: FaultWindow & ToxicOptions & { timeoutMs?: number }): TimedFault {
    return { kind: 'timeout', target, ...o };
  },
  /** Resets connections (TCP RST) at once, or after timeoutMs. */
  resetPeer(target: FaultTarget, o: FaultWindow & ToxicOptions & { timeoutMs?: number }): TimedFault {
    return { kind: 'reset_peer', target, ...o };
  },
  /** Slices data into small packets, with an optional delay between them. */
  slicer(
    target: FaultTarget,
    o: FaultWindow & ToxicOptions & { averageSizeBytes?: number; sizeVariationBytes?: number; delayUs?: number },
  ): TimedFault {
    return { kind: 'slicer', target, ...o };
  },
  /** Drops lossShare (0..1) of the target's packets at random; containers target only (iptables). */
  loss(target: FaultTarget, o: FaultWindow & { lossShare: number; stream?: Stream }): TimedFault {
    return { kind: 'loss', target, ...o };
  },
  /** The target's proxy refuses connections and drops the open ones: clients fail fast. */
  down(target: FaultTarget, window: FaultWindow): TimedFault {
    return { kind: 'down', target, ...window };
  },
  /** The target is cut off from clients and peers: packets vanish, nothing is refused, clients wait and time out. */
  partition(target: FaultTarget, window: FaultWindow): TimedFault {
    return { kind: 'partition', target, ...window };
  },
  /** SIGKILL the node at `at`, restart it when the window ends. */
  kill(target: FaultTarget, window: FaultWindow): TimedFault {
    return { kind: 'kill', target, ...window };
  },
  /** SIGSTOP the node for the window (a long GC pause, a frozen VM), then SIGCONT. */
  pause(target: FaultTarget, window: FaultWindow): TimedFault {
    return { kind: 'pause', target, ...window };
  },
  /** Stop the node gracefully (SIGTERM) at `at` and start it again at once (the window only places it). */
  /** SIGTERM the node at `at` (a graceful stop; its data is kept), start it again when the window ends. */
  stop(target: FaultTarget, window: FaultWindow): TimedFault {
    return { kind: 'stop', target, ...window };
  },
  restart(target: FaultTarget, window: FaultWindow): TimedFault {
    return { kind: 'restart', target, ...window };
  },
  /**
   * Bundled target only: SIGKILL the node at `at` and roll every store file back to its last fsync (a power cut),
   * then restart it when the window ends. Under async flush this really loses acknowledged, unsynced messages.
   */
  powerLoss(target: FaultTarget, window: FaultWindow): TimedFault {
    return { kind: 'power-loss', target, ...window };
  },
  /** `count` faults drawn from kinds, at seeded random times and targets. */
  random(o: RandomFaults['random']): RandomFaults {
    return { random: o };
  },
};

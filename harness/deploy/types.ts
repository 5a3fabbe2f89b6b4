/**
 * The target contract (issue #7): where a drill runs. `bundled` (broker child processes on loopback, 1..N nodes) and
 * `external` (an endpoint with credentials) implement it now; `containers` and `rocketmq` plug in later. The drill
 * engine talks only to this interface.
 */

export type TargetKind = 'bundled' | 'external' | 'containers' | 'rocketmq';

export interface TopicSpec {
  name: string;
  queues: number;
  type: 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION' | 'MIXED';
}

export interface GroupSpec {
  name: string;
  fifo?: boolean;
  maxAttempts?: number;
  retryPolicy?: 'customized' | 'exponential';
}

export interface BrokerNode {
  name: string;
  /** host:port clients use: the fault proxy's address when one is in front of the node. */
  endpoint: string;
  /** host:port of the node itself (bypassing any proxy): for provisioning, metrics and process faults. */
  directEndpoint: string;
  /** The node's data folder, when the target owns one (bundled). */
  dataDir?: string;
  /** The node's log file, when the target writes one (bundled). */
  logFile?: string;
}

export interface Backlog {
  topic: string;
  group: string;
  ready: number;
  /**
   * Delivered and not yet acknowledged; null when the target cannot count them (RocketMQ 5.3's admin API does not
   * expose its pop consumers' in-flight count). null is unknown, never 0: a sum with a null is null.
   */
  inflight: number | null;
  retry: number;
  dlq: number;
}

export interface ClientAccess {
  /** The access point clients are configured with. */
  endpoint: string;
  tls: boolean;
  namespace: string;
  credentials?: { accessKey: string; secretKey: string };
  /** The name server, for remoting clients (`--driver java-remoting`); absent when the target has none. */
  namesrv?: string;
  /**
   * Broker addresses the name server hands out, each mapped to the fault proxy in front of it; absent when remoting
   * traffic does not go through a proxy (network faults then miss the remoting driver's broker connections).
   */
  remotingRoutes?: Record<string, string>;
}

/** Process-level faults a target can perform on one of its nodes. */
export interface ProcessControl {
  kill(node: string, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT' | 'SIGTERM'): Promise<void>;
  /** Starts the node again on the same data and port (after a kill or SIGTERM). */
  restart(node: string): Promise<void>;
  /** A node that is down loses every store write its last fsyncs did not cover (a power cut); bytes lost. */
  loseUnsyncedWrites?(node: string): Promise<number>;
}

export interface Target {
  readonly kind: TargetKind;
  readonly nodes: readonly BrokerNode[];
  readonly access: ClientAccess;
  /** Creates topics and groups on every node; idempotent. */
  provision(topics: TopicSpec[], groups: GroupSpec[]): Promise<void>;
  /** Backlog per (topic, group) summed over nodes; undefined when the target cannot tell (external). */
  backlog(groups: string[]): Promise<Backlog[] | undefined>;
  /** Broker counters (messages in/out, DLQ) for the reconcile check; undefined when unavailable. */
  counters(): Promise<Record<string, number> | undefined>;
  /** Present when the target can kill and restart its nodes. */
  readonly processes?: ProcessControl;
  /**
   * Whether a client operation can cross the link between nodes a and b, so a partition between them (`a~b`) can
   * fail or slow a send. A target answering false must prove such a partition in force when it injects it (the
   * ledger cannot). Absent, or undefined: unknown, the ledger decides.
   */
  clientPathCrosses?(a: string, b: string): boolean | undefined;
  stop(): Promise<void>;
}

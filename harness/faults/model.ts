/**
 * The fault model: every kind of fault a drill can inject, as one discriminated union, and its strict validation.
 * Network kinds are Toxiproxy toxics (`down` disables the proxy, `partition` drops every byte both ways); process
 * kinds signal a target's node;
 * consumer kinds are handed to the load engine, which changes its consumers' behaviour. Each kind has a heal step
 * (see docs/faults.md): a toxic is removed, a proxy re-enabled, a killed node restarted, a paused one continued.
 */
import type { Problems } from '../load/validate.ts';

/** Which way through the proxy: upstream is client → broker, downstream broker → client, both adds one of each. */
export type Stream = 'upstream' | 'downstream' | 'both';

/** Fields every network fault shares. `target` is a proxy name (the bundled target names them after nodes) or `*`. */
interface NetworkBase {
  target: string;
  stream: Stream;
  /** Share of connections the toxic affects (0..1). Toxiproxy decides it once per connection, not per packet. */
  toxicity: number;
}

export interface LatencyFault extends NetworkBase {
  kind: 'latency';
  latencyMs: number;
  jitterMs: number;
}

export interface BandwidthFault extends NetworkBase {
  kind: 'bandwidth';
  kilobytesPerSecond: number;
}

/** Stops all data; closes the connection after timeoutMs, or never (until healed) when timeoutMs is 0. */
export interface TimeoutFault extends NetworkBase {
  kind: 'timeout';
  timeoutMs: number;
}

/** Resets connections (TCP RST) at once, or after timeoutMs. */
export interface ResetPeerFault extends NetworkBase {
  kind: 'reset_peer';
  timeoutMs: number;
}

/** Slices data into small packets, with an optional delay between them. */
export interface SlicerFault extends NetworkBase {
  kind: 'slicer';
  averageSizeBytes: number;
  sizeVariationBytes: number;
  delayUs: number;
}

/**
 * Drops this share of packets at random (downstream: what the node sends; upstream: what it receives). TCP
 * retransmits below a TCP proxy, so only targets that act on packets offer it (containers: iptables `statistic` in
 * the node's namespace); Toxiproxy targets refuse it at inject.
 */
export interface LossFault {
  kind: 'loss';
  target: string;
  stream: Stream;
  /** 0..1, drawn per packet. */
  lossShare: number;
}

/** The proxy refuses connections and drops the open ones (the proxy is disabled). */
export interface DownFault {
  kind: 'down';
  target: string;
}

/**
 * The node is cut off: every byte to and from it through its proxy is dropped (a Toxiproxy `timeout` toxic with no
 * timeout, both ways), so nothing is refused and clients wait until their own timeouts, as behind a real network
 * partition. Bytes sent during it are lost, so connections open across it break at heal and clients reconnect.
 */
export interface PartitionFault {
  kind: 'partition';
  target: string;
}

/** SIGKILL at start, restart at heal. */
export interface KillFault {
  kind: 'kill';
  target: string;
}

/** SIGSTOP at start, SIGCONT at heal. */
export interface PauseFault {
  kind: 'pause';
  target: string;
}

/**
 * A power cut (bundled target only): SIGKILL at start, then every store file is rolled back to what its last fsync
 * covered (writes still in the page cache are lost, as on a machine that lost power); restart at heal. The brokers
 * must run with `powerLossJournal` (the drill turns it on when its schedule has this fault).
 */
export interface PowerLossFault {
  kind: 'power-loss';
  target: string;
}

/** SIGTERM at start (a graceful stop: a container is stopped, its data kept), restart at heal. */
export interface StopFault {
  kind: 'stop';
  target: string;
}

/** SIGTERM and restart at start (a graceful restart); the heal step has nothing left to undo. */
export interface RestartFault {
  kind: 'restart';
  target: string;
}

/** A consumer crashes mid-batch (without acknowledging what it holds); restarted at heal. */
export interface ConsumerCrashFault {
  kind: 'consumer-crash';
  /** A consumer process or group name, or `*`. */
  target: string;
}

/** Consumers take processingMs per message until healed. */
export interface ConsumerSlowFault {
  kind: 'consumer-slow';
  target: string;
  processingMs: number;
}

/** Consumers fail (nack) this share of messages transiently until healed. */
export interface ConsumerFailingFault {
  kind: 'consumer-failing';
  target: string;
  failShare: number;
}

export type NetworkFault =
  | LatencyFault
  | BandwidthFault
  | TimeoutFault
  | ResetPeerFault
  | SlicerFault
  | LossFault
  | DownFault
  | PartitionFault;
export type ProcessFault = KillFault | PauseFault | RestartFault | PowerLossFault | StopFault;
export type ConsumerFault = ConsumerCrashFault | ConsumerSlowFault | ConsumerFailingFault;
export type FaultSpec = NetworkFault | ProcessFault | ConsumerFault;
export type FaultKind = FaultSpec['kind'];
export type FaultFamily = 'network' | 'process' | 'consumer';

export const NETWORK_KINDS = [
  'latency',
  'bandwidth',
  'timeout',
  'reset_peer',
  'slicer',
  'loss',
  'down',
  'partition',
] as const;
export const PROCESS_KINDS = ['kill', 'pause', 'restart', 'power-loss', 'stop'] as const;
export const CONSUMER_KINDS = ['consumer-crash', 'consumer-slow', 'consumer-failing'] as const;
export const FAULT_KINDS: readonly FaultKind[] = [...NETWORK_KINDS, ...PROCESS_KINDS, ...CONSUMER_KINDS];

/** Matches every proxy, node or consumer. */
export const ALL_TARGETS = '*';

export function faultFamily(kind: FaultKind): FaultFamily {
  if ((NETWORK_KINDS as readonly string[]).includes(kind)) return 'network';
  if ((PROCESS_KINDS as readonly string[]).includes(kind)) return 'process';
  return 'consumer';
}

export function isNetworkFault(fault: FaultSpec): fault is NetworkFault {
  return faultFamily(fault.kind) === 'network';
}

export function isProcessFault(fault: FaultSpec): fault is ProcessFault {
  return faultFamily(fault.kind) === 'process';
}

export function isConsumerFault(fault: FaultSpec): fault is ConsumerFault {
  return faultFamily(fault.kind) === 'consumer';
}

/** Known names per family; when given, a target must be one of them or `*`. */
export interface KnownTargets {
  network?: readonly string[];
  process?: readonly string[];
  consumer?: readonly string[];
}

/** Parameters per kind beyond `kind` and `target`, with their defaults (undefined = required). */
const PARAMETERS: Record<FaultKind, Record<string, number | string | undefined>> = {
  latency: { latencyMs: undefined, jitterMs: 0, stream: 'downstream', toxicity: 1 },
  bandwidth: { kilobytesPerSecond: undefined, stream: 'downstream', toxicity: 1 },
  timeout: { timeoutMs: 0, stream: 'downstream', toxicity: 1 },
  reset_peer: { timeoutMs: 0, stream: 'downstream', toxicity: 1 },
  slicer: { averageSizeBytes: 64, sizeVariationBytes: 32, delayUs: 0, stream: 'downstream', toxicity: 1 },
  loss: { lossShare: undefined, stream: 'downstream' },
  down: {},
  partition: {},
  kill: {},
  pause: {},
  restart: {},
  'power-loss': {},
  stop: {},
  'consumer-crash': {},
  'consumer-slow': { processingMs: undefined },
  'consumer-failing': { failShare: undefined },
};

/** Defaults a random schedule uses for parameters a kind requires. */
export const RANDOM_DEFAULTS: Readonly<Record<string, number>> = {
  latencyMs: 200,
  jitterMs: 50,
  kilobytesPerSecond: 64,
  processingMs: 500,
  failShare: 0.2,
};

/** The keys a fault object of this kind may carry. */
export function faultKeys(kind: FaultKind): string[] {
  return ['kind', 'target', ...Object.keys(PARAMETERS[kind])];
}

export interface FaultValidationOptions {
  /** Keys the caller handles itself (a schedule entry's `at` and `duration`). */
  extraKeys?: readonly string[];
  knownTargets?: KnownTargets;
  /** Values for missing parameters (a random schedule's defaults). */
  defaults?: Readonly<Record<string, number>>;
  /** The target when none is given (random templates); without it a target is required. */
  targetFallback?: string;
}

/**
 * Validates one fault object at `path`, adding every problem to `problems`, and returns it with defaults filled in
 * (undefined when it cannot be used). `extraKeys` are keys the caller handles (a schedule's `at`, `duration`).
 */
export function validateFault(
  problems: Problems,
  path: string,
  value: unknown,
  options: FaultValidationOptions = {},
): FaultSpec | undefined {
  const probe = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).kind : undefined;
  const kind = problems.oneOf(`${path}.kind`, probe, FAULT_KINDS);
  const allowed = [...(kind ? faultKeys(kind) : FAULT_KIND_ALL_KEYS), ...(options.extraKeys ?? [])];
  const record = problems.object(path, value, allowed);
  if (record === undefined || kind === undefined) return undefined;
  const targetValue = record.target ?? options.targetFallback;
  const target = validateTarget(problems, `${path}.target`, targetValue, kind, options.knownTargets);
  const fault: Record<string, unknown> = { kind, target };
  for (const [key, fallback] of Object.entries(PARAMETERS[kind])) {
    fault[key] = validateParameter(problems, `${path}.${key}`, key, record[key] ?? options.defaults?.[key], fallback);
  }
  if (kind === 'slicer') checkSlicer(problems, path, fault);
  return Object.values(fault).includes(undefined) ? undefined : (fault as unknown as FaultSpec);
}

const FAULT_KIND_ALL_KEYS = [...new Set(FAULT_KINDS.flatMap(faultKeys))];

function validateTarget(
  problems: Problems,
  path: string,
  value: unknown,
  kind: FaultKind,
  knownTargets: KnownTargets | undefined,
): string | undefined {
  const target = problems.string(path, value);
  const known = knownTargets?.[faultFamily(kind)];
  if (target === undefined || known === undefined || target === ALL_TARGETS || known.includes(target)) return target;
  const family = faultFamily(kind);
  if (known.length === 0) {
    problems.add(
      path,
      `${kind} needs a ${family} target, and this target has none (external targets take network faults only)`,
    );
    return;
  }
  problems.add(path, `unknown ${family} target ${JSON.stringify(target)} (expected *, ${known.join(', ')})`);
  return undefined;
}

function validateParameter(
  problems: Problems,
  path: string,
  key: string,
  value: unknown,
  fallback: number | string | undefined,
): number | string | undefined {
  if (key === 'stream') return problems.oneOf(path, value, ['upstream', 'downstream', 'both'], 'downstream');
  if (key === 'toxicity' || key === 'failShare' || key === 'lossShare') {
    return problems.number(path, value, { min: 0, max: 1, fallback: fallback as number | undefined });
  }
  if (key === 'kilobytesPerSecond' || key === 'averageSizeBytes' || key === 'processingMs') {
    return problems.number(path, value, { above: 0, integer: true, fallback: fallback as number | undefined });
  }
  return problems.number(path, value, { min: 0, integer: true, fallback: fallback as number | undefined });
}

function checkSlicer(problems: Problems, path: string, fault: Record<string, unknown>): void {
  const average = fault.averageSizeBytes;
  const variation = fault.sizeVariationBytes;
  if (typeof average !== 'number' || typeof variation !== 'number' || variation < average) return;
  problems.add(`${path}.sizeVariationBytes`, 'must be smaller than averageSizeBytes');
}

/** One line for humans: "latency 200ms ±50ms on broker-1 (downstream)". */
export function describeFault(fault: FaultSpec): string {
  const on = fault.target === ALL_TARGETS ? 'on every target' : `on ${fault.target}`;
  const detail = faultDetail(fault);
  const stream = 'stream' in fault && fault.stream !== 'downstream' ? ` (${fault.stream})` : '';
  return `${fault.kind}${detail ? ` ${detail}` : ''} ${on}${stream}`;
}

function faultDetail(fault: FaultSpec): string {
  switch (fault.kind) {
    case 'latency':
      return fault.jitterMs > 0 ? `${fault.latencyMs}ms ±${fault.jitterMs}ms` : `${fault.latencyMs}ms`;
    case 'bandwidth':
      return `${fault.kilobytesPerSecond} KB/s`;
    case 'timeout':
    case 'reset_peer':
      return fault.timeoutMs > 0 ? `after ${fault.timeoutMs}ms` : '';
    case 'slicer':
      return `${fault.averageSizeBytes}±${fault.sizeVariationBytes} B every ${fault.delayUs}µs`;
    case 'loss':
      return `${Math.round(fault.lossShare * 1000) / 10}% of packets`;
    case 'consumer-slow':
      return `${fault.processingMs}ms per message`;
    case 'consumer-failing':
      return `${Math.round(fault.failShare * 100)}% of messages`;
    default:
      return '';
  }
}

/** The fault's parameters without kind and target, for ledger details and annotations. */
export function faultParameters(fault: FaultSpec): Record<string, unknown> {
  const { kind: _kind, target: _target, ...parameters } = fault;
  return parameters;
}

/**
 * Targets (issue #7): where a drill runs. `startTarget(spec)` validates a target spec (every error at once, unknown
 * keys rejected) and starts it; the drill engine then talks only to the `Target` interface in types.ts.
 */
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { type BundledTargetOptions, startBundledTarget } from './bundled.ts';
import { startContainersTarget } from './containers/target.ts';
import { endpointErrors, externalTarget } from './external.ts';
import type { TargetLog } from './node-process.ts';
import { startRocketmqTarget } from './rocketmq/target.ts';
import type { Target } from './types.ts';

export { parsePrometheusCounters } from './admin.ts';
export {
  type BundledTarget,
  type BundledTargetOptions,
  type ExtraBrokerConfig,
  startBundledTarget,
} from './bundled.ts';
export {
  type ContainersTarget,
  type ContainersTargetOptions,
  startContainersTarget,
} from './containers/target.ts';
export { type ExternalTargetOptions, externalTarget } from './external.ts';
export { TargetBootError, type TargetLog } from './node-process.ts';
export { type RocketMq, type RocketMqOptions, startRocketMq } from './rocketmq/launcher.ts';
export { type RocketmqTarget, type RocketmqTargetOptions, startRocketmqTarget } from './rocketmq/target.ts';
export { type RouteCheck, routeEndpoints } from './route-check.ts';
export type * from './types.ts';

/** The target part of a drill spec: what a user writes. */
export type TargetSpec = BundledTargetSpec | RocketmqTargetSpec | ExternalTargetSpec | ContainersTargetSpec;

/** Brokers in Docker containers on a network of their own (harness/deploy/containers). */
export interface ContainersTargetSpec {
  kind: 'containers';
  /** Which broker runs in the containers; default bundled. */
  broker?: 'bundled' | 'rocketmq';
  /** Broker containers; default 1 (rocketmq adds a name server container). */
  nodes?: number;
  /** Default sync. */
  flush?: 'sync' | 'async';
}

/** Apache RocketMQ 5.3.3 started on loopback (`mqdrill setup --only rocketmq` installs it). */
export interface RocketmqTargetSpec {
  kind: 'rocketmq';
  /** Default sync. */
  flush?: 'sync' | 'async';
}

export interface BundledTargetSpec {
  kind: 'bundled';
  /** Broker processes; default 1. */
  nodes?: number;
  /** Default sync. */
  flush?: 'sync' | 'async';
  /** The broker's fsync interval in ms (async flush: how long acknowledged writes may wait for their fsync). */
  flushIntervalMs?: number;
  /** Shard processes per node (`mqdrill broker --shards N`, docs/broker-cores.md); default 1. */
  shards?: number;
}

export interface ExternalTargetSpec {
  kind: 'external';
  endpoint: string;
  accessKey?: string;
  secretKey?: string;
  tls?: boolean;
  namespace?: string;
  adminEndpoint?: string;
  /** A RocketMQ name server (host:port): provisioning, backlog and counters through RocketMQ's admin API. */
  namesrv?: string;
}

/** What the drill engine adds at run time (never in a user's spec). */
export interface TargetRuntime {
  /** Bundled: the parent folder of the node folders (kept); omitted = a temp folder removed by stop(). */
  dataDir?: string;
  /** Bundled, rocketmq: the client-facing (proxied) address of each broker node. */
  proxied?: BundledTargetOptions['proxied'];
  /** Bundled: extra broker config for every node, e.g. a canary. */
  config?: BundledTargetOptions['config'];
  log?: TargetLog;
}

const keysOf: Record<TargetSpec['kind'], readonly string[]> = {
  bundled: ['kind', 'nodes', 'flush', 'flushIntervalMs', 'shards'],
  rocketmq: ['kind', 'flush'],
  containers: ['kind', 'broker', 'nodes', 'flush'],
  external: ['kind', 'endpoint', 'accessKey', 'secretKey', 'tls', 'namespace', 'adminEndpoint', 'namesrv'],
};

/** Every problem with a target spec, as `target.<key>: ...` lines; empty when it is valid. */
export function validateTargetSpec(spec: unknown): string[] {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return ['target: must be an object'];
  const s = spec as Record<string, unknown>;
  const kind = s.kind;
  if (kind !== 'bundled' && kind !== 'external' && kind !== 'rocketmq' && kind !== 'containers') {
    return [`target.kind: must be bundled, rocketmq, containers or external, not ${JSON.stringify(kind)}`];
  }
  const errors = Object.keys(s)
    .filter((k) => !keysOf[kind].includes(k))
    .map((k) => `target.${k}: unknown key for a ${kind} target (known: ${keysOf[kind].join(', ')})`);
  if (kind === 'containers') {
    if (s.broker !== undefined && s.broker !== 'bundled' && s.broker !== 'rocketmq')
      errors.push(`target.broker: must be bundled or rocketmq, not ${JSON.stringify(s.broker)}`);
    if (s.nodes !== undefined && (!Number.isInteger(s.nodes) || (s.nodes as number) < 1 || (s.nodes as number) > 8))
      errors.push(`target.nodes: must be an integer from 1 to 8, not ${JSON.stringify(s.nodes)}`);
    if (s.flush !== undefined && s.flush !== 'sync' && s.flush !== 'async')
      errors.push(`target.flush: must be sync or async, not ${JSON.stringify(s.flush)}`);
    return errors;
  }
  if (kind === 'rocketmq') {
    if (s.flush !== undefined && s.flush !== 'sync' && s.flush !== 'async')
      errors.push(`target.flush: must be sync or async, not ${JSON.stringify(s.flush)}`);
    return errors;
  }
  if (kind === 'bundled') {
    if (s.nodes !== undefined && (!Number.isInteger(s.nodes) || (s.nodes as number) < 1 || (s.nodes as number) > 16))
      errors.push(`target.nodes: must be an integer from 1 to 16, not ${JSON.stringify(s.nodes)}`);
    if (s.flush !== undefined && s.flush !== 'sync' && s.flush !== 'async')
      errors.push(`target.flush: must be sync or async, not ${JSON.stringify(s.flush)}`);
    const interval = s.flushIntervalMs;
    if (
      interval !== undefined &&
      (!Number.isInteger(interval) || (interval as number) < 1 || (interval as number) > 60_000)
    )
      errors.push(`target.flushIntervalMs: must be an integer from 1 to 60000, not ${JSON.stringify(interval)}`);
    if (
      s.shards !== undefined &&
      (!Number.isInteger(s.shards) || (s.shards as number) < 1 || (s.shards as number) > 64)
    )
      errors.push(`target.shards: must be an integer from 1 to 64, not ${JSON.stringify(s.shards)}`);
    return errors;
  }
  errors.push(...endpointErrors('endpoint', s.endpoint).map((e) => `target.${e}`));
  for (const k of ['accessKey', 'secretKey', 'namespace', 'adminEndpoint', 'namesrv'])
    if (s[k] !== undefined && typeof s[k] !== 'string') errors.push(`target.${k}: must be a string`);
  if (s.tls !== undefined && typeof s.tls !== 'boolean') errors.push('target.tls: must be true or false');
  if ((s.accessKey === undefined) !== (s.secretKey === undefined))
    errors.push('target.accessKey, target.secretKey: give both or neither');
  if (typeof s.adminEndpoint === 'string' && !/^https?:\/\//i.test(s.adminEndpoint))
    errors.push(...endpointErrors('adminEndpoint', s.adminEndpoint).map((e) => `target.${e}`));
  if (typeof s.namesrv === 'string') errors.push(...endpointErrors('namesrv', s.namesrv).map((e) => `target.${e}`));
  if (s.namesrv !== undefined && s.adminEndpoint !== undefined)
    errors.push('target.namesrv, target.adminEndpoint: give one admin path, not both');
  return errors;
}

/** Validates, then starts the target. Invalid spec: CliError (exit 3); a node that does not boot: exit 4. */
export async function startTarget(spec: TargetSpec, runtime: TargetRuntime = {}): Promise<Target> {
  const errors = validateTargetSpec(spec);
  if (errors.length) throw new CliError(`invalid target:\n  ${errors.join('\n  ')}`, ExitCode.INVALID_SPEC);
  if (spec.kind === 'external') {
    const { kind: _kind, ...rest } = spec;
    return externalTarget({ ...rest, log: runtime.log, ...(runtime.dataDir ? { dataDir: runtime.dataDir } : {}) });
  }
  if (spec.kind === 'containers') {
    return startContainersTarget({
      broker: spec.broker ?? 'bundled',
      nodes: spec.nodes ?? 1,
      flush: spec.flush ?? 'sync',
      ...(runtime.config ? { config: runtime.config as Record<string, unknown> } : {}),
      ...(runtime.log ? { log: runtime.log } : {}),
      ...(runtime.dataDir ? { dir: runtime.dataDir } : {}),
    });
  }
  if (spec.kind === 'rocketmq') {
    return startRocketmqTarget({
      flush: spec.flush ?? 'sync',
      ...(runtime.dataDir ? { dataDir: runtime.dataDir } : {}),
      ...(runtime.proxied ? { proxied: runtime.proxied } : {}),
      ...(runtime.log ? { log: runtime.log } : {}),
    });
  }
  return startBundledTarget({
    nodes: spec.nodes ?? 1,
    ...(spec.shards === undefined ? {} : { shards: spec.shards }),
    flush: spec.flush ?? 'sync',
    dataDir: runtime.dataDir,
    proxied: runtime.proxied,
    config:
      spec.flushIntervalMs === undefined
        ? runtime.config
        : { ...runtime.config, flushIntervalMs: spec.flushIntervalMs },
    log: runtime.log,
  });
}

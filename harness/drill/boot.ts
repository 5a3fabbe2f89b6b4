/**
 * Boots a drill's target: for `bundled`, a real toxiproxy-server first, then the broker nodes, each advertising the
 * address of its own proxy (so all client traffic after route discovery passes through Toxiproxy); for `external`,
 * the endpoint as given. Returns the fault injectors the target supports and one stop() for everything.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import type { ExtraBrokerConfig } from '../deploy/bundled.ts';
import { ContainerNetworkFaults } from '../deploy/containers/net-faults.ts';
import type { ContainersTarget } from '../deploy/containers/target.ts';
import { externalNodeName } from '../deploy/external.ts';
import { startTarget, type TargetLog, type TargetSpec } from '../deploy/index.ts';
import { ROCKETMQ_BROKER_NODE, type RocketmqTarget } from '../deploy/rocketmq/target.ts';
import type { Target } from '../deploy/types.ts';
import { type FaultInjectors, NetworkFaults, ProcessFaults, ToxiproxyServer } from '../faults/index.ts';
import type { FaultKind } from '../faults/model.ts';
import { toolPath } from '../setup/index.ts';
import type { DrillSpec } from './spec.ts';

export interface BootedTarget {
  target: Target;
  injectors: FaultInjectors;
  /** Heals what the injectors hold, stops the target and the proxy server; safe to call twice. */
  stop(): Promise<void>;
}

/** `extra`: more bundled broker config for every node (capacity's test-only testOnlySendDelayMs); others ignore it. */
export type BootTarget = (
  spec: DrillSpec,
  out: string,
  say: (line: string) => void,
  extra?: ExtraBrokerConfig,
) => Promise<BootedTarget>;

/** The toxiproxy-server binary, installed through `mqdrill setup --only toxiproxy` when it is missing. */
export async function ensureToxiproxy(say: (line: string) => void): Promise<void> {
  try {
    if (existsSync(toolPath('toxiproxy-server'))) return;
  } catch {
    // missing: install below
  }
  say('toxiproxy-server is missing: running `mqdrill setup --only toxiproxy` (needs Go; once per checkout)');
  const { runSetupCommand } = await import('../setup/cli.ts');
  const code = await runSetupCommand({ only: 'toxiproxy' });
  if (code !== ExitCode.OK) {
    throw new CliError(
      'could not install toxiproxy-server; run `mqdrill setup` and see its output',
      ExitCode.SETUP_MISSING,
    );
  }
}

/** Whether the drill's schedule can inject a fault of this kind (timed, or drawn by a random batch). */
function schedules(spec: DrillSpec, kind: FaultKind): boolean {
  return spec.faults.some((entry) =>
    entry.type === 'timed' ? entry.fault.kind === kind : entry.templates.some((t) => t.fault.kind === kind),
  );
}

/** Extra bundled broker config: the canary, and the power-loss journal when the schedule can cut power. */
function brokerConfig(spec: DrillSpec, extra: ExtraBrokerConfig = {}): ExtraBrokerConfig | undefined {
  const cutsPower = schedules(spec, 'power-loss');
  const config: ExtraBrokerConfig = {
    ...extra,
    ...(spec.target.canary ? { canary: spec.target.canary } : {}),
    ...(cutsPower ? { powerLossJournal: true } : {}),
  };
  return Object.keys(config).length > 0 ? config : undefined;
}

export const bootTarget: BootTarget = async (spec, out, say, extra) => {
  const log: TargetLog = (level, msg, fields) => {
    if (level !== 'info') say(`target ${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  };
  if (spec.target.spec.kind === 'containers') return bootContainers(spec, out, log, say);
  await ensureToxiproxy(say);
  const server = await ToxiproxyServer.start();
  const network = new NetworkFaults(server);
  if (spec.target.spec.kind === 'external') return bootExternal(spec.target.spec, server, network, log);
  let target: Target | undefined;
  try {
    target = await startTarget(spec.target.spec, {
      dataDir: join(out, 'target'),
      proxied: async (name, direct) => (await network.createProxy({ name, upstream: direct })).listen,
      ...(brokerConfig(spec, extra) ? { config: brokerConfig(spec, extra) } : {}),
      log,
    });
    if (target.kind === 'rocketmq') target = await withRemotingProxy(target as RocketmqTarget, network);
  } catch (err) {
    await target?.stop().catch(() => undefined);
    await server.close();
    throw err;
  }
  return booted(target, network, () => server.close());
};

/** The network injector a target was booted with: it heals whatever it still holds before the target stops. */
type BootNetwork = NonNullable<FaultInjectors['network']> & { healAll(): Promise<void> };

/**
 * The booted target with its injectors (network, and process faults where the target has processes) and one stop,
 * safe to call twice: heal the network faults still held, stop the target, then `after` (the proxy server).
 */
function booted(target: Target, network: BootNetwork, after?: () => Promise<void>): BootedTarget {
  const injectors: FaultInjectors = { network };
  const process = processInjector(target);
  if (process) injectors.process = process;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await network.healAll().catch(() => {});
    await target.stop();
    await after?.();
  };
  return { target, injectors, stop };
}

function processInjector(target: Target): ProcessFaults | undefined {
  const processes = target.processes;
  if (processes) {
    return new ProcessFaults({
      kill: (node, signal) => processes.kill(node, signal as Parameters<typeof processes.kill>[1]),
      restart: (node) => processes.restart(node),
      ...(processes.loseUnsyncedWrites
        ? {
            loseUnsyncedWrites: (node: string) =>
              (processes.loseUnsyncedWrites as (n: string) => Promise<number>)(node),
          }
        : {}),
      nodes: () => target.nodes.map((n) => n.name),
    });
  }
  return undefined;
}

/**
 * Containers: no Toxiproxy. Network faults act inside each container's network namespace (tc, iptables), so every
 * route's address is covered; process faults are docker pause/unpause, stop/start and kill.
 */
async function bootContainers(
  spec: DrillSpec,
  out: string,
  log: TargetLog,
  say: (line: string) => void,
): Promise<BootedTarget> {
  const target = (await startTarget(spec.target.spec, {
    dataDir: join(out, 'target'),
    ...(brokerConfig(spec) ? { config: brokerConfig(spec) } : {}),
    log,
  })) as ContainersTarget;
  // What a killed harness may leave is found by this label (the stop removes it all).
  say(`containers run ${target.runId}: containers, network and volumes labelled mqdrill.run=${target.runId}`);
  const network = containerNetworkFaults(target);
  try {
    if (schedules(spec, 'latency')) await network.prepareLatency();
  } catch (err) {
    await network.healAll();
    await target.stop().catch(() => undefined);
    throw err;
  }
  return booted(target, network);
}

/** The network injector of a containers target: tc and iptables in its nodes' namespaces. */
export function containerNetworkFaults(target: ContainersTarget): ContainerNetworkFaults {
  return new ContainerNetworkFaults({
    nodeNames: () => target.containers.map((c) => c.name),
    ipOf: (node) => target.containers.find((c) => c.name === node)?.ip ?? '',
    servicePortOf: (node) => Number(target.nodes.find((n) => n.name === node)?.directEndpoint.split(':')[1] ?? 8081),
    pidOf: (node) => target.pidOf(node),
  });
}

/**
 * RocketMQ's broker registers its own remoting address (brokerIP1:listenPort) with the name server, and remoting
 * clients dial what the name server returns. A proxy `broker-0.remoting` goes in front of that port (network faults on
 * broker-0 act on it too), and the access names it in remotingRoutes: the remoting driver dials the proxy instead.
 */
export async function withRemotingProxy(target: RocketmqTarget, network: NetworkFaults): Promise<RocketmqTarget> {
  const direct = target.mq.brokerAddr;
  const proxy = await network.createProxy({ name: `${ROCKETMQ_BROKER_NODE}.remoting`, upstream: direct });
  return { ...target, access: { ...target.access, remotingRoutes: { [direct]: proxy.listen } } };
}

/**
 * External: clients reach the endpoint through a proxy named `external`, so network faults act on every connection
 * to the access point. RocketMQ routes may name other addresses (a RocketMQ proxy in cluster mode advertises the
 * request's host with its own port unless useEndpointPortFromRequest is set); traffic to those bypasses the proxy.
 */
async function bootExternal(
  spec: Extract<TargetSpec, { kind: 'external' }>,
  server: ToxiproxyServer,
  network: NetworkFaults,
  log: TargetLog,
): Promise<BootedTarget> {
  let target: Target;
  try {
    const proxy = await network.createProxy({ name: externalNodeName, upstream: spec.endpoint });
    target = await startTarget({ ...spec, endpoint: proxy.listen }, { log });
  } catch (err) {
    await server.close();
    throw err;
  }
  return booted(target, network, () => server.close());
}

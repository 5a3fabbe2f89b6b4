/**
 * The `rocketmq` target: a real Apache RocketMQ 5.3.3 (startRocketMq: name server + broker with its gRPC proxy in
 * LOCAL mode) and one long-lived admin JVM for provisioning, backlog and counters. Nodes: `broker-0` (the broker +
 * proxy JVM; its client-facing endpoint is the fault proxy when the drill puts one in front) and `namesrv-0` (the
 * name server; process faults only: clients never dial it over gRPC).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TargetLog } from '../node-process.ts';
import type { Backlog, BrokerNode, GroupSpec, ProcessControl, Target, TopicSpec } from '../types.ts';
import { RocketmqAdmin } from './admin.ts';
import { type RocketMq, type RocketMqNode, startRocketMq } from './launcher.ts';

export interface RocketmqTargetOptions {
  flush?: 'sync' | 'async';
  /** Folder for the deployment (configs, store, logs); omitted: a temp folder that stop() removes. */
  dataDir?: string;
  /** The client-facing address for the broker's gRPC endpoint (a Toxiproxy proxy); undefined = direct. */
  proxied?: (nodeName: string, directEndpoint: string) => Promise<string | undefined> | string | undefined;
  log?: TargetLog;
  readyTimeoutMs?: number;
}

export interface RocketmqTarget extends Target {
  readonly kind: 'rocketmq';
  readonly processes: ProcessControl & { nodes(): readonly string[] };
  readonly mq: RocketMq;
  readonly admin: RocketmqAdmin;
}

export const ROCKETMQ_BROKER_NODE = 'broker-0';
export const ROCKETMQ_NAMESRV_NODE = 'namesrv-0';

export async function startRocketmqTarget(opts: RocketmqTargetOptions): Promise<RocketmqTarget> {
  const ownsDir = opts.dataDir === undefined;
  const dir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-rocketmq-'));
  const log: TargetLog = opts.log ?? (() => {});
  let mq: RocketMq | undefined;
  try {
    mq = await startRocketMq({
      dir,
      logDir: path.join(dir, 'logs'),
      flush: opts.flush ?? 'sync',
      log,
      ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
      ...(opts.proxied ? { advertise: (direct: string) => opts.proxied?.(ROCKETMQ_BROKER_NODE, direct) } : {}),
    });
    const admin = await RocketmqAdmin.start({ namesrv: mq.namesrv, dir: path.join(dir, 'logs') });
    return assemble(mq, admin, dir, ownsDir);
  } catch (err) {
    await mq?.stop().catch(() => undefined);
    if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function assemble(mq: RocketMq, admin: RocketmqAdmin, dir: string, ownsDir: boolean): RocketmqTarget {
  const killAdmin = () => admin.killNow();
  process.once('exit', killAdmin);
  const nodes: BrokerNode[] = [
    {
      name: ROCKETMQ_BROKER_NODE,
      endpoint: mq.grpcEndpoint,
      directEndpoint: mq.directGrpcEndpoint,
      dataDir: dir,
      logFile: path.join(mq.logDir, 'broker.log'),
    },
    {
      name: ROCKETMQ_NAMESRV_NODE,
      endpoint: mq.namesrv,
      directEndpoint: mq.namesrv,
      logFile: path.join(mq.logDir, 'namesrv.log'),
    },
  ];
  const nodeOf = (name: string): RocketMqNode => {
    if (name === ROCKETMQ_BROKER_NODE) return 'broker';
    if (name === ROCKETMQ_NAMESRV_NODE) return 'namesrv';
    throw new Error(`rocketmq target: no node ${name} (nodes: ${ROCKETMQ_BROKER_NODE}, ${ROCKETMQ_NAMESRV_NODE})`);
  };
  let stopped = false;
  return {
    kind: 'rocketmq',
    nodes,
    mq,
    admin,
    access: { endpoint: mq.grpcEndpoint, tls: false, namespace: '', namesrv: mq.namesrv },
    provision: (topics: TopicSpec[], groups: GroupSpec[]) => admin.provision(topics, groups),
    backlog: (groups: string[]): Promise<Backlog[]> => admin.backlog(groups),
    counters: () => admin.counters(),
    processes: {
      kill: (node, signal) => mq.kill(nodeOf(node), signal),
      async restart(node) {
        await mq.restart(nodeOf(node));
        // A restarted broker registers with the name server again; the admin's calls need it there.
        if (nodeOf(node) === 'broker' || nodeOf(node) === 'namesrv') await admin.waitForBroker();
      },
      nodes: () => [ROCKETMQ_BROKER_NODE, ROCKETMQ_NAMESRV_NODE],
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await admin.close().catch(() => undefined);
      process.removeListener('exit', killAdmin);
      await mq.stop();
      if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The external target: a RocketMQ 5 gRPC endpoint someone else runs, with optional credentials. No processes (so no
 * process faults; network faults are client-side only). Topics and groups are its owners' business: provision() is
 * a no-op with a note, unless `adminEndpoint` points at an mqdrill broker's admin API or `namesrv` at a RocketMQ
 * name server (then one long-lived RocketMQ admin JVM, started on first use); either also answers backlog() and
 * counters().
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type AdminClient,
  adminBaseUrl,
  basicAuthorization,
  nodeBacklog,
  nodeCounters,
  provisionNode,
} from './admin.ts';
import type { TargetLog } from './node-process.ts';
import { RocketmqAdmin } from './rocketmq/admin.ts';
import type { Backlog, GroupSpec, Target, TopicSpec } from './types.ts';

export interface ExternalTargetOptions {
  /** host:port of the gRPC access point. */
  endpoint: string;
  accessKey?: string;
  secretKey?: string;
  tls?: boolean;
  namespace?: string;
  /** An mqdrill broker's admin API (`host:port` or `http(s)://...`); without it provisioning is left to the owners. */
  adminEndpoint?: string;
  /** A RocketMQ name server (host:port) for RocketMQ's admin API. */
  namesrv?: string;
  /** Folder for the RocketMQ admin JVM's log (with namesrv); default a temp folder. */
  dataDir?: string;
  log?: TargetLog;
}

export const externalNodeName = 'external';

export function externalTarget(opts: ExternalTargetOptions): Target {
  const errors = externalOptionErrors(opts);
  if (errors.length) throw new Error(`external target: ${errors.join('; ')}`);
  const log: TargetLog = opts.log ?? (() => {});
  const credentials =
    opts.accessKey !== undefined && opts.secretKey !== undefined
      ? { accessKey: opts.accessKey, secretKey: opts.secretKey }
      : undefined;
  const admin: AdminClient | undefined = opts.adminEndpoint
    ? {
        name: `${externalNodeName} admin`,
        baseUrl: adminBaseUrl(opts.adminEndpoint),
        authorization: credentials && basicAuthorization(credentials.accessKey, credentials.secretKey),
      }
    : undefined;
  let noted = false;
  let rocketmq: Promise<RocketmqAdmin> | undefined;
  const rocketmqAdmin = (): Promise<RocketmqAdmin> | undefined => {
    if (opts.namesrv === undefined) return undefined;
    const dir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-external-'));
    fs.mkdirSync(dir, { recursive: true });
    rocketmq ??= RocketmqAdmin.start({ namesrv: opts.namesrv, dir });
    return rocketmq;
  };
  const noAdmin = (what: string) => {
    if (noted) return;
    noted = true;
    log('warn', `external target without namesrv or adminEndpoint: not provisioning; ${what}`);
  };
  return {
    kind: 'external',
    nodes: [{ name: externalNodeName, endpoint: opts.endpoint, directEndpoint: opts.endpoint }],
    access: {
      endpoint: opts.endpoint,
      tls: opts.tls ?? false,
      namespace: opts.namespace ?? '',
      credentials,
      ...(opts.namesrv ? { namesrv: opts.namesrv } : {}),
    },
    async provision(topics: TopicSpec[], groups: GroupSpec[]): Promise<void> {
      if (admin) return provisionNode(admin, topics, groups);
      const rmq = rocketmqAdmin();
      if (rmq) return (await rmq).provision(topics, groups);
      const topicList = topics.map((t) => `${t.name} (${t.type}, ${t.queues} queues)`).join(', ');
      noAdmin(
        `its owners must create: topics ${topicList}; ` +
          `groups ${groups.map((g) => `${g.name}${g.fifo ? ' (FIFO)' : ''}`).join(', ')}. Without an admin path it ` +
          'cannot read the backlog or the counters either: the drain waits on the ledger alone',
      );
    },
    async backlog(groups: string[]): Promise<Backlog[] | undefined> {
      if (admin) return nodeBacklog(admin, groups);
      const rmq = rocketmqAdmin();
      return rmq ? (await rmq).backlog(groups) : undefined;
    },
    async counters(): Promise<Record<string, number> | undefined> {
      if (admin) return nodeCounters(admin);
      const rmq = rocketmqAdmin();
      return rmq ? (await rmq).counters() : undefined;
    },
    async stop(): Promise<void> {
      if (rocketmq) await (await rocketmq.catch(() => undefined))?.close();
    },
  };
}

const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** Empty when `value` is host:port with a port from 1 to 65535; otherwise one error naming `what`. */
export function endpointErrors(what: string, value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [`${what} is required (host:port)`];
  const m = hostPort.exec(value);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) return [`${what} "${value}" is not host:port`];
  return [];
}

export function externalOptionErrors(opts: ExternalTargetOptions): string[] {
  const errors = endpointErrors('endpoint', opts.endpoint);
  if ((opts.accessKey === undefined) !== (opts.secretKey === undefined))
    errors.push('accessKey and secretKey go together: give both or neither');
  if (opts.adminEndpoint !== undefined && !/^https?:\/\//i.test(opts.adminEndpoint))
    errors.push(...endpointErrors('adminEndpoint', opts.adminEndpoint));
  if (opts.namesrv !== undefined) errors.push(...endpointErrors('namesrv', opts.namesrv));
  return errors;
}

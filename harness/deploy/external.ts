/**
 * The external target: a RocketMQ 5 gRPC endpoint someone else runs, with optional credentials. No processes (so no
 * process faults; network faults are client-side only). Topics and groups are its owners' business: provision() is
 * a no-op with a note, unless `adminEndpoint` points at an mqdrill broker's admin API, which then also answers
 * backlog() and counters().
 */
import {
  type AdminClient,
  adminBaseUrl,
  basicAuthorization,
  nodeBacklog,
  nodeCounters,
  provisionNode,
} from './admin.ts';
import type { TargetLog } from './node-process.ts';
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
  return {
    kind: 'external',
    nodes: [{ name: externalNodeName, endpoint: opts.endpoint, directEndpoint: opts.endpoint }],
    access: { endpoint: opts.endpoint, tls: opts.tls ?? false, namespace: opts.namespace ?? '', credentials },
    async provision(topics: TopicSpec[], groups: GroupSpec[]): Promise<void> {
      if (admin) return provisionNode(admin, topics, groups);
      if (!noted) {
        noted = true;
        log('info', 'external target: not provisioning; its owners must create these topics and groups', {
          topics: topics.map((t) => `${t.name} (${t.type}, ${t.queues} queues)`),
          groups: groups.map((g) => g.name),
        });
      }
    },
    async backlog(groups: string[]): Promise<Backlog[] | undefined> {
      return admin ? nodeBacklog(admin, groups) : undefined;
    },
    async counters(): Promise<Record<string, number> | undefined> {
      return admin ? nodeCounters(admin) : undefined;
    },
    async stop(): Promise<void> {},
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
  return errors;
}

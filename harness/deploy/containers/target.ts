/**
 * The `containers` target: brokers as containers on a Docker network of their own, reached from the host at their
 * container addresses (the bridge network is routed to the host, so routes name addresses clients can dial).
 *
 *   bundled:  N containers of the mqdrill-broker image (broker-0..N-1), each knowing the others as peers.
 *   rocketmq: a name server container (namesrv-0) and N broker+proxy containers (broker-0..N-1, one broker group
 *             each, cluster DefaultCluster), from the mqdrill-rocketmq image.
 *
 * The network gets its own /24 subnet and every container a fixed address in it, so a stopped and started container
 * comes back at the address its routes and peers name. Each node's data lives on a named volume (/data) that
 * survives stop/start. Everything created carries the owner and run labels (docker.ts); stop() and a failed boot
 * sweep by label, and a process `exit` handler does the same synchronously on Ctrl-C or a crash.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type AdminClient,
  adminBaseUrl,
  nodeBacklog,
  nodeCounters,
  provisionNode,
  sumBacklogs,
  sumCounters,
} from '../admin.ts';
import { TargetBootError, type TargetLog } from '../node-process.ts';
import { RocketmqAdmin } from '../rocketmq/admin.ts';
import { JAVA17_OPENS } from '../rocketmq/launcher.ts';
import type { Backlog, BrokerNode, GroupSpec, ProcessControl, Target, TopicSpec } from '../types.ts';
import { docker, OWNER_LABEL, RUN_LABEL, sweep } from './docker.ts';
import { ensureImages } from './images.ts';

export type ContainerBroker = 'bundled' | 'rocketmq';

export interface ContainersTargetOptions {
  broker: ContainerBroker;
  nodes: number;
  flush?: 'sync' | 'async';
  /** Names the containers, network and volumes; default a random id. */
  runId?: string;
  log?: TargetLog;
  /** Per node; default 60 s (bundled) or 240 s (rocketmq). */
  readyTimeoutMs?: number;
  /** Extra bundled broker config (canary, powerLossJournal...). */
  config?: Record<string, unknown>;
  /** Randomness for the subnet pick (injected in tests). */
  random?: () => number;
  /** Where the RocketMQ admin JVM keeps its log; default a temp folder. */
  dir?: string;
}

export interface ContainerNode {
  name: string;
  container: string;
  ip: string;
  volume: string;
}

export interface ContainersTarget extends Target {
  readonly kind: 'containers';
  readonly broker: ContainerBroker;
  readonly runId: string;
  readonly network: string;
  readonly subnet: string;
  /** Every container, the name server included. */
  readonly containers: readonly ContainerNode[];
  readonly processes: ProcessControl & { nodes(): readonly string[] };
  /** The PID of a running container's first process (its network namespace), for network faults. */
  pidOf(node: string): Promise<number>;
}

const BROKER_PORT = 8081;
const NAMESRV_PORT = 9876;
const REMOTING_PORT = 10911;
const STOP_GRACE_S = 15;

export async function startContainersTarget(opts: ContainersTargetOptions): Promise<ContainersTarget> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 8)
    throw new Error(`containers target: nodes must be an integer from 1 to 8, not ${opts.nodes}`);
  const log: TargetLog = opts.log ?? (() => {});
  const random = opts.random ?? Math.random;
  const runId = opts.runId ?? `c${Math.floor(random() * 36 ** 6).toString(36)}`;
  const [, image] = (await ensureImages([opts.broker], (line) => log('info', line))).map((i) => i.tag);
  if (!image) throw new Error('containers target: no image was built');
  const sweepOnExit = () => sweepSync(runId);
  process.once('exit', sweepOnExit);
  try {
    const { network, subnet, prefix } = await createNetwork(runId, random);
    const ctx: Ctx = { runId, network, prefix, image, log, opts, sweepOnExit, subnet, containers: [] };
    if (opts.broker === 'bundled') await bootBundled(ctx);
    else await bootRocketmq(ctx);
    return await assemble(ctx);
  } catch (err) {
    await sweep(runId).catch((e) => log('error', 'cleanup after a failed boot left objects', { error: String(e) }));
    process.removeListener('exit', sweepOnExit);
    throw err;
  }
}

interface Ctx {
  runId: string;
  network: string;
  subnet: string;
  /** The first three octets of the subnet. */
  prefix: string;
  image: string;
  log: TargetLog;
  opts: ContainersTargetOptions;
  sweepOnExit: () => void;
  containers: ContainerNode[];
  admin?: RocketmqAdmin;
  adminDir?: string;
}

function labels(runId: string): string[] {
  return ['--label', OWNER_LABEL, '--label', `${RUN_LABEL}=${runId}`];
}

/** A user-defined bridge network with a /24 of its own (fixed addresses need a configured subnet). */
async function createNetwork(runId: string, random: () => number) {
  const network = `mqdrill-${runId}`;
  let lastError: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    const prefix = `10.${200 + Math.floor(random() * 50)}.${Math.floor(random() * 256)}`;
    const subnet = `${prefix}.0/24`;
    try {
      await docker(['network', 'create', '--driver', 'bridge', '--subnet', subnet, ...labels(runId), network]);
      return { network, subnet, prefix };
    } catch (err) {
      lastError = err; // the subnet overlaps another network: try another
    }
  }
  throw new Error(`containers target: could not create network ${network}: ${String(lastError)}`);
}

/** `docker create` for one node, with its volume, fixed address and labels. */
async function createContainer(ctx: Ctx, node: ContainerNode, args: string[]): Promise<void> {
  await docker(['volume', 'create', ...labels(ctx.runId), node.volume]);
  await docker([
    'create',
    '--name',
    node.container,
    '--hostname',
    node.name,
    '--network',
    ctx.network,
    '--ip',
    node.ip,
    '-v',
    `${node.volume}:/data`,
    ...labels(ctx.runId),
    ...args,
  ]);
  ctx.containers.push(node);
}

function nodeOf(ctx: Ctx, name: string, index: number): ContainerNode {
  return {
    name,
    container: `mqdrill-${ctx.runId}-${name}`,
    ip: `${ctx.prefix}.${10 + index}`,
    volume: `mqdrill-${ctx.runId}-${name}`,
  };
}

async function bootBundled(ctx: Ctx): Promise<void> {
  const nodes = Array.from({ length: ctx.opts.nodes }, (_, i) => nodeOf(ctx, `broker-${i}`, i));
  for (const node of nodes) {
    const peers = nodes.filter((n) => n !== node).map((n) => ({ name: n.name, endpoint: `${n.ip}:${BROKER_PORT}` }));
    const env = {
      MQDRILL_NAME: node.name,
      MQDRILL_ADVERTISE: `${node.ip}:${BROKER_PORT}`,
      MQDRILL_FLUSH: ctx.opts.flush ?? 'sync',
      MQDRILL_CONFIG: JSON.stringify({ ...ctx.opts.config, peers }),
    };
    await createContainer(ctx, node, [...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ctx.image]);
  }
  await docker(['start', ...nodes.map((n) => n.container)]);
  const timeoutMs = ctx.opts.readyTimeoutMs ?? 60_000;
  await Promise.all(nodes.map((n) => waitReady(ctx, n, timeoutMs)));
}

function jvmArgs(heapMb: number): string[] {
  return [
    'java',
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseG1GC',
    '-XX:-OmitStackTraceInFastThrow',
    ...JAVA17_OPENS,
    '-Duser.home=/data/home',
    '-Drocketmq.home.dir=/opt/rocketmq',
    '-cp',
    '/opt/rocketmq/classes:/opt/rocketmq/lib/*',
  ];
}

async function bootRocketmq(ctx: Ctx): Promise<void> {
  const ns = nodeOf(ctx, 'namesrv-0', 0);
  const namesrvAddr = `${ns.ip}:${NAMESRV_PORT}`;
  await createContainer(ctx, ns, [
    '-e',
    'ROCKETMQ_HOME=/opt/rocketmq',
    ctx.image,
    ...jvmArgs(256),
    '-Drmq.logback.configurationFile=rmq.namesrv.logback.xml',
    'org.apache.rocketmq.namesrv.NamesrvStartup',
  ]);
  const brokers = Array.from({ length: ctx.opts.nodes }, (_, i) => nodeOf(ctx, `broker-${i}`, i + 1));
  const conf = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-containers-conf-'));
  try {
    for (const [i, b] of brokers.entries()) {
      await createContainer(ctx, b, [
        '-e',
        'ROCKETMQ_HOME=/opt/rocketmq',
        ctx.image,
        ...jvmArgs(512),
        '-XX:MaxDirectMemorySize=512m',
        '-Drmq.logback.configurationFile=rmq.proxy.logback.xml',
        'mqdrill.rocketmq.ProxyLauncher',
        ...['-n', namesrvAddr, '-pm', 'local', '-bc', '/conf/broker.conf', '-pc', '/conf/rmq-proxy.json'],
      ]);
      const dir = path.join(conf, b.name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'broker.conf'), brokerConf(ctx, b, i, namesrvAddr));
      fs.writeFileSync(path.join(dir, 'rmq-proxy.json'), proxyJson(b, namesrvAddr));
      await docker(['cp', `${dir}/.`, `${b.container}:/conf`]);
    }
  } finally {
    fs.rmSync(conf, { recursive: true, force: true });
  }
  const timeoutMs = ctx.opts.readyTimeoutMs ?? 240_000;
  await docker(['start', ns.container]);
  await waitReady(ctx, ns, timeoutMs);
  await docker(['start', ...brokers.map((b) => b.container)]);
  await Promise.all(brokers.map((b) => waitReady(ctx, b, timeoutMs)));
  ctx.adminDir = ctx.opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-containers-admin-'));
  ctx.admin = await RocketmqAdmin.start({ namesrv: namesrvAddr, dir: ctx.adminDir, brokers: ctx.opts.nodes });
}

function brokerConf(ctx: Ctx, b: ContainerNode, i: number, namesrvAddr: string): string {
  const conf: Record<string, string | number | boolean> = {
    brokerClusterName: 'DefaultCluster',
    brokerName: `broker-${String.fromCharCode(97 + i)}`,
    brokerId: 0,
    brokerRole: 'ASYNC_MASTER',
    flushDiskType: (ctx.opts.flush ?? 'sync') === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
    namesrvAddr,
    brokerIP1: b.ip,
    listenPort: REMOTING_PORT,
    storePathRootDir: '/data/store',
    storePathCommitLog: '/data/store/commitlog',
    autoCreateTopicEnable: false,
    autoCreateSubscriptionGroup: true,
    enablePropertyFilter: true,
    fileReservedTime: 1,
    waitTimeMillsInSendQueue: 1000,
    mappedFileSizeCommitLog: 134217728,
  };
  return `${Object.entries(conf)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

function proxyJson(b: ContainerNode, namesrvAddr: string): string {
  const json = {
    rocketMQClusterName: 'DefaultCluster',
    namesrvAddr,
    proxyMode: 'LOCAL',
    grpcServerPort: BROKER_PORT,
    remotingListenPort: 8080,
    localServeAddr: b.ip,
    remotingAccessAddr: b.ip,
    grpcShutdownTimeSeconds: 3,
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

async function containerState(container: string): Promise<{ running: boolean; paused: boolean; pid: number }> {
  const out = await docker(['inspect', '--format', '{{.State.Running}} {{.State.Paused}} {{.State.Pid}}', container]);
  const [running, paused, pid] = out.trim().split(' ');
  return { running: running === 'true', paused: paused === 'true', pid: Number(pid) };
}

/** Ready: bundled answers its admin API; RocketMQ printed its boot line since `sinceIso`. */
async function waitReady(ctx: Ctx, node: ContainerNode, timeoutMs: number, sinceIso?: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const readyLine = node.name.startsWith('namesrv')
    ? 'The Name Server boot success'
    : 'rocketmq-proxy startup successfully';
  for (;;) {
    if (ctx.opts.broker === 'bundled') {
      const admin: AdminClient = {
        name: node.name,
        baseUrl: adminBaseUrl(`${node.ip}:${BROKER_PORT}`),
        timeoutMs: 2000,
      };
      if (
        await nodeCounters(admin).then(
          () => true,
          () => false,
        )
      )
        return;
    } else {
      const logs = await docker(['logs', ...(sinceIso ? ['--since', sinceIso] : []), node.container]).catch(() => '');
      if (logs.includes(readyLine)) return;
      if (logs.includes('failed to start')) throw await bootError(node, 'the JVM reported a failed start');
    }
    const state = await containerState(node.container);
    if (!state.running) throw await bootError(node, 'the container exited before it was ready');
    if (performance.now() > deadline) throw await bootError(node, `not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function bootError(node: ContainerNode, reason: string): Promise<TargetBootError> {
  const tail = await docker(['logs', '--tail', '40', node.container]).catch((e) => String(e));
  return new TargetBootError(node.name, `${reason} (container ${node.container}; docker logs ${node.container})`, tail);
}

/** The synchronous last resort on process exit: remove everything of this run by label. */
function sweepSync(runId: string): void {
  const filter = ['--filter', `label=${RUN_LABEL}=${runId}`];
  const q = (args: string[]) => {
    try {
      return execFileSync('docker', args, { timeout: 30_000 }).toString().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const rm = (args: string[]) => {
    try {
      execFileSync('docker', args, { timeout: 60_000, stdio: 'ignore' });
    } catch {
      // best effort: the next run's sweep or `mqdrill containers sweep` finishes it
    }
  };
  const containers = q(['ps', '-aq', ...filter]);
  if (containers.length) rm(['rm', '-f', '-v', ...containers]);
  const networks = q(['network', 'ls', '-q', ...filter]);
  if (networks.length) rm(['network', 'rm', ...networks]);
  const volumes = q(['volume', 'ls', '-q', ...filter]);
  if (volumes.length) rm(['volume', 'rm', '-f', ...volumes]);
}

async function assemble(ctx: Ctx): Promise<ContainersTarget> {
  const brokers = ctx.containers.filter((c) => c.name.startsWith('broker-'));
  const nodes: BrokerNode[] = ctx.containers.map((c) => ({
    name: c.name,
    endpoint: `${c.ip}:${c.name.startsWith('namesrv') ? NAMESRV_PORT : BROKER_PORT}`,
    directEndpoint: `${c.ip}:${c.name.startsWith('namesrv') ? NAMESRV_PORT : BROKER_PORT}`,
  }));
  const admins: AdminClient[] = brokers.map((b) => ({ name: b.name, baseUrl: adminBaseUrl(`${b.ip}:${BROKER_PORT}`) }));
  const find = (name: string): ContainerNode => {
    if (stopped) throw new Error(`the containers target is stopped; cannot act on ${name}`);
    const c = ctx.containers.find((n) => n.name === name);
    if (!c)
      throw new Error(`containers target: no node ${name} (nodes: ${ctx.containers.map((n) => n.name).join(', ')})`);
    return c;
  };
  let stopped = false;
  const rocketmq = ctx.admin;
  return {
    kind: 'containers',
    broker: ctx.opts.broker,
    runId: ctx.runId,
    network: ctx.network,
    subnet: ctx.subnet,
    containers: ctx.containers,
    nodes,
    access: { endpoint: `${brokers[0]?.ip}:${BROKER_PORT}`, tls: false, namespace: '' },
    // Bundled nodes never call each other (each serves its own queues; peers only name each other in routes), and a
    // pair partition is probed at inject (net-faults.ts). RocketMQ's proxies, brokers and name server do talk.
    clientPathCrosses(a, b) {
      const known = (n: string) => ctx.containers.some((c) => c.name === n);
      return rocketmq || !known(a) || !known(b) ? undefined : false;
    },
    async provision(topics: TopicSpec[], groups: GroupSpec[]) {
      if (rocketmq) return rocketmq.provision(topics, groups);
      await Promise.all(admins.map((a) => provisionNode(a, topics, groups)));
    },
    async backlog(groups: string[]): Promise<Backlog[]> {
      if (rocketmq) return rocketmq.backlog(groups);
      return sumBacklogs(await Promise.all(admins.map((a) => nodeBacklog(a, groups))));
    },
    async counters() {
      if (rocketmq) return rocketmq.counters();
      return sumCounters(await Promise.all(admins.map((a) => nodeCounters(a))));
    },
    async pidOf(name) {
      const state = await containerState(find(name).container);
      if (!state.running || state.pid <= 0) throw new Error(`${name} is not running: it has no network namespace`);
      return state.pid;
    },
    processes: processControl(ctx, find),
    async stop() {
      if (stopped) return;
      stopped = true;
      await rocketmq?.close().catch(() => undefined);
      if (ctx.adminDir && !ctx.opts.dir) fs.rmSync(ctx.adminDir, { recursive: true, force: true });
      // The volumes go with the containers, so there is nothing to stop gracefully for: removed at once (-f).
      const removed = await sweep(ctx.runId);
      process.removeListener('exit', ctx.sweepOnExit);
      ctx.log('info', 'containers target stopped and swept', { runId: ctx.runId, ...countOf(removed) });
    },
  };
}

function countOf(l: { containers: string[]; networks: string[]; volumes: string[] }) {
  return { containers: l.containers.length, networks: l.networks.length, volumes: l.volumes.length };
}

function processControl(
  ctx: Ctx,
  find: (name: string) => ContainerNode,
): ProcessControl & { nodes(): readonly string[] } {
  const readyTimeoutMs = ctx.opts.readyTimeoutMs ?? (ctx.opts.broker === 'bundled' ? 60_000 : 240_000);
  return {
    nodes: () => ctx.containers.map((c) => c.name),
    async kill(name, signal) {
      const c = find(name);
      ctx.log('info', 'container signal', { node: name, signal, container: c.container });
      if (signal === 'SIGSTOP') return void (await docker(['pause', c.container]));
      if (signal === 'SIGCONT') return void (await docker(['unpause', c.container]));
      const state = await containerState(c.container);
      if (!state.running) return;
      if (state.paused) await docker(['unpause', c.container]);
      if (signal === 'SIGTERM') await docker(['stop', '-t', String(STOP_GRACE_S), c.container]);
      else await docker(['kill', '--signal', 'KILL', c.container]);
      await docker(['wait', c.container], { timeoutMs: 30_000 });
    },
    async restart(name) {
      const c = find(name);
      const state = await containerState(c.container);
      if (state.paused) await docker(['unpause', c.container]);
      if (state.running) await docker(['stop', '-t', String(STOP_GRACE_S), c.container]);
      const since = new Date(Date.now() - 1000).toISOString();
      await docker(['start', c.container]);
      await waitReady(ctx, c, readyTimeoutMs, since);
      if (ctx.admin) await ctx.admin.waitForBroker();
      ctx.log('info', 'container started again on its volume', { node: name });
    },
  };
}

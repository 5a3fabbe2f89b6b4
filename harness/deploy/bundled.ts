/**
 * The bundled target: N `mqdrill broker` child processes on loopback (broker-0..N-1), each with its own folder and
 * port, each knowing the others as peers, so the route any node answers lists every node's queues.
 *
 * Boot sequence (the fault layer needs each node to advertise its proxy before the node starts):
 *   1. reserve a free port per node (listen on 0, close) — the node's direct port, kept for every restart;
 *   2. ask `proxied(name, direct)` for each node's client-facing address (a Toxiproxy proxy, or the direct one);
 *   3. write each node's config (peers = the other nodes' client-facing addresses, plus any extra config), start
 *      every node with `--port <direct> --advertise <client-facing>`, wait (bounded) for every ready file.
 * A reserved port can be taken by another process before the broker binds it; when a node fails with EADDRINUSE
 * the whole boot is retried with fresh ports (and `proxied` is asked again, with the new direct address).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrokerConfig } from '../../broker/server.ts';
import { powerLossJournalPath, rollBackUnsyncedWrites } from '../../broker/store/file/power-loss-fs.ts';
import { freePort } from '../../lib/ports.ts';
import {
  type AdminClient,
  adminBaseUrl,
  nodeBacklog,
  nodeCounters,
  provisionNode,
  sumBacklogs,
  sumCounters,
} from './admin.ts';
import { BrokerNodeProcess, TargetBootError, type TargetLog } from './node-process.ts';
import type { Backlog, BrokerNode, GroupSpec, ProcessControl, Target, TopicSpec } from './types.ts';

/** Broker config keys the bundled target sets itself; everything else may be passed through `config`. */
type OwnedKeys = 'dataDir' | 'port' | 'host' | 'advertise' | 'brokerName' | 'peers' | 'flush' | 'adminPort';
export type ExtraBrokerConfig = Partial<Omit<BrokerConfig, OwnedKeys>>;

export interface BundledTargetOptions {
  nodes: number;
  /**
   * Shard processes per node (`mqdrill broker --shards N`); default 1. Process faults act on a node's whole process
   * group (SIGKILL kills every shard at once, like a crash of the machine's broker). Shards other than the first are
   * advertised at their direct address, so network faults through `proxied` reach only a node's first shard.
   */
  shards?: number;
  /** Parent folder; node i lives in <dataDir>/broker-i/{data,config.json,broker.log}. Omitted: a temp folder that
   *  stop() removes. A given folder is never removed. */
  dataDir?: string;
  flush?: 'sync' | 'async';
  /** The client-facing address for a node (e.g. a Toxiproxy proxy to directEndpoint); undefined = direct. */
  proxied?: (nodeName: string, directEndpoint: string) => Promise<string | undefined> | string | undefined;
  /** Passed to every node's config (e.g. `{canary: {dropAckedOneIn: 1000}}`). */
  config?: ExtraBrokerConfig;
  log?: TargetLog;
  /** Per node; default 30 s (cold start on a busy 2-core machine). */
  readyTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL; default 15 s (the broker forces its own exit after 10 s). */
  stopGraceMs?: number;
  /** Whole-cluster boot attempts when a reserved port was taken; default 3. */
  bootAttempts?: number;
}

export interface BundledTarget extends Target {
  readonly kind: 'bundled';
  readonly processes: ProcessControl;
  /** Never undefined here; throws naming a node that does not answer. */
  backlog(groups: string[]): Promise<Backlog[]>;
  counters(): Promise<Record<string, number>>;
  /** The parent folder of the node folders. */
  readonly dataDir: string;
}

const host = '127.0.0.1';
const nodesMax = 16;
const killWaitMs = 10_000;
const ownedKeys: OwnedKeys[] = ['dataDir', 'port', 'host', 'advertise', 'brokerName', 'peers', 'flush', 'adminPort'];

export async function startBundledTarget(opts: BundledTargetOptions): Promise<BundledTarget> {
  const errors = bundledOptionErrors(opts);
  if (errors.length) throw new Error(`bundled target: ${errors.join('; ')}`);
  const log: TargetLog = opts.log ?? (() => {});
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-bundled-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const attempts = opts.bootAttempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const nodes = await planNodes(opts, dataDir, log);
    const killAll = () => {
      for (const n of nodes) n.killNow();
    };
    process.once('exit', killAll);
    try {
      const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
      await Promise.all(nodes.map((n) => n.start(readyTimeoutMs)));
      const stopGraceMs = opts.stopGraceMs ?? 15_000;
      return assemble(nodes, { dataDir, ownsDir, log, killAll, stopGraceMs, readyTimeoutMs });
    } catch (err) {
      await Promise.all(nodes.map((n) => n.terminate(2000).then(() => n.closeLog())));
      process.removeListener('exit', killAll);
      const portTaken = nodes.some((n) => n.portWasTaken());
      if (portTaken && attempt < attempts) {
        log('warn', 'a reserved port was taken before a node bound it; booting again with fresh ports', { attempt });
        continue;
      }
      if (ownsDir) fs.rmSync(dataDir, { recursive: true, force: true });
      throw err instanceof TargetBootError ? err : new TargetBootError('bundled target', String(err), '');
    }
  }
}

export function bundledOptionErrors(opts: BundledTargetOptions): string[] {
  const errors: string[] = [];
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > nodesMax)
    errors.push(`nodes must be an integer from 1 to ${nodesMax}, not ${opts.nodes}`);
  const shards = opts.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > 64)
    errors.push(`shards must be an integer from 1 to 64, not ${opts.shards}`);
  // Each node's routes would name its own shards and only the first shard of every other node.
  if (shards > 1 && opts.nodes > 1) errors.push('shards > 1 needs nodes = 1 (one sharded broker)');
  if (opts.flush !== undefined && opts.flush !== 'sync' && opts.flush !== 'async')
    errors.push(`flush must be sync or async, not ${opts.flush}`);
  const clash = Object.keys(opts.config ?? {}).filter((k) => (ownedKeys as string[]).includes(k));
  if (clash.length) errors.push(`config may not set ${clash.join(', ')} (the bundled target sets them)`);
  return errors;
}

async function planNodes(opts: BundledTargetOptions, dataDir: string, log: TargetLog): Promise<BrokerNodeProcess[]> {
  const names = Array.from({ length: opts.nodes }, (_, i) => `broker-${i}`);
  const ports: number[] = [];
  while (ports.length < names.length) {
    const p = await freePort(host);
    if (!ports.includes(p)) ports.push(p);
  }
  const endpoints: string[] = [];
  for (const [i, name] of names.entries()) {
    const direct = `${host}:${ports[i]}`;
    endpoints.push((await opts.proxied?.(name, direct)) ?? direct);
  }
  return names.map((name, i) => {
    const peers = names.flatMap((peer, j) => (j === i ? [] : [{ name: peer, endpoint: endpoints[j] as string }]));
    return new BrokerNodeProcess(
      {
        name,
        host,
        port: ports[i] as number,
        folder: path.join(dataDir, name),
        advertise: endpoints[i] as string,
        flush: opts.flush ?? 'sync',
        shards: opts.shards ?? 1,
        config: { ...opts.config, peers },
      },
      log,
    );
  });
}

interface AssembleContext {
  dataDir: string;
  ownsDir: boolean;
  log: TargetLog;
  killAll: () => void;
  stopGraceMs: number;
  readyTimeoutMs: number;
  /** Set by stop(); process faults are refused after it. */
  stopped?: boolean;
}

function assemble(procs: BrokerNodeProcess[], ctx: AssembleContext): BundledTarget {
  const nodes: BrokerNode[] = procs.map((p) => ({
    name: p.name,
    endpoint: p.launch.advertise,
    directEndpoint: `${p.launch.host}:${p.launch.port}`,
    dataDir: p.dataDir,
    logFile: p.logFile,
  }));
  const admins: AdminClient[] = nodes.map((n) => ({ name: n.name, baseUrl: adminBaseUrl(n.directEndpoint) }));
  return {
    kind: 'bundled',
    nodes,
    dataDir: ctx.dataDir,
    access: { endpoint: nodes[0]?.endpoint as string, tls: false, namespace: '' },
    async provision(topics: TopicSpec[], groups: GroupSpec[]): Promise<void> {
      await Promise.all(admins.map((a) => provisionNode(a, topics, groups)));
    },
    async backlog(groups: string[]): Promise<Backlog[]> {
      return sumBacklogs(await Promise.all(admins.map((a) => nodeBacklog(a, groups))));
    },
    async counters(): Promise<Record<string, number>> {
      return sumCounters(await Promise.all(admins.map((a) => nodeCounters(a))));
    },
    processes: processControl(procs, ctx),
    async stop(): Promise<void> {
      if (ctx.stopped) return;
      ctx.stopped = true;
      const ends = await Promise.all(procs.map((p) => p.terminate(ctx.stopGraceMs)));
      await Promise.all(procs.map((p) => p.closeLog()));
      process.removeListener('exit', ctx.killAll);
      ctx.log('info', 'bundled target stopped', {
        exits: Object.fromEntries(procs.map((p, i) => [p.name, ends[i]?.code ?? ends[i]?.signal ?? 'not running'])),
      });
      if (ctx.ownsDir) fs.rmSync(ctx.dataDir, { recursive: true, force: true });
    },
  };
}

function processControl(procs: BrokerNodeProcess[], ctx: AssembleContext): ProcessControl {
  const find = (name: string): BrokerNodeProcess => {
    if (ctx.stopped) throw new Error(`the bundled target is stopped; cannot signal or restart ${name}`);
    const p = procs.find((n) => n.name === name);
    if (!p) throw new Error(`no node ${name} (nodes: ${procs.map((n) => n.name).join(', ')})`);
    return p;
  };
  return {
    async kill(node, signal): Promise<void> {
      const p = find(node);
      if (!p.running && (signal === 'SIGKILL' || signal === 'SIGTERM')) {
        ctx.log('warn', 'node already down; nothing to kill', { node, signal });
        return;
      }
      ctx.log('info', 'signalling node', { node, signal, pid: p.child?.pid });
      if (signal === 'SIGTERM') {
        await p.terminate(ctx.stopGraceMs);
        return;
      }
      p.signal(signal);
      if (signal === 'SIGKILL' && !(await p.waitExit(killWaitMs)))
        throw new Error(`${node} still running ${killWaitMs} ms after SIGKILL`);
    },
    async loseUnsyncedWrites(node): Promise<number> {
      const p = find(node);
      if (p.running) throw new Error(`${node} is running: a power cut rolls back the store of a node that is down`);
      const journal = powerLossJournalPath(p.dataDir);
      if (!fs.existsSync(journal)) {
        throw new Error(`${node} has no power-loss journal: its broker must run with powerLossJournal: true`);
      }
      const report = rollBackUnsyncedWrites(journal);
      ctx.log('info', 'power cut: store rolled back to its last fsyncs', { node, bytesLost: report.bytesLost });
      return report.bytesLost;
    },
    async restart(node): Promise<void> {
      const p = find(node);
      if (p.running) await p.terminate(ctx.stopGraceMs);
      for (let attempt = 1; ; attempt++) {
        try {
          await p.start(ctx.readyTimeoutMs);
          ctx.log('info', 'node restarted', { node, pid: p.child?.pid });
          return;
        } catch (err) {
          // After a kill the port may be briefly held (or taken); try a few times, bounded.
          if (!p.portWasTaken() || attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    },
  };
}

/**
 * `mqdrill broker --shards N`: one command supervising N broker processes on this machine, so the broker uses every
 * core (one Node thread runs the gRPC codec, delivery and store of one process). Each shard is an ordinary bundled
 * broker node: its own folder <data>/shard-I (a single writer each), its own port, the other shards as peers, so the
 * route any shard answers names every shard's queues; clients spread sends over them and one consumer drains all.
 * A message group maps to one queue of one shard (the client picks the shard by the group, the shard the queue).
 *
 * Supervision: a shard that exits unexpectedly is started again on its port (its store recovers as after a crash);
 * more than `restartsMax` restarts within `restartWindowMs` stops every shard and exits non-zero with the reason.
 * Shards are started with an IPC channel and stop themselves (flush, close) when it closes, so a supervisor killed
 * with SIGKILL leaves no shard behind. SIGTERM/SIGINT stop every shard gracefully (bounded), then exit.
 * The supervisor's --admin-port serves one admin view: changes (POST, DELETE) go to every shard; see ./shard-admin.ts.
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Clock, systemClock } from '../lib/clock.ts';
import { CliError, ExitCode } from '../lib/exit-codes.ts';
import { freePort, portFree } from '../lib/ports.ts';
import type { BrokerConfig, LogFn } from './server.ts';
import { type ShardAdmin, startShardAdmin } from './shard-admin.ts';

const mqdrillBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/mqdrill.mjs');
export const shardsMax = 64;
/** The file that records how many shards a data folder was made with. */
export const shardsMarker = 'shards.json';
/** Set in a shard's environment: it stops when its supervisor's IPC channel closes. */
export const shardEnv = 'MQDRILL_BROKER_SHARD';

export interface ShardPolicy {
  readyTimeoutMs: number;
  stopGraceMs: number;
  restartsMax: number;
  restartWindowMs: number;
  restartDelayMs: number;
}

export const defaultShardPolicy: ShardPolicy = {
  readyTimeoutMs: 60_000,
  stopGraceMs: 15_000,
  restartsMax: 3,
  restartWindowMs: 60_000,
  restartDelayMs: 500,
};

/** `--shards` value: a whole number from 1 to shardsMax, or `auto` (one per core). */
export function parseShards(value: string | undefined, cores = os.availableParallelism()): number {
  if (value === undefined) return 1;
  if (value === 'auto') return Math.max(1, Math.min(shardsMax, cores));
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > shardsMax)
    throw new CliError(`--shards ${value}: give a whole number from 1 to ${shardsMax}, or auto`, ExitCode.USAGE);
  return n;
}

/**
 * Refuses a data folder made with another shard count: FIFO groups and stored messages belong to the shard they were
 * sent to, so changing the count would strand messages on shards no longer started.
 */
export function checkShardLayout(dataDir: string, shards: number): void {
  const marker = path.join(dataDir, shardsMarker);
  if (!fs.existsSync(dataDir)) return;
  if (fs.existsSync(marker)) {
    let recorded: number | undefined;
    try {
      recorded = (JSON.parse(fs.readFileSync(marker, 'utf8')) as { shards?: number }).shards;
    } catch (err) {
      throw new CliError(
        `${marker} is not JSON (${(err as Error).message}); restore it or remove the folder`,
        ExitCode.INVALID_SPEC,
      );
    }
    if (recorded !== shards) {
      throw new CliError(
        `${dataDir} was made with --shards ${recorded}; start it with --shards ${recorded} ` +
          `(its messages live in ${recorded} shard folders) or use an empty folder`,
        ExitCode.USAGE,
      );
    }
    return;
  }
  if (shards > 1 && fs.readdirSync(dataDir).length > 0) {
    throw new CliError(
      `${dataDir} holds a single-process broker's data; start it without --shards or use an empty folder for --shards`,
      ExitCode.USAGE,
    );
  }
}

interface Shard {
  name: string;
  index: number;
  port: number;
  dir: string;
  configFile: string;
  readyFile: string;
  child?: ChildProcess;
  adminPort?: number;
  restarts: number[];
}

export interface ShardedBroker {
  port: number;
  adminPort: number;
  shards: Array<{ name: string; grpcPort: number; adminPort: number; pid: number; dataDir: string }>;
  /** Resolves with the exit code once every shard has stopped (after stop() or a failure it could not heal). */
  done: Promise<number>;
  stop(reason: string): void;
}

/** Starts N shard processes and the admin view; throws (after stopping what started) when a shard cannot start. */
export async function startShardedBroker(
  config: BrokerConfig,
  shardCount: number,
  log: LogFn,
  policy: ShardPolicy = defaultShardPolicy,
  clock: Clock = systemClock,
): Promise<ShardedBroker> {
  checkShardLayout(config.dataDir, shardCount);
  fs.mkdirSync(config.dataDir, { recursive: true });
  let sup: Supervisor | undefined;
  const admin: ShardAdmin = await startShardAdmin(config.host, config.adminPort ?? 0, () => sup?.adminTargets() ?? []);
  const shards = await planShards(config, shardCount, admin.port);
  const marker = path.join(config.dataDir, shardsMarker);
  fs.writeFileSync(marker, JSON.stringify({ shards: shardCount, ports: shards.map((s) => s.port) }));
  sup = new Supervisor(shards, log, policy, clock);
  try {
    await Promise.all(shards.map((s) => sup?.launch(s)));
  } catch (err) {
    sup.stop(`a shard failed to start: ${(err as Error).message}`);
    await sup.done;
    await admin.close();
    throw err;
  }
  sup.started = true;
  const running = sup;
  const done = sup.done.then(async (code) => {
    await admin.close();
    return code;
  });
  return {
    port: shards[0]?.port as number,
    adminPort: admin.port,
    shards: shards.map((s) => ({
      name: s.name,
      grpcPort: s.port,
      adminPort: s.adminPort as number,
      pid: s.child?.pid as number,
      dataDir: s.dir,
    })),
    done,
    stop: (reason) => running.stop(reason),
  };
}

async function planShards(config: BrokerConfig, count: number, adminViewPort: number): Promise<Shard[]> {
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  if (wildcard && !config.advertise) {
    throw new CliError(
      `--host ${config.host} with --shards: pass --advertise HOST:PORT so each shard can name the others' addresses`,
      ExitCode.USAGE,
    );
  }
  const advertiseHost = config.advertise ? hostOf(config.advertise) : config.host;
  // The ports of the last start are tried first, so clients holding a route from before a restart still reach
  // every shard; a port taken since (or never recorded) is replaced by a free one.
  const previous = previousPorts(config.dataDir);
  const ports: number[] = [];
  while (ports.length < count) {
    const i = ports.length;
    const wanted = i === 0 && config.port !== 0 ? config.port : previous[i];
    const p = wanted !== undefined && (i === 0 || (await portFree(config.host, wanted))) ? wanted : undefined;
    const chosen = p ?? (await freePort(config.host));
    if (!ports.includes(chosen)) ports.push(chosen);
  }
  const names = ports.map((_, i) => `${config.brokerName}-shard-${i}`);
  const endpoint = (i: number) =>
    i === 0 && config.advertise ? config.advertise : `${advertiseHost}:${ports[i] as number}`;
  return names.map((name, i) => {
    const dir = path.join(config.dataDir, `shard-${i}`);
    const configFile = path.join(config.dataDir, `shard-${i}.config.json`);
    const { dataDir: _d, adminPort: _a, ...rest } = config;
    const shardConfig: Partial<BrokerConfig> = {
      ...rest,
      port: ports[i] as number,
      brokerName: name,
      advertise: endpoint(i),
      peers: [
        ...names.flatMap((peer, j) => (j === i ? [] : [{ name: peer, endpoint: endpoint(j) }])),
        ...(config.peers ?? []), // other nodes of a bundled cluster, if any
      ],
      shardAdminViewPort: adminViewPort,
    };
    fs.writeFileSync(configFile, JSON.stringify(shardConfig, null, 2));
    const readyFile = path.join(config.dataDir, `shard-${i}.ready.json`);
    return { name, index: i, port: ports[i] as number, dir, configFile, readyFile, restarts: [] };
  });
}

function previousPorts(dataDir: string): Array<number | undefined> {
  try {
    const doc = JSON.parse(fs.readFileSync(path.join(dataDir, shardsMarker), 'utf8')) as { ports?: unknown };
    return Array.isArray(doc.ports) ? doc.ports.map((p) => (Number.isInteger(p) && p > 0 ? p : undefined)) : [];
  } catch {
    return []; // first start, or checkShardLayout already refused a bad file
  }
}

function hostOf(hostPort: string): string {
  const i = hostPort.lastIndexOf(':');
  return i > 0 ? hostPort.slice(0, i) : hostPort;
}

class Supervisor {
  started = false;
  private stopping: string | undefined;
  private exitCode: number = ExitCode.OK;
  private resolveDone: (code: number) => void = () => {};
  readonly done = new Promise<number>((r) => {
    this.resolveDone = r;
  });

  constructor(
    private readonly shards: Shard[],
    private readonly log: LogFn,
    private readonly policy: ShardPolicy,
    private readonly clock: Clock,
  ) {}

  adminTargets(): Array<{ name: string; port: number | undefined; pid: number | undefined }> {
    return this.shards.map((s) => ({ name: s.name, port: s.adminPort, pid: s.child?.pid }));
  }

  /** Starts one shard and waits (bounded) for its ready file. */
  async launch(shard: Shard): Promise<void> {
    fs.rmSync(shard.readyFile, { force: true });
    const args = ['broker', '--data', shard.dir, '--port', String(shard.port), '--admin-port', '0'];
    args.push('--config', shard.configFile, '--ready-file', shard.readyFile);
    const child = fork(mqdrillBin, args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [shardEnv]: shard.name },
    });
    shard.child = child;
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
    });
    child.once('exit', (code, signal) => this.onExit(shard, child, code, signal));
    const ready = await this.waitReady(shard, exited);
    shard.adminPort = ready.adminPort;
    this.log('info', 'shard serving', { shard: shard.name, port: shard.port, pid: child.pid });
  }

  private async waitReady(shard: Shard, exited: Promise<string>): Promise<{ adminPort: number }> {
    const deadline = this.clock.monotonicMs() + this.policy.readyTimeoutMs;
    let gone: string | undefined;
    exited.then((why) => {
      gone = why;
    });
    for (;;) {
      if (fs.existsSync(shard.readyFile)) {
        try {
          return JSON.parse(fs.readFileSync(shard.readyFile, 'utf8')) as { adminPort: number };
        } catch {
          // written by rename, so a parse error means a stale or foreign file: wait for the real one
        }
      }
      if (gone) throw new Error(`${shard.name} ${gone} before serving (its log lines are above)`);
      if (this.clock.monotonicMs() > deadline)
        throw new Error(`${shard.name} did not serve within ${this.policy.readyTimeoutMs} ms`);
      await new Promise<void>((r) => this.clock.setTimer(25, r));
    }
  }

  private onExit(shard: Shard, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (shard.child !== child) return;
    shard.child = undefined;
    shard.adminPort = undefined;
    if (this.stopping || !this.started) {
      this.settleIfAllStopped();
      return;
    }
    const now = this.clock.monotonicMs();
    shard.restarts = shard.restarts.filter((t) => now - t < this.policy.restartWindowMs);
    const how = signal ?? `code ${code}`;
    if (shard.restarts.length >= this.policy.restartsMax) {
      this.exitCode = ExitCode.TARGET_FAILED;
      const windowS = this.policy.restartWindowMs / 1000;
      this.stop(
        `${shard.name} exited (${how}) ${shard.restarts.length + 1} times within ${windowS} s; ` +
          `stopping the broker: see the shard's log lines above, fix the cause and start it again`,
      );
      return;
    }
    shard.restarts.push(now);
    this.log('warn', 'shard exited; starting it again', { shard: shard.name, exit: how });
    this.clock.setTimer(this.policy.restartDelayMs, () => {
      if (this.stopping) return this.settleIfAllStopped();
      this.launch(shard).catch((err) => {
        this.exitCode = ExitCode.TARGET_FAILED;
        this.stop(`${shard.name} could not be started again: ${(err as Error).message}`);
      });
    });
  }

  /** SIGTERM to every shard, SIGKILL after the grace; `done` resolves once all have exited. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = reason;
    this.log(this.exitCode === ExitCode.OK ? 'info' : 'error', 'stopping every shard', { reason });
    for (const s of this.shards) s.child?.kill('SIGTERM');
    const cancel = this.clock.setTimer(this.policy.stopGraceMs, () => {
      for (const s of this.shards) {
        if (s.child) this.log('warn', 'shard did not stop in time; killing it', { shard: s.name });
        s.child?.kill('SIGKILL');
      }
    });
    this.done.then(cancel);
    this.settleIfAllStopped();
  }

  private settleIfAllStopped(): void {
    if (this.stopping && this.shards.every((s) => s.child === undefined)) this.resolveDone(this.exitCode);
  }
}

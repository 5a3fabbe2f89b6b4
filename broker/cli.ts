import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { CliError, ExitCode } from '../lib/exit-codes.ts';
import { validateAuthConfig } from './auth/index.ts';
import { validateConnectionLimits } from './connections.ts';
import { type BrokerConfig, defaultBrokerConfig, startBroker } from './server.ts';
import { checkShardLayout, parseShards, shardEnv, startShardedBroker } from './shards.ts';

export interface BrokerCommandOptions {
  data: string;
  port: string;
  host: string;
  advertise?: string;
  adminPort?: string;
  config?: string;
  flush?: 'sync' | 'async';
  readyFile?: string;
  name?: string;
  /** `--shards N|auto`: N broker processes supervised by this one (broker/shards.ts); default 1. */
  shards?: string;
}

const configKeys = new Set([
  'port',
  'host',
  'adminPort',
  'advertise',
  'brokerName',
  'flush',
  'flushIntervalMs',
  'segmentBytesMax',
  'retentionMs',
  'retentionBytesMax',
  'diskUsedRatioMax',
  'diskCheckIntervalMs',
  'pendingAppendsMax',
  'topics',
  'groups',
  'autoCreateGroups',
  'longPollingMinMs',
  'canary',
  'testOnlySendDelayMs',
  'powerLossJournal',
  'auth',
  'tls',
  'delayMsMax',
  'transactions',
  'peers',
  'connections',
  'auditLinesPerSecondMax',
  'shardAdminViewPort',
]);

export function loadBrokerConfig(opts: BrokerCommandOptions): BrokerConfig {
  let fromFile: Partial<BrokerConfig> = {};
  if (opts.config) {
    let text: string;
    try {
      text = fs.readFileSync(opts.config, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read config ${opts.config}: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
    }
    try {
      fromFile = JSON.parse(text);
    } catch (err) {
      throw new CliError(`config ${opts.config} is not JSON: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
    }
    const auditMax = fromFile.auditLinesPerSecondMax;
    const configErrors = [
      ...(fromFile.auth === undefined ? [] : validateAuthConfig(fromFile.auth)),
      ...(fromFile.connections === undefined ? [] : validateConnectionLimits(fromFile.connections)),
      ...(validSendDelay(fromFile.testOnlySendDelayMs)
        ? []
        : ['testOnlySendDelayMs: must be milliseconds from 0 (off) to 10000 (test-only: slows every send on purpose)']),
      ...(auditMax === undefined || (Number.isInteger(auditMax) && auditMax > 0)
        ? []
        : ['auditLinesPerSecondMax: must be a positive whole number (default 1000)']),
    ];
    if (configErrors.length)
      throw new CliError(`config ${opts.config}:\n  ${configErrors.join('\n  ')}`, ExitCode.INVALID_SPEC);
    const unknown = Object.keys(fromFile).filter((k) => !configKeys.has(k));
    if (unknown.length) {
      throw new CliError(
        `config ${opts.config}: unknown keys ${unknown.join(', ')} (known: ${[...configKeys].join(', ')})`,
        ExitCode.INVALID_SPEC,
      );
    }
  }
  const minPoll = fromFile.longPollingMinMs;
  if (minPoll !== undefined && !(Number.isInteger(minPoll) && minPoll >= 0 && minPoll <= 20_000)) {
    throw new CliError(
      `config ${opts.config}: longPollingMinMs must be an integer from 0 (lenient) to 20000, got ${minPoll}`,
      ExitCode.INVALID_SPEC,
    );
  }
  const port = Number(opts.port ?? fromFile.port ?? defaultBrokerConfig.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`--port ${opts.port} is not a port`, ExitCode.USAGE);
  const adminPort = opts.adminPort !== undefined ? Number(opts.adminPort) : fromFile.adminPort;
  return {
    ...defaultBrokerConfig,
    ...fromFile,
    dataDir: path.resolve(opts.data),
    port,
    host: opts.host ?? fromFile.host ?? defaultBrokerConfig.host,
    adminPort,
    advertise: opts.advertise ?? fromFile.advertise,
    flush: opts.flush ?? fromFile.flush ?? defaultBrokerConfig.flush,
    brokerName: fromFile.brokerName ?? opts.name ?? defaultBrokerConfig.brokerName,
  };
}

/** `mqdrill broker`: serve until SIGTERM/SIGINT, then stop accepting, flush, close files, exit 0. */
export async function runBrokerCommand(opts: BrokerCommandOptions): Promise<number> {
  const config = loadBrokerConfig(opts);
  const shards = parseShards(opts.shards);
  const logger = pino({ base: { component: 'broker', pid: process.pid } });
  const log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) =>
    logger[level](fields ?? {}, msg);
  if (shards > 1) return runSharded(config, shards, opts.readyFile, log);
  checkShardLayout(config.dataDir, 1);
  let running: Awaited<ReturnType<typeof startBroker>>;
  try {
    running = await startBroker(config, undefined, log);
  } catch (err) {
    throw new CliError(`broker failed to start: ${(err as Error).message}`, ExitCode.TARGET_FAILED);
  }
  if (opts.readyFile) {
    const ready = {
      grpcPort: running.port,
      port: running.port,
      adminPort: running.adminPort ?? running.port,
      pid: process.pid,
    };
    fs.writeFileSync(`${opts.readyFile}.tmp`, JSON.stringify(ready));
    fs.renameSync(`${opts.readyFile}.tmp`, opts.readyFile);
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log('info', 'stopping', { signal });
      const force = setTimeout(() => resolve(ExitCode.INTERNAL), 10_000);
      force.unref();
      running.close().then(
        () => resolve(ExitCode.OK),
        (err) => {
          log('error', 'shutdown failed', { error: String(err) });
          resolve(ExitCode.INTERNAL);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // A shard of `--shards N` stops (flushing its store) when its supervisor's IPC channel closes, even on SIGKILL.
    if (process.env[shardEnv] && process.connected) process.once('disconnect', () => stop('supervisor gone'));
  });
}

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** `mqdrill broker --shards N`: supervise N shard processes until SIGTERM/SIGINT or a shard that keeps failing. */
async function runSharded(config: BrokerConfig, shards: number, readyFile: string | undefined, log: Log) {
  let running: Awaited<ReturnType<typeof startShardedBroker>>;
  try {
    running = await startShardedBroker(config, shards, log);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`broker failed to start: ${(err as Error).message}`, ExitCode.TARGET_FAILED);
  }
  if (readyFile) {
    const ready = {
      grpcPort: running.port,
      port: running.port,
      adminPort: running.adminPort,
      pid: process.pid,
      shards: running.shards,
    };
    fs.writeFileSync(`${readyFile}.tmp`, JSON.stringify(ready));
    fs.renameSync(`${readyFile}.tmp`, readyFile);
  }
  log('info', 'sharded broker serving', { port: running.port, adminPort: running.adminPort, shards });
  process.once('SIGTERM', () => running.stop('SIGTERM'));
  process.once('SIGINT', () => running.stop('SIGINT'));
  return running.done;
}

function validSendDelay(ms: unknown): boolean {
  return ms === undefined || (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 && ms <= 10_000);
}

/**
 * Starts a real Apache RocketMQ 5.3.3 on loopback (installed by `mqdrill setup --only rocketmq`): one name server
 * and one broker with its gRPC proxy in the same JVM (LOCAL mode), on free ports, heaps sized for a small shared
 * machine, everything (configs, store, logs) under `dir`. The public API for the `rocketmq` target and benchmarks:
 *
 *   const mq = await startRocketMq({ dir, flush: 'async' });
 *   mq.grpcEndpoint   // what gRPC clients dial (the advertised endpoint)
 *   mq.namesrv        // host:port of the name server (admin tools)
 *   mq.pids()         // { namesrv, broker } while running
 *   await mq.stop();  // SIGTERM both, SIGKILL after a grace period; safe to call twice
 *
 * `advertise(directGrpc)` may return another loopback host:port on 127.0.0.1 (a fault proxy whose upstream is
 * directGrpc): every route the broker answers then names that address, so all client traffic after the first
 * route lookup goes through it (see ProxyLauncher.java for how). Ports: the name server, the broker's remoting
 * port P with P-2 (its fast channel) and an HA port, and the gRPC port; reserved by listening on port 0 and
 * closing, so another process may take one first: the boot is then retried with fresh ports.
 */
import fs from 'node:fs';
import path from 'node:path';
import { freePort, portFree } from '../../../lib/ports.ts';
import { requireRocketmq, rocketmqClasspath } from '../../setup/rocketmq.ts';
import { TargetBootError, type TargetLog } from '../node-process.ts';
import { JvmProcess } from './jvm.ts';

export type RocketMqNode = 'namesrv' | 'broker';

export interface RocketMqOptions {
  /** Folder for configs, the store (dir/store) and the JVMs' home; created when missing, never removed. */
  dir: string;
  /** Where namesrv.log, broker.log (stdout + stderr) and RocketMQ's own logs go; default dir/logs. */
  logDir?: string;
  /** Default sync (a send is acknowledged after the flush). */
  flush?: 'sync' | 'async';
  /** The client-facing gRPC endpoint for a direct one, e.g. a Toxiproxy proxy; must be on 127.0.0.1. */
  advertise?: (directGrpc: string) => Promise<string | undefined> | string | undefined;
  /** Per JVM; default 180 s (a JVM boot on a busy 2-core machine can take a minute). */
  readyTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL; default 20 s. */
  stopGraceMs?: number;
  /** Default 3. */
  bootAttempts?: number;
  /** Broker heap and direct memory in MiB; default 1024. */
  brokerHeapMb?: number;
  /** Extra broker.conf lines (key=value), after ours. */
  brokerConfig?: Record<string, string | number | boolean>;
  log?: TargetLog;
}

export interface RocketMq {
  /** What clients dial: the advertised endpoint (the fault proxy when there is one). */
  readonly grpcEndpoint: string;
  /** The gRPC server itself, bypassing any fault proxy. */
  readonly directGrpcEndpoint: string;
  /** host:port of the name server. */
  readonly namesrv: string;
  /** host:port of the broker's remoting port (as registered in the name server). */
  readonly brokerAddr: string;
  readonly dir: string;
  readonly logDir: string;
  pids(): { namesrv: number | undefined; broker: number | undefined };
  /** SIGKILL / SIGTERM wait for the exit; SIGSTOP / SIGCONT are sent as they are. */
  kill(node: RocketMqNode, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT' | 'SIGTERM'): Promise<void>;
  /** Stops the node if it still runs, then starts it again on the same ports and store; waits until ready. */
  restart(node: RocketMqNode): Promise<void>;
  stop(): Promise<void>;
}

export const host = '127.0.0.1';
export const JAVA17_OPENS = [
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-exports=java.base/sun.nio.ch=ALL-UNNAMED',
];

export async function startRocketMq(opts: RocketMqOptions): Promise<RocketMq> {
  await requireRocketmq();
  const log: TargetLog = opts.log ?? (() => {});
  const dir = path.resolve(opts.dir);
  const logDir = path.resolve(opts.logDir ?? path.join(dir, 'logs'));
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const attempts = opts.bootAttempts ?? 3;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 180_000;
  for (let attempt = 1; ; attempt++) {
    const ports = await reservePorts();
    const directGrpc = `${host}:${ports.grpc}`;
    const advertised = (await opts.advertise?.(directGrpc)) ?? directGrpc;
    const advertisedPort = advertisedPortOf(advertised);
    const jvms = planJvms(opts, dir, logDir, ports, advertisedPort, log);
    const killAll = () => {
      for (const j of [jvms.broker, jvms.namesrv]) j.killNow();
    };
    process.once('exit', killAll);
    try {
      await jvms.namesrv.start(readyTimeoutMs);
      await jvms.broker.start(readyTimeoutMs);
    } catch (err) {
      for (const j of [jvms.broker, jvms.namesrv]) await j.kill9();
      await Promise.all([jvms.broker.closeLog(), jvms.namesrv.closeLog()]);
      process.removeListener('exit', killAll);
      const taken = jvms.broker.portWasTaken() || jvms.namesrv.portWasTaken();
      if (taken && attempt < attempts) {
        log('warn', 'a reserved port was taken before RocketMQ bound it; booting again with fresh ports', { attempt });
        continue;
      }
      throw err instanceof TargetBootError ? err : new TargetBootError('rocketmq', String(err), '');
    }
    return handle({ dir, logDir, ports, advertised, directGrpc, jvms, killAll, readyTimeoutMs, opts });
  }
}

interface Ports {
  namesrv: number;
  /** Broker remoting; the broker also binds remoting - 2 (fast channel). */
  remoting: number;
  ha: number;
  grpc: number;
  /** Configured for the proxy's remoting server, which ProxyLauncher does not start. */
  proxyRemoting: number;
}

async function reservePorts(): Promise<Ports> {
  const taken = new Set<number>();
  const one = async (): Promise<number> => {
    for (;;) {
      const p = await freePort(host);
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  let remoting = 0;
  for (let i = 0; i < 50 && remoting === 0; i++) {
    const p = await one();
    if (p > 1026 && !taken.has(p - 2) && (await portFree(host, p - 2))) {
      remoting = p;
      taken.add(p - 2);
    }
  }
  if (remoting === 0) throw new Error('found no free port P with P-2 free for the broker (its fast channel)');
  return { namesrv: await one(), remoting, ha: await one(), grpc: await one(), proxyRemoting: await one() };
}

function advertisedPortOf(endpoint: string): number {
  const m = /^127\.0\.0\.1:(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`rocketmq: the advertised gRPC endpoint must be 127.0.0.1:PORT, not ${endpoint}`);
  return Number(m[1]);
}

interface Jvms {
  namesrv: JvmProcess;
  broker: JvmProcess;
}

function planJvms(
  opts: RocketMqOptions,
  dir: string,
  logDir: string,
  ports: Ports,
  advertisedPort: number,
  log: TargetLog,
): Jvms {
  const home = path.join(dir, 'home');
  const conf = path.join(dir, 'conf');
  fs.mkdirSync(conf, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  // RocketMQ writes its own logs under ${user.home}/logs/rocketmqlogs: point that into logDir.
  const rmqLogs = path.join(home, 'logs');
  if (!fs.existsSync(rmqLogs)) fs.symlinkSync(logDir, rmqLogs);
  const namesrvAddr = `${host}:${ports.namesrv}`;
  fs.writeFileSync(path.join(conf, 'namesrv.properties'), `listenPort=${ports.namesrv}\n`);
  fs.writeFileSync(path.join(conf, 'broker.conf'), brokerConf(opts, dir, ports, namesrvAddr));
  const proxyJson = {
    rocketMQClusterName: 'DefaultCluster',
    namesrvAddr,
    proxyMode: 'LOCAL',
    grpcServerPort: ports.grpc,
    remotingListenPort: ports.proxyRemoting,
    localServeAddr: host,
    remotingAccessAddr: host,
    grpcShutdownTimeSeconds: 3,
  };
  fs.writeFileSync(path.join(conf, 'rmq-proxy.json'), `${JSON.stringify(proxyJson, null, 2)}\n`);
  const env = { ...process.env, ROCKETMQ_HOME: dir };
  const common = [
    '-server',
    '-XX:+UseG1GC',
    '-XX:-OmitStackTraceInFastThrow',
    ...JAVA17_OPENS,
    `-Duser.home=${home}`,
    `-Drocketmq.home.dir=${dir}`,
    '-cp',
    rocketmqClasspath(),
  ];
  const heap = opts.brokerHeapMb ?? 1024;
  const namesrv = new JvmProcess(
    {
      name: 'namesrv-0',
      args: ['-Xms128m', '-Xmx256m', '-Drmq.logback.configurationFile=rmq.namesrv.logback.xml', ...common],
      env,
      logFile: path.join(logDir, 'namesrv.log'),
      ready: /The Name Server boot success/,
      port: { host, port: ports.namesrv },
    },
    log,
  );
  namesrv.spec.args.push('org.apache.rocketmq.namesrv.NamesrvStartup', '-c', path.join(conf, 'namesrv.properties'));
  const brokerArgs = [`-Xms256m`, `-Xmx${heap}m`, `-XX:MaxDirectMemorySize=${heap}m`];
  brokerArgs.push(
    `-Dmqdrill.advertisedGrpcPort=${advertisedPort}`,
    '-Drmq.logback.configurationFile=rmq.proxy.logback.xml',
  );
  brokerArgs.push(...common, 'mqdrill.rocketmq.ProxyLauncher', '-n', namesrvAddr, '-pm', 'local');
  brokerArgs.push('-bc', path.join(conf, 'broker.conf'), '-pc', path.join(conf, 'rmq-proxy.json'));
  const broker = new JvmProcess(
    {
      name: 'broker-0',
      args: brokerArgs,
      env,
      logFile: path.join(logDir, 'broker.log'),
      ready: /rocketmq-proxy startup successfully/,
      failed: /rocketmq-proxy failed to start/,
      port: { host, port: ports.grpc },
    },
    log,
  );
  return { namesrv, broker };
}

function brokerConf(opts: RocketMqOptions, dir: string, ports: Ports, namesrvAddr: string): string {
  const conf: Record<string, string | number | boolean> = {
    brokerClusterName: 'DefaultCluster',
    brokerName: 'broker-a',
    brokerId: 0,
    brokerRole: 'ASYNC_MASTER',
    flushDiskType: (opts.flush ?? 'sync') === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
    namesrvAddr,
    brokerIP1: host,
    listenPort: ports.remoting,
    haListenPort: ports.ha,
    storePathRootDir: path.join(dir, 'store'),
    storePathCommitLog: path.join(dir, 'store', 'commitlog'),
    autoCreateTopicEnable: false,
    autoCreateSubscriptionGroup: true,
    enablePropertyFilter: true,
    fileReservedTime: 1,
    waitTimeMillsInSendQueue: 1000,
    mappedFileSizeCommitLog: 134217728,
    // A restarted name server learns the broker's routes at its next registration: every 10 s (RocketMQ's minimum)
    // instead of the default 30 s, so a name-server kill heals within a short drill.
    registerNameServerPeriod: 10_000,
    // The transaction check-back: half messages older than transactionTimeOut (6 s) are checked at every interval,
    // 5 s here instead of 30 s, so a transaction left open is checked back 6-11 s after it was sent, within a short
    // drill's drain (the bundled broker checks 6 s after the half message).
    transactionCheckInterval: 5_000,
    ...opts.brokerConfig,
  };
  return `${Object.entries(conf)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

interface HandleParts {
  dir: string;
  logDir: string;
  ports: Ports;
  advertised: string;
  directGrpc: string;
  jvms: Jvms;
  killAll: () => void;
  readyTimeoutMs: number;
  opts: RocketMqOptions;
}

function handle(p: HandleParts): RocketMq {
  const { jvms } = p;
  const graceMs = p.opts.stopGraceMs ?? 20_000;
  let stopped = false;
  const jvm = (node: RocketMqNode) => (node === 'namesrv' ? jvms.namesrv : jvms.broker);
  return {
    grpcEndpoint: p.advertised,
    directGrpcEndpoint: p.directGrpc,
    namesrv: `${host}:${p.ports.namesrv}`,
    brokerAddr: `${host}:${p.ports.remoting}`,
    dir: p.dir,
    logDir: p.logDir,
    pids: () => ({ namesrv: jvms.namesrv.pid, broker: jvms.broker.pid }),
    async kill(node, signal) {
      if (stopped) throw new Error('rocketmq: stopped; process faults are refused');
      const j = jvm(node);
      if (signal === 'SIGKILL') return j.kill9();
      if (signal === 'SIGTERM') return j.terminate(graceMs);
      j.signal(signal);
    },
    async restart(node) {
      if (stopped) throw new Error('rocketmq: stopped; process faults are refused');
      const j = jvm(node);
      await j.terminate(graceMs);
      await j.start(p.readyTimeoutMs);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await jvms.broker.terminate(graceMs);
      await jvms.namesrv.terminate(graceMs);
      await Promise.all([jvms.broker.closeLog(), jvms.namesrv.closeLog()]);
      process.removeListener('exit', p.killAll);
    },
  };
}

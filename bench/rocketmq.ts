/**
 * A minimal launcher for Apache RocketMQ 5.3.3 (name server + broker with the embedded gRPC proxy in LOCAL mode) from
 * its Maven Central jars, for benchmarks only: classpath by `mvn dependency:build-classpath` (cached), free loopback
 * ports, small heaps, readiness by the processes' own "boot success" lines, topics by one mqadmin JVM each.
 * Start lines, flags and readiness lines are the ones verified on the 2-core development machine.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROCKETMQ_VERSION = '5.3.3';
const cacheDir = resolve(import.meta.dirname, '../.tools/rocketmq-server');

const jvmOpens = [
  '--add-opens',
  'java.base/java.lang=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.nio=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.util=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-exports',
  'java.base/sun.nio.ch=ALL-UNNAMED',
];

/** The server classpath (proxy + namesrv + tools and their runtime dependencies), resolved once by Maven. */
export async function rocketmqClasspath(): Promise<string> {
  const cpFile = join(cacheDir, `classpath-${ROCKETMQ_VERSION}.txt`);
  if (existsSync(cpFile)) return readFileSync(cpFile, 'utf8').trim();
  mkdirSync(cacheDir, { recursive: true });
  const dep = (a: string) =>
    `<dependency><groupId>org.apache.rocketmq</groupId><artifactId>${a}</artifactId>` +
    `<version>${ROCKETMQ_VERSION}</version></dependency>`;
  writeFileSync(
    join(cacheDir, 'pom.xml'),
    '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>' +
      '<groupId>mqdrill.bench</groupId><artifactId>rocketmq-server-cp</artifactId><version>1</version>' +
      `<packaging>pom</packaging><dependencies>${['rocketmq-proxy', 'rocketmq-namesrv', 'rocketmq-tools']
        .map(dep)
        .join('')}</dependencies></project>`,
  );
  await run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(cacheDir, 'pom.xml'),
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:build-classpath',
      '-Dmdep.includeScope=runtime',
      `-Dmdep.outputFile=${cpFile}`,
    ],
    { timeout: 600_000 },
  );
  return readFileSync(cpFile, 'utf8').trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolvePort(port));
    });
  });
}

async function portsFree(ports: number[]): Promise<boolean> {
  for (const p of ports) {
    const ok = await new Promise<boolean>((r) => {
      const srv = net.createServer();
      srv.once('error', () => r(false));
      srv.listen(p, '0.0.0.0', () => srv.close(() => r(true)));
    });
    if (!ok) return false;
  }
  return true;
}

/** A broker listen port L with L-2 and L+1 free too (the broker also opens those). */
async function brokerPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    if (await portsFree([p - 2, p, p + 1])) return p;
  }
  throw new Error('no free broker port triple found on loopback');
}

function waitForLine(child: ChildProcess, logFile: string, pattern: RegExp, timeoutMs: number, what: string) {
  return new Promise<void>((resolveReady, reject) => {
    const log = createWriteStream(logFile);
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`${what} not ready after ${timeoutMs} ms; see ${logFile}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      log.write(d);
      buf = (buf + String(d)).slice(-4096);
      if (pattern.test(buf)) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => log.write(d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready; see ${logFile}`));
    });
  });
}

export interface RocketMq {
  /** The gRPC proxy, for the official clients. */
  endpoint: string;
  namesrv: string;
  pids(): number[];
  createTopic(name: string, type: 'NORMAL' | 'FIFO', queues: number): Promise<void>;
  stop(): Promise<void>;
}

interface Ports {
  ns: number;
  grpc: number;
  remoting: number;
  broker: number;
}

function writeConfigs(dir: string, flush: 'sync' | 'async', ports: Ports): void {
  writeFileSync(join(dir, 'namesrv.properties'), `listenPort=${ports.ns}\n`);
  writeFileSync(
    join(dir, 'broker.conf'),
    [
      'brokerClusterName=DefaultCluster',
      'brokerName=broker-a',
      'brokerId=0',
      'brokerRole=ASYNC_MASTER',
      `flushDiskType=${flush === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH'}`,
      `namesrvAddr=127.0.0.1:${ports.ns}`,
      'brokerIP1=127.0.0.1',
      `listenPort=${ports.broker}`,
      `storePathRootDir=${join(dir, 'store')}`,
      'autoCreateTopicEnable=false',
      'autoCreateSubscriptionGroup=true',
      'fileReservedTime=1',
      'waitTimeMillsInSendQueue=1000',
      'mappedFileSizeCommitLog=134217728',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'rmq-proxy.json'),
    JSON.stringify({
      rocketMQClusterName: 'DefaultCluster',
      namesrvAddr: `127.0.0.1:${ports.ns}`,
      proxyMode: 'LOCAL',
      grpcServerPort: ports.grpc,
      remotingListenPort: ports.remoting,
      localServeAddr: '127.0.0.1',
      remotingAccessAddr: '127.0.0.1',
      grpcShutdownTimeSeconds: 3,
    }),
  );
}

/** SIGTERM in reverse start order, SIGKILL after 15 s. */
async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const c of [...children].reverse()) {
    if (c.exitCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }
}

/** Starts a name server and a broker+proxy under dir; `flush` is the broker's flushDiskType. */
export async function startRocketMq(dir: string, flush: 'sync' | 'async'): Promise<RocketMq> {
  const cp = await rocketmqClasspath();
  mkdirSync(join(dir, 'home'), { recursive: true });
  const ports: Ports = { ns: await freePort(), grpc: await freePort(), remoting: await freePort(), broker: 0 };
  ports.broker = await brokerPort();
  writeConfigs(dir, flush, ports);
  const env = { ...process.env, ROCKETMQ_HOME: dir };
  const common = [...jvmOpens, `-Duser.home=${join(dir, 'home')}`, `-Drocketmq.home.dir=${dir}`, '-cp', cp];
  const namesrv = `127.0.0.1:${ports.ns}`;
  const children: ChildProcess[] = [];
  const java = (args: string[]) => {
    const child = spawn('java', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  try {
    const ns = java([
      ...['-Xms256m', '-Xmx256m', ...common, '-Drmq.logback.configurationFile=rmq.namesrv.logback.xml'],
      ...['org.apache.rocketmq.namesrv.NamesrvStartup', '-c', join(dir, 'namesrv.properties')],
    ]);
    await waitForLine(ns, join(dir, 'namesrv.out'), /The Name Server boot success/, 60_000, 'name server');
    const proxy = java([
      ...['-Xms1g', '-Xmx1g', '-XX:MaxDirectMemorySize=1g', ...common],
      ...['-Drmq.logback.configurationFile=rmq.proxy.logback.xml', 'org.apache.rocketmq.proxy.ProxyStartup'],
      ...['-n', namesrv, '-pm', 'local', '-bc', join(dir, 'broker.conf'), '-pc', join(dir, 'rmq-proxy.json')],
    ]);
    await waitForLine(proxy, join(dir, 'proxy.out'), /rocketmq-proxy startup successfully/, 120_000, 'broker+proxy');
  } catch (err) {
    await stopAll(children);
    throw err;
  }
  return {
    endpoint: `127.0.0.1:${ports.grpc}`,
    namesrv,
    pids: () => children.filter((c) => c.exitCode === null).map((c) => c.pid ?? 0),
    async createTopic(name, type, queues) {
      const args = ['-Xms128m', '-Xmx256m', ...common, 'org.apache.rocketmq.tools.command.MQAdminStartup'];
      const topicArgs = ['updateTopic', '-n', namesrv, '-c', 'DefaultCluster', '-t', name];
      const attrs = ['-r', String(queues), '-w', String(queues), '-a', `+message.type=${type}`];
      await run('java', [...args, ...topicArgs, ...attrs], { env, timeout: 120_000 });
    },
    stop: () => stopAll(children),
  };
}
